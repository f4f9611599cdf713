"""Training that survives a disconnect: a Keras backup every epoch, resume, saved history.

``train`` is the one call lessons, the command line and the benchmarks use. Each
completed epoch leaves in ``out``: ``history.json`` (per-epoch metrics, written
atomically) and, in ``backup/``, Keras's ``BackupAndRestore`` state (weights, optimizer
state, epoch). ``model.keras`` is written when ``train`` returns. A process killed at
any moment resumes after the last epoch the backup holds, with no gap and no repeat.
"""
import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from catdogkit import models, recipes, runtime
from catdogkit.checkpoints import (  # noqa: F401  (load_history, writable_folder: the kit's API)
    BACKUP, HISTORY, EpochHistory, epoch_backup, load_history, restore, resume_point,
    writable_folder)
from catdogkit.constants import CLASS_NAMES
from catdogkit.data.arrays import labelled_batches
from catdogkit.errors import CatDogKitError
from catdogkit.files import write_atomically
from catdogkit.i18n import _
from catdogkit.viewcache import remember

MODEL = models.MODEL_FILE

# What lesson_model trains when asked for no particular number of epochs: enough for a
# clear gap between the two networks on the lesson sample, quick on a laptop CPU. After 2
# epochs the class network still sits on the decision boundary (71.5 % after epoch 1, then
# 52 % after epoch 2 in one cold-cache run); by epochs 4-5 it is reliably past 70 %.
LESSON_EPOCHS = {"original": 5, "improved": 3}
LESSON_SEED = 1337
#: The start of lesson 02's training folder's name (under :func:`runs_dir`), which
#: :func:`lesson02_run` ends with the key of the photos; and its epochs: EPOCHS, then MORE_EPOCHS.
LESSON02_RUN = "lesson02_original_cnn"
LESSON02_EPOCHS, LESSON02_MORE_EPOCHS = 6, 2


def runs_dir(*parts):
    """Where training folders go: Google Drive when it is mounted in Colab, else the cache.
    """
    return runtime.drive_dir("runs", *parts) or runtime.cache_dir("runs", *parts)


def lesson_models_dir(*parts):
    """Where :func:`lesson_model` keeps trained lesson models: Google Drive when it is mounted
    in Colab (so a new session reuses them), else the cache."""
    return runtime.drive_dir("models", *parts) or runtime.cache_dir("models", *parts)


@dataclass(frozen=True)
class LessonRun:
    """Lesson 02's training: its ``folder`` and how many ``epochs``, then ``more_epochs``.

    Introduced in lesson 02 (building a CNN).
    """

    folder: Path
    epochs: int
    more_epochs: int


def lesson02_run(data=None):
    """Lesson 02's run folder (under :func:`runs_dir`) for the photos ``data``, and its
    epochs (6, then 2 more).

    ``data`` is a photo folder (default: what :func:`catdogkit.data.find_data` finds).
    The folder's name ends with a key of those photos (their names and sizes, as
    :func:`lesson_model`'s folders), so a run trained on other photos is never resumed
    on these: each photo set has its own run, and the same set resumes its own.

    Introduced in lesson 02 (building a CNN).
    """
    from catdogkit.data import find_data
    root = find_data(data, announce=lambda _message: None).root  # a clear error for a wrong one
    folder = runs_dir(f"{LESSON02_RUN}-{_data_key(root)}")
    return LessonRun(folder, LESSON02_EPOCHS, LESSON02_MORE_EPOCHS)


def choose_strategy():
    """The ``tf.distribute`` strategy for the hardware present: TPU, several GPUs, else the default.
    """
    if runtime.in_colab() and ("COLAB_TPU_ADDR" in os.environ or "TPU_NAME" in os.environ):
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


class _EpochLine(keras.callbacks.Callback):
    """One line per epoch, for terminals, logs and notebooks alike."""

    def __init__(self, total):
        super().__init__()
        self.total = total

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        metrics = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items()
                            if k != "learning_rate")
        print(_("epoch {epoch}/{total}  {metrics}  ({seconds:.0f} s)").format(
            epoch=epoch + 1, total=self.total, metrics=metrics,
            seconds=time.monotonic() - self.started), flush=True)


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
        raise CatDogKitError(_("the photos have {count} class(es) {names}: the "
                               "networks tell two classes apart (cats/ and dogs/ folders)").format(
            count=len(names), names=list(names)))
    return data.train, data.validation


