"""The EndpointSlice loop against a slice cache that lags behind its own writes.

`SliceTracker` decisions table-driven, then the loop's `sync` and informer handlers driven by hand
over a fake API (the slice cache is filled only when a test delivers an object), reproducing the
duplicate slice a stale cache used to cause.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from endpoint_objects import pod, svc

from kybernetes.client import APIError, SharedInformerFactory
from kybernetes.client.informer import Informer
from kybernetes.controllers import endpoints as epc
from kybernetes.controllers import endpointslice as esc
from kybernetes.controllers.manager import ControllerContext

Obj = dict[str, Any]
KEY = "ns/web"


def slice_(uid: str, generation: int, *, service: str = "web", deleting: bool = False) -> Obj:
    meta: Obj = {"name": f"web-{uid}", "namespace": "ns", "uid": uid, "generation": generation,
                 "labels": {esc.SERVICE_NAME_LABEL: service, esc.MANAGED_BY_LABEL: esc.CONTROLLER_NAME}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "addressType": "IPv4", "endpoints": [], "ports": []}


# --- the tracker (pure) --------------------------------------------------------------------------
@pytest.mark.parametrize(("written", "deleted", "cached", "stale"), [
    pytest.param([], [], [], False, id="nothing-written"),
    pytest.param([("a", 1)], [], [], True, id="own-create-not-in-cache"),
    pytest.param([("a", 1)], [], [("a", 1)], False, id="own-create-in-cache"),
    pytest.param([("a", 3)], [], [("a", 2)], True, id="own-update-not-in-cache"),
    pytest.param([("a", 2)], [], [("a", 3)], False, id="cache-newer-than-own-write"),
    pytest.param([], ["a"], [("a", 1)], True, id="own-delete-not-in-cache"),
    pytest.param([], ["a"], [], False, id="own-delete-in-cache"),
    pytest.param([("a", 1)], [], [("a", 1), ("b", 4)], False, id="someone-elses-slice-too"),
])
def test_stale(written: list[tuple[str, int]], deleted: list[str], cached: list[tuple[str, int]],
               stale: bool) -> None:
    t = esc.SliceTracker()
    for uid, g in written:
        t.written(slice_(uid, g))
    for uid in deleted:
        t.deleted(slice_(uid, 1))
    assert t.stale(KEY, "s1", [slice_(uid, g) for uid, g in cached]) is stale


def test_tracker_events() -> None:
    t = esc.SliceTracker()
    t.written(slice_("a", 2))
    assert t.is_own(slice_("a", 2)) and t.is_own(slice_("a", 1))
    assert not t.is_own(slice_("a", 3)), "someone else changed our slice"
    assert not t.is_own(slice_("b", 1)), "a slice we never wrote"
    t.deleted(slice_("a", 2))
    assert t.gone(slice_("a", 2)) is True
    t.written(slice_("c", 1))
    assert t.gone(slice_("c", 1)) is False, "deleted by someone else"
    assert not t.stale(KEY, "s1", []), "nothing left to wait for"


def test_recreated_service_forgets_the_old_ones_writes() -> None:
    t = esc.SliceTracker()
    assert not t.stale(KEY, "s1", [])
    t.written(slice_("a", 1))
    assert t.stale(KEY, "s1", [])
    assert not t.stale(KEY, "s2", [])


# --- the loop over a fake API ----------------------------------------------------------------------
class FakeAPI:
    """Just enough of the API for EndpointSlices: names, uids, generations, optimistic locking."""

    def __init__(self) -> None:
        self.slices: dict[str, Obj] = {}
        self.writes: list[str] = []
        self._n = itertools.count(1)

    def _rv(self) -> str:
        return str(next(self._n))

    async def create(self, res: Any, obj: Mapping[str, Any], *, namespace: str = "") -> Obj:
        out = copy.deepcopy(dict(obj))
        n = self._rv()
        meta = out["metadata"]
        meta.update(name=meta.get("name") or f"{meta.pop('generateName')}{n}", uid=f"uid-{n}", resourceVersion=n,
                    generation=1, namespace=namespace)
        self.slices[meta["name"]] = out
        self.writes.append(f"create {meta['name']}")
        return copy.deepcopy(out)

    async def update(self, res: Any, obj: Mapping[str, Any], *, namespace: str = "") -> Obj:
        cur = self.slices[obj["metadata"]["name"]]
        if cur["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
            raise APIError({"code": 409, "reason": "Conflict", "message": "stale"})
        out = copy.deepcopy(dict(obj))
        gen = cur["metadata"]["generation"]
        if any(out.get(f) != cur.get(f) for f in ("endpoints", "ports", "addressType")):
            gen += 1
        out["metadata"].update(resourceVersion=self._rv(), generation=gen)
        self.slices[out["metadata"]["name"]] = out
        self.writes.append(f"update {out['metadata']['name']}")
        return copy.deepcopy(out)

    async def delete(self, res: Any, name: str, *, namespace: str = "", preconditions: Any = None) -> Obj:
        self.writes.append(f"delete {name}")
        return self.slices.pop(name)


def deliver(inf: Informer, obj: Obj | None = None, *, deleted: Obj | None = None) -> None:
    """What the informer does for one watch event: store first, then handlers."""
    if deleted is not None:
        inf.store.remove(f"{deleted['metadata']['namespace']}/{deleted['metadata']['name']}")
        inf._dispatch("delete", deleted, None)
        return
    assert obj is not None
    obj = copy.deepcopy(obj)
    old = inf.store.upsert(obj)
    inf._dispatch("add" if old is None else "update", old, obj)


def catch_up(ctl: esc.EndpointSliceController, api: FakeAPI) -> None:
    """Deliver every slice the fake API holds (and every deletion) to the loop's cache."""
    for s in list(ctl.slices.store.list()):
        if s["metadata"]["name"] not in api.slices:
            deliver(ctl.slices, deleted=s)
    for s in api.slices.values():
        cached = ctl.slices.store.get(f"ns/{s['metadata']['name']}")
        if cached is None or cached["metadata"]["resourceVersion"] != s["metadata"]["resourceVersion"]:
            deliver(ctl.slices, s)


