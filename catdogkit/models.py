"""The networks: the class-manual CNN, the book's second model, an improved one, transfer learning.

Every model takes raw photos (float32, values 0..255) and rescales inside itself, names
its layers so lessons and widgets can pick them by name, outputs ``P(dog)`` with shape
``(N, 1)`` and saves/loads as a ``.keras`` file. :func:`build` makes any of them by name,
with its learning-rate schedule sized to the training it is built for.
"""
from pathlib import Path
import zipfile

import keras
import numpy as np
from keras import layers

from catdogkit.constants import CLASS_NETWORK_PARAMS
from catdogkit.data.pipeline import augmentation
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _
from catdogkit.recipes import RECIPES
from catdogkit.viewcache import remember

ORIGINAL_PARAMS = CLASS_NETWORK_PARAMS
ORIGINAL_MIN_SIZE = 46
#: What a training folder (``catdogkit.training.train``'s ``out``) holds once training ends.
MODEL_FILE = "model.keras"

def original_cnn(input_shape=(150, 150, 3)):
    """The class-manual network, written with Keras 3 functional layers.

    Four Conv2D+MaxPooling stages (32, 64, 128, 128 filters), Flatten, Dense 512, one
    sigmoid unit: 3,453,121 parameters at 150x150, compiled as in the class (RMSprop 1e-4,
    binary cross-entropy, accuracy). The class scaled photos in its data generator; here a
    ``Rescaling`` layer does it, so the model takes raw 0..255 photos.

    Introduced in lesson 02 (building a CNN).
    """
    _check_class_size(input_shape)
    photo = keras.Input(shape=input_shape, name="photo")
    x = _class_convolutions(layers.Rescaling(1.0 / 255, name="rescale")(photo))
    return _class_head(photo, x, "original_cnn")


def class_augmented_cnn(input_shape=(150, 150, 3), *, seed=None):
    """The Keras book's second model: the class network with augmentation and Dropout 0.5.

    The book (first edition, 5.2, saved as ``cats_and_dogs_small_2``) trained it 100
    epochs and reached ~82 % validation. Its ``ImageDataGenerator`` augmentation (turns of
    40 degrees, 20 % shifts and zoom, horizontal flips) is here the
    ``catdogkit.data.augmentation`` layers, active only while training; Dropout 0.5 sits
    between Flatten and Dense 512, as in the book.
    """
    _check_class_size(input_shape)
    photo = keras.Input(shape=input_shape, name="photo")
    x = augmentation(seed)(photo)
    x = _class_convolutions(layers.Rescaling(1.0 / 255, name="rescale")(x))
    return _class_head(photo, x, "class_augmented_cnn", dropout=0.5, seed=seed)


def _check_class_size(input_shape):
    if min(input_shape[:2]) < ORIGINAL_MIN_SIZE:
        # Four unpadded 3x3 convolutions and four poolings leave nothing of smaller photos.
        raise CatDogKitError(_("the class network needs photos of at least {least}x{least} pixels, "
                               "not {height}x{width}").format(
            least=ORIGINAL_MIN_SIZE, height=input_shape[0], width=input_shape[1]))


