"""Time as the client machinery sees it, so tests can step it instead of waiting.

`Clock` is what work queues, rate limiters and leader election take in their constructors:
``now()`` in seconds on a monotonic scale and ``sleep(seconds)``. `RealClock` is the event loop's
clock; `FakeClock` only moves when a test calls `advance()`, waking the sleepers that are due.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class FakeClock:
    """A clock that stands still until `advance()`; sleepers wake in deadline order."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._now + seconds, fut))
        try:
            await fut
        finally:
            self._sleepers = [(t, f) for t, f in self._sleepers if f is not fut]

    @property
    def sleepers(self) -> int:
        """How many tasks are sleeping (tests wait for this before advancing)."""
        return sum(1 for _, f in self._sleepers if not f.done())

    def advance(self, seconds: float) -> None:
        self._now += seconds
        for deadline, fut in sorted(self._sleepers, key=lambda s: s[0]):
            if deadline <= self._now and not fut.done():
                fut.set_result(None)
