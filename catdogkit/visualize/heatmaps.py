"""Grad-CAM: where in the photo the cats-vs-dogs network looked to decide.

Introduced in lesson 04 (dense layers).
"""
import keras
import numpy as np
import tensorflow as tf
from matplotlib import colormaps

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _
from catdogkit.viewcache import remember
from catdogkit.visualize.layers import (
    activation_model, as_batch, check_layer, input_size, layer_graph, layer_names)


def default_cam_layer(model):
    """The convolution Grad-CAM reads by default: the last one wider than 1x1.

    A 1x1 strided shortcut only carries an earlier stage forward; the last full
    convolution's maps are the last that keep a usable position, and by then they answer
    to whole parts (ears, snouts) rather than edges. :func:`grad_cam` reads them after
    the batch normalization and activation that follow. Measured on the sample
    (``benchmarks/gradcam.py``): the improved network's ``block4_conv2`` peaks on the
    animal far more often than its 5x5 ``head_relu`` maps, whose "dog" evidence sits
    above the head, where a cat's ears would be.
    """
    convs = [name for name in layer_names(model, "conv") if max(model.get_layer(name).kernel_size) > 1]
    if not convs:
        raise CatDogKitError(_("{model} has no convolution layer (wider than 1x1) for Grad-CAM").format(
            model=model.name))
    return convs[-1]


_ACTIVATING = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
               keras.layers.LeakyReLU)


def activated_layer(model, name):
    """The layer whose output is ``name``'s maps once normalized and activated.

    ``name`` itself when no batch normalization or activation layer follows it directly
    (a conv with ``activation="relu"`` built in, a pooling layer).
    """
    _inputs, tensors = layer_graph(model)
    for layer in model.layers:
        if (isinstance(layer, _ACTIVATING) and layer.name in tensors
                and tensors[layer.name][0] is tensors[name][1]):
            name = layer.name
    return name


def _class_score(model, head_input, class_index):
    last = model.layers[-1]
    # Gradients of the logit, not of the sigmoid/softmax output: a confident prediction
    # (P = 0.9999) has a near-zero output gradient and would give an empty heatmap.
    if isinstance(last, keras.layers.Dense) and last.activation in (keras.activations.sigmoid,
                                                                    keras.activations.softmax):
        logits = tf.matmul(head_input, last.kernel) + last.bias
    else:
        logits = last(head_input)
    n_out = logits.shape[-1]
    if class_index not in range(max(2, n_out)):
        raise CatDogKitError(_("class_index must be 0 (cats) or 1 (dogs), got {class_index!r}").format(
            class_index=class_index))
    if n_out == 1:  # one sigmoid unit = P(class 1): class 0's score is -logit
        return logits[:, 0] if class_index == 1 else -logits[:, 0]
    return logits[:, class_index]


def grad_cam(model, photo, layer=None, class_index=1, *, shifted=True):
    """Grad-CAM heatmap of one photo for class ``class_index`` (0 = cats, 1 = dogs).

    Weights each channel of the maps of ``layer`` (default: :func:`default_cam_layer`),
    read after the batch normalization and activation that directly follow it (see
    :func:`activated_layer`), by the mean gradient of the class score (the logit) with
    respect to them, sums, keeps the positive part, and scales it to 0..1 (all zeros when
    nothing in the photo speaks for that class); :func:`overlay` puts it on the photo.

    A map of the improved network's last stage has 10x10 cells of 15x15 pixels, too
    coarse to put its peak on an animal's edge. With ``shifted`` (the default) the
    heatmap is the mean of four Grad-CAMs of the photo moved a quarter of a cell up or
    down and left or right, each moved back (Augmented Grad-CAM, Morbidelli et al.
    2020): a map sampled twice as finely, returned at the photo's size. Measured on the
    sample (``benchmarks/gradcam.py``), it peaks on the animal more often for the trained
    networks and not for their untrained controls. ``shifted=False``, or a layer whose
    cells are under 2 pixels wide, gives the plain map at the layer's resolution.

    Introduced in lesson 07 (the improved model).
    """
    layer = layer or default_cam_layer(model)
    check_layer(model, layer, "spatial")
    read = activated_layer(model, layer)
    batch = as_batch(model, photo)[:1]
    shifts = _quarter_cell_shifts(model, read) if shifted else ((0, 0),)
    return remember("grad_cam", lambda: _grad_cam(model, batch, read, class_index, shifts),
                    model, batch, read, class_index, shifts)


