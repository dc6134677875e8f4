"""Client failover between HA API servers (client/failover.py and its hook in the REST client)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kybernetes.client.config import ClientConfig
from kybernetes.client.failover import alternates_for, fail_over, follow_api_servers, servers_from_endpoints
from kybernetes.client.rest import APIClient, resource
from kybernetes.testing.cluster import free_port

EP = {
    "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"name": "https", "port": 6443}]},
        {"addresses": [{"ip": "fd00::3"}], "ports": [{"name": "https", "port": 7443}]},
    ]
}


def test_servers_from_endpoints() -> None:
    assert servers_from_endpoints(EP) == [
        "https://10.0.0.1:6443",
        "https://10.0.0.2:6443",
        "https://[fd00::3]:7443",
    ]
    assert servers_from_endpoints({}) == []


@pytest.mark.parametrize(
    ("current", "known", "want"),
    [
        pytest.param("b", ["a", "b", "c"], ["c", "a"], id="starts-after-current"),
        pytest.param("x", ["a", "b"], ["a", "b"], id="current-not-listed"),
        pytest.param("a", ["a"], [], id="alone"),
    ],
)
def test_alternates_for(current: str, known: list[str], want: list[str]) -> None:
    assert alternates_for(current, known) == want


def test_fail_over_rotates_and_keeps_the_failed_one_last() -> None:
    cfg = ClientConfig(server="a", alternate_servers=["b", "c"])
    assert fail_over(cfg, "a") and cfg.server == "b" and cfg.alternate_servers == ["c", "a"]
    assert fail_over(cfg, "a") and cfg.server == "b"  # a stale failure: already moved
    assert not fail_over(ClientConfig(server="a"), "a")


async def test_requests_and_watches_move_to_a_live_server() -> None:
    async def endpoints(request: web.Request) -> web.Response:
        return web.json_response({"kind": "Endpoints", **EP})

    async def watch(request: web.Request) -> web.Response:
        return web.Response(text='{"type":"ADDED","object":{"metadata":{"name":"x"}}}\n')

    app = web.Application()
    app.router.add_get("/api/v1/namespaces/default/endpoints/kubernetes", endpoints)
    app.router.add_get("/api/v1/namespaces/default/configmaps", watch)
    live = TestServer(app, host="127.0.0.1")
    await live.start_server()
    live_url = str(live.make_url("")).rstrip("/")
    dead_url = f"http://127.0.0.1:{free_port()}"
    try:
        cfg = ClientConfig(server=dead_url, alternate_servers=[live_url])
        async with APIClient(cfg) as client:
            got: dict[str, Any] = await client.get(
                resource("v1", "endpoints"), "kubernetes", namespace="default"
            )
            assert got["kind"] == "Endpoints" and cfg.server == live_url
            cfg.server, cfg.alternate_servers = dead_url, [live_url]
            with pytest.raises(OSError):
                async for _ in client.watch(resource("v1", "configmaps"), namespace="default"):
                    pass
            events = [e async for e in client.watch(resource("v1", "configmaps"), namespace="default")]
            assert len(events) == 1
            # the follower learns the servers from the endpoints
            cfg.alternate_servers = []
            task = asyncio.create_task(follow_api_servers(client, interval=3600))
            for _ in range(100):
                if cfg.alternate_servers:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            assert cfg.alternate_servers == servers_from_endpoints(EP)
    finally:
        await live.close()
