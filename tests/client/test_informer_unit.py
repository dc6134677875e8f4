"""Informer logic without a server: relist diffs, the store's indexes, handler rules, the 410 path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any, cast

import pytest

from kybernetes.client.errors import APIError
from kybernetes.client.informer import (
    EventHandlers,
    Informer,
    SharedInformerFactory,
    Tombstone,
    relist_changes,
)
from kybernetes.client.rest import APIClient, WatchEvent, resource
from kybernetes.client.store import (
    NAMESPACE_INDEX,
    NODE_NAME_INDEX,
    Store,
    index_by_namespace,
    index_by_node_name,
    index_by_owner_uid,
    meta_namespace_key,
    split_key,
)

PODS = resource("v1", "pods")


def obj(name: str, rv: int, ns: str = "ns", node: str = "") -> dict[str, Any]:
    o: dict[str, Any] = {"metadata": {"name": name, "namespace": ns, "resourceVersion": str(rv)}}
    if node:
        o["spec"] = {"nodeName": node}
    return o


@pytest.mark.parametrize(("cached", "listed", "expected"), [
    pytest.param({}, [obj("a", 1)], [("add", None, "a")], id="new-object-is-added"),
    pytest.param({"ns/a": obj("a", 1)}, [obj("a", 1)], [], id="same-rv-is-quiet"),
    pytest.param({"ns/a": obj("a", 1)}, [obj("a", 2)], [("update", "a", "a")], id="changed-rv-is-update"),
    pytest.param({"ns/a": obj("a", 1)}, [], [("delete", "a", None)], id="missing-is-deleted"),
    pytest.param({"ns/a": obj("a", 1), "ns/b": obj("b", 2)}, [obj("c", 5), obj("b", 4)],
                 [("add", None, "c"), ("update", "b", "b"), ("delete", "a", None)], id="mixed-in-list-order"),
])
def test_relist_changes(cached: dict[str, Any], listed: list[Any], expected: list[Any]) -> None:
    changes = relist_changes(cached, listed)
    names = [(kind, old["metadata"]["name"] if old else None, new["metadata"]["name"] if new else None)
             for kind, old, new in changes]
    assert names == expected
    for kind, old, _ in changes:
        if kind == "delete":
            assert isinstance(old, Tombstone) and old == cached[meta_namespace_key(old)]


@pytest.mark.parametrize(("key", "parts"), [
    pytest.param("ns/name", ("ns", "name"), id="namespaced"),
    pytest.param("node-1", ("", "node-1"), id="cluster-scoped"),
])
def test_keys(key: str, parts: tuple[str, str]) -> None:
    assert split_key(key) == parts
    assert meta_namespace_key({"metadata": {"namespace": parts[0], "name": parts[1]}}) == key


def test_store_indexes_follow_updates() -> None:
    store = Store({NAMESPACE_INDEX: index_by_namespace, NODE_NAME_INDEX: index_by_node_name})
    store.upsert(obj("a", 1, node="n1"))
    store.upsert(obj("b", 1, node="n1"))
    store.upsert(obj("c", 1, ns="other"))
    assert [o["metadata"]["name"] for o in store.by_index(NODE_NAME_INDEX, "n1")] == ["a", "b"]
    assert store.index_values(NAMESPACE_INDEX) == ["ns", "other"]
    store.upsert(obj("b", 2, node="n2"))  # rebinding moves it between index values
    assert store.index_keys(NODE_NAME_INDEX, "n1") == ["ns/a"] and store.index_keys(NODE_NAME_INDEX, "n2") == ["ns/b"]
    store.remove("ns/a")
    assert store.by_index(NODE_NAME_INDEX, "n1") == [] and store.index_values(NODE_NAME_INDEX) == ["n2"]
    store.add_indexers({"owner": index_by_owner_uid})  # a late index covers existing objects
    store.upsert({"metadata": {"name": "d", "namespace": "ns", "ownerReferences": [{"uid": "u1"}]}})
    assert store.index_keys("owner", "u1") == ["ns/d"]
    store.replace([obj("z", 9, node="n3")])
    assert store.keys() == ["ns/z"] and store.index_values(NODE_NAME_INDEX) == ["n3"]
    assert store.get_by_name("ns", "z") is not None and "ns/z" in store and len(store) == 1
    with pytest.raises(KeyError):
        store.by_index("nope", "x")
    with pytest.raises(ValueError):
        store.add_indexers({"owner": index_by_owner_uid})


class ScriptedClient:
    """Plays back lists and watches; a watch step is a list of events, then an exception or a hang."""

    def __init__(self, lists: list[tuple[list[Any], str]], watches: list[tuple[list[WatchEvent], BaseException | None]]):
        self.lists = lists
        self.watches = watches
        self.watch_rvs: list[str] = []

    async def list_all(self, res: Any, **kw: Any) -> tuple[list[Any], str]:
        return self.lists.pop(0)

    async def watch(self, res: Any, *, resource_version: str = "", **kw: Any) -> AsyncGenerator[WatchEvent, None]:
        self.watch_rvs.append(resource_version)
        if not self.watches:
            await asyncio.Event().wait()
        events, end = self.watches.pop(0)
        for ev in events:
            yield ev
        if end is not None:
            raise end


def recorder(log: list[tuple[str, ...]]) -> EventHandlers:
    def name(o: dict[str, Any]) -> str:
        return f"{o['metadata']['name']}@{o['metadata']['resourceVersion']}"

    return EventHandlers(
        on_add=lambda o: log.append(("add", name(o))),
        on_update=lambda old, new: log.append(("update", name(old), name(new))),
        on_delete=lambda o: log.append(("delete", name(o), "tombstone" if isinstance(o, Tombstone) else "final")))


async def wait_for(cond: Any, timeout: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def test_gone_relists_and_reports_the_difference() -> None:
    gone = APIError({"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"})
    fake = ScriptedClient(
        lists=[([obj("a", 1), obj("b", 2), obj("c", 3)], "3"), ([obj("a", 5), obj("c", 3), obj("d", 6)], "6")],
        watches=[([WatchEvent("MODIFIED", obj("a", 4)), WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "4"}})],
                  gone)])
    inf = Informer(cast(APIClient, fake), PODS, "ns")
    log: list[tuple[str, ...]] = []
    inf.add_handlers(recorder(log))
    inf.start()
    assert await inf.wait_synced(2)
    await wait_for(lambda: len(fake.watch_rvs) == 2)
    await inf.stop()
    assert log == [("add", "a@1"), ("add", "b@2"), ("add", "c@3"), ("update", "a@1", "a@4"),
                   ("update", "a@4", "a@5"), ("add", "d@6"), ("delete", "b@2", "tombstone")]
    assert fake.watch_rvs == ["3", "6"] and inf.stats.relists_after_gone == 1 and inf.stats.lists == 2
    assert sorted(inf.store.keys()) == ["ns/a", "ns/c", "ns/d"]


async def test_watch_end_rewatches_from_last_rv_and_deletes_are_final(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kybernetes.client.informer.BACKOFF_INITIAL", 0.01)
    fake = ScriptedClient(
        lists=[([obj("a", 1)], "1")],
        watches=[([WatchEvent("ADDED", obj("b", 2))], None),  # server timeout: stream just ends
                 ([WatchEvent("DELETED", obj("a", 3))], OSError("connection reset"))])
    inf = Informer(cast(APIClient, fake), PODS, "ns")
    log: list[tuple[str, ...]] = []
    inf.add_handlers(recorder(log))
    inf.start()
    await wait_for(lambda: len(fake.watch_rvs) == 3, timeout=5)
    await inf.stop()
    assert fake.watch_rvs == ["1", "2", "3"] and inf.stats.lists == 1
    assert log == [("add", "a@1"), ("add", "b@2"), ("delete", "a@3", "final")]


async def test_late_handler_gets_existing_objects_and_bad_handler_is_contained() -> None:
    fake = ScriptedClient(lists=[([obj("a", 1), obj("b", 1)], "1")], watches=[])
    inf = Informer(cast(APIClient, fake), PODS, "ns", resync_period=0.02)

    def broken(o: dict[str, Any]) -> None:
        raise RuntimeError("handler bug")

    inf.add_handlers(on_add=broken)
    inf.start()
    await inf.wait_synced(2)
    late: list[tuple[str, ...]] = []
    reg = inf.add_handlers(recorder(late))
    assert late == [("add", "a@1"), ("add", "b@1")]
    await wait_for(lambda: ("update", "a@1", "a@1") in late)  # resync re-announces cached objects
    inf.remove_handlers(reg)
    await inf.stop()


async def test_factory_shares_informers() -> None:
    fake = ScriptedClient(lists=[([], "1")], watches=[])
    factory = SharedInformerFactory(cast(APIClient, fake))
    a = factory.informer(PODS, indexers={NODE_NAME_INDEX: index_by_node_name})
    b = factory.informer(PODS, indexers={NODE_NAME_INDEX: index_by_node_name, NAMESPACE_INDEX: index_by_namespace})
    c = factory.informer(PODS, namespace="x")
    assert a is b and a is not c and a.store.has_indexer(NAMESPACE_INDEX)
    factory.informers.remove(c)  # the property is a copy; c stays registered
    assert len(factory.informers) == 2
    fake.lists.append(([], "1"))
    factory.start()
    assert await factory.wait_for_cache_sync(2)
    await factory.shutdown()
