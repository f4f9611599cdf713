"""The kernel manager of `catdogkit serve --preheat`: a kernel handed out of Voila's pool
is not culled before its page connects."""
import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

pytest.importorskip("jupyter_server")

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager  # noqa: E402

from catdogkit import voila_kernels  # noqa: E402


def run(coroutine):
    """Run a coroutine in a thread of its own: the browser tests' Playwright may hold an
    event loop in this one, and asyncio.run refuses to start a second."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


@pytest.fixture
def manager(monkeypatch):
    culled = []

    async def cull(self, kernel_id):  # the real culler: shut down when idle long enough
        culled.append(kernel_id)

    monkeypatch.setattr(AsyncMappingKernelManager, "cull_kernel_if_idle", cull)
    clock = [1000.0]
    monkeypatch.setattr(voila_kernels.time, "monotonic", lambda: clock[0])
    kernels = voila_kernels.HandoverKernelManager(cull_idle_timeout=300)
    spec_timeout = SimpleNamespace(metadata={"cull_idle_timeout": 600})
    kernels._kernels.update({"handed": SimpleNamespace(execution_state="idle"),
                             "dead": SimpleNamespace(execution_state="dead"),
                             "own_timeout": SimpleNamespace(execution_state="idle",
                                                            kernel_spec=spec_timeout)})
    return SimpleNamespace(kernels=kernels, culled=culled, clock=clock)


def test_a_kernel_gets_the_whole_timeout_from_when_the_culler_first_sees_it(manager):
    run(manager.kernels.cull_kernel_if_idle("handed"))  # just handed out of the pool
    manager.clock[0] += 299
    run(manager.kernels.cull_kernel_if_idle("handed"))
    assert manager.culled == []  # its page still has time to connect
    manager.clock[0] += 2
    run(manager.kernels.cull_kernel_if_idle("handed"))
    assert manager.culled == ["handed"]  # then the usual idle rules decide


def test_a_dead_kernel_goes_at_once_and_forgotten_kernels_are_dropped(manager):
    run(manager.kernels.cull_kernel_if_idle("dead"))
    assert manager.culled == ["dead"]
    del manager.kernels._kernels["dead"]
    run(manager.kernels.cull_kernel_if_idle("handed"))
    assert set(manager.kernels._first_seen) == {"handed"}


def test_a_kernel_spec_with_its_own_timeout_gets_that_much(manager):
    """jupyter_server reads ``cull_idle_timeout`` from a kernel spec's metadata; so do we."""
    run(manager.kernels.cull_kernel_if_idle("own_timeout"))
    manager.clock[0] += 301
    run(manager.kernels.cull_kernel_if_idle("own_timeout"))
    assert manager.culled == []  # past the server's 300 s, within the spec's 600 s
    manager.clock[0] += 300
    run(manager.kernels.cull_kernel_if_idle("own_timeout"))
    assert manager.culled == ["own_timeout"]
