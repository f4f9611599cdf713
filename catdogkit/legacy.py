"""The class code as the class had it, what the installed Keras says to it, and the way forward.

The class handed out the Keras book's first-edition notebooks 5.2 (a small convnet trained on
2,000 photos, then again with augmentation and dropout) and 5.4 (feature maps of that
network; filter patterns and Grad-CAM on VGG16), from
``fchollet/deep-learning-with-python-notebooks``, folder ``first_edition/``;
:data:`CLASS_CODE` (kept in :mod:`catdogkit.class_code`) quotes their code, condensed as its
comments say. Nothing here is a stored error message: :func:`try_old_calls` runs each old
call against the Keras installed here and reports the exception (or warning, or silent change) it really caused,
next to the modern replacement and the reason for the change. Running them all takes about
2 CPU-seconds, on every page view of lesson 00, and what they do depends only on the
installed versions and this module; ``try_old_calls(live=False)`` runs them once per such
versions and keeps the results in the view cache (:mod:`catdogkit.viewcache`), each result
saying when its call ran.

Introduced in lesson 00 (reviewing and running the class code).
"""
import contextlib
import io
import logging
import os
import sys
import tempfile
import warnings
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from catdogkit.class_code import CLASS_CODE, SOURCE  # noqa: F401  (lesson 00 reads them here)
from catdogkit.i18n import _, _N_