def _quarter_cell_shifts(model, layer):
    _inputs, tensors = layer_graph(model)
    cell = input_size(model)[0] / tensors[layer][1].shape[1]
    step = round(cell / 4)
    return ((0, 0),) if step < 1 else tuple((dy, dx) for dy in (-step, step) for dx in (-step, step))


def _moved(images, dy, dx):
    """``images`` ``(N, H, W, ...)`` moved ``dy`` pixels down and ``dx`` right, edges repeated."""
    h, w = images.shape[1:3]
    pad = max(abs(dy), abs(dx))
    widths = ((0, 0), (pad, pad), (pad, pad)) + ((0, 0),) * (images.ndim - 3)
    padded = np.pad(images, widths, mode="edge")
    return padded[:, pad - dy:pad - dy + h, pad - dx:pad - dx + w]


def _grad_cam(model, batch, layer, class_index, shifts):
    copies = np.concatenate([_moved(batch, dy, dx) for dy, dx in shifts])
    cams = _scaled(_class_maps(model, copies, layer, class_index))
    if len(shifts) == 1:
        return cams[0]
    big = tf.image.resize(cams[..., None], batch.shape[1:3]).numpy()[..., 0]
    back = [_moved(cam[None], -dy, -dx)[0] for cam, (dy, dx) in zip(big, shifts)]
    return _scaled(np.mean(back, axis=0)[None])[0]


def _class_maps(model, batch, layer, class_index):
    # Each photo's Grad-CAM before scaling, for a batch at once: in inference mode no
    # photo's score depends on another's, so the gradient of the sum is each one's own.
    sub = activation_model(model, [layer], inputs_of=[model.layers[-1].name])
    batch = tf.constant(batch)
    with tf.GradientTape() as tape:
        maps, head_input = sub(batch, training=False)
        tape.watch(maps)
        score = tf.reduce_sum(_class_score(model, head_input, class_index))
    grads = tape.gradient(score, maps)
    if grads is None:
        raise CatDogKitError(_("the prediction of {model} does not depend on layer {layer!r}").format(
            model=model.name, layer=layer))
    weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(maps * weights, axis=-1)).numpy()


def _scaled(cams):
    top = cams.max(axis=(1, 2), keepdims=True)
    return (cams / np.where(top > 0, top, 1.0)).astype(np.float32)


def overlay(photo, heatmap, alpha=0.4, cmap="jet"):
    """The photo with the heatmap laid over it: float32 ``(H, W, 3)`` in 0..1.

    ``photo`` is ``(H, W, 3)`` in 0..255; ``heatmap`` ``(h, w)`` in 0..1 is resized
    (bilinear) to the photo and coloured with ``cmap``; ``alpha`` is the heatmap's weight.

    Introduced in lesson 04 (dense layers).
    """
    photo = np.asarray(photo, dtype=np.float32)
    if photo.ndim != 3 or photo.shape[-1] != 3:
        raise CatDogKitError(_("overlay needs one RGB photo (H, W, 3), got shape {shape}").format(shape=photo.shape))
    big = tf.image.resize(np.asarray(heatmap, np.float32)[..., None], photo.shape[:2]).numpy()[..., 0]
    colours = colormaps[cmap](np.clip(big, 0, 1))[..., :3]
    return np.clip((1 - alpha) * photo / 255.0 + alpha * colours, 0, 1).astype(np.float32)
