"""The storage contract (interface.py invariants), run against every backend."""

from __future__ import annotations

import asyncio
import random

import pytest

from kybernetes.storage.interface import (
    CompactedError,
    EventType,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RevisionMismatchError,
    Storage,
)

from .conftest import take

# -- create / get / update / delete --------------------------------------------------------


async def test_empty_store(store: Storage) -> None:
    assert await store.current_revision() == 0
    assert await store.compacted_revision() == 0
    assert await store.get("/a") is None
    result = await store.list("")
    assert (result.items, result.revision, result.more) == ([], 0, False)


async def test_create_then_get(store: Storage) -> None:
    kv = await store.create("/a", b"1")
    assert kv == KeyValue("/a", b"1", create_revision=1, mod_revision=1)
    assert await store.get("/a") == kv
    assert await store.current_revision() == 1


async def test_create_existing_fails_without_consuming_a_revision(store: Storage) -> None:
    await store.create("/a", b"1")
    with pytest.raises(KeyExistsError):
        await store.create("/a", b"2")
    assert await store.current_revision() == 1
    assert (await store.get("/a")) == KeyValue("/a", b"1", 1, 1)


async def test_update_compare_and_swap(store: Storage) -> None:
    await store.create("/a", b"1")
    await store.create("/b", b"x")
    kv = await store.update("/a", b"2", expected_revision=1)
    assert kv == KeyValue("/a", b"2", create_revision=1, mod_revision=3)
    with pytest.raises(RevisionMismatchError) as info:
        await store.update("/a", b"3", expected_revision=1)
    assert (info.value.expected, info.value.actual) == (1, 3)
    unconditional = await store.update("/a", b"4", expected_revision=0)
    assert unconditional.mod_revision == 4
    assert await store.current_revision() == 4


async def test_update_absent_key(store: Storage) -> None:
    with pytest.raises(KeyNotFoundError):
        await store.update("/a", b"1", expected_revision=0)
    with pytest.raises(KeyNotFoundError):
        await store.update("/a", b"1", expected_revision=5)
    assert await store.current_revision() == 0


async def test_delete_returns_last_value_and_checks_revision(store: Storage) -> None:
    await store.create("/a", b"1")
    await store.update("/a", b"2", expected_revision=1)
    with pytest.raises(RevisionMismatchError):
        await store.delete("/a", expected_revision=1)
    last = await store.delete("/a", expected_revision=2)
    assert last == KeyValue("/a", b"2", 1, 2)
    assert await store.get("/a") is None
    assert await store.current_revision() == 3
    with pytest.raises(KeyNotFoundError):
        await store.delete("/a")


async def test_recreate_after_delete_gets_new_create_revision(store: Storage) -> None:
    await store.create("/a", b"1")
    await store.delete("/a")
    kv = await store.create("/a", b"again")
    assert (kv.create_revision, kv.mod_revision) == (3, 3)


async def test_revisions_strictly_increase(store: Storage) -> None:
    seen = []
    for i in range(20):
        kv = await store.create(f"/k{i}", b"v")
        seen.append(kv.mod_revision)
        assert await store.current_revision() == kv.mod_revision
    assert seen == list(range(1, 21))


# -- list / count ----------------------------------------------------------------------------


async def _fill(store: Storage) -> None:
    for key in ["/p/c", "/p/a", "/pa", "/p/b", "/q/x"]:
        await store.create(key, key.encode())


async def test_list_prefix_in_key_order(store: Storage) -> None:
    await _fill(store)
    result = await store.list("/p/")
    assert [kv.key for kv in result.items] == ["/p/a", "/p/b", "/p/c"]
    assert (result.revision, result.more) == (5, False)
    assert await store.count("/p/") == 3
    assert await store.count("") == 5


async def test_list_pages_with_limit_and_continue(store: Storage) -> None:
    await _fill(store)
    first = await store.list("/p/", limit=2)
    assert ([kv.key for kv in first.items], first.more) == (["/p/a", "/p/b"], True)
    second = await store.list("/p/", limit=2, continue_key=first.items[-1].key)
    assert ([kv.key for kv in second.items], second.more) == (["/p/c"], False)