def _class_convolutions(x):
    for stage, filters in enumerate((32, 64, 128, 128), start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"conv{stage}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    return x


def _class_head(photo, x, name, *, dropout=None, seed=None):
    x = layers.Flatten(name="flatten")(x)
    if dropout:
        x = layers.Dropout(dropout, seed=seed, name="dropout")(x)
    x = layers.Dense(512, activation="relu", name="dense")(x)
    prediction = layers.Dense(1, activation="sigmoid", name="prediction")(x)
    model = keras.Model(photo, prediction, name=name)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


#: The improved network's augmentation (see :func:`catdogkit.data.augmentation`): flips,
#: small turns and zooms; shifts left out, as a zoom already moves the animal about. Its
#: recipe (:data:`catdogkit.recipes.RECIPES`) trains longer, with more of both.
IMPROVED_AUGMENTATION = {"rotation": 0.05, "shift": 0, "zoom": (-0.2, 0.1)}


#: What :func:`improved_cnn` can leave out (``leave_out=``), each one a row of
#: ``catdogkit.measured.IMPROVEMENTS``: the ablations behind its figures
#: (``benchmarks/accuracy.py --ablations``).
#: "smaller photos" and "progressive resizing" are not layers but the recipe's photo sizes, so
#: they are not here.
ABLATIONS = ("augmentation layers", "batch normalization", "residual stages",
             "global average pooling", "dropout, weight decay, label smoothing",
             "cosine learning-rate schedule")


def _residual_stage(x, filters, stage, *, normalize=True, shortcut=True):
    # Two 3x3 convolutions with batch normalization, then pooling; a 1x1 strided
    # shortcut adds the stage input back, so gradients reach the first layers.
    if shortcut:
        skip = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False,
                             name=f"block{stage}_shortcut_conv")(x)
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=not normalize,
                          name=f"block{stage}_conv{i}")(x)
        if normalize:
            x = layers.BatchNormalization(momentum=0.9, name=f"block{stage}_bn{i}")(x)
        x = layers.Activation("relu", name=f"block{stage}_relu{i}")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block{stage}_pool")(x)
    return layers.Add(name=f"block{stage}_add")([x, skip]) if shortcut else x


def improved_cnn(input_shape=(150, 150, 3), *, total_steps=3000, seed=None, leave_out=(),
                 augmentation_amounts=None):
    """A better network for 2,000 photos, trained from scratch on a CPU budget.

    Augmentation layers inside the model, batch normalization, residual stages, global
    average pooling instead of Flatten+Dense, dropout, AdamW with weight decay, label
    smoothing and a cosine learning-rate schedule that reaches its floor after
    ``total_steps`` training steps (set it to epochs x steps per epoch). ``leave_out`` names
    choices of :data:`ABLATIONS` to build the network without, for measuring what each is
    worth (``catdogkit.measured``). ``augmentation_amounts`` are
    :func:`catdogkit.data.augmentation`'s (default :data:`IMPROVED_AUGMENTATION`).
    """
    unknown = sorted(set(leave_out) - set(ABLATIONS))
    if unknown:
        raise CatDogKitError(_("improved_cnn cannot leave out {unknown}: choose from {choices}").format(
            unknown=", ".join(map(repr, unknown)), choices=", ".join(map(repr, ABLATIONS))))
    normalize = "batch normalization" not in leave_out
    regularize = "dropout, weight decay, label smoothing" not in leave_out
    photo = keras.Input(shape=input_shape, name="photo")
    x = photo
    if "augmentation layers" not in leave_out:
        x = augmentation(seed, **(augmentation_amounts or IMPROVED_AUGMENTATION))(x)
    x = layers.Rescaling(1.0 / 255, name="rescale")(x)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=not normalize,
                      name="stem_conv")(x)
    if normalize:
        x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage, filters in enumerate((32, 64, 128, 256), start=1):
        x = _residual_stage(x, filters, stage, normalize=normalize,
                            shortcut="residual stages" not in leave_out)
    if normalize:
        x = layers.BatchNormalization(momentum=0.9, name="head_bn")(x)
    x = layers.Activation("relu", name="head_relu")(x)
    if "global average pooling" in leave_out:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(512, activation="relu", name="features")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="features")(x)
    if regularize:
        x = layers.Dropout(0.3, seed=seed, name="dropout")(x)
    prediction = layers.Dense(1, activation="sigmoid", name="prediction")(x)
    model = keras.Model(photo, prediction, name="improved_cnn")
    model.compile(optimizer=_improved_optimizer(total_steps, leave_out),
                  loss=keras.losses.BinaryCrossentropy(label_smoothing=0.1 if regularize else 0.0),
                  metrics=["accuracy"])
    return model


