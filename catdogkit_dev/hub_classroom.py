"""A class on a local JupyterHub: an instructor, two students, shared photos, nbgrader's exchange.

What an instructor sets up on a small class's server (docs/deploy.md), in one temporary
folder that every user can traverse:

``homes/<user>``        each user's home, mode 700 (students get a copy of ``lessons/``,
                        the instructor an nbgrader course with ``solutions/``)
``shared/photos``       the course's photos, owned by root, read-only for everyone
                        (the hub names it in ``CATDOGKIT_HUB_DATA``)
``shared/exchange``     nbgrader's exchange (``c.Exchange.root``), mode 777 as nbgrader asks
``etc/jupyter``         the config every server reads (``JUPYTER_CONFIG_PATH``)

Users run nbgrader's commands in their own server's environment (what a terminal
in JupyterLab gives them), read from that server process.
"""
import json
import shutil
import tempfile
from pathlib import Path

import psutil

from catdogkit_dev.hub import REPO, LocalHub
from catdogkit_dev.hub_python import user_python
from catdogkit_dev.hub_users import SystemUsers, remove_abandoned_users

COURSE_ID = "catdogkit"
STUDENTS = ("ana", "ben")
INSTRUCTOR = "teacher"
#: The shared photo folder: a small drawn sample (the real photos never leave ../shared).
PHOTO_COUNTS = {"train": 48, "validation": 24, "test": 24}
#: JupyterLab settings every user starts with: all cells in the page (no virtual
#: scrolling, so a test sees every output) and no news fetched from the internet.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false", "checkForUpdates": False},
}


#: The single-user servers' config. Voila 0.5's page renderer calls the contents manager's
#: ``file_exists`` without awaiting it (markdown images), and jupyter_server's default is
#: the async manager: the page never renders. The synchronous manager works.
#: ``window.jupyterapp`` lets the test run a notebook through JupyterLab's own commands.
SERVER_CONFIG = {
    "ServerApp": {"contents_manager_class":
                  "jupyter_server.services.contents.largefilemanager.LargeFileManager"},
    "LabApp": {"expose_app_in_browser": True},
}


class Classroom:
    """Build with :meth:`open`, end with :meth:`close` (idempotent)."""

    def __init__(self, log_folder):
        self.base = Path(tempfile.mkdtemp(prefix="catdogkit-hub-"))
        self.base.chmod(0o755)
        self.log_folder = Path(log_folder)
        self.users = SystemUsers(self.base / "homes")
        self.photos = self.base / "shared" / "photos"
        self.exchange = self.base / "shared" / "exchange"
        self.config = self.base / "etc" / "jupyter"
        self.hub = None
        self.bin = None
        self.python_env = {}
        self.instructor = None
        self.students = []

    # -- set-up ----------------------------------------------------------------------

    def open(self, timeout=300):
        self.bin, self.python_env = user_python(self.base / "python")
        remove_abandoned_users()
        (self.base / "homes").mkdir(mode=0o755)
        self.instructor = self.users.add(INSTRUCTOR)
        self.students = [self.users.add(name) for name in STUDENTS]
        self._shared_photos()
        self._exchange()
        self._jupyter_config()
        for name in self.students:
            self._student_home(name)
        self._instructor_course()
        self.hub = LocalHub(self.base / "hub", [self.instructor, *self.students],
                            self.server_environment(), log_path=self.log_folder / "jupyterhub.log",
                            user_bin=self.bin)
        self.hub.start()
        for name in self.everyone:
            self.hub.start_server(name)
        for name in self.everyone:
            self.hub.wait_for_server(name, timeout=timeout)
        return self

    @property
    def everyone(self):
        return [self.instructor, *self.students]

    def server_environment(self):
        """What the hub puts in every single-user server's environment."""
        return {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "CATDOGKIT_HUB_DATA": str(self.photos),
            "JUPYTER_CONFIG_PATH": str(self.config),
            "LANG": "C.UTF-8",
            **self.python_env,
        }

    def _shared_photos(self):
        from catdogkit.sample import make_sample
        shutil.copytree(make_sample(PHOTO_COUNTS), self.photos)
        for path in [self.photos.parent, self.photos, *self.photos.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    def _exchange(self):
        self.exchange.mkdir()
        self.exchange.chmod(0o777)

    def _jupyter_config(self):
        self.config.mkdir(parents=True)
        (self.config / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.Exchange.root = {str(self.exchange)!r}\n"
            f"c.CourseDirectory.course_id = {COURSE_ID!r}\n")
        (self.config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
        for path in [self.config.parent, self.config, *self.config.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)

    def _lab_settings(self, name):
        home = self.users.home(name)
        for relative, values in LAB_SETTINGS.items():
            path = home / ".jupyter" / "lab" / "user-settings" / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))

    def _student_home(self, name):
        home = self.users.home(name)
        shutil.copytree(REPO / "lessons", home / "lessons")
        self._lab_settings(name)
        self.users.give(name, home)

    def _instructor_course(self):
        home = self.users.home(self.instructor)
        course = home / "course"
        course.mkdir()
        shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
        shutil.copytree(REPO / "solutions", course / "solutions")
        self._lab_settings(self.instructor)
        self.users.give(self.instructor, home)

    @property
    def course(self):
        return self.users.home(self.instructor) / "course"

    # -- acting as a user ----------------------------------------------------------------

    def environment_of(self, name):
        """The environment of ``name``'s own single-user server process."""
        servers = self.hub.server_processes(self.users.uid(name))
        if not servers:
            raise RuntimeError(f"{name} has no running server")
        return servers[0].environ()

    def run_as(self, name, *args, cwd=None, timeout=600):
        """Run ``args`` as ``name`` in their server's environment; the CompletedProcess."""
        return self.users.run(name, [str(a) for a in args], env=self.environment_of(name),
                              cwd=cwd, timeout=timeout)

    def nbgrader(self, name, *args, cwd=None, timeout=600):
        """``nbgrader ARGS`` as ``name``; raises with nbgrader's output when it fails."""
        done = self.run_as(name, self.bin / "nbgrader", *args, cwd=cwd, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"nbgrader {' '.join(map(str, args))} as {name} failed "
                                 f"({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    # -- the end -----------------------------------------------------------------------

    def close(self):
        """Stop the hub and every process of these users, delete the users and the folder.

        Returns what was still running after the hub's own shut-down (those are then
        ended by id): empty when everything stopped by itself.
        """
        leftovers = self.hub.stop() if self.hub is not None else []
        self.hub = None
        leftovers += [p for p in self.users.processes() if p.status() != psutil.STATUS_ZOMBIE]
        self.users.remove()
        shutil.rmtree(self.base, ignore_errors=True)
        return leftovers
