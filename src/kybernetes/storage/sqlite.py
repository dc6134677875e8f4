"""The default store: one SQLite file, a log of every write, group-committed and fsynced.

Layout. Table `kv` is an append-only log: each write is one row whose `id` is its revision, with
the key, the value (NULL for a delete), the key's create_revision and `prev_revision`, the row it
supersedes (0 when the key was absent). Watch-from-revision is a range scan on `id`, joined to
`prev_revision` for the previous value. Table `meta` holds the compacted revision. WAL mode with
synchronous=FULL: a commit returns once the WAL is fsynced.

Theory of operation:
  1. Everything that decides lives on the event loop thread: the latest-value index (what get,
     list and count at the current revision read), the current revision, the watch hub.
  2. Writes queue up. One flusher task takes the whole queue as a batch, decides every op in
     order against the index plus the batch's own earlier results (ops.decide), hands the rows
     to the single writer thread, which inserts them in one transaction and commits (one
     fsync). Back on the loop, only after the commit, it applies the batch to the index,
     publishes the events to watchers and resolves each caller's future. Hence a read after an
     acknowledged write sees it, and no read ever sees a write that is not durable.
  3. While the writer thread commits batch N, callers queue batch N+1: throughput grows with
     concurrency instead of paying one fsync per write.
  4. Reads of the past (list at a revision, watch replay) go to a second connection on a reader
     thread; WAL lets it read while the writer commits. Replay is capped at the revision
     published when the watcher registered (watchhub invariant 1).
  5. Compaction first raises the in-memory compacted revision (so no new read of the past
     starts below it), persists it, then deletes superseded rows and tombstones in chunks that
     interleave with write batches. A replay re-checks the compacted revision after each chunk
     it reads and fails with CompactedError if rows it needed may have gone.
  6. On open, the current revision is max(largest id, compacted revision): rows above the
     compacted revision are never deleted, so the revision never goes backwards.

Threads: the store belongs to the event loop that ran `open()`; call it only from that loop.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kybernetes.storage.index import LatestIndex
from kybernetes.storage.interface import (
    CompactedError,
    Event,
    EventType,
    FutureRevisionError,
    KeyValue,
    ListResult,
    Storage,
    StorageError,
)
from kybernetes.storage.ops import OpKind, WriteOp, decide, prefix_end
from kybernetes.storage.watchhub import WatchHub, stream

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    value BLOB,
    create_revision INTEGER NOT NULL,
    prev_revision INTEGER NOT NULL,
    deleted INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS kv_key_id ON kv(key, id);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_INSERT = "INSERT INTO kv (id, key, value, create_revision, prev_revision, deleted) VALUES (?, ?, ?, ?, ?, ?)"

Row = tuple[int, str, bytes | None, int, int, int]

# Rows read per query when replaying the log or compacting; bounds memory and lets write
# batches interleave with long maintenance.
_CHUNK = 2000


def event_row(event: Event) -> Row:
    """The log row that records `event`."""
    prev_revision = event.prev.mod_revision if event.prev is not None else 0
    if event.kv is not None:
        return (event.revision, event.key, event.kv.value, event.kv.create_revision, prev_revision, 0)
    assert event.prev is not None
    return (event.revision, event.key, None, event.prev.create_revision, prev_revision, 1)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


class SQLiteStorage(Storage):
    """`store = SQLiteStorage(path); await store.open()` ... `await store.close()`.

    `max_batch` caps how many writes share one transaction.
    """

    def __init__(self, path: str, *, max_batch: int = 1024) -> None:
        self.path = path
        self._max_batch = max_batch
        self._index = LatestIndex()
        self._rev = 0
        self._compacted = 0
        self._hub = WatchHub()
        self._queue: list[tuple[WriteOp, asyncio.Future[Event]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._compact_lock = asyncio.Lock()
        self._opened = False
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="kyb-sqlite-write")
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="kyb-sqlite-read")
        self._wconn: sqlite3.Connection | None = None
        self._rconn: sqlite3.Connection | None = None

    # -- lifecycle ------------------------------------------------------------------------

    async def open(self) -> None:
        if self._opened:
            raise StorageError("storage is already open")
        self._loop = asyncio.get_running_loop()
        latest, current, compacted = await self._in(self._writer, self._open_writer)
        await self._in(self._reader, self._open_reader)
        for kv in latest:
            self._index.put(kv)
        self._rev = current
        self._compacted = compacted
        self._opened = True

    def _open_writer(self) -> tuple[list[KeyValue], int, int]:
        conn = _connect(self.path)
        self._wconn = conn
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StorageError(f"{self.path}: cannot use WAL journal mode (got {mode})")
        conn.execute("PRAGMA synchronous = FULL")
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE name = 'compacted'").fetchone()
        compacted = int(row[0]) if row else 0
        max_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM kv").fetchone()[0]
        # SQLite fills the bare columns from the row that holds MAX(id).
        latest = [
            KeyValue(key, value, create_revision, mod_revision)
            for key, value, create_revision, mod_revision, deleted in conn.execute(
                "SELECT key, value, create_revision, MAX(id), deleted FROM kv GROUP BY key"
            )
            if not deleted
        ]
        return latest, max(int(max_id), compacted), compacted

    def _open_reader(self) -> None:
        conn = _connect(self.path)
        conn.execute("PRAGMA query_only = ON")
        self._rconn = conn

    async def close(self) -> None:
        if self._closed or not self._opened:
            self._closed = True
            self._writer.shutdown(wait=False)
            self._reader.shutdown(wait=False)
            return
        self._closed = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)
        async with self._compact_lock:
            pass
        self._hub.close()
        await self._in(self._writer, self._close_conn, self._wconn)
        await self._in(self._reader, self._close_conn, self._rconn)
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)

    @staticmethod
    def _close_conn(conn: sqlite3.Connection | None) -> None:
        if conn is not None:
            conn.close()

    async def _in(self, executor: ThreadPoolExecutor, fn: Callable[..., _T], *args: Any) -> _T:
        loop = self._loop
        assert loop is not None
        return await loop.run_in_executor(executor, fn, *args)

    def _check_open(self) -> None:
        if not self._opened:
            raise StorageError("storage is not open: await store.open() first")
        if self._closed:
            raise StorageError("storage is closed")

    # -- writes ---------------------------------------------------------------------------

    async def _submit(self, op: WriteOp) -> Event:
        self._check_open()
        loop = self._loop
        assert loop is not None
        future: asyncio.Future[Event] = loop.create_future()
        self._queue.append((op, future))
        if self._flusher is None:
            self._flusher = loop.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    await self._commit_batch(batch)
                except Exception as exc:  # a bug, not a contract error: never strand a caller
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(StorageError(f"write failed: {exc!r}"))
        finally:
            self._flusher = None

    async def _commit_batch(self, batch: list[tuple[WriteOp, asyncio.Future[Event]]]) -> None:
        overlay: dict[str, KeyValue | None] = {}
        events: list[Event] = []
        outcomes: list[tuple[asyncio.Future[Event], Event | StorageError]] = []
        rev = self._rev
        for op, future in batch:
            current = overlay[op.key] if op.key in overlay else self._index.get(op.key)
            try:
                event = decide(op, current, rev + 1)
            except StorageError as err:
                outcomes.append((future, err))
                continue
            rev = event.revision
            overlay[op.key] = event.kv
            events.append(event)
            outcomes.append((future, event))
        if events:
            try:
                await self._in(self._writer, self._append, [event_row(e) for e in events])
            except Exception as exc:
                for future, _ in outcomes:
                    if not future.done():
                        future.set_exception(StorageError(f"commit failed: {exc}"))
                return
            for event in events:
                self._index.apply(event)
            self._rev = rev
            self._hub.publish(events)
        for future, outcome in outcomes:
            if future.done():  # the caller gave up waiting; the write stands regardless
                continue
            if isinstance(outcome, Event):
                future.set_result(outcome)
            else:
                future.set_exception(outcome)

    def _append(self, rows: list[Row]) -> None:
        conn = self._wconn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(_INSERT, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    async def create(self, key: str, value: bytes) -> KeyValue:
        event = await self._submit(WriteOp(OpKind.CREATE, key, value))
        assert event.kv is not None
        return event.kv

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        event = await self._submit(WriteOp(OpKind.UPDATE, key, value, expected_revision))
        assert event.kv is not None
        return event.kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        event = await self._submit(WriteOp(OpKind.DELETE, key, expected_revision=expected_revision))
        assert event.prev is not None
        return event.prev

    # -- reads ----------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue | None:
        self._check_open()
        return self._index.get(key)

    async def count(self, prefix: str) -> int:
        self._check_open()
        return self._index.count(prefix)

    async def list(
        self,
        prefix: str,
        *,
        limit: int = 0,
        continue_key: str | None = None,
        revision: int = 0,
    ) -> ListResult:
        self._check_open()
        if revision == 0 or revision == self._rev:
            items, more = self._index.range(prefix, limit=limit, continue_key=continue_key)
            return ListResult(items, self._rev, more)
        if revision > self._rev:
            raise FutureRevisionError(revision, self._rev)
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        items = await self._in(self._reader, self._list_at, prefix, continue_key, limit, revision)
        # Compaction only deletes rows at or below the compacted revision, and raises that
        # revision before it deletes anything: if it is still <= `revision`, the read was whole.
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)
        more = bool(limit) and len(items) > limit
        return ListResult(items[:limit] if more else items, revision, more)

    def _list_at(self, prefix: str, continue_key: str | None, limit: int, revision: int) -> builtins.list[KeyValue]:
        conn = self._rconn
        assert conn is not None
        conds = ["key >= ?", "id <= ?"]
        params: list[Any] = [prefix, revision]
        end = prefix_end(prefix)
        if end is not None:
            conds.append("key < ?")
            params.append(end)
        if continue_key is not None:
            conds.append("key > ?")
            params.append(continue_key)
        sql = (
            "SELECT key, value, create_revision, id FROM kv WHERE id IN "
            f"(SELECT MAX(id) FROM kv WHERE {' AND '.join(conds)} GROUP BY key) "
            "AND deleted = 0 ORDER BY key"
        )
        if limit:
            sql += " LIMIT ?"
            params.append(limit + 1)
        return [KeyValue(k, v, c, m) for k, v, c, m in conn.execute(sql, params)]

    # -- watch ----------------------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        self._check_open()
        watcher = self._hub.register(prefix)
        upto = self._rev  # the live queue holds exactly the events after this revision
        if from_revision == 0 or from_revision == upto + 1:
            return stream(self._hub, watcher, None)
        if from_revision > upto + 1:
            return stream(self._hub, watcher, None, FutureRevisionError(from_revision, upto))
        if from_revision <= self._compacted:
            return stream(self._hub, watcher, None, CompactedError(from_revision, self._compacted))
        return stream(self._hub, watcher, self._replay(prefix, from_revision, upto))

    async def _replay(self, prefix: str, from_revision: int, upto: int) -> AsyncGenerator[Event, None]:
        start = from_revision
        while start <= upto and not self._closed:
            events = await self._in(self._reader, self._read_log, prefix, start, upto)
            if self._compacted >= start:
                raise CompactedError(from_revision, self._compacted)
            for event in events:
                yield event
            if len(events) < _CHUNK:
                return
            start = events[-1].revision + 1

    def _read_log(self, prefix: str, start: int, upto: int) -> builtins.list[Event]:
        conn = self._rconn
        assert conn is not None
        conds = ["e.id >= ?", "e.id <= ?"]
        params: list[Any] = [start, upto]
        if prefix:
            conds.append("e.key >= ?")
            params.append(prefix)
            end = prefix_end(prefix)
            if end is not None:
                conds.append("e.key < ?")
                params.append(end)
        sql = (
            "SELECT e.id, e.key, e.value, e.create_revision, e.deleted, p.id, p.value, p.create_revision "
            "FROM kv e LEFT JOIN kv p ON p.id = e.prev_revision "
            f"WHERE {' AND '.join(conds)} ORDER BY e.id LIMIT ?"
        )
        params.append(_CHUNK)
        events: builtins.list[Event] = []
        for rev, key, value, create_rev, deleted, prev_rev, prev_value, prev_create in conn.execute(sql, params):
            prev = KeyValue(key, prev_value, prev_create, prev_rev) if prev_rev is not None else None
            if deleted:
                events.append(Event(EventType.DELETE, key, rev, None, prev))
            else:
                events.append(Event(EventType.PUT, key, rev, KeyValue(key, value, create_rev, rev), prev))
        return events

    # -- maintenance ----------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        """Revisions at or below the compacted one are a no-op; beyond the current one raise
        FutureRevisionError."""
        self._check_open()
        async with self._compact_lock:
            if revision > self._rev:
                raise FutureRevisionError(revision, self._rev)
            if revision <= self._compacted:
                return
            self._compacted = revision
            low = await self._in(self._writer, self._save_compacted, revision)
            while low <= revision:
                high = min(low + _CHUNK - 1, revision)
                await self._in(self._writer, self._delete_superseded, low, high, revision)
                low = high + 1

    def _save_compacted(self, revision: int) -> int:
        """Persist the compacted revision; returns the lowest revision still in the log."""
        conn = self._wconn
        assert conn is not None
        conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES ('compacted', ?)", (revision,))
        low = conn.execute("SELECT MIN(id) FROM kv").fetchone()[0]
        return int(low) if low is not None else revision + 1

    def _delete_superseded(self, low: int, high: int, revision: int) -> None:
        conn = self._wconn
        assert conn is not None
        conn.execute(
            "DELETE FROM kv WHERE id >= ? AND id <= ? AND (deleted = 1 OR EXISTS "
            "(SELECT 1 FROM kv AS n WHERE n.key = kv.key AND n.id > kv.id AND n.id <= ?))",
            (low, high, revision),
        )

    async def current_revision(self) -> int:
        return self._rev

    async def compacted_revision(self) -> int:
        return self._compacted
