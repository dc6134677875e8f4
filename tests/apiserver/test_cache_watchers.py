"""The watch cache's watcher mailboxes: which events reach which watcher, in order, with one
wake-up per batch, and what a closed watcher sees."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from kybernetes.apiserver.cache import WatchCache, watch_bucket
from kybernetes.storage.memory import MemoryStorage


@pytest.mark.parametrize(
    ("prefix", "bucket"),
    [
        pytest.param("/registry/pods/", "/registry/pods/", id="resource"),
        pytest.param("/registry/pods/default/", "/registry/pods/", id="namespace"),
        pytest.param(
            "/registry/example.com/widgets/ns/", "/registry/example.com/", id="custom-resource-group"
        ),
        pytest.param("/registry/", "", id="everything"),
        pytest.param("/registry/pods", "", id="no-trailing-slash"),
        pytest.param("/other/pods/", "", id="outside-registry"),
    ],
)
def test_watch_bucket(prefix: str, bucket: str) -> None:
    assert watch_bucket(prefix) == bucket


def configmap(name: str) -> bytes:
    return orjson.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "a"}}
    )


async def started_cache() -> tuple[MemoryStorage, WatchCache]:
    storage = MemoryStorage()
    await storage.open()
    cache = WatchCache(storage)
    await cache.start()
    return storage, cache


async def settle(cache: WatchCache, storage: MemoryStorage) -> None:
    await cache.wait_for(await storage.current_revision())


async def test_events_reach_matching_watchers_in_order() -> None:
    storage, cache = await started_cache()
    try:
        in_a = cache.register("/registry/configmaps/a/", cache.revision)
        everything = cache.register("/registry/", cache.revision)
        pods = cache.register("/registry/pods/", cache.revision)
        assert in_a is not None and everything is not None and pods is not None
        await storage.create("/registry/configmaps/a/one", configmap("one"))
        await storage.create("/registry/configmaps/b/two", configmap("two"))
        await storage.create("/registry/configmaps/a/three", configmap("three"))
        await settle(cache, storage)
        assert [ev.key for ev in in_a.take()] == [
            "/registry/configmaps/a/one",
            "/registry/configmaps/a/three",
        ]
        assert [ev.key for ev in everything.take()] == [
            "/registry/configmaps/a/one",
            "/registry/configmaps/b/two",
            "/registry/configmaps/a/three",
        ]
        assert pods.take() == []
        assert in_a.take() == []  # taking empties the mailbox
    finally:
        await cache.stop()
        await storage.close()


async def test_replay_from_ring_then_live() -> None:
    storage, cache = await started_cache()
    try:
        start = cache.revision
        await storage.create("/registry/configmaps/a/one", configmap("one"))
        await settle(cache, storage)
        w = cache.register("/registry/configmaps/", start)
        assert w is not None
        await storage.create("/registry/configmaps/a/two", configmap("two"))
        await settle(cache, storage)
        assert [(ev.type, ev.key) for ev in w.take()] == [
            ("ADDED", "/registry/configmaps/a/one"),
            ("ADDED", "/registry/configmaps/a/two"),
        ]
    finally:
        await cache.stop()
        await storage.close()


async def test_wait_returns_once_events_are_pending_and_when_closed() -> None:
    storage, cache = await started_cache()
    try:
        w = cache.register("/registry/configmaps/", cache.revision)
        assert w is not None
        waiting = asyncio.create_task(w.wait())
        await asyncio.sleep(0)
        assert not waiting.done()
        await storage.create("/registry/configmaps/a/one", configmap("one"))
        await asyncio.wait_for(waiting, 2)
        assert len(w.take()) == 1
        waiting = asyncio.create_task(w.wait())
        await asyncio.sleep(0)
        cache.unregister(w)
        await asyncio.wait_for(waiting, 2)
        assert w.closed
        await storage.create("/registry/configmaps/a/two", configmap("two"))
        await settle(cache, storage)
        assert w.take() == []  # an unregistered watcher gets nothing more
        assert cache.watcher_count == 0
    finally:
        await cache.stop()
        await storage.close()


async def test_wake_ends_a_wait_without_events() -> None:
    storage, cache = await started_cache()
    try:
        w = cache.register("/registry/configmaps/", cache.revision)
        assert w is not None
        asyncio.get_running_loop().call_later(0.01, w.wake)
        await asyncio.wait_for(w.wait(), 2)
        assert w.take() == [] and not w.closed
    finally:
        await cache.stop()
        await storage.close()
