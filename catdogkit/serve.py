"""The lessons as Voila web pages: ``catdogkit serve``.

Voila runs every lesson as a page without code: each page view starts a kernel,
runs the notebook and shows its outputs and widgets. This module builds the
Voila command line, checks what can go wrong before Voila starts (a port in use,
no lessons folder, Voila not installed) and lists the lessons for the index page.

Only the ``lessons/`` folder is ever served. Serving the repository root would
let anyone render ``solutions/`` (hidden tests and answers), so a folder that
looks like a repository root is refused.

The settings live in ``lessons/voila.json`` (read by Voila from the folder it is
launched in): sources stripped, tracebacks hidden from visitors (Voila logs them
on the server), idle kernels culled, and a size limit on websocket messages,
which is the limit on an uploaded photo. Pages use the ``catdogkit`` Voila template
(``catdogkit/voila_templates``): Voila's lab template, an index page that lists the
lessons by title, and one line that lets a closed page shut its kernel down. On a
machine with the memory for it, each lesson is also run ahead in a pre-heated kernel
(:func:`default_preheat`), so a visitor's page is ready in about 2 s.

Introduced in lesson 00 (the lessons as web pages).
"""
import contextlib
import errno
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from catdogkit.errors import CatDogKitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866
#: Environment variable that names another lessons folder (tests, custom course folders).
LESSONS_ENV = "CATDOGKIT_LESSONS"
#: Environment variable that names the photos (see :func:`catdogkit.data.find_data`).
DATA_ENV = "CATDOGKIT_DATA"
CONFIG_NAME = "voila.json"
#: Jupyter data folder holding the ``catdogkit`` Voila template (the lab template
#: plus an index page that lists the lessons by title).
TEMPLATE_ROOT = Path(__file__).resolve().parent / "voila_templates"
TEMPLATE_NAME = "catdogkit"
INDEX_HEADING = "catdogkit: how a convolutional network tells cats from dogs"
#: Largest websocket message a page may send, which bounds an uploaded photo (8 MiB).
UPLOAD_LIMIT_BYTES = 8 * 1024 * 1024
#: A lesson notebook: two digits, an underscore, a name.
LESSON_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
#: Pre-heated kernels (Voila's kernel pools, which have already run the lesson) per lesson
#: by default: a visitor gets a page whose widgets are live at once instead of waiting
#: 6-23 s while the lesson runs; the pool refills in the background. Each kernel holds
#: 0.6-1.5 GB, so only a machine with :data:`PREHEAT_MIN_MEMORY_GB` gets them by default.
DEFAULT_PREHEAT = 1
PREHEAT_MIN_MEMORY_GB = 16
#: Names whose presence marks a folder as a repository root, never to be served.
_ROOT_MARKERS = ("solutions", "exercises", "pyproject.toml", ".git", "catdogkit")

#: The settings written to ``lessons/voila.json`` (a test keeps the file and this in step).
DEFAULT_CONFIG = {
    "VoilaConfiguration": {
        "strip_sources": True,
        "show_tracebacks": False,
        "allow_template_override": "NO",
        "file_allowlist": [r".*\.(png|jpg|jpeg|gif|svg)"],
        "file_denylist": [r".*\.(ipynb|py|json|keras|h5|db)", r"(^|.*/)\..*"],
    },
    "Voila": {
        "ip": DEFAULT_HOST,
        "port_retries": 0,
        "tornado_settings": {"websocket_max_message_size": UPLOAD_LIMIT_BYTES},
    },
    "MappingKernelManager": {
        "cull_idle_timeout": 300,
        "cull_interval": 30,
        "cull_connected": False,
        "cull_busy": False,
    },
}


def memory_gb():
    """This machine's memory in GB (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    except (AttributeError, ValueError, OSError):  # e.g. Windows
        return 0


def default_preheat():
    """:data:`DEFAULT_PREHEAT` on a machine with at least :data:`PREHEAT_MIN_MEMORY_GB` of
    memory, else 0: a student's 8 GB laptop must not fill up with waiting kernels."""
    return DEFAULT_PREHEAT if memory_gb() >= PREHEAT_MIN_MEMORY_GB else 0


def repo_root():
    """The checkout this module lives in (``<repo>/catdogkit/serve.py`` → ``<repo>``)."""
    return Path(__file__).resolve().parents[1]


def check_voila():
    """Raise a clear :class:`CatDogKitError` when Voila is not installed."""
    if importlib.util.find_spec("voila") is None:
        raise CatDogKitError(
            "Voila is not installed, so the lessons cannot be served as web pages. "
            "Install it with:  pip install 'catdogkit[serve]'   (or: pip install voila)",
            exit_code=3)


