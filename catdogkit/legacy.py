"""The class-manual code as it was, what the installed Keras says to it, and the way forward.

Nothing here is a stored error message: :func:`try_old_calls` runs each old call against
the Keras installed right now and reports the exception (or warning) it really raised,
next to the modern replacement and the reason for the change.

Introduced in lesson 00 (reviewing and running the class code).
"""
import contextlib
import io
import logging
import os
import tempfile
import warnings

# The class manual's training and visualisation code (Keras 2 era), kept verbatim as text.
CLASS_CODE = '''\
from keras import layers, models, optimizers
from keras.preprocessing.image import ImageDataGenerator
from keras import backend as K

model = models.Sequential()
model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(150, 150, 3)))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(64, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(128, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Conv2D(128, (3, 3), activation='relu'))
model.add(layers.MaxPooling2D((2, 2)))
model.add(layers.Flatten())
model.add(layers.Dense(512, activation='relu'))
model.add(layers.Dense(1, activation='sigmoid'))

model.compile(loss='binary_crossentropy',
              optimizer=optimizers.RMSprop(lr=1e-4),
              metrics=['acc'])

train_datagen = ImageDataGenerator(rescale=1./255)
test_datagen = ImageDataGenerator(rescale=1./255)
train_generator = train_datagen.flow_from_directory(
    train_dir, target_size=(150, 150), batch_size=20, class_mode='binary')
validation_generator = test_datagen.flow_from_directory(
    validation_dir, target_size=(150, 150), batch_size=20, class_mode='binary')

history = model.fit_generator(
    train_generator, steps_per_epoch=100, epochs=30,
    validation_data=validation_generator, validation_steps=50)
model.save('cats_and_dogs_small_1.h5')
test_loss, test_acc = model.evaluate_generator(test_generator, steps=50)

# Feature maps: a model that returns every layer's output
layer_outputs = [layer.output for layer in model.layers[:8]]
activation_model = models.Model(inputs=model.input, outputs=layer_outputs)

# Filter patterns: gradient ascent on the input
layer_output = model.get_layer('conv2d_1').output
loss = K.mean(layer_output[:, :, :, filter_index])
grads = K.gradients(loss, model.input)[0]
grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)
iterate = K.function([model.input], [loss, grads])
'''

# Each old call: the line from the class code, what to write today, and why it changed.
# ``setup`` prepares what the line needs (run first, expected to work).
OLD_CALLS = [
    {
        "name": "ImageDataGenerator",
        "old": "from keras.preprocessing.image import ImageDataGenerator",
        "setup": "",
        "new": "keras.utils.image_dataset_from_directory(train_dir, image_size=(150, 150)) "
               "+ a Rescaling layer + augmentation layers (RandomFlip, RandomRotation, RandomZoom)",
        "why": "Keras 3 dropped the NumPy generators: tf.data streams photos in parallel "
               "and augmentation layers run inside the model, on any backend.",
    },
    {
        "name": "optimizer lr=",
        "old": "optimizers.RMSprop(lr=1e-4)",
        "setup": "",
        "new": "keras.optimizers.RMSprop(learning_rate=1e-4)",
        "why": "the short alias `lr` was deprecated in TF 2.x and removed in Keras 3.",
    },
    {
        "name": "fit_generator",
        "old": "history = model.fit_generator(\n"
               "    train_generator, steps_per_epoch=100, epochs=30,\n"
               "    validation_data=validation_generator, validation_steps=50)",
        "setup": "train_generator = validation_generator = None",
        "new": "model.fit(train_ds, epochs=30, validation_data=validation_ds)",
        "why": "fit() accepts generators and tf.data datasets since TF 2.1; the *_generator "
               "twins were removed.",
    },
    {
        "name": "evaluate_generator",
        "old": "test_loss, test_acc = model.evaluate_generator(test_generator, steps=50)",
        "setup": "test_generator = None",
        "new": "model.evaluate(test_ds)",
        "why": "same as fit_generator: evaluate() and predict() take datasets directly.",
    },
    {
        "name": "steps_per_epoch=100",
        "old": "model.fit(train_ds, steps_per_epoch=100, epochs=2)",
        # 2,000 photos in batches of 32 make 63 batches, not 100: a tenth of that here.
        "setup": "train_ds = tiny_dataset(batches=6, batch_size=4)\n"
                 "model.compile(optimizer='rmsprop', loss='binary_crossentropy')",
        "new": "model.fit(train_ds, epochs=30)  # one epoch = one pass over the photos",
        "why": "TF 2 datasets are not endless like the old generators: asking for more steps "
               "than there are batches ends training early instead of looping.",
    },
    {
        "name": "save .h5",
        "old": "model.save('cats_and_dogs_small_1.h5')",
        "setup": "model.compile(optimizer='rmsprop', loss='binary_crossentropy')",
        "new": "model.save('cats_and_dogs_small_1.keras')",
        "why": "the .keras zip format keeps the architecture, weights, optimizer state and "
               "compile settings; HDF5 is kept only for old files.",
    },
    {
        "name": "Model(model.input, ...)",
        "old": "layer_outputs = [layer.output for layer in model.layers[:8]]\n"
               "activation_model = models.Model(inputs=model.input, outputs=layer_outputs)",
        "setup": "",
        "new": "photo = keras.Input((150, 150, 3)); build the network functionally from it, "
               "then keras.Model(photo, [model.get_layer(n).output for n in names])",
        "why": "a Keras 3 Sequential built with input_shape= has no symbolic input until it "
               "is called; functional models always have one.",
    },
    {
        "name": "K.mean / K.square / K.sqrt",
        "old": "loss = K.mean(layer_output[:, :, :, filter_index])",
        "setup": "layer_output, filter_index = keras.ops.ones((1, 4, 4, 8)), 0",
        "new": "keras.ops.mean(...), keras.ops.square(...), keras.ops.sqrt(...)",
        "why": "backend math moved to keras.ops, the same for TensorFlow, JAX and PyTorch.",
    },
    {
        "name": "K.gradients",
        "old": "grads = K.gradients(loss, model.input)[0]",
        "setup": "loss = None",
        "new": "with tf.GradientTape() as tape: tape.watch(image); loss = ...\n"
               "grads = tape.gradient(loss, image)",
        "why": "TF 2 runs eagerly: there is no graph to ask for symbolic gradients; a "
               "GradientTape records the computation as it happens.",
    },
    {
        "name": "K.function",
        "old": "iterate = K.function([model.input], [loss, grads])",
        "setup": "loss = grads = None",
        "new": "feature_model = keras.Model(model.inputs, layer.output); "
               "call it (or a tf.function) directly",
        "why": "graph functions were replaced by calling models and tf.function eagerly.",
    },
]


