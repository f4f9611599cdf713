"""Where the kit runs: Colab, a JupyterHub or a plain machine, and where it caches.

Introduced in lesson 00 (the class code, then and now); every other module asks this one
instead of guessing.
"""
import os
import sys
from pathlib import Path

from catdogkit.constants import CACHE_ENV, TF_LOG_SWITCHES

#: Where Colab mounts the student's Google Drive (its "My Drive" folder).
DRIVE = Path("/content/drive/MyDrive")


def silence_tensorflow_logs():
    """Silence TensorFlow's C++ start-up chatter without hiding real errors.

    Level 2 drops INFO and WARNING lines (oneDNN, cpu_feature_guard) but keeps
    ERROR. Both variables must be set before TensorFlow is imported: nbgrader
    scores a test cell that writes to stderr 0, and Voila shows stderr in red.
    A value the user set already is kept.
    """
    for name, value in TF_LOG_SWITCHES.items():
        os.environ.setdefault(name, value)


def in_colab():
    """True inside Google Colab (the kit never imports google.colab to find out)."""
    return "google.colab" in sys.modules


def on_jupyterhub():
    """True inside a JupyterHub single-user server."""
    return "JUPYTERHUB_USER" in os.environ or "JUPYTERHUB_API_URL" in os.environ


def cache_dir(*parts):
    """The kit's cache folder (``$CATDOGKIT_CACHE`` or ``~/.cache/catdogkit``), created on demand.

    Sample photos and trained lesson models live here, never in the repository.

    Introduced in lesson 00 (the class code, then and now).
    """
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "catdogkit")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def drive_mounted():
    """True in Colab once the student's Google Drive is mounted (:data:`DRIVE` exists)."""
    return in_colab() and DRIVE.is_dir()


def drive_dir(*parts):
    """``catdogkit/<parts>`` in the student's Google Drive, created, when Drive is mounted in
    Colab; else ``None``.

    What took minutes to compute there (trained lesson models, training runs, cached
    views) outlives the Colab session, so the next session reuses it instead of
    computing it again. Nothing mounts Drive here: the student asks for it
    (:func:`catdogkit.data.use_drive`, the set-up cell's button).
    """
    if not drive_mounted():
        return None
    path = DRIVE.joinpath("catdogkit", *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def environment():
    """Where this kernel runs: ``"colab"``, ``"jupyterhub"`` or ``"local"``."""
    if in_colab():
        return "colab"
    if on_jupyterhub():
        return "jupyterhub"
    return "local"
