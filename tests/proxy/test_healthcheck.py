"""Health-check node ports: the pure plan (which ports, which counts, what to open and close), the
JSON answers, and the listeners themselves on real loopback ports (ports 18681-18689 are this
test module's), driven directly and through ServiceProxy.sync with a fake nft applier."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any, cast

import aiohttp
import pytest

from kybernetes.client.rest import APIClient
from kybernetes.proxy.healthcheck import (
    HealthPlan,
    HealthTarget,
    ServiceHealthServers,
    desired_health_ports,
    go_time,
    plan_health_servers,
    proxy_health_response,
    service_health_response,
)
from kybernetes.proxy.model import build_model
from kybernetes.proxy.runner import ServiceProxy
from kybernetes.proxy.sync import TableInventory

from .objects import endpoint, endpoint_slice, port, service

NODE = "node-a"
P1, P2, P3 = 18681, 18682, 18683


def lb_local(name: str, hc: int, *ports: dict[str, Any], ip: str = "10.43.0.10", etp: str = "Local") -> dict[str, Any]:
    return service(name, ip, *(ports or (port(80, node_port=30080),)), type="LoadBalancer",
                   externalTrafficPolicy=etp, healthCheckNodePort=hc)


def two_port_slice(name: str, *eps: dict[str, Any]) -> dict[str, Any]:
    return endpoint_slice(name, *eps, ports=[{"name": "http", "port": 8080, "protocol": "TCP"},
                                             {"name": "https", "port": 8443, "protocol": "TCP"}])


# --- the plan ------------------------------------------------------------------------------------------

DESIRED_CASES = [
    pytest.param([lb_local("web", P1)], [endpoint_slice("web", endpoint("10.42.0.5"), endpoint("10.42.0.6"))],
                 {P1: HealthTarget("default", "web", 2)}, id="two-local-ready"),
    pytest.param([lb_local("web", P1)], [endpoint_slice("web", endpoint("10.42.1.5", node="node-b"))],
                 {P1: HealthTarget("default", "web", 0)}, id="endpoints-elsewhere-only"),
    pytest.param([lb_local("web", P1)], [], {P1: HealthTarget("default", "web", 0)}, id="no-endpoints"),
    pytest.param([lb_local("web", P1)],
                 [endpoint_slice("web", endpoint("10.42.0.5", ready=False, serving=True, terminating=True),
                                 endpoint("10.42.0.6", ready=False))],
                 {P1: HealthTarget("default", "web", 0)}, id="terminating-and-unready-do-not-count"),
    pytest.param([lb_local("web", P1, port(80, "http", target="http", node_port=30080),
                           port(443, "https", target="https", node_port=30443))],
                 [two_port_slice("web", endpoint("10.42.0.5"), endpoint("10.42.0.6"))],
                 {P1: HealthTarget("default", "web", 2)}, id="two-ports-count-addresses-once"),
    pytest.param([lb_local("web", P1, etp="Cluster")], [endpoint_slice("web", endpoint("10.42.0.5"))],
                 {}, id="policy-cluster-no-port"),
    pytest.param([lb_local("web", 0)], [endpoint_slice("web", endpoint("10.42.0.5"))], {}, id="not-allocated"),
    pytest.param([lb_local("a", P1), lb_local("b", P2, ip="10.43.0.11")],
                 [endpoint_slice("a", endpoint("10.42.0.5")), endpoint_slice("b", endpoint("10.42.0.7", node="x"))],
                 {P1: HealthTarget("default", "a", 1), P2: HealthTarget("default", "b", 0)}, id="two-services"),
    pytest.param([lb_local("b", P1, ip="10.43.0.11"), lb_local("a", P1)],
                 [endpoint_slice("a", endpoint("10.42.0.5"))],
                 {P1: HealthTarget("default", "a", 1)}, id="shared-port-first-key-wins"),
]


@pytest.mark.parametrize(("services", "slices", "expected"), DESIRED_CASES)
def test_desired_health_ports(services: list[dict[str, Any]], slices: list[dict[str, Any]],
                              expected: dict[int, HealthTarget]) -> None:
    model = build_model(services, slices, node_name=NODE)
    assert desired_health_ports(model, node_name=NODE) == expected


A, B = HealthTarget("ns", "a", 1), HealthTarget("ns", "b", 0)

PLAN_CASES = [
    pytest.param({}, {}, HealthPlan(), id="nothing"),
    pytest.param({}, {P1: A}, HealthPlan(open={P1: A}), id="open"),
    pytest.param({P1: A}, {}, HealthPlan(close=[P1]), id="close"),
    pytest.param({P1: A}, {P1: A}, HealthPlan(), id="unchanged"),
    pytest.param({P1: A}, {P1: HealthTarget("ns", "a", 3)}, HealthPlan(update={P1: HealthTarget("ns", "a", 3)}),
                 id="count-changes"),
    pytest.param({P1: A}, {P2: A}, HealthPlan(open={P2: A}, close=[P1]), id="port-moves"),
    pytest.param({P2: A, P1: B}, {P3: B}, HealthPlan(open={P3: B}, close=[P1, P2]), id="close-sorted"),
]


@pytest.mark.parametrize(("current", "desired", "expected"), PLAN_CASES)
def test_plan_health_servers(current: dict[int, HealthTarget], desired: dict[int, HealthTarget],
                             expected: HealthPlan) -> None:
    plan = plan_health_servers(current, desired)
    assert plan == expected
    assert plan.empty is (expected == HealthPlan())


# --- the answers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "proxy_healthy", "status"), [
    pytest.param(HealthTarget("default", "web", 2), True, 200, id="local-endpoints"),
    pytest.param(HealthTarget("default", "web", 0), True, 503, id="none-local"),
    pytest.param(HealthTarget("default", "web", 2), False, 503, id="proxy-unhealthy"),
])
def test_service_health_response(target: HealthTarget, proxy_healthy: bool, status: int) -> None:
    code, body = service_health_response(target, proxy_healthy=proxy_healthy)
    assert code == status
    assert json.loads(body) == {"service": {"namespace": "default", "name": "web"},
                                "localEndpoints": target.local_endpoints, "serviceProxyHealthy": proxy_healthy}


def test_proxy_health_response() -> None:
    code, body = proxy_health_response(healthy=True, last_updated=100.0, now=200.5)
    assert code == 200
    assert json.loads(body) == {"lastUpdated": go_time(200.5), "currentTime": go_time(200.5), "nodeEligible": True}
    code, body = proxy_health_response(healthy=False, last_updated=100.0, now=200.5)
    assert code == 503 and json.loads(body)["lastUpdated"] == "1970-01-01 00:01:40.000000 +0000 UTC"
    code, body = proxy_health_response(healthy=True, last_updated=100.0, now=200.5, node_eligible=False)
    assert code == 503 and json.loads(body)["nodeEligible"] is False
    code, body = proxy_health_response(healthy=True, last_updated=100.0, now=200.5, node_eligible=None)  # /livez
    assert code == 200 and "nodeEligible" not in json.loads(body)


# --- real listeners ------------------------------------------------------------------------------------

async def get(session: aiohttp.ClientSession, p: int, path: str = "/healthz") -> tuple[int, Any, str]:
    async with session.get(f"http://127.0.0.1:{p}{path}") as r:
        return r.status, await r.json(), r.headers.get("X-Content-Type-Options", "")


def refused(p: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", p)) != 0


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # no pooled keep-alive connections: a closed listener must be observed as closed
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as s:
        yield s


async def test_servers_open_answer_update_and_close(session: aiohttp.ClientSession) -> None:
    servers = ServiceHealthServers("127.0.0.1")
    try:
        plan = await servers.sync({P1: HealthTarget("default", "web", 2), P2: HealthTarget("default", "db", 0)})
        assert sorted(plan.open) == [P1, P2] and sorted(servers.served) == [P1, P2]
        code, body, nosniff = await get(session, P1)
        assert (code, body["localEndpoints"], body["service"], nosniff) == (
            200, 2, {"namespace": "default", "name": "web"}, "nosniff")
        code, body, _ = await get(session, P2, "/any/path")
        assert (code, body["localEndpoints"], body["serviceProxyHealthy"]) == (503, 0, True)

        # a count change is answered at once, without reopening
        plan = await servers.sync({P1: HealthTarget("default", "web", 0), P2: HealthTarget("default", "db", 1)})
        assert plan.open == {} and sorted(plan.update) == [P1, P2]
        assert (await get(session, P1))[0] == 503 and (await get(session, P2))[0] == 200

        # the proxy falling behind fails every check
        servers.proxy_healthy = lambda: False
        code, body, _ = await get(session, P2)
        assert code == 503 and body["serviceProxyHealthy"] is False
        servers.proxy_healthy = lambda: True

        # a Service gone: its port closes; another one stays
        plan = await servers.sync({P2: HealthTarget("default", "db", 1)})
        assert plan.close == [P1] and refused(P1) and (await get(session, P2))[0] == 200
        # and reopening right away works (address reuse)
        await servers.sync({P1: HealthTarget("default", "web", 1), P2: HealthTarget("default", "db", 1)})
        assert (await get(session, P1))[0] == 200
    finally:
        await servers.close()
    assert refused(P1) and refused(P2) and servers.served == {}


async def test_port_in_use_is_retried(session: aiohttp.ClientSession) -> None:
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", P3))
    squatter.listen()
    servers = ServiceHealthServers("127.0.0.1")
    try:
        want = {P1: HealthTarget("default", "web", 1), P3: HealthTarget("default", "db", 1)}
        await servers.sync(want)
        assert list(servers.served) == [P1] and list(servers.failed) == [P3]
        assert (await get(session, P1))[0] == 200  # the other port is not held up
        squatter.close()
        plan = await servers.sync(want)  # the next sync tries again
        assert list(plan.open) == [P3] and servers.failed == {} and (await get(session, P3))[0] == 200
    finally:
        squatter.close()
        await servers.close()


# --- through ServiceProxy.sync ---------------------------------------------------------------------------

class FakeApplier:
    """Stands in for NftApplier: the datapath is not what this module tests."""

    def __init__(self) -> None:
        self.last_nft_seconds = 0.0
        self.scripts: list[str] = []

    async def target(self) -> tuple[str, str | None]:
        return "kyb-proxy-a", None

    async def apply(self, script: str, *, table: str | None = None) -> None:
        self.scripts.append(script)

    async def affinity_state(self) -> dict[str, list[tuple[str, int]]]:
        return {}

    table = "kyb-proxy-a"

    async def inventory(self, table: str | None = None) -> TableInventory:
        return TableInventory()

    async def present_tables(self) -> set[str]:
        return set()

    async def clear_conntrack(self, cmds: list[list[str]]) -> None:
        pass

    async def delete(self) -> None:
        pass


async def test_service_proxy_drives_health_ports(session: aiohttp.ClientSession) -> None:
    proxy = ServiceProxy(cast(APIClient, None), node_name=NODE, node_ips=["10.99.0.1"], cluster_cidr="10.42.0.0/16",
                         applier=cast(Any, FakeApplier()), health_servers=ServiceHealthServers("127.0.0.1"),
                         health_timeout=0.2)
    try:
        proxy.services.store.upsert(lb_local("web", P1))
        proxy.slices.store.upsert(endpoint_slice("web", endpoint("10.42.0.5"), endpoint("10.42.1.5", node="node-b")))
        await proxy.sync()
        code, body, _ = await get(session, P1)
        assert (code, body["localEndpoints"]) == (200, 1)

        proxy.slices.store.upsert(endpoint_slice("web", endpoint("10.42.0.5", ready=False),
                                                 endpoint("10.42.1.5", node="node-b")))
        await proxy.sync()
        assert (await get(session, P1))[0] == 503

        # an event nobody programs within health_timeout makes the proxy unhealthy
        proxy.slices.store.upsert(endpoint_slice("web", endpoint("10.42.0.5")))
        proxy._on_event(None)
        assert proxy.healthy()
        await asyncio.sleep(0.3)
        assert not proxy.healthy()
        code, body, _ = await get(session, P1)  # one local endpoint again, but not yet programmed
        assert code == 503 and body["serviceProxyHealthy"] is False
        await proxy.sync()
        assert proxy.healthy() and (await get(session, P1))[0] == 200

        proxy.services.store.remove("default/web")
        await proxy.sync()
        assert proxy.health.served == {} and refused(P1)
    finally:
        await proxy.health.close()


# --- a user's kubectl session on a real node ---------------------------------------------------------------

E2E_DIR, E2E_PORT, E2E_CIDR, E2E_BRIDGE = "/tmp/kyb-q2", 18680, "10.54.0.0/16", "kybq2"


def node_health(p: int) -> tuple[int, Any]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{p}/healthz", timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except OSError:
        return 0, None


@pytest.mark.e2e
@pytest.mark.slow
def test_health_check_node_port_on_a_real_node() -> None:
    from pathlib import Path

    from kybernetes.testing.node import start_node_server, wait_for

    nodes = start_node_server(Path(E2E_DIR), E2E_PORT, cluster_cidr=E2E_CIDR, bridge=E2E_BRIDGE)
    kyb = next(nodes)
    try:
        kyb.kubectl("create", "deployment", "web", "--image=busybox:1.36", "--",
                    "sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www")
        kyb.kubectl("expose", "deployment", "web", "--type=LoadBalancer", "--port=80", "--target-port=8080")
        kyb.kubectl("patch", "svc", "web", "-p", '{"spec":{"externalTrafficPolicy":"Local"}}')
        hc = int(kyb.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.healthCheckNodePort}").stdout)
        assert 30000 <= hc <= 32767

        _, body = wait_for(lambda: (r := node_health(hc))[0] == 200 and r, timeout=90, what="health 200")
        assert body == {"service": {"namespace": "default", "name": "web"}, "localEndpoints": 1,
                        "serviceProxyHealthy": True}
        kyb.kubectl("scale", "deployment", "web", "--replicas=0")
        _, body = wait_for(lambda: (r := node_health(hc))[0] == 503 and r, timeout=60, what="health 503")
        assert body["localEndpoints"] == 0

        # policy Cluster: the API clears the port and the node stops listening
        kyb.kubectl("patch", "svc", "web", "-p", '{"spec":{"externalTrafficPolicy":"Cluster"}}')
        assert kyb.kubectl("get", "svc", "web", "-o", "jsonpath={.spec.healthCheckNodePort}").stdout == ""
        wait_for(lambda: node_health(hc)[0] == 0, timeout=30, what="health port closed")
    finally:
        nodes.close()  # type: ignore[attr-defined]  # a generator: runs the fixture's teardown
