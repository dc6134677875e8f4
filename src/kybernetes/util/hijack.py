"""Take over an aiohttp server connection after answering an HTTP upgrade.

Streaming subresources (exec, attach, port-forward) switch protocols with ``101 Switching
Protocols`` and then speak SPDY/3.1, WebSocket or raw bytes on the same TCP (or TLS) connection.
aiohttp only hands an upgraded connection to its own WebSocket code, so this module installs a
parser that passes every later byte through unchanged to an ``asyncio.StreamReader``, and writes
through the response's payload writer (which neither chunks nor compresses a 1xx response).

Assumptions: the handler keeps running while the connection is in use (aiohttp closes the
connection when the handler returns, because the response forces close); bytes the client sent
right after its request head (aiohttp keeps them as the "message tail") are delivered first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractStreamWriter

READ_LIMIT = 1 << 20  # the reader pauses the socket above twice this much unread data


class _PassThroughParser:
    """Stands where aiohttp's WebSocket reader would: every byte goes to the StreamReader."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self._reader.feed_data(data)
        return False, b""

    def feed_eof(self) -> None:
        self._reader.feed_eof()


class HijackedConnection:
    """The raw byte stream of an upgraded connection (implements ``ByteConnection``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: AbstractStreamWriter,
                 transport: asyncio.BaseTransport | None, response: web.StreamResponse) -> None:
        self.reader = reader
        # The handler must return this (already sent) response, so aiohttp writes nothing more.
        self.response = response
        self._writer = writer
        self._transport = transport
        self._closed = False

    async def read(self) -> bytes:
        try:
            return await self.reader.read(65536)
        except (ConnectionError, asyncio.IncompleteReadError):
            return b""

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise ConnectionResetError("connection closed")
        await self._writer.write(data)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._transport is not None:
            self._transport.close()  # flushes what is buffered, then closes

    @property
    def closed(self) -> bool:
        return self._closed or self._transport is None or self._transport.is_closing()


async def hijack(request: web.Request, *, headers: Mapping[str, str], status: int = 101,
                 reason: str | None = None) -> HijackedConnection:
    """Answer ``status`` (normally 101) with ``headers`` and return the connection's byte stream."""
    resp = web.StreamResponse(status=status, reason=reason, headers=dict(headers))
    resp.force_close()
    writer = await resp.prepare(request)
    assert writer is not None
    reader = asyncio.StreamReader(limit=READ_LIMIT)
    transport = request.transport
    if transport is not None:
        reader.set_transport(transport)  # lets the reader pause the socket when it falls behind
    protocol: Any = request.protocol
    protocol.set_parser(_PassThroughParser(reader))
    protocol.keep_alive(False)
    return HijackedConnection(reader, writer, transport, resp)
