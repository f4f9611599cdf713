"""Voila's kernel manager for pre-heated lessons (``catdogkit serve --preheat``).

A pre-heated kernel runs its lesson, then waits for a visitor; Voila keeps the idle
culler away from it while it sits in the pool. Handed to a visitor, it leaves the pool
before the page has connected, and its last activity is when it finished the lesson,
often longer ago than the idle timeout: the culler shut it down in the second before
the page connected, and the visitor got a page whose widgets never answered (seen in
the browser tests: "Culling 'idle' kernel ... due to 47 seconds of inactivity" right
after "Using pre-heated kernel"). Here a kernel's idle time counts from no earlier than
the moment the culler first finds it outside a pool, so every kernel handed to a visitor
gets the full timeout to be connected; a page nobody connects to is still culled.

Introduced in lesson 00 (the lessons as web pages).
"""
import time

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager


class HandoverKernelManager(AsyncMappingKernelManager):
    """``AsyncMappingKernelManager`` whose culler gives a kernel the whole idle timeout
    from the moment it first finds it (outside a pool: Voila never asks about those)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._first_seen = {}

    async def cull_kernel_if_idle(self, kernel_id):
        now = time.monotonic()
        for known in [k for k in self._first_seen if k not in self._kernels]:
            del self._first_seen[known]  # kernels shut down since
        first_seen = self._first_seen.setdefault(kernel_id, now)
        kernel = self._kernels.get(kernel_id)
        dead = getattr(kernel, "execution_state", None) == "dead"
        if not dead and now - first_seen < self._idle_timeout(kernel):
            return None
        return await super().cull_kernel_if_idle(kernel_id)

    def _idle_timeout(self, kernel):
        # The culler lets a kernel spec set its own timeout in its metadata; the grace
        # period follows it, so a spec with a long timeout is not culled sooner here.
        metadata = getattr(getattr(kernel, "kernel_spec", None), "metadata", None) or {}
        return metadata.get("cull_idle_timeout", self.cull_idle_timeout)
