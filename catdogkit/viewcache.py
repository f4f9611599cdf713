"""Expensive views computed once per (model weights, photos, parameters) and kept on disk.

A lesson page evaluates networks, collects dense activations, draws filter patterns…
Every fresh kernel (each Voila page view, each student's notebook) would compute the
same numbers again. :func:`remember` keys a result by a fingerprint of everything it
depends on, the weights of the networks included, so retraining a network changes the
key and the old result is simply never read again; results are written atomically into
``views/`` (:func:`views_dir`), so two kernels filling the same entry at once are fine.
In Colab with Google Drive mounted that folder is on Drive, beside the lesson models, so
a student's next session reads the views instead of computing them again.

The cache holds NumPy arrays (or tuples of them) and JSON values, never pickles: reading
it cannot run code. ``CATDOGKIT_VIEW_CACHE=0`` turns it off (a benchmark measuring the
computation itself, or a user who wants every number fresh).

Introduced in lesson 04 (dense layers).
"""
import hashlib
import json
import os

import numpy as np

from catdogkit.files import write_atomically
from catdogkit.runtime import cache_dir, drive_dir

#: Environment variable that turns the view cache off when set to ``0``.
VIEW_CACHE_ENV = "CATDOGKIT_VIEW_CACHE"
#: Bumped when the stored format changes, so old entries are never misread.
FORMAT = 1


class Unkeyable(TypeError):
    """A key part that has no fingerprint (e.g. a ``tf.data`` stream the kit did not make)."""


def enabled():
    """Whether results are kept and reused (``$CATDOGKIT_VIEW_CACHE`` is not ``0``)."""
    return os.environ.get(VIEW_CACHE_ENV, "1") != "0"


def views_dir(*parts):
    """Where the views are kept: ``catdogkit/views`` on Google Drive when it is mounted in
    Colab (:func:`catdogkit.runtime.drive_dir`), else ``views`` in the kit's cache."""
    return drive_dir("views", *parts) or cache_dir("views", *parts)


def fingerprint(*parts):
    """A SHA-256 hex digest of ``parts``: networks (their weights), arrays, datasets that
    know where they came from, numbers, strings, and lists, tuples and dicts of these."""
    digest = hashlib.sha256(f"catdogkit-views-{FORMAT}".encode())
    for part in parts:
        _update(digest, part)
    return digest.hexdigest()


def _update(digest, part):
    if hasattr(part, "get_weights") and hasattr(part, "layers"):  # a Keras model
        digest.update(f"model:{part.name}:{tuple(part.input_shape)}".encode())
        for weight in part.weights:
            value = np.ascontiguousarray(weight.numpy())
            digest.update(f"{weight.path}:{value.dtype}:{value.shape}".encode())
            digest.update(value.tobytes())
    elif hasattr(part, "catdogkit_source"):  # a stream made by catdogkit.data.load_datasets
        digest.update(f"dataset:{part.catdogkit_source}".encode())
    elif hasattr(part, "element_spec"):  # any other tf.data stream: its content is unknown
        raise Unkeyable("a tf.data stream not made by catdogkit.data.load_datasets")
    elif isinstance(part, np.ndarray) or (hasattr(part, "numpy") and hasattr(part, "dtype")):
        value = np.ascontiguousarray(np.asarray(part))
        digest.update(f"array:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    elif isinstance(part, (list, tuple)):
        digest.update(f"seq{len(part)}(".encode())
        for item in part:
            _update(digest, item)
        digest.update(b")")
    elif isinstance(part, dict):
        digest.update(f"dict{len(part)}(".encode())
        for key in sorted(part, key=str):
            _update(digest, str(key))
            _update(digest, part[key])
        digest.update(b")")
    elif part is None or isinstance(part, (bool, int, float, str, range)):
        digest.update(f"{type(part).__name__}:{part!r}".encode())
    else:
        raise Unkeyable(f"cannot fingerprint a {type(part).__name__}: give arrays, models, "
                        "datasets from catdogkit.data, numbers or strings")


def remember(kind, compute, *key):
    """``compute()``'s result, computed once per ``key`` and then read from disk.

    ``kind`` names the view (a folder of the cache, e.g. ``"dense_activations"``);
    ``key`` is everything the result depends on (see :func:`fingerprint`). The result
    must be an array, a tuple of arrays or a JSON value; it comes back the same way.
    A key that cannot be fingerprinted (a stream the kit did not make) is computed, not kept.
    """
    if not enabled():
        return compute()
    try:
        path = views_dir(kind) / f"{fingerprint(kind, *key)}.npz"
    except Unkeyable:
        return compute()
    if path.is_file():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError):  # a damaged entry is computed again
            pass
    result = compute()
    write_atomically(path, lambda tmp: _save(tmp, result))
    return result


def _save(path, result):
    if isinstance(result, np.ndarray):
        arrays, layout = {"a0": result}, "array"
    elif isinstance(result, tuple) and all(isinstance(item, np.ndarray) for item in result):
        arrays, layout = {f"a{i}": item for i, item in enumerate(result)}, "tuple"
    else:
        arrays, layout = {}, json.dumps(result)
    with open(path, "wb") as out:
        np.savez(out, layout=np.frombuffer(layout.encode(), dtype=np.uint8), **arrays)


def _load(path):
    with np.load(path, allow_pickle=False) as stored:
        layout = bytes(stored["layout"]).decode()
        if layout == "array":
            return stored["a0"]
        if layout == "tuple":
            return tuple(stored[f"a{i}"] for i in range(len(stored.files) - 1))
        return json.loads(layout)


def clear(kind=None):
    """Delete the kept views (of one ``kind``, or all); returns how many files went."""
    import shutil

    root = views_dir()
    folders = [root / kind] if kind else [p for p in root.iterdir() if p.is_dir()]
    count = sum(1 for folder in folders if folder.is_dir() for _ in folder.glob("*.npz"))
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return count
