"""A Python that every hub user can run, with this environment's packages.

On a real hub the environment is installed system-wide (``/opt/conda``, a ``/usr/local``
venv) and readable by all. A developer's venv often is not: pyenv's interpreter under
``/root`` (mode 700) cannot be executed by a student's uid, although the venv's packages
in the checkout can be read. Then :func:`user_python` copies the interpreter itself (its
binary, ``libpython`` and standard library, about 50 MB: the same build, so every compiled
package and the ``re`` module behave exactly as here) into a folder everyone can read,
adds this environment's site-packages through a ``.pth`` file, writes one launcher per
console script (``jupyterhub-singleuser``, ``nbgrader``, ``alembic``, …) and links this
environment's ``etc/`` and ``share/`` in (Jupyter's config and data).

(Debian's own ``/usr/bin/python3.11`` was tried first: 3.11.2's ``re`` cannot compile a
selector soupsieve sends it, and nbgrader's ``generate_feedback`` failed.)
"""
import os
import shutil
import stat
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

VENV_BIN = Path(sys.executable).parent
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
#: What the copy of the interpreter's standard library leaves out (not needed to run).
LEFT_OUT = ("site-packages", "test", "idlelib", "tkinter", "turtledemo", "ensurepip", "config-*")


def anyone_may(path, permission):
    """True when a user with no group in common may enter every folder above ``path`` (its
    real path, links followed) and has ``permission`` on it: others' read bit
    (``stat.S_IROTH``) or execute bit (``stat.S_IXOTH``)."""
    path = Path(os.path.realpath(path))
    return path.exists() and bool(path.stat().st_mode & permission) and all(
        parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def _exposed(path, mirror, always=False):
    """``path`` itself when every user can read it; else a mirror of it at ``mirror``, made
    of hard links (no data copied; a copy across file systems) in folders anyone may enter.

    A fresh clone in a private folder (CI's ``mktemp -d``, mode 700) holds the venv and the
    kit, which the students' servers must import.
    """
    path = Path(path)
    if anyone_may(path, stat.S_IROTH) and not always:
        return path
    if not path.exists():
        return path
    for source in [path, *sorted(path.rglob("*"))]:
        target = mirror / source.relative_to(path)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            target.chmod(0o755)
        elif source.stat().st_mode & stat.S_IROTH:
            try:
                os.link(source, target)  # the same file: its mode is left as it is
            except OSError:  # another file system, or links refused
                shutil.copy2(source, target)
        else:  # a private file: a copy of it, readable
            shutil.copy2(source, target)
            target.chmod(0o755 if os.access(source, os.X_OK) else 0o644)
    return mirror


def why_no_user_python():
    """None when :func:`user_python` can give every user this environment, else the reason."""
    copyable = Path(sys.base_prefix, "bin", f"python{VERSION}").is_file()
    if anyone_may(sys.executable, stat.S_IXOTH) or copyable:
        return None
    return f"this venv's Python ({os.path.realpath(sys.executable)}) is private and cannot be copied"


def user_python(folder):
    """``(bin folder, environment)`` of a Python that every hub user may run.

    This environment's own ``bin/`` when anyone may run its interpreter; otherwise a copy
    of the interpreter in ``folder`` with this environment's packages.
    The environment variables (``LD_LIBRARY_PATH`` for a shared ``libpython``) belong into
    every single-user server's environment.
    """
    if anyone_may(sys.executable, stat.S_IXOTH):
        return VENV_BIN, {}
    folder = Path(folder)
    base, lib = Path(sys.base_prefix), folder / "lib"
    (folder / "bin").mkdir(parents=True)
    shutil.copy2(base / "bin" / f"python{VERSION}", folder / "bin" / f"python{VERSION}")
    (folder / "bin" / "python").symlink_to(f"python{VERSION}")
    lib.mkdir()
    for shared in (base / "lib").glob(f"libpython{VERSION}*.so*"):
        shutil.copy2(shared, lib / shared.name, follow_symlinks=False)
    shutil.copytree(base / "lib" / f"python{VERSION}", lib / f"python{VERSION}", symlinks=True,
                    ignore=shutil.ignore_patterns(*LEFT_OUT))
    site = lib / f"python{VERSION}" / "site-packages"
    site.mkdir()
    packages = str(_exposed(sysconfig.get_paths()["purelib"], folder / "mirror" / "site-packages"))
    # The kit itself, in front of its editable install (which names the checkout's path).
    source = folder / "mirror" / "src"
    for package in ("catdogkit", "catdogkit_dev"):
        _exposed(REPO / package, source / package, always=not anyone_may(REPO, stat.S_IROTH))
    # an `import` line in a .pth file runs: addsitedir also reads the packages' own .pth
    # files (the editable install of catdogkit is one)
    (site / "catdogkit-venv.pth").write_text(
        f"import site, sys; site.addsitedir({packages!r}); sys.path.insert(0, {str(source)!r})\n")
    _launchers(folder / "bin", packages)
    # Jupyter finds its extensions' config, JupyterLab's files, kernel specs and Voila's
    # templates under sys.prefix: this environment's own
    for shared in ("etc", "share"):
        if (Path(sys.prefix) / shared).is_dir():
            (folder / shared).symlink_to(_exposed(Path(sys.prefix) / shared, folder / "mirror" / shared))
    mirrors = folder / "mirror"
    for path in [folder, *(p for p in folder.rglob("*") if mirrors not in p.parents and p != mirrors)]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or path.parent.name == "bin" else 0o644)
    # the interpreter's RUNPATH names the private folder; LD_LIBRARY_PATH comes first
    return folder / "bin", {"LD_LIBRARY_PATH": str(lib)}


def _launchers(bin_folder, packages):
    python = bin_folder / "python"
    for distribution in metadata.distributions(path=[packages]):
        for entry in distribution.entry_points.select(group="console_scripts"):
            module, _, attribute = entry.value.partition(":")
            call = attribute.strip() or "main"
            (bin_folder / entry.name).write_text(
                f"#!{python}\nimport sys\nfrom {module.strip()} import {call.split('.')[0]}\n"
                f"sys.exit({call}())\n")