@pytest.fixture
async def loop() -> AsyncIterator[tuple[esc.EndpointSliceController, FakeAPI]]:
    api = FakeAPI()
    ctx = ControllerContext(api, SharedInformerFactory(api))  # type: ignore[arg-type]
    ctl = esc.EndpointSliceController(ctx)
    yield ctl, api
    ctl.controller.queue.shutdown()


def ready_endpoints(api: FakeAPI) -> list[tuple[str, bool]]:
    return sorted((a, bool(e["conditions"]["ready"])) for s in api.slices.values()
                  for e in s.get("endpoints") or [] for a in e["addresses"])


async def drain(ctl: esc.EndpointSliceController) -> list[str]:
    """Take the keys queued so far (as a worker would, without syncing)."""
    q, out = ctl.controller.queue, []
    while len(q):
        key = await q.get()
        q.done(key)
        out.append(key)
    return out


def queued(ctl: esc.EndpointSliceController) -> bool:
    q = ctl.controller.queue
    return len(q) > 0 or q.waiting > 0


async def test_pods_ready_before_the_cache_shows_our_placeholder_make_no_duplicate(
        loop: tuple[esc.EndpointSliceController, FakeAPI]) -> None:
    ctl, api = loop
    deliver(ctl.services, svc())
    starting = [pod(n, ip="", ready=False) for n in ("a", "b", "c")]
    for p in starting:
        deliver(ctl.pods, p)
    await ctl.sync(KEY)
    assert api.writes == ["create web-1"]  # the empty placeholder; the cache has not seen it yet
    # the pods get their IP in the same update that makes them Ready
    for i, p in enumerate(starting):
        deliver(ctl.pods, pod(p["metadata"]["name"], ip=f"10.42.0.{i + 1}"))
    await drain(ctl)
    await ctl.sync(KEY)
    assert api.writes == ["create web-1"], "planned from a cache without our own placeholder"
    assert ctl.controller.queue.waiting == 1, "looks again shortly"
    catch_up(ctl, api)
    assert await drain(ctl) == [], "our own create arriving is no news"
    await ctl.sync(KEY)
    catch_up(ctl, api)
    assert ready_endpoints(api) == [("10.42.0.1", True), ("10.42.0.2", True), ("10.42.0.3", True)]
    assert len(api.slices) == 1
    await ctl.sync(KEY)
    assert api.writes[-1] != "create", "settled"
    assert len(api.slices) == 1


