"""`catdogkit serve`: the Voila command line, its settings, its errors, and never the root.

Fast tests: no server runs here except where a test says so (the real pages are
tested in tests/test_voila_browser.py).
"""
import json
import socket
import subprocess
import sys

import nbformat
import pytest

from catdogkit import course, kernel_forks, kernel_pools
from catdogkit import serve as serve_module
from catdogkit.cli import main
from catdogkit.constants import MAX_UPLOAD_BYTES
from catdogkit.errors import CatDogKitError


def _notebook(path, heading, code="x = 1"):
    nb = nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_code_cell(code)]
    if heading is not None:
        cells.insert(0, nbformat.v4.new_markdown_cell(heading))
    nb.cells = cells
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"}}
    nbformat.write(nb, path)


@pytest.fixture
def lessons(tmp_path, repo):
    folder = tmp_path / "lessons"
    folder.mkdir()
    _notebook(folder / "00_first.ipynb", "# The *first* lesson\n\nSome prose.")
    _notebook(folder / "01_second.ipynb", "Intro text\n\n## Second: `layers` [here](x.md)")
    _notebook(folder / "02_no_heading.ipynb", None)
    _notebook(folder / "scratch.ipynb", "# Not a lesson")
    (folder / "voila.json").write_text((repo / "lessons" / "voila.json").read_text())
    return folder