# Each old call: the line(s) from the class code, what to write today, and why it changed.
# ``setup`` prepares what the line needs (run first, expected to work). ``demo`` marks a line
# that is not quoted from CLASS_CODE but shows what one of its lines does today. ``check``
# is an expression evaluated after the old code ran: when it gives text, the old code ran
# but silently does something else, and the text says what. ``shows`` is the line the
# migration table quotes (default: the first line of ``old``).
OLD_CALLS = [
    {
        "name": "ImageDataGenerator",
        "old": "from keras.preprocessing.image import ImageDataGenerator",
        "setup": "",
        "new": "keras.utils.image_dataset_from_directory(train_dir, image_size=(150, 150)) "
               "+ a Rescaling layer + augmentation layers (RandomFlip, RandomRotation, ...)",
        "why": _N_("Keras 3 moved the NumPy generators out of keras.preprocessing: only "
                   "tf.keras.preprocessing.image.ImageDataGenerator still exists, as a legacy "
                   "class (its augmentation needs SciPy). tf.data streams photos in parallel and "
                   "augmentation layers run inside the model, on any backend."),
    },
    {
        "name": "Conv2D(input_shape=...)",
        "old": "model.add(layers.Conv2D(32, (3, 3), activation='relu',\n"
               "                        input_shape=(150, 150, 3)))",
        "shows": "model.add(layers.Conv2D(32, (3, 3), activation='relu', "
                 "input_shape=(150, 150, 3)))",
        "setup": "model = models.Sequential()",
        "new": "photo = keras.Input(shape=(150, 150, 3)); x = layers.Conv2D(32, (3, 3), "
               "activation='relu')(photo) ...",
        "why": _N_("Keras 3 declares the input as a keras.Input; input_shape= on a layer still "
                   "works, with this warning."),
    },
    {
        "name": "optimizer lr=",
        "old": "optimizers.RMSprop(lr=1e-4)",
        "setup": "",
        "new": "keras.optimizers.RMSprop(learning_rate=1e-4)",
        "why": _N_("the short alias `lr` was deprecated in TF 2.x and removed in Keras 3."),
    },
    {
        "name": "fit_generator",
        "old": "history = model.fit_generator(\n"
               "      train_generator,\n"
               "      steps_per_epoch=100,\n"
               "      epochs=30,\n"
               "      validation_data=validation_generator,\n"
               "      validation_steps=50)",
        "setup": "train_generator = validation_generator = None",
        "new": "model.fit(train_ds, epochs=30, validation_data=validation_ds)",
        "why": _N_("fit() accepts generators and tf.data datasets since TF 2.1; the *_generator "
                   "twins (fit_generator, evaluate_generator, predict_generator) were removed."),
    },
    {
        "name": "steps_per_epoch=100, batch 32",
        "demo": True,
        # The second model's batches of 32: 2,000 photos make 63 batches, not 100.
        "old": "history = model.fit(train_ds, steps_per_epoch=100, epochs=2)",
        "setup": "train_ds = tiny_dataset(photos=2000, batch_size=32)\n"
                 "model.compile(optimizer='rmsprop', loss='binary_crossentropy')",
        "check": "f\"{len(history.history['loss'])} epochs ran, "
                 "{int(model.optimizer.iterations)} steps in all: "
                 "{int(model.optimizer.iterations) // len(history.history['loss'])} per "
                 "epoch, one pass over the 2,000 photos, not 100\"",
        "new": "model.fit(train_ds, epochs=100)  # one epoch = one pass over the photos",
        "why": _N_("a tf.data dataset ends after one pass; the old generators looped for ever. "
                   "With the first model's batches of 20, 100 steps were exactly the 2,000 "
                   "photos; with the second model's batches of 32 they are 63. Keras then warns "
                   "that it is 'interrupting training', but every epoch still runs, each cut to "
                   "one pass. Let the steps follow the data: leave steps_per_epoch out."),
    },
    {
        "name": "save .h5",
        "old": "model.save('cats_and_dogs_small_1.h5')",
        "setup": "model.compile(optimizer='rmsprop', loss='binary_crossentropy')",
        "new": "model.save('cats_and_dogs_small_1.keras')",
        "why": _N_("the .keras zip format keeps the architecture, weights, optimizer state and "
                   "compile settings; .h5 still saves and loads, as a legacy format. A .h5 file "
                   "written by Keras 2 stores `lr` in its optimizer settings: load it with "
                   "load_model(path, compile=False), then compile."),
    },
    {
        "name": "load_model(Keras 2 .h5)",
        "demo": True,
        "old": "model = load_model('cats_and_dogs_small_2.h5')",
        # Today's .h5 of a compiled model, its optimizer settings written as Keras 2 wrote
        # them (`lr`, not `learning_rate`): the part of a class-era file that Keras 3 refuses.
        "setup": "import json, os, h5py\n"
                 "from keras.models import load_model\n"
                 "path = os.path.join(folder, 'cats_and_dogs_small_2.h5')\n"
                 "model.compile(optimizer=optimizers.RMSprop(learning_rate=1e-4), "
                 "loss='binary_crossentropy', metrics=['acc'])\n"
                 "model.save(path)\n"
                 "with h5py.File(path, 'r+') as file:\n"
                 "    config = json.loads(file.attrs['training_config'])\n"
                 "    settings = config['optimizer_config']['config']\n"
                 "    settings['lr'] = settings.pop('learning_rate')\n"
                 "    file.attrs['training_config'] = json.dumps(config)",
        "new": "model = keras.models.load_model('cats_and_dogs_small_2.h5', compile=False), then "
               "model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-4), ...) "
               "(catdogkit.models.load_model does this for you)",
        "why": _N_("a Keras 2 .h5 file stores its optimizer with `lr`, which Keras 3 refuses while "
                   "loading (the network itself loads): leave the optimizer out and compile again."),
    },
    {
        "name": "augmenting ImageDataGenerator",
        "old": "datagen = ImageDataGenerator(\n"
               "      rotation_range=40,\n"
               "      width_shift_range=0.2,\n"
               "      height_shift_range=0.2,\n"
               "      shear_range=0.2,\n"
               "      zoom_range=0.2,\n"
               "      horizontal_flip=True,\n"
               "      fill_mode='nearest')\n"
               "for batch in datagen.flow(x, batch_size=1):\n"
               "        break",
        # The one ImageDataGenerator that still exists, on a photo-sized batch of one.
        "setup": "from tensorflow.keras.preprocessing.image import ImageDataGenerator\n"
                 "x = np.zeros((1, 150, 150, 3), 'float32')",
        "new": "keras.Sequential([layers.RandomRotation(40 / 360), "
               "layers.RandomTranslation(0.2, 0.2), layers.RandomShear(x_factor=0.2), "
               "layers.RandomZoom(0.2), layers.RandomFlip('horizontal')])",
        "why": _N_("the legacy generator needs SciPy for every turn, shift, shear and zoom. "
                   "Layers do each of them inside the model, but with their own units: "
                   "RandomRotation takes fractions of a full turn (40 degrees = 40 / 360); "
                   "RandomTranslation takes (height, width) fractions like the shifts; "
                   "shear_range was an angle in radians in the book's Keras 2.0.8 (0.2 rad, "
                   "about 11 degrees) and is read as degrees by today's legacy generator (0.2 "
                   "degrees: almost nothing), while RandomShear takes a fraction of the image "
                   "(tan(0.2 rad) is about 0.2)."),
    },
    {
        "name": "RandomRotation(40)",
        "demo": True,
        "old": "layers.RandomRotation(40)  # rotation_range=40, moved over as is",
        "setup": "",
        "new": "layers.RandomRotation(40 / 360)",
        "why": _N_("RandomRotation's factor is a fraction of a full turn, in [-1, 1]: the "
                   "generator's 40 degrees are 40 / 360 = 0.11."),
    },
    {
        "name": "Model(model.input, ...)",
        "old": "layer_outputs = [layer.output for layer in model.layers[:8]]\n"
               "activation_model = models.Model(inputs=model.input, outputs=layer_outputs)",
        "shows": "activation_model = models.Model(inputs=model.input, outputs=layer_outputs)",
        "setup": "",
        "new": "keras.Model(model.inputs, layer_outputs) for a Sequential; better, build the "
               "network functionally from keras.Input, then keras.Model(photo, [...])",
        "why": _N_("in Keras 3, .input and .output of a Sequential fail, even for one that starts "
                   "with keras.Input or was already called; .inputs works, and a functional "
                   "model has both."),
    },
    {
        "name": "get_layer('conv2d_1')",
        "demo": True,
        # A fresh session's names are what a student who runs the class code gets.
        "old": "first_conv = model.get_layer('conv2d_1')  # Keras 2's name for the first conv",
        "setup": "keras.backend.clear_session()\n"
                 "model = models.Sequential([keras.Input((150, 150, 3))] + "
                 "[layers.Conv2D(n, (3, 3)) for n in (32, 64, 128, 128)])",
        "check": "f\"returns the convolution with {first_conv.filters} filters: the first one, "
                 "with 32, is now named {model.layers[0].name!r}\" "
                 "if first_conv is not model.layers[0] else None",
        "new": "name the layers (layers.Conv2D(32, (3, 3), name='conv1')) and get them by "
               "that name",
        "why": _N_("Keras numbers automatic names per session: Keras 2 called the first "
                   "convolution of a fresh session conv2d_1 (5.4's model summary shows "
                   "conv2d_5 ... conv2d_8), Keras 3 calls it conv2d. Code that picks a layer by "
                   "an automatic name silently gets another layer, or none."),
    },
    {
        "name": "K.mean / K.square / K.sqrt",
        "old": "loss = K.mean(layer_output[:, :, :, filter_index])",
        "setup": "layer_output, filter_index = keras.ops.ones((1, 4, 4, 8)), 0",
        "new": "keras.ops.mean(...), keras.ops.square(...), keras.ops.sqrt(...)",
        "why": _N_("backend math moved to keras.ops, the same for TensorFlow, JAX and PyTorch."),
    },
    {
        "name": "K.gradients",
        "old": "grads = K.gradients(loss, model.input)[0]",
        "setup": "loss = None",
        "new": "with tf.GradientTape() as tape: tape.watch(image); loss = ...\n"
               "grads = tape.gradient(loss, image)",
        "why": _N_("TF 2 runs eagerly: there is no graph to ask for symbolic gradients; a "
                   "GradientTape records the computation as it happens."),
    },
    {
        "name": "K.function",
        "old": "iterate = K.function([model.input], [loss, grads])",
        "setup": "loss = grads = None",
        "new": "feature_model = keras.Model(model.inputs, layer.output); "
               "call it (or a tf.function) directly",
        "why": _N_("graph functions were replaced by calling models and tf.function eagerly."),
    },
    {
        "name": "Grad-CAM: K.gradients, K.function",
        "old": "grads = K.gradients(african_elephant_output, last_conv_layer.output)[0]\n"
               "pooled_grads = K.mean(grads, axis=(0, 1, 2))\n"
               "iterate = K.function([model.input], [pooled_grads, last_conv_layer.output[0]])",
        "setup": "african_elephant_output = last_conv_layer = None",
        "new": "grad_model = keras.Model(model.inputs, [last_conv_layer.output, model.output])\n"
               "with tf.GradientTape() as tape: maps, preds = grad_model(x); score = preds[:, 386]\n"
               "weights = keras.ops.mean(tape.gradient(score, maps), axis=(0, 1, 2))",
        "why": _N_("the same two removed functions: a sub-model returns the last convolution's "
                   "maps and the prediction together, and a GradientTape gives the gradient of "
                   "the class score with respect to those maps."),
    },
]


