"""Training that survives a disconnect: checkpoints every epoch, resume, saved history.

``train`` is the one call lessons, the command line and the benchmarks use. Each
completed epoch leaves in ``out``: ``checkpoint-NNNN.keras`` (weights and optimizer
state) and ``history.json`` (per-epoch metrics and the name of that checkpoint). The
history file is written last and atomically, so it is the commit point: a process killed
at any moment resumes from the last epoch the history names, with no gap and no repeat.
"""
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from catdogkit import runtime
from catdogkit.errors import CatDogKitError

HISTORY = "history.json"
MODEL = "model.keras"
DRIVE = Path("/content/drive/MyDrive")

# What lesson_model trains when asked for no particular number of epochs: enough for a
# clear gap between the two networks on the lesson sample, quick on a laptop CPU. After 2
# epochs the class network still sits on the decision boundary (71.5 % after epoch 1, then
# 52 % after epoch 2 in one cold-cache run); by epochs 4-5 it is reliably past 70 %.
LESSON_EPOCHS = {"original": 5, "improved": 3}
LESSON_SEED = 1337


def runs_dir(*parts):
    """Where training folders go: Google Drive when it is mounted in Colab, else the cache.

    Introduced in lesson 02 (building a CNN).
    """
    if runtime.in_colab() and DRIVE.is_dir():
        path = DRIVE.joinpath("catdogkit", "runs", *parts)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return runtime.cache_dir("runs", *parts)


def choose_strategy():
    """The ``tf.distribute`` strategy for the hardware present: TPU, several GPUs, else the default.

    Introduced in lesson 02 (building a CNN).
    """
    if runtime.in_colab() and ("COLAB_TPU_ADDR" in os.environ or "TPU_NAME" in os.environ):
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def load_history(out):
    """The per-epoch metrics saved in a training folder, as ``{"epoch": [...], "loss": [...], ...}``.

    Empty lists when nothing was trained there yet.

    Introduced in lesson 02 (building a CNN).
    """
    path = Path(out) / HISTORY
    if not path.exists():
        return {"epoch": []}
    try:
        return json.loads(path.read_text())["history"]
    except (ValueError, KeyError) as error:
        raise CatDogKitError(f"{path} is damaged ({error}); train into a new folder") from None


def model_file(out):
    """The newest model in a training folder (``model.keras`` or the last checkpoint), or None.

    Introduced in lesson 02 (building a CNN).
    """
    out = Path(out)
    if (out / MODEL).exists():
        return out / MODEL
    state = _read_state(out)
    if state and (out / state["checkpoint"]).exists():
        return out / state["checkpoint"]
    return None


def _read_state(out):
    path = Path(out) / HISTORY
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise CatDogKitError(f"{path} is damaged ({error}); train into a new folder") from None


def _write_atomically(path, write):
    # Write beside the target, then rename: a reader (or a resumed run) never sees half a file.
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def writable_folder(out):
    """Create ``out`` if needed and prove it is writable, or raise a ``CatDogKitError``.

    Introduced in lesson 02 (building a CNN).
    """
    out = Path(out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as error:
        raise CatDogKitError(f"cannot write to {out} ({error.strerror or error}): "
                             "choose another --out folder") from None
    return out


class _Checkpoint(keras.callbacks.Callback):
    """Commits one epoch: the checkpoint file first, then history.json naming it."""

    def __init__(self, out, history):
        super().__init__()
        self.out, self.history = out, history

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        self.history["epoch"].append(done)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self.history.setdefault("seconds", []).append(round(time.time() - self.started, 2))
        name = f"checkpoint-{done:04d}.keras"
        _write_atomically(self.out / name, self.model.save)
        state = {"model": self.model.name, "input_shape": list(self.model.input_shape[1:]),
                 "epochs_done": done, "checkpoint": name, "history": self.history}
        _write_atomically(self.out / HISTORY,
                          lambda tmp: Path(tmp).write_text(json.dumps(state, indent=1)))
        for old in self.out.glob("checkpoint-*.keras"):
            if old.name != name:
                old.unlink()


class _EpochLine(keras.callbacks.Callback):
    """One line per epoch, for terminals and logs."""

    def __init__(self, total):
        super().__init__()
        self.total = total

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()
                            if k != "learning_rate")
        print(f"epoch {epoch + 1}/{self.total}  {metrics}  ({time.time() - self.started:.0f} s)",
              flush=True)