def check_image_size(model, dataset):
    """Raise a ``CatDogKitError`` when the dataset's photos are not the size the model takes.
    """
    photos = getattr(dataset, "element_spec", None)
    shape = tuple(photos[0].shape[1:3]) if isinstance(photos, tuple) else None
    wanted = tuple(model.input_shape[1:3])
    if shape and None not in shape and shape != wanted:
        raise CatDogKitError(
            _("the photos are {height}x{width} but {model} takes {wanted_height}x{wanted_width}: "
              "load them with image_size={wanted_height}").format(
                height=shape[0], width=shape[1], model=model.name, wanted_height=wanted[0],
                wanted_width=wanted[1]))


def _under(strategy, model):
    """``model`` itself, or a copy whose variables live under a multi-device ``strategy``."""
    if strategy.num_replicas_in_sync == 1 and not isinstance(strategy, tf.distribute.TPUStrategy):
        return model
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / MODEL)
        with strategy.scope():
            return keras.saving.load_model(Path(tmp) / MODEL)


def _copy_state(source, target):
    """Weights and optimizer variables of ``source`` into ``target`` (same architecture)."""
    target.set_weights(source.get_weights())
    if target.optimizer is not None and source.optimizer is not None:
        if not target.optimizer.built:
            target.optimizer.build(target.trainable_variables)
        for mine, theirs in zip(target.optimizer.variables, source.optimizer.variables):
            mine.assign(theirs)


def train(model, data, *, epochs, out=None, callbacks=None, strategy=None, resume=True,
          sizes=(), validate=True, announce=print, planned=None):
    """Train ``model`` to ``epochs`` epochs in total, backing every epoch up into ``out``.

    ``data`` is what ``catdogkit.data.load_datasets`` returns, a ``(train, validation)``
    pair of ``tf.data`` datasets, or a photo folder. ``out`` defaults to
    ``runs_dir(model.name)`` (Google Drive when mounted in Colab). When ``out`` already
    holds epochs of this model, training resumes after the last completed one with its
    weights, optimizer state and history; asking for no more epochs than are done just
    loads them. ``model`` ends up holding the trained weights. ``callbacks=None`` prints
    one line per epoch; a list of Keras callbacks (e.g. a ``TrainingMonitor``) replaces
    that report. Training runs under ``strategy`` (default: :func:`choose_strategy`).
    ``resume=False`` starts afresh even when ``out`` holds epochs. ``sizes`` are other
    photo sizes the epochs in ``out`` may have been trained at (:func:`train_in_phases`);
    ``validate=False`` skips the validation photos (their metrics are None for those epochs).
    ``announce`` says where training resumes from, or that ``out`` already holds all
    ``planned`` epochs (default ``epochs``; :func:`train_in_phases` gives its whole plan's)
    and nothing is left to train (default: print). Returns the history dict.

    Introduced in lesson 02 (building a CNN).
    """
    strategy = strategy or choose_strategy()
    out = writable_folder(out if out is not None else runs_dir(model.name))
    train_ds, validation_ds = _splits(data, model.input_shape[1])
    check_image_size(model, train_ds)
    if not resume:
        shutil.rmtree(out / BACKUP, ignore_errors=True)  # else BackupAndRestore would restore it
    history, saved = resume_point(out, model, sizes) if resume else ({"epoch": []}, None)
    working = _under(strategy, model)
    done = len(history["epoch"])
    if done >= (planned or epochs):
        announce(_("{out} already holds {done} epochs: nothing left to train").format(done=done, out=out))
    elif done:
        announce(_("resuming from epoch {done} saved in {out}").format(done=done, out=out))
    if saved is not None and (done >= epochs or saved.suffix == ".keras"):
        restore(working, saved)  # otherwise BackupAndRestore restores it as fit begins
    if done < epochs:
        report = [_EpochLine(epochs)] if callbacks is None else list(callbacks)
        working.fit(train_ds, validation_data=validation_ds if validate else None, epochs=epochs,
                    initial_epoch=done,
                    shuffle=False,  # the tf.data pipeline shuffles; Keras would warn and ignore it
                    callbacks=[EpochHistory(out, history), epoch_backup(out), *report], verbose=0)
        working._initial_epoch = None  # BackupAndRestore sets it and Keras never clears it
    if working is not model:
        _copy_state(working, model)
    write_atomically(out / MODEL, model.save)
    return history


