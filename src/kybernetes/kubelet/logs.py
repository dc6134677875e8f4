"""Container logs as `kubectl logs` sees them, read from containerd's CRI log files.

containerd writes each chunk of container output as one line
``<RFC3339Nano timestamp> <stdout|stderr> <F|P>[:more tags] <message>``; the fraction of the
timestamp has a variable number of digits (trailing zeros dropped) and ``P`` marks a partial
record continued by the next one (long lines are split). A logical log line is the run of ``P``
records ended by an ``F`` record; it carries the first record's timestamp.

Parsing and option handling are pure functions; ``stream_log`` is the thin reader that tails a
file (``tailLines`` by reading backwards from the end), filters (``sinceSeconds``/``sinceTime``),
prefixes timestamps, stops at ``limitBytes``, and with ``follow`` polls for new lines — noticing
rotation (the path now names another file, or the file shrank) — until the container is no
longer running. Polling keeps it free of inotify and works on any filesystem.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

NS = 1_000_000_000
_TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")
POLL_INTERVAL = 0.2
READ_BLOCK = 65536


@dataclass(frozen=True)
class LogRecord:
    ts_ns: int       # Unix time in nanoseconds
    stream: str      # stdout | stderr
    partial: bool
    message: bytes   # without the newline


@dataclass(frozen=True)
class LogLine:
    ts_ns: int
    stream: str
    content: bytes   # with its newline


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    since_ns: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None


class LogOptionsError(ValueError):
    pass


def parse_timestamp(text: str) -> int:
    """RFC 3339 with 0-9 fraction digits and Z or an offset → Unix nanoseconds."""
    m = _TS.match(text)
    if not m:
        raise ValueError(f"bad timestamp {text!r}")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    tz = m.group(8)
    offset = 0 if tz == "Z" else (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[4:6]) * 60)
    base = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    return (int(base.timestamp()) - offset) * NS + int(frac)


def format_timestamp(ts_ns: int) -> str:
    """RFC 3339 in UTC with exactly nine fraction digits, as the kubelet prefixes lines."""
    secs, frac = divmod(ts_ns, NS)
    base = dt.datetime.fromtimestamp(secs, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z"


def parse_cri_line(line: bytes) -> LogRecord | None:
    """One CRI log line (without its newline); None if it is not one."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    try:
        ts = parse_timestamp(parts[0].decode())
    except (ValueError, UnicodeDecodeError):
        return None
    stream = parts[1].decode(errors="replace")
    if stream not in ("stdout", "stderr"):
        return None
    tag = parts[2].split(b":", 1)[0]
    if tag not in (b"F", b"P"):
        return None
    return LogRecord(ts, stream, tag == b"P", parts[3] if len(parts) == 4 else b"")


