"""Filters: their kernel weights, and the input pattern each filter answers to most.

Introduced in lesson 06 (visualizing convnet filters).
"""
import weakref

import keras
import numpy as np
import tensorflow as tf

from catdogkit.errors import CatDogKitError
from catdogkit.visualize.render import scale_each
from catdogkit.visualize.layers import activation_model, check_layer, input_size, layer_names

_STEPS = weakref.WeakKeyDictionary()  # one compiled ascent step per activation sub-model
_RESIZED = weakref.WeakKeyDictionary()  # sub-models re-wired for another input size

#: Canvas pixels one ascent call takes at once on a CPU. Bigger batches of big canvases
#: no longer fit the caches: 32 filters of the class network's conv3, 150x150, 40 steps
#: took 12.3 s in batches of 8 and 18.4 s in batches of 32 on 2 cores; at 64x64 any
#: batch of 16-64 took 5.1-5.7 s.
CPU_BATCH_PIXELS = 8 * 150 * 150
GPU_BATCH = 64


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
            f"layer {layer!r} sees {kernels.shape[2]} input channels, not the photo's 3 "
            f"colours: only the first conv layer ({layer_names(model, 'conv')[0]!r}) "
            "can be shown as RGB patches; use kernel_weights() for the others")
    return scale_each(np.transpose(kernels, (3, 0, 1, 2)))


def _ascent_step(sub):
    """A compiled gradient-ascent step for every image of a batch at once.

    Image ``i`` climbs the mean activation of channel ``filters[i]``. The images do not
    interact (inference mode, no batch statistics), so one batched step equals one step
    of the class code's per-filter loop for each of them; the gradient is normalized per
    image as the class code did (``grads / (rms(grads) + 1e-5)``).
    """
    if sub not in _STEPS:
        @tf.function(reduce_retracing=True)
        def step(images, mask, step_size):
            with tf.GradientTape() as tape:
                tape.watch(images)
                maps = sub(images, training=False)
                score = tf.reduce_mean(tf.reduce_sum(maps * mask[:, None, None, :], -1), [1, 2])
                total = tf.reduce_sum(score)
            grads = tape.gradient(total, images)
            rms = tf.sqrt(tf.reduce_mean(tf.square(grads), axis=[1, 2, 3], keepdims=True))
            return images + step_size * grads / (rms + 1e-5), score
        _STEPS[sub] = step
    return _STEPS[sub]


def _at_size(sub, size):
    """``sub`` re-wired onto a ``size`` x ``size`` input, sharing its layers and weights.

    Convolution and pooling work on any image size, so a small canvas gives the same
    kind of pattern for a fraction of the compute (a conv3 unit of the class network sees
    only 18x18 pixels). Models with a fixed-size part inside (a nested Sequential) cannot.
    """
    per_sub = _RESIZED.setdefault(sub, {})
    if size not in per_sub:
        try:
            per_sub[size] = keras.models.clone_model(
                sub, input_tensors=keras.Input((size, size, 3)), clone_function=lambda layer: layer)
        except ValueError as error:
            raise CatDogKitError(
                f"this model only takes photos of its own input size; leave size unset "
                f"({error.__class__.__name__}: {str(error).splitlines()[0]})") from error
    return per_sub[size]


def ascent_batch_size(height, width):
    """How many canvases :func:`filter_patterns` pushes through at once by default.

    ``GPU_BATCH`` on a GPU; on a CPU as many as hold ``CPU_BATCH_PIXELS`` pixels (8 at
    150x150, 43 at 64x64, at least 1, at most ``GPU_BATCH``).

    Introduced in lesson 06 (visualizing convnet filters).
    """
    if tf.config.list_physical_devices("GPU"):
        return GPU_BATCH
    return int(np.clip(CPU_BATCH_PIXELS // (height * width), 1, GPU_BATCH))


def filter_patterns(model, layer, filters=None, *, steps=30, step_size=10.0, size=None,
                    seed=0, batch_size=None):
    """The input pattern each filter of ``layer`` answers to most, by gradient ascent.

    All chosen filters climb together in one batched computation (``batch_size`` images
    per call, default :func:`ascent_batch_size`), instead of the class code's one filter
    at a time.
    Each starts from the class code's grey noise (``128 + 20 * uniform``) drawn from
    ``(seed, filter)``, so the same call gives the same patterns. ``filters`` is a list of channel
    indices (default: all). ``size`` is the square canvas side (default: the model's input
    size; a smaller one is much faster on a CPU, for models made of conv and pooling layers).

    Returns ``(patterns, activations)``: float32 ``(F, H, W, 3)`` in photo units
    (around 0..255, not clipped: use :func:`deprocess` to show them) and float32 ``(F,)``,
    the mean activation each filter reaches on its pattern.

    Introduced in lesson 06 (visualizing convnet filters).
    """
    check_layer(model, layer, "spatial")
    sub = activation_model(model, [layer])
    channels = int(sub.outputs[0].shape[-1])
    filters = np.arange(channels) if filters is None else np.asarray(filters, dtype=int).reshape(-1)
    if len(filters) == 0 or filters.min() < 0 or filters.max() >= channels:
        raise CatDogKitError(f"layer {layer!r} has filters 0..{channels - 1}; got {filters.tolist()}")
    height, width = input_size(model) if size is None else (size, size)
    if (height, width) != input_size(model):
        sub = _at_size(sub, size)
    # Each filter's start depends only on (seed, filter), not on which filters share the
    # batch: one filter alone climbs exactly as it does among all the others.
    images = np.stack([128.0 + 20.0 * np.random.default_rng([seed, f]).random((height, width, 3))
                       for f in filters]).astype(np.float32)
    step = _ascent_step(sub)
    batch_size = batch_size or ascent_batch_size(height, width)
    patterns, scores = [], []
    for start in range(0, len(filters), batch_size):
        x = tf.constant(images[start:start + batch_size])
        mask = tf.one_hot(filters[start:start + batch_size], channels)
        for _ in range(steps):
            x, _score = step(x, mask, tf.constant(step_size, tf.float32))
        _x, score = step(x, mask, tf.constant(0.0, tf.float32))  # activation on the final image
        patterns.append(x.numpy())
        scores.append(score.numpy())
    return np.concatenate(patterns), np.concatenate(scores)