@pytest.fixture
def listening_port():
    """A port another program is listening on, for as long as the test runs."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield sock.getsockname()[1]


@pytest.fixture
def prepared(monkeypatch):
    """Record which data `catdogkit serve` would train the lesson models on, instead of training."""
    from catdogkit import training
    calls = []
    monkeypatch.setattr(training, "prepare_lessons", lambda data=None, **_: calls.append(data))
    return calls


#: What Voila prints on a normal start with lessons that are not trusted, then one error.
FAKE_VOILA_OUTPUT = [
    "[Voila] WARNING | Notebook 03_feature_maps.ipynb is not trusted\n",
    "[Voila] WARNING | Kernel is running over TCP without encryption\n",
    "[Voila] Voila is running at: http://127.0.0.1:8866/\n",
    "[Voila] ERROR | Uncaught exception GET /voila/render/07.ipynb\n",
    "    Traceback (most recent call last):\n",
    "[Voila] WARNING | 404 GET /favicon.ico\n",
]


@pytest.fixture
def fake_popen(monkeypatch, prepared):
    """Record what `catdogkit serve` would start instead of starting Voila."""
    calls = []

    class FakeProcess:
        def __init__(self, command, cwd=None, env=None, **kwargs):
            calls.append({"command": command, "cwd": cwd, "env": env})
            self.stdout = iter(FAKE_VOILA_OUTPUT)

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(serve_module.subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(serve_module.kernel_forks, "ForkServer", FakeForkServer)
    FakeForkServer.made.clear()
    return calls


class FakeForkServer:
    """Stands in for the fork server (tests/test_kernel_forks.py runs the real one)."""
    made = []

    def __init__(self, env):
        self.env = {**env, kernel_forks.SOCKET_ENV: "/fake/forks.sock"}
        self.events = []
        FakeForkServer.made.append(self)

    def start(self):
        self.events.append("start")
        return self

    def wait_until_ready(self):
        self.events.append("ready")
        return True

    def stop(self):
        self.events.append("stop")


# --- errors: clear message, non-zero exit -------------------------------------------------

def test_port_in_use_is_a_clear_error(lessons, listening_port, monkeypatch, capsys, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    code = main(["serve", "--port", str(listening_port), "--no-browser"])
    err = capsys.readouterr().err
    assert code != 0
    assert f"Port {listening_port}" in err and "already in use" in err
    assert "--port" in err  # says what to do
    assert "Traceback" not in err
    assert fake_popen == []  # Voila never started


def test_port_in_use_from_a_real_process(lessons, listening_port):
    """The installed command: exit code and message, no traceback."""
    result = subprocess.run(
        [sys.executable, "-m", "catdogkit", "serve", "--no-training", "--port", str(listening_port),
         "--no-browser"],
        capture_output=True, text=True, timeout=60,
        env={**__import__("os").environ, serve_module.LESSONS_ENV: str(lessons)})
    assert result.returncode == 4, result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_lessons_folder(tmp_path, monkeypatch, capsys, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(tmp_path / "nowhere"))
    code = main(["serve", "--no-browser"])
    err = capsys.readouterr().err
    assert code == 2
    assert "No lessons folder" in err and str(tmp_path / "nowhere") in err
    assert fake_popen == []


def test_lessons_folder_without_notebooks(tmp_path):
    with pytest.raises(CatDogKitError, match="holds no notebook"):
        serve_module.find_lessons_dir(tmp_path)


def test_voila_not_installed(monkeypatch, capsys, fake_popen):
    real_find_spec = serve_module.importlib.util.find_spec
    monkeypatch.setattr(serve_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "voila" else real_find_spec(name, *a))
    code = main(["serve", "--no-browser"])
    err = capsys.readouterr().err
    assert code == 3
    assert "Voila is not installed" in err and "pip install" in err
    assert fake_popen == []


def test_missing_data_folder(lessons, monkeypatch, capsys, fake_popen, tmp_path):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    code = main(["serve", "--no-browser", "--port", str(serve_module.free_port()),
                 "--data", str(tmp_path / "no-photos")])
    assert code == 2
    assert "no such folder" in capsys.readouterr().err


def test_invalid_port():
    with pytest.raises(CatDogKitError, match="not a valid port"):
        serve_module.check_port(70000)


# --- never the repository root ------------------------------------------------------------

def test_default_folder_is_the_lessons_folder(repo, monkeypatch):
    monkeypatch.delenv(serve_module.LESSONS_ENV, raising=False)
    assert serve_module.find_lessons_dir() == (repo / "lessons").resolve()


@pytest.mark.parametrize("marker", ["solutions", "exercises", "pyproject.toml", ".git"])
def test_refuses_a_folder_that_looks_like_a_repository_root(lessons, marker):
    target = lessons / marker
    target.mkdir() if "." not in marker or marker == ".git" else target.write_text("")
    with pytest.raises(CatDogKitError, match="repository root"):
        serve_module.find_lessons_dir(lessons)


def test_refuses_the_repository_root(repo):
    with pytest.raises(CatDogKitError, match="solutions"):
        serve_module.find_lessons_dir(repo)


def test_command_serves_only_the_lessons_folder(repo, monkeypatch):
    monkeypatch.delenv(serve_module.LESSONS_ENV, raising=False)
    command, env, folder, pools = serve_module.prepare(serve_module.free_port(), open_browser=False)
    lessons = str((repo / "lessons").resolve())
    assert folder == (repo / "lessons").resolve()
    assert pools == {}  # no lesson keeps a pool of its own unless asked
    assert command[:4] == [sys.executable, "-m", "voila", lessons]
    positional = [arg for arg in command[3:] if not arg.startswith("-")]
    assert positional == [lessons]  # no second folder, never the repository root
    assert "--Voila.ip=127.0.0.1" in command
    assert "--Voila.port_retries=0" in command  # a taken port is an error, not another port
    assert "--no-browser" in command


def test_cli_starts_voila_in_the_lessons_folder_with_data(repo, tmp_path, monkeypatch,
                                                          capsys, fake_popen):
    monkeypatch.delenv(serve_module.LESSONS_ENV, raising=False)
    monkeypatch.setattr(kernel_pools, "memory_gb", lambda: 24.0)
    monkeypatch.delenv(serve_module.DATA_ENV, raising=False)
    photos = tmp_path / "photos"
    photos.mkdir()
    port = serve_module.free_port()
    assert main(["serve", "--port", str(port), "--data", str(photos), "--no-browser"]) == 0
    out = capsys.readouterr().out
    [call] = fake_popen
    assert call["cwd"] == (repo / "lessons").resolve()
    assert call["env"][serve_module.DATA_ENV] == str(photos.resolve())  # kernels inherit it
    assert call["env"]["TF_CPP_MIN_LOG_LEVEL"] and call["env"]["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert f"--port={port}" in call["command"]
    assert f"http://127.0.0.1:{port}/" in out
    assert str(photos.resolve()) in out
    # with 16 GB or more, every lesson is run ahead in one kernel, so a page is ready at once
    assert "--VoilaConfiguration.preheat_kernel=True" in call["command"]
    assert f"--VoilaConfiguration.default_pool_size={kernel_pools.DEFAULT_PREHEAT}" in call["command"]
    assert "run ahead" in out


def test_a_lesson_can_keep_a_pool_sized_for_a_class(lessons, monkeypatch, capsys, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    monkeypatch.setattr(kernel_pools, "memory_gb", lambda: 7.7)  # no pools by default here
    assert main(["serve", "--port", str(serve_module.free_port()), "--no-training",
                 "--preheat-lesson", "01=12"]) == 0
    command = fake_popen[-1]["command"]
    assert "--VoilaConfiguration.preheat_kernel=True" in command
    assert "--VoilaConfiguration.default_pool_size=0" in command  # the other lessons keep none
    [sizes] = [arg.split("=", 1)[1] for arg in command
               if arg.startswith("--VoilaKernelManager.kernel_pools_config=")]
    assert json.loads(sizes) == {"default": {"pool_size": 0}, "01_second.ipynb": {"pool_size": 12}}
    assert "01_second.ipynb keeps 12 kernel(s) ready" in capsys.readouterr().out


@pytest.mark.parametrize("value, words", [
    ("01", "give LESSON=KERNELS"), ("01=many", "give LESSON=KERNELS"), ("01=-2", "give LESSON=KERNELS"),
    ("99=5", "names 0 lessons"), ("0=5", "names 3 lessons")])
def test_a_bad_lesson_pool_is_a_clear_error(lessons, monkeypatch, capsys, fake_popen, value, words):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    assert main(["serve", "--port", str(serve_module.free_port()), "--no-training",
                 "--preheat-lesson", value]) != 0
    err = capsys.readouterr().err
    assert f"--preheat-lesson {value}" in err and words in err and "Traceback" not in err
    assert fake_popen == []  # Voila never started


def test_no_pool_options_unless_a_pool_is_asked_for():
    assert kernel_pools.voila_options(0) == [] == kernel_pools.voila_options(0, {"07.ipynb": 0})
    options = kernel_pools.voila_options(2, denied=["es"])
    assert "--VoilaConfiguration.default_pool_size=2" in options
    assert "--VoilaKernelManager.preheat_denylist=es/" in options
    assert not any("kernel_pools_config" in option for option in options)


def test_page_kernels_are_forked_unless_asked_otherwise(lessons, monkeypatch, capsys, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    assert main(["serve", "--port", str(serve_module.free_port()), "--no-training"]) == 0
    [forks] = FakeForkServer.made
    assert forks.events == ["start", "ready", "stop"]  # stopped with the server
    assert fake_popen[-1]["env"][kernel_forks.SOCKET_ENV] == "/fake/forks.sock"  # Voila's launchers find it
    assert "copies of one process" in capsys.readouterr().out
    assert main(["serve", "--port", str(serve_module.free_port()), "--no-training",
                 "--no-kernel-forks"]) == 0
    assert len(FakeForkServer.made) == 1 and kernel_forks.SOCKET_ENV not in fake_popen[-1]["env"]


def test_a_fork_server_that_never_gets_ready_leaves_ordinary_kernels(lessons, monkeypatch, capsys,
                                                                     fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    monkeypatch.setattr(FakeForkServer, "wait_until_ready", lambda self: False)
    assert main(["serve", "--port", str(serve_module.free_port()), "--no-training"]) == 0
    assert kernel_forks.SOCKET_ENV not in fake_popen[-1]["env"]
    assert "did not start" in capsys.readouterr().out
    assert FakeForkServer.made[-1].events == ["start", "stop"]


def _preheats(call):
    return any(arg.startswith(("--VoilaConfiguration.preheat", "--VoilaConfiguration.default_pool"))
               for arg in call["command"])


def test_preheat_zero_turns_it_off_and_a_negative_count_is_refused(lessons, monkeypatch,
                                                                  capsys, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    monkeypatch.setattr(kernel_pools, "memory_gb", lambda: 24.0)
    assert main(["serve", "--port", str(serve_module.free_port()), "--preheat", "0"]) == 0
    [call] = fake_popen
    assert not _preheats(call)
    assert "run ahead" not in capsys.readouterr().out
    assert main(["serve", "--port", str(serve_module.free_port()), "--preheat", "-1"]) != 0
    err = capsys.readouterr().err
    assert "--preheat -1" in err and "0 or more" in err and "Traceback" not in err
    assert len(fake_popen) == 1  # Voila never started


def test_a_small_machine_does_not_preheat_unless_asked(lessons, monkeypatch, capsys, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    monkeypatch.setattr(kernel_pools, "memory_gb", lambda: 7.7)  # a student's 8 GB laptop
    assert main(["serve", "--port", str(serve_module.free_port())]) == 0
    assert not _preheats(fake_popen[-1])
    out = capsys.readouterr().out
    assert "8 GB of memory" in out and "--preheat 1" in out
    assert main(["serve", "--port", str(serve_module.free_port()), "--preheat", "2"]) == 0
    assert "--VoilaConfiguration.default_pool_size=2" in fake_popen[-1]["command"]


def test_without_data_the_kernels_get_no_data_variable(lessons, monkeypatch, fake_popen):
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    monkeypatch.delenv(serve_module.DATA_ENV, raising=False)
    assert main(["serve", "--port", str(serve_module.free_port())]) == 0
    [call] = fake_popen
    assert serve_module.DATA_ENV not in call["env"]  # the kit falls back to the sample
    assert "--no-browser" not in call["command"]


# --- the settings Voila reads -------------------------------------------------------------

def test_voila_json_is_the_documented_configuration(repo):
    config = json.loads((repo / "lessons" / "voila.json").read_text())
    assert config == serve_module.read_config(repo / "lessons")
    assert config["VoilaConfiguration"]["strip_sources"] is True
    assert config["VoilaConfiguration"]["show_tracebacks"] is False
    assert config["VoilaConfiguration"]["allow_template_override"] == "NO"
    assert config["MappingKernelManager"]["cull_idle_timeout"] > 0
    assert config["MappingKernelManager"]["cull_interval"] > 0
    limit = config["Voila"]["tornado_settings"]["websocket_max_message_size"]
    assert 1 << 20 <= limit <= 10 << 20  # room for a photo, below Tornado's 10 MiB default
    assert limit == MAX_UPLOAD_BYTES  # the photo picker refuses what the page could not send


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_voila_reads_the_settings_from_the_command(repo, monkeypatch):
    """Voila's own parser, fed our command line, ends up with our settings."""
    monkeypatch.delenv(serve_module.LESSONS_ENV, raising=False)
    from voila.app import Voila
    port = serve_module.free_port()
    command = serve_module.build_command(repo / "lessons", port=port, open_browser=False, preheat=2,
                                         extra_args=["--MappingKernelManager.cull_interval=7"])
    app = Voila()
    app.initialize(command[3:])
    assert app.root_dir == str((repo / "lessons").resolve())
    assert app.config_file_paths == [str((repo / "lessons").resolve())]
    assert (app.ip, app.port, app.port_retries, app.open_browser) == ("127.0.0.1", port, 0, False)
    assert app.voila_configuration.strip_sources is True
    assert app.voila_configuration.show_tracebacks is False
    assert app.voila_configuration.preheat_kernel is True
    assert app.voila_configuration.default_pool_size == 2
    from catdogkit.voila_kernels import HandoverKernelManager
    assert app.voila_configuration.multi_kernel_manager_class is HandoverKernelManager
    assert app.tornado_settings["websocket_max_message_size"] == MAX_UPLOAD_BYTES
    kernels = app.config.MappingKernelManager
    assert int(kernels.cull_idle_timeout) == serve_module.read_config(repo / "lessons")[
        "MappingKernelManager"]["cull_idle_timeout"]
    assert int(kernels.cull_interval) == 7  # the command line wins over the file
    assert not any(p.search("00_x.ipynb") for p in map(__import__("re").compile,
                   app.voila_configuration.file_allowlist))