async def test_list_at_past_revision(store: Storage) -> None:
    await store.create("/p/a", b"a1")  # 1
    await store.create("/p/b", b"b1")  # 2
    await store.update("/p/a", b"a2", expected_revision=1)  # 3
    await store.delete("/p/b")  # 4
    await store.create("/p/c", b"c1")  # 5
    expected = {
        1: [("/p/a", b"a1")],
        2: [("/p/a", b"a1"), ("/p/b", b"b1")],
        3: [("/p/a", b"a2"), ("/p/b", b"b1")],
        4: [("/p/a", b"a2")],
        5: [("/p/a", b"a2"), ("/p/c", b"c1")],
    }
    for revision, items in expected.items():
        result = await store.list("/p/", revision=revision)
        assert [(kv.key, kv.value) for kv in result.items] == items, revision
        assert result.revision == revision
    paged = await store.list("/p/", revision=3, limit=1, continue_key="/p/a")
    assert ([kv.key for kv in paged.items], paged.more) == (["/p/b"], False)
    first = await store.list("/p/", revision=2, limit=1)
    assert ([kv.key for kv in first.items], first.more) == (["/p/a"], True)
    assert (await store.list("/p/", revision=3)).items[0] == KeyValue("/p/a", b"a2", 1, 3)


async def test_list_future_revision_fails(store: Storage) -> None:
    await store.create("/a", b"1")
    with pytest.raises(FutureRevisionError) as info:
        await store.list("", revision=2)
    assert (info.value.requested, info.value.current) == (2, 1)


# -- watch -----------------------------------------------------------------------------------


async def test_watch_replays_history_with_prev_then_goes_live(store: Storage) -> None:
    await store.create("/p/a", b"1")  # 1
    await store.create("/q/z", b"other")  # 2
    await store.update("/p/a", b"2", expected_revision=1)  # 3
    await store.delete("/p/a")  # 4
    watch = store.watch("/p/", 1)
    replayed = await take(watch, 3)
    assert [(e.type, e.revision) for e in replayed] == [
        (EventType.PUT, 1),
        (EventType.PUT, 3),
        (EventType.DELETE, 4),
    ]
    assert replayed[0].prev is None and replayed[0].is_create
    assert replayed[1].prev == KeyValue("/p/a", b"1", 1, 1)
    assert replayed[1].kv == KeyValue("/p/a", b"2", 1, 3)
    assert replayed[2].kv is None
    assert replayed[2].prev == KeyValue("/p/a", b"2", 1, 3)
    await store.create("/q/y", b"ignored")
    await store.create("/p/b", b"live")
    live = await take(watch, 1)
    assert [(e.key, e.revision, e.is_create) for e in live] == [("/p/b", 6, True)]
    await watch.aclose()  # type: ignore[attr-defined]


async def test_watch_from_middle_revision(store: Storage) -> None:
    for i in range(5):
        await store.create(f"/k{i}", b"v")
    events = await take(store.watch("", 4), 2)
    assert [e.revision for e in events] == [4, 5]


async def test_watch_zero_delivers_only_future_events(store: Storage) -> None:
    await store.create("/a", b"1")
    watch = store.watch("", 0)
    await store.create("/b", b"2")
    events = await take(watch, 1)
    assert [(e.key, e.revision) for e in events] == [("/b", 2)]


async def test_watch_next_revision_is_allowed(store: Storage) -> None:
    await store.create("/a", b"1")
    watch = store.watch("", 2)
    await store.create("/b", b"2")
    assert [e.revision for e in await take(watch, 1)] == [2]


async def test_watch_future_revision_fails(store: Storage) -> None:
    await store.create("/a", b"1")
    with pytest.raises(FutureRevisionError):
        await take(store.watch("", 3), 1)


async def test_watch_sees_every_write_once_in_order_during_concurrent_writes(store: Storage) -> None:
    """A watch opened mid-storm from an old revision: no gap and no duplicate at the hand-over."""
    for i in range(50):
        await store.create(f"/pre/{i}", b"v")
    acked: list[int] = []

    async def writer(n: int) -> None:
        for i in range(10):
            kv = await store.create(f"/storm/{n}/{i}", b"v")
            acked.append(kv.mod_revision)

    tasks = [asyncio.create_task(writer(n)) for n in range(20)]
    await asyncio.sleep(0)
    watch = store.watch("", 10)
    await asyncio.gather(*tasks)
    events = await take(watch, 41 + 200)
    revisions = [e.revision for e in events]
    assert revisions == list(range(10, 251))
    assert set(acked) <= set(revisions)


