"""Layers by name, photos in the shape a model wants, and cached activation sub-models.

Every other ``visualize`` module goes through here, so a wrong layer name, a dense layer
where a map is needed, or a photo of the wrong size gives the same clear message.
"""
import hashlib
import weakref

import keras
import numpy as np
import tensorflow as tf

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _, _N_

# Sub-models are cheap to call but slow to build (a second or more on a CPU): build each
# once per model and set of layers. Weak keys, so a model the student drops is freed.
_SUBMODELS = weakref.WeakKeyDictionary()
_GRAPHS = weakref.WeakKeyDictionary()


def _kind(layer, shape):
    if isinstance(layer, keras.layers.InputLayer):
        return "input"
    if len(shape) == 4:
        return "conv" if isinstance(layer, keras.layers.Conv2D) else "spatial"
    if len(shape) == 2:
        return "dense" if isinstance(layer, keras.layers.Dense) else "vector"
    return "other"


def layer_graph(model):
    """The model's own symbolic graph: ``(inputs, {layer name: (input tensor, output tensor)})``.

    ``inputs`` is the list of the model's input tensors; each layer's entry holds the
    tensor it takes and the tensor it gives, so a caller can build a sub-model to any
    layer's input or output, or find which layer consumes another's output (as
    :func:`catdogkit.visualize.heatmaps.activated_layer` does). Kept per model.

    A functional model already has a graph. A Sequential model that was never called has
    none (``model.inputs`` raises "never been called"), so the same layer objects are
    called once on a fresh ``keras.Input``: the weights are shared, nothing is copied.
    """
    if model in _GRAPHS:
        return _GRAPHS[model]
    if isinstance(model, keras.Sequential):
        shape = _input_shape(model)
        inputs = keras.Input(shape=shape, name="photo")
        x = inputs
        tensors = {}
        for layer in model.layers:
            tensors[layer.name] = (x, layer(x))
            x = tensors[layer.name][1]
        inputs = [inputs]
    else:
        inputs = list(model.inputs)
        tensors = {layer.name: (layer.input, layer.output) for layer in model.layers
                   if not isinstance(layer, keras.layers.InputLayer)}
    _GRAPHS[model] = (inputs, tensors)
    return inputs, tensors


def _input_shape(model):
    try:
        return tuple(model.inputs[0].shape[1:])
    except (AttributeError, ValueError, IndexError, TypeError):
        pass
    # A Sequential model built with model.build(shape) or by a first call records the shape.
    built = getattr(model, "_build_shapes_dict", None) or {}
    shape = next(iter(built.values()), None)
    if shape is None:
        raise CatDogKitError(
            _("{model} has not been built yet, so it has no weights to look at: train "
              "it, call it once on a photo, or call model.build((None, 150, 150, 3)) first.").format(
                model=model.name))
    return tuple(shape[1:])


def layer_table(model):
    """Every layer of ``model`` with its kind and output shape, in order.

    Returns a list of ``(name, kind, shape)``: ``kind`` is ``"conv"`` (Conv2D), ``"spatial"``
    (any other layer with a ``(batch, h, w, c)`` output, e.g. pooling), ``"dense"``,
    ``"vector"`` (other ``(batch, n)`` outputs such as Flatten or global pooling) or
    ``"other"``; ``shape`` leaves out the batch axis.
    """
    _inputs, tensors = layer_graph(model)
    table = []
    for name, (_x, y) in tensors.items():
        shape = tuple(y.shape)
        table.append((name, _kind(model.get_layer(name), shape), shape[1:]))
    return table


def layer_names(model, kind=None):
    """Names of ``model``'s layers, optionally only those of one ``kind``.

    ``kind`` is ``None`` (all), ``"conv"``, ``"spatial"`` (conv and every other layer with
    feature maps: pooling, activation…), ``"dense"`` or ``"vector"`` (any ``(batch, n)``
    output, dense layers included). See :func:`layer_table`.

    Introduced in lesson 03 (feature maps).
    """
    wanted = {None: None, "conv": {"conv"}, "spatial": {"conv", "spatial"},
              "dense": {"dense"}, "vector": {"dense", "vector"}}
    if kind not in wanted:
        raise CatDogKitError(_("unknown layer kind {kind!r}: use one of "
                               "'conv', 'spatial', 'dense', 'vector' or None").format(kind=kind))
    return [name for name, k, _shape in layer_table(model)
            if wanted[kind] is None or k in wanted[kind]]