def check_two_classes(datasets, root):
    """Refuse photos in ``root`` (loaded as ``datasets``) without exactly two class folders:
    the networks answer one question, cat or dog. Used by :func:`train_in_phases` and
    ``catdogkit evaluate``."""
    if len(datasets.class_names) != 2:
        raise CatDogKitError(_("{root} has {n} class folder(s) {names}: the networks need two, "
                               "e.g. cats/ and dogs/").format(
            root=root, n=len(datasets.class_names), names=list(datasets.class_names)))


def train_in_phases(name, root, phases, *, out, seed=1337, batch_size=32, cache=True,
                    callbacks=None, resume=True, leave_out=(), announce=None):
    """Train network ``name`` from scratch on the photos in ``root``, phase after phase, as
    its recipe does (:data:`catdogkit.recipes.RECIPES`, with the recipe's augmentation).

    ``phases`` is ``[(photo size, epochs), ...]`` (:func:`catdogkit.recipes.phases`): each
    phase trains a network built at its photo size, starting from the weights, optimizer
    state and learning-rate schedule where the previous phase left them (the networks with
    global average pooling have the same weights at every size), so one schedule spans all
    phases. Only the last phase measures the validation photos after each epoch, at the final
    size (the earlier epochs' validation figures are None): that saves about 7 % of the
    improved recipe's time. Backups, resuming (``resume=False``: afresh) and ``history.json``
    work as in :func:`train`, across phases; ``leave_out`` goes to
    :func:`catdogkit.models.build`. A callback that stops training (a time budget) ends the
    plan there. ``announce`` hears, once, about unusable photos (left out) and where training
    resumes from, or that the whole plan is trained already (default: print;
    ``lambda _message: None``: not a word). A folder without
    exactly two classes is refused, naming it. Returns ``(model, datasets, history)``: the
    network at the size of the last phase trained, its photos, and the history.
    ``catdogkit train`` and ``benchmarks/accuracy.py`` train this way.
    """
    from catdogkit.data import load_datasets
    total = sum(epochs for _size, epochs in phases)
    sizes = [size for size, _epochs in phases]
    report = [_EpochLine(total)] if callbacks is None else list(callbacks)
    announce = announce or print
    done = 0
    for size, epochs in phases:
        print(_("epochs {first}-{last} on {size}x{size} px photos").format(
            first=done + 1, last=done + epochs, size=size), flush=True)
        datasets = load_datasets(root, image_size=size, batch_size=batch_size, seed=seed,
                                 cache=cache or None, announce=announce)
        check_two_classes(datasets, root)
        model = models.build(name, (size, size, 3), epochs=total, seed=seed, leave_out=leave_out,
                             augmentation_amounts=recipes.RECIPES[name].get("augmentation"),
                             steps_per_epoch=int(datasets.train.cardinality()))
        history = train(model, datasets, epochs=done + epochs, out=out, callbacks=report,
                        sizes=sizes, resume=resume or done > 0,  # later phases continue the first
                        validate=done + epochs == total, announce=announce, planned=total)
        done += epochs
        announce = _silent  # said once: the later phases continue where this one ended
        if len(history["epoch"]) < done:  # a callback stopped it
            break
    return model, datasets, history


def _silent(_message):
    pass


def evaluate(model, dataset, class_names=None, *, flip=False):
    """Accuracy, loss, photo count and per-class counts of ``model`` on a labelled dataset.

    Returns ``{"accuracy", "loss", "n", "per_class": {name: {"n", "correct", "accuracy"}}}``;
    the loss is plain binary cross-entropy (no label smoothing), comparable between
    models. ``class_names`` default to ``("cats", "dogs")``; pass the data's own
    (``Datasets.class_names``). ``flip=True`` averages each prediction with the mirrored
    photo's (test-time augmentation, see ``catdogkit.models.predict``). A dataset from
    ``catdogkit.data.load_datasets`` is evaluated once per weights; the figures are then
    read from the view cache.

    Introduced in lesson 02 (building a CNN).
    """
    check_image_size(model, dataset)
    class_names = list(class_names or CLASS_NAMES)
    return remember("evaluate", lambda: _evaluate(model, dataset, class_names, flip),
                    model, dataset, class_names, flip)


