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
(:func:`catdogkit.kernel_pools.default_preheat`), so a visitor's page is ready in about 2 s.

Introduced in lesson 00 (the lessons as web pages).
"""
import errno
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

from catdogkit import course, i18n, kernel_forks, kernel_pools, runtime
from catdogkit.constants import DATA_ENV, TF_LOG_SWITCHES
from catdogkit.errors import CatDogKitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8866
#: Environment variable that names another lessons folder (tests, custom course folders).
LESSONS_ENV = "CATDOGKIT_LESSONS"
CONFIG_NAME = "voila.json"
#: Jupyter data folder holding the ``catdogkit`` Voila template (the lab template
#: plus an index page that lists the lessons by title).
TEMPLATE_ROOT = Path(__file__).resolve().parent / "voila_templates"
TEMPLATE_NAME = "catdogkit"
INDEX_HEADING = "catdogkit: how a convolutional network tells cats from dogs"
#: Names whose presence marks a folder as a repository root, never to be served.
_ROOT_MARKERS = ("solutions", "exercises", "pyproject.toml", ".git", "catdogkit")

def repo_root():
    """The checkout this module lives in (``<repo>/catdogkit/serve.py`` → ``<repo>``)."""
    return Path(__file__).resolve().parents[1]


def check_voila():
    """Raise a clear :class:`CatDogKitError` when Voila is not installed."""
    if importlib.util.find_spec("voila") is None:
        raise CatDogKitError(i18n._("Voila is not installed, so the lessons cannot be served as web pages. Install "
                                    "it with:  pip install 'catdogkit[serve]'   (or: pip install voila)"), exit_code=3)


def _looks_like_repo_root(folder):
    return any((folder / marker).exists() for marker in _ROOT_MARKERS)


def find_lessons_dir(path=None):
    """The folder to serve: ``path``, ``$CATDOGKIT_LESSONS``, or ``<repo>/lessons``.

    Raises :class:`CatDogKitError` when the folder is missing, holds no notebook,
    or looks like a repository root (which would expose ``solutions/``).
    """
    if path is not None:
        folder, origin = Path(path), i18n._("the folder given")
    elif os.environ.get(LESSONS_ENV):
        folder, origin = Path(os.environ[LESSONS_ENV]), f"${LESSONS_ENV}"
    else:
        folder, origin = repo_root() / "lessons", i18n._("the repository checkout")
    folder = folder.expanduser().resolve()
    if not folder.is_dir():
        raise CatDogKitError(i18n._(
            "No lessons folder at {folder} ({origin}). `catdogkit serve` serves the lessons/ folder of a "
            "catdogkit checkout: clone the repository and run it there, or set {name} to a folder of "
            "lesson notebooks.").format(folder=folder, origin=origin, name=LESSONS_ENV))
    if _looks_like_repo_root(folder):
        raise CatDogKitError(i18n._("Refusing to serve {folder}: it looks like a repository root (it holds solutions/, "
                                    "exercises/ or the package), and serving it would show the graded solutions to "
                                    "everyone. Serve its lessons/ folder instead.").format(folder=folder))
    if not any(folder.glob("*.ipynb")):
        raise CatDogKitError(i18n._("The lessons folder {folder} holds no notebook (*.ipynb).").format(folder=folder))
    return folder


def check_port(port, host=DEFAULT_HOST):
    """Raise :class:`CatDogKitError` when ``host:port`` cannot be listened on."""
    if not 0 < int(port) < 65536:
        raise CatDogKitError(i18n._("Port {port} is not a valid port number (1-65535).").format(port=port))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Same option as Tornado, so a port left in TIME_WAIT is not reported as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise CatDogKitError(i18n._("Port {port} on {host} is already in use (another Voila or Jupyter "
                                            "server?). Stop it, or choose another port: catdogkit serve --port "
                                            "{next}").format(port=port, host=host, next=int(port) + 1),
                                     exit_code=4) from None
            raise CatDogKitError(i18n._("Cannot listen on {host}:{port}: {error}.").format(
                host=host, port=port, error=error.strerror), exit_code=4) from None


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
        raise CatDogKitError(i18n._("{path} is not valid JSON: {error}").format(path=path, error=error)) from None


def build_command(lessons_dir, *, port=DEFAULT_PORT, host=DEFAULT_HOST, open_browser=True,
                  preheat=0, pools=None, extra_args=()):
    """The Voila command line that serves ``lessons_dir`` (and nothing above it).

    Voila reads ``voila.json`` from the folders in ``Voila.config_file_paths``;
    the command names only the lessons folder, so a stray ``voila.json`` in the
    current directory or in ``~/.jupyter`` changes nothing. The address, the port
    (never another one when it is taken) and the folder are on the command line,
    which wins over any file. ``preheat`` kernels per lesson run the lesson before
    anyone asks for it (0: each view starts its own kernel); ``pools`` (``{notebook file:
    kernels}``, see :func:`catdogkit.kernel_pools.lesson_pools`) gives some lessons pools of
    their own size. ``extra_args`` are further ``--Class.trait=value`` options (tests use
    them for short cull times).
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
    command += kernel_pools.voila_options(
        preheat, pools, denied=[folder.name for _lang, folder in translated_folders(lessons_dir)])
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
    titles = list(course.lesson_titles(lessons_dir))
    for lang, folder in translated_folders(lessons_dir):
        settings[f"{TEMPLATE_NAME}.folder.{folder.name}"] = FOLDER_LABELS.get(lang, lang)
        titles += [(f"{folder.name}/{name}", title) for name, title in course.lesson_titles(folder, lang)]
    for path, title in titles:
        if "=" not in path:  # the option splits at the first "="; such a file keeps its name
            settings[f"{TEMPLATE_NAME}.title.{path}"] = title
    return settings


