"""Informers across `kyb server` restarts: watches resume, and a 410 relist tells handlers the difference."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import pytest

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.informer import EventHandlers, Informer, Tombstone
from kybernetes.client.rest import APIClient, WatchEvent, resource
from kybernetes.testing.cluster import KybServer

CONFIGMAPS = resource("v1", "configmaps")


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kybernetes.client.informer.BACKOFF_INITIAL", 0.1)


class GatedClient(APIClient):
    """Watches wait at a gate, so a test can keep the informer from watching while it writes."""

    gate: asyncio.Event
    watch_calls = 0

    async def watch(self, *args: Any, **kw: Any) -> AsyncGenerator[WatchEvent, None]:
        self.watch_calls += 1
        await self.gate.wait()
        async for ev in super().watch(*args, **kw):
            yield ev


def logger(log: list[tuple[str, ...]]) -> EventHandlers:
    def data(o: dict[str, Any]) -> str:
        return f"{o['metadata']['name']}={(o.get('data') or {}).get('v', '')}"

    return EventHandlers(on_add=lambda o: log.append(("add", data(o))),
                         on_update=lambda old, new: log.append(("update", data(old), data(new))),
                         on_delete=lambda o: log.append(
                             ("delete", data(o), "tombstone" if isinstance(o, Tombstone) else "final")))


async def wait_for(cond: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def restart(kyb: KybServer) -> None:
    kyb.stop()
    await asyncio.to_thread(kyb.start)


async def test_watch_resumes_after_server_restart(kyb: KybServer, client: APIClient, ns: str) -> None:
    await client.create(CONFIGMAPS, {"metadata": {"name": "before"}, "data": {"v": "1"}}, namespace=ns)
    inf = Informer(client, CONFIGMAPS, ns)
    log: list[tuple[str, ...]] = []
    inf.add_handlers(logger(log))
    inf.start()
    await inf.wait_synced(5)
    await restart(kyb)
    await client.create(CONFIGMAPS, {"metadata": {"name": "after"}, "data": {"v": "2"}}, namespace=ns)
    await client.patch(CONFIGMAPS, "before", {"data": {"v": "3"}}, namespace=ns)
    await wait_for(lambda: len(log) == 3)
    await asyncio.sleep(0.2)
    # Whether the informer re-watched or (after a 410) re-listed, handlers hear each change once.
    assert log == [("add", "before=1"), ("add", "after=2"), ("update", "before=1", "before=3")]
    await inf.stop()


async def test_gone_after_restart_relists_and_reports_missed_changes(kyb: KybServer, ns: str) -> None:
    async with GatedClient(load_kubeconfig(kyb.kubeconfig)) as gated:
        gated.gate = asyncio.Event()
        gated.gate.set()
        for name in ("a", "b"):
            await gated.create(CONFIGMAPS, {"metadata": {"name": name}, "data": {"v": "1"}}, namespace=ns)
        inf = Informer(gated, CONFIGMAPS, ns, watch_timeout=1)
        log: list[tuple[str, ...]] = []
        inf.add_handlers(logger(log))
        inf.start()
        await inf.wait_synced(5)
        gated.gate.clear()
        calls = gated.watch_calls
        await wait_for(lambda: gated.watch_calls > calls, timeout=5)  # the 1 s watch ended; next one waits
        # Changes the informer does not watch, then a restart: its position is now older than the
        # server's history, so the next watch is answered 410 Gone.
        await gated.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, namespace=ns)
        await gated.delete(CONFIGMAPS, "b", namespace=ns)
        await gated.create(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"v": "1"}}, namespace=ns)
        await restart(kyb)
        gated.gate.set()
        await wait_for(lambda: len(log) == 5)
        assert log == [("add", "a=1"), ("add", "b=1"),
                       ("update", "a=1", "a=2"), ("add", "c=1"), ("delete", "b=1", "tombstone")]
        assert inf.stats.relists_after_gone == 1 and inf.stats.lists == 2
        # and it keeps watching from the new list
        await gated.patch(CONFIGMAPS, "c", {"data": {"v": "2"}}, namespace=ns)
        await wait_for(lambda: len(log) == 6)
        assert log[-1] == ("update", "c=1", "c=2")
        await inf.stop()
