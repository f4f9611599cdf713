"""A training folder's own files: the history (atomic JSON) and Keras's backup of each epoch.

``catdogkit.training.train`` writes them; this module reads them back and decides where a
resumed run starts. ``history.json`` is written before Keras backs an epoch up and is
trimmed on resume to the epochs the backup holds, so a kill at any moment leaves no gap
and no repeat.
"""
import json
import shutil
import tempfile
import time
from pathlib import Path

import keras

from catdogkit.errors import CatDogKitError
from catdogkit.files import write_text_atomically
from catdogkit.i18n import _

HISTORY = "history.json"
BACKUP = "backup"


def load_history(out):
    """The per-epoch metrics saved in a training folder, as ``{"epoch": [...], "loss": [...], ...}``.

    Empty lists when nothing was trained there yet.
    """
    state = _read_state(out)
    if state is None:
        return {"epoch": []}
    try:
        return state["history"]
    except KeyError as error:
        raise CatDogKitError(_("{path} is damaged ({error}); train into a new folder").format(
            path=Path(out) / HISTORY, error=error)) from None


def _read_state(out):
    path = Path(out) / HISTORY
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise CatDogKitError(_("{path} is damaged ({error}); train into a new folder").format(
            path=path, error=error)) from None


def writable_folder(out):
    """Create ``out`` if needed and prove it is writable, or raise a ``CatDogKitError``.
    """
    out = Path(out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-test-"):
            pass
    except OSError as error:
        raise CatDogKitError(_("cannot write to {out} ({error}): choose another --out folder").format(
            out=out, error=error.strerror or error)) from None
    return out


# CSVLogger(append=True) cannot drop the row of an epoch whose backup never landed, so the
# history is our own file: written first, then trimmed on resume to the epochs the backup holds.
class EpochHistory(keras.callbacks.Callback):
    """Appends each epoch's metrics to history.json (atomically), before Keras backs the epoch up."""

    def __init__(self, out, history):
        super().__init__()
        self.out, self.history = out, history

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs, done = logs or {}, len(self.history["epoch"])
        self.history["epoch"].append(epoch + 1)
        # A metric missing from an epoch (no validation in an early phase) is None there,
        # so every list stays one value per epoch.
        missing = [key for key in self.history if key not in logs and key not in ("epoch", "seconds")]
        for key in [*logs, *missing]:
            values = self.history.setdefault(key, [None] * done)
            values.append(float(logs[key]) if key in logs else None)
        self.history.setdefault("seconds", []).append(round(time.monotonic() - self.started, 2))
        state = {"model": self.model.name, "input_shape": list(self.model.input_shape[1:]),
                 "epochs_done": epoch + 1, "history": self.history}
        write_text_atomically(self.out / HISTORY, json.dumps(state, indent=1))


def epoch_backup(out):
    # save_freq="epoch": Keras 3.15's BackupAndRestore records the batch of a mid-epoch save
    # but restarts that epoch at batch 0 (it restores only "epoch"), so mid-epoch saves
    # would repeat batches and save no time.
    return keras.callbacks.BackupAndRestore(out / BACKUP, save_freq="epoch",
                                            double_checkpoint=True, delete_checkpoint=False)


def _backup_epoch(out):
    """Epochs the Keras backup in ``out`` holds, or None; a torn metadata file falls back to
    the previous pair (Keras writes both files in place, not atomically)."""
    folder = out / BACKUP
    for suffix in ("", ".bkp"):
        try:
            epoch = json.loads((folder / f"training_metadata.json{suffix}").read_text())["epoch"]
        except (OSError, ValueError, KeyError):
            continue
        if suffix and (folder / "latest.weights.h5.bkp").exists():
            for name in ("latest.weights.h5", "training_metadata.json"):
                shutil.copyfile(folder / f"{name}.bkp", folder / name)
        return epoch
    return None


def resume_point(out, model, sizes=()):
    """``(history, state_file)``: what training into ``out`` continues from (state_file None: afresh).

    Raises ``CatDogKitError`` when ``out`` holds training of another model or photo size;
    ``sizes`` are other photo sizes its epochs may have been trained at (progressive resizing).
    """
    state = _read_state(out)
    if not state:
        return {"epoch": []}, None
    shapes = [list(model.input_shape[1:])] + [[size, size, model.input_shape[-1]] for size in sizes]
    if state["model"] != model.name or state["input_shape"] not in shapes:
        raise CatDogKitError(_(
            "{out} holds training of {saved} on {saved_shape} photos, not {model} on {shape}: "
            "choose another --out folder").format(
                out=out, saved=state["model"], saved_shape=tuple(state["input_shape"]), model=model.name,
                shape=tuple(model.input_shape[1:])))
    history = state["history"]
    kept = _backup_epoch(out)
    if kept is not None:
        if kept > len(history["epoch"]):
            raise CatDogKitError(_("{path} lacks epochs the backup holds; train into a new folder").format(
                path=out / HISTORY))
        return {key: values[:kept] for key, values in history.items()}, out / BACKUP / "latest.weights.h5"
    legacy = out / state.get("checkpoint", "")  # folders written before the Keras backup
    if state.get("checkpoint") and legacy.is_file():
        return history, legacy
    return {"epoch": []}, None


def restore(model, path):
    """Load weights and optimizer state saved by a training folder into ``model``."""
    if model.optimizer is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)