def _improved_optimizer(total_steps, leave_out):
    if "cosine learning-rate schedule" in leave_out:
        rate = 1e-3  # Keras's default rate for Adam: what a plain recipe would use
    else:
        rate = keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, int(total_steps * 0.95)), alpha=0.01,
            warmup_target=2e-3, warmup_steps=max(1, int(total_steps * 0.05)))
    if "dropout, weight decay, label smoothing" in leave_out:
        return keras.optimizers.Adam(learning_rate=rate)
    return keras.optimizers.AdamW(learning_rate=rate, weight_decay=5e-4)


def transfer_cnn(base="mobilenet_v2", weights="imagenet", input_shape=(160, 160, 3)):
    """A frozen pretrained base with a small new head: the fastest route to ~98 %.

    ``base`` is ``"mobilenet_v2"``; ``weights="imagenet"`` downloads the pretrained
    weights once (Colab can, an offline machine cannot: a ``CatDogKitError`` says so),
    ``weights=None`` builds the same network untrained. Fine-tune afterwards with
    :func:`fine_tune`.
    """
    if base != "mobilenet_v2":
        raise CatDogKitError(_("unknown base {base!r}: use 'mobilenet_v2'").format(base=base))
    try:
        backbone = keras.applications.MobileNetV2(
            input_shape=input_shape, include_top=False, weights=weights)
    except Exception as error:  # network, proxy and certificate errors all look different
        if weights is None:
            raise
        raise CatDogKitError(
            _("could not fetch the {weights!r} weights for {base} ({error_type}: "
              "{error}). Connect to the internet (Colab can), or build it untrained with "
              "weights=None.").format(weights=weights, base=base, error_type=type(error).__name__,
                                      error=error)) from error
    backbone.trainable = False
    backbone.name = "base"
    photo = keras.Input(shape=input_shape, name="photo")
    # MobileNetV2 was trained on photos scaled to -1..1.
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(photo)
    # training=False keeps the base's batch-normalization statistics fixed, also
    # after fine_tune() unfreezes some of its layers.
    x = backbone(x, training=False)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    prediction = layers.Dense(1, activation="sigmoid", name="prediction")(x)
    model = keras.Model(photo, prediction, name="transfer_cnn")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def fine_tune(model, n_layers=30, learning_rate=1e-5):
    """Unfreeze the last ``n_layers`` of a transfer model's base and recompile with a small step.

    Batch-normalization layers stay frozen: their statistics came from ImageNet.
    Returns the same model, ready for a few more epochs.
    """
    try:
        backbone = model.get_layer("base")
    except ValueError:
        raise CatDogKitError(_("model {model!r} has no layer named 'base': "
                               "fine_tune() needs a model built by transfer_cnn()").format(model=model.name)) from None
    backbone.trainable = True
    for i, layer in enumerate(backbone.layers):
        layer.trainable = (i >= len(backbone.layers) - n_layers
                           and not isinstance(layer, layers.BatchNormalization))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


def build(name, input_shape=None, *, epochs=None, steps_per_epoch=None, seed=None,
          leave_out=(), augmentation_amounts=None):
    """A new network by name, ready to train: ``"original"``, ``"class-augmented"``,
    ``"improved"`` or ``"transfer"`` (see :data:`catdogkit.recipes.RECIPES`).

    ``input_shape`` defaults to the recipe's square photos. The improved network's
    learning-rate schedule reaches its floor after ``epochs * steps_per_epoch`` steps (the
    recipe's epochs when ``epochs`` is None); give both for a budgeted run. ``seed`` sets
    Keras's random seed first, so the same seed builds the same weights, augmentation
    and dropout. ``leave_out`` (improved network only) names :data:`ABLATIONS` to build
    it without; ``augmentation_amounts`` (improved network only) replace its augmentation's
    (e.g. its recipe's, ``recipes.RECIPES["improved"]["augmentation"]``).

    Introduced in lesson 03 (visualizing feature maps).
    """
    if name not in RECIPES:
        raise CatDogKitError(_("unknown network {name!r}: use one of {choices}").format(
            name=name, choices=", ".join(RECIPES)))
    if input_shape is None:
        size = RECIPES[name]["image_size"]
        input_shape = (size, size, 3)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if leave_out and name != "improved":
        raise CatDogKitError(_("only the improved network has parts to leave out, not {name!r}").format(name=name))
    if augmentation_amounts and name != "improved":
        raise CatDogKitError(_("only the improved network takes augmentation amounts, not {name!r}").format(name=name))
    if name == "original":
        return original_cnn(input_shape)
    if name == "class-augmented":
        return class_augmented_cnn(input_shape, seed=seed)
    if name == "transfer":
        return transfer_cnn(input_shape=input_shape)
    options = {"seed": seed, "leave_out": leave_out, "augmentation_amounts": augmentation_amounts}
    if steps_per_epoch is None:
        return improved_cnn(input_shape, **options)
    total = (epochs or RECIPES[name]["epochs"]) * max(1, int(steps_per_epoch))
    return improved_cnn(input_shape, total_steps=total, **options)