def test_broken_voila_json_is_reported_before_voila_starts(lessons, fake_popen):
    (lessons / "voila.json").write_text("{not json")
    with pytest.raises(CatDogKitError, match="not valid JSON"):
        serve_module.prepare(serve_module.free_port(), lessons=lessons)
    assert fake_popen == []


# --- the index page -----------------------------------------------------------------------

def test_lesson_titles_come_from_the_first_heading(lessons):
    assert course.lesson_titles(lessons) == [
        ("00_first.ipynb", "The first lesson"),
        ("01_second.ipynb", "Second: layers here"),
        ("02_no_heading.ipynb", "No heading"),
    ]


def test_the_index_template_gets_the_titles(lessons, recwarn):
    """Voila's parser, fed the command, hands the template the heading and every title,
    without the deprecation warning a JSON dict option gets."""
    from voila.app import Voila
    command = serve_module.build_command(lessons, port=serve_module.free_port(), open_browser=False)
    assert "--template=catdogkit" in command
    assert "--VoilaConfiguration.classic_tree=True" in command
    app = Voila()
    app.initialize(command[3:])
    settings = app.voila_configuration.extension_config
    assert settings["catdogkit.heading"] == serve_module.INDEX_HEADING
    titles = {key.removeprefix("catdogkit.title."): value for key, value in settings.items()
              if key.startswith("catdogkit.title.")}
    assert titles == dict(course.lesson_titles(lessons))
    assert not [w for w in recwarn if "extension_config" in str(w.message)]
    assert "scratch.ipynb" not in titles
    env = serve_module.build_env()
    assert env["MALLOC_ARENA_MAX"] == "2"  # kernels inherit it: less memory per page
    assert env["JUPYTER_PATH"].split(__import__("os").pathsep)[0] == str(serve_module.TEMPLATE_ROOT)
    template = serve_module.TEMPLATE_ROOT / "voila" / "templates" / "catdogkit"
    assert json.loads((template / "conf.json").read_text())["base_template"] == "lab"
    assert "catdogkit-lesson-title" in (template / "tree.html").read_text()
    assert "_xsrf" in (template / "index.html.j2").read_text()  # closing a page frees its kernel