async def test_slow_watcher_does_not_block_writers(store: Storage) -> None:
    watch = store.watch("", 0)
    for i in range(300):
        await store.create(f"/k{i}", b"v")  # nobody reads the watch meanwhile
    events = await take(watch, 300)
    assert events[-1].revision == 300


async def test_close_ends_watches(store: Storage) -> None:
    watch = store.watch("", 0)
    await store.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(watch), 5)


# -- compaction ------------------------------------------------------------------------------


async def test_compaction(store: Storage) -> None:
    await store.create("/a", b"1")  # 1
    await store.update("/a", b"2", expected_revision=1)  # 2
    await store.create("/b", b"1")  # 3
    await store.delete("/b")  # 4
    await store.create("/c", b"1")  # 5
    await store.update("/a", b"3", expected_revision=2)  # 6
    await store.compact(4)
    assert await store.compacted_revision() == 4
    with pytest.raises(CompactedError) as info:
        await store.list("", revision=3)
    assert (info.value.requested, info.value.compacted) == (3, 4)
    at4 = await store.list("", revision=4)
    assert [(kv.key, kv.value) for kv in at4.items] == [("/a", b"2")]
    at5 = await store.list("", revision=5)
    assert [(kv.key, kv.value) for kv in at5.items] == [("/a", b"2"), ("/c", b"1")]
    with pytest.raises(CompactedError):
        await take(store.watch("", 4), 1)
    events = await take(store.watch("", 5), 2)
    assert [e.revision for e in events] == [5, 6]
    assert events[1].prev == KeyValue("/a", b"2", 1, 2)
    assert [kv.key for kv in (await store.list("")).items] == ["/a", "/c"]
    await store.compact(2)  # at or below the compacted revision: nothing to do
    assert await store.compacted_revision() == 4
    with pytest.raises(FutureRevisionError):
        await store.compact(7)
    await store.compact(6)
    kv = await store.create("/d", b"1")
    assert kv.mod_revision == 7


async def test_compact_everything_keeps_live_values(store: Storage) -> None:
    for i in range(30):
        await store.create(f"/k{i % 5}/{i}", b"v")
    for i in range(0, 30, 3):
        await store.delete(f"/k{i % 5}/{i}")
    before = await store.list("")
    current = await store.current_revision()
    await store.compact(current)
    assert await store.list("") == before
    assert await store.list("", revision=current) == before


# -- concurrency -----------------------------------------------------------------------------


async def test_concurrent_cas_increments_lose_no_update(store: Storage) -> None:
    keys = [f"/counter/{i}" for i in range(4)]
    for key in keys:
        await store.create(key, b"0")
    rng = random.Random(7)

    async def increment(key: str) -> int:
        retries = 0
        while True:
            kv = await store.get(key)
            assert kv is not None
            await asyncio.sleep(0)  # let other increments read the same revision
            try:
                await store.update(key, str(int(kv.value) + 1).encode(), expected_revision=kv.mod_revision)
                return retries
            except RevisionMismatchError:
                retries += 1
                await asyncio.sleep(0)

    plan = [rng.choice(keys) for _ in range(200)]
    retries = await asyncio.gather(*(increment(k) for k in plan))
    for key in keys:
        kv = await store.get(key)
        assert kv is not None
        assert int(kv.value) == plan.count(key)
    assert await store.current_revision() == len(keys) + 200
    assert sum(retries) > 0  # the contention was real


async def test_concurrent_creates_get_distinct_revisions(store: Storage) -> None:
    results = await asyncio.gather(
        *(store.create(f"/c/{i % 150}", b"v") for i in range(200)), return_exceptions=True
    )
    created = [r for r in results if isinstance(r, KeyValue)]
    assert len(created) == 150
    assert all(isinstance(r, KeyExistsError) for r in results if not isinstance(r, KeyValue))
    assert sorted(kv.mod_revision for kv in created) == list(range(1, 151))
    assert await store.count("/c/") == 150
