"""The API server's Prometheus metrics: how requests are reported (table-driven), the text
format (parsed with prometheus_client's parser), and the endpoint in-process over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kybernetes.apiserver.metrics import (
    LATENCY_BUCKETS,
    Inflight,
    clean_dry_run,
    clean_scope,
    is_long_running,
    reported_verb,
)
from kybernetes.apiserver.requestinfo import parse_request
from kybernetes.apiserver.server import APIServer
from kybernetes.metrics import prom
from kybernetes.testing.inprocess import serve_api


def families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples if s.name == name
    ]


# --- reporting (pure) ---------------------------------------------------------------------------------

VERB_CASES = [
    ("get-one", "GET", "/api/v1/namespaces/default/pods/p", False, "", "GET", "resource"),
    ("list-namespaced", "GET", "/api/v1/namespaces/default/pods", False, "", "LIST", "namespace"),
    ("list-cluster", "GET", "/api/v1/pods", False, "", "LIST", "cluster"),
    ("watch-param", "GET", "/api/v1/namespaces/default/pods", True, "", "WATCH", "namespace"),
    ("watch-legacy-path", "GET", "/api/v1/watch/namespaces/default/pods", False, "", "WATCH", "namespace"),
    (
        "create",
        "POST",
        "/api/v1/namespaces/default/configmaps",
        False,
        "application/json",
        "POST",
        "resource",
    ),
    ("update", "PUT", "/apis/apps/v1/namespaces/d/deployments/x", False, "", "PUT", "resource"),
    ("merge-patch", "PATCH", "/api/v1/nodes/n", False, "application/merge-patch+json", "PATCH", "resource"),
    (
        "apply",
        "PATCH",
        "/api/v1/nodes/n",
        False,
        "application/apply-patch+yaml; charset=utf-8",
        "APPLY",
        "resource",
    ),
    ("delete", "DELETE", "/api/v1/namespaces/d/pods/p", False, "", "DELETE", "resource"),
    ("deletecollection", "DELETE", "/api/v1/namespaces/d/pods", False, "", "DELETE", "namespace"),
    ("logs-connect", "GET", "/api/v1/namespaces/d/pods/p/log", False, "", "CONNECT", "resource"),
    ("exec-connect", "POST", "/api/v1/namespaces/d/pods/p/exec", False, "", "CONNECT", "resource"),
    ("node-proxy", "GET", "/api/v1/nodes/n/proxy/metrics", False, "", "CONNECT", "resource"),
    ("status", "PUT", "/api/v1/namespaces/d/pods/p/status", False, "", "PUT", "resource"),
    ("unknown-method", "TRACE", "/api/v1/pods", False, "", "other", "cluster"),
]


@pytest.mark.parametrize(
    ("method", "path", "watch", "ctype", "verb", "scope"),
    [c[1:] for c in VERB_CASES],
    ids=[c[0] for c in VERB_CASES],
)
def test_reported_verb_and_scope(
    method: str, path: str, watch: bool, ctype: str, verb: str, scope: str
) -> None:
    info = parse_request(method, path, watch_param=watch)
    assert reported_verb(method, info, watch_param=watch, content_type=ctype) == verb
    assert clean_scope(info) == scope


@pytest.mark.parametrize(
    ("path", "watch", "long"),
    [
        ("/api/v1/pods", True, True),
        ("/api/v1/namespaces/d/pods/p/exec", False, True),
        ("/api/v1/namespaces/d/pods/p/log", False, True),
        ("/api/v1/namespaces/d/pods/p", False, False),
        ("/metrics", False, False),
    ],
    ids=["watch", "exec", "log", "get", "nonresource"],
)
def test_long_running(path: str, watch: bool, long: bool) -> None:
    assert is_long_running(parse_request("GET", path, watch_param=watch)) is long


def test_dry_run_label() -> None:
    assert (
        clean_dry_run([]) == "" and clean_dry_run(["All"]) == "All" and clean_dry_run(["All", "All"]) == "All"
    )


def test_inflight_reports_the_peak_of_the_last_second() -> None:
    f = Inflight()
    t = f.window_start
    f.begin(t)
    f.begin(t + 0.1)
    f.end(t + 0.2)
    f.end(t + 0.3)
    assert f.value(t + 0.4) == 2  # both were open at once in this second
    assert f.value(t + 1.5) == 2  # still the last second's peak
    assert f.value(t + 5.0) == 0  # nothing since


# --- the text format ---------------------------------------------------------------------------------


def test_registry_renders_what_the_parser_reads() -> None:
    r = prom.Registry()
    c = r.counter("demo_requests_total", "Requests.\nTwo lines", ("code", "path"))
    c.labels("200", 'a "quoted" \\ path').inc()
    c.labels("200", 'a "quoted" \\ path').inc(2)
    g = r.gauge("demo_open", "Open things.")
    g.set(3)
    h = r.histogram("demo_seconds", "Durations.", ("op",), buckets=(0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 7.0):
        h.labels("get").observe(v)
    r.add_collector(
        lambda: [prom.Snapshot("demo_now", "At scrape.", ("x",)).add(("y",), 1.5, timestamp_ms=1000)]
    )
    fams = families(r.render())
    assert fams["demo_requests"].type == "counter"
    assert fams["demo_requests"].samples[0].labels == {"code": "200", "path": 'a "quoted" \\ path'}
    assert fams["demo_requests"].samples[0].value == 3
    assert fams["demo_open"].samples[0].value == 3
    buckets = {
        s.labels["le"]: s.value for s in fams["demo_seconds"].samples if s.name == "demo_seconds_bucket"
    }
    assert buckets == {"0.1": 2, "1": 3, "+Inf": 4}  # as Go writes bounds
    count = [s.value for s in fams["demo_seconds"].samples if s.name == "demo_seconds_count"]
    assert count == [4]
    now = fams["demo_now"].samples[0]
    assert now.value == 1.5 and now.timestamp == 1.0


def test_wrong_label_count_is_refused() -> None:
    c = prom.Counter("x_total", "x", ("a",))
    with pytest.raises(ValueError):
        c.labels("1", "2")


def test_process_families() -> None:
    fams = families(prom.render(prom.process_families()))
    for name in (
        "process_cpu_seconds",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "python_gc_objects_collected",
        "python_info",
    ):
        assert name in fams, name
    assert fams["process_resident_memory_bytes"].samples[0].value > 0


# --- in-process over HTTP -------------------------------------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[APIServer, aiohttp.ClientSession, str]]:
    async with serve_api(tmp_path) as api, aiohttp.ClientSession() as session:
        yield api.server, session, api.base_url


async def scrape(session: aiohttp.ClientSession, base: str) -> str:
    async with session.get(f"{base}/metrics") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return await r.text()


def value(text: str, name: str, **labels: str) -> float:
    return sum(v for lab, v in samples(text, name) if all(lab.get(k) == want for k, want in labels.items()))


async def test_requests_storage_admission_and_watch_are_counted(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    watch = await s.get(f"{url}?watch=true")  # open: a long-running request
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}})
    async with s.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        assert r.status == 201
    async with s.post(url, data=body, headers={"Content-Type": "application/json"}) as r:
        assert r.status == 409
    async with s.post(
        f"{url}?dryRun=All", data=body.replace('"m"', '"n"'), headers={"Content-Type": "application/json"}
    ) as r:
        assert r.status == 201
    async with s.get(f"{url}/m") as r:
        assert r.status == 200
    await asyncio.wait_for(watch.content.readline(), 5)  # the ADDED event reached the watcher
    text = await scrape(s, base)
    common = {"group": "", "version": "v1", "resource": "configmaps", "component": "apiserver"}
    assert (
        value(
            text, "apiserver_request_total", verb="POST", code="201", scope="resource", dry_run="", **common
        )
        == 1
    )
    assert value(text, "apiserver_request_total", verb="POST", code="409", **common) == 1
    assert value(text, "apiserver_request_total", verb="POST", dry_run="All", code="201", **common) == 1
    assert value(text, "apiserver_request_total", verb="GET", code="200", **common) == 1
    assert value(text, "apiserver_request_duration_seconds_count", verb="GET", **common) == 1
    assert value(text, "apiserver_response_sizes_count", verb="GET", **common) == 1
    assert value(text, "apiserver_longrunning_requests", verb="WATCH", scope="namespace", **common) == 1
    assert value(text, "apiserver_watch_events_total", group="", version="v1", kind="ConfigMap") >= 1
    assert value(text, "apiserver_storage_objects", resource="configmaps") >= 1
    assert value(text, "etcd_request_duration_seconds_count", operation="create", type="configmaps") >= 2
    assert (
        value(
            text,
            "apiserver_admission_controller_admission_duration_seconds_count",
            operation="CREATE",
            type="admit",
            rejected="false",
        )
        >= 1
    )
    assert (
        value(
            text,
            "apiserver_admission_step_admission_duration_seconds_count",
            operation="CREATE",
            type="validate",
        )
        >= 1
    )
    assert value(text, "apiserver_current_inflight_requests", request_kind="readOnly") >= 1  # this scrape
    fams = families(text)
    assert fams["apiserver_request_duration_seconds"].type == "histogram"
    les = sorted(
        {
            float(lab["le"])
            for lab, _ in samples(text, "apiserver_request_duration_seconds_bucket")
            if lab["le"] != "+Inf"
        }
    )
    assert les == sorted(LATENCY_BUCKETS)
    assert "process_cpu_seconds" in fams and "python_gc_collections" in fams
    watch.close()
    await asyncio.sleep(0.1)
    text = await scrape(s, base)
    assert value(text, "apiserver_longrunning_requests", verb="WATCH", **common) == 0


async def test_unauthenticated_requests_are_not_counted(tmp_path: Path) -> None:
    async with serve_api(tmp_path, anonymous_auth=False) as api, aiohttp.ClientSession() as s:
        async with s.get(f"{api.base_url}/api/v1/pods") as r:
            assert r.status == 401
        async with s.get(f"{api.base_url}/metrics") as r:
            assert r.status == 401  # /metrics needs a user allowed to read it
        assert api.server.prom.requests.children == {}


async def test_a_request_the_client_abandoned_is_not_counted() -> None:
    from aiohttp.test_utils import make_mocked_request

    from kybernetes.apiserver.metrics import APIServerMetrics
    from kybernetes.apiserver.rest import USER_KEY

    m = APIServerMetrics()
    request = make_mocked_request("GET", "/api/v1/namespaces/default/pods/p")

    async def handler(req: Any) -> Any:
        req[USER_KEY] = None
        raise asyncio.CancelledError

    m.started(request, parse_request("GET", request.path, watch_param=False))
    assert m.inflight["readOnly"].current == 1
    with pytest.raises(asyncio.CancelledError):
        await m.middleware(request, handler)
    assert m.inflight["readOnly"].current == 0 and m.requests.children == {}
