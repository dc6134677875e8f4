"""HTTP extenders against a real aiohttp extender in the test: request shapes (upstream's Go field
names), filter results and failure statuses, score scaling, bind delegation, managed resources,
ignorable extenders that are down, and the configuration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from sched_helpers import framework, make_node, make_pod, node_info

from kybernetes.scheduler.algorithm import Algorithm, FitError, SchedulingError
from kybernetes.scheduler.config import ConfigError, ExtenderConfig, ManagedResource, parse_config
from kybernetes.scheduler.extender import (
    ExtenderError,
    HTTPExtender,
    bind_with_extenders,
    build_extenders,
    filter_with_extenders,
    prioritize_with_extenders,
)
from kybernetes.scheduler.framework import CycleState, Snapshot
from kybernetes.scheduler.framework.status import Code
from kybernetes.scheduler.preemption.victims import Candidate

Obj = dict[str, Any]
PORT = 18980
DOWN_PORT = 18981  # nothing listens here
URL = f"http://127.0.0.1:{PORT}/ext"


class FakeExtender:
    """Rejects node n1 (unschedulable) and n4 (unresolvable); scores n3 highest; records binds."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, Obj]] = []

    async def handle(self, request: web.Request) -> web.Response:
        verb = request.match_info["verb"]
        body = await request.json()
        self.requests.append((verb, body))
        names = body["NodeNames"] if body.get("NodeNames") is not None else [
            n["metadata"]["name"] for n in (body.get("Nodes") or {}).get("items", [])]
        if verb == "filter":
            keep = [n for n in names if n not in ("n1", "n4")]
            out: Any = {"FailedNodes": {"n1": "extender says no"} if "n1" in names else {},
                        "FailedAndUnresolvableNodes": {"n4": "never here"} if "n4" in names else {}, "Error": ""}
            if body.get("NodeNames") is not None:
                out |= {"NodeNames": keep, "Nodes": None}
            else:
                out |= {"Nodes": {"items": [n for n in body["Nodes"]["items"] if n["metadata"]["name"] in keep]}}
            return web.json_response(out)
        if verb == "filter-lower":  # Go's decoding is case-insensitive: lower-case answers work too
            return web.json_response({"nodenames": names[:1], "failedNodes": {}})
        if verb == "filter-error":
            return web.json_response({"Error": "extender broke"})
        if verb == "prioritize":
            return web.json_response([{"Host": n, "Score": 10 if n == "n3" else 1} for n in names])
        if verb == "bind":
            return web.json_response({"Error": "" if body["Node"] != "bad" else "cannot bind"})
        if verb == "preempt":
            meta = body["NodeNameToMetaVictims"]
            return web.json_response({"NodeNameToMetaVictims": {k: v for k, v in meta.items() if k == "n2"}})
        return web.Response(status=500)


