"""The controllers' work queue: keys to reconcile, deduplicated, one worker per key, with retry backoff.

Theory of operation (the semantics of client-go's workqueue, rebuilt for asyncio). A key is in at
most one of three states besides absent: *queued* (waiting for a worker), *processing* (a worker got
it and has not called `done`), or *waiting* (scheduled by `add_after` for a later time).

Invariants:
1. A key is never handed to two workers at once: `get` moves it to processing, and while it is
   there `add` only marks it *dirty*.
2. A key added any number of times before a worker gets it is handed out once.
3. A dirty key goes back into the queue when its worker calls `done`, so no change is lost.
4. `add_after` keeps the earliest time asked for when a key is already waiting.
5. After `shutdown`, adds are ignored; `get` still hands out what is queued, then raises `ShutDown`.

Rate limiting: `add_rate_limited(key)` waits `rate_limiter.when(key)` before adding. The default is
client-go's controller limiter: per key, 5 ms doubling on every failure up to 1000 s, combined (the
larger delay wins) with one token bucket for all keys of 10 per second, burst 100. `forget(key)`
resets the key's failure count once it succeeds.

Metrics: a queue reports to a `QueueMetrics` (given, or made by the process-wide provider that
`set_metrics_provider` installs; by default nothing is recorded). As in client-go, depth counts keys
added and not yet handed out, work duration runs from `get` to `done`, and a retry is one
`add_rate_limited`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from kybernetes.client.clock import Clock, RealClock

T = TypeVar("T", bound=Hashable)

DEFAULT_BASE_DELAY = 0.005
DEFAULT_MAX_DELAY = 1000.0
DEFAULT_QPS = 10.0
DEFAULT_BURST = 100


class ShutDown(Exception):
    """The queue was shut down and is empty."""


# --- rate limiters ----------------------------------------------------------------------------------
class RateLimiter(Protocol):
    def when(self, item: Hashable) -> float:
        """Seconds to wait before `item` may be retried (counts one more failure)."""
        ...

    def forget(self, item: Hashable) -> None: ...

    def num_requeues(self, item: Hashable) -> int: ...


class ItemExponentialFailureRateLimiter:
    """base * 2**failures, capped at max_delay; failures counted per item."""

    def __init__(self, base_delay: float = DEFAULT_BASE_DELAY, max_delay: float = DEFAULT_MAX_DELAY) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[Hashable, int] = {}

    def when(self, item: Hashable) -> float:
        n = self._failures.get(item, 0)
        self._failures[item] = n + 1
        if n >= 64:  # 2**64 * base is far past any cap; avoid huge floats
            return self.max_delay
        return min(self.base_delay * float(2 ** n), self.max_delay)

    def forget(self, item: Hashable) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: Hashable) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter:
    """One token bucket for all items: `when` reserves a token and says how long until it exists."""

    def __init__(self, qps: float = DEFAULT_QPS, burst: int = DEFAULT_BURST, *, clock: Clock | None = None) -> None:
        self.qps = qps
        self.burst = burst
        self.clock = clock or RealClock()
        self._tokens = float(burst)
        self._last = self.clock.now()

    def when(self, item: Hashable) -> float:
        now = self.clock.now()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: Hashable) -> None:
        pass

    def num_requeues(self, item: Hashable) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay of several limiters (each still counts the failure)."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, item: Hashable) -> float:
        return max(lim.when(item) for lim in self.limiters)

    def forget(self, item: Hashable) -> None:
        for lim in self.limiters:
            lim.forget(item)

    def num_requeues(self, item: Hashable) -> int:
        return max(lim.num_requeues(item) for lim in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> RateLimiter:
    return MaxOfRateLimiter(ItemExponentialFailureRateLimiter(), BucketRateLimiter(clock=clock))


# --- metrics -------------------------------------------------------------------------------------------
class QueueMetrics(Protocol):
    def added(self) -> None:
        """A key entered the queue (depth + 1, adds + 1)."""
        ...

    def got(self) -> None:
        """A worker took a key (depth - 1)."""
        ...

    def finished(self, seconds: float) -> None:
        """A worker called `done` after holding the key this long."""
        ...

    def retried(self) -> None: ...


class QueueMetricsProvider(Protocol):
    def queue_metrics(self, name: str) -> QueueMetrics: ...


class _NoMetrics:
    def added(self) -> None:
        pass

    def got(self) -> None:
        pass

    def finished(self, seconds: float) -> None:
        pass

    def retried(self) -> None:
        pass


_provider: QueueMetricsProvider | None = None


def set_metrics_provider(provider: QueueMetricsProvider | None) -> None:
    """Queues with a name created from now on report to `provider` (None: stop reporting)."""
    global _provider
    _provider = provider


def _metrics_for(name: str) -> QueueMetrics:
    return _provider.queue_metrics(name) if _provider is not None and name else _NoMetrics()


# --- the queue ----------------------------------------------------------------------------------------
class WorkQueue(Generic[T]):
    def __init__(self, *, name: str = "", clock: Clock | None = None, rate_limiter: RateLimiter | None = None,
                 metrics: QueueMetrics | None = None) -> None:
        self.name = name
        self.metrics = metrics or _metrics_for(name)
        self._started: dict[T, float] = {}  # key -> when its worker got it, for the work duration
        self.clock = clock or RealClock()
        self.rate_limiter = rate_limiter or default_controller_rate_limiter(self.clock)
        self._queue: deque[T] = deque()
        self._dirty: set[T] = set()
        self._processing: set[T] = set()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._shutting_down = False
        # delayed adds: item -> ready time, and a heap of (ready, seq, item) with stale entries skipped
        self._waiting: dict[T, float] = {}
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._waiting_changed: asyncio.Event | None = None
        self._delay_task: asyncio.Task[None] | None = None

    # --- basic queue ------------------------------------------------------------------------------
    def add(self, item: T) -> None:
        if self._shutting_down or item in self._dirty:
            return
        self._dirty.add(item)
        self.metrics.added()
        if item in self._processing:
            return
        self._queue.append(item)
        self._wake_one()

    async def get(self) -> T:
        """The next key to process (wait for one); raises `ShutDown` once shut down and drained."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._getters.append(fut)
            try:
                await fut
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled():
                    self._wake_one()  # we were woken for an item we will not take: pass it on
                raise
        item = self._queue.popleft()
        self._processing.add(item)
        self._dirty.discard(item)
        self.metrics.got()
        self._started[item] = self.clock.now()
        return item

    def done(self, item: T) -> None:
        """The worker finished with `item`; if it was added meanwhile, it is queued again."""
        self._processing.discard(item)
        started = self._started.pop(item, None)
        if started is not None:
            self.metrics.finished(self.clock.now() - started)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def processing(self) -> frozenset[T]:
        return frozenset(self._processing)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def shutdown(self) -> None:
        self._shutting_down = True
        while self._getters:
            f = self._getters.popleft()
            if not f.done():
                f.set_result(None)
        if self._delay_task is not None:
            self._delay_task.cancel()
            self._delay_task = None

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def _wake_one(self) -> None:
        while self._getters:
            f = self._getters.popleft()
            if not f.done():
                f.set_result(None)
                return

    # --- delays -------------------------------------------------------------------------------------
    def add_after(self, item: T, delay: float) -> None:
        """Add `item` after `delay` seconds (at once when delay <= 0)."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready = self.clock.now() + delay
        current = self._waiting.get(item)
        if current is not None and current <= ready:
            return
        self._waiting[item] = ready
        heapq.heappush(self._heap, (ready, next(self._seq), item))
        if self._delay_task is None:
            self._waiting_changed = asyncio.Event()
            self._delay_task = asyncio.get_running_loop().create_task(self._delay_loop(), name=f"workqueue-{self.name}")
        assert self._waiting_changed is not None
        self._waiting_changed.set()

    async def _delay_loop(self) -> None:
        assert self._waiting_changed is not None
        changed = self._waiting_changed
        while True:
            now = self.clock.now()
            while self._heap and self._heap[0][0] <= now:
                ready, _, item = heapq.heappop(self._heap)
                if self._waiting.get(item) == ready:
                    del self._waiting[item]
                    self.add(item)
            changed.clear()
            if not self._heap:
                await changed.wait()
                continue
            sleep = asyncio.ensure_future(self.clock.sleep(self._heap[0][0] - now))
            woke = asyncio.ensure_future(changed.wait())
            try:
                await asyncio.wait({sleep, woke}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for t in (sleep, woke):
                    t.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await t

    # --- rate limiting --------------------------------------------------------------------------------
    def add_rate_limited(self, item: T) -> None:
        """Add `item` once the rate limiter allows (after a failure)."""
        if not self._shutting_down:
            self.metrics.retried()
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """Stop counting `item`'s failures (it succeeded or is given up on)."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)
