"""The work queue's guarantees (dedup, one worker per key, dirty requeue, delays, backoff) on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from kybernetes.client.clock import FakeClock
from kybernetes.client.controller import Controller
from kybernetes.client.workqueue import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    ShutDown,
    WorkQueue,
    default_controller_rate_limiter,
)


async def settle(n: int = 20) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def advance(clock: FakeClock, seconds: float) -> None:
    """Let sleepers register before time moves (else they would sleep from the new time)."""
    await settle()
    clock.advance(seconds)
    await settle()


async def test_adds_before_get_are_deduplicated() -> None:
    q: WorkQueue[str] = WorkQueue()
    for k in ("a", "b", "a", "a", "c", "b"):
        q.add(k)
    assert len(q) == 3
    assert [await q.get() for _ in range(3)] == ["a", "b", "c"]


async def test_key_being_processed_is_marked_dirty_and_requeued_on_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert await q.get() == "a"
    q.add("a")
    q.add("a")
    assert len(q) == 0, "a key in processing must not be handed to a second worker"
    q.done("a")
    assert len(q) == 1 and await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_done_without_new_add_does_not_requeue() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    await q.get()
    q.done("a")
    assert len(q) == 0 and q.processing == frozenset()


async def test_two_workers_never_hold_the_same_key() -> None:
    q: WorkQueue[str] = WorkQueue()
    active: set[str] = set()
    overlaps: list[str] = []
    handled: list[str] = []

    async def worker() -> None:
        while True:
            try:
                k = await q.get()
            except ShutDown:
                return
            if k in active:
                overlaps.append(k)
            active.add(k)
            await asyncio.sleep(0.001)
            handled.append(k)
            q.add("x") if len(handled) < 6 else None  # re-add while processing: goes dirty
            active.discard(k)
            q.done(k)

    workers = [asyncio.create_task(worker()) for _ in range(3)]
    q.add("x")
    q.add("y")
    for _ in range(200):
        await asyncio.sleep(0.001)
        if len(handled) >= 7 and len(q) == 0 and not q.processing:
            break
    q.shutdown()
    await asyncio.gather(*workers)
    assert overlaps == []
    assert handled.count("y") == 1 and handled.count("x") >= 5


async def test_get_waits_and_shutdown_drains_then_raises() -> None:
    q: WorkQueue[str] = WorkQueue()
    getter = asyncio.create_task(q.get())
    await settle()
    assert not getter.done()
    q.add("a")
    assert await getter == "a"
    q.add("b")
    q.shutdown()
    q.add("ignored")
    assert await q.get() == "b"
    with pytest.raises(ShutDown):
        await q.get()


async def test_shutdown_wakes_waiting_getters() -> None:
    q: WorkQueue[str] = WorkQueue()
    getters = [asyncio.create_task(q.get()) for _ in range(2)]
    await settle()
    q.shutdown()
    results = await asyncio.gather(*getters, return_exceptions=True)
    assert all(isinstance(r, ShutDown) for r in results)


async def test_cancelled_getter_passes_its_wakeup_on() -> None:
    q: WorkQueue[str] = WorkQueue()
    first = asyncio.create_task(q.get())
    second = asyncio.create_task(q.get())
    await settle()
    q.add("a")
    first.cancel()  # woken but cancelled before it ran
    await settle()
    assert await asyncio.wait_for(second, 1) == "a"


async def test_add_after_uses_the_clock_and_keeps_the_earliest_time() -> None:
    clock = FakeClock(0.0)
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_after("a", 10)
    q.add_after("a", 5)  # earlier wins
    q.add_after("a", 20)  # later is ignored
    q.add_after("b", 7)
    q.add_after("now", 0)
    await settle()
    assert len(q) == 1 and await q.get() == "now"
    await advance(clock, 4)
    assert len(q) == 0 and q.waiting == 2
    await advance(clock, 1)
    assert len(q) == 1 and await q.get() == "a"
    await advance(clock, 2)
    assert await q.get() == "b" and q.waiting == 0
    q.shutdown()


@pytest.mark.parametrize(("failures", "expected"), [
    pytest.param(1, 0.005, id="first-failure-5ms"),
    pytest.param(2, 0.010, id="second-10ms"),
    pytest.param(5, 0.080, id="fifth-80ms"),
    pytest.param(18, 655.36, id="eighteenth-655s"),
    pytest.param(19, 1000.0, id="capped-at-1000s"),
    pytest.param(200, 1000.0, id="no-overflow"),
])
def test_exponential_per_item_backoff(failures: int, expected: float) -> None:
    lim = ItemExponentialFailureRateLimiter()
    delays = [lim.when("k") for _ in range(failures)]
    assert delays[-1] == pytest.approx(expected)
    assert lim.num_requeues("k") == failures and lim.when("other") == pytest.approx(0.005)
    lim.forget("k")
    assert lim.num_requeues("k") == 0 and lim.when("k") == pytest.approx(0.005)


def test_token_bucket_allows_burst_then_qps() -> None:
    clock = FakeClock(0.0)
    lim = BucketRateLimiter(qps=10, burst=100, clock=clock)
    assert [lim.when(i) for i in range(100)] == [0.0] * 100
    assert lim.when("x") == pytest.approx(0.1)
    assert lim.when("y") == pytest.approx(0.2)
    clock.advance(1.0)  # ten tokens back, two of them owed
    assert lim.when("z") == pytest.approx(0.0)


def test_default_controller_limiter_is_max_of_both() -> None:
    clock = FakeClock(0.0)
    lim = default_controller_rate_limiter(clock)
    assert isinstance(lim, MaxOfRateLimiter)
    assert lim.when("a") == pytest.approx(0.005)
    for _ in range(120):
        lim.when("spam")  # drains the shared bucket
    assert lim.when("b") > 1.0, "the overall bucket must slow every key down"
    assert lim.num_requeues("spam") == 120


async def test_add_rate_limited_backs_off_per_failure_and_forget_resets() -> None:
    clock = FakeClock(0.0)
    q: WorkQueue[str] = WorkQueue(clock=clock)
    q.add_rate_limited("k")  # 5 ms
    await settle()
    assert len(q) == 0
    await advance(clock, 0.005)
    assert await q.get() == "k"
    q.done("k")
    q.add_rate_limited("k")  # 10 ms
    await advance(clock, 0.0075)
    assert len(q) == 0
    await advance(clock, 0.0025)
    assert len(q) == 1 and q.num_requeues("k") == 2
    q.forget("k")
    assert q.num_requeues("k") == 0
    q.shutdown()


async def test_controller_retries_with_backoff_then_forgets() -> None:
    clock = FakeClock(0.0)
    calls: list[str] = []

    async def sync(key: str) -> None:
        calls.append(key)
        if len(calls) < 3:
            raise RuntimeError("not yet")

    c = Controller("test", sync, workers=2, clock=clock)
    runner = asyncio.create_task(c.run())
    c.enqueue({"metadata": {"namespace": "ns", "name": "a"}})
    await settle()
    assert calls == ["ns/a"] and c.queue.num_requeues("ns/a") == 1
    await advance(clock, 0.005)
    assert calls == ["ns/a"] * 2 and c.queue.num_requeues("ns/a") == 2
    await advance(clock, 0.010)
    assert calls == ["ns/a"] * 3 and c.queue.num_requeues("ns/a") == 0, "success forgets the failures"
    c.shutdown()
    await asyncio.wait_for(runner, 1)


async def test_controller_gives_up_after_max_retries() -> None:
    clock = FakeClock(0.0)
    calls = 0

    async def sync(key: str) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("always")

    c = Controller("test", sync, max_retries=2, clock=clock)
    runner = asyncio.create_task(c.run())
    c.handlers().on_add({"metadata": {"name": "cluster-scoped"}})  # type: ignore[misc]
    for _ in range(5):
        await advance(clock, 1)
    await settle(10)
    assert calls == 3 and c.queue.waiting == 0 and len(c.queue) == 0
    c.shutdown()
    await asyncio.wait_for(runner, 1)
