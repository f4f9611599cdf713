"""Small helpers that the exercises' test cells call (nbgrader assignments in ``exercises/``).

They build the little things a test needs (a folder of good and broken photos, a tiny
network with the class network's layer names, a sample photo), turn a wrong answer
into a message that says what was expected, and check each answer with the kit's own
functions switched off (:func:`on_your_own`), so that handing a part to the kit earns
nothing. They never import nbgrader, so students run the visible tests in Colab as well.

Introduced in the exercise of lesson 01.
"""
import contextlib
import functools
import importlib
import pkgutil
import sys
from pathlib import Path

import numpy as np

from catdogkit.constants import CLASS_NETWORK_PARAMS  # noqa: F401  (the exercises' tests use it)
from catdogkit.i18n import _

#: Kit modules that :func:`kit_switched_off` leaves alone: these helpers themselves, the
#: language of their messages, and the entry points that only a command line uses.
KEPT_MODULES = (
    "catdogkit.grading", "catdogkit.errors", "catdogkit.constants", "catdogkit.runtime", "catdogkit.i18n")
SKIPPED_IMPORTS = ("__main__", "cli", "serve", "voila_kernels")


def describe(value):
    """A short description of a value for a test message: type, and shape/dtype for arrays."""
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is not None:
        return _("{kind} of shape {shape} and dtype {dtype}").format(
            kind=type(value).__name__, shape=tuple(shape), dtype=dtype)
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def expect_array(value, shape=None, name=None):
    """Return ``value`` as a NumPy array, or fail with a message naming what was wrong.

    ``shape`` may hold ``None`` for any size on an axis; ``name`` (default "the result",
    in the kit's language) is what the message calls ``value``.
    """
    name = name or _("the result")
    if hasattr(value, "numpy"):
        value = value.numpy()
    if not isinstance(value, np.ndarray):
        raise AssertionError(_("{name} should be a NumPy array (or a tensor), got {description}").format(
            name=name, description=describe(value)))
    if shape is not None:
        ok = len(value.shape) == len(shape) and all(
            want is None or want == got for want, got in zip(shape, value.shape))
        if not ok:
            wanted = tuple(_("any") if s is None else s for s in shape)
            raise AssertionError(_("{name} should have shape {wanted}, got {shape}").format(
                name=name, wanted=wanted, shape=tuple(value.shape)))
    return value


def close(actual, expected, *, rtol=1e-5, atol=1e-6, name=None):
    """True when two numbers/arrays agree; otherwise an AssertionError that shows both.

    ``name`` (default "the result", in the kit's language) is what the message calls ``actual``.
    """
    a = np.asarray(actual, dtype="float64")
    e = np.asarray(expected, dtype="float64")
    if a.shape != e.shape or not np.allclose(a, e, rtol=rtol, atol=atol):
        raise AssertionError(_("{name}: expected {expected}, got {actual}").format(
            name=name or _("the result"), expected=_short(e), actual=_short(a)))
    return True


def _short(array):
    if array.ndim == 0:
        return f"{float(array):.6g}"
    if array.size <= 6:
        return str(np.round(array, 6).tolist())
    return _("array of shape {shape} (mean {mean})").format(shape=array.shape, mean=f"{array.mean():.6g}")


def sample_photo(class_name="cats", image_size=64, seed=0):
    """One drawn photo of the embedded sample as float32 ``(S, S, 3)`` with values 0..255."""
    from catdogkit.sample import draw_photo
    rng = np.random.default_rng(seed)
    return draw_photo(class_name, rng, image_size).astype("float32")


def sample_batch(n=8, image_size=64, seed=0):
    """``n`` drawn photos (cats and dogs in turn) and their labels (0 = cat, 1 = dog)."""
    photos = [sample_photo(("cats", "dogs")[i % 2], image_size, seed + i) for i in range(n)]
    labels = np.array([i % 2 for i in range(n)], dtype="float32")
    return np.stack(photos), labels


def tiny_cnn(input_shape=(32, 32, 3), seed=0):
    """A small network named like the class network, for quick tests.

    Layers: ``photo`` (Input), ``rescale``, ``conv1`` (8 filters), ``pool1``, ``conv2``
    (16 filters), ``pool2``, ``flatten``, ``dense`` (16), ``prediction`` (1 sigmoid unit).
    Its weights come from ``seed``, so two calls give the same network.
    """
    import keras
    from keras import layers

    init = keras.initializers.GlorotUniform
    photo = keras.Input(shape=input_shape, name="photo")
    x = layers.Rescaling(1.0 / 255, name="rescale")(photo)
    x = layers.Conv2D(8, 3, activation="relu", kernel_initializer=init(seed), name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 3, activation="relu", kernel_initializer=init(seed + 1), name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(16, activation="relu", kernel_initializer=init(seed + 2), name="dense")(x)
    out = layers.Dense(1, activation="sigmoid", kernel_initializer=init(seed + 3), name="prediction")(x)
    return keras.Model(photo, out, name="tiny_cnn")


def photo_folder(root, image_size=32):
    """Write a small photo folder with the faults of the real data set; return its path.

    ``train/cats``: 3 good JPEGs and an empty ``cat.3.jpg``; ``train/dogs``: 2 good JPEGs,
    a good PNG, a truncated ``dog.3.jpg`` and a text file named ``dog.4.jpg``;
    ``validation/cats`` and ``validation/dogs``: 2 good JPEGs each, plus a hidden
    ``.DS_Store`` and a ``notes.txt`` that are not photos. The broken files are
    :func:`catdogkit.data.broken.write_fault`'s, as lesson 01 shows them. Existing files
    are replaced.
    """
    from PIL import Image

    from catdogkit.data.broken import write_fault

    root = Path(root)
    rng = np.random.default_rng(0)

    def photo(path, fmt="JPEG", size=image_size):
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path, fmt)
        return path

    for i in range(3):
        photo(root / "train" / "cats" / f"cat.{i}.jpg")
    write_fault(root / "train" / "cats" / "cat.3.jpg", "empty", None)
    for i in range(2):
        photo(root / "train" / "dogs" / f"dog.{i}.jpg")
    photo(root / "train" / "dogs" / "dog.2.png", "PNG")
    # Cut from a 96x96 photo: a third of a small one would not even keep the JPEG header whole.
    cut = photo(root / "train" / "dogs" / "dog.3.jpg", size=96)
    write_fault(cut, "truncated", cut)
    write_fault(root / "train" / "dogs" / "dog.4.jpg", "text", None)
    for name in ("cats", "dogs"):
        for i in range(2):
            photo(root / "validation" / name / f"{name[:-1]}.{100 + i}.jpg")
        write_fault(root / "validation" / name / ".DS_Store", "hidden", None)
        (root / "validation" / name / "notes.txt").write_text("taken in 2014\n")
    return root


