"""nodes/<name>/proxy/<path> in the API server: the node's kubelet answers, as metrics add-ons use it.

The API server runs in-process; a small HTTPS server with a CA-issued certificate plays the
kubelet and demands the API server's client certificate. The real node is proven in
tests/e2e/test_node_images.py (`kubectl get --raw /api/v1/nodes/<node>/proxy/stats/summary`).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kybernetes.apiserver.registry import podproxy
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.machinery import errors
from kybernetes.storage.memory import MemoryStorage
from kybernetes.util import pki

PATHS = [
    ("summary", "/api/v1/nodes/n1/proxy/stats/summary", "/stats/summary"),
    ("with-query", "/api/v1/nodes/n1/proxy/pods?x=1", "/pods?x=1"),
    ("bare", "/api/v1/nodes/n1/proxy", "/"),
    ("slash", "/api/v1/nodes/n1/proxy/", "/"),
    ("kept-encoded", "/api/v1/nodes/n1/proxy/containerLogs/ns/p%2Fq/c", "/containerLogs/ns/p%2Fq/c"),
]


@pytest.mark.parametrize(("name", "url", "want"), PATHS, ids=[p[0] for p in PATHS])
def test_node_proxy_path(name: str, url: str, want: str) -> None:
    path, _, query = url.partition("?")
    assert podproxy.node_proxy_path(path, "n1", query) == want


def test_node_proxy_path_of_another_subresource_is_not_found() -> None:
    with pytest.raises(errors.StatusError) as e:
        podproxy.node_proxy_path("/api/v1/nodes/n1/proxyfoo", "n1", "")
    assert e.value.code == 404


async def _fake_kubelet(tmp_path: Path) -> tuple[web.AppRunner, int, list[dict[str, Any]]]:
    ca = pki.CertificateAuthority.load(tmp_path / "tls" / "ca.crt", tmp_path / "tls" / "ca.key")
    cert, key = pki.issue_serving_cert(ca, common_name="kubelet", dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    (tmp_path / "kubelet.crt").write_bytes(cert)
    (tmp_path / "kubelet.key").write_bytes(key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tmp_path / "kubelet.crt"), str(tmp_path / "kubelet.key"))
    ctx.load_verify_locations(cafile=str(tmp_path / "tls" / "ca.crt"))
    ctx.verify_mode = ssl.CERT_REQUIRED
    seen: list[dict[str, Any]] = []

    async def summary(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peercert") if request.transport else None
        seen.append({"path": request.path_qs, "method": request.method, "peer": peer,
                     "authorization": request.headers.get("Authorization")})
        return web.json_response({"node": {"nodeName": "n1"}, "pods": []})

    async def echo(request: web.Request) -> web.Response:
        return web.Response(text=f"{request.method} {request.path_qs} {await request.text()}", status=202)

    app = web.Application()
    app.router.add_get("/stats/summary", summary)
    app.router.add_route("*", "/echo", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = runner.addresses[0][1]
    return runner, int(port), seen


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, str, list[dict[str, Any]]]]:
    pki.ensure_pki(tmp_path, server_sans_dns=["localhost"], server_sans_ip=["127.0.0.1"],
                   server_url="https://127.0.0.1:1")
    server = APIServer(ServerConfig(data_dir=tmp_path, anonymous_auth=True, advertise_address="127.0.0.1"),
                       MemoryStorage())
    await server.start()
    kubelet, kubelet_port, seen = await _fake_kubelet(tmp_path)
    ts = TestServer(server.app())
    await ts.start_server()
    session = aiohttp.ClientSession()
    try:
        base = str(ts.make_url("")).rstrip("/")
        async with session.post(base + "/api/v1/nodes", json={"apiVersion": "v1", "kind": "Node",
                                                              "metadata": {"name": "n1"}}) as r:
            assert r.status == 201, await r.text()
        status = {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                             "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}}}}
        async with session.patch(base + "/api/v1/nodes/n1/status", json=status,
                                 headers={"Content-Type": "application/merge-patch+json"}) as r:
            assert r.status == 200, await r.text()
        yield session, base, seen
    finally:
        await session.close()
        await ts.close()
        await kubelet.cleanup()
        await server.stop()


async def test_stats_summary_through_the_node_proxy(api: tuple[aiohttp.ClientSession, str, list[dict[str, Any]]]) -> None:
    session, base, seen = api
    async with session.get(base + "/api/v1/nodes/n1/proxy/stats/summary",
                           headers={"Authorization": "Bearer not-for-the-kubelet"}) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("application/json")
        assert await r.json() == {"node": {"nodeName": "n1"}, "pods": []}
    assert seen[0]["path"] == "/stats/summary" and seen[0]["method"] == "GET"
    assert seen[0]["authorization"] is None  # the client's credentials stay with the API server
    subject = dict(x[0] for x in seen[0]["peer"]["subject"])
    assert subject["commonName"] == podproxy.KUBELET_CLIENT_USER


async def test_other_methods_status_and_body_pass_through(
        api: tuple[aiohttp.ClientSession, str, list[dict[str, Any]]]) -> None:
    session, base, _ = api
    async with session.post(base + "/api/v1/nodes/n1/proxy/echo?a=b", data=b"payload") as r:
        assert (r.status, await r.text()) == (202, "POST /echo?a=b payload")
    async with session.get(base + "/api/v1/nodes/n1/proxy/missing") as r:
        assert r.status == 404  # the kubelet's own answer


async def test_unknown_node_and_discovery(api: tuple[aiohttp.ClientSession, str, list[dict[str, Any]]]) -> None:
    session, base, _ = api
    async with session.get(base + "/api/v1/nodes/ghost/proxy/stats/summary") as r:
        body = await r.json()
        assert (r.status, body["message"]) == (404, 'nodes "ghost" not found')
    async with session.get(base + "/api/v1") as r:
        names = {res["name"]: res for res in (await r.json())["resources"]}
    assert names["nodes/proxy"]["kind"] == "NodeProxyOptions"
    assert "get" in names["nodes/proxy"]["verbs"]
