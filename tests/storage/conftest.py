"""Fixtures shared by the storage tests: an opened store of each backend on a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kybernetes.storage.etcd.channel import EtcdConnection
from kybernetes.storage.etcd.store import EtcdStorage
from kybernetes.storage.interface import Event, Storage
from kybernetes.storage.memory import MemoryStorage
from kybernetes.storage.sqlite import SQLiteStorage

from .etcd_server import fresh_prefix, shared_etcd

BACKENDS = ["memory", "sqlite", "etcd"]


async def open_etcd_store() -> EtcdStorage:
    """A store on the session's etcd under a fresh prefix, numbering revisions from now."""
    connection = EtcdConnection(endpoints=(shared_etcd(),), prefix=fresh_prefix())
    probe = EtcdStorage(connection, revision_offset=0)
    await probe.open()
    offset = await probe.current_revision()
    await probe.close()
    store = EtcdStorage(connection, revision_offset=offset)
    await store.open()
    return store


async def open_store(kind: str, directory: Path) -> Storage:
    if kind == "etcd":
        return await open_etcd_store()
    store: MemoryStorage | SQLiteStorage
    store = MemoryStorage() if kind == "memory" else SQLiteStorage(str(directory / "kv.db"))
    await store.open()
    return store


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    s = await open_store(request.param, tmp_path)
    yield s
    await s.close()


async def take(events: AsyncIterator[Event], n: int, timeout: float = 5.0) -> list[Event]:
    """The next `n` events, failing the test if they do not arrive in time."""

    async def collect() -> list[Event]:
        out: list[Event] = []
        while len(out) < n:
            out.append(await anext(events))
        return out

    return await asyncio.wait_for(collect(), timeout)