def test_every_real_lesson_has_its_course_title_once(repo):
    from catdogkit import course
    titles = course.lesson_titles(repo / "lessons")
    assert titles == [(f"{name}.ipynb", course.lesson_title(name)) for name in course.lesson_names()]


def test_the_index_names_the_spanish_lessons_in_spanish_and_keeps_them_out_of_the_pools(repo):
    settings = serve_module.index_settings(repo / "lessons")
    assert settings["catdogkit.folder.es"].startswith("Español")
    assert settings["catdogkit.title.es/03_feature_maps.ipynb"] == "Visualizar mapas de características"
    assert settings["catdogkit.title.03_feature_maps.ipynb"] == "Visualizing feature maps"
    command = serve_module.build_command(repo / "lessons", port=serve_module.free_port(),
                                         open_browser=False, preheat=1)
    assert "--VoilaKernelManager.preheat_denylist=es/" in command
    assert not any("denylist" in part for part in serve_module.build_command(
        repo / "lessons", port=serve_module.free_port(), open_browser=False, preheat=0))


def test_a_lesson_heading_loses_its_lesson_number_on_the_index(tmp_path):
    _notebook(tmp_path / "08_extra.ipynb", "# Lesson 08 · Something extra")
    assert course.lesson_titles(tmp_path) == [("08_extra.ipynb", "Something extra")]


