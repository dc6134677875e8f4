"""port-forward: relay kubectl's SPDY streams to containerd's streaming server, one for one.

kubectl opens, per accepted local connection (request id counting from 0), an ``error`` stream
and a ``data`` stream carrying the headers ``streamtype``, ``port`` and ``requestid``; bytes flow
as DATA both ways and each side ends its half with FIN. containerd's streaming server expects
exactly the same streams (protocol ``portforward.k8s.io``), so the kubelet mirrors every client
stream onto one upstream stream with the same headers and copies data, FIN and resets across.

Client transports: plain SPDY/3.1 after an HTTP upgrade (``X-Stream-Protocol-Version:
portforward.k8s.io``), and — kubectl ≥ 1.31 — the same SPDY byte stream tunnelled in WebSocket
binary messages (subprotocol ``SPDY/3.1+portforward.k8s.io``).

Invariants: a client stream is accepted (SYN_REPLY) only after its upstream twin was; when
either session ends, the other is closed, so kubectl sees "lost connection to pod" exactly when
containerd went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from kybernetes.kubelet.streaming import spdy
from kybernetes.kubelet.streaming.remotecommand import (
    UpstreamError,
    dial_spdy,
    failure_status,
    forbidden_protocol,
    is_spdy,
    is_websocket,
    negotiate,
)
from kybernetes.kubelet.streaming.transport import WebSocketBytes
from kybernetes.util.hijack import hijack

log = logging.getLogger(__name__)

PORTFORWARD_PROTOCOL = "portforward.k8s.io"
WS_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io"
FORWARDED_HEADERS = ("streamtype", "port", "requestid")


def parse_ports(values: Sequence[str]) -> list[int]:
    """``port`` query values (each may be a comma list); bad ones are a ValueError."""
    ports: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            port = int(part)
            if not 0 < port < 65536:
                raise ValueError(f"invalid port {part}")
            ports.append(port)
    return ports


async def _copy(src: spdy.SpdyStream, dst: spdy.SpdyStream) -> None:
    """src → dst until src's end; FIN follows FIN and a reset follows a reset."""
    while True:
        data = await src.read()
        if not data:
            break
        try:
            await dst.write(data)
        except (spdy.StreamReset, ConnectionError):
            src.reset(spdy.CANCEL)
            return
    if src.reset_status is not None:
        dst.reset(spdy.CANCEL)
    else:
        with contextlib.suppress(spdy.StreamReset, ConnectionError):
            await dst.close()


class PortForwardRelay:
    def __init__(self, client: spdy.SpdySession, upstream: spdy.SpdySession) -> None:
        self.client = client
        self.upstream = upstream
        client.on_stream = self._on_client_stream

    async def _on_client_stream(self, stream: spdy.SpdyStream) -> None:
        headers = {name: stream.headers[name] for name in FORWARDED_HEADERS if name in stream.headers}
        try:
            twin = await self.upstream.open_stream(headers)
        except (spdy.StreamReset, spdy.SessionClosed, TimeoutError):
            stream.reset(spdy.REFUSED_STREAM)
            return
        stream.reply()
        await asyncio.gather(_copy(stream, twin), _copy(twin, stream))

    async def run(self, client_serve: Awaitable[None]) -> None:
        """Until either side's session ends; then close both."""
        client_task = asyncio.ensure_future(client_serve)
        upstream_closed = asyncio.create_task(self.upstream.closed.wait())
        try:
            await asyncio.wait({client_task, upstream_closed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self.upstream.close()
            await self.client.close()
            upstream_closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(client_task, 5.0)


async def serve_port_forward(request: web.Request, url_for: Callable[[], Awaitable[str]]) -> web.StreamResponse:
    if is_websocket(request):
        ws = web.WebSocketResponse(protocols=(WS_TUNNEL_PROTOCOL,), compress=False, timeout=2.0, max_msg_size=0)
        ready = ws.can_prepare(request)
        if not ready.ok or ready.protocol is None:
            return forbidden_protocol(request.headers.getall("Sec-WebSocket-Protocol", []), (WS_TUNNEL_PROTOCOL,))
        upstream = await _dial(url_for)
        if isinstance(upstream, web.Response):
            return upstream
        await ws.prepare(request)
        client = spdy.SpdySession(WebSocketBytes(ws), client=False)
        await PortForwardRelay(client, upstream).run(client.serve())
        return ws
    if is_spdy(request):
        offered = request.headers.getall("X-Stream-Protocol-Version", [])
        if negotiate(offered, (PORTFORWARD_PROTOCOL,)) is None:
            return forbidden_protocol(offered, (PORTFORWARD_PROTOCOL,))
        upstream = await _dial(url_for)
        if isinstance(upstream, web.Response):
            return upstream
        conn = await hijack(request, headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1",
                                              "X-Stream-Protocol-Version": PORTFORWARD_PROTOCOL})
        client = spdy.SpdySession(conn, client=False)
        await PortForwardRelay(client, upstream).run(client.serve())
        return conn.response
    return web.json_response(failure_status("Upgrade request required", reason="BadRequest", code=400), status=400)


async def _dial(url_for: Callable[[], Awaitable[str]]) -> spdy.SpdySession | web.Response:
    try:
        url = await url_for()
    except Exception as e:  # the runtime's CRI call failed
        log.warning("port-forward URL request failed: %s", e)
        return web.json_response(failure_status(f"error getting a streaming URL: {e}"), status=500)
    try:
        session, _ = await dial_spdy(url, PORTFORWARD_PROTOCOL)
    except UpstreamError as e:
        return web.json_response(failure_status(str(e)), status=500)
    return session
