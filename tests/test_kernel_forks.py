"""catdogkit.kernel_forks: page kernels forked from one process that imported TensorFlow."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager

from catdogkit import kernel_forks

pytestmark = pytest.mark.slow  # starts a fork server (TensorFlow's import) and real kernels


def test_the_kernel_spec_shadows_ipykernels_own(tmp_path, monkeypatch):
    spec_dir = kernel_forks.kernel_spec_dir(tmp_path, python="/venv/bin/python")
    spec = json.loads((spec_dir / "kernel.json").read_text())
    assert spec["argv"] == ["/venv/bin/python", "-m", "catdogkit.kernel_forks", "launch",
                            "-f", "{connection_file}"]
    assert spec["interrupt_mode"] == "signal"  # an interrupt reaches the launcher, which passes it on
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    found = KernelSpecManager().get_kernel_spec("python3")
    assert found.argv[:4] == spec["argv"][:4]


@pytest.fixture(scope="module")
def forks():
    with kernel_forks.ForkServer(dict(os.environ)) as server:
        assert server.socket_path.exists(), "the fork server never became ready"
        yield server
    assert not server.folder.exists()  # its socket and kernel spec are removed


def start_kernel(env, cwd):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # what Jupyter gives a kernel: its own environment, the spec found there
    try:
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(cwd=str(cwd))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    return manager, client


def run(client, code):
    """What ``code`` prints in the kernel, checked to have run without an error."""
    printed = []

    def output(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            printed.append("ERROR " + message["content"]["ename"])

    reply = client.execute_interactive(code, timeout=60, output_hook=output)
    assert reply["content"]["status"] == "ok", printed
    return "".join(printed)


def test_a_forked_kernel_runs_in_its_folder_with_its_environment(forks, tmp_path):
    env = {**forks.env, "CATDOGKIT_FORK_TEST": "mine"}
    manager, client = start_kernel(env, tmp_path)
    try:
        said = json.loads(run(client, (
            "import json, os, sys\n"
            "print(json.dumps({'pid': os.getpid(), 'cwd': os.getcwd(), "
            "'env': os.environ.get('CATDOGKIT_FORK_TEST'), "
            "'imported': 'tensorflow' in sys.modules, 'widgets': 'ipywidgets' in sys.modules}))")))
        assert said["cwd"] == str(tmp_path) and said["env"] == "mine"
        assert said["imported"] and not said["widgets"]  # TensorFlow came with the fork; widgets did not
        assert said["pid"] in [p.pid for p in psutil.Process(forks.process.pid).children()]
        assert said["pid"] != manager.provisioner.process.pid  # the launcher stands in for it
        # the kernel works as an ordinary one: a network runs, a widget registers its comm
        assert run(client, "import keras; print(keras.Sequential([keras.Input((2,)), "
                           "keras.layers.Dense(1)])(keras.ops.ones((1, 2))).shape)").strip() == "(1, 1)"
        run(client, "import ipywidgets; from IPython.display import display; display(ipywidgets.IntSlider())")
        # an interrupt reaches the kernel through its launcher
        msg_id = client.execute("import time; time.sleep(60)")
        time.sleep(1)
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=20)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "KeyboardInterrupt"
    finally:
        client.stop_channels()
        manager.shutdown_kernel()
    kernel = psutil.Process(said["pid"]) if psutil.pid_exists(said["pid"]) else None
    assert kernel is None or kernel.status() == psutil.STATUS_ZOMBIE or not kernel.is_running()


def test_a_kernel_whose_launcher_is_killed_ends_too(forks, tmp_path):
    manager, client = start_kernel(forks.env, tmp_path)
    pid = int(run(client, "import os; print(os.getpid())"))
    client.stop_channels()
    os.kill(manager.provisioner.process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 20
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the kernel outlived its launcher"
        time.sleep(0.2)
    manager.cleanup_resources()


def test_without_the_fork_server_the_launcher_is_an_ordinary_kernel(tmp_path):
    spec = tmp_path / "jupyter"
    kernel_forks.kernel_spec_dir(spec)
    env = {**os.environ, "JUPYTER_PATH": str(spec),
           kernel_forks.SOCKET_ENV: str(tmp_path / "no-such.sock")}
    manager, client = start_kernel(env, tmp_path)
    try:
        assert run(client, "import sys; print(sys.argv[0])").strip().endswith("ipykernel_launcher.py")
    finally:
        client.stop_channels()
        manager.shutdown_kernel()


def test_the_fork_server_ends_with_the_process_that_started_it():
    script = ("import os, time\n"
              "from catdogkit.kernel_forks import ForkServer\n"
              "forks = ForkServer(dict(os.environ)).start()\n"
              "print(forks.process.pid, forks.folder, flush=True)\n"
              "time.sleep(600)\n")
    starter = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pid, folder = starter.stdout.readline().split(maxsplit=1)
    server, folder = psutil.Process(int(pid)), Path(folder.strip())
    assert folder.is_dir()
    starter.kill()  # no clean-up runs: the fork server must notice by itself
    starter.wait()
    deadline = time.monotonic() + 60
    while server.is_running() and server.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the fork server outlived the process that started it"
        time.sleep(0.5)
    assert not folder.exists()  # its socket and kernel spec went with it


def test_the_command_line_says_how_to_call_it(capsys):
    assert kernel_forks.main(["nonsense"]) == 2
    assert "usage: python -m catdogkit.kernel_forks" in capsys.readouterr().err
