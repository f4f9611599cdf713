"""The kernel manager of `catdogkit serve --preheat`: a kernel handed out of Voila's pool
is not culled before its page connects, and the pool refills once the pages being served
are done."""
import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
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


@pytest.fixture
def refills(monkeypatch):
    """A manager with one visitor's kernel (``page``) and one pre-heated kernel in the
    pool (``ready``); ``started`` records every kernel start that got through."""
    started = []

    async def start(self, *args, **kwargs):
        started.append(asyncio.current_task().get_name())
        return "new"

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", start)
    monkeypatch.setattr(voila_kernels, "REFILL_POLL_S", 0.01)
    monkeypatch.setattr(voila_kernels, "REFILL_QUIET_S", 0.3)
    kernels = voila_kernels.HandoverKernelManager()
    long_ago = datetime.now(timezone.utc) - timedelta(hours=1)
    kernels._kernels.update({"page": SimpleNamespace(last_activity=long_ago),
                             "ready": SimpleNamespace(last_activity=long_ago)})
    kernels._kernel_connections.update({"page": 0, "ready": 0})
    return SimpleNamespace(kernels=kernels, started=started)


async def _with_a_pool(kernels, *, claimed=False):
    """Start a replacement as Voila's pool does (from the task it keeps in the pool, with
    the ready kernel's task beside it); ``claimed``: a visitor took it from the pool."""
    async def ready():
        return {"kernel_id": "ready"}

    loop = asyncio.get_running_loop()
    ready_task = loop.create_task(ready())
    await ready_task
    refill = loop.create_task(kernels.start_kernel(), name="refill")
    kernels._pools = {"07_improved_model.ipynb": [ready_task] + ([] if claimed else [refill])}
    return refill


def test_a_replacement_waits_until_the_pages_being_served_are_connected_and_quiet(refills):
    kernels, started = refills.kernels, refills.started

    async def scenario():
        refill = await _with_a_pool(kernels)
        await asyncio.sleep(0.2)
        assert started == [], "a replacement started while a visitor's page had not connected"
        kernels._kernel_connections["page"] = 1
        kernels._kernels["page"].last_activity = datetime.now(timezone.utc)  # its widgets talk
        await asyncio.sleep(0.15)
        assert started == [], "a replacement started while a visitor's kernel was busy"
        await asyncio.wait_for(refill, 2)
        assert started == ["refill"]

    run(scenario())


def test_a_replacement_a_visitor_takes_starts_at_once(refills):
    kernels, started = refills.kernels, refills.started

    async def scenario():
        refill = await _with_a_pool(kernels)
        await asyncio.sleep(0.1)
        kernels._pools["07_improved_model.ipynb"].remove(refill)  # the next visitor takes it
        await asyncio.wait_for(refill, 0.2)
        assert started == ["refill"]

    run(scenario())


def test_kernels_not_meant_for_a_pool_start_at_once(refills):
    """A page's own kernel (no pool: pre-heating off, or a translated lesson), or a
    replacement a visitor already holds, never waits for the other pages."""
    kernels, started = refills.kernels, refills.started

    async def scenario():
        claimed = await _with_a_pool(kernels, claimed=True)
        await asyncio.wait_for(claimed, 0.2)
        await asyncio.wait_for(asyncio.get_running_loop().create_task(kernels.start_kernel(), name="own"), 0.2)
        assert started == ["refill", "own"]

    run(scenario())


def test_pre_heating_kernels_do_not_hold_a_replacement_back(refills):
    """A kernel in a pool runs its lesson with nobody watching: its activity is no page."""
    kernels, started = refills.kernels, refills.started
    kernels._kernel_connections["page"] = 1
    kernels._kernels["ready"].last_activity = datetime.now(timezone.utc)

    async def scenario():
        await asyncio.wait_for(await _with_a_pool(kernels), 0.2)
        assert started == ["refill"]

    run(scenario())


def test_a_replacement_waits_no_longer_than_its_limit(refills, monkeypatch):
    monkeypatch.setattr(voila_kernels, "REFILL_MAX_WAIT_S", 0.2)
    kernels, started = refills.kernels, refills.started  # the page never connects

    async def scenario():
        refill = await _with_a_pool(kernels)
        await asyncio.sleep(0.1)
        assert started == []
        await asyncio.wait_for(refill, 1)
        assert started == ["refill"]

    run(scenario())


def test_a_page_that_never_connects_holds_replacements_back_only_once(refills, monkeypatch):
    """A page closed while it loaded leaves a kernel that never connects: the first
    replacement waits for it up to the limit, the next ones do not wait again."""
    monkeypatch.setattr(voila_kernels, "REFILL_MAX_WAIT_S", 0.2)
    kernels, started = refills.kernels, refills.started

    async def scenario():
        await asyncio.wait_for(await _with_a_pool(kernels), 1)
        assert started == ["refill"]
        await asyncio.wait_for(await _with_a_pool(kernels), 0.1)
        assert started == ["refill", "refill"]

    run(scenario())