def test_serve_shows_errors_and_keeps_warnings_in_its_log(lessons, monkeypatch, capsys, fake_popen,
                                                          tmp_path):
    """The terminal gets the URL and Voila's errors; warnings a user cannot act on stay in
    the log file whose path it prints."""
    monkeypatch.setenv(serve_module.LESSONS_ENV, str(lessons))
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path / "cache"))
    assert main(["serve", "--port", str(serve_module.free_port()), "--no-training",
                 "--no-browser"]) == 0
    out = capsys.readouterr().out
    assert "not trusted" not in out and "without encryption" not in out and "favicon" not in out
    assert "Uncaught exception GET /voila/render/07.ipynb" in out and "Traceback" in out
    log = next((tmp_path / "cache" / "logs").glob("serve-*.log"))
    assert str(log) in out
    assert "not trusted" in log.read_text() and "Uncaught exception" in log.read_text()


@pytest.mark.slow
def test_serve_runs_voila_and_stops_it_on_sigterm(lessons):
    """The real command: the index answers on 127.0.0.1, and stopping the command
    (SIGTERM, as `kill` or a service manager sends) stops Voila with it."""
    import os
    import signal
    import time
    import urllib.request
    port = serve_module.free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "catdogkit", "serve", "--no-training", "--no-browser", "--port", str(port)],
        env={**os.environ, serve_module.LESSONS_ENV: str(lessons)},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    page = answer.read().decode()
                break
            except OSError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "Voila did not answer"
                time.sleep(0.2)
        assert "The first lesson" in page and "scratch.ipynb" in page
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while True:  # the port is free again: Voila is gone too
            try:
                serve_module.check_port(port)
                break
            except CatDogKitError:
                assert time.monotonic() < deadline, "Voila outlived `catdogkit serve`"
                time.sleep(0.2)
        assert f"http://127.0.0.1:{port}/" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_serve_trains_the_lesson_models_first_on_the_served_data(tmp_path, monkeypatch,
                                                                  fake_popen, prepared):
    monkeypatch.delenv(serve_module.LESSONS_ENV, raising=False)
    photos = tmp_path / "photos"
    photos.mkdir()
    port = serve_module.free_port()
    assert main(["serve", "--port", str(port), "--data", str(photos), "--no-browser"]) == 0
    assert prepared == [str(photos.resolve())] and len(fake_popen) == 1
    assert main(["serve", "--port", str(port), "--no-training", "--no-browser"]) == 0
    assert prepared == [str(photos.resolve())] and len(fake_popen) == 2


@pytest.mark.slow
def test_a_lesson_pool_fills_on_a_real_voila(lessons, tmp_path):
    """Voila takes the pool sizes from the command line: two kernels for that lesson, none else."""
    from catdogkit_dev.voila import VoilaServer

    with VoilaServer(lessons, preheat=0, preheat_lessons=["01=2"], log_path=tmp_path / "voila.log") as server:
        assert server.pool_size() == 2
        server.wait_for_pools(timeout=180)  # until exactly that many kernels have run their notebook
        assert len(server.kernel_processes()) == 2
        assert "Kernel pool of 01_second.ipynb is filled with 2 kernel(s)" in server.log_text()
