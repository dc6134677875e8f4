"""Informers against a real `kyb server`: event order, indexes, shared informers, and controllers on top."""

from __future__ import annotations

import asyncio
from typing import Any

from kybernetes.client.controller import Controller
from kybernetes.client.informer import EventHandlers, Informer, SharedInformerFactory
from kybernetes.client.rest import APIClient, resource
from kybernetes.client.store import NODE_NAME_INDEX, index_by_node_name

CONFIGMAPS = resource("v1", "configmaps")
PODS = resource("v1", "pods")


async def wait_for(cond: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def logger(log: list[tuple[str, ...]]) -> EventHandlers:
    def data(o: dict[str, Any]) -> str:
        return f"{o['metadata']['name']}={(o.get('data') or {}).get('v', '')}"

    return EventHandlers(on_add=lambda o: log.append(("add", data(o))),
                         on_update=lambda old, new: log.append(("update", data(old), data(new))),
                         on_delete=lambda o: log.append(("delete", data(o))))


async def test_handlers_see_changes_in_order(client: APIClient, ns: str) -> None:
    await client.create(CONFIGMAPS, {"metadata": {"name": "pre"}, "data": {"v": "0"}}, namespace=ns)
    inf = Informer(client, CONFIGMAPS, ns)
    log: list[tuple[str, ...]] = []
    inf.add_handlers(logger(log))
    inf.start()
    assert await inf.wait_synced(5) and inf.has_synced()
    await client.create(CONFIGMAPS, {"metadata": {"name": "x"}, "data": {"v": "1"}}, namespace=ns)
    await client.patch(CONFIGMAPS, "x", {"data": {"v": "2"}}, namespace=ns)
    await client.delete(CONFIGMAPS, "x", namespace=ns)
    await client.create(CONFIGMAPS, {"metadata": {"name": "y"}, "data": {"v": "3"}}, namespace=ns)
    await wait_for(lambda: len(log) == 5)
    assert log == [("add", "pre=0"), ("add", "x=1"), ("update", "x=1", "x=2"), ("delete", "x=2"), ("add", "y=3")]
    assert sorted(inf.store.keys()) == [f"{ns}/pre", f"{ns}/y"]
    latest = (await client.get(CONFIGMAPS, "y", namespace=ns))["metadata"]["resourceVersion"]
    assert inf.last_resource_version == latest
    await inf.stop()


async def test_selectors_and_node_index(client: APIClient, ns: str) -> None:
    def pod(name: str, app: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}

    inf = Informer(client, PODS, ns, label_selector="app=web", indexers={NODE_NAME_INDEX: index_by_node_name})
    inf.start()
    await inf.wait_synced(5)
    for name, app in (("w1", "web"), ("w2", "web"), ("db", "db")):
        await client.create(PODS, pod(name, app), namespace=ns)
    await client.create_subresource(PODS, "w1", "binding", {"metadata": {"name": "w1"},
                                    "target": {"kind": "Node", "name": "n1"}}, namespace=ns)
    await wait_for(lambda: len(inf.store.by_index(NODE_NAME_INDEX, "n1")) == 1 and len(inf.store) == 2)
    assert [p["metadata"]["name"] for p in inf.store.by_index(NODE_NAME_INDEX, "n1")] == ["w1"]
    assert inf.store.get_by_name(ns, "db") is None
    await client.patch(PODS, "w2", {"metadata": {"labels": {"app": "other"}}}, namespace=ns)
    await wait_for(lambda: inf.store.get_by_name(ns, "w2") is None)  # leaving the selection is a delete
    await inf.stop()


async def test_factory_and_controller(client: APIClient, ns: str) -> None:
    """A controller in the house shape: handlers enqueue keys, sync reads the shared cache and writes."""
    factory = SharedInformerFactory(client, namespace=ns)
    cms = factory.informer(CONFIGMAPS)
    assert factory.informer(CONFIGMAPS) is cms

    async def sync(key: str) -> None:
        namespace, name = key.split("/")
        obj = cms.store.get(key)
        if obj is None or name.endswith("-copy") or (obj.get("data") or {}).get("skip"):
            return
        body = {"metadata": {"name": f"{name}-copy"}, "data": dict(obj.get("data") or {})}
        try:
            await client.update(CONFIGMAPS, dict(await client.get(CONFIGMAPS, f"{name}-copy", namespace=namespace),
                                                 data=body["data"]))
        except Exception:
            await client.create(CONFIGMAPS, body, namespace=namespace)

    ctl = Controller("copier", sync, workers=2)
    cms.add_handlers(ctl.handlers())
    factory.start()
    assert await factory.wait_for_cache_sync(5)
    runner = asyncio.create_task(ctl.run())
    await client.create(CONFIGMAPS, {"metadata": {"name": "a"}, "data": {"v": "1"}}, namespace=ns)
    await wait_for(lambda: (cms.store.get(f"{ns}/a-copy") or {}).get("data") == {"v": "1"})
    await client.patch(CONFIGMAPS, "a", {"data": {"v": "2"}}, namespace=ns)
    await wait_for(lambda: (cms.store.get(f"{ns}/a-copy") or {}).get("data") == {"v": "2"})
    ctl.shutdown()
    await asyncio.wait_for(runner, 5)
    await factory.shutdown()