#: How the index names a folder of translated lessons (``lessons/<lang>/``).
FOLDER_LABELS = {"es": "Español · las lecciones en español"}


def translated_folders(lessons_dir):
    """``[(lang, folder), …]`` for the translated lessons beside the English ones
    (``lessons/es/``, generated by ``python -m catdogkit_dev.translate lessons``)."""
    return [(lang, Path(lessons_dir) / lang) for lang in i18n.LANGUAGES
            if lang != "en" and (Path(lessons_dir) / lang).is_dir()]


def build_env(data=None, base=None):
    """The environment for Voila and its kernels (kernels inherit the server's).

    ``data`` (a folder of photos) becomes ``$CATDOGKIT_DATA``; TensorFlow's log
    switches are set so that no C++ log line reaches a page as a red stderr block.
    """
    env = dict(os.environ if base is None else base)
    if data is not None:
        folder = Path(data).expanduser().resolve()
        if not folder.exists():
            raise CatDogKitError(i18n._("--data {data}: no such folder ({folder}).").format(data=data, folder=folder))
        env[DATA_ENV] = str(folder)
    for name, value in TF_LOG_SWITCHES.items():
        env.setdefault(name, value)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # glibc gives each of TensorFlow's threads its own malloc arena; two arenas cut a lesson
    # kernel that evaluates both networks from 911 to 793 MB here (10 kernels: 1.2 GB).
    env.setdefault("MALLOC_ARENA_MAX", "2")
    if TEMPLATE_ROOT.is_dir():  # where Voila finds the catdogkit template
        env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(TEMPLATE_ROOT), env.get("JUPYTER_PATH")) if p)
    return env


def page_url(host, port, notebook=None):
    """The address of the tree (``notebook=None``) or of one rendered notebook."""
    base = f"http://{host}:{int(port)}/"
    return base if notebook is None else f"{base}voila/render/{notebook}"


# ---------------------------------------------------------------------------
# Starting the server


def prepare(port=DEFAULT_PORT, data=None, *, open_browser=True, lessons=None,
            host=DEFAULT_HOST, preheat=0, preheat_lessons=(), extra_args=()):
    """Check everything and return ``(command, env, lessons_dir, pools)``; raises CatDogKitError.

    ``preheat_lessons`` are ``--preheat-lesson`` values; ``pools`` is what they ask for,
    ``{notebook file: kernels}`` (see :func:`catdogkit.kernel_pools.lesson_pools`)."""
    if not isinstance(preheat, int) or preheat < 0:
        raise CatDogKitError(i18n._("--preheat {preheat}: give a number of kernels, 0 or more (0 turns "
                                    "pre-heated kernels off).").format(preheat=repr(preheat)))
    check_voila()
    lessons_dir = find_lessons_dir(lessons)
    read_config(lessons_dir)  # a broken voila.json is reported before Voila starts
    pools = kernel_pools.lesson_pools(lessons_dir, preheat_lessons)
    check_port(port, host)
    env = build_env(data)
    command = build_command(lessons_dir, port=port, host=host, open_browser=open_browser,
                            preheat=preheat, pools=pools, extra_args=extra_args)
    return command, env, lessons_dir, pools


