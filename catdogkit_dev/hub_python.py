"""A Python that every hub user can run, with this environment's packages.

On a real hub the environment is installed system-wide (``/opt/conda``, a ``/usr/local``
venv) and readable by all. A developer's venv often is not: pyenv's interpreter under
``/root`` (mode 700) cannot be executed by a student's uid, although the venv's packages
in the checkout can be read. Then :func:`user_python` makes a small venv of an interpreter
of the same version that everyone can run (Debian's ``/usr/bin/python3.11``), whose
``.pth`` file adds this environment's site-packages, with one launcher per console
script (``jupyterhub-singleuser``, ``nbgrader``, ``alembic``, …) that runs on it, and
this environment's ``etc/`` and ``share/`` linked in (Jupyter's config and data). Compiled
packages share the CPython ABI of the same minor version, so they load unchanged.
"""
import os
import stat
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
CANDIDATES = (f"/usr/bin/python{VERSION}", f"/usr/local/bin/python{VERSION}")


def runnable_by_anyone(path):
    """True when a user with no group in common can execute ``path`` (others' x bits)."""
    path = Path(os.path.realpath(path))
    if not path.exists() or not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def why_no_user_python():
    """None when :func:`user_python` can give every user this environment, else the reason."""
    if runnable_by_anyone(sys.executable) or any(runnable_by_anyone(c) for c in CANDIDATES):
        return None
    return (f"this venv's Python ({os.path.realpath(sys.executable)}) is private and no Python "
            f"{VERSION} that every user may run was found ({', '.join(CANDIDATES)})")


def user_python(folder):
    """The ``bin/`` folder hub users run; None (no such Python here) when none can be made."""
    if runnable_by_anyone(sys.executable):
        return VENV_BIN
    base = next((c for c in CANDIDATES if runnable_by_anyone(c)), None)
    if base is None:
        return None
    folder = Path(folder)
    subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True,
                   capture_output=True, text=True)
    site = folder / "lib" / f"python{VERSION}" / "site-packages"
    packages = sysconfig.get_paths()["purelib"]
    # an `import` line in a .pth file runs: addsitedir also reads the packages' own .pth
    # files (the editable install of catdogkit is one)
    (site / "catdogkit-venv.pth").write_text(f"import site; site.addsitedir({packages!r})\n")
    _launchers(folder / "bin", packages)
    # Jupyter finds its extensions' config, JupyterLab's files, kernel specs and Voila's
    # templates under sys.prefix: this environment's own
    for shared in ("etc", "share"):
        if (Path(sys.prefix) / shared).is_dir():
            (folder / shared).symlink_to(Path(sys.prefix) / shared)
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or path.parent.name == "bin" else 0o644)
    return folder / "bin"


def _launchers(bin_folder, packages):
    python = bin_folder / "python"
    for distribution in metadata.distributions(path=[packages]):
        for entry in distribution.entry_points.select(group="console_scripts"):
            module, _, attribute = entry.value.partition(":")
            call = attribute.strip() or "main"
            (bin_folder / entry.name).write_text(
                f"#!{python}\nimport sys\nfrom {module.strip()} import {call.split('.')[0]}\n"
                f"sys.exit({call}())\n")
