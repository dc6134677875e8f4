"""An in-memory store with the full contract: tests, simulations and the contract's reference.

History lives in two shapes: a log of events in revision order (watch replay is a bisect and a
slice) and, per key, the list of its (revision, value-or-None) versions (list at a past revision
is a bisect per key). Compaction trims both. Writes are applied synchronously on the event loop,
so "durable" here means "applied"; nothing survives the process.
"""

from __future__ import annotations

import bisect
from collections.abc import AsyncGenerator, AsyncIterator

from kybernetes.storage.index import LatestIndex
from kybernetes.storage.interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyValue,
    ListResult,
    Storage,
    StorageError,
)
from kybernetes.storage.ops import OpKind, WriteOp, decide
from kybernetes.storage.watchhub import WatchHub, stream


class MemoryStorage(Storage):
    """Ready to use once constructed; `open()` exists only for symmetry with SQLiteStorage."""

    def __init__(self) -> None:
        self._index = LatestIndex()
        self._log: list[Event] = []
        self._versions: dict[str, list[tuple[int, KeyValue | None]]] = {}
        self._rev = 0
        self._compacted = 0
        self._hub = WatchHub()
        self._closed = False

    async def open(self) -> None:
        return None

    # -- writes ---------------------------------------------------------------------------

    def _write(self, op: WriteOp) -> Event:
        if self._closed:
            raise StorageError("storage is closed")
        event = decide(op, self._index.get(op.key), self._rev + 1)
        self._rev = event.revision
        self._index.apply(event)
        self._log.append(event)
        self._versions.setdefault(event.key, []).append((event.revision, event.kv))
        self._hub.publish([event])
        return event

    async def create(self, key: str, value: bytes) -> KeyValue:
        event = self._write(WriteOp(OpKind.CREATE, key, value))
        assert event.kv is not None
        return event.kv

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        event = self._write(WriteOp(OpKind.UPDATE, key, value, expected_revision))
        assert event.kv is not None
        return event.kv

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        event = self._write(WriteOp(OpKind.DELETE, key, expected_revision=expected_revision))
        assert event.prev is not None
        return event.prev

    # -- reads ----------------------------------------------------------------------------

    async def get(self, key: str) -> KeyValue | None:
        return self._index.get(key)

    async def count(self, prefix: str) -> int:
        return self._index.count(prefix)

    def _check_read_revision(self, revision: int) -> None:
        if revision > self._rev:
            raise FutureRevisionError(revision, self._rev)
        if revision < self._compacted:
            raise CompactedError(revision, self._compacted)

    async def list(
        self,
        prefix: str,
        *,
        limit: int = 0,
        continue_key: str | None = None,
        revision: int = 0,
    ) -> ListResult:
        if revision == 0 or revision == self._rev:
            items, more = self._index.range(prefix, limit=limit, continue_key=continue_key)
            return ListResult(items, self._rev, more)
        self._check_read_revision(revision)
        items = []
        more = False
        for key in sorted(self._versions):
            if not key.startswith(prefix) or (continue_key is not None and key <= continue_key):
                continue
            versions = self._versions[key]
            i = bisect.bisect_right(versions, revision, key=lambda v: v[0])
            kv = versions[i - 1][1] if i else None
            if kv is None:
                continue
            if limit and len(items) == limit:
                more = True
                break
            items.append(kv)
        return ListResult(items, revision, more)

    # -- watch ----------------------------------------------------------------------------

    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        watcher = self._hub.register(prefix)
        if from_revision == 0:
            return stream(self._hub, watcher, None)
        if from_revision > self._rev + 1:
            return stream(self._hub, watcher, None, FutureRevisionError(from_revision, self._rev))
        if from_revision <= self._compacted:
            return stream(self._hub, watcher, None, CompactedError(from_revision, self._compacted))
        # Registration and this slice happen with no await between them: the live queue starts
        # exactly after the last replayed event.
        start = bisect.bisect_left(self._log, from_revision, key=lambda e: e.revision)
        history = [e for e in self._log[start:] if e.key.startswith(prefix)]
        return stream(self._hub, watcher, _replay(history))

    # -- maintenance ----------------------------------------------------------------------

    async def compact(self, revision: int) -> None:
        """Revisions at or below the compacted one are a no-op; beyond the current one raise
        FutureRevisionError."""
        if revision > self._rev:
            raise FutureRevisionError(revision, self._rev)
        if revision <= self._compacted:
            return
        self._compacted = revision
        start = bisect.bisect_right(self._log, revision, key=lambda e: e.revision)
        del self._log[:start]
        for key in list(self._versions):
            versions = self._versions[key]
            i = bisect.bisect_right(versions, revision, key=lambda v: v[0])
            if i == 0:
                continue
            # Keep the version in force at `revision` only if it is a live value.
            keep_from = i - 1 if versions[i - 1][1] is not None else i
            del versions[:keep_from]
            if not versions:
                del self._versions[key]

    async def current_revision(self) -> int:
        return self._rev

    async def compacted_revision(self) -> int:
        return self._compacted

    async def close(self) -> None:
        self._closed = True
        self._hub.close()


async def _replay(events: list[Event]) -> AsyncGenerator[Event, None]:
    for event in events:
        yield event