def _looks_like_repo_root(folder):
    return any((folder / marker).exists() for marker in _ROOT_MARKERS)


def find_lessons_dir(path=None):
    """The folder to serve: ``path``, ``$CATDOGKIT_LESSONS``, or ``<repo>/lessons``.

    Raises :class:`CatDogKitError` when the folder is missing, holds no notebook,
    or looks like a repository root (which would expose ``solutions/``).
    """
    if path is not None:
        folder, origin = Path(path), "the folder given"
    elif os.environ.get(LESSONS_ENV):
        folder, origin = Path(os.environ[LESSONS_ENV]), f"${LESSONS_ENV}"
    else:
        folder, origin = repo_root() / "lessons", "the repository checkout"
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise CatDogKitError(
            f"No lessons folder at {folder} ({origin}). `catdogkit serve` serves the "
            "lessons/ folder of a catdogkit checkout: clone the repository and run it "
            f"there, or set {LESSONS_ENV} to a folder of lesson notebooks.")
    if _looks_like_repo_root(folder):
        raise CatDogKitError(
            f"Refusing to serve {folder}: it looks like a repository root (it holds "
            "solutions/, exercises/ or the package), and serving it would show the "
            "graded solutions to everyone. Serve its lessons/ folder instead.")
    if not any(folder.glob("*.ipynb")):
        raise CatDogKitError(f"The lessons folder {folder} holds no notebook (*.ipynb).")
    return folder


def check_port(port, host=DEFAULT_HOST):
    """Raise :class:`CatDogKitError` when ``host:port`` cannot be listened on."""
    if not 0 < int(port) < 65536:
        raise CatDogKitError(f"Port {port} is not a valid port number (1-65535).")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option as Tornado, so a port left in TIME_WAIT is not reported as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CatDogKitError(
                    f"Port {port} on {host} is already in use (another Voila or Jupyter "
                    f"server?). Stop it, or choose another port: catdogkit serve --port "
                    f"{int(port) + 1}", exit_code=4) from None
            raise CatDogKitError(f"Cannot listen on {host}:{port}: {error.strerror}.",
                                 exit_code=4) from None