#: What :func:`photo_folder` holds: photo files by name, per split and class.
PHOTO_FOLDER_COUNTS = {
    "train": {"cats": 4, "dogs": 5},
    "validation": {"cats": 2, "dogs": 2},
}
#: The broken files in :func:`photo_folder` and why each one is unusable.
PHOTO_FOLDER_BROKEN = {
    "train/cats/cat.3.jpg": "empty",
    "train/dogs/dog.3.jpg": "damaged",
    "train/dogs/dog.4.jpg": "not a photo",
}


def call(model, batch):
    """Run ``model`` on ``batch`` and return NumPy arrays (a list for several outputs).

    Keras warns when a model made with ``keras.Model(model.inputs, ...)`` (a list) is
    called with one array; both spellings are right, so the warning is not shown.
    """
    import warnings

    import keras

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*structure of `inputs`", category=UserWarning)
        outputs = model(keras.ops.convert_to_tensor(np.asarray(batch, dtype="float32")))
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(o) for o in outputs]
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    return np.asarray(outputs)


#: Keras warnings about code that is right, which would cost a test cell its points
#: (nbgrader scores a test cell that writes to stderr 0).
HARMLESS_KERAS_WARNINGS = (
    # fit() on a tf.data.Dataset with the default shuffle=True (Keras 3.15)
    r".*`shuffle=True` was passed, but will be ignored",
    # a model made with keras.Model(model.inputs, ...) called with one array
    r".*structure of `inputs` doesn't match the expected structure",
)


def quiet_keras_warnings():
    """Hide :data:`HARMLESS_KERAS_WARNINGS`; every other warning still shows.

    The exercises' set-up cell calls it, so a right answer never loses points to them.
    """
    import warnings

    for pattern in HARMLESS_KERAS_WARNINGS:
        warnings.filterwarnings("ignore", message=pattern, category=UserWarning)


class KitSwitchedOff(AssertionError):
    """A kit function was called by an answer that must do the work itself."""


def _kit_modules():
    """Every kit module, imported now: one imported later would escape the switch."""
    import catdogkit
    for info in pkgutil.iter_modules(catdogkit.__path__):
        if info.name not in SKIPPED_IMPORTS:
            importlib.import_module(f"catdogkit.{info.name}")
    return [module for name, module in list(sys.modules.items())
            if module is not None and (name == "catdogkit" or name.startswith("catdogkit."))
            and not name.startswith(KEPT_MODULES)]


def _is_kit_function(value):
    module = getattr(value, "__module__", None) or ""
    return (callable(value) and not isinstance(value, type) and module.startswith("catdogkit")
            and not module.startswith(KEPT_MODULES))


def _switched_off(kit_function, answer_name):
    where = f"{kit_function.__module__}.{getattr(kit_function, '__name__', 'function')}"

    def refuse(*args, **kwargs):
        raise KitSwitchedOff(_(
            "{answer} called the kit's {where}, which is switched off while this part is checked: the "
            "kit already does this, and the exercise is to write it yourself (NumPy, TensorFlow and "
            "Keras are all allowed)").format(answer=answer_name, where=where))
    return refuse


@contextlib.contextmanager
def kit_switched_off(answer):
    """While inside, every catdogkit function raises :class:`KitSwitchedOff`.

    Both the kit's modules and the names ``answer`` (the student's function) imported from
    them (``from catdogkit.visualize import feature_maps``) are switched; everything is
    put back on the way out. These grading helpers stay on.
    """
    name = getattr(answer, "__name__", None) or _("your answer")
    stubs, replaced = {}, []
    spaces = [vars(module) for module in _kit_modules()] + [getattr(answer, "__globals__", {})]
    for space in spaces:
        for attr, value in list(space.items()):
            if not attr.startswith("__") and _is_kit_function(value):
                stub = stubs.setdefault(id(value), _switched_off(value, name))
                replaced.append((space, attr, value))
                space[attr] = stub
    try:
        yield
    finally:
        for space, attr, value in reversed(replaced):
            space[attr] = value


def on_your_own(answer):
    """``answer`` wrapped so that it runs with the kit switched off (:func:`kit_switched_off`).

    A test cell checks ``on_your_own(feature_maps)`` instead of ``feature_maps``: an answer
    that only hands the work to the kit's function of the same job scores 0, with a message
    that says why.
    """
    if getattr(answer, "__wrapped_by_grading__", False):
        return answer

    @functools.wraps(answer)
    def checked(*args, **kwargs):
        with kit_switched_off(answer):
            return answer(*args, **kwargs)
    checked.__wrapped_by_grading__ = True
    return checked
