"""The cluster log store: append-only segment files, size and age retention, filtered scans.

Theory of operation.
- Every log line is one record, stored as one JSON line: ``ts`` (Unix ns), ``node``,
  ``namespace``, ``pod``, ``uid``, ``container``, ``labels``, ``stream``, ``log``.
- Records go to the active segment, a file named by the store-wide byte offset of its first
  record (``00000000000000000000.seg``); a record's *cursor* is its store-wide offset, so cursors
  only grow and `query(after=cursor)` resumes exactly where a follower stopped.
- The active segment is closed once it reaches ``segment_bytes``; retention then removes whole
  closed segments, oldest first, while the store exceeds ``max_bytes`` or a segment's last write
  is older than ``max_age``.
- Queries scan segments line by line up to the end offset seen when they started, so appends
  running meanwhile are never half read; they keep at most ``limit`` records (memory is bounded
  by the limit, not by the store), sorted by time. A scan skips segments last written before
  ``since``.

Invariants:
1. Only `append` writes, under the lock, whole lines at a time; cursors are never reused.
2. A torn last line (a crash mid-write) is cut off when the store opens.
3. Bad records are rejected before anything is written (`validate_record`).
"""

from __future__ import annotations

import collections
import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from kybernetes.machinery.labels import Selector

SEGMENT_SUFFIX = ".seg"
NS = 1_000_000_000
MAX_LIMIT = 10_000
MAX_LINE = 256 * 1024  # one record's log text is cut beyond this
Record = dict[str, Any]


@dataclass(frozen=True)
class StoreSettings:
    segment_bytes: int = 8 * 1024 * 1024
    max_bytes: int = 512 * 1024 * 1024
    max_age: float = 7 * 24 * 3600.0


@dataclass(frozen=True)
class Query:
    namespace: str = ""
    pod: str = ""
    container: str = ""
    node: str = ""
    selector: Selector | None = None
    since_ns: int | None = None
    grep: re.Pattern[str] | None = None
    after: int | None = None  # a cursor: records at or after it, oldest first
    limit: int = 1000  # without `after`: the newest `limit` matches


@dataclass(frozen=True)
class QueryResult:
    records: list[Record]
    cursor: int  # where a follower continues (`after=`)


class RecordError(ValueError):
    pass


_STRING_FIELDS = ("node", "namespace", "pod", "uid", "container", "stream")


