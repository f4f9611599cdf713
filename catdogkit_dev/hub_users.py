"""System users for a test JupyterHub: an instructor and students with homes of their own.

A hub isolates students only as far as the operating system does: each single-user
server runs as its user, in a home only that user can enter. So the hub test makes
real users (``useradd``, homes under the test's own folder), runs each one's commands
with that user's uid and gid, and removes them (``userdel``) when it ends. Needs root.
"""
import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import psutil

#: Names this harness gives its users: ``cdk`` + 6 hex digits (one run) + the role.
NAME_PATTERN = re.compile(r"^cdk[0-9a-f]{6}[a-z]+$")


def why_users_cannot_be_made():
    """None when this process can create system users, else the reason (for a skip)."""
    if os.name != "posix" or os.geteuid() != 0:
        return "the hub test makes system users (one per student) and needs root"
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed (Debian: apt-get install passwd)"
    return None


def remove_abandoned_users():
    """Remove users an interrupted run left behind: this harness's names whose home is gone."""
    for entry in pwd.getpwall():
        if NAME_PATTERN.match(entry.pw_name) and not Path(entry.pw_dir).exists():
            subprocess.run(["userdel", entry.pw_name], capture_output=True, check=False)


class SystemUsers:
    """Users ``cdk<run><role>`` with homes under ``homes``; :meth:`remove` deletes them all."""

    def __init__(self, homes):
        self.homes = Path(homes)
        self.run_id = secrets.token_hex(3)
        self.names = {}

    def add(self, role):
        """Create the user for ``role`` (e.g. ``"teacher"``), home mode 700; returns its name."""
        name = f"cdk{self.run_id}{role}"
        home = self.homes / name
        subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                        "--user-group", name], check=True, capture_output=True, text=True)
        self.names[role] = name
        home.chmod(0o700)
        return name

    def role(self, name):
        """The role ``name`` was made for (``"ana"`` for ``cdk1a2b3cana``)."""
        return next(role for role, made in self.names.items() if made == name)

    def home(self, name):
        return Path(pwd.getpwnam(name).pw_dir)

    def uid(self, name):
        return pwd.getpwnam(name).pw_uid

    def give(self, name, path):
        """Make ``path`` (a file or a folder, recursively) belong to ``name``."""
        entry = pwd.getpwnam(name)
        for item in [Path(path), *(Path(path).rglob("*") if Path(path).is_dir() else [])]:
            os.chown(item, entry.pw_uid, entry.pw_gid, follow_symlinks=False)

    def run(self, name, args, *, env, cwd=None, timeout=300):
        """Run ``args`` as ``name`` (its uid, gid, no other groups) with exactly ``env``."""
        entry = pwd.getpwnam(name)
        return subprocess.run(args, user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                              env=env, cwd=cwd or entry.pw_dir, capture_output=True, text=True,
                              timeout=timeout, check=False)

    def processes(self):
        """Every process that runs as one of these users now."""
        uids = {self.uid(name) for name in self.names.values()}
        found = []
        for process in psutil.process_iter(["uids"]):
            try:
                if process.info["uids"] and process.info["uids"].real in uids:
                    found.append(process)
            except psutil.Error:
                continue
        return found

    def remove(self):
        """End these users' processes (by id), then delete the users; homes go with ``homes``."""
        end_processes(self.processes())
        for name in list(self.names.values()):
            subprocess.run(["userdel", name], capture_output=True, check=False)
        self.names.clear()


def end_processes(processes, grace=10):
    """Terminate ``processes`` (psutil objects), kill what is still there after ``grace`` s."""
    for process in processes:
        try:
            process.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        try:
            process.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)
