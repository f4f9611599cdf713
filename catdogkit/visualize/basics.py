"""The arithmetic under a convolution layer, one number at a time: the products and the
sum behind one output value, the output size for a padding and stride, and where in the
photo one unit of a layer looks.

Introduced in lesson 03 (feature maps).
"""
import numpy as np
import tensorflow as tf

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _
from catdogkit.visualize.layers import activation_model, as_batch, check_layer
from catdogkit.visualize.selectivity import _field


def conv_output_size(size, kernel, padding="valid", stride=1):
    """Width of a convolution's (or pooling's) output for an input ``size`` pixels wide.

    ``"valid"``: ``(size - kernel) // stride + 1`` (the kernel stays inside the photo);
    ``"same"``: ``ceil(size / stride)`` (zeros are added around the photo).

    Introduced in lesson 03 (feature maps).
    """
    if padding not in ("valid", "same"):
        raise CatDogKitError(_("padding must be 'valid' or 'same', got {padding!r}").format(padding=padding))
    if kernel < 1 or stride < 1 or size < 1:
        raise CatDogKitError(_("size, kernel and stride must be >= 1, got {size}, {kernel}, {stride}").format(
            size=size, kernel=kernel, stride=stride))
    if padding == "same":
        return -(-size // stride)
    if kernel > size:
        raise CatDogKitError(_("a {kernel}-pixel kernel does not fit in {size} pixels without padding").format(
            kernel=kernel, size=size))
    return (size - kernel) // stride + 1


def layer_input(model, photo, layer):
    """What ``layer`` receives for ``photo``: float32 ``(h, w, c)`` (after rescaling for conv1)."""
    check_layer(model, layer, "conv")
    out = activation_model(model, [], inputs_of=[layer])(as_batch(model, photo))
    return np.asarray(out[0] if isinstance(out, (list, tuple)) else out)[0]


def convolution_at(model, photo, layer, row, col, channel):
    """Every step behind one output value of convolution ``layer`` at map position
    ``(row, col)``, filter ``channel``.

    Returns a dict: ``patch`` and ``kernel`` ``(k, k, c_in)``, ``products`` (their
    element-wise product), ``total`` (the products' sum), ``bias``, ``before`` (total +
    bias), ``after`` (the layer's activation of it, e.g. ReLU) and ``actual``, the value the
    layer itself computed there: ``after`` equals it up to float rounding.
    Only for layers with stride 1 and dilation 1, as in the class network."""
    conv = model.get_layer(layer)
    check_layer(model, layer, "conv")
    if tuple(conv.strides) != (1, 1) or tuple(conv.dilation_rate) != (1, 1):
        raise CatDogKitError(_("convolution_at follows stride-1 layers; {layer!r} has stride {stride}").format(
            layer=layer, stride=conv.strides))
    unpadded = layer_input(model, photo, layer)
    inputs = unpadded
    kernel = np.asarray(conv.kernel)
    bias = np.asarray(conv.bias) if conv.use_bias else np.zeros(conv.filters, np.float32)
    k = kernel.shape[0]
    if conv.padding == "same":
        inputs = np.pad(inputs, ((k // 2, k - 1 - k // 2), (k // 2, k - 1 - k // 2), (0, 0)))
    rows, cols = inputs.shape[0] - k + 1, inputs.shape[1] - k + 1
    if not (0 <= row < rows and 0 <= col < cols and 0 <= channel < conv.filters):
        raise CatDogKitError(_("{layer!r} has {rows} x {cols} positions and {filters} filters; "
                               "got row {row}, column {col}, filter {channel}").format(
            layer=layer, rows=rows, cols=cols, filters=conv.filters, row=row, col=col, channel=channel))
    patch = inputs[row:row + k, col:col + k]
    products = patch * kernel[..., channel]
    total = float(products.sum())
    before = total + float(bias[channel])
    after = float(np.asarray(conv.activation(tf.constant([before], tf.float32)))[0])
    actual = float(np.asarray(conv(unpadded[None]))[0, row, col, channel])
    return {"patch": patch, "kernel": kernel[..., channel], "products": products, "total": total,
            "bias": float(bias[channel]), "before": before, "after": after, "actual": actual}


def convolve(image, kernel, padding="valid", stride=1):
    """One filter ``kernel (k, k, c)`` slid over ``image (h, w, c)`` with ``padding`` and
    ``stride``, no bias, no activation: the map ``(h_out, w_out)``."""
    image, kernel = np.asarray(image, np.float32), np.asarray(kernel, np.float32)
    conv_output_size(image.shape[0], kernel.shape[0], padding, stride)  # checks the arguments
    out = tf.nn.conv2d(image[None], kernel[..., None], strides=stride, padding=padding.upper())
    return np.asarray(out)[0, ..., 0]


def unit_box(model, layer, row, col):
    """``(top, left, size)`` in photo pixels of what the unit at ``(row, col)`` of ``layer``
    sees (its receptive field; top/left may be negative or the box pass the photo's edge
    where "same" padding adds zeros)."""
    size, stride, first = _field(model, layer)
    return first + int(row) * stride, first + int(col) * stride, size


def class_activation_map(model, photo, maps_layer, dense_layer):
    """For a head "global average pooling, then one dense unit": the unit's weighted sum of
    the last maps at every position, ``Σ_c w_c · map_c`` (a class activation map).

    Its mean plus the unit's bias is the unit's input (the logit), because averaging and
    the weighted sum can be swapped. Returns ``(cam (h, w) float32, logit_from_cam,
    logit)``, the last from the network's own output, so a lesson can show they agree.

    Introduced in lesson 04 (dense layers).
    """
    check_layer(model, maps_layer, "spatial")
    dense = model.get_layer(dense_layer)
    weights, bias = np.asarray(dense.kernel)[:, 0], float(np.asarray(dense.bias)[0])
    batch = as_batch(model, photo)
    maps, probability = activation_model(model, [maps_layer, model.layers[-1].name])(batch)
    cam = np.asarray(maps)[0] @ weights
    p = float(np.clip(np.asarray(probability)[0, 0], 1e-7, 1 - 1e-7))
    return cam.astype(np.float32), float(cam.mean()) + bias, float(np.log(p / (1 - p)))
