"""The watch cache: current state of every object plus a ring of recent events, fed by one
storage watch, from which every GET, LIST and WATCH of the API is served.

Theory of operation
  At start the cache lists everything under /registry/ at revision R, then follows
  storage.watch("/registry/", R + 1). Every storage event is decoded once (JSON, with
  resourceVersion set from the revision), applied to the current state, appended to the ring
  and fanned out to the watchers whose key prefix matches.

Invariants
  1. ``revision`` is the revision of the last storage event applied (or R at start); the
     state equals storage's state at ``revision``.
  2. Events in the ring are in strictly increasing revision order without gaps among the
     events of the watched prefix.
  3. A watcher registered at revision N receives exactly the events with revision > N, in
     order, once each — replayed from the ring, then live.
  4. Objects handed out are shared and must not be mutated; callers deep-copy before change.

Consistent reads: a read that must observe every acknowledged write waits until
``revision`` has reached storage's current revision (``wait_fresh``), as upstream's
consistent reads from cache do.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.storage.interface import EventType, KeyValue, Storage

log = logging.getLogger(__name__)

Obj = dict[str, Any]
REGISTRY_PREFIX = "/registry/"
DEFAULT_RING_SIZE = 20_000  # events kept for watch resumption (older resourceVersions get 410 Gone)


FieldExtractor = Callable[[Obj], dict[str, str]]


class Entry:
    """One object as cached: its JSON (with resourceVersion) plus the labels and selectable
    fields that filters need.

    Only bytes and flat string dicts are kept: CPython's cyclic garbage collector does not
    track those, so a cache of many thousands of objects adds nothing to collection pauses
    (full decoded dicts made gen-2 collections take hundreds of milliseconds). ``obj``
    decodes a fresh dict on every call, which callers may change freely.
    """

    __slots__ = ("fields", "labels", "raw", "revision")

    def __init__(self, raw: bytes, revision: int, labels: dict[str, str],
                 fields: dict[str, str] | None) -> None:
        self.raw = raw
        self.revision = revision
        self.labels = labels
        self.fields = fields

    @property
    def obj(self) -> Obj:
        decoded: Obj = orjson.loads(self.raw)
        return decoded

    @classmethod
    def from_obj(cls, obj: Obj, revision: int, extractor: FieldExtractor | None = None) -> Entry:
        """Index `obj` (setting its resourceVersion to `revision`)."""
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        meta["resourceVersion"] = str(revision)
        labels = meta.get("labels")
        label_copy = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
        fields = extractor(obj) if extractor is not None else None
        return cls(orjson.dumps(obj), revision, label_copy, fields)

    @classmethod
    def from_value(cls, value: bytes, revision: int, extractor: FieldExtractor | None = None) -> Entry:
        decoded = orjson.loads(value)
        if not isinstance(decoded, dict):
            decoded = {"metadata": {}}
        return cls.from_obj(decoded, revision, extractor)


@dataclass(slots=True)
class CacheEvent:
    type: str  # ADDED, MODIFIED, DELETED
    key: str
    revision: int
    entry: Entry  # the object after the event (for DELETED: the last state, at this revision)
    prev: Entry | None
    # Encoded watch lines by event type, shared by every watcher that sends this event as JSON.
    lines: dict[str, bytes] = field(default_factory=dict)

    def line(self, etype: str, entry: Entry) -> bytes:
        """`{"type": etype, "object": entry}` as a JSON line, encoded once per event."""
        if entry is not self.entry:
            return b'{"type":"' + etype.encode() + b'","object":' + entry.raw + b"}\n"
        cached = self.lines.get(etype)
        if cached is None:
            cached = self.lines[etype] = b'{"type":"' + etype.encode() + b'","object":' + entry.raw + b"}\n"
        return cached


class Watcher:
    """One watch's mailbox: the cache appends matching events, the watch's task takes them all
    at once. A sleeping task is woken once per batch of commits, not once per event: with a
    hundred watchers, per-event queue operations, wake-ups and timeout handles were about a
    fifth of the per-watcher time in a profile of fan-out."""

    __slots__ = ("_waiter", "closed", "pending", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.pending: list[CacheEvent] = []
        self.closed = False
        self._waiter: asyncio.Future[None] | None = None

    def push(self, ev: CacheEvent) -> None:
        self.pending.append(ev)
        self.wake()

    def wake(self) -> None:
        """Ends a `wait` in progress (timers use it for bookmarks and deadlines)."""
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Returns when events are pending, the watcher is closed, or `wake` was called."""
        if self.pending or self.closed:
            return
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            if self._waiter is waiter:
                self._waiter = None

    def take(self) -> list[CacheEvent]:
        """Every pending event, in revision order; the mailbox is left empty."""
        events = self.pending
        self.pending = []
        return events

    def close(self) -> None:
        self.closed = True
        self.wake()


