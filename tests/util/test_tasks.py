"""cancel_and_wait: bounded, and never swallows the stopper's own cancellation."""

from __future__ import annotations

import asyncio

import pytest

from kybernetes.util.tasks import cancel_and_wait


async def test_a_cooperative_task_stops() -> None:
    task = asyncio.create_task(asyncio.sleep(3600))
    assert await cancel_and_wait(task, timeout=1) is True
    assert task.cancelled()


async def test_a_task_that_ignores_cancel_does_not_hold_the_stopper() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    assert await cancel_and_wait(task, timeout=0.1) is False
    release.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1)


async def test_the_stoppers_own_cancellation_goes_through() -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    inner = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    stopper = asyncio.create_task(cancel_and_wait(inner, timeout=3600))
    await asyncio.sleep(0.05)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    release.set()
    inner.cancel()
    await asyncio.wait({inner}, timeout=1)
    assert inner.done()


async def test_none_and_finished_tasks() -> None:
    assert await cancel_and_wait(None) is True
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    assert await cancel_and_wait(done) is True
