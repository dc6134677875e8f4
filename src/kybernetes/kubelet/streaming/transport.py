"""Byte connections that SPDY sessions run over.

A SPDY session needs only an ordered, reliable byte stream in each direction. Three carry one
here: a plain asyncio connection (the kubelet dialling containerd's streaming server), a
hijacked HTTP connection after ``101 Switching Protocols`` (``kybernetes.util.hijack``), and a
WebSocket whose binary messages carry arbitrary slices of the stream (kubectl ≥ 1.31 tunnels
port-forward's SPDY inside WebSocket and fragments freely, including empty messages).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from aiohttp import WSMsgType, web


class ByteConnection(Protocol):
    async def read(self) -> bytes:
        """The next bytes received; b"" once the peer closed or the connection broke."""
        ...

    async def write(self, data: bytes) -> None:
        """Send bytes (waits while the socket's buffer is full)."""
        ...

    async def close(self) -> None:
        """Close both directions (buffered bytes are still sent)."""
        ...


class StreamConnection:
    """An asyncio (reader, writer) pair, e.g. from ``asyncio.open_connection``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def read(self) -> bytes:
        try:
            return await self.reader.read(65536)
        except (ConnectionError, OSError):
            return b""

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close(self) -> None:
        if self.writer.is_closing():
            return
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


class WebSocketBytes:
    """A byte stream carried in WebSocket binary messages, in either direction."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def read(self) -> bytes:
        while True:
            try:
                msg = await self.ws.receive()
            except (ConnectionError, RuntimeError):
                return b""
            if msg.type == WSMsgType.BINARY:
                if msg.data:
                    return bytes(msg.data)
                continue  # empty messages are not EOF
            if msg.type == WSMsgType.TEXT:
                if msg.data:
                    return str(msg.data).encode()
                continue
            if msg.type in (WSMsgType.PING, WSMsgType.PONG):
                continue
            return b""  # CLOSE, CLOSING, CLOSED, ERROR

    async def write(self, data: bytes) -> None:
        if self.ws.closed:
            raise ConnectionResetError("websocket closed")
        await self.ws.send_bytes(data)

    async def close(self) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.close(code=1000)
