"""Recording core/v1 Events ("Scheduled", "Pulled", "FailedMount"...) as client-go's recorder does.

Components call ``recorder.event(obj, "Normal", "Scheduled", "Successfully assigned ...")``; it never
blocks nor fails the caller. A background task correlates and writes events in order:

1. Spam filter: per source and involved object a token bucket (burst 25, one token per 5 minutes);
   events beyond it are dropped.
2. Aggregation: events alike but for their message (same source, object, type, reason) are counted
   per 10 minutes; from the 10th distinct message on they are folded into one event whose message
   starts "(combined from similar events): ".
3. Deduplication: an event identical to one already written (same source, object, type, reason,
   message) is not created again: the existing Event is PATCHed with count + 1, the new
   lastTimestamp and message. If that Event is gone it is created afresh.

Assumptions: the caches are per recorder (per process) and bounded (LRU, 4096 entries), as
upstream's; a restart starts counting anew. Events of cluster-scoped objects go to "default".
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kybernetes.api.resources import lookup
from kybernetes.client.errors import APIError, is_not_found
from kybernetes.client.rest import APIClient, ResourceLike

log = logging.getLogger("kyb.client.events")

EVENTS: ResourceLike = lookup("", "v1", "events")  # type: ignore[assignment]
NORMAL = "Normal"
WARNING = "Warning"
COMBINED_PREFIX = "(combined from similar events): "
CACHE_SIZE = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
QUEUE_SIZE = 1000
WRITE_ATTEMPTS = 3

Obj = dict[str, Any]


def object_reference(obj: Mapping[str, Any]) -> Obj:
    """An ObjectReference for an API object (or the reference itself, if given one)."""
    if "metadata" not in obj:
        return {k: v for k, v in obj.items() if v not in (None, "")}
    meta = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
           "uid": meta.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    return {k: v for k, v in ref.items() if v}


def go_time(t: dt.datetime) -> str:
    """metav1.Time as JSON (RFC 3339, seconds, UTC)."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _object_key(ev: Mapping[str, Any]) -> tuple[str, ...]:
    src = ev.get("source") or {}
    ref = ev.get("involvedObject") or {}
    return (src.get("component", ""), src.get("host", ""), ref.get("kind", ""), ref.get("namespace", ""),
            ref.get("name", ""), ref.get("uid", ""), ref.get("apiVersion", ""))


def aggregate_key(ev: Mapping[str, Any]) -> tuple[str, ...]:
    return (*_object_key(ev), ev.get("type", ""), ev.get("reason", ""))


def event_key(ev: Mapping[str, Any]) -> tuple[str, ...]:
    ref = ev.get("involvedObject") or {}
    return (*aggregate_key(ev), ref.get("fieldPath", ""), ev.get("message", ""))


class _LRU(OrderedDict[tuple[str, ...], Any]):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def touch(self, key: tuple[str, ...], value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass(slots=True)
class _Seen:
    name: str
    namespace: str
    count: int
    first_timestamp: str


@dataclass(slots=True)
class _Aggregate:
    messages: set[str] = field(default_factory=set)
    last: float = 0.0


@dataclass(slots=True)
class _Bucket:
    tokens: float
    last: float


@dataclass(slots=True)
class Decision:
    """What to write for an event: nothing (spam), a new Event, or a patch of an existing one."""

    action: str  # "drop" | "create" | "patch"
    event: Obj
    key: tuple[str, ...] = ()
    patch: Obj | None = None


class EventCorrelator:
    """Spam filter, aggregation and deduplication state; `correlate` decides, `written` records."""

    def __init__(self, *, cache_size: int = CACHE_SIZE, max_events: int = AGGREGATE_MAX_EVENTS,
                 interval: float = AGGREGATE_INTERVAL, burst: int = SPAM_BURST, qps: float = SPAM_QPS) -> None:
        self.max_events = max_events
        self.interval = interval
        self.burst = burst
        self.qps = qps
        self._buckets = _LRU(cache_size)
        self._aggregates = _LRU(cache_size)
        self._seen = _LRU(cache_size)

    def correlate(self, ev: Obj, now: float) -> Decision:
        """`now` is a monotonic time in seconds. `ev` is a fresh Event with count 1."""
        okey = _object_key(ev)
        bucket: _Bucket | None = self._buckets.get(okey)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.last) * self.qps)
        bucket.last = now
        self._buckets.touch(okey, bucket)
        if bucket.tokens < 1.0:
            return Decision("drop", ev)
        bucket.tokens -= 1.0

        key = event_key(ev)
        akey = aggregate_key(ev)
        agg: _Aggregate | None = self._aggregates.get(akey)
        if agg is None or now - agg.last > self.interval:
            agg = _Aggregate()
        agg.last = now
        agg.messages.add(str(ev.get("message", "")))
        self._aggregates.touch(akey, agg)
        if len(agg.messages) >= self.max_events:
            ev = dict(ev, message=COMBINED_PREFIX + str(ev.get("message", "")))
            key = akey

        seen: _Seen | None = self._seen.get(key)
        if seen is None:
            return Decision("create", ev, key)
        count = seen.count + 1
        meta = dict(ev["metadata"], name=seen.name, namespace=seen.namespace)
        ev = dict(ev, metadata=meta, count=count, firstTimestamp=seen.first_timestamp)
        patch = {"count": count, "lastTimestamp": ev.get("lastTimestamp"), "message": ev.get("message")}
        return Decision("patch", ev, key, patch)

    def written(self, key: tuple[str, ...], ev: Mapping[str, Any]) -> None:
        meta = ev.get("metadata") or {}
        self._seen.touch(key, _Seen(str(meta.get("name", "")), str(meta.get("namespace", "")),
                                    int(ev.get("count") or 1), str(ev.get("firstTimestamp") or "")))

    def forget(self, key: tuple[str, ...]) -> None:
        self._seen.pop(key, None)


