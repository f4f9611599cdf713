"""Filters: their kernel weights, and the input pattern each filter answers to most.

Introduced in lesson 06 (visualizing convnet filters).
"""
import math
import weakref

import keras
import numpy as np
import tensorflow as tf

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _
from catdogkit.viewcache import remember
from catdogkit.visualize.render import scale_each
from catdogkit.visualize.layers import activation_model, check_layer, input_size, layer_names

_ASCENTS = weakref.WeakKeyDictionary()  # one compiled ascent per (model, layer)

#: Canvas pixels one ascent call takes at once on a CPU. Bigger batches of big canvases
#: no longer fit the caches: 32 filters of the class network's conv3, 150x150, 40 steps
#: took 12.3 s in batches of 8 and 18.4 s in batches of 32 on 2 cores; at 64x64 any
#: batch of 16-64 took 5.1-5.7 s.
CPU_BATCH_PIXELS = 8 * 150 * 150
GPU_BATCH = 64
#: Gradient steps on each canvas of the octave schedule, smallest canvas first: every
#: step runs on a small canvas (a 49x49 step costs a tenth of a 150x150 one, an 86x86
#: one a third), the full canvas only measures. With ``step_size=12`` this reaches the
#: class loop's activation on every conv3 filter (benchmarks/visualize.py).
STEPS = (8, 4, 0)
#: Added to the gradient's root mean square before a step divides by it, so that a zero
#: gradient (a filter silent everywhere) stays zero. It must stay far below the RMS itself,
#: which is tiny on these networks (they rescale 0..255 photos inside): 1e-7 to 1e-5 on the
#: grey start, 2e-8 to 6e-8 (the median filter of conv1 to conv3 of the lesson's class
#: network) on the 86x86 canvas, once the smoothed climb nears its pattern. 1e-12 leaves
#: every step at ``step_size`` to 0.01 %; the kit's former 1e-8 shrank those late steps
#: by a third, and the class code's 1e-5 (lesson 00: an RMS of 6e-8) makes a step about
#: 150 times too small. Exercise 06's gradient step adds the same.
GRADIENT_EPSILON = 1e-12
#: Each canvas of the schedule is this many times smaller than the next.
OCTAVE_SCALE = 1.75
#: Layers that change a photo only while training: the pattern sub-model leaves them out,
#: so it takes a canvas of any size (augmentation blocks are fixed to the photo size).
INFERENCE_IDENTITY = (keras.layers.RandomFlip, keras.layers.RandomRotation,
                      keras.layers.RandomZoom, keras.layers.RandomTranslation,
                      keras.layers.RandomContrast, keras.layers.RandomBrightness)
# Lucid's colour correlation of natural photos (square root of the RGB covariance):
# steps mixed by C @ C.T change colours the way photos vary, mostly in brightness.
_COLOUR = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
_COLOUR_MIX = (_COLOUR @ _COLOUR.T) / np.max(np.linalg.eigvalsh(_COLOUR @ _COLOUR.T))


def kernel_weights(model, layer):
    """The kernels of the convolution layer ``layer``: float32 ``(kh, kw, in_channels, filters)``.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    conv = check_layer(model, layer, "conv")
    return np.asarray(conv.kernel, dtype=np.float32)


def first_layer_patches(model, layer=None):
    """The first conv layer's kernels as small RGB pictures: float32 ``(filters, kh, kw, 3)`` in 0..1.

    Each kernel is scaled on its own (its minimum to 0, maximum to 1), so mid-grey means
    "no preference" only approximately: compare shapes and colours, not brightness
    between patches. ``layer`` defaults to the first conv layer; it must see RGB input.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    layer = layer or layer_names(model, "conv")[0]
    kernels = kernel_weights(model, layer)
    if kernels.shape[2] != 3:
        raise CatDogKitError(
            _("layer {layer!r} sees {channels} input channels, not the photo's 3 "
              "colours: only the first conv layer ({first!r}) "
              "can be shown as RGB patches; use kernel_weights() for the others").format(
                layer=layer, channels=kernels.shape[2], first=layer_names(model, "conv")[0]))
    return scale_each(np.transpose(kernels, (3, 0, 1, 2)))


