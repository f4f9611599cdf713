"""What a network costs: parameters and multiply-adds per layer, photos per second on this
machine, and what pooling changes (map sizes, the effect of a small shift of the photo).

Parameters are what a network stores; multiply-adds are the work of one photo. They are
not the same: a convolution reuses its few weights at every position of its map.

Introduced in lesson 04 (dense layers).
"""
import time

import keras
import numpy as np

from catdogkit import i18n
from catdogkit.errors import CatDogKitError
from catdogkit.visualize.layers import as_batch, layer_table


def _multiply_adds(layer):
    """Multiply-adds of one photo through ``layer`` (convolutions and dense layers; 0 for the
    rest, whose work is a few operations per value)."""
    if isinstance(layer, keras.layers.Conv2D):
        height, width = layer.output.shape[1:3]
        kernel_h, kernel_w = layer.kernel_size
        return int(height * width * kernel_h * kernel_w * layer.input.shape[-1] * layer.filters
                   // layer.groups)
    if isinstance(layer, keras.layers.Dense):
        return int(layer.input.shape[-1] * layer.units)
    return 0


def layer_costs(model):
    """One row per layer that stores weights or does multiply-adds: ``{"layer", "output",
    "parameters", "multiply_adds"}`` (one photo), in the model's order.

    Introduced in lesson 04 (dense layers).
    """
    rows = []
    for name, _kind, shape in layer_table(model):
        layer = model.get_layer(name)
        work, stored = _multiply_adds(layer), layer.count_params()
        if work or stored:
            rows.append({"layer": name, "output": tuple(shape), "parameters": int(stored),
                         "multiply_adds": work})
    return rows


def photos_per_second(model, photos, repeats=3):
    """Photos ``model`` predicts per second here: the best of ``repeats`` timed
    ``predict_on_batch`` calls on ``photos`` after one untimed warm-up call. A figure of
    this machine at this moment, not of the network alone.

    Introduced in lesson 04 (dense layers).
    """
    batch = as_batch(model, photos)
    if repeats < 1:
        raise CatDogKitError(i18n._("repeats must be at least 1, got {repeats}").format(repeats=repeats))
    model.predict_on_batch(batch)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict_on_batch(batch)
        best = min(best, time.perf_counter() - start)
    return len(batch) / best


def without_pooling(model, photo):
    """The maps of each convolution of a chain-shaped ``model`` (the class network) when its
    pooling layers are left out: ``{name: float32 (h, w, c)}``, with the trained filters.

    Introduced in lesson 04 (dense layers).
    """
    x = as_batch(model, photo)
    maps = {}
    for name, kind, _shape in layer_table(model):
        layer = model.get_layer(name)
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if kind not in ("conv", "spatial"):
            break
        if isinstance(layer, keras.layers.MaxPooling2D):
            continue
        x = layer(x)
        if kind == "conv":
            maps[name] = np.asarray(x)[0]
    return maps


def shifted(photo, pixels):
    """``photo`` moved ``pixels`` to the right, the uncovered columns repeating the edge.

    Introduced in lesson 04 (dense layers).
    """
    photo = np.asarray(photo, np.float32)
    if pixels <= 0:
        return photo.copy()
    return np.concatenate([np.repeat(photo[:, :1], pixels, axis=1), photo[:, :-pixels]], axis=1)


def relative_change(before, after):
    """Mean absolute change over mean absolute value: 0 unchanged, about 1 or more all new.

    Introduced in lesson 04 (dense layers).
    """
    before, after = np.asarray(before, np.float32), np.asarray(after, np.float32)
    scale = float(np.abs(before).mean())
    return float(np.abs(after - before).mean()) / scale if scale > 0 else 0.0
