"""Lesson kernels forked from a process that has already imported TensorFlow.

Every page view of ``catdogkit serve`` runs its lesson in a new kernel, and before the
lesson's first cell does anything, importing TensorFlow and Keras costs that kernel about
4 CPU seconds (``benchmarks/voila_first_widget.py``): ten students opening a page at once
pay it ten times on two cores. ``catdogkit serve`` therefore starts one *fork server*
that imports them once; each kernel Voila starts is a small launcher
(``python -m catdogkit.kernel_forks launch -f CONNECTION_FILE``, the ``python3`` kernel
spec that :func:`kernel_spec_dir` writes) that asks the fork server for a copy of it
(``os.fork``: milliseconds, and the imported libraries' memory is shared until written).
The copy becomes the ipykernel, in the launcher's folder, with its environment and its
standard streams; the launcher stands in for it towards Jupyter: it passes signals on
(interrupt, terminate) and exits when the kernel does, and a kernel whose launcher is
killed exits too. When the fork server is not there (not ready, stopped), the launcher
becomes an ordinary kernel, so a page never fails because of it.

ipywidgets is not imported before the fork: it registers its comm target on import only
inside a running kernel.

Introduced in lesson 00 (the lessons as web pages).
"""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

#: The environment variable that gives launchers the fork server's socket.
SOCKET_ENV = "CATDOGKIT_KERNEL_FORKS"
#: What the fork server imports once for every kernel (all of it safe outside a kernel).
PRELOADED = ("numpy", "tensorflow", "keras", "matplotlib", "PIL.Image", "ipykernel.kernelapp",
             "catdogkit.models", "catdogkit.training", "catdogkit.visualize")
#: Seconds a launcher and the fork server wait for each other before giving up.
REQUEST_TIMEOUT_S = 30
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_PASSED_ON = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
              signal.SIGUSR2)


def kernel_spec_dir(folder, python=sys.executable):
    """Write the ``python3`` kernel spec that launches forked kernels under ``folder``.

    ``folder`` goes first on ``JUPYTER_PATH``; the spec shadows ipykernel's own one there.
    Returns the spec's folder.
    """
    spec = Path(folder) / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "catdogkit.kernel_forks", "launch", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python", "interrupt_mode": "signal",
        "metadata": {"debugger": True},
    }, indent=1), encoding="utf-8")
    return spec