def signed_kernels(model, layer, filters=None):
    """Every weight of the chosen filters, by input channel: float32 ``(F, in_channels, kh, kw)``
    in -1..1, each filter divided by its largest absolute weight (0 stays 0, the sign stays).

    A deeper filter is a ``kh x kw`` kernel on *each* of the maps the layer before makes;
    its average over those maps mixes positive and negative weights into grey, so this
    keeps them apart: row ``f`` shows which input maps filter ``f`` adds and subtracts.
    """
    kernels = kernel_weights(model, layer)
    chosen = _filters(kernels.shape[-1], filters, layer)
    per_filter = np.transpose(kernels[..., chosen], (3, 2, 0, 1))
    biggest = np.abs(per_filter).max(axis=(1, 2, 3), keepdims=True)
    return per_filter / np.where(biggest > 0, biggest, 1.0)


def pattern_layer(model, layer):
    """The layer whose output :func:`filter_patterns` measures for ``layer``.

    A convolution without its own activation that feeds a BatchNormalization and/or a
    ReLU (the improved network's ``stem_conv`` -> ``stem_bn`` -> ``stem_relu``) is measured
    after them: its raw output means nothing on its own, because batch normalization
    subtracts a learned mean and may flip the sign (a negative scale), so what the next
    layer sees is the normalised, rectified map. Any other layer is measured as it is.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    current = check_layer(model, layer, "spatial")
    if getattr(current, "activation", None) not in (None, keras.activations.linear):
        return layer
    for kinds in ((keras.layers.BatchNormalization,), (keras.layers.Activation, keras.layers.ReLU)):
        after = _consumers(model, current)
        if len(after) == 1 and isinstance(after[0], kinds):
            current = after[0]
    return current.name


def _consumers(model, layer):
    if isinstance(model, keras.Sequential):
        index = model.layers.index(layer)
        return model.layers[index + 1:index + 2]
    found = []
    for other in model.layers:
        try:
            inputs = keras.tree.flatten(other.input)
        except (AttributeError, ValueError):  # an input layer, or a layer called twice
            continue
        if any(tensor is layer.output for tensor in inputs):
            found.append(other)
    return found


def _filters(channels, filters, layer):
    chosen = np.arange(channels) if filters is None else np.asarray(filters, dtype=int).reshape(-1)
    if len(chosen) == 0 or chosen.min() < 0 or chosen.max() >= channels:
        raise CatDogKitError(_("layer {layer!r} has filters 0..{last}; got {chosen}").format(
            layer=layer, last=channels - 1, chosen=chosen.tolist()))
    return chosen


def _any_size(sub):
    """``sub`` re-wired onto an input of any size, sharing its layers and weights, or None
    when a fixed-size part inside it (other than augmentation) cannot take another size."""
    def skip_augmentation(layer):
        parts = layer.layers if isinstance(layer, keras.Sequential) else [layer]
        if parts and all(isinstance(part, INFERENCE_IDENTITY) for part in parts):
            return keras.layers.Lambda(lambda x: x, name=f"{layer.name}_skipped")
        return layer
    height, width = sub.inputs[0].shape[1:3]
    try:
        resized = keras.models.clone_model(sub, input_tensors=keras.Input((None, None, 3)),
                                           clone_function=skip_augmentation)
        # A dense part inside re-wires without complaint and fails only when run.
        resized(np.zeros((1, (height or 32) + 8, (width or 32) + 8, 3), np.float32))
    except (ValueError, TypeError, tf.errors.InvalidArgumentError):
        return None
    return resized


class _Ascent:
    """One filter's climb per image of a batch, compiled once for every canvas size.

    The climb follows the mean activation of each image's filter, what the next layer
    sees. A filter that is silent everywhere (a ReLU at zero has no gradient) climbs its
    strongest response *before* the ReLU instead, until it answers somewhere; Lucid's
    "redirected ReLU" has the same aim. So the sub-model stops at the input of the ReLU
    (a separate activation layer, or the convolution whose activation is fused in).
    """

    def __init__(self, model, layer):
        target = model.get_layer(pattern_layer(model, layer))
        self.own_filter = False  # whether respond() already picks each image's filter
        self.kernel = 1  # the map side the sub-model must leave for one output
        if isinstance(target, (keras.layers.Activation, keras.layers.ReLU)):
            self.respond, self.activate = _same, target
            sub = activation_model(model, [], inputs_of=[target.name])
        elif isinstance(target, keras.layers.Conv2D) and target.activation is not keras.activations.linear:
            self.respond, self.activate = self._linear_part(target), target.activation
            self.own_filter = True
            self.kernel = max(target.kernel_size) if target.padding == "valid" else 1
            sub = activation_model(model, [], inputs_of=[target.name])
        else:
            self.respond = self.activate = _same
            sub = activation_model(model, [target.name])
        self.channels = int(activation_model(model, [layer]).outputs[0].shape[-1])
        self.fixed = input_size(model)
        resized = _any_size(sub)
        self.sub, self.resizable = (resized, True) if resized is not None else (sub, False)
        self.step = tf.function(self._step, reduce_retracing=True, input_signature=[
            tf.TensorSpec([None, None, None, 3], tf.float32), tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([2], tf.int32), tf.TensorSpec([], tf.bool)])

    @staticmethod
    def _linear_part(conv):
        """Each image's own filter of ``conv``, before its activation: ``(B, h, w, 1)``.

        Only that one filter is computed per image (one depthwise convolution over the
        batch laid side by side), not all of the layer's filters: for the class
        network's conv3 this is a third of each step's arithmetic.
        """
        stride = list(conv.strides)

        def respond(x, filters):
            batch, height, width, depth = tf.unstack(tf.shape(x))
            kernels = tf.gather(conv.kernel, filters, axis=3)  # (kh, kw, depth, B)
            side_by_side = tf.reshape(tf.transpose(x, [1, 2, 0, 3]), [1, height, width, -1])
            kh, kw = conv.kernel_size
            flat = tf.reshape(tf.transpose(kernels, [0, 1, 3, 2]), [kh, kw, -1, 1])
            maps = tf.nn.depthwise_conv2d(side_by_side, flat, [1, *stride, 1], conv.padding.upper())
            shape = tf.shape(maps)
            maps = tf.reduce_sum(tf.reshape(maps, [shape[1], shape[2], batch, depth]), -1)
            maps = tf.transpose(maps, [2, 0, 1])[..., None]
            return maps + tf.gather(conv.bias, filters)[:, None, None, None] if conv.use_bias else maps
        return respond

    def _step(self, images, filters, shift, smooth):
        """(unit step direction per image, mean activation per image) at ``images`` shifted by ``shift``."""
        x = tf.roll(images, shift, axis=[1, 2])
        mask = tf.one_hot(filters, self.channels)[:, None, None, :]
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = self.sub(x, training=False)
            out = out[0] if isinstance(out, (list, tuple)) else out
            if self.own_filter:
                chosen = self.respond(out, filters)
            else:
                chosen = tf.reduce_sum(self.respond(out) * mask, -1, keepdims=True)
            score = tf.reduce_mean(self.activate(chosen), [1, 2, 3])
            # A silent filter climbs its strongest response before the ReLU, until it
            # answers somewhere; a live one climbs its mean activation.
            strongest = tf.reduce_max(chosen, [1, 2, 3])
            silent = tf.reduce_max(self.activate(chosen), [1, 2, 3]) <= 0
            objective = tf.reduce_sum(tf.where(silent, strongest, score))
        grads = tf.roll(tape.gradient(objective, x), -shift, axis=[1, 2])
        if smooth:
            grads = tf.nn.avg_pool2d(tf.pad(grads, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC"),
                                     3, 1, "VALID")
            grads = tf.einsum("bhwc,cd->bhwd", grads, tf.constant(_COLOUR_MIX))
        # Normalised per image, as the class code did, so images never interact.
        rms = tf.sqrt(tf.reduce_mean(tf.square(grads), axis=[1, 2, 3], keepdims=True))
        return grads / (rms + GRADIENT_EPSILON), score


def _same(x):
    return x


def _ascent(model, layer):
    per_model = _ASCENTS.setdefault(model, {})
    if layer not in per_model:
        per_model[layer] = _Ascent(model, layer)
    return per_model[layer]


def ascent_batch_size(height, width):
    """How many canvases :func:`filter_patterns` pushes through at once by default.

    ``GPU_BATCH`` on a GPU; on a CPU as many as hold ``CPU_BATCH_PIXELS`` pixels (8 at
    150x150, 43 at 64x64, at least 1, at most ``GPU_BATCH``).
    """
    if tf.config.list_physical_devices("GPU"):
        return GPU_BATCH
    return int(np.clip(CPU_BATCH_PIXELS // (height * width), 1, GPU_BATCH))


def octave_sizes(size, octaves):
    """The canvas sides of an ``octaves``-step schedule that ends at ``size``: each
    ``OCTAVE_SCALE`` times the one before, e.g. ``[49, 86, 150]`` for 150 and 3.
    """
    if octaves < 1:
        raise CatDogKitError(_("an octave schedule needs at least one canvas, not {octaves}").format(octaves=octaves))
    return [max(1, round(size / OCTAVE_SCALE ** (octaves - 1 - k))) for k in range(octaves)]


def scaled_steps(first):
    """:data:`STEPS` scaled so that the smallest canvas gets ``first`` steps (a canvas with
    steps keeps at least 1): ``scaled_steps(8) == (8, 4, 0)``, ``scaled_steps(3) == (3, 2, 0)``.
    """
    return tuple(min(n, 1) * max(1, math.ceil(n * first / STEPS[0])) for n in STEPS)


def _schedule(steps, size, ascent):
    steps = (steps,) if np.ndim(steps) == 0 else tuple(steps)
    if not steps or any(not float(n).is_integer() or n < 0 for n in steps):
        raise CatDogKitError(_("steps must be a number of steps, or one per canvas (e.g. "
                               "{example}), each 0 or more; got {steps!r}").format(example=STEPS, steps=steps))
    sizes = octave_sizes(size, len(steps))
    if not ascent.resizable:
        if size != ascent.fixed[0]:
            raise CatDogKitError(_("this model only takes photos of its own input size; "
                                   "leave size unset"))
        return [(size, int(n)) for n in steps]  # every octave on the model's own size
    smallest = _smallest_canvas(ascent, size)
    return [(max(s, smallest), int(n)) for s, n in zip(sizes, steps)]


def _smallest_canvas(ascent, size):
    """The smallest canvas side that still leaves the layer a map (unpadded convolutions
    and poolings shrink it), at most ``size``."""
    for side in range(2, size):
        try:
            shape = ascent.sub.compute_output_shape((1, side, side, 3))
        except ValueError:  # Keras: "Computed output size would be zero or negative"
            continue
        shape = shape[0] if isinstance(shape, list) else shape
        if min(shape[1:3]) >= ascent.kernel:
            return side
    return size


def filter_patterns(model, layer, filters=None, *, steps=STEPS, step_size=12.0, size=None,
                    jitter=2, blur=True, seed=0, batch_size=None):
    """The input pattern each filter of ``layer`` answers to most, by gradient ascent.

    Coarse to fine, as the old Keras examples did: each filter starts from the class
    code's grey noise (``128 + 20 * uniform``, drawn from ``(seed, filter)``) on a small
    canvas, climbs ``steps[0]`` steps there, is enlarged by :data:`OCTAVE_SCALE` and climbs
    ``steps[1]`` steps, and so on up to the full canvas (``size``, default the model's
    input size): see :func:`octave_sizes`. A single number of ``steps`` climbs on the full
    canvas only, as the class code did. Each step moves every pixel by about
    ``step_size`` (the gradient divided by its root mean square, per image) and keeps it
    in the photo range 0..255.

    Regularised as keras.io and Lucid do, so the patterns look like patterns instead of
    pixel noise: the canvas is shifted by up to ``jitter`` pixels before each step (a
    pattern must work wherever it lies), and with ``blur`` each step is smoothed (3x3
    mean) and its colours mixed the way photos' colours vary. A filter silent on its
    start climbs its strongest response before the ReLU until it answers (see
    :class:`_Ascent`); a convolution followed by batch normalization and ReLU is measured
    after them (:func:`pattern_layer`), and only each image's own filter of the last
    convolution is computed. Two networks' patterns are comparable on the same ``size``.

    All filters climb together (``batch_size`` images per call, default
    :func:`ascent_batch_size`); each image climbs alone, so a filter gives the same
    pattern in any batch. Results are kept per model weights and arguments
    (:mod:`catdogkit.viewcache`). ``filters`` is a list of channel indices (default: all).

    Returns ``(patterns, activations)``: float32 ``(F, size, size, 3)`` in photo units
    0..255 (use :func:`deprocess` to show them) and float32 ``(F,)``, the mean
    activation each filter reaches on its pattern, on the full canvas without jitter.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    check_layer(model, layer, "spatial")
    ascent = _ascent(model, layer)
    chosen = _filters(ascent.channels, filters, layer)
    size = int(size or input_size(model)[0])
    plan = _schedule(steps, size, ascent)
    settings = (plan, float(step_size), int(jitter), bool(blur), int(seed))
    # The epsilon is part of the key: patterns kept while it was 1e-8 climbed other steps.
    return remember("filter_patterns", lambda: _climb(ascent, chosen, plan, settings, batch_size),
                    model, layer, chosen, settings, GRADIENT_EPSILON)


