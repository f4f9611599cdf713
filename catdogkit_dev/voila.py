"""A Voila server in the background, for tests and benchmarks (needs psutil, a dev package)."""
import contextlib
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from catdogkit.errors import CatDogKitError
from catdogkit.kernel_forks import ForkServer
from catdogkit.serve import (
    DEFAULT_HOST, find_lessons_dir, free_port, page_url, prepare, translated_folders)


class VoilaServer:
    """A Voila server in the background, for tests and benchmarks.

    ``with VoilaServer(lessons_dir, log_path=...) as server:`` starts it on a free
    port of 127.0.0.1, waits until it answers, and stops it (and its kernels) on exit.
    """

    def __init__(self, lessons_dir=None, *, port=None, data=None, preheat=0, preheat_lessons=(),
                 extra_args=(), log_path=None, env=None, startup_timeout=60, fork_kernels=True):
        self.host = DEFAULT_HOST
        self.port = port or free_port(self.host)
        self.lessons_dir = find_lessons_dir(lessons_dir)
        self.extra_args = list(extra_args)
        self.preheat = preheat
        self.preheat_lessons = list(preheat_lessons)
        self.pools = {}  # {notebook file: kernels}, once started
        self.data = data
        self.log_path = Path(log_path) if log_path else None
        self.env_overrides = dict(env or {})
        self.startup_timeout = startup_timeout
        self.fork_kernels = fork_kernels
        self.forks = None
        self.process = None
        self._log = None

    @property
    def url(self):
        return page_url(self.host, self.port)

    def page(self, notebook):
        return page_url(self.host, self.port, notebook)

    def start(self):
        command, env, lessons_dir, self.pools = prepare(
            self.port, self.data, open_browser=False, lessons=self.lessons_dir, host=self.host,
            preheat=self.preheat, preheat_lessons=self.preheat_lessons, extra_args=self.extra_args)
        env.update(self.env_overrides)
        if self.fork_kernels:  # as `catdogkit serve` does
            self.forks = ForkServer(env).start()
            if self.forks.wait_until_ready():
                env = self.forks.env
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
        """The kernel processes this server started (psutil objects): ordinary ones, and
        the fork server's copies (their launchers, which only wait, left out)."""
        if self.process is None or self.process.poll() is not None:
            return []
        kernels = []
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.process.pid).children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    if "ipykernel_launcher" in " ".join(child.cmdline()):
                        kernels.append(child)
        if self.forks is not None and self.forks.process.poll() is None:
            with contextlib.suppress(psutil.Error):
                kernels += psutil.Process(self.forks.process.pid).children()
        return kernels

    def pool_size(self):
        """How many pre-heated kernels the server keeps: ``preheat`` per notebook (or its
        own pool's size), the translated lessons left out (``catdogkit serve`` keeps no
        pool for them)."""
        translated = [folder for _lang, folder in translated_folders(self.lessons_dir)]
        notebooks = [p for p in self.lessons_dir.rglob("*.ipynb") if ".ipynb_checkpoints" not in str(p)
                     and not any(folder in p.parents for folder in translated)]
        return sum(self.pools.get(p.name, self.preheat) for p in notebooks)

    def wait_for_pools(self, timeout=600):
        """Wait until no page is open and every pre-heated kernel has run its notebook
        (all kernels together under 0.1 CPU-second in 2 s); returns the seconds waited.

        Without pre-heating, waits until every kernel is gone. Tests and benchmarks time
        pages from this state: the one a visitor finds on a server that has warmed up.
        """
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

    def wait_until_idle(self, seconds, timeout=600):
        """Wait until every kernel of this server has used no CPU for ``seconds`` in a row
        (the state a page finds after its kernel sat unused); returns the seconds waited."""
        started = time.monotonic()
        quiet_since, last = started, None
        while time.monotonic() - started < timeout:
            try:
                used = sum(sum(p.cpu_times()[:2]) for p in self.kernel_processes())
            except psutil.Error:  # a kernel ended while we looked: look again
                used = None
            now = time.monotonic()
            if used is None or last is None or used - last > 0.05:
                quiet_since = now
            last = used
            if now - quiet_since >= seconds:
                return now - started
            time.sleep(0.25)
        raise CatDogKitError(f"The kernels of {self.url} never stayed idle for {seconds} s "
                             f"within {timeout} s (log: {self.log_path}).")

    def log_text(self):
        if self._log:
            self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""

    def stop(self):
        if self.process is None:
            return
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
        if self.forks is not None:
            self.forks.stop()
            self.forks = None
        if self._log:
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