def _in_notebook():
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return bool(shell) and getattr(shell, "kernel", None) is not None


def _progress_callbacks(progress, epochs):
    if progress == "auto":
        progress = "widget" if _in_notebook() else "lines"
    if progress == "widget":
        from catdogkit.widgets import TrainingMonitor
        from IPython.display import display
        monitor = TrainingMonitor()
        display(monitor.widget)
        return [monitor]
    if progress == "lines":
        return [_EpochLine(epochs)]
    if progress in (None, False, "none"):
        return []
    raise CatDogKitError(f"progress={progress!r}: use 'auto', 'widget', 'lines' or None")


def _splits(data, image_size):
    """(train, validation) datasets from a Datasets object, a pair, or a folder path."""
    if isinstance(data, (str, os.PathLike)):
        from catdogkit.data import load_datasets
        data = load_datasets(data, image_size=image_size)
    if isinstance(data, (tuple, list)):
        train, validation = data
        return train, validation
    names = getattr(data, "class_names", None)
    if names is not None and len(names) != 2:
        raise CatDogKitError(f"the photos have {len(names)} class(es) {list(names)}: the "
                             "networks tell two classes apart (cats/ and dogs/ folders)")
    return data.train, data.validation


def check_image_size(model, dataset):
    """Raise a ``CatDogKitError`` when the dataset's photos are not the size the model takes.

    Introduced in lesson 02 (building a CNN).
    """
    photos = getattr(dataset, "element_spec", None)
    shape = tuple(photos[0].shape[1:3]) if isinstance(photos, tuple) else None
    wanted = tuple(model.input_shape[1:3])
    if shape and None not in shape and shape != wanted:
        raise CatDogKitError(
            f"the photos are {shape[0]}x{shape[1]} but {model.name} takes {wanted[0]}x{wanted[1]}: "
            f"load them with image_size={wanted[0]}")


def _copy_state(source, target):
    """Weights and optimizer variables of ``source`` into ``target`` (same architecture)."""
    target.set_weights(source.get_weights())
    if target.optimizer is not None and source.optimizer is not None:
        if not target.optimizer.built:
            target.optimizer.build(target.trainable_variables)
        for mine, theirs in zip(target.optimizer.variables, source.optimizer.variables):
            mine.assign(theirs)


def _reload(path, strategy):
    with strategy.scope():
        return keras.saving.load_model(path)


def train(model, data, *, epochs, out=None, progress="auto", strategy=None, resume=True,
          callbacks=()):
    """Train ``model`` to ``epochs`` epochs in total, checkpointing every epoch into ``out``.

    ``data`` is what ``catdogkit.data.load_datasets`` returns, a ``(train, validation)``
    pair of ``tf.data`` datasets, or a photo folder. ``out`` defaults to
    ``runs_dir(model.name)`` (Google Drive when mounted in Colab). When ``out`` already
    holds epochs of this model, training resumes after the last completed one with its
    weights, optimizer state and history; asking for no more epochs than are done just
    loads them. ``model`` ends up holding the trained weights. Progress is a widget in a
    notebook, one line per epoch in a terminal (``progress="auto"``). Training runs under
    ``strategy`` (default: :func:`choose_strategy`); extra Keras ``callbacks`` run after
    the checkpoint. ``resume=False`` starts afresh even when ``out`` holds epochs.
    Returns the history dict.

    Introduced in lesson 02 (building a CNN).
    """
    strategy = strategy or choose_strategy()
    out = writable_folder(out if out is not None else runs_dir(model.name))
    train_ds, validation_ds = _splits(data, model.input_shape[1])
    check_image_size(model, train_ds)
    history = {"epoch": []}
    working = model
    state = _read_state(out) if resume else None
    if state:
        if state["model"] != model.name or state["input_shape"] != list(model.input_shape[1:]):
            raise CatDogKitError(
                f"{out} holds training of {state['model']} on {tuple(state['input_shape'])} "
                f"photos, not {model.name} on {tuple(model.input_shape[1:])}: "
                "choose another --out folder")
        history = state["history"]
        working = _reload(out / state["checkpoint"], strategy)
        print(f"resuming from epoch {state['epochs_done']} saved in {out}", flush=True)
    elif strategy.num_replicas_in_sync > 1 or isinstance(strategy, tf.distribute.TPUStrategy):
        # Variables must be created under the strategy: rebuild the model there.
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / MODEL)
            working = _reload(Path(tmp) / MODEL, strategy)
    done = len(history["epoch"])
    if done < epochs:
        working.fit(train_ds, validation_data=validation_ds, epochs=epochs, initial_epoch=done,
                    shuffle=False,  # the tf.data pipeline shuffles; Keras would warn and ignore it
                    callbacks=[_Checkpoint(out, history), *callbacks,
                               *_progress_callbacks(progress, epochs)], verbose=0)
    if working is not model:
        _copy_state(working, model)
    _write_atomically(out / MODEL, model.save)
    return history


