"""The tiny Keras models the tests build: a few shapes, each the same network on every call.

Layer names follow the class network (``photo``, ``rescale``, ``conv1``, ``pool1``, …,
``flatten``, ``dense``, ``prediction``) so that the kit's helpers find their layers by
name, as they do in the lessons. Weights come from ``seed`` through seeded initializers,
so a test never depends on Keras's global random state.
"""
import keras
import numpy as np
from keras import layers

from catdogkit.grading import tiny_cnn

__all__ = ["augmented_conv", "conv_stack", "corner_cnn", "split_relu_cnn", "tiny_cnn"]


def _init(seed):
    return keras.initializers.GlorotUniform(seed)


def conv_stack(input_size=32, filters=(8, 16), dense_units=16, *, pool_last=True, seed=0):
    """``rescale``, then per entry of ``filters`` a 3x3 ReLU ``convN`` and a 2x2 ``poolN``,
    then ``flatten``, ``dense`` (left out when ``dense_units`` is None) and ``prediction``.

    ``pool_last=False`` leaves the last conv layer unpooled; ``filters=()`` gives a
    linear model on the pixels (rescale, flatten, prediction). With the defaults this is
    :func:`tiny_cnn`'s shape.
    """
    photo = keras.Input((input_size, input_size, 3), name="photo")
    x = layers.Rescaling(1 / 255, name="rescale")(photo)
    for i, count in enumerate(filters, start=1):
        x = layers.Conv2D(count, 3, activation="relu", kernel_initializer=_init(seed + i),
                          name=f"conv{i}")(x)
        if pool_last or i < len(filters):
            x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    if dense_units is not None:
        x = layers.Dense(dense_units, activation="relu", kernel_initializer=_init(seed + 100),
                         name="dense")(x)
    out = layers.Dense(1, activation="sigmoid", kernel_initializer=_init(seed + 101),
                       name="prediction")(x)
    return keras.Model(photo, out, name="conv_stack")


def split_relu_cnn(input_size=10, filters=2, seed=0):
    """One linear 3x3 ``conv`` whose ReLU is a layer of its own (``relu``), then ``pool``,
    ``flatten``, ``dense`` (4 units) and ``prediction``; no rescaling.

    For checking a feature map against a convolution computed by hand: set the weights
    of ``model.get_layer("conv")`` and compare ``conv``, ``relu`` and ``pool``.
    """
    photo = keras.Input((input_size, input_size, 3), name="photo")
    x = layers.Conv2D(filters, 3, kernel_initializer=_init(seed), name="conv")(photo)
    x = layers.MaxPooling2D(2, name="pool")(layers.ReLU(name="relu")(x))
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4, activation="relu", kernel_initializer=_init(seed + 1), name="dense")(x)
    out = layers.Dense(1, activation="sigmoid", kernel_initializer=_init(seed + 2),
                       name="prediction")(x)
    return keras.Model(photo, out, name="split_relu_cnn")


def augmented_conv(input_size=24, filters=2, seed=0):
    """A photo through a nested augmentation model (``aug``: a RandomFlip), then one 3x3
    ``conv``: the shape of a network whose augmentation block sits inside it."""
    augment = keras.Sequential([keras.Input((input_size, input_size, 3)),
                                layers.RandomFlip(seed=seed)], name="aug")
    photo = keras.Input((input_size, input_size, 3), name="photo")
    conv = layers.Conv2D(filters, 3, kernel_initializer=_init(seed), name="conv")
    return keras.Model(photo, conv(augment(photo)), name="augmented_conv")


def corner_cnn(size=16):
    """A network that can only look at the photo's top-left quarter, with fixed weights.

    It crops that quarter, pads it back to ``size`` with zeros, and decides from
    ``conv_last`` (4 filters of 0.1, padding "same") through global average pooling
    (``features``) and ``prediction`` (weights 10): every pixel of the quarter speaks
    for "dog", nothing speaks for "cat", and nothing outside the quarter matters.
    """
    half = size // 2
    photo = keras.Input((size, size, 3), name="photo")
    x = layers.Rescaling(1 / 255, name="rescale")(photo)
    x = layers.Cropping2D(((0, half), (0, half)), name="crop")(x)
    x = layers.ZeroPadding2D(((0, half), (0, half)), name="pad")(x)
    conv = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_last")
    x = layers.GlobalAveragePooling2D(name="features")(conv(x))
    head = layers.Dense(1, activation="sigmoid", name="prediction")
    model = keras.Model(photo, head(x), name="corner_cnn")
    conv.set_weights([np.full((3, 3, 3, 4), 0.1, "float32"), np.zeros(4, "float32")])
    head.set_weights([np.full((4, 1), 10.0, "float32"), np.zeros(1, "float32")])
    return model