def _evaluate(model, dataset, class_names, flip):
    accuracy, loss = keras.metrics.BinaryAccuracy(), keras.metrics.BinaryCrossentropy()
    per_class = [(keras.metrics.BinaryAccuracy(), keras.metrics.Sum()) for _ in class_names]
    for images, labels in labelled_batches(dataset):
        y = labels.astype("float32")
        p = models.predict_batch(model, images, flip=flip)
        accuracy.update_state(y, p)
        loss.update_state(y[:, None], p[:, None])
        for index, (right, count) in enumerate(per_class):
            mask = (y == index).astype("float32")
            right.update_state(y, p, sample_weight=mask)
            count.update_state(mask)
    n = int(sum(float(count.result()) for _, count in per_class))
    if n == 0:
        raise CatDogKitError(_("no photos to evaluate on"))
    counts = {}
    for name, (right, count) in zip(class_names, per_class):
        total = int(float(count.result()))
        share = float(right.result()) if total else float("nan")
        counts[name] = {"n": total, "correct": round(share * total) if total else 0,
                        "accuracy": share}
    return {"accuracy": float(accuracy.result()), "loss": float(loss.result()), "n": n,
            "per_class": counts}


def _data_key(root):
    # Names and sizes, not dates: Colab draws the sample and extracts archives afresh in
    # every session, and a model kept on Drive must still be found by the next one.
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            digest.update(f"{path.relative_to(root)}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:12]


def _finished(folder, epochs):
    """True when ``folder`` holds ``epochs`` epochs and the model.keras written after them."""
    model, history = folder / MODEL, folder / HISTORY
    return (model.exists() and history.exists() and len(load_history(folder)["epoch"]) >= epochs
            and model.stat().st_mtime_ns >= history.stat().st_mtime_ns)


def lesson_model(name="original", data=None, *, epochs=None, image_size=150, seed=LESSON_SEED,
                 callbacks=None):
    """The lesson's trained ``"original"`` or ``"improved"`` network, trained once and kept.

    ``data`` is a photo folder (default: the embedded lesson sample). The trained model
    is kept in :func:`lesson_models_dir` (your Google Drive when it is mounted in Colab,
    else the cache) under a key made of the model name, the photos, the epochs, the
    image size and the seed, so a second lesson, widget, Voila page or Colab session gets
    it at once; a training interrupted half-way resumes. ``callbacks`` as in :func:`train`.

    Introduced in lesson 03 (visualizing feature maps).
    """
    from catdogkit.data import load_datasets
    if name not in LESSON_EPOCHS:
        raise CatDogKitError(_("unknown lesson model {name!r}: use 'original' or 'improved'").format(name=name))
    if data is None:
        from catdogkit.sample import make_sample
        data = make_sample()
    root = Path(data)
    epochs = LESSON_EPOCHS[name] if epochs is None else int(epochs)
    folder = lesson_models_dir(f"{name}-{_data_key(root)}-e{epochs}-s{image_size}-seed{seed}")
    on_drive = runtime.drive_mounted()
    where = _("your Google Drive, for every later session") if on_drive else _("the cache")
    if _finished(folder, epochs):
        if on_drive:
            print(_("The lesson's {name} network comes from {where}: {folder}").format(
                name=name, where=where, folder=folder), flush=True)
        return models.load_model(folder)
    print(_("Training the lesson's {name} network for {epochs} epochs, once; it is kept in "
            "{where}: {folder}").format(name=name, epochs=epochs, where=where, folder=folder),
          flush=True)
    datasets = load_datasets(root, image_size=image_size, seed=seed)
    model = models.build(name, (image_size, image_size, 3), epochs=epochs,
                         steps_per_epoch=int(datasets.train.cardinality()), seed=seed)
    train(model, datasets, epochs=epochs, out=folder, callbacks=callbacks)
    return model


def prepare_lessons(data=None, *, callbacks=None):
    """Train, once, everything the lessons train, so that every lesson opens quickly.

    The class network and the improved network of lessons 03-07 (:func:`lesson_model`)
    and lesson 02's own run (:func:`lesson02_run`), on ``data`` (default: what
    :func:`catdogkit.data.find_data` finds). What is already kept is loaded, not trained
    again. For servers (``catdogkit serve``, a JupyterHub) before students arrive.
    Returns ``{what: model name or folder}``.
    """
    from catdogkit.data import find_data, load_datasets
    root = find_data(data, announce=lambda _message: None).root
    done = {name: lesson_model(name, root, callbacks=callbacks).name for name in LESSON_EPOCHS}
    run = lesson02_run(root)
    train(models.build("original"), load_datasets(root), epochs=run.epochs + run.more_epochs,
          out=run.folder, callbacks=callbacks)
    done["lesson 02"] = str(run.folder)
    return done
