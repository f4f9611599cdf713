"""Writing files and folders so that a reader never sees half of one.

A file or folder is built beside its target under a hidden temporary name and renamed
when complete: an interrupted run (a Colab disconnect, a full disk) leaves the old
target or nothing, never a half-written one that a later call would trust.
"""
import os
import shutil
import tempfile
from pathlib import Path


def write_atomically(path, write):
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomically(path, text):
    """Write ``text`` to ``path`` atomically (see :func:`write_atomically`)."""
    write_atomically(path, lambda tmp: Path(tmp).write_text(text))


def build_folder_atomically(folder, fill):
    """Create ``folder`` by calling ``fill(work)`` on a temporary folder beside it, then renaming.

    An existing ``folder`` is returned as it is. Another process finishing the same
    folder first is fine. Returns ``folder``.
    """
    folder = Path(folder)
    if folder.is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        fill(work)
        try:
            work.rename(folder)
        except OSError:
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return folder


def abandoned_builds(folder):
    """Temporary folders that an interrupted :func:`build_folder_atomically` of ``folder`` left."""
    folder = Path(folder)
    return sorted(folder.parent.glob(f".{folder.name}-*")) if folder.parent.is_dir() else []