_NEEDS = {
    "conv": _N_("a convolution layer"),
    "spatial": _N_("a layer with feature maps (convolution or pooling)"),
    "dense": _N_("a Dense layer"),
    "vector": _N_("a layer with one value per unit (Dense, Flatten or global pooling)"),
}


def check_layer(model, name, kind=None):
    """The layer ``name`` of ``model``, checked to be of ``kind`` (see :func:`layer_names`).

    Raises ``CatDogKitError`` naming the valid choices when the name does not exist or
    the layer is of the wrong kind (a dense layer where feature maps are needed).
    """
    table = {n: (k, s) for n, k, s in layer_table(model)}
    if name not in table:
        raise CatDogKitError(
            _("{model} has no layer named {name!r}. Valid names: {names}.").format(
                model=model.name, name=name, names=", ".join(layer_names(model, kind) or table)))
    if kind is not None and name not in layer_names(model, kind):
        k, shape = table[name]
        raise CatDogKitError(
            _("layer {name!r} of {model} has output shape {shape}; this needs "
              "{needs}. Choose one of: {names}.").format(
                name=name, model=model.name, shape=shape, needs=_(_NEEDS[kind]),
                names=", ".join(layer_names(model, kind))))
    return model.get_layer(name)


def activation_model(model, names, *, inputs_of=()):
    """A cached ``keras.Model`` from ``model``'s input to the outputs of the layers ``names``.

    Built from the model's own graph, so it works on functional and Sequential models,
    called or not. Names listed in ``inputs_of`` give that layer's *input* instead (what
    Grad-CAM needs to compute the output layer's logit). Calling it returns a list in
    the order ``names + inputs_of``.
    """
    key = (tuple(names), tuple(inputs_of))
    per_model = _SUBMODELS.setdefault(model, {})
    if key not in per_model:
        inputs, tensors = layer_graph(model)
        for name in (*names, *inputs_of):
            check_layer(model, name)
        outputs = [tensors[n][1] for n in names] + [tensors[n][0] for n in inputs_of]
        # A one-input model takes the bare tensor (a list would draw Keras's structure warning).
        per_model[key] = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs,
                                     name=f"{model.name}_activations")
    return per_model[key]


def input_size(model):
    """``(height, width)`` of the photos ``model`` takes (150x150 when it does not say).

    Introduced in lesson 04 (dense layers).
    """
    shape = _input_shape(model)
    return (shape[0] or 150, shape[1] or 150)


def as_batch(model, photos):
    """Photos as the float32 batch ``(N, H, W, 3)``, values 0..255, that ``model`` takes.

    Accepts one photo ``(H, W)`` or ``(H, W, 1|3|4)``, or a batch ``(N, H, W, 1|3|4)``,
    uint8 or float: grey photos are repeated to RGB, an alpha channel is dropped, and
    photos of another size are resized (bilinear) to the model's input size. Anything else (e.g. 2 or 5
    channels, or a 1-D array) raises ``CatDogKitError``.
    """
    array = np.asarray(photos)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise CatDogKitError(_("a photo must be a numeric array, got dtype {dtype}").format(dtype=array.dtype))
    if array.ndim == 2:
        array = array[..., None]  # one grey photo (H, W)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise CatDogKitError(
            _("a photo must have shape (height, width, 3) (or a batch (n, height, width, 3)); "
              "got {shape}. Load files with catdogkit.data.load_photo.").format(shape=np.asarray(photos).shape))
    array = array.astype(np.float32, copy=False)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    elif array.shape[-1] == 4:
        array = array[..., :3]
    size = input_size(model)
    if array.shape[1:3] != size:
        array = tf.image.resize(array, size).numpy()
    return array


def photo_digest(photo):
    """A short, stable key for a photo's pixels (used to cache model outputs per photo).
    """
    array = np.ascontiguousarray(photo)
    return hashlib.blake2b(array.tobytes() + str(array.shape).encode(), digest_size=12).hexdigest()