async def test_one_pod_at_a_time_with_a_lagging_cache_settles_in_one_slice(
        loop: tuple[esc.EndpointSliceController, FakeAPI]) -> None:
    ctl, api = loop
    deliver(ctl.services, svc())
    for i, n in enumerate(("a", "b", "c")):
        deliver(ctl.pods, pod(n, ip=f"10.42.0.{i + 1}"))
        await ctl.sync(KEY)  # the cache never shows the previous sync's write before this one
    catch_up(ctl, api)
    for _ in range(5):
        await ctl.sync(KEY)
        catch_up(ctl, api)
    assert [len(s["endpoints"]) for s in api.slices.values()] == [3]
    assert ready_endpoints(api) == [("10.42.0.1", True), ("10.42.0.2", True), ("10.42.0.3", True)]


async def test_someone_elses_slice_changes_sync_the_service(
        loop: tuple[esc.EndpointSliceController, FakeAPI]) -> None:
    ctl, api = loop
    deliver(ctl.services, svc())
    deliver(ctl.pods, pod("a"))
    await ctl.sync(KEY)
    await drain(ctl)
    catch_up(ctl, api)
    assert await drain(ctl) == []
    ours = copy.deepcopy(next(iter(api.slices.values())))
    ours["metadata"]["generation"] += 1
    ours["metadata"]["resourceVersion"] = "99"
    ours["endpoints"] = []
    deliver(ctl.slices, ours)  # edited behind our back
    assert await drain(ctl) == [KEY]
    deliver(ctl.slices, slice_("x", 1))  # a slice we did not write (e.g. before a restart)
    assert await drain(ctl) == [KEY]
    deliver(ctl.slices, deleted=ours)  # deleted by someone else
    assert await drain(ctl) == [KEY]


async def test_own_deletion_arriving_is_no_news(loop: tuple[esc.EndpointSliceController, FakeAPI]) -> None:
    ctl, api = loop
    deliver(ctl.services, svc())
    deliver(ctl.pods, pod("a"))
    await ctl.sync(KEY)
    catch_up(ctl, api)
    deliver(ctl.pods, pod("a", phase="Succeeded"))  # no endpoints left: slice goes, placeholder comes
    await drain(ctl)
    await ctl.sync(KEY)
    assert [w.split()[0] for w in api.writes] == ["create", "delete", "create"]
    catch_up(ctl, api)
    assert not queued(ctl), "our own delete and create arriving are no news"


# --- the Endpoints loop: the same lag -------------------------------------------------------------
class FakeEndpointsAPI:
    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}
        self.writes = 0
        self._n = itertools.count(1)

    async def create(self, res: Any, obj: Mapping[str, Any], *, namespace: str = "") -> Obj:
        out = copy.deepcopy(dict(obj))
        out["metadata"]["resourceVersion"] = str(next(self._n))
        self.objects[out["metadata"]["name"]] = out
        self.writes += 1
        return copy.deepcopy(out)

    async def update(self, res: Any, obj: Mapping[str, Any], *, namespace: str = "") -> Obj:
        cur = self.objects[obj["metadata"]["name"]]
        if cur["metadata"]["resourceVersion"] != obj["metadata"].get("resourceVersion"):
            raise APIError({"code": 409, "reason": "Conflict", "message": "stale"})
        return await self.create(res, obj, namespace=namespace)


async def test_endpoints_cache_behind_own_write_that_looks_right_still_gets_written() -> None:
    api = FakeEndpointsAPI()
    ctl = epc.EndpointsController(ControllerContext(api, SharedInformerFactory(api)))  # type: ignore[arg-type]
    try:
        deliver(ctl.services, svc())
        deliver(ctl.pods, pod("a", ready=False))
        await ctl.sync(KEY)
        deliver(ctl.endpoints, api.objects["web"])  # the cache: a not ready
        deliver(ctl.pods, pod("a"))
        await ctl.sync(KEY)  # writes a ready; the cache does not show it yet
        deliver(ctl.pods, pod("a", ready=False))
        await ctl.sync(KEY)  # the cache (a not ready) equals what is wanted, the server does not
        assert api.writes == 2 and ctl.controller.queue.waiting == 1
        deliver(ctl.endpoints, api.objects["web"])
        await ctl.sync(KEY)
        assert [a["ip"] for a in api.objects["web"]["subsets"][0].get("notReadyAddresses") or []] == ["10.42.0.1"]
        assert "addresses" not in api.objects["web"]["subsets"][0]
    finally:
        ctl.controller.queue.shutdown()
