"""exec and attach: terminate the client's protocol, run the command through containerd's
streaming server, and carry stdin, stdout, stderr, resize and the final status between them.

Client side (what kubectl speaks to us, through the API server's raw proxy):
- WebSocket, subprotocol ``v5.channel.k8s.io`` or ``v4.channel.k8s.io``: binary messages whose
  first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 status, 4 resize). v5 adds the CLOSE
  signal ``[255, channel]``; ``[255, 0]`` ends stdin. The status goes out on channel 3, then a
  close frame (1000) and the connection closes at once (kubectl waits for it).
- SPDY/3.1 with ``X-Stream-Protocol-Version`` v5/v4: one SPDY stream per channel, named by the
  ``streamtype`` header (error, stdin, stdout, stderr, resize); stdin ends with FIN.

Containerd side: always SPDY/3.1 with ``v4.channel.k8s.io`` — containerd 1.6 knows no v5, and
only SPDY can half-close stdin (``exec -i`` with ``cat`` must see EOF). Containerd answers the
status on the error stream; a non-zero exit is a ``NonZeroExitCode`` Status whose cause
``ExitCode`` carries the code, which kubectl turns into its own exit code.

Invariants: the status is sent only after stdout and stderr reached their end (so no output
is lost), and the client connection is closed right after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from kybernetes.kubelet.streaming import spdy
from kybernetes.kubelet.streaming.transport import StreamConnection
from kybernetes.util.hijack import hijack

log = logging.getLogger(__name__)

WS_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
SPDY_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
UPSTREAM_PROTOCOL = "v4.channel.k8s.io"
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
STREAM_WAIT = 30.0  # seconds a SPDY client has to open all its streams

Status = dict[str, Any]


@dataclass(frozen=True)
class StreamOptions:
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    tty: bool = False
    command: tuple[str, ...] = ()


def _flag(query: Mapping[str, str], *names: str) -> bool:
    return any(query.get(n, "").lower() in ("1", "true", "yes") for n in names)


def parse_stream_options(query: Mapping[str, str], commands: Sequence[str] = ()) -> StreamOptions:
    """kubectl sends stdin/stdout/stderr/tty=true; upstream API servers rewrite them to
    input/output/error/tty=1 for the kubelet. Both spellings are accepted. With a TTY, stderr is
    merged into stdout, so there is no stderr stream."""
    tty = _flag(query, "tty")
    return StreamOptions(stdin=_flag(query, "stdin", "input"), stdout=_flag(query, "stdout", "output"),
                         stderr=_flag(query, "stderr", "error") and not tty, tty=tty,
                         command=tuple(commands))


def expected_streams(opts: StreamOptions) -> tuple[str, ...]:
    """The SPDY streams a client opens (in this order) for these options."""
    names = ["error"]
    if opts.stdin:
        names.append("stdin")
    if opts.stdout:
        names.append("stdout")
    if opts.stderr:
        names.append("stderr")
    if opts.tty:
        names.append("resize")
    return tuple(names)


def negotiate(offered: Sequence[str], supported: Sequence[str]) -> str | None:
    """The first protocol the client offered that we support (header values may be comma lists)."""
    flat = [p.strip() for value in offered for p in value.split(",") if p.strip()]
    for p in flat:
        if p in supported:
            return p
    return None


def success_status() -> Status:
    return {"metadata": {}, "status": "Success"}


def failure_status(message: str, *, reason: str = "InternalError", code: int = 500) -> Status:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def status_from_error_stream(data: bytes) -> Status:
    """The v4 error stream carries a JSON Status; nothing at all means success."""
    text = data.strip()
    if not text:
        return success_status()
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return failure_status(text.decode(errors="replace"))
    if isinstance(obj, dict) and "status" in obj:
        obj.setdefault("metadata", {})
        return obj
    return failure_status(text.decode(errors="replace"))


# --- the client side --------------------------------------------------------------------------------


class CommandClient(Protocol):
    """What the bridge needs from the client's connection, whatever its protocol."""

    async def read_stdin(self) -> bytes:
        """Next stdin bytes; b"" when stdin ended (or the client went away)."""
        ...

    async def read_resize(self) -> bytes:
        """Next terminal-size message (JSON); b"" when there are no more."""
        ...

    async def write_stdout(self, data: bytes) -> None: ...

    async def write_stderr(self, data: bytes) -> None: ...

    async def finish(self, status: Status) -> None:
        """Send the final status and close the connection."""
        ...

    gone: asyncio.Event  # set when the client disconnected


