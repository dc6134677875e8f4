"""metrics.k8s.io served by an in-process API server, scraping fake kubelets over real HTTP(S).

Two nodes: ``sim-1`` is a simulated node whose stats URL (plain HTTP) is in its annotation, and
``real-1`` is reached as a real kubelet: its InternalIP and kubeletEndpoint port over HTTPS,
the API server presenting its kubelet client certificate (the fake kubelet demands one signed by
the cluster CA). A third node is not Ready and is never asked.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kybernetes.testing.inprocess import serve_api
from kybernetes.util import pki
from kybernetes.util.times import rfc3339

MERGE = {"Content-Type": "application/merge-patch+json"}
BASE = "/apis/metrics.k8s.io/v1beta1"


@dataclass
class FakeKubelets:
    """What each fake kubelet answers: pods as (namespace, name, uid, {container: (nano, bytes)})."""

    pods: dict[str, list[tuple[str, str, str, dict[str, tuple[int, int]]]]] = field(default_factory=dict)
    node_usage: dict[str, tuple[int, int]] = field(default_factory=dict)
    peers: list[Any] = field(default_factory=list)

    def summary(self, node: str) -> dict[str, Any]:
        import time

        now = rfc3339(time.time())

        def stats(nano: int, mem: int) -> dict[str, Any]:
            return {
                "cpu": {"time": now, "usageNanoCores": nano, "usageCoreNanoSeconds": nano * 100},
                "memory": {"time": now, "workingSetBytes": mem},
            }

        nano, mem = self.node_usage.get(node, (1, 1))
        return {
            "node": {"nodeName": node, **stats(nano, mem)},
            "pods": [
                {
                    "podRef": {"namespace": ns, "name": name, "uid": uid},
                    "containers": [{"name": c, **stats(*u)} for c, u in cs.items()],
                }
                for ns, name, uid, cs in self.pods.get(node, [])
            ],
        }


async def _serve(app: web.Application, ctx: ssl.SSLContext | None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx).start()
    return runner, int(runner.addresses[0][1])


async def _start_kubelets(tmp: Path, fake: FakeKubelets) -> tuple[list[web.AppRunner], int, int]:
    sim = web.Application()

    async def sim_summary(request: web.Request) -> web.Response:
        return web.json_response(fake.summary(request.match_info["name"]))

    sim.router.add_get("/nodes/{name}/stats/summary", sim_summary)
    sim_runner, sim_port = await _serve(sim, None)

    ca = pki.CertificateAuthority.load(tmp / "tls" / "ca.crt", tmp / "tls" / "ca.key")
    cert, key = pki.issue_serving_cert(
        ca, common_name="kubelet", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    (tmp / "kubelet.crt").write_bytes(cert)
    (tmp / "kubelet.key").write_bytes(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp / "kubelet.crt"), str(tmp / "kubelet.key"))
    ctx.load_verify_locations(cafile=str(tmp / "tls" / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    real = web.Application()

    async def real_summary(request: web.Request) -> web.Response:
        fake.peers.append(request.transport.get_extra_info("peercert") if request.transport else None)
        return web.json_response(fake.summary("real-1"))

    real.router.add_get("/stats/summary", real_summary)
    real_runner, real_port = await _serve(real, ctx)
    return [sim_runner, real_runner], sim_port, real_port


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        async with self.session.request(method, self.base + path, json=body, headers=headers) as r:
            ctype = r.headers.get("Content-Type", "")
            return r.status, (await r.json(content_type=None) if "json" in ctype else await r.text())

    async def ok(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Any:
        status, got = await self.call(method, path, body, headers)
        assert status < 300, (status, got)
        return got


READY = [{"type": "Ready", "status": "True"}]


async def _node(
    c: Client,
    name: str,
    status: dict[str, Any],
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> None:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    await c.ok("POST", "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": meta})
    await c.ok("PATCH", f"/api/v1/nodes/{name}/status", {"status": status}, MERGE)


async def _pod(
    c: Client,
    ns: str,
    name: str,
    containers: list[str],
    *,
    labels: dict[str, str] | None = None,
    phase: str = "Running",
) -> str:
    if ns != "default":
        await c.call(
            "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"containers": [{"name": n, "image": "busybox:1.36"} for n in containers]},
    }
    created = await c.ok("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    await c.ok("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status", {"status": {"phase": phase}}, MERGE)
    return str(created["metadata"]["uid"])


@pytest.fixture
async def cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Client, FakeKubelets]]:
    monkeypatch.setenv("KYB_METRICS_RESOLUTION", "0.2")
    pki.ensure_pki(
        tmp_path,
        server_sans_dns=["localhost"],
        server_sans_ip=["127.0.0.1"],
        server_url="https://127.0.0.1:1",
    )
    fake = FakeKubelets()
    runners, sim_port, real_port = await _start_kubelets(tmp_path, fake)
    try:
        async with serve_api(tmp_path) as api, aiohttp.ClientSession() as session:
            c = Client(session, api.base_url)
            await _node(
                c,
                "sim-1",
                {"conditions": READY, "addresses": [{"type": "InternalIP", "address": "198.18.0.1"}]},
                labels={"sim.kybernetes.io/hollow": "true", "zone": "a"},
                annotations={
                    "sim.kybernetes.io/stats-url": f"http://127.0.0.1:{sim_port}/nodes/sim-1/stats/summary"
                },
            )
            await _node(
                c,
                "real-1",
                {
                    "conditions": READY,
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": real_port}},
                },
                labels={"zone": "b"},
            )
            await _node(
                c,
                "down-1",
                {
                    "conditions": [{"type": "Ready", "status": "Unknown"}],
                    "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": real_port}},
                },
            )
            yield c, fake
    finally:
        for r in runners:
            await r.cleanup()


async def _eventually(check: Any, timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_discovery_lists_the_group_in_both_formats(cluster: tuple[Client, FakeKubelets]) -> None:
    c, _ = cluster
    groups = await c.ok("GET", "/apis")
    assert {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"} in next(
        g for g in groups["groups"] if g["name"] == "metrics.k8s.io"
    )["versions"]
    assert (await c.ok("GET", "/apis/metrics.k8s.io"))["preferredVersion"]["version"] == "v1beta1"
    rl = await c.ok("GET", BASE)
    assert [(r["name"], r["kind"], r["namespaced"], r["verbs"]) for r in rl["resources"]] == [
        ("nodes", "NodeMetrics", False, ["get", "list"]),
        ("pods", "PodMetrics", True, ["get", "list"]),
    ]
    agg = await c.ok(
        "GET",
        "/apis",
        headers={"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"},
    )
    group = next(g for g in agg["items"] if g["metadata"]["name"] == "metrics.k8s.io")
    assert [(r["resource"], r["scope"]) for r in group["versions"][0]["resources"]] == [
        ("nodes", "Cluster"),
        ("pods", "Namespaced"),
    ]


async def test_node_metrics(cluster: tuple[Client, FakeKubelets]) -> None:
    c, fake = cluster
    fake.node_usage = {"sim-1": (250_000_000, 512 * 2**20), "real-1": (1_500_000_000, 2 * 2**30)}

    async def both() -> Any:
        items = (await c.ok("GET", f"{BASE}/nodes"))["items"]
        assert [(i["metadata"]["name"], i["usage"]) for i in items] == [
            ("real-1", {"cpu": "1500m", "memory": "2Gi"}),
            ("sim-1", {"cpu": "250m", "memory": "512Mi"}),
        ]
        return items

    items = await _eventually(both)
    assert items[0]["metadata"]["labels"] == {"zone": "b"} and items[0]["window"].endswith("s")
    # the real kubelet saw the API server's kubelet client certificate
    subject = dict(x[0] for x in fake.peers[0]["subject"])
    assert subject["commonName"] == "kube-apiserver-kubelet-client"
    one = await c.ok("GET", f"{BASE}/nodes/sim-1")
    assert one["kind"] == "NodeMetrics" and one["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert [
        i["metadata"]["name"] for i in (await c.ok("GET", f"{BASE}/nodes?labelSelector=zone%3Da"))["items"]
    ] == ["sim-1"]
    assert [
        i["metadata"]["name"]
        for i in (await c.ok("GET", f"{BASE}/nodes?fieldSelector=metadata.name%3Dreal-1"))["items"]
    ] == ["real-1"]
    status, body = await c.call("GET", f"{BASE}/nodes/down-1")
    assert status == 404 and body["message"] == 'nodemetrics.metrics.k8s.io "down-1" not found'
    assert body["reason"] == "NotFound" and body["details"] == {
        "name": "down-1",
        "group": "metrics.k8s.io",
        "kind": "nodemetrics",
    }
    status, body = await c.call("GET", f"{BASE}/nodes/nope")
    assert status == 404 and body["message"] == 'node "nope" not found'


async def test_pod_metrics(cluster: tuple[Client, FakeKubelets]) -> None:
    c, fake = cluster
    web_uid = await _pod(c, "default", "web", ["app", "side"], labels={"app": "web"})
    db_uid = await _pod(c, "data", "db", ["db"], labels={"app": "db"})
    await _pod(c, "default", "pending", ["app"], phase="Pending")
    fake.pods = {
        "sim-1": [
            ("default", "web", web_uid, {"side": (1_000_000, 4096), "app": (20_000_000, 8192)}),
            ("default", "pending", "", {"app": (1, 4096)}),
        ],
        "real-1": [("data", "db", db_uid, {"db": (300_000_000, 100 * 2**20)})],
    }

    async def all_pods() -> Any:
        items = (await c.ok("GET", f"{BASE}/pods"))["items"]
        assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in items] == [
            ("data", "db"),
            ("default", "web"),
        ]
        return items

    items = await _eventually(all_pods)
    assert items[1]["containers"] == [
        {"name": "app", "usage": {"cpu": "20m", "memory": "8Ki"}},
        {"name": "side", "usage": {"cpu": "1m", "memory": "4Ki"}},
    ]
    assert items[1]["metadata"]["labels"] == {"app": "web"}
    assert (await c.ok("GET", f"{BASE}/namespaces/default/pods"))["kind"] == "PodMetricsList"
    assert [i["metadata"]["name"] for i in (await c.ok("GET", f"{BASE}/namespaces/data/pods"))["items"]] == [
        "db"
    ]
    assert [
        i["metadata"]["name"] for i in (await c.ok("GET", f"{BASE}/pods?labelSelector=app%3Ddb"))["items"]
    ] == ["db"]
    got = await c.ok("GET", f"{BASE}/pods?fieldSelector=metadata.namespace%3Ddefault,metadata.name%3Dweb")
    assert [i["metadata"]["name"] for i in got["items"]] == ["web"]
    one = await c.ok("GET", f"{BASE}/namespaces/data/pods/db")
    assert one["kind"] == "PodMetrics" and one["containers"][0]["usage"] == {"cpu": "300m", "memory": "100Mi"}
    # not Running: no metrics, whatever the node says
    status, body = await c.call("GET", f"{BASE}/namespaces/default/pods/pending")
    assert status == 404 and body["message"] == 'podmetrics.metrics.k8s.io "default/pending" not found'
    status, body = await c.call("GET", f"{BASE}/namespaces/default/pods/ghost")
    assert status == 404 and body["message"] == 'pods "ghost" not found'
    status, body = await c.call("GET", f"{BASE}/pods?fieldSelector=spec.nodeName%3Dx")
    assert status == 400 and "is not a known field selector" in body["message"]
    # the pod leaves the node's summary: it leaves the API with the next scrape
    fake.pods["sim-1"] = []

    async def gone() -> None:
        names = [i["metadata"]["name"] for i in (await c.ok("GET", f"{BASE}/pods"))["items"]]
        assert names == ["db"]

    await _eventually(gone)


async def test_read_only_and_table(cluster: tuple[Client, FakeKubelets]) -> None:
    c, fake = cluster
    fake.node_usage = {"sim-1": (2_000_000, 2**20)}
    for method, path in [
        ("POST", f"{BASE}/nodes"),
        ("DELETE", f"{BASE}/nodes/sim-1"),
        ("PUT", f"{BASE}/namespaces/default/pods/x"),
        ("GET", f"{BASE}/nodes?watch=true"),
        ("DELETE", f"{BASE}/namespaces/default/pods"),
    ]:
        status, body = await c.call(method, path, {} if method in ("POST", "PUT") else None)
        assert (status, body["reason"]) == (405, "MethodNotAllowed"), (method, path)

    async def table() -> Any:
        t = await c.ok(
            "GET", f"{BASE}/nodes", headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
        )
        assert [r["cells"][:3] for r in t["rows"]] == [["real-1", "1n", "1"], ["sim-1", "2m", "1Mi"]]
        return t

    t = await _eventually(table)
    assert t["kind"] == "Table" and [d["name"] for d in t["columnDefinitions"]] == [
        "Name",
        "cpu",
        "memory",
        "Window",
    ]