class LineAssembler:
    """Joins P records onto the F record that ends them (per stream)."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[int, list[bytes]]] = {}

    def feed(self, record: LogRecord) -> LogLine | None:
        ts, parts = self._pending.pop(record.stream, (record.ts_ns, []))
        parts.append(record.message)
        if record.partial:
            self._pending[record.stream] = (ts, parts)
            return None
        return LogLine(ts, record.stream, b"".join(parts) + b"\n")


def assemble(lines: list[bytes]) -> Iterator[LogLine]:
    asm = LineAssembler()
    for raw in lines:
        record = parse_cri_line(raw)
        if record is None:
            continue
        line = asm.feed(record)
        if line is not None:
            yield line


def render(line: LogLine, timestamps: bool) -> bytes:
    if timestamps:
        return format_timestamp(line.ts_ns).encode() + b" " + line.content
    return line.content


def _int_param(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise LogOptionsError(f'invalid value for {name}: "{value}"') from None


def _bool_param(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "").lower() in ("1", "true", "yes")


def parse_log_options(query: Mapping[str, str], *, now_ns: int) -> LogOptions:
    """The kubelet's containerLogs query (follow, previous, tailLines, sinceSeconds, sinceTime,
    timestamps, limitBytes), validated as upstream validates PodLogOptions."""
    tail = _int_param(query, "tailLines")
    limit = _int_param(query, "limitBytes")
    since_seconds = _int_param(query, "sinceSeconds")
    since_time = query.get("sinceTime") or None
    if tail is not None and tail < 0:
        raise LogOptionsError("tailLines: Invalid value: must be greater than or equal to 0")
    if limit is not None and limit < 1:
        raise LogOptionsError("limitBytes: Invalid value: must be greater than 0")
    if since_seconds is not None and since_time is not None:
        raise LogOptionsError("at most one of `sinceTime` or `sinceSeconds` may be specified")
    since_ns: int | None = None
    if since_seconds is not None:
        if since_seconds < 1:
            raise LogOptionsError("sinceSeconds: Invalid value: must be greater than 0")
        since_ns = now_ns - since_seconds * NS
    elif since_time is not None:
        try:
            since_ns = parse_timestamp(since_time)
        except ValueError:
            raise LogOptionsError(f'invalid value for sinceTime: "{since_time}"') from None
    return LogOptions(follow=_bool_param(query, "follow"), previous=_bool_param(query, "previous"),
                      tail_lines=tail, since_ns=since_ns, timestamps=_bool_param(query, "timestamps"),
                      limit_bytes=limit)


def tail_offset(fd: int, lines: int) -> int:
    """Where to start reading an open log file so that its last ``lines`` logical lines (those
    ended by an F record) are included; reads backwards from the end in blocks."""
    size = os.fstat(fd).st_size
    if lines == 0:
        return size
    pos = size
    buf = b""
    while pos > 0:
        step = min(READ_BLOCK, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        segments = buf.split(b"\n")
        first = 1 if pos > 0 else 0  # the first segment may be cut by the block boundary
        end = len(buf) - len(segments[-1])  # just after the last newline
        finals = 0
        for i in range(len(segments) - 2, first - 1, -1):
            record = parse_cri_line(segments[i])
            if record is not None and not record.partial:
                finals += 1
                if finals > lines:
                    return pos + end  # start right after this line
            end -= len(segments[i]) + 1
    return 0


Writer = Callable[[bytes], Awaitable[None]]
RunningCheck = Callable[[], "bool | Awaitable[bool]"]


class _Budget:
    def __init__(self, limit: int | None) -> None:
        self.left = limit

    def take(self, data: bytes) -> bytes:
        if self.left is None:
            return data
        data = data[:self.left]
        self.left -= len(data)
        return data

    @property
    def spent(self) -> bool:
        return self.left is not None and self.left <= 0


async def _running(check: RunningCheck) -> bool:
    result = check()
    if inspect.isawaitable(result):
        return bool(await result)
    return bool(result)


async def stream_log(path: str, opts: LogOptions, write: Writer, *, still_running: RunningCheck,
                     poll_interval: float = POLL_INTERVAL) -> None:
    """Write the selected log lines of ``path``; with ``follow``, keep going until the container stops."""
    budget = _Budget(opts.limit_bytes)
    asm = LineAssembler()
    pending = b""

    async def emit(chunk: bytes) -> bool:
        """Parse complete raw lines out of ``chunk``; False once limitBytes is spent."""
        nonlocal pending
        data = pending + chunk
        *complete, pending = data.split(b"\n")
        out: list[bytes] = []
        for raw in complete:
            record = parse_cri_line(raw)
            if record is None:
                continue
            line = asm.feed(record)
            if line is None or (opts.since_ns is not None and line.ts_ns < opts.since_ns):
                continue
            out.append(budget.take(render(line, opts.timestamps)))
            if budget.spent:
                break
        if out:
            await write(b"".join(out))
        return not budget.spent

    f: BinaryIO | None
    try:
        f = open(path, "rb")  # noqa: SIM115 - kept open across rotation checks below
    except FileNotFoundError:
        if not opts.follow:
            return
        f = None
    try:
        if f is not None and opts.tail_lines is not None:
            f.seek(tail_offset(f.fileno(), opts.tail_lines))
        while True:
            if f is not None:
                chunk = f.read(READ_BLOCK)
                if chunk:
                    if not await emit(chunk):
                        return
                    continue
            if not opts.follow:
                return
            # at the end: rotated? then drain the old file and continue with the new one
            rotated = _rotated(f, path)
            if rotated:
                if f is not None:
                    rest = f.read()
                    if rest and not await emit(rest):
                        return
                    f.close()
                try:
                    f = open(path, "rb")  # noqa: SIM115
                except FileNotFoundError:
                    f = None
                pending = b""
                continue
            if not await _running(still_running):
                if f is not None:
                    rest = f.read()
                    if rest:
                        await emit(rest)
                return
            await asyncio.sleep(poll_interval)
    finally:
        if f is not None:
            f.close()


def _rotated(f: BinaryIO | None, path: str) -> bool:
    """The path names a different file than the open one, or the open one was truncated."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    if f is None:
        return True
    mine = os.fstat(f.fileno())
    if (st.st_ino, st.st_dev) != (mine.st_ino, mine.st_dev):
        return True
    return mine.st_size < f.tell()