class _Channel:
    """An in-memory queue of chunks that ends with b""."""

    def __init__(self) -> None:
        self._q: asyncio.Queue[bytes] = asyncio.Queue()
        self.ended = False

    def put(self, data: bytes) -> None:
        if not self.ended and data:
            self._q.put_nowait(data)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self._q.put_nowait(b"")

    async def get(self) -> bytes:
        data = await self._q.get()
        if not data:
            self._q.put_nowait(b"")  # stay at the end for later readers
        return data


class WebSocketClient:
    """kubectl over WebSocket (v4/v5 channel protocol)."""

    def __init__(self, ws: web.WebSocketResponse, protocol: str) -> None:
        self.ws = ws
        self.v5 = protocol.startswith("v5.")
        self.stdin = _Channel()
        self.resize = _Channel()
        self.gone = asyncio.Event()
        self._reader = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY or not msg.data:
                    continue
                data = bytes(msg.data)
                channel, payload = data[0], data[1:]
                if channel == STDIN:
                    self.stdin.put(payload)
                elif channel == RESIZE:
                    self.resize.put(payload)
                elif channel == CLOSE and self.v5 and payload[:1] == bytes([STDIN]):
                    self.stdin.end()
        finally:
            self.stdin.end()
            self.resize.end()
            self.gone.set()

    async def read_stdin(self) -> bytes:
        return await self.stdin.get()

    async def read_resize(self) -> bytes:
        return await self.resize.get()

    async def _send(self, channel: int, data: bytes) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_bytes(bytes([channel]) + data)

    async def write_stdout(self, data: bytes) -> None:
        await self._send(STDOUT, data)

    async def write_stderr(self, data: bytes) -> None:
        await self._send(STDERR, data)

    async def finish(self, status: Status) -> None:
        await self._send(ERROR, orjson.dumps(status))
        with contextlib.suppress(Exception):
            await self.ws.close(code=1000)
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader


class SpdyClient:
    """kubectl over SPDY/3.1: a server session that collects the client's streams by type."""

    def __init__(self, session: spdy.SpdySession, opts: StreamOptions) -> None:
        self.session = session
        self.streams: dict[str, spdy.SpdyStream] = {}
        self.expected = set(expected_streams(opts))
        self.ready = asyncio.Event()
        self.gone = asyncio.Event()
        session.on_stream = self._on_stream

    async def _on_stream(self, stream: spdy.SpdyStream) -> None:
        kind = stream.header("streamtype")
        if kind not in self.expected or kind in self.streams:
            stream.reset(spdy.REFUSED_STREAM)
            return
        stream.reply()
        self.streams[kind] = stream
        if self.expected <= self.streams.keys():
            self.ready.set()

    async def serve(self) -> None:
        try:
            await self.session.serve()
        finally:
            self.gone.set()

    async def _read(self, kind: str) -> bytes:
        stream = self.streams.get(kind)
        return await stream.read() if stream is not None else b""

    async def read_stdin(self) -> bytes:
        return await self._read("stdin")

    async def read_resize(self) -> bytes:
        return await self._read("resize")

    async def _write(self, kind: str, data: bytes) -> None:
        stream = self.streams.get(kind)
        if stream is not None and not stream.local_done:
            with contextlib.suppress(spdy.StreamReset, ConnectionError):
                await stream.write(data)

    async def write_stdout(self, data: bytes) -> None:
        await self._write("stdout", data)

    async def write_stderr(self, data: bytes) -> None:
        await self._write("stderr", data)

    async def finish(self, status: Status) -> None:
        for kind in ("stdout", "stderr"):
            stream = self.streams.get(kind)
            if stream is not None:
                await stream.close()
        error = self.streams.get("error")
        if error is not None and not error.local_done:
            with contextlib.suppress(spdy.StreamReset, ConnectionError):
                await error.write(orjson.dumps(status))
            await error.close()
        await self.session.close()