def _namespace(folder):
    """What the class code had in scope: its imports and an un-called Sequential model."""
    import keras
    import numpy as np
    import tensorflow as tf
    from keras import backend as K
    from keras import layers, models, optimizers

    def tiny_dataset(batches, batch_size):
        x = np.zeros((batches * batch_size, 8, 8, 3), "float32")
        y = np.zeros((batches * batch_size, 1), "float32")
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size)

    with warnings.catch_warnings():
        # The input_shape= warning belongs to building the class model, not to a call tried here.
        warnings.simplefilter("ignore")
        model = models.Sequential()
        model.add(layers.Conv2D(8, (3, 3), activation="relu", input_shape=(8, 8, 3)))
        model.add(layers.MaxPooling2D((2, 2)))
        model.add(layers.Flatten())
        model.add(layers.Dense(1, activation="sigmoid"))
    return {"keras": keras, "tf": tf, "K": K, "layers": layers, "models": models,
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


def try_old_calls():
    """Run each old call of the class code against the installed Keras.

    Returns one dict per call: ``name``, ``old`` (the code), ``outcome`` (``"error"``,
    ``"warning"`` or ``"ran"``), ``error_type`` and ``message`` exactly as Keras raised or
    warned them (``messages``: every distinct warning, in order), ``new`` (the modern
    replacement) and ``why``.

    Introduced in lesson 00 (reviewing and running the class code).
    """
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for call in OLD_CALLS:
            namespace = _namespace(folder)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(call["setup"], namespace)
            result = {key: call[key] for key in ("name", "old", "new", "why")}
            with _recording(folder) as (logged, caught):
                try:
                    exec(call["old"], namespace)
                except Exception as error:  # the point is to report whatever Keras raises
                    result.update(outcome="error", error_type=type(error).__name__,
                                  message=str(error))
                else:
                    # Distinct messages in order; the last is the one the old call itself
                    # caused (earlier ones come from library internals it passed through).
                    warned = list(dict.fromkeys([str(w.message) for w in caught] + logged))
                    if warned:
                        result.update(outcome="warning", error_type="warning",
                                      message=warned[-1], messages=warned)
                    else:
                        result.update(outcome="ran", error_type=None, message="")
            results.append(result)
    return results


def migration_table(results=None):
    """The migration table as rows ``{"old", "now", "new", "why"}``; ``now`` is what the
    installed Keras really does (from :func:`try_old_calls`).

    Introduced in lesson 00 (reviewing and running the class code).
    """
    results = try_old_calls() if results is None else results
    return [{"old": r["old"].splitlines()[-1].strip(),
             "now": {"ran": "runs unchanged", "warning": f"warning: {r['message']}"}.get(
                 r["outcome"], f"{r['error_type']}: {r['message']}"),
             "new": r["new"], "why": r["why"]} for r in results]
