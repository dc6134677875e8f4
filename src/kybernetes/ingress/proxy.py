"""The reverse proxy: HTTP and HTTPS listeners that forward each request by the current route table.

Why it is thin: every decision is the table's (`RouteTable.lookup`); this module only moves bytes.
It routes straight to endpoint pod IPs (no Service ClusterIP in the path), as ingress-nginx does, so
it works without the node's Service rules and can balance per request.

Theory of operation, per client connection:
  1. Read a request head; answer 400/431/505 ourselves and close on bad framing.
  2. Look the request up. No match: 404; a backend without ready endpoints: 503 (the request body
     is drained so the connection stays usable).
  3. Pick endpoints round-robin per backend; connect (reusing an idle keep-alive connection to that
     endpoint when there is one) and forward the head with hop-by-hop headers dropped and
     X-Forwarded-For/-Proto/-Host/-Port added, then stream the body. A connection failure tries the
     next endpoint; if all fail: 502. No response head in time: 504.
  4. Stream the response back with its own framing. A `101 Switching Protocols` turns both
     connections into a raw byte pipe (WebSocket).
  5. Invariants: the client connection is kept alive only when both messages were delimited and the
     client asked for it; a backend connection returns to the pool only after a complete, delimited
     response whose sender did not ask to close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass

from kybernetes.ingress import http1
from kybernetes.ingress.http1 import BadMessage, Head
from kybernetes.ingress.routes import BackendRef, RouteTable

log = logging.getLogger("kyb.ingress")

HostPort = tuple[str, int]
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]
REASONS = {
    400: "Bad Request",
    404: "Not Found",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True, slots=True)
class ProxyTimeouts:
    connect: float = 5.0
    response: float = 60.0  # until the backend's response head
    idle: float = 75.0  # a client's keep-alive connection between requests
    pool_idle_per_endpoint: int = 16


class _BackendFailed(Exception):
    """The backend connection broke before a response head arrived."""


class IngressProxy:
    def __init__(self, *, timeouts: ProxyTimeouts | None = None) -> None:
        self.table = RouteTable()
        self.timeouts = timeouts or ProxyTimeouts()
        self._next: dict[BackendRef, int] = {}
        self._idle: dict[HostPort, list[Conn]] = {}
        self._servers: list[asyncio.Server] = []
        self._clients: set[asyncio.Task[None]] = set()

    def set_table(self, table: RouteTable) -> None:
        self.table = table

    # --- listeners ----------------------------------------------------------------------------------
    async def listen(self, address: HostPort, *, ssl_context: ssl.SSLContext | None = None) -> HostPort:
        """Start a listener; returns the bound address (port 0 picks a free one)."""
        scheme = "https" if ssl_context else "http"
        bound = [address[1]]  # the real port once listening, for X-Forwarded-Port

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:  # remembered so that close() can end open connections
                self._clients.add(task)
                task.add_done_callback(self._clients.discard)
            await self._serve_client(reader, writer, scheme, bound[0])

        server = await asyncio.start_server(
            handle,
            address[0],
            address[1],
            ssl=ssl_context,
            limit=http1.MAX_HEAD,
            reuse_address=True,
            ssl_handshake_timeout=10.0 if ssl_context else None,
        )
        self._servers.append(server)
        sock = server.sockets[0].getsockname()
        bound[0] = int(sock[1])
        return str(sock[0]), int(sock[1])

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for task in list(self._clients):
            task.cancel()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        self._servers.clear()
        for conns in self._idle.values():
            for _, w in conns:
                w.close()
        self._idle.clear()

    # --- one client connection ------------------------------------------------------------------------
    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, scheme: str, listen_port: int
    ) -> None:
        peer = writer.get_extra_info("peername")
        client_ip = str(peer[0]) if peer else ""
        try:
            while True:
                try:
                    head = await asyncio.wait_for(http1.read_head(reader, request=True), self.timeouts.idle)
                except TimeoutError:
                    return
                if head is None:
                    return
                if not await self._exchange(
                    head, reader, writer, scheme=scheme, client_ip=client_ip, listen_port=listen_port
                ):
                    return
        except BadMessage as e:
            with contextlib.suppress(Exception):
                await self._answer(writer, e.status, keep_alive=False)
        except (
            ConnectionError,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ssl.SSLError,
        ):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _exchange(
        self,
        req: Head,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        scheme: str,
        client_ip: str,
        listen_port: int,
    ) -> bool:
        """Serve one request; True if the client connection may carry another."""
        method, target = req.start
        framing = http1.request_framing(req)
        wants_close = "close" in req.tokens("connection") or (
            req.version == "HTTP/1.0" and "keep-alive" not in req.tokens("connection")
        )
        host = req.get("host")
        if host is None and req.version == "HTTP/1.1":
            raise BadMessage("missing Host header")
        path = target
        if "://" in target:  # absolute form: the authority replaces Host
            rest = target.split("://", 1)[1]
            host, _, tail = rest.partition("/")
            path = "/" + tail
        match = self.table.lookup(host or "", path)
        if match is None or not match.endpoints:
            await http1.drain_body(framing, reader)
            await self._answer(writer, 404 if match is None else 503, keep_alive=not wants_close)
            return not wants_close
        if "100-continue" in req.tokens("expect") and req.version == "HTTP/1.1":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        upgrade = req.get("upgrade") if "upgrade" in req.tokens("connection") else None
        out_head = http1.render_head(
            f"{method} {path if '://' in target else target} HTTP/1.1",
            forward_request_headers(
                req,
                host=host or "",
                scheme=scheme,
                client_ip=client_ip,
                port=listen_port,
                framing=framing,
                upgrade=upgrade,
            ),
        )
        endpoints = match.endpoints
        start = self._next.get(match.backend, 0)
        self._next[match.backend] = start + 1
        last_error = ""
        for i in range(len(endpoints)):
            endpoint = endpoints[(start + i) % len(endpoints)]
            can_retry = framing == http1.NO_BODY
            try:
                return await self._forward(
                    endpoint,
                    out_head,
                    framing,
                    method,
                    upgrade is not None,
                    reader,
                    writer,
                    wants_close=wants_close,
                    retry_stale=can_retry,
                )
            except _BackendFailed as e:
                last_error = f"{endpoint[0]}:{endpoint[1]}: {e}"
                if not can_retry:
                    break
            except TimeoutError:
                log.info("ingress: %s %s: %s:%s sent no response in time", method, target, *endpoint)
                await self._answer(writer, 504, keep_alive=False)
                return False
        log.info("ingress: %s %s -> %s: %s", method, target, match.backend, last_error)
        await self._answer(writer, 502, keep_alive=False)
        return False

    async def _forward(
        self,
        endpoint: HostPort,
        out_head: bytes,
        framing: http1.Framing,
        method: str,
        upgrade: bool,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        wants_close: bool,
        retry_stale: bool,
    ) -> bool:
        pooled = self._take_idle(endpoint)
        attempts = [pooled, None] if pooled is not None and retry_stale else [pooled]
        conn: Conn | None = None
        try:
            resp: Head | None = None
            for candidate in attempts:
                try:
                    conn = candidate or await self._connect(endpoint)
                    conn[1].write(out_head)
                    await http1.copy_body(framing, reader, conn[1])
                    resp = await asyncio.wait_for(self._response_head(conn[0]), self.timeouts.response)
                    break
                except (
                    ConnectionError,
                    OSError,
                    asyncio.IncompleteReadError,
                    BadMessage,
                    _BackendFailed,
                ) as e:
                    if conn is not None:
                        conn[1].close()
                    conn = None
                    if candidate is None:
                        raise _BackendFailed(str(e) or type(e).__name__) from e
            if resp is None or conn is None:
                raise _BackendFailed("no response")
            b_reader, b_writer = conn
            if resp.start[0] == "101" and upgrade:
                writer.write(http1.render_head(f"HTTP/1.1 101 {resp.start[1]}", resp.headers))
                await writer.drain()
                await http1.splice(reader, writer, b_reader, b_writer)
                return False
            resp_framing = http1.response_framing(resp, request_method=method)
            backend_keeps = (
                resp_framing != http1.UNTIL_CLOSE
                and "close" not in resp.tokens("connection")
                and (resp.version == "HTTP/1.1" or "keep-alive" in resp.tokens("connection"))
            )
            keep_client = not wants_close and resp_framing != http1.UNTIL_CLOSE
            drop = http1.HOP_BY_HOP | ({"content-length"} if resp_framing == http1.CHUNKED else set())
            headers = [(k, v) for k, v in resp.headers if k.lower() not in drop]
            if resp_framing == http1.CHUNKED:
                headers.append(("Transfer-Encoding", "chunked"))
            headers.append(("Connection", "keep-alive" if keep_client else "close"))
            writer.write(http1.render_head(f"HTTP/1.1 {resp.start[0]} {resp.start[1]}", headers))
            try:
                await http1.copy_body(resp_framing, b_reader, writer)
            except (asyncio.IncompleteReadError, BadMessage):
                return False  # the backend broke off mid-body; the client sees a short message
            if backend_keeps:
                self._put_idle(endpoint, conn)
                conn = None  # pooled: not ours to close any more
            return keep_client
        finally:
            if conn is not None:
                conn[1].close()

    async def _response_head(self, reader: asyncio.StreamReader) -> Head:
        while True:
            head = await http1.read_head(reader, request=False)
            if head is None:
                raise _BackendFailed("connection closed before a response")
            if head.start[0].startswith("1") and head.start[0] != "101":
                continue  # interim responses (100 Continue was answered by us already)
            return head

    async def _connect(self, endpoint: HostPort) -> Conn:
        try:
            return await asyncio.wait_for(
                asyncio.open_connection(endpoint[0], endpoint[1], limit=http1.MAX_HEAD), self.timeouts.connect
            )
        except TimeoutError as e:
            raise _BackendFailed("connect timed out") from e

    def _take_idle(self, endpoint: HostPort) -> Conn | None:
        conns = self._idle.get(endpoint) or []
        while conns:
            r, w = conns.pop()
            if not r.at_eof() and not w.is_closing():
                return r, w
            w.close()
        return None

    def _put_idle(self, endpoint: HostPort, conn: Conn) -> None:
        conns = self._idle.setdefault(endpoint, [])
        if len(conns) >= self.timeouts.pool_idle_per_endpoint:
            conn[1].close()
        else:
            conns.append(conn)

    async def _answer(self, writer: asyncio.StreamWriter, status: int, *, keep_alive: bool) -> None:
        body = error_body(status)
        writer.write(
            http1.render_head(
                f"HTTP/1.1 {status} {REASONS.get(status, '')}",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Connection", "keep-alive" if keep_alive else "close"),
                ],
            )
            + body
        )
        await writer.drain()


def error_body(status: int) -> bytes:
    text = {404: "404 page not found", 503: "503 no ready endpoints for this backend"}.get(
        status, f"{status} {REASONS.get(status, '').lower()}"
    )
    return (text + "\n").encode()


def forward_request_headers(
    req: Head,
    *,
    host: str,
    scheme: str,
    client_ip: str,
    port: int,
    framing: http1.Framing,
    upgrade: str | None,
) -> list[tuple[str, str]]:
    """The request headers for the backend: end-to-end ones, the X-Forwarded-* set, our framing."""
    named_hop = req.tokens("connection")
    drop = (
        http1.HOP_BY_HOP | named_hop | {"x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "expect"}
    )
    if framing == http1.CHUNKED:
        drop |= {"content-length"}
    headers = [(k, v) for k, v in req.headers if k.lower() not in drop]
    prior = ", ".join(req.get_all("x-forwarded-for"))
    headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
    if req.get("host") is None and host:
        headers.insert(0, ("Host", host))
    headers += [
        ("X-Forwarded-For", f"{prior}, {client_ip}" if prior else client_ip),
        ("X-Forwarded-Proto", scheme),
        ("X-Forwarded-Host", host),
        ("X-Forwarded-Port", str(port)),
        ("X-Real-IP", client_ip),
    ]
    if framing == http1.CHUNKED:
        headers.append(("Transfer-Encoding", "chunked"))
    if upgrade is not None:
        headers += [("Connection", "upgrade"), ("Upgrade", upgrade)]
    return headers