# --- the containerd side -------------------------------------------------------------------------------


class UpstreamError(Exception):
    """containerd's streaming server could not be reached or refused the upgrade."""


async def dial_spdy(url: str, protocol: str, *, timeout: float = 10.0) -> tuple[spdy.SpdySession, str]:
    """POST an upgrade to ``url`` (containerd's single-use streaming URL) and start a SPDY client session.

    Returns the session (its ``serve`` task already running) and the protocol the server chose."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UpstreamError(f"unsupported streaming URL {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    ssl_ctx: Any = None
    if parts.scheme == "https":
        import ssl

        ssl_ctx = ssl.create_default_context()
        ssl_ctx.check_hostname = False
        ssl_ctx.verify_mode = ssl.CERT_NONE  # containerd's streaming TLS is self-signed
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port, ssl=ssl_ctx), timeout)
    except (OSError, TimeoutError) as e:
        raise UpstreamError(f"error dialing streaming server {parts.netloc}: {e}") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    head = (f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            f"X-Stream-Protocol-Version: {protocol}\r\nContent-Length: 0\r\n\r\n")
    writer.write(head.encode())
    try:
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, TimeoutError) as e:
        writer.close()
        raise UpstreamError(f"streaming server closed the connection during the upgrade: {e}") from None
    status_line, headers = parse_response_head(raw)
    code = int(status_line.split(" ", 2)[1]) if len(status_line.split(" ")) > 1 else 0
    if code != 101:
        body = b""
        with contextlib.suppress(Exception):
            body = await asyncio.wait_for(reader.read(4096), 1.0)
        writer.close()
        raise UpstreamError(f"streaming server answered {status_line.strip()}: {body.decode(errors='replace').strip()}")
    chosen = headers.get("x-stream-protocol-version", "")
    session = spdy.SpdySession(StreamConnection(reader, writer), client=True)
    task = asyncio.create_task(session.serve())
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)
    return session, chosen


_BACKGROUND: set[asyncio.Task[None]] = set()


def parse_response_head(raw: bytes) -> tuple[str, dict[str, str]]:
    lines = raw.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


@dataclass
class UpstreamCommand:
    session: spdy.SpdySession
    streams: dict[str, spdy.SpdyStream]


async def open_upstream(url: str, opts: StreamOptions) -> UpstreamCommand:
    session, _ = await dial_spdy(url, UPSTREAM_PROTOCOL)
    streams: dict[str, spdy.SpdyStream] = {}
    try:
        for kind in expected_streams(opts):
            streams[kind] = await session.open_stream({"streamtype": kind})
    except (spdy.StreamReset, spdy.SessionClosed, TimeoutError) as e:
        await session.close()
        raise UpstreamError(f"streaming server refused the {kind} stream: {e}") from None
    return UpstreamCommand(session, streams)


# --- the bridge ---------------------------------------------------------------------------------------


async def _pump_in(read: Callable[[], Awaitable[bytes]], stream: spdy.SpdyStream | None) -> None:
    """Client → containerd (stdin, resize), half-closing at the client's end of input."""
    while True:
        data = await read()
        if stream is None:
            if not data:
                return
            continue
        if not data:
            with contextlib.suppress(spdy.StreamReset, ConnectionError):
                await stream.close()
            return
        try:
            await stream.write(data)
        except (spdy.StreamReset, ConnectionError):
            return


async def _pump_out(stream: spdy.SpdyStream | None, write: Callable[[bytes], Awaitable[None]]) -> None:
    if stream is None:
        return
    while data := await stream.read():
        await write(data)