def evaluate(model, dataset, class_names=None, *, flip=False):
    """Accuracy, loss, photo count and per-class counts of ``model`` on a labelled dataset.

    Returns ``{"accuracy", "loss", "n", "per_class": {name: {"n", "correct", "accuracy"}}}``;
    the loss is plain binary cross-entropy (no label smoothing), comparable between
    models. ``flip=True`` averages each prediction with the mirrored photo's (test-time
    augmentation, see ``catdogkit.models.predict``).

    Introduced in lesson 02 (building a CNN).
    """
    from catdogkit.models import predict
    check_image_size(model, dataset)
    class_names = list(class_names or ["cats", "dogs"])
    labels, probs = [], []
    for images, batch_labels in dataset:
        probs.append(predict(model, images, flip=flip))
        labels.append(np.asarray(batch_labels).reshape(-1))
    if not labels:
        raise CatDogKitError("no photos to evaluate on")
    y = np.concatenate(labels).astype(int)
    p = np.clip(np.concatenate(probs).reshape(-1), 1e-7, 1 - 1e-7)
    correct = (p > 0.5).astype(int) == y
    per_class = {}
    for index, name in enumerate(class_names):
        mask = y == index
        per_class[name] = {"n": int(mask.sum()), "correct": int(correct[mask].sum()),
                           "accuracy": float(correct[mask].mean()) if mask.any() else math.nan}
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return {"accuracy": float(correct.mean()), "loss": float(loss), "n": int(len(y)),
            "per_class": per_class}


def _data_key(root):
    # The cache key follows the photos: their names, sizes and dates, not just the folder.
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:12]


def lesson_model(name="original", data=None, *, epochs=None, image_size=150, seed=LESSON_SEED,
                 progress="auto"):
    """The lesson's trained ``"original"`` or ``"improved"`` network, trained once and cached.

    ``data`` is a photo folder (default: the embedded lesson sample). The trained model
    is kept in ``cache_dir("models", ...)`` under a key made of the model name, the
    photos, the epochs, the image size and the seed, so a second lesson, widget or Voila
    page gets it at once; a training interrupted half-way resumes.

    Introduced in lesson 02 (building a CNN).
    """
    from catdogkit import models
    from catdogkit.data import load_datasets
    if name not in LESSON_EPOCHS:
        raise CatDogKitError(f"unknown lesson model {name!r}: use 'original' or 'improved'")
    if data is None:
        from catdogkit.sample import make_sample
        data = make_sample()
    root = Path(data)
    epochs = LESSON_EPOCHS[name] if epochs is None else int(epochs)
    key = f"{name}-{_data_key(root)}-e{epochs}-s{image_size}-seed{seed}"
    folder = runtime.cache_dir("models", key)
    if (folder / MODEL).exists():
        history = load_history(folder)
        if len(history["epoch"]) >= epochs:
            return models.load_model(folder / MODEL)
    datasets = load_datasets(root, image_size=image_size, seed=seed)
    keras.utils.set_random_seed(seed)
    shape = (image_size, image_size, 3)
    if name == "original":
        model = models.original_cnn(shape)
    else:
        steps = epochs * max(1, int(datasets.train.cardinality()))
        model = models.improved_cnn(shape, total_steps=steps, seed=seed)
    train(model, datasets, epochs=epochs, out=folder, progress=progress)
    return model
