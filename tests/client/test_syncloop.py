"""SyncLoop: bursts of kicks become one sync, failures retry with backoff, resyncs happen unkicked."""

from __future__ import annotations

import asyncio

from kybernetes.client.syncloop import SyncLoop


async def test_a_burst_of_kicks_is_one_sync() -> None:
    calls = 0

    async def sync() -> None:
        nonlocal calls
        calls += 1

    loop = SyncLoop(sync, name="t", min_interval=0.05, resync_period=60)
    await loop.sync_now()
    loop.start()
    for _ in range(20):
        loop.kick()
    await asyncio.sleep(0.2)
    await loop.stop()
    assert calls == 2


async def test_failures_are_retried_and_recorded() -> None:
    results = [RuntimeError("nft: busy"), RuntimeError("nft: busy"), None]
    done = asyncio.Event()

    async def sync() -> None:
        outcome = results.pop(0)
        if outcome is not None:
            raise outcome
        done.set()

    loop = SyncLoop(sync, name="t", min_interval=0.0, max_delay=0.05, retry_base=0.01)
    loop.start()
    loop.kick()
    await asyncio.wait_for(done.wait(), 2)
    await loop.stop()
    assert loop.failures == 2 and loop.last_error == "nft: busy"


async def test_resync_without_kicks() -> None:
    calls = 0

    async def sync() -> None:
        nonlocal calls
        calls += 1

    loop = SyncLoop(sync, name="t", min_interval=0.0, resync_period=0.05)
    loop.start()
    await asyncio.sleep(0.3)
    await loop.stop()
    assert calls >= 3
