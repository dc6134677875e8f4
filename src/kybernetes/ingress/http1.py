"""Just enough HTTP/1.1 for a reverse proxy: message heads, body framing, copying bodies as they come.

Why not a framework: a proxy must pass bodies through unchanged and unbuffered, keep connections
alive on both sides, and hand an upgraded connection (WebSocket) over as raw bytes. With asyncio
streams that is a few functions: parse a head, decide how its body is delimited (RFC 9112 §6),
and copy exactly that many bytes (or chunks, framing included) from one stream to the other.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

MAX_HEAD = 64 * 1024
COPY_CHUNK = 64 * 1024
# Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded as-is.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)


class BadMessage(Exception):
    """A head or body that breaks HTTP/1.1 framing; the connection cannot continue."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(slots=True)
class Head:
    """A request head (start = method, target) or a response head (start = status, reason)."""

    start: tuple[str, str]
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def tokens(self, name: str) -> set[str]:
        """The comma-separated tokens of a header, lower-cased (e.g. Connection: keep-alive, Upgrade)."""
        return {t.strip().lower() for v in self.get_all(name) for t in v.split(",") if t.strip()}


def parse_head(raw: bytes, *, request: bool) -> Head:
    try:
        text = raw.decode("latin-1")
    except UnicodeDecodeError as e:  # pragma: no cover - latin-1 decodes every byte
        raise BadMessage(str(e)) from e
    lines = text.split("\r\n")
    parts = lines[0].split(" ", 2)
    if request:
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise BadMessage(f"malformed request line {lines[0][:100]!r}")
        method, target, version = parts
        start = (method, target)
    else:
        if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
            raise BadMessage(f"malformed status line {lines[0][:100]!r}", 502)
        version, start = parts[0], (parts[1], parts[2] if len(parts) > 2 else "")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadMessage(f"unsupported version {version[:20]!r}", 505 if request else 502)
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadMessage(f"malformed header line {line[:100]!r}", 400 if request else 502)
        headers.append((name, value.strip()))
    return Head(start, version, headers)


def render_head(first_line: str, headers: list[tuple[str, str]]) -> bytes:
    return (first_line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n").encode("latin-1")


async def read_head(reader: asyncio.StreamReader, *, request: bool) -> Head | None:
    """The next message head, or None when the peer closed cleanly before sending one."""
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise BadMessage("connection closed inside a message head", 400 if request else 502) from e
    except asyncio.LimitOverrunError as e:
        raise BadMessage("message head too large", 431 if request else 502) from e
    return parse_head(raw.lstrip(b"\r\n")[:-4], request=request)


# --- body framing ---------------------------------------------------------------------------------
NO_BODY = ("none", 0)
CHUNKED = ("chunked", 0)
UNTIL_CLOSE = ("close", 0)
Framing = tuple[str, int]


def request_framing(head: Head) -> Framing:
    codings = [c for c in head.tokens("transfer-encoding") if c]
    if codings:
        if head.get_all("transfer-encoding")[-1].lower().rsplit(",", 1)[-1].strip() != "chunked":
            raise BadMessage("request body framing is unknown (Transfer-Encoding without chunked last)")
        return CHUNKED
    return _content_length(head) or NO_BODY


def response_framing(head: Head, *, request_method: str) -> Framing:
    status = int(head.start[0])
    if request_method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        return NO_BODY
    if head.get("transfer-encoding") is not None:
        return CHUNKED if "chunked" in head.tokens("transfer-encoding") else UNTIL_CLOSE
    return _content_length(head) or UNTIL_CLOSE


def _content_length(head: Head) -> Framing | None:
    values = {v.strip() for raw in head.get_all("content-length") for v in raw.split(",")}
    if not values:
        return None
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise BadMessage("conflicting or invalid Content-Length")
    n = int(next(iter(values)))
    return ("length", n) if n else NO_BODY


async def copy_body(framing: Framing, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy one body as it arrives; chunked bodies keep their chunk framing and trailers."""
    kind, n = framing
    if kind == "length":
        await _copy_exactly(n, src, dst)
    elif kind == "chunked":
        while True:
            line = await src.readuntil(b"\r\n")
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError as e:
                raise BadMessage("malformed chunk size") from e
            dst.write(line)
            if size == 0:
                while True:  # trailer fields, then the empty line
                    trailer = await src.readuntil(b"\r\n")
                    dst.write(trailer)
                    if trailer == b"\r\n":
                        break
                await dst.drain()
                return
            await _copy_exactly(size + 2, src, dst)
    elif kind == "close":
        while chunk := await src.read(COPY_CHUNK):
            dst.write(chunk)
            await dst.drain()


async def _copy_exactly(n: int, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    while n > 0:
        chunk = await src.read(min(n, COPY_CHUNK))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", n)
        n -= len(chunk)
        dst.write(chunk)
        await dst.drain()


async def drain_body(framing: Framing, src: asyncio.StreamReader) -> None:
    """Read and drop a body (a request we answer ourselves), so the connection can go on."""
    sink = _Sink()
    await copy_body(framing, src, sink)  # type: ignore[arg-type]


class _Sink:
    def write(self, _data: bytes) -> None:
        pass

    async def drain(self) -> None:
        pass


async def splice(
    a_reader: asyncio.StreamReader,
    a_writer: asyncio.StreamWriter,
    b_reader: asyncio.StreamReader,
    b_writer: asyncio.StreamWriter,
) -> None:
    """Pass raw bytes both ways (an upgraded connection) until both sides are done."""

    async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while chunk := await src.read(COPY_CHUNK):
                dst.write(chunk)
                await dst.drain()
            if dst.can_write_eof():
                dst.write_eof()
        except (ConnectionError, OSError):
            dst.close()

    await asyncio.gather(pump(a_reader, b_writer), pump(b_reader, a_writer))