class ForkServer:
    """The fork server as a child process, and the environment that makes Voila use it.

    ``forks = ForkServer(env)`` writes the kernel spec; ``forks.env`` is ``env`` with
    what Voila and its launchers need. ``start()`` starts the server (it imports for a
    few seconds: do other work meanwhile), ``wait_until_ready()`` waits for it, ``stop()``
    ends it and removes its files; ``with ForkServer(env) as forks:`` does all three.
    Kernels started before it is ready are ordinary ones.
    """

    def __init__(self, env):
        self.folder = Path(tempfile.mkdtemp(prefix="catdogkit-forks-"))
        self.socket_path = self.folder / "forks.sock"
        kernel_spec_dir(self.folder / "jupyter")
        self.env = dict(env)
        self.env[SOCKET_ENV] = str(self.socket_path)
        self.env["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (str(self.folder / "jupyter"), env.get("JUPYTER_PATH")) if p)
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "catdogkit.kernel_forks", "serve", str(self.socket_path), str(os.getpid())],
            env=self.env, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def wait_until_ready(self, timeout=120):
        """True once the server accepts kernels; False if it ended or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while not self.socket_path.exists():
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)  # made by this object alone

    def __enter__(self):
        self.start().wait_until_ready()
        return self

    def __exit__(self, *_exc):
        self.stop()


def serve(socket_path, parent):
    """Run the fork server on ``socket_path`` until terminated or until the process
    ``parent`` that started it ends (``... kernel_forks serve SOCKET PARENT_PID``)."""
    import importlib

    from catdogkit import runtime

    runtime.silence_tensorflow_logs()
    os.environ.setdefault("MPLBACKEND", _INLINE_BACKEND)  # what ipykernel sets before a lesson runs
    for name in PRELOADED:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernels' exits need no waiting for
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ready = f"{socket_path}.{os.getpid()}"
    listener.bind(ready)
    listener.listen(64)
    os.replace(ready, socket_path)  # launchers see the socket only once it accepts
    # Watched from here on: removing the folder while the socket was being made in it could
    # leave the new socket, and so the folder, behind.
    threading.Thread(target=_exit_with, args=(parent, Path(socket_path).parent), daemon=True).start()
    try:
        while True:
            connection, _address = listener.accept()
            try:
                _fork_kernel(listener, connection)
            except (OSError, ValueError):  # a launcher that went away or sent nonsense: it falls back
                pass
            connection.close()
    finally:
        listener.close()


def _exit_with(parent, folder):
    # A starter killed without its clean-up (SIGKILL) must not leave 0.5 GB behind, nor
    # its folder in /tmp (the ForkServer's own, which nothing else uses).
    while os.getppid() == parent:
        time.sleep(1)
    shutil.rmtree(folder, ignore_errors=True)
    os._exit(0)


def _fork_kernel(listener, connection):
    connection.settimeout(REQUEST_TIMEOUT_S)  # a stuck client must not hold up every other kernel
    message, fds, _flags, _address = socket.recv_fds(connection, 1 << 16, 3)
    while not message.endswith(b"\n"):
        chunk = connection.recv(1 << 16)
        if not chunk:
            for fd in fds:
                os.close(fd)
            raise ConnectionError("the launcher closed the connection mid-request")
        message += chunk
    try:
        request = json.loads(message)
    except ValueError:
        for fd in fds:
            os.close(fd)
        raise
    connection.settimeout(None)
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        connection.sendall(f"{pid}\n".encode())
        return
    try:
        listener.close()
        _become_kernel(connection, fds, request)
    finally:
        os._exit(1)  # a forked child never returns into the server's loop


def _become_kernel(connection, fds, request):
    os.setsid()
    for signum in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    import numpy as np

    np.random.seed()  # each kernel its own global NumPy state (Python's random reseeds itself)

    def launcher_gone():  # the launcher holds the other end: EOF means it was killed
        while connection.recv(1):
            pass
        os._exit(1)

    threading.Thread(target=launcher_gone, daemon=True).start()
    # ipykernel read $JPY_PARENT_PID when the fork server imported it, before there was one.
    parent = f"--IPKernelApp.parent_handle={int(os.environ.get('JPY_PARENT_PID') or 0)}"
    sys.argv = [sys.executable, *request["argv"], parent]
    from ipykernel import kernelapp

    code = 0
    try:
        kernelapp.launch_new_instance()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 0
    atexit._run_exitfuncs()  # what an ordinary kernel's interpreter would run at its exit
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def launch(argv):
    """Be the kernel Jupyter started (``... kernel_forks launch -f FILE``): a fork of the
    fork server when it answers, else an ordinary ipykernel in this process."""
    path = os.environ.get(SOCKET_ENV)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(REQUEST_TIMEOUT_S)  # a busy or stuck server: become an ordinary kernel
        connection.connect(path or "")
        request = {"argv": list(argv), "cwd": os.getcwd(), "env": dict(os.environ)}
        socket.send_fds(connection, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = connection.recv(64)
            if not chunk:
                raise ConnectionError("the fork server closed the connection")
            reply += chunk
        pid = int(reply)
        connection.settimeout(None)
    except (OSError, ValueError):
        connection.close()
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])
    for signum in _PASSED_ON:
        signal.signal(signum, lambda received, _frame: _pass_on(pid, received))
    while connection.recv(1):  # returns b"" when the kernel, which holds the other end, ends
        pass
    return 0


def _pass_on(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"] and len(argv) == 3 and argv[2].isdigit():
        return serve(argv[1], int(argv[2]))
    if argv[:1] == ["launch"]:
        return launch(argv[1:])
    print("usage: python -m catdogkit.kernel_forks serve SOCKET PARENT_PID | launch -f CONNECTION_FILE",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