def _namespace(folder):
    """What the class code had in scope: its imports and an un-called Sequential model."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import backend as K
    from keras import layers, models, optimizers

    def tiny_dataset(photos, batch_size):
        x = np.zeros((photos, 8, 8, 3), "float32")
        y = np.zeros((photos, 1), "float32")
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)

    with warnings.catch_warnings():
        # The input_shape= warning belongs to building the class model, not to a call tried here.
        warnings.simplefilter("ignore")
        model = models.Sequential()
        model.add(layers.Conv2D(8, (3, 3), activation="relu", input_shape=(8, 8, 3)))
        model.add(layers.MaxPooling2D((2, 2)))
        model.add(layers.Flatten())
        model.add(layers.Dense(1, activation="sigmoid"))
    return {"keras": keras, "tf": tf, "np": np, "K": K, "layers": layers, "models": models,
            "optimizers": optimizers, "model": model, "tiny_dataset": tiny_dataset,
            "folder": folder}


class _LogRecorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _recording(folder):
    """Collect Python warnings and absl log warnings: Keras warns through both.

    TensorFlow's own logger is left alone: what it says (retracing notices) depends on
    what the process ran before, not on the old call.
    """
    recorder = _LogRecorder()
    logger = logging.getLogger("absl")
    logger.addHandler(recorder)
    # Absl also prints to stderr; the recorder keeps the message, the page stays clean.
    propagate, logger.propagate = logger.propagate, False
    cwd = os.getcwd()
    os.chdir(folder)  # model.save('….h5') writes into a scratch folder, not the user's
    try:
        # Keras's progress bars are not part of the answer.
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("always")
            yield recorder.messages, caught
    finally:
        os.chdir(cwd)
        logger.removeHandler(recorder)
        logger.propagate = propagate


def _try(call, namespace, folder):
    """Run one old call; what happened, as ``outcome``, ``error_type``, ``message``."""
    with _recording(folder) as (logged, caught):
        try:
            exec(call["old"], namespace)
        except Exception as error:  # the point is to report whatever Keras raises
            return {"outcome": "error", "error_type": type(error).__name__, "message": str(error)}
        changed = eval(call["check"], namespace) if "check" in call else None
    # Distinct messages in order; the last is the one the old call itself caused
    # (earlier ones come from library internals it passed through).
    warned = list(dict.fromkeys([str(w.message) for w in caught] + logged))
    if warned:
        message = warned[-1] + (f" ({changed})" if changed else "")
        return {"outcome": "warning", "error_type": "warning", "message": message,
                "messages": warned}
    if changed:
        return {"outcome": "changed", "error_type": "silent change", "message": changed}
    return {"outcome": "ran", "error_type": None, "message": ""}


def try_old_calls(live=True):
    """Run each old call of the class code against the installed Keras.

    Returns one dict per call: ``name``, ``old`` (the code), ``outcome`` (``"error"``,
    ``"warning"``, ``"changed"`` (runs, silently doing something else) or ``"ran"``),
    ``error_type`` and ``message`` exactly as Keras raised or warned them (``messages``:
    every distinct warning, in order), ``new`` (the modern replacement), ``why``,
    ``demo`` (True when the line shows what a class-code line does today rather than
    quoting it) and ``ran_at`` (when the call ran: UTC, ISO 8601).

    ``live=False``: the results of the first run against the same Keras, TensorFlow,
    NumPy, h5py, SciPy and Python versions and this same module, kept in the view cache;
    the calls run only when there are none (or the cache is off).

    Introduced in lesson 00 (reviewing and running the class code).
    """
    if live:
        return _run_old_calls()
    from catdogkit import viewcache

    return viewcache.remember("old_calls", _run_old_calls, _versions(),
                              Path(__file__).read_text(encoding="utf-8"))


def _versions():
    """What the old calls' outcomes depend on besides this module: ``{package: version}``
    (None for a package that is not installed) and the Python version."""
    import tensorflow as tf  # its distribution has several names (tensorflow, tensorflow-cpu…)

    found = {"tensorflow": tf.__version__, "python": "%d.%d" % sys.version_info[:2]}
    for package in ("keras", "numpy", "h5py", "scipy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def _run_old_calls():
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for call in OLD_CALLS:
            namespace = _namespace(folder)
            with _recording(folder):  # what the set-up says is not the old call's doing
                exec(call["setup"], namespace)
            result = {key: call[key] for key in ("name", "old", "new", "why")}
            result["demo"] = call.get("demo", False)
            result.update(_try(call, namespace, folder))
            result["ran_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            results.append(result)
    return results


def migration_table(results=None):
    """The migration table as rows ``{"old", "now", "new", "why"}``; ``now`` is what the
    installed Keras really does (from :func:`try_old_calls`).

    Introduced in lesson 00 (reviewing and running the class code).
    """
    results = try_old_calls() if results is None else results
    shown = {call["name"]: call.get("shows") for call in OLD_CALLS}
    return [{"old": shown.get(r["name"]) or r["old"].splitlines()[0].strip(), "now": _now(r),
             "new": r["new"], "why": _(r["why"])} for r in results]


def _now(result):
    outcome = result["outcome"]
    if outcome == "ran":
        return _("runs")
    if outcome in ("warning", "changed"):
        return f"{_('warning') if outcome == 'warning' else _('runs, but')}: {result['message']}"
    return f"{result['error_type']}: {result['message']}"
