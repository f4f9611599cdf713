"""Class-level views of a channel: does it answer to cats or to dogs, over many photos,
and which parts of which photos excite it most.

One photo of a cat and one of a dog is an anecdote: a channel bright for this dog may be
dark for the next. Here every channel's mean activation is collected over a set of
photos, per class, with its spread; the most cat-selective and dog-selective channels of
a layer come out, and for one channel the photo patches (its receptive field) that made
it answer most.

Introduced in lesson 03 (feature maps).
"""
import numpy as np

from catdogkit.data.arrays import labelled_batches
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _
from catdogkit.viewcache import remember
from catdogkit.visualize.activations import layer_outputs
from catdogkit.visualize.layers import check_layer, layer_names


def receptive_field(model, layer):
    """``(size, stride)`` in input pixels of one unit of ``layer``: how many pixels of the
    photo it can see, and how far apart neighbouring units look.

    Walks the convolution and pooling layers up to ``layer`` (size grows by
    ``(kernel - 1) * stride so far``; strides multiply). For the class network:
    conv1 3, conv2 8, conv3 18, conv4 38 pixels.

    Introduced in lesson 03 (feature maps).
    """
    size, stride, _start = _field(model, layer)
    return size, stride


def _field(model, layer):
    """Size, stride and the input row of unit 0's first pixel (negative with "same" padding)."""
    check_layer(model, layer, "spatial")
    size, stride, start = 1, 1, 0
    for name in layer_names(model, "spatial"):
        current = model.get_layer(name)
        kernel = getattr(current, "kernel_size", None) or getattr(current, "pool_size", None)
        if kernel is not None:
            span = (int(kernel[0]) - 1) * int(getattr(current, "dilation_rate", (1, 1))[0])
            if getattr(current, "padding", "valid") == "same":
                start -= span // 2 * stride
            size += span * stride
            stride *= int((getattr(current, "strides", None) or (1, 1))[0])
        if name == layer:
            return size, stride, start
    raise CatDogKitError(_("layer {layer!r} comes after the last layer with feature maps").format(layer=layer))


def _pairs(photos, labels):
    """``(batch, labels)`` pairs from arrays or from a labelled ``tf.data`` dataset."""
    if labels is not None:
        photos = np.asarray(photos, dtype=np.float32)
        yield photos, np.asarray(labels).reshape(-1).astype(int)
        return
    yield from labelled_batches(photos)


def _channel_means(model, photos, labels, layer):
    means, classes = [], []
    for batch, batch_labels in _pairs(photos, labels):
        maps = layer_outputs(model, batch, [layer])[layer]
        means.append(maps.mean(axis=(1, 2)))
        classes.append(batch_labels)
    return np.concatenate(means), np.concatenate(classes)


def channel_selectivity(model, photos, layer, labels=None):
    """How much each channel of ``layer`` prefers dogs to cats, over many photos.

    ``photos`` is a labelled ``tf.data`` dataset (e.g. ``datasets.validation``) or an
    array ``(N, H, W, 3)`` with ``labels`` (0 = first class, 1 = second). For each photo a
    channel's answer is its map's mean. Returns a dict of float32 arrays over channels:
    ``mean`` and ``std`` ``(2, C)`` (row 0 the first class), and ``selectivity`` ``(C,)``,
    the difference of the class means over their pooled spread (d′): positive for
    channels that answer more to the second class (dogs), negative for the first (cats),
    near 0 for channels that do not tell them apart. ``n`` counts the photos per class.

    Introduced in lesson 03 (feature maps).
    """
    check_layer(model, layer, "spatial")
    means, classes = remember("channel_means", lambda: _channel_means(model, photos, labels, layer),
                              model, photos, labels, layer)
    if set(np.unique(classes)) - {0, 1} or len(np.unique(classes)) < 2:
        raise CatDogKitError(_("channel_selectivity needs photos of both classes (labels 0 and 1)"))
    per_class = [means[classes == k] for k in (0, 1)]
    mean = np.stack([m.mean(axis=0) for m in per_class]).astype(np.float32)
    std = np.stack([m.std(axis=0) for m in per_class]).astype(np.float32)
    pooled = np.sqrt((std ** 2).mean(axis=0))
    selectivity = np.where(pooled > 0, (mean[1] - mean[0]) / np.where(pooled > 0, pooled, 1), 0.0)
    return {"mean": mean, "std": std, "selectivity": selectivity.astype(np.float32),
            "n": np.array([len(m) for m in per_class])}