def _climb(ascent, filters, plan, settings, batch_size):
    _plan, step_size, jitter, blur, seed = settings
    first = plan[0][0]
    images = np.stack([128.0 + 20.0 * np.random.default_rng([seed, f]).random((first, first, 3))
                       for f in filters]).astype(np.float32)
    for octave, (side, count) in enumerate(plan):
        images = _resized(images, side)
        # The shifts depend only on (seed, octave, step), never on the batch.
        shifts = np.random.default_rng([seed, 1000 + octave]).integers(-jitter, jitter + 1, (count, 2))
        images = _run(ascent, images, filters, shifts, step_size, blur, batch_size)
    scores = _run(ascent, images, filters, None, 0.0, False, batch_size)
    return images, scores


def _resized(images, side):
    if images.shape[1] == side:
        return images
    return tf.image.resize(images, (side, side), method="bicubic").numpy()


def _run(ascent, images, filters, shifts, step_size, blur, batch_size):
    """Climb every batch of ``images`` by ``shifts`` steps; with ``shifts=None``, the scores."""
    side = images.shape[1]
    batch = batch_size or ascent_batch_size(side, side)
    out = []
    for start in range(0, len(images), batch):
        x = tf.constant(images[start:start + batch])
        which = tf.constant(filters[start:start + batch], tf.int32)
        if shifts is None:
            out.append(ascent.step(x, which, tf.zeros(2, tf.int32), tf.constant(False))[1].numpy())
            continue
        for shift in shifts:
            direction, _score = ascent.step(x, which, tf.constant(shift, tf.int32), tf.constant(blur))
            x = tf.clip_by_value(x + step_size * direction, 0.0, 255.0)
        out.append(x.numpy())
    return np.concatenate(out)
