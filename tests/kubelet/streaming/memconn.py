"""An in-memory duplex byte connection for SPDY session tests (no sockets, no ports)."""

from __future__ import annotations

import asyncio


class MemoryEnd:
    def __init__(self, inbox: asyncio.Queue[bytes], outbox: asyncio.Queue[bytes]) -> None:
        self.inbox = inbox
        self.outbox = outbox
        self.closed = False
        self.written: list[bytes] = []

    async def read(self) -> bytes:
        data = await self.inbox.get()
        if not data:
            self.inbox.put_nowait(b"")
        return data

    async def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionResetError("closed")
        self.written.append(data)
        self.outbox.put_nowait(data)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait(b"")
            self.inbox.put_nowait(b"")


def pipe() -> tuple[MemoryEnd, MemoryEnd]:
    a: asyncio.Queue[bytes] = asyncio.Queue()
    b: asyncio.Queue[bytes] = asyncio.Queue()
    return MemoryEnd(a, b), MemoryEnd(b, a)