def most_selective(selectivity, k=4):
    """The ``k`` channels that prefer each class most: ``{"cats": [...], "dogs": [...]}``
    (class 0 first), from :func:`channel_selectivity`'s ``selectivity``.

    Introduced in lesson 03 (feature maps).
    """
    order = np.argsort(np.asarray(selectivity))
    return {"cats": [int(c) for c in order[:k]], "dogs": [int(c) for c in order[::-1][:k]]}


def top_patches(model, photos, layer, channel, k=8, labels=None):
    """The ``k`` photo patches that excite ``channel`` of ``layer`` most, strongest first.

    Each patch is the receptive field (:func:`receptive_field`) of the unit where the
    channel peaks in that photo, cut from the photo (clipped at its borders, padded with
    grey to a square). Returns ``(patches float32 (k, s, s, 3) 0..255, strengths (k,),
    indices (k,))``, indices into the photos in order.

    Introduced in lesson 03 (feature maps).
    """
    check_layer(model, layer, "spatial")
    if not 0 <= channel < model.get_layer(layer).output.shape[-1]:
        raise CatDogKitError(_("layer {layer!r} has {channels} channels; channel {channel} does not exist").format(
            layer=layer, channels=model.get_layer(layer).output.shape[-1], channel=channel))
    return remember("top_patches", lambda: _top_patches(model, photos, layer, channel, k, labels),
                    model, photos, labels, layer, channel, k)


def _top_patches(model, photos, layer, channel, k, labels):
    # One pass over the photos: each batch's peaks join the best k so far, and only those
    # k photos are kept, so memory does not grow with the number of photos. Equal peaks
    # rank in photo order: the stable sort sees the best so far (earlier photos) first.
    strength, indices = np.zeros(0, np.float32), np.zeros(0, np.int64)
    where, kept = np.zeros((0, 2), np.int64), None
    seen = 0
    for batch, _labels in _pairs(photos, labels):
        maps = layer_outputs(model, batch, [layer])[layer][..., channel]
        flat = maps.reshape(len(maps), -1)
        peaks = np.stack(np.unravel_index(flat.argmax(axis=1), maps.shape[1:]), axis=1)
        strength = np.concatenate([strength, flat.max(axis=1)])
        indices = np.concatenate([indices, seen + np.arange(len(batch))])
        where = np.concatenate([where, peaks])
        kept = batch if kept is None else np.concatenate([kept, batch])
        best = np.argsort(-strength, kind="stable")[:k]
        strength, indices, where, kept = strength[best], indices[best], where[best], kept[best]
        seen += len(batch)
    if not seen:
        raise CatDogKitError(_("top_patches needs at least one photo"))
    size, stride, first = _field(model, layer)
    patches = [_cut(photo, position, size, stride, first) for photo, position in zip(kept, where)]
    return np.stack(patches).astype(np.float32), strength.astype(np.float32), indices


def _cut(photo, position, size, stride, first):
    # The unit at map position p sees the input from first + p * stride, size pixels wide.
    top, left = (first + int(p) * stride for p in position)
    patch = np.full((size, size, 3), 128.0, np.float32)
    rows = slice(max(top, 0), min(top + size, photo.shape[0]))
    cols = slice(max(left, 0), min(left + size, photo.shape[1]))
    patch[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left] = photo[rows, cols]
    return patch

