"""SQLite-specific behaviour: recovery on reopen, the log table, group commit, chunked replay."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kybernetes.storage import sqlite as sqlite_module
from kybernetes.storage.interface import CompactedError, EventType, KeyValue, StorageError
from kybernetes.storage.sqlite import SQLiteStorage

from .conftest import take


async def opened(path: Path) -> SQLiteStorage:
    store = SQLiteStorage(str(path))
    await store.open()
    return store


async def test_reopen_recovers_state_and_history(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    store = await opened(db)
    await store.create("/a", b"1")  # 1
    await store.update("/a", b"2", expected_revision=1)  # 2
    await store.create("/b", b"1")  # 3
    await store.delete("/b")  # 4
    await store.close()

    store = await opened(db)
    try:
        assert await store.current_revision() == 4
        assert await store.get("/a") == KeyValue("/a", b"2", 1, 2)
        assert await store.get("/b") is None
        assert [kv.key for kv in (await store.list("", revision=3)).items] == ["/a", "/b"]
        events = await take(store.watch("", 1), 4)
        assert [(e.type, e.revision) for e in events][-1] == (EventType.DELETE, 4)
        assert (await store.create("/c", b"1")).mod_revision == 5
    finally:
        await store.close()


async def test_reopen_after_compacting_a_trailing_tombstone_keeps_the_revision(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    store = await opened(db)
    await store.create("/a", b"1")
    await store.create("/b", b"1")
    await store.delete("/b")  # 3, the newest row, removed by compaction
    await store.compact(3)
    await store.close()
    store = await opened(db)
    try:
        assert await store.current_revision() == 3
        assert await store.compacted_revision() == 3
        assert (await store.create("/c", b"1")).mod_revision == 4
    finally:
        await store.close()


async def test_log_table_and_compaction_rows(tmp_path: Path) -> None:
    db = tmp_path / "kv.db"
    store = await opened(db)
    try:
        await store.create("/a", b"1")
        await store.update("/a", b"2", expected_revision=1)
        await store.create("/b", b"1")
        await store.delete("/b")
        await store.create("/c", b"1")
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            rows = conn.execute("SELECT id, key, deleted, prev_revision FROM kv ORDER BY id").fetchall()
            assert rows == [(1, "/a", 0, 0), (2, "/a", 0, 1), (3, "/b", 0, 0), (4, "/b", 1, 3), (5, "/c", 0, 0)]
            await store.compact(4)
            assert [r[0] for r in conn.execute("SELECT id FROM kv ORDER BY id")] == [2, 5]
            assert conn.execute("SELECT value FROM meta WHERE name = 'compacted'").fetchone()[0] == 4
        assert store._wconn is not None
        assert store._wconn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        await store.close()


async def test_concurrent_writes_share_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = await opened(tmp_path / "kv.db")
    commits: list[int] = []
    original = store._append

    def counting(rows: list[Any]) -> None:
        commits.append(len(rows))
        original(rows)

    monkeypatch.setattr(store, "_append", counting)
    try:
        await asyncio.gather(*(store.create(f"/k/{i}", b"v") for i in range(200)))
        assert sum(commits) == 200
        assert len(commits) < 20
    finally:
        await store.close()


async def test_failed_commit_fails_the_batch_and_keeps_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = await opened(tmp_path / "kv.db")
    try:
        await store.create("/a", b"1")
        original = store._append

        def failing(rows: list[Any]) -> None:
            raise sqlite3.OperationalError("disk I/O error")

        monkeypatch.setattr(store, "_append", failing)
        results = await asyncio.gather(store.create("/b", b"1"), store.create("/c", b"1"), return_exceptions=True)
        assert all(isinstance(r, StorageError) for r in results)
        assert await store.current_revision() == 1
        assert await store.get("/b") is None
        monkeypatch.setattr(store, "_append", original)
        assert (await store.create("/b", b"1")).mod_revision == 2
    finally:
        await store.close()


async def test_replay_across_chunks_then_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "_CHUNK", 7)
    store = await opened(tmp_path / "kv.db")
    try:
        for i in range(30):
            await store.create(f"/k/{i:02}", b"v")
        watch = store.watch("/k/", 3)
        await store.create("/k/live", b"v")
        events = await take(watch, 29)
        assert [e.revision for e in events] == list(range(3, 32))
    finally:
        await store.close()


async def test_compaction_during_replay_fails_the_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "_CHUNK", 5)
    store = await opened(tmp_path / "kv.db")
    try:
        for i in range(20):
            await store.create("/k", b"v") if i == 0 else await store.update("/k", b"v", expected_revision=i)
        watch = store.watch("", 1)
        first = await take(watch, 5)
        assert [e.revision for e in first] == [1, 2, 3, 4, 5]
        await store.compact(15)
        with pytest.raises(CompactedError):
            await take(watch, 1)
    finally:
        await store.close()


async def test_use_before_open_and_after_close(tmp_path: Path) -> None:
    store = SQLiteStorage(str(tmp_path / "kv.db"))
    with pytest.raises(StorageError, match="not open"):
        await store.get("/a")
    await store.open()
    with pytest.raises(StorageError, match="already open"):
        await store.open()
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.create("/a", b"1")
    await store.close()  # idempotent


async def test_close_during_replay_ends_the_watch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "_CHUNK", 3)
    store = await opened(tmp_path / "kv.db")
    for i in range(10):
        await store.create(f"/k/{i}", b"v")
    watch = store.watch("", 1)
    assert [e.revision for e in await take(watch, 3)] == [1, 2, 3]
    await store.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(watch), 5)