class _Bucket:
    """Objects of one resource prefix (e.g. /registry/pods/), with a lazily sorted key list."""

    __slots__ = ("_sorted", "entries", "last_change")

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._sorted: list[str] | None = None
        self.last_change = 0

    def sorted_keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.entries)
        return self._sorted

    def put(self, key: str, entry: Entry) -> None:
        if key not in self.entries:
            self._sorted = None
        self.entries[key] = entry
        self.last_change = entry.revision

    def remove(self, key: str, revision: int) -> None:
        if self.entries.pop(key, None) is not None:
            self._sorted = None
        self.last_change = revision


def bucket_of(key: str) -> str:
    """/registry/pods/default/x -> /registry/pods/ (the resource prefix)."""
    i = key.find("/", len(REGISTRY_PREFIX))
    return key[: i + 1] if i >= 0 else key


def watch_bucket(prefix: str) -> str:
    """The bucket every key under a watch prefix lies in, or "" when the prefix spans buckets
    (such as /registry/ itself)."""
    i = prefix.find("/", len(REGISTRY_PREFIX))
    return prefix[: i + 1] if i >= 0 and prefix.startswith(REGISTRY_PREFIX) else ""


class WatchCache:
    def __init__(self, storage: Storage, *, ring_size: int = DEFAULT_RING_SIZE) -> None:
        self.storage = storage
        self.revision = 0
        self._buckets: dict[str, _Bucket] = {}
        self._ring: deque[CacheEvent] = deque(maxlen=ring_size)
        self._watchers: set[Watcher] = set()
        # Watchers by the bucket their prefix lies in, so that an event is matched only against
        # the watchers of its resource; a prefix wider than one bucket goes under "".
        self._watchers_by_bucket: dict[str, set[Watcher]] = {}
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[CacheEvent], None]] = []
        self._extractors: dict[str, FieldExtractor] = {}
        self.oldest_revision = 0  # watches from before this revision get 410 Gone

    def set_extractor(self, bucket_prefix: str, extractor: FieldExtractor) -> None:
        """Selectable fields of the objects under `bucket_prefix`, indexed as they arrive
        (call before start)."""
        self._extractors[bucket_prefix] = extractor

    def entry_from_value(self, key: str, value: bytes, revision: int) -> Entry:
        return Entry.from_value(value, revision, self._extractors.get(bucket_of(key)))

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        result = await self.storage.list(REGISTRY_PREFIX)
        for kv in result.items:
            entry = self.entry_from_value(kv.key, kv.value, kv.mod_revision)
            self._bucket(kv.key).put(kv.key, entry)
        self.revision = result.revision
        self.oldest_revision = result.revision
        self._task = asyncio.create_task(self._follow(result.revision + 1), name="watch-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for w in list(self._watchers):
            self.unregister(w)

    def add_listener(self, fn: Callable[[CacheEvent], None]) -> None:
        """Synchronous in-process hook called for every event (allocators, admission state)."""
        self._listeners.append(fn)

    async def _follow(self, from_revision: int) -> None:
        try:
            async for ev in self.storage.watch(REGISTRY_PREFIX, from_revision):
                self._apply(ev.type, ev.key, ev.revision, ev.kv, ev.prev)
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - storage failure is fatal for serving
            log.exception("watch cache lost its storage watch")
            raise

    def _bucket(self, key: str) -> _Bucket:
        b = bucket_of(key)
        bucket = self._buckets.get(b)
        if bucket is None:
            bucket = self._buckets[b] = _Bucket()
        return bucket

    def _apply(self, etype: EventType, key: str, revision: int, kv: KeyValue | None, prev_kv: KeyValue | None) -> None:
        bucket = self._bucket(key)
        prev = bucket.entries.get(key)
        if etype is EventType.PUT:
            assert kv is not None
            entry = self.entry_from_value(key, kv.value, revision)
            bucket.put(key, entry)
            ev = CacheEvent("ADDED" if prev is None else "MODIFIED", key, revision, entry, prev)
        else:
            if prev is None:
                if prev_kv is None:
                    self._advance(revision)
                    return
                prev = self.entry_from_value(key, prev_kv.value, prev_kv.mod_revision)
            # the last state, stamped with the deletion's revision
            last = Entry.from_obj(prev.obj, revision, self._extractors.get(bucket_of(key)))
            bucket.remove(key, revision)
            ev = CacheEvent("DELETED", key, revision, last, prev)
        if len(self._ring) == self._ring.maxlen:
            self.oldest_revision = self._ring[0].revision
        self._ring.append(ev)
        for fn in self._listeners:
            try:
                fn(ev)
            except Exception:  # pragma: no cover
                log.exception("cache listener failed")
        for bucket_key in (bucket_of(key), ""):
            for w in self._watchers_by_bucket.get(bucket_key, ()):
                if key.startswith(w.prefix):
                    w.push(ev)
        self._advance(revision)

    def _advance(self, revision: int) -> None:
        self.revision = revision
        if self._waiters:
            still = []
            for target, fut in self._waiters:
                if revision >= target:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    still.append((target, fut))
            self._waiters = still

    async def wait_for(self, revision: int, timeout: float = 3.0) -> None:
        if self.revision >= revision:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((revision, fut))
        await asyncio.wait_for(fut, timeout)

    async def wait_fresh(self) -> None:
        """Wait until every write acknowledged so far is visible in the cache."""
        await self.wait_for(await self.storage.current_revision())

    # --- reads ------------------------------------------------------------------------------------
    def get(self, key: str) -> Entry | None:
        bucket = self._buckets.get(bucket_of(key))
        return bucket.entries.get(key) if bucket else None

    def last_change(self, bucket_prefix: str) -> int:
        # custom resources' prefixes (/registry/<group>/<plural>/) lie inside their group's bucket
        bucket = self._buckets.get(bucket_of(bucket_prefix))
        return bucket.last_change if bucket else 0

    def iter_prefix(self, prefix: str, *, after: str = "") -> Iterator[tuple[str, Entry]]:
        """Entries whose key starts with `prefix`, in key order, starting after `after`."""
        bucket = self._buckets.get(bucket_of(prefix))
        if bucket is None:
            return
        keys = bucket.sorted_keys()
        start = bisect.bisect_left(keys, prefix)
        if after:
            start = max(start, bisect.bisect_right(keys, after))
        entries = bucket.entries
        for i in range(start, len(keys)):
            k = keys[i]
            if not k.startswith(prefix):
                break
            e = entries.get(k)
            if e is not None:
                yield k, e

    def all_entries(self) -> Iterator[Entry]:
        for bucket in self._buckets.values():
            yield from bucket.entries.values()

    def count_prefix(self, prefix: str) -> int:
        return sum(1 for _ in self.iter_prefix(prefix))

    # --- watch ------------------------------------------------------------------------------------
    def register(self, prefix: str, from_revision: int) -> Watcher | None:
        """A watcher receiving events with revision > from_revision; None if that history is
        no longer in the ring (the caller answers 410 Gone)."""
        if from_revision < self.oldest_revision:
            return None
        w = Watcher(prefix)
        for ev in self._ring:
            if ev.revision > from_revision and ev.key.startswith(prefix):
                w.pending.append(ev)
        self._watchers.add(w)
        self._watchers_by_bucket.setdefault(watch_bucket(prefix), set()).add(w)
        return w

    def unregister(self, w: Watcher) -> None:
        if w in self._watchers:
            self._watchers.discard(w)
            group = self._watchers_by_bucket.get(watch_bucket(w.prefix))
            if group is not None:
                group.discard(w)
                if not group:
                    del self._watchers_by_bucket[watch_bucket(w.prefix)]
            w.close()

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