def load_model(path, *, announce=print):
    """Load a ``.keras`` file, an ``.h5`` file Keras can read, or the model a training folder holds.

    An ``.h5`` written by Keras 2 whose optimizer settings today's Keras refuses (``lr=``)
    is loaded without its optimizer, and ``announce`` says so: compile it before training
    it further. Anything else (no such path, a file that is not a Keras model) raises
    ``CatDogKitError`` with what to do.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        if not (path / MODEL_FILE).is_file():
            raise CatDogKitError(_("{path} holds no trained model (no {model_file}): train one "
                                   "with `catdogkit train --out`, or finish that training").format(
                path=path, model_file=MODEL_FILE))
        path = path / MODEL_FILE
    if not path.exists():
        raise CatDogKitError(_("no model at {path}: give a .keras or .h5 file or a training folder").format(path=path))
    if path.suffix in (".h5", ".hdf5"):
        return _load_hdf5(path, announce)
    if not zipfile.is_zipfile(path):
        raise CatDogKitError(_("{path} is not a Keras model (.keras files are zip archives)").format(path=path))
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # corrupt archive, unknown layers, wrong Keras: all unusable input
        raise CatDogKitError(_("{path} could not be loaded as a Keras model ({error_type}: {error})").format(
            path=path, error_type=type(error).__name__, error=error)) from error


def _load_hdf5(path, announce):
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # HDF5 files fail in many ways; only the optimizer is retried
        first = error
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # not HDF5 at all, a weights-only file, layers Keras 3 lacks
        raise CatDogKitError(_("{path} could not be loaded as an HDF5 Keras model "
                               "({error_type}: {error}): save it again as .keras on "
                               "the Keras that wrote it").format(
            path=path, error_type=type(error).__name__, error=error)) from error
    announce(_("Loaded {name} without its optimizer (today's Keras refused its training "
               "settings: {refusal}); compile it before training it further.").format(
        name=path.name, refusal=str(first).splitlines()[0][:120]))
    return model


def predict(model, photos, *, flip=False, batch_size=32):
    """``P(dog)`` for a batch of raw photos, shape ``(N,)``.

    ``flip=True`` averages each photo's prediction with its mirror image's (test-time
    augmentation): a cat seen from the left is still a cat. The result is kept in the
    view cache (per weights and photos), so a lesson page asks the network only once.

    Introduced in lesson 07 (the improved model).
    """
    photos = np.asarray(photos, dtype="float32")
    return remember("predict", lambda: predict_batch(model, photos, flip=flip, batch_size=batch_size),
                    model, photos, flip)


def predict_batch(model, photos, *, flip=False, batch_size=32):
    """:func:`predict` without the view cache: for batches streamed once (evaluation)."""
    photos = np.asarray(photos, dtype="float32")
    p = model.predict(photos, batch_size=batch_size, verbose=0).reshape(-1)
    if flip:
        p = (p + model.predict(photos[:, :, ::-1], batch_size=batch_size, verbose=0).reshape(-1)) / 2
    return p
