"""A real JupyterHub on loopback for the tests (issue 17): what a small class's server runs.

JupyterHub (PyPI) with ``configurable-http-proxy`` (npm, installed by ``dev.sh`` into
``.venv/node``), the SharedPasswordAuthenticator (one password for every user), and the standard
``LocalProcessSpawner``: each user's server runs as that system user
(:mod:`catdogkit_dev.hub_users`). The hub gives every single-user server the same
environment an instructor would set: the venv's ``bin/`` on PATH, the shared photo
folder in ``CATDOGKIT_HUB_DATA`` and a Jupyter config folder with nbgrader's exchange.

The hub runs in a process group of its own; :meth:`LocalHub.stop` ends it, its proxy
and every single-user server by their ids, and reports whatever is still running.
Every wait is a bounded poll.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from catdogkit_dev.hub_users import end_processes

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
#: Where ``dev.sh``'s ``setup_hub`` installs the proxy.
PROXY = REPO / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
SERVICE = "catdogkit-test"


def proxy_command():
    """The configurable-http-proxy executable, or None."""
    if PROXY.exists():
        return PROXY
    found = shutil.which("configurable-http-proxy")
    return Path(found) if found else None


def why_no_hub():
    """None when a hub can run here, else the reason (the test skips with it)."""
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "jupyterhub is not installed: bash dev.sh setup"
    if proxy_command() is None:
        return "configurable-http-proxy is not installed: bash dev.sh test installs it with npm"
    if shutil.which("node") is None:
        return "node is not installed (the proxy runs on it): apt-get install nodejs npm"
    return None


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config_text(settings):
    lines = ["c = get_config()  # noqa: F821  (written by catdogkit_dev.hub)"]
    lines += [f"c.{key} = {value!r}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


class LocalHub:
    """A JupyterHub for ``users`` in ``folder``; single-user servers get ``environment``.

    ``password`` logs any of them in; ``url`` is the proxy's public address; the servers
    run ``user_bin``'s ``jupyterhub-singleuser`` (:func:`catdogkit_dev.hub_python.user_python`).
    """

    def __init__(self, folder, users, environment, *, log_path, user_bin=VENV_BIN, server_args=()):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.users = list(users)
        self.password = secrets.token_urlsafe(12)
        self.token = secrets.token_hex(32)
        self.port, self.hub_port, self.api_port = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = Path(log_path)
        self.environment = dict(environment)
        self.server_args = list(server_args)
        self.user_bin = Path(user_bin)
        self.process = None
        self._tree = []

    def settings(self):
        return {
            "JupyterHub.ip": "127.0.0.1",
            "JupyterHub.port": self.port,
            "JupyterHub.hub_ip": "127.0.0.1",
            "JupyterHub.hub_port": self.hub_port,
            "JupyterHub.db_url": f"sqlite:///{self.folder / 'jupyterhub.sqlite'}",
            "JupyterHub.cookie_secret_file": str(self.folder / "cookie_secret"),
            "JupyterHub.pid_file": str(self.folder / "jupyterhub.pid"),
            "JupyterHub.cleanup_servers": True,
            "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{self.api_port}",
            "ConfigurableHTTPProxy.command": [str(proxy_command())],
            "ConfigurableHTTPProxy.auth_token": secrets.token_hex(32),
            "JupyterHub.authenticator_class": "shared-password",
            "SharedPasswordAuthenticator.user_password": self.password,
            "Authenticator.allowed_users": set(self.users),
            "JupyterHub.spawner_class": "localprocess",
            "Spawner.cmd": [str(self.user_bin / "jupyterhub-singleuser")],
            "Spawner.args": self.server_args,
            "Spawner.default_url": "/lab",
            "Spawner.notebook_dir": "~",
            "Spawner.environment": self.environment,
            # a busy two-core CI machine: TensorFlow imports and JupyterLab starts are slow
            "Spawner.start_timeout": 300,
            "Spawner.http_timeout": 300,
            # jupyter_server ignores SIGINT without a terminal to confirm on; SIGTERM makes it
            # shut its kernels down, which takes a while on a busy machine: wait for that
            "LocalProcessSpawner.interrupt_timeout": 1,
            "LocalProcessSpawner.term_timeout": 60,
            # the test's own client: starts servers and hands out tokens (an admin service)
            "JupyterHub.services": [{"name": SERVICE, "api_token": self.token}],
            "JupyterHub.load_roles": [{"name": "admin", "services": [SERVICE]}],
        }

    # -- running ---------------------------------------------------------------------

    def start(self, timeout=180):
        config = self.folder / "jupyterhub_config.py"
        config.write_text(_config_text(self.settings()))
        env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(VENV_BIN / "jupyterhub"), "-f", str(config)], cwd=self.folder, env=env,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._poll(lambda: self._answers("hub/api/"), timeout, "the hub to answer")
        return self

    def _answers(self, path):
        try:
            return self.request("GET", path)[0] == 200
        except OSError:
            return False

    def _poll(self, condition, timeout, what, interval=0.25):
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the hub exited ({self.process.returncode}) while waiting for "
                                   f"{what}; log:\n{self.log_text()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for {what}; hub log:\n{self.log_text()[-4000:]}")
            time.sleep(interval)

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def request(self, method, path, *, token=None, body=None, raw=False):
        """``(status, JSON or text)`` of one HTTP request to the hub's public address.

        ``token`` defaults to the admin service's token; redirects are not followed.
        """
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method)
        request.add_header("Authorization", f"token {token or self.token}")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=60) as answer:
                status, text = answer.status, answer.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read().decode(errors="replace")
        if raw:
            return status, text
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def start_server(self, name):
        """Ask the hub to start ``name``'s server (returns at once; :meth:`wait_for_server`)."""
        status, answer = self.request("POST", f"hub/api/users/{name}/server")
        if status not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"starting {name}'s server: {status} {answer}")

    def wait_for_server(self, name, timeout=300):
        def ready():
            status, user = self.request("GET", f"hub/api/users/{name}")
            server = (user or {}).get("servers", {}).get("", {}) if status == 200 else {}
            return bool(server.get("ready"))
        self._poll(ready, timeout, f"{name}'s single-user server", interval=0.5)

    def user_token(self, name):
        """A new API token of ``name`` (what a student could make on the hub's token page)."""
        status, answer = self.request("POST", f"hub/api/users/{name}/tokens",
                                      body={"note": "catdogkit hub test", "expires_in": 3600})
        if status != 201:
            raise RuntimeError(f"token for {name}: {status} {answer}")
        return answer["token"]

    def server_processes(self, name_uid):
        """The single-user server process(es) running as uid ``name_uid``."""
        return [p for p in self.tree() if _uid(p) == name_uid and "jupyterhub-singleuser" in _cmdline(p)]

    def tree(self):
        """The hub and every process it started (the proxy, single-user servers, kernels)."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            found = [root, *root.children(recursive=True)]
        except psutil.Error:
            found = []
        known = {p.pid for p in found}
        self._tree = [p for p in self._tree if p.pid not in known and p.is_running()] + found
        return self._tree

    def stop(self, timeout=60):
        """Stop the hub: it stops the servers and the proxy it started.

        Returns the processes the hub had started that were still running ``timeout``
        seconds after it was asked to stop (none, normally); those are then ended by id.
        """
        if self.process is None:
            return []
        started = self.tree()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout)
        deadline = time.monotonic() + timeout
        remaining = [p for p in started if _alive(p)]
        while remaining and time.monotonic() < deadline:
            time.sleep(0.2)
            remaining = [p for p in remaining if _alive(p)]
        end_processes(remaining)
        self.process = None
        return remaining


def _alive(process):
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _uid(process):
    try:
        return process.uids().real
    except psutil.Error:
        return None


def _cmdline(process):
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
