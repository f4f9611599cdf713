"""Voila's kernel manager for pre-heated lessons (``catdogkit serve --preheat``).

Two things Voila's pools get wrong for a class, put right here.

1. A kernel handed to a visitor is not culled before its page connects. A pre-heated
kernel runs its lesson, then waits for a visitor; Voila keeps the idle culler away from
it while it sits in the pool. Handed to a visitor, it leaves the pool before the page has
connected, and its last activity is when it finished the lesson, often longer ago than
the idle timeout: the culler shut it down in the second before the page connected, and
the visitor got a page whose widgets never answered (seen in the browser tests: "Culling
'idle' kernel ... due to 47 seconds of inactivity" right after "Using pre-heated kernel").
Here a kernel's idle time counts from no earlier than the moment the culler first finds
it outside a pool, so every kernel handed to a visitor gets the full timeout to be
connected; a page nobody connects to is still culled.

2. Refilling a pool waits until the pages being served are done. Voila starts a
replacement a second after each kernel it hands out, so when a class opens a lesson
together, ten replacements ran the lesson on the same cores while ten pages were still
being sent and drawn (``benchmarks/voila_first_widget.py``: with a pool of 10, the
slowest of ten pages drawn by Chromium on 2 cores took 72 s, and 24-30 s once the
replacements waited). A replacement that no
visitor is waiting for therefore starts only once every kernel outside the pools has its
page connected and none of them has been active for :data:`REFILL_QUIET_S`, and at the
latest :data:`REFILL_MAX_WAIT_S` after it was due. A visitor who arrives meanwhile takes
it from the pool and it starts at once, as before.

Introduced in lesson 00 (the lessons as web pages).
"""
import asyncio
import time
from datetime import datetime, timezone

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

#: Seconds with no activity on any visitor's kernel before a pool's replacement starts.
REFILL_QUIET_S = 3.0
#: The longest a replacement waits for the pages being served (e.g. a visitor who keeps
#: a widget busy, or a page that never connects).
REFILL_MAX_WAIT_S = 60.0
#: How often a waiting replacement looks again.
REFILL_POLL_S = 0.5


class HandoverKernelManager(AsyncMappingKernelManager):
    """``AsyncMappingKernelManager`` whose culler gives a kernel the whole idle timeout
    from the moment it first finds it (outside a pool: Voila never asks about those), and
    whose pool replacements wait until the pages being served are done."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._first_seen = {}
        self._unconnected_since = {}

    async def cull_kernel_if_idle(self, kernel_id):
        now = time.monotonic()
        self._forget_shut_down(self._first_seen)
        first_seen = self._first_seen.setdefault(kernel_id, now)
        kernel = self._kernels.get(kernel_id)
        dead = getattr(kernel, "execution_state", None) == "dead"
        if not dead and now - first_seen < self._idle_timeout(kernel):
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    def _forget_shut_down(self, seen):
        """Drop from ``seen`` (``{kernel id: time}``) the kernels shut down since."""
        for known in [k for k in seen if k not in self._kernels]:
            del seen[known]

    def _idle_timeout(self, kernel):
        # The culler lets a kernel spec set its own timeout in its metadata; the grace
        # period follows it, so a spec with a long timeout is not culled sooner here.
        metadata = getattr(getattr(kernel, "kernel_spec", None), "metadata", None) or {}
        return metadata.get("cull_idle_timeout", self.cull_idle_timeout)

    async def start_kernel(self, *args, **kwargs):
        # Voila's pool starts its kernels from the task it keeps in the pool, so a task
        # still in a pool is a replacement that no visitor has taken yet.
        due = time.monotonic()
        while self._unclaimed_refill() and self._pages_being_served():
            if time.monotonic() - due >= REFILL_MAX_WAIT_S:
                self.log.info("Refilling a kernel pool after waiting %.0f s for pages to be served",
                              REFILL_MAX_WAIT_S)
                break
            await asyncio.sleep(REFILL_POLL_S)
        return await super().start_kernel(*args, **kwargs)

    def _unclaimed_refill(self):
        task = asyncio.current_task()
        return any(task in pool for pool in (getattr(self, "_pools", None) or {}).values())

    def _pages_being_served(self):
        """Whether a kernel outside the pools has no page connected yet (for at most
        :data:`REFILL_MAX_WAIT_S`: a page closed while loading never connects), or has been
        active within :data:`REFILL_QUIET_S`."""
        pooled = set()
        for pool in (getattr(self, "_pools", None) or {}).values():
            for task in pool:
                if task.done() and not task.cancelled() and task.exception() is None:
                    pooled.add(task.result().get("kernel_id"))
        now, clock = datetime.now(timezone.utc), time.monotonic()
        self._forget_shut_down(self._unconnected_since)
        for kernel_id, kernel in list(self._kernels.items()):
            if kernel_id in pooled:
                continue
            if not self._kernel_connections.get(kernel_id, 0):
                if clock - self._unconnected_since.setdefault(kernel_id, clock) < REFILL_MAX_WAIT_S:
                    return True
                continue
            last_activity = getattr(kernel, "last_activity", None)
            if last_activity and (now - last_activity).total_seconds() < REFILL_QUIET_S:
                return True
        return False