def validate_record(raw: Any, *, node: str | None = None) -> Record:
    """A clean record from untrusted input; ``node`` (the sender's identity) overrides its claim."""
    if not isinstance(raw, Mapping):
        raise RecordError("a record must be an object")
    ts = raw.get("ts")
    if not isinstance(ts, int) or isinstance(ts, bool) or ts < 0:
        raise RecordError("ts: must be a non-negative integer (Unix nanoseconds)")
    out: Record = {"ts": ts}
    for key in _STRING_FIELDS:
        value = raw.get(key, "")
        if not isinstance(value, str) or len(value) > 512:
            raise RecordError(f"{key}: must be a string of at most 512 characters")
        out[key] = value
    if node is not None:
        out["node"] = node
    if not out["namespace"] or not out["pod"]:
        raise RecordError("namespace and pod are required")
    labels = raw.get("labels") or {}
    if not isinstance(labels, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise RecordError("labels: must map strings to strings")
    out["labels"] = dict(labels)
    text = raw.get("log", "")
    if not isinstance(text, str):
        raise RecordError("log: must be a string")
    out["log"] = text[:MAX_LINE]
    return out


def matches(record: Mapping[str, Any], q: Query) -> bool:
    if q.namespace and record.get("namespace") != q.namespace:
        return False
    if q.pod and record.get("pod") != q.pod:
        return False
    if q.container and record.get("container") != q.container:
        return False
    if q.node and record.get("node") != q.node:
        return False
    if q.since_ns is not None and int(record.get("ts", 0)) < q.since_ns:
        return False
    if q.selector is not None and not q.selector.matches(record.get("labels") or {}):
        return False
    return q.grep is None or q.grep.search(str(record.get("log", ""))) is not None


def _quick_reject(line: bytes, needles: tuple[bytes, ...]) -> bool:
    """Skip decoding a line that cannot match: an exact field value must appear in its bytes."""
    return any(n not in line for n in needles)


def retention_victims(
    segments: list[tuple[int, int, float]], *, max_bytes: int, max_age: float, now: float
) -> list[int]:
    """Closed segments to delete, given (base, size, last write) of all segments oldest first
    (the last one is active and always stays)."""
    total = sum(size for _, size, _ in segments)
    victims = []
    for base, size, mtime in segments[:-1]:
        if total > max_bytes or now - mtime > max_age:
            victims.append(base)
            total -= size
        else:
            break  # segments are in time order: the rest are newer
    return victims


class LogStore:
    def __init__(
        self, directory: Path, settings: StoreSettings | None = None, *, now: Callable[[], float] = time.time
    ) -> None:
        self.dir = directory
        self.settings = settings or StoreSettings()
        self._now = now
        self._lock = threading.Lock()
        self._segments: list[tuple[int, int]] = []  # (base, size), oldest first; the last is active
        self._active: Any = None

    # --- lifecycle ---
    def open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            for leftover in self.dir.glob("*.tmp"):
                leftover.unlink()
        bases = sorted(int(p.name[: -len(SEGMENT_SUFFIX)]) for p in self.dir.glob("*" + SEGMENT_SUFFIX))
        self._segments = [(b, self._path(b).stat().st_size) for b in bases]
        if not self._segments:
            self._segments = [(0, 0)]
            self._path(0).touch()
        base, size = self._segments[-1]
        size = _cut_torn_tail(self._path(base), size)
        self._segments[-1] = (base, size)
        self._active = open(self._path(base), "ab")  # noqa: SIM115 - the store's open segment

    def close(self) -> None:
        with self._lock:
            if self._active is not None:
                self._active.close()
                self._active = None

    def _path(self, base: int) -> Path:
        return self.dir / f"{base:020d}{SEGMENT_SUFFIX}"

    @property
    def end(self) -> int:
        base, size = self._segments[-1]
        return base + size

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "segments": len(self._segments),
                "bytes": sum(s for _, s in self._segments),
                "end": self.end,
            }

    # --- writing ---
    def append(self, records: Iterable[Record]) -> int:
        """Store validated records; returns the cursor after the last one."""
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        if not data:
            return self.end
        with self._lock:
            if self._active is None:
                raise RuntimeError("log store is closed")
            self._active.write(data)
            self._active.flush()
            base, size = self._segments[-1]
            self._segments[-1] = (base, size + len(data))
            if size + len(data) >= self.settings.segment_bytes:
                self._roll()
            return self.end

    def _roll(self) -> None:
        self._active.close()
        base = self.end
        self._segments.append((base, 0))
        self._active = open(self._path(base), "ab")  # noqa: SIM115
        self._retain()

    def enforce_retention(self) -> list[int]:
        with self._lock:
            return self._retain()

    def _retain(self) -> list[int]:
        described = []
        for base, size in self._segments:
            try:
                mtime = self._path(base).stat().st_mtime
            except FileNotFoundError:
                mtime = 0.0
            described.append((base, size, mtime))
        victims = retention_victims(
            described, max_bytes=self.settings.max_bytes, max_age=self.settings.max_age, now=self._now()
        )
        for base in victims:
            with contextlib.suppress(FileNotFoundError):
                self._path(base).unlink()
        gone = set(victims)
        self._segments = [s for s in self._segments if s[0] not in gone]
        return victims

    # --- reading ---
    def query(self, q: Query) -> QueryResult:
        limit = max(1, min(q.limit, MAX_LIMIT))
        with self._lock:
            segments = list(self._segments)
            end = self.end
        needles = tuple(
            orjson.dumps(v) for v in (q.namespace, q.pod, q.container, q.node) if v
        )  # JSON-encoded, as they appear in a line
        since_s = q.since_ns / NS if q.since_ns is not None else None
        if q.after is not None:
            out: list[Record] = []
            cursor = max(q.after, segments[0][0])
            for offset, size, record in self._scan(
                segments, end, start=q.after, needles=needles, since_s=since_s
            ):
                cursor = offset + size
                if matches(record, q):
                    out.append(record)
                    if len(out) >= limit:
                        return QueryResult(_by_time(out), cursor)
            return QueryResult(_by_time(out), end)
        newest: collections.deque[Record] = collections.deque(maxlen=limit)
        for _, _, record in self._scan(segments, end, start=0, needles=needles, since_s=since_s):
            if matches(record, q):
                newest.append(record)
        return QueryResult(_by_time(list(newest)), end)

    def _scan(
        self,
        segments: list[tuple[int, int]],
        end: int,
        *,
        start: int,
        needles: tuple[bytes, ...],
        since_s: float | None,
    ) -> Iterator[tuple[int, int, Record]]:
        """(offset, length, record) of the lines from ``start`` up to ``end``, oldest first."""
        for i, (base, _size) in enumerate(segments):
            stop = segments[i + 1][0] if i + 1 < len(segments) else end
            if stop <= start:
                continue
            path = self._path(base)
            try:
                if since_s is not None and i + 1 < len(segments) and path.stat().st_mtime < since_s:
                    continue
                f = open(path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                continue  # retention removed it meanwhile
            with f:
                pos = base
                if start > base:
                    f.seek(start - base)
                    pos = start
                for line in f:
                    if pos >= stop:
                        break
                    offset, pos = pos, pos + len(line)
                    if not line.endswith(b"\n") or (needles and _quick_reject(line, needles)):
                        continue
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(record, dict):
                        yield offset, len(line), record


def _by_time(records: list[Record]) -> list[Record]:
    """Arrival order is only roughly time order (nodes batch, containerd writes stdout and stderr
    apart): an answer is sorted by time, stably."""
    return sorted(records, key=lambda r: int(r.get("ts", 0)))


def _cut_torn_tail(path: Path, size: int) -> int:
    """Truncate a segment after its last complete line; returns the new size."""
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        pos = size
        while pos > 0:
            step = min(65536, pos)
            f.seek(pos - step)
            block = f.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                keep = pos - step + nl + 1
                if keep != size:
                    f.truncate(keep)
                return keep
            pos -= step
        f.truncate(0)
        return 0


def open_store(directory: Path, settings: StoreSettings | None = None) -> LogStore:
    store = LogStore(directory, settings)
    store.open()
    return store
