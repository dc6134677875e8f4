"""A level-triggered "sync everything" loop, for components that render their whole desired state
from informer caches (the service proxy, the NetworkPolicy enforcer, the node's pod routes).

`kick()` marks the state dirty; the loop then calls `sync()` once for any burst of kicks, never
more often than `min_interval` (measured from the start of the previous sync) and at least once
per `resync_period` even without kicks. A failed sync is retried with exponential backoff up to
`max_delay`; the loop itself never dies of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from kybernetes.util.tasks import cancel_and_wait

log = logging.getLogger("kyb.syncloop")


class SyncLoop:
    def __init__(self, sync: Callable[[], Awaitable[object]], *, name: str, min_interval: float = 0.1,
                 max_delay: float = 1.0, resync_period: float = 60.0, retry_base: float = 0.05) -> None:
        self._sync = sync
        self.name = name
        self.min_interval = min_interval
        self.max_delay = max_delay
        self.resync_period = resync_period
        self.retry_base = retry_base
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_start = float("-inf")
        self.failures = 0
        self.last_error = ""

    def kick(self) -> None:
        self._dirty.set()

    def start(self) -> None:
        """Run in the background (a first sync, if the caller wants one, is its own to await)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def sync_now(self) -> None:
        """A sync outside the loop (e.g. the first one at start); kicks already seen are covered."""
        self._dirty.clear()
        self._last_start = time.monotonic()
        await self._sync()

    async def _run(self) -> None:
        backoff = self.retry_base
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._dirty.wait(), self.resync_period)
            wait = self._last_start + self.min_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # kicks arriving meanwhile are folded into this sync
            self._dirty.clear()
            self._last_start = time.monotonic()
            try:
                await self._sync()
                backoff = self.retry_base
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep going: the next try may succeed
                self.failures += 1
                self.last_error = str(exc)
                log.warning("%s failed (retry in %.2fs): %s", self.name, backoff, exc)
                self._dirty.set()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_delay)