def serve(port=DEFAULT_PORT, data=None, *, open_browser=True, lessons=None,
          host=DEFAULT_HOST, announce=print, train_first=True, preheat=None, preheat_lessons=(),
          fork_kernels=True):
    """Run Voila on the lessons in the foreground until Ctrl-C; returns its exit code.

    With ``train_first`` the lesson models are trained (once; cached) before the server
    starts, so no visitor's page trains on load. ``preheat`` kernels per lesson have run
    it before anyone asks (None: :func:`catdogkit.kernel_pools.default_preheat`);
    ``preheat_lessons`` (``["07=20"]``) size some lessons' pools for a class that opens
    them together. With ``fork_kernels`` every page's kernel is a copy of one process that
    has imported TensorFlow (:mod:`catdogkit.kernel_forks`).
    """
    chosen = preheat is None
    if chosen:
        preheat = kernel_pools.default_preheat()
    command, env, lessons_dir, pools = prepare(port, data, open_browser=open_browser, lessons=lessons,
                                               host=host, preheat=preheat, preheat_lessons=preheat_lessons)
    forks = kernel_forks.ForkServer(env).start() if fork_kernels else None
    try:
        return _serve(command, env, lessons_dir, forks, port=port, data=data, host=host,
                      announce=announce, train_first=train_first, preheat=preheat, pools=pools,
                      chosen=chosen)
    finally:
        if forks is not None:
            forks.stop()


def _serve(command, env, lessons_dir, forks, *, port, data, host, announce, train_first, preheat,
           pools, chosen):
    if train_first:
        from catdogkit import training  # TensorFlow takes seconds to import: only when training

        announce(i18n._("Training the lesson models once (cached: later starts skip this)..."))
        training.prepare_lessons(env.get(DATA_ENV))
    if forks is not None and forks.wait_until_ready():
        env = forks.env
        announce(i18n._("Page kernels start as copies of one process that has already imported TensorFlow "
                        "(--no-kernel-forks starts each one from scratch)."))
    elif forks is not None:
        announce(i18n._("The kernel fork server did not start, so each page's kernel starts from scratch "
                        "(a few seconds slower)."))
    announce(i18n._("Serving the lessons in {folder}").format(folder=lessons_dir))
    if data is not None:
        announce(i18n._("Photos: {folder}").format(folder=env[DATA_ENV]))
    announce(i18n._("Open {url}   (the index of lessons)").format(url=page_url(host, port)))
    if preheat:
        announce(i18n._("Each lesson is run ahead in {n} kernel(s), so its page is ready at once; the first minute "
                        "after starting, they are still running (--preheat 0 saves the memory: 0.4-0.7 GB per "
                        "kernel).").format(n=preheat))
    for name, count in pools.items():
        announce(i18n._("{lesson} keeps {n} kernel(s) ready, for a class that opens it together.").format(
            lesson=name, n=count))
    if chosen and not preheat:
        announce(i18n._("Each page runs its lesson when it is opened (4-14 s): with {memory} GB of memory, lessons "
                        "are not run ahead by default (--preheat 1 keeps each one ready; it needs about 4 GB).").format(
            memory=i18n.format_number(kernel_pools.memory_gb(), 0)))
    log_path = runtime.cache_dir("logs") / f"serve-{int(port)}.log"
    announce(i18n._("Voila's own log (its warnings and every page's errors): {path}").format(path=log_path))
    announce(i18n._("Press Ctrl-C to stop."))
    import signal
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=lessons_dir, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, errors="replace")
        relay = threading.Thread(target=_relay_log, args=(process.stdout, log, announce), daemon=True)
        relay.start()

        def forward(signum, _frame):  # `kill`, a service manager: Voila must stop too
            process.send_signal(signum)

        previous = signal.signal(signal.SIGTERM, forward)
        try:
            code = process.wait()
        except KeyboardInterrupt:
            # Voila received the same Ctrl-C and shuts its kernels down; give it time.
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.terminate()
                code = process.wait()
        finally:
            signal.signal(signal.SIGTERM, previous)
        relay.join(timeout=5)
    if code not in (0, -signal.SIGINT, -signal.SIGTERM):
        announce(i18n._("Voila stopped with exit code {code}; its log is {path}").format(code=code, path=log_path))
    return code


#: Log lines worth a user's terminal: errors. Voila's and Jupyter's warnings ("Notebook … is
#: not trusted", "Kernel is running over TCP without encryption") stay in the log file only.
_SHOWN = re.compile(r"\b(ERROR|CRITICAL)\b|Traceback|^\S*Error:")


def _relay_log(stream, log, announce):
    """Copy Voila's output into ``log``; show its errors (and what follows them) to the user."""
    showing = False
    for line in stream:
        log.write(line)
        log.flush()
        if _SHOWN.search(line):
            showing = True
        elif not line[:1].isspace():
            showing = False
        if showing:
            announce(line.rstrip())