@pytest.fixture
async def fake() -> AsyncIterator[FakeExtender]:
    ext = FakeExtender()
    app = web.Application()
    app.router.add_post("/ext/{verb}", ext.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", PORT)
    await site.start()
    try:
        yield ext
    finally:
        await runner.cleanup()


def nodes(n: int = 4) -> list[Any]:
    return [node_info(make_node(f"n{i}", cpu="4")) for i in range(1, n + 1)]


def ext(**kw: Any) -> HTTPExtender:
    return HTTPExtender(ExtenderConfig(url_prefix=kw.pop("url", URL), **kw))


@pytest.mark.parametrize("cache_capable", [pytest.param(False, id="node-list"), pytest.param(True, id="node-names")])
async def test_filter_request_and_result(fake: FakeExtender, cache_capable: bool) -> None:
    e = ext(filter_verb="filter", node_cache_capable=cache_capable)
    statuses: dict[str, Any] = {}
    try:
        kept = await filter_with_extenders([e], make_pod("p"), nodes(), statuses)
    finally:
        await e.close()
    assert [n.name for n in kept] == ["n2", "n3"]
    assert (statuses["n1"].code, statuses["n1"].reasons) == (Code.UNSCHEDULABLE, ["extender says no"])
    assert (statuses["n4"].code, statuses["n4"].reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, ["never here"])
    assert fake.requests[0][0] == "filter"
    body = fake.requests[0][1]
    assert set(body) == {"Pod", "Nodes", "NodeNames"} and body["Pod"]["metadata"]["name"] == "p"
    if cache_capable:
        assert body["Nodes"] is None and body["NodeNames"] == ["n1", "n2", "n3", "n4"]
    else:
        assert body["NodeNames"] is None and [n["metadata"]["name"] for n in body["Nodes"]["items"]] == [
            "n1", "n2", "n3", "n4"]


async def test_case_insensitive_answers_and_errors(fake: FakeExtender) -> None:
    lower = ext(filter_verb="filter-lower", node_cache_capable=True)
    broken = ext(filter_verb="filter-error")
    missing = ext(filter_verb="nope")
    try:
        assert [n.name for n in await filter_with_extenders([lower], make_pod("p"), nodes(), {})] == ["n1"]
        with pytest.raises(ExtenderError, match="extender broke"):
            await filter_with_extenders([broken], make_pod("p"), nodes(), {})
        with pytest.raises(ExtenderError, match=f"failed nope with extender at URL {URL}/nope, code 500"):
            await filter_with_extenders([missing], make_pod("p"), nodes(), {})
    finally:
        for e in (lower, broken, missing):
            await e.close()


async def test_ignorable_extender_down_is_skipped() -> None:
    down = ext(url=f"http://127.0.0.1:{DOWN_PORT}", filter_verb="filter", prioritize_verb="prioritize", weight=1,
               bind_verb="bind", ignorable=True)
    strict = ext(url=f"http://127.0.0.1:{DOWN_PORT}", filter_verb="filter")
    try:
        assert len(await filter_with_extenders([down], make_pod("p"), nodes(), {})) == 4
        assert await prioritize_with_extenders([down], make_pod("p"), nodes()) == {}
        assert await bind_with_extenders([down], make_pod("p"), "n1") == (False, None)
        with pytest.raises(ExtenderError, match="Post"):
            await filter_with_extenders([strict], make_pod("p"), nodes(), {})
    finally:
        await down.close()
        await strict.close()


async def test_prioritize_scales_to_node_score_range(fake: FakeExtender) -> None:
    e = ext(prioritize_verb="prioritize", weight=3)
    try:
        scores = await prioritize_with_extenders([e], make_pod("p"), nodes(3))
    finally:
        await e.close()
    assert scores == {"n1": 30, "n2": 30, "n3": 300}  # score * weight * (100 / 10)


async def test_bind_args_and_errors(fake: FakeExtender) -> None:
    e = ext(bind_verb="bind")
    p = make_pod("p", ns="ns1")
    try:
        assert await bind_with_extenders([e], p, "n2") == (True, None)
        bound, st = await bind_with_extenders([e], p, "bad")
    finally:
        await e.close()
    assert bound and st is not None and st.reasons == ["cannot bind"]
    assert fake.requests[0] == ("bind", {"PodName": "p", "PodNamespace": "ns1", "PodUID": "uid-p", "Node": "n2"})


async def test_preempt_verb_meta_victims(fake: FakeExtender) -> None:
    victim = make_pod("v", node="n2")
    snap = Snapshot.of([node_info(make_node("n1")), node_info(make_node("n2"), victim)])
    e = ext(preempt_verb="preempt", node_cache_capable=True)
    try:
        out = await e.process_preemption(make_pod("p"), {"n1": Candidate("n1", [make_pod("w")]),
                                                         "n2": Candidate("n2", [victim], 1)}, snap)
    finally:
        await e.close()
    assert list(out) == ["n2"] and out["n2"].victims[0]["metadata"]["name"] == "v" and out["n2"].num_pdb_violations == 1
    body = fake.requests[0][1]
    assert body["NodeNameToVictims"] is None
    assert body["NodeNameToMetaVictims"]["n2"] == {"Pods": [{"UID": "uid-v"}], "NumPDBViolations": 1}


def test_managed_resources_interest() -> None:
    e = HTTPExtender(ExtenderConfig(url_prefix=URL, managed_resources=[ManagedResource("example.com/gpu")]))
    assert not e.is_interested(make_pod("plain", cpu="1"))
    assert e.is_interested(make_pod("gpu", extra={"example.com/gpu": "1"}))
    limited = make_pod("lim")
    limited["spec"]["initContainers"] = [{"name": "i", "resources": {"limits": {"example.com/gpu": "1"}}}]
    assert e.is_interested(limited)
    assert HTTPExtender(ExtenderConfig(url_prefix=URL)).is_interested(make_pod("any"))


async def test_algorithm_with_extenders(fake: FakeExtender) -> None:
    exts = build_extenders([ExtenderConfig(url_prefix=URL, filter_verb="filter", prioritize_verb="prioritize",
                                           weight=5, node_cache_capable=True)])
    fw = framework()
    snap = Snapshot.of(nodes())
    try:
        result = await Algorithm().schedule_pod_with_extenders(fw, CycleState(), make_pod("p"), snap, exts)
        assert result.suggested_host == "n3"
        only_bad = Snapshot.of([node_info(make_node("n1")), node_info(make_node("n4"))])
        with pytest.raises(FitError) as fe:
            await Algorithm().schedule_pod_with_extenders(fw, CycleState(), make_pod("p"), only_bad, exts)
        assert str(fe.value) == "0/2 nodes are available: 1 extender says no, 1 never here."
        broken = build_extenders([ExtenderConfig(url_prefix=URL, filter_verb="filter-error")])
        with pytest.raises(SchedulingError, match="extender broke"):
            await Algorithm().schedule_pod_with_extenders(fw, CycleState(), make_pod("p"), snap, broken)
        await broken[0].close()
    finally:
        for e in exts:
            await e.close()


CONFIG_ERRORS = [
    pytest.param([{"urlPrefix": "http://x", "prioritizeVerb": "p"}], "must have a positive weight", id="weight"),
    pytest.param([{"urlPrefix": "http://a", "bindVerb": "b"}, {"urlPrefix": "http://b", "bindVerb": "b"}],
                 "only one extender can implement bind", id="two-binders"),
    pytest.param([{"urlPrefix": "http://a", "managedResources": [{"name": "x/y"}, {"name": "x/y"}]}],
                 "Duplicate value", id="duplicate-resource"),
]


@pytest.mark.parametrize(("extenders", "error"), CONFIG_ERRORS)
def test_config_errors(extenders: list[Obj], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse_config({"extenders": extenders})


def test_config_parsing_and_ignored_resources() -> None:
    cfg = parse_config({"extenders": [
        {"urlPrefix": "https://e:8888/api", "filterVerb": "filter", "prioritizeVerb": "prio", "weight": 2,
         "bindVerb": "bind", "enableHTTPS": True, "httpTimeout": "2s", "nodeCacheCapable": True, "ignorable": True,
         "managedResources": [{"name": "example.com/gpu", "ignoredByScheduler": True}]}]})
    e = cfg.extenders[0]
    assert (e.url_prefix, e.weight, e.http_timeout, e.enable_https, e.ignorable) == ("https://e:8888/api", 2, 2.0,
                                                                                      True, True)
    assert cfg.profiles[0].plugin_config["NodeResourcesFit"]["ignoredResources"] == ["example.com/gpu"]
    ordered = build_extenders([ExtenderConfig("http://a", ignorable=True), ExtenderConfig("http://b")])
    assert [x.name for x in ordered] == ["http://b", "http://a"]