class EventRecorder:
    """Writes Events for one component (``source.component``) on one host (``source.host``)."""

    def __init__(self, client: APIClient, component: str, *, host: str = "",
                 correlator: EventCorrelator | None = None,
                 wall_clock: Callable[[], dt.datetime] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.component = component
        self.host = host
        self.correlator = correlator or EventCorrelator()
        self.wall_clock = wall_clock or (lambda: dt.datetime.now(dt.UTC))
        self.monotonic = monotonic
        self._queue: asyncio.Queue[Obj] | None = None
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def make_event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> Obj:
        ref = object_reference(obj)
        now = self.wall_clock()
        stamp = go_time(now)
        source = {"component": self.component}
        if self.host:
            source["host"] = self.host
        ts_ns = int(now.timestamp() * 1e9)
        return {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{ref.get('name', 'unknown')}.{ts_ns:x}", "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref, "reason": reason, "message": message, "type": type_, "source": source,
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": self.component, "reportingInstance": self.host,
        }

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        """Record an event in the background (never blocks, never raises)."""
        ev = self.make_event(obj, type_, reason, message)
        if self._queue is None:
            self._queue = asyncio.Queue(QUEUE_SIZE)
            self._task = asyncio.get_running_loop().create_task(self._drain(self._queue), name="event-recorder")
        try:
            self._queue.put_nowait(ev)
        except asyncio.QueueFull:
            self.dropped += 1

    async def record(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> Obj | None:
        """Record an event now; the Event as written (None if dropped or failed)."""
        return await self._write(self.make_event(obj, type_, reason, message))

    async def flush(self) -> None:
        """Wait until every event handed to `event` has been written (or given up on)."""
        if self._queue is not None:
            await self._queue.join()

    async def close(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None
        self._queue = None

    async def _drain(self, queue: asyncio.Queue[Obj]) -> None:
        while True:
            ev = await queue.get()
            try:
                await self._write(ev)
            except Exception:
                log.exception("writing event failed")
            finally:
                queue.task_done()

    async def _write(self, ev: Obj) -> Obj | None:
        decision = self.correlator.correlate(ev, self.monotonic())
        if decision.action == "drop":
            self.dropped += 1
            return None
        for attempt in range(WRITE_ATTEMPTS):
            try:
                written = await self._send(decision)
            except APIError as e:
                if e.code in (429,) or e.code >= 500:
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                log.warning("event %s/%s rejected: %s", decision.event.get("reason"),
                            (decision.event.get("involvedObject") or {}).get("name"), e)
                return None
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                log.info("event write failed (attempt %d): %r", attempt + 1, e)
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            self.correlator.written(decision.key, written)
            return written
        return None

    async def _send(self, d: Decision) -> Obj:
        meta = d.event["metadata"]
        if d.action == "patch":
            try:
                return await self.client.patch(EVENTS, meta["name"], d.patch, namespace=meta["namespace"],
                                               patch_type="strategic")
            except APIError as e:
                if not is_not_found(e):
                    raise
                # The Event expired (events have a TTL) or was deleted: start it again.
                self.correlator.forget(d.key)
                fresh = dict(d.event, count=1, firstTimestamp=d.event["lastTimestamp"])
                return await self.client.create(EVENTS, fresh, namespace=meta["namespace"])
        return await self.client.create(EVENTS, d.event, namespace=meta["namespace"])