def free_port(host=DEFAULT_HOST):
    """A port that is free right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def read_config(lessons_dir):
    """The settings in ``lessons_dir/voila.json`` (empty when the file is absent)."""
    path = Path(lessons_dir) / CONFIG_NAME
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise CatDogKitError(f"{path} is not valid JSON: {error}") from None


def build_command(lessons_dir, *, port=DEFAULT_PORT, host=DEFAULT_HOST, open_browser=True,
                  preheat=0, extra_args=()):
    """The Voila command line that serves ``lessons_dir`` (and nothing above it).

    Voila reads ``voila.json`` from the folders in ``Voila.config_file_paths``;
    the command names only the lessons folder, so a stray ``voila.json`` in the
    current directory or in ``~/.jupyter`` changes nothing. The address, the port
    (never another one when it is taken) and the folder are on the command line,
    which wins over any file. ``preheat`` kernels per lesson run the lesson before
    anyone asks for it (0: each view starts its own kernel). ``extra_args`` are further
    ``--Class.trait=value`` options (tests use them for short cull times).
    """
    lessons_dir = Path(lessons_dir).resolve()
    command = [
        sys.executable, "-m", "voila", str(lessons_dir),
        f"--Voila.config_file_paths={lessons_dir}",
        f"--Voila.ip={host}",
        f"--port={int(port)}",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.strip_sources=True",
    ]
    if (TEMPLATE_ROOT / "voila" / "templates" / TEMPLATE_NAME).is_dir():
        command += [f"--template={TEMPLATE_NAME}", "--VoilaConfiguration.classic_tree=True"]
        command += [f"--VoilaConfiguration.extension_config={key}={value}"
                    for key, value in index_settings(lessons_dir).items()]
    if preheat > 0:
        command += ["--VoilaConfiguration.preheat_kernel=True",
                    f"--VoilaConfiguration.default_pool_size={int(preheat)}",
                    # a kernel handed out of the pool must not be culled before its page connects
                    "--VoilaConfiguration.multi_kernel_manager_class="
                    "catdogkit.voila_kernels.HandoverKernelManager"]
    if not open_browser:
        command.append("--no-browser")
    command.extend(extra_args)
    return command


def index_settings(lessons_dir):
    """What the index page shows, as flat ``key: text`` pairs for the template.

    Passed as one ``--VoilaConfiguration.extension_config=key=value`` option each (the
    form traitlets takes for dict options; a JSON value is deprecated there): the heading
    and a title per lesson, under ``catdogkit.title.<file name>``.
    """
    settings = {f"{TEMPLATE_NAME}.heading": INDEX_HEADING,
                f"{TEMPLATE_NAME}.subheading": "pick a lesson and use its controls; "
                                               "start with 00 and go in order."}
    for name, title in lesson_titles(lessons_dir):
        if "=" not in name:  # the option splits at the first "="; such a file keeps its name
            settings[f"{TEMPLATE_NAME}.title.{name}"] = title
    return settings


def build_env(data=None, base=None):
    """The environment for Voila and its kernels (kernels inherit the server's).

    ``data`` (a folder of photos) becomes ``$CATDOGKIT_DATA``; TensorFlow's log
    switches are set so that no C++ log line reaches a page as a red stderr block.
    """
    env = dict(os.environ if base is None else base)
    if data is not None:
        folder = Path(data).expanduser().resolve()
        if not folder.exists():
            raise CatDogKitError(f"--data {data}: no such folder ({folder}).")
        env[DATA_ENV] = str(folder)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("KERAS_BACKEND", "tensorflow")
    env.setdefault("PYTHONUNBUFFERED", "1")
    if TEMPLATE_ROOT.is_dir():  # where Voila finds the catdogkit template
        env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH")) if p)
    return env


def page_url(host, port, notebook=None):
    """The address of the tree (``notebook=None``) or of one rendered notebook."""
    base = f"http://{host}:{int(port)}/"
    return base if notebook is None else f"{base}voila/render/{notebook}"


# ---------------------------------------------------------------------------
# The index page (Voila's tree page, with the catdogkit template)


def _heading(text):
    """The first Markdown heading in ``text``, without markup, or None."""
    for line in text.splitlines():
        match = re.match(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", line)
        if match:
            title = re.sub(r"[*_`]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "",
                           match.group(1))
            return re.sub(r"<[^>]+>", "", title).strip() or None
    return None


def notebook_title(path):
    """A notebook's title: the first Markdown heading of its first cells.

    Falls back to the title in :data:`catdogkit.lesson.LESSONS`, then to the file name.
    """
    path = Path(path)
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        notebook = {"cells": []}
    for cell in notebook.get("cells", [])[:6]:
        if cell.get("cell_type") == "markdown":
            source = cell.get("source", "")
            title = _heading(source if isinstance(source, str) else "".join(source))
            if title:
                return title
    try:
        from catdogkit.lesson import LESSONS
        known = dict(LESSONS)
    except Exception:  # the index must render even if the lesson module is broken
        known = {}
    return known.get(path.stem) or path.stem[3:].replace("_", " ").capitalize()


def lesson_titles(lessons_dir=None):
    """``[(file name, title), …]`` for the lesson notebooks (``NN_name.ipynb``), in order."""
    folder = Path(lessons_dir) if lessons_dir is not None else find_lessons_dir()
    return [(path.name, notebook_title(path))
            for path in sorted(folder.glob("*.ipynb")) if LESSON_PATTERN.match(path.name)]


# ---------------------------------------------------------------------------
# Starting the server


def prepare(port=DEFAULT_PORT, data=None, *, open_browser=True, lessons=None,
            host=DEFAULT_HOST, preheat=0, extra_args=()):
    """Check everything and return ``(command, env, lessons_dir)``; raises CatDogKitError."""
    if not isinstance(preheat, int) or preheat < 0:
        raise CatDogKitError(f"--preheat {preheat!r}: give a number of kernels, 0 or more "
                             f"(0 turns pre-heated kernels off).")
    check_voila()
    lessons_dir = find_lessons_dir(lessons)
    read_config(lessons_dir)  # a broken voila.json is reported before Voila starts
    check_port(port, host)
    env = build_env(data)
    command = build_command(lessons_dir, port=port, host=host, open_browser=open_browser,
                            preheat=preheat, extra_args=extra_args)
    return command, env, lessons_dir


def serve(port=DEFAULT_PORT, data=None, *, open_browser=True, lessons=None,
          host=DEFAULT_HOST, announce=print, train_first=True, preheat=None):
    """Run Voila on the lessons in the foreground until Ctrl-C; returns its exit code.

    With ``train_first`` the lesson models are trained (once; cached) before the server
    starts, so no visitor's page trains on load. ``preheat`` kernels per lesson have run
    it before anyone asks (None: :func:`default_preheat`).
    """
    chosen = preheat is None
    if chosen:
        preheat = default_preheat()
    command, env, lessons_dir = prepare(port, data, open_browser=open_browser,
                                        lessons=lessons, host=host, preheat=preheat)
    if train_first:
        from catdogkit import lesson
        announce("Training the lesson models once (cached: later starts skip this)...")
        lesson.prepare(env.get(DATA_ENV), progress="lines")
    announce(f"Serving the lessons in {lessons_dir}")
    if data is not None:
        announce(f"Photos: {env[DATA_ENV]}")
    announce(f"Open {page_url(host, port)}   (the index of lessons)")
    if preheat:
        announce(f"Each lesson is run ahead in {preheat} kernel(s), so its page is ready at once; "
                 f"the first minute after starting, they are still running "
                 f"(--preheat 0 saves the memory: 0.6-1.5 GB per kernel).")
    elif chosen:
        announce(f"Each page runs its lesson when it is opened (6-23 s): with "
                 f"{memory_gb():.0f} GB of memory, lessons are not run ahead by default "
                 f"(--preheat 1 keeps each one ready; it needs 5-7 GB).")
    announce("Press Ctrl-C to stop.")
    import signal
    process = subprocess.Popen(command, cwd=lessons_dir, env=env)

    def forward(signum, _frame):  # `kill`, a service manager: Voila must stop too
        process.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return process.wait()
    except KeyboardInterrupt:
        # Voila received the same Ctrl-C and shuts its kernels down; give it time.
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.terminate()
            return process.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


class VoilaServer:
    """A Voila server in the background, for tests and benchmarks.

    ``with VoilaServer(lessons_dir, log_path=...) as server:`` starts it on a free
    port of 127.0.0.1, waits until it answers, and stops it (and its kernels) on exit.
    """

    def __init__(self, lessons_dir=None, *, port=None, data=None, preheat=0, extra_args=(),
                 log_path=None, env=None, startup_timeout=60):
        self.host = DEFAULT_HOST
        self.port = port or free_port(self.host)
        self.lessons_dir = find_lessons_dir(lessons_dir)
        self.extra_args = list(extra_args)
        self.preheat = preheat
        self.data = data
        self.log_path = Path(log_path) if log_path else None
        self.env_overrides = dict(env or {})
        self.startup_timeout = startup_timeout
        self.process = None
        self._log = None

    @property
    def url(self):
        return page_url(self.host, self.port)

    def page(self, notebook):
        return page_url(self.host, self.port, notebook)

    def start(self):
        command, env, lessons_dir = prepare(self.port, self.data, open_browser=False,
                                            lessons=self.lessons_dir, host=self.host,
                                            preheat=self.preheat, extra_args=self.extra_args)
        env.update(self.env_overrides)
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(self.log_path, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            command, cwd=lessons_dir, env=env, stdin=subprocess.DEVNULL,
            stdout=self._log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise CatDogKitError(f"Voila exited with code {self.process.returncode} "
                                     f"before answering (log: {self.log_path}).")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise CatDogKitError(f"Voila did not answer at {self.url} within "
                                     f"{self.startup_timeout} s (log: {self.log_path}).")
            time.sleep(0.2)

    def kernel_processes(self):
        """The kernel processes this server started (psutil objects)."""
        import psutil
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        kernels = []
        for child in children:
            with contextlib.suppress(psutil.Error):
                if "ipykernel_launcher" in " ".join(child.cmdline()):
                    kernels.append(child)
        return kernels

    def pool_size(self):
        """How many pre-heated kernels the server keeps: ``preheat`` per notebook."""
        notebooks = [p for p in self.lessons_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in str(p)]
        return self.preheat * len(notebooks)

    def wait_for_pools(self, timeout=600):
        """Wait until no page is open and every pre-heated kernel has run its notebook
        (all kernels together under 0.1 CPU-second in 2 s); returns the seconds waited.

        Without pre-heating, waits until every kernel is gone. Tests and benchmarks time
        pages from this state: the one a visitor finds on a server that has warmed up.
        """
        import psutil
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            kernels = self.kernel_processes()
            if len(kernels) == self.pool_size():
                try:
                    before = sum(sum(p.cpu_times()[:2]) for p in kernels)
                    time.sleep(2)
                    if sum(sum(p.cpu_times()[:2]) for p in kernels) - before < 0.1:
                        return time.monotonic() - started
                except psutil.Error:  # a kernel ended while we looked: look again
                    pass
            time.sleep(0.5)
        raise CatDogKitError(f"The Voila server at {self.url} still had busy or missing kernels "
                             f"after {timeout} s (log: {self.log_path}).")

    def log_text(self):
        if self._log:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""

    def stop(self):
        if self.process is None:
            return
        import signal
        leftovers = []
        with contextlib.suppress(Exception):
            leftovers = self.kernel_processes()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # Voila shuts its kernels down
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for kernel in leftovers:  # only processes this server started, by id
            with contextlib.suppress(Exception):
                if kernel.is_running():
                    kernel.kill()
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