async def bridge(client: CommandClient, upstream: UpstreamCommand) -> Status:
    """Run until the command finished (or the client left); returns the status sent."""
    s = upstream.streams
    feeders = [asyncio.create_task(_pump_in(client.read_stdin, s.get("stdin"))),
               asyncio.create_task(_pump_in(client.read_resize, s.get("resize")))]

    async def outputs() -> Status:
        error = s["error"]
        out = asyncio.gather(_pump_out(s.get("stdout"), client.write_stdout),
                             _pump_out(s.get("stderr"), client.write_stderr))
        error_data = await error.read_all()
        await out
        return status_from_error_stream(error_data)

    done_task = asyncio.create_task(outputs())
    gone_task = asyncio.create_task(client.gone.wait())
    try:
        await asyncio.wait({done_task, gone_task}, return_when=asyncio.FIRST_COMPLETED)
        if done_task.done() and done_task.exception() is None:
            status = done_task.result()
            await client.finish(status)
            return status
        return failure_status("client disconnected")
    finally:
        for t in (*feeders, done_task, gone_task):
            t.cancel()
        for t in (*feeders, done_task, gone_task):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await upstream.session.close()


# --- HTTP entry points ------------------------------------------------------------------------------


UrlFactory = Callable[[StreamOptions], Awaitable[str]]


def is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket"


def is_spdy(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower().startswith("spdy/3.1")


async def serve_command(request: web.Request, opts: StreamOptions, url_for: UrlFactory) -> web.StreamResponse:
    """Serve one exec/attach request: negotiate, reach containerd, then bridge until done."""
    if is_websocket(request):
        ws = web.WebSocketResponse(protocols=WS_PROTOCOLS, compress=False, timeout=2.0, max_msg_size=0)
        ready = ws.can_prepare(request)
        if not ready.ok or ready.protocol is None:
            offered = request.headers.getall("Sec-WebSocket-Protocol", [])
            return forbidden_protocol(offered, WS_PROTOCOLS)
        upstream_or_error = await _start_upstream(url_for, opts)
        if isinstance(upstream_or_error, web.Response):
            return upstream_or_error
        upstream = upstream_or_error
        await ws.prepare(request)
        client: CommandClient = WebSocketClient(ws, ready.protocol)
        await bridge(client, upstream)
        return ws
    if is_spdy(request):
        chosen = negotiate(request.headers.getall("X-Stream-Protocol-Version", []), SPDY_PROTOCOLS)
        if chosen is None:
            return forbidden_protocol(request.headers.getall("X-Stream-Protocol-Version", []), SPDY_PROTOCOLS)
        upstream_or_error = await _start_upstream(url_for, opts)
        if isinstance(upstream_or_error, web.Response):
            return upstream_or_error
        upstream = upstream_or_error
        conn = await hijack(request, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                              "X-Stream-Protocol-Version": chosen})
        session = spdy.SpdySession(conn, client=False)
        spdy_client = SpdyClient(session, opts)
        serving = asyncio.create_task(spdy_client.serve())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_ready_or_gone(spdy_client), STREAM_WAIT)
        if spdy_client.ready.is_set():
            await bridge(spdy_client, upstream)
        else:
            await upstream.session.close()
            await session.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(serving, 5.0)
        return conn.response
    return web.json_response(failure_status("Upgrade request required", reason="BadRequest", code=400), status=400)


async def _start_upstream(url_for: UrlFactory, opts: StreamOptions) -> UpstreamCommand | web.Response:
    try:
        url = await url_for(opts)
    except Exception as e:  # the runtime's CRI call failed: report it, as the kubelet does
        log.warning("streaming URL request failed: %s", e)
        return web.json_response(failure_status(f"error getting a streaming URL: {e}"), status=500)
    try:
        return await open_upstream(url, opts)
    except UpstreamError as e:
        return web.json_response(failure_status(str(e)), status=500)


async def _ready_or_gone(client: SpdyClient) -> None:
    ready = asyncio.create_task(client.ready.wait())
    gone = asyncio.create_task(client.gone.wait())
    try:
        await asyncio.wait({ready, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ready.cancel()
        gone.cancel()


def forbidden_protocol(offered: Sequence[str], supported: Sequence[str]) -> web.Response:
    text = (f"unable to upgrade: unable to negotiate protocol: client supports {list(offered)}, "
            f"server supports {list(supported)}")
    return web.json_response(failure_status(text, reason="Forbidden", code=403), status=403)
