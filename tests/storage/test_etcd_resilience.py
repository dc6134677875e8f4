"""The etcd backend across an etcd crash: the supervisor restarts the member, requests wait for
it, watches resume where they were; with etcd gone, requests fail with storage errors.

A private member on ports 23796/23797 (the shared test etcd must not be killed).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kybernetes.storage.etcd.channel import EtcdConnection
from kybernetes.storage.etcd.embedded import EtcdSupervisor, MemberConfig
from kybernetes.storage.etcd.store import EtcdStorage, EtcdTimeoutError, EtcdUnavailableError
from kybernetes.storage.interface import Event, KeyExistsError

from .conftest import take

CLIENT = "http://127.0.0.1:23796"


@pytest.fixture
async def supervisor() -> AsyncIterator[EtcdSupervisor]:
    directory = Path(tempfile.mkdtemp(prefix="kyb-etcd-resilience-", dir="/tmp"))
    member = MemberConfig("resilience", directory / "data", CLIENT, "http://127.0.0.1:23797")
    sup = EtcdSupervisor(member, log_path=directory / "etcd.log")
    await sup.start(timeout=30)
    try:
        yield sup
    finally:
        await sup.stop()
        shutil.rmtree(directory, ignore_errors=True)


async def test_sigkilled_etcd_is_restarted_and_the_store_rides_over_it(supervisor: EtcdSupervisor) -> None:
    store = EtcdStorage(EtcdConnection(endpoints=(CLIENT,), request_timeout=30))
    await store.open()
    try:
        for i in range(5):
            await store.create(f"/k/{i}", b"before")
        watch = store.watch("/k/", 1)
        assert [e.revision for e in await take(watch, 5)] == [1, 2, 3, 4, 5]
        first_pid = supervisor.pid
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)
        # A write in flight when the connection breaks fails (etcd may have applied it, so it is
        # never retried); one sent once the break is noticed waits for the restarted member.
        await asyncio.sleep(0.3)
        await asyncio.gather(*(store.create(f"/k/after-{i}", b"after") for i in range(5)))
        events: list[Event] = await take(watch, 5, timeout=30)
        assert [e.revision for e in events] == [6, 7, 8, 9, 10]
        assert all(e.is_create for e in events)
        assert supervisor.restarts == 1 and supervisor.pid not in (None, first_pid)
        with pytest.raises(KeyExistsError):
            await store.create("/k/0", b"again")
        assert await store.count("/k/") == 10
        await watch.aclose()  # type: ignore[attr-defined]
    finally:
        await store.close()


async def test_requests_to_a_stopped_etcd_fail_with_storage_errors(supervisor: EtcdSupervisor) -> None:
    store = EtcdStorage(EtcdConnection(endpoints=(CLIENT,), request_timeout=0.5))
    await store.open()
    try:
        await store.create("/a", b"1")
        await supervisor.stop()
        # requests wait for the member up to the request timeout, then fail as timeouts (504)
        with pytest.raises(EtcdTimeoutError) as info:
            await store.get("/a")
        assert isinstance(info.value, TimeoutError)
        with pytest.raises(EtcdUnavailableError):
            await store.create("/b", b"1")
    finally:
        await store.close()


async def test_an_empty_prefix_store_sees_the_whole_keyspace(supervisor: EtcdSupervisor) -> None:
    store = EtcdStorage(EtcdConnection(endpoints=(CLIENT,)))
    await store.open()
    try:
        assert await store.current_revision() == 0
        await store.create("/registry/a", b"1")
        await store.create("/zzz", b"2")
        assert await store.count("") == 2
        assert [kv.key for kv in (await store.list("")).items] == ["/registry/a", "/zzz"]
        assert await store.compacted_revision() == 0
    finally:
        await store.close()
