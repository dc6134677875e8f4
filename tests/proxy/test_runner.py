"""ServiceProxy against a real `kyb server`: API changes reach the kernel (in the lab's node
namespace) within a second, and the bare-metal LoadBalancer status writer makes LB Services
reachable on node addresses."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.controllers.servicelb import LoadBalancerStatusController
from kybernetes.proxy.apply import NftApplier
from kybernetes.proxy.runner import ServiceProxy
from kybernetes.testing.cluster import KybServer

from .netlab import CLUSTER_CIDR, NODE_IP, NetLab
from .objects import endpoint, endpoint_slice, port, service

SERVICES = resource("v1", "services", namespaced=True)
SLICES = resource("discovery.k8s.io/v1", "endpointslices", namespaced=True)
NODES = resource("v1", "nodes", namespaced=False)
API_PORT = 18800


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), port=API_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(kyb: KybServer) -> AsyncIterator[APIClient]:
    async with APIClient(load_kubeconfig(kyb.kubeconfig), user_agent="kyb-proxy-tests") as c:
        yield c


def replies(lab: NetLab, ip: str, p: int, count: int) -> set[str]:
    return {r.split()[0] for r in lab.request(lab.client, "tcp", ip, p, count=count)}


async def eventually(pred: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_proxy_follows_the_api(lab: NetLab, client: APIClient) -> None:
    await client.create(SERVICES, service("web", "10.43.7.30", port(80, node_port=30100), type="NodePort"),
                        namespace="default")
    await client.create(SLICES, endpoint_slice("web", endpoint(lab.backend_ip(1))), namespace="default")
    proxy = ServiceProxy(client, node_name="node-a", node_ips=[NODE_IP], cluster_cidr=CLUSTER_CIDR,
                         applier=NftApplier(netns=lab.node))
    await proxy.start()
    try:
        assert proxy.syncs == 1 and proxy.service_ports >= 1
        assert await asyncio.to_thread(replies, lab, "10.43.7.30", 80, 5) == {"be1"}
        assert await asyncio.to_thread(replies, lab, NODE_IP, 30100, 5) == {"be1"}

        # One EndpointSlice change is programmed well within a second.
        sl = await client.get(SLICES, "web-a", namespace="default")
        sl["endpoints"] = [endpoint(lab.backend_ip(2))]
        started = time.monotonic()
        await client.update(SLICES, sl, namespace="default")
        await eventually(lambda: any(e["addresses"] == [lab.backend_ip(2)]
                                     for e in (proxy.slices.store.get("default/web-a") or {}).get("endpoints", [])))
        assert await proxy.wait_programmed(timeout=1.0)
        assert time.monotonic() - started < 1.0
        assert await asyncio.to_thread(replies, lab, "10.43.7.30", 80, 5) == {"be2"}

        # Deleting the slice leaves the Service without endpoints: refused, not a timeout.
        await client.delete(SLICES, "web-a", namespace="default")
        await eventually(lambda: proxy.slices.store.get("default/web-a") is None)
        assert await proxy.wait_programmed(timeout=1.0)
        [reply] = await asyncio.to_thread(lab.request, lab.client, "tcp", "10.43.7.30", 80)
        assert reply.startswith("error ConnectionRefusedError"), reply
        assert proxy.sync_failures == 0 and proxy.last_sync_seconds < 1.0
    finally:
        await proxy.stop()
    with pytest.raises(RuntimeError):
        await NftApplier(netns=lab.node).list_table()  # stop() removed the table


async def test_load_balancer_status_and_reachability(lab: NetLab, client: APIClient) -> None:
    await client.create(NODES, {"metadata": {"name": "node-a"}})
    await client.patch(NODES, "node-a", {"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "test",
                        "lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "addresses": [{"type": "InternalIP", "address": NODE_IP}]}}, subresource="status")
    await client.create(SERVICES, service("lb", "10.43.7.31", port(8082, node_port=30101), type="LoadBalancer"),
                        namespace="default")
    await client.create(SLICES, endpoint_slice("lb", endpoint(lab.backend_ip(3))), namespace="default")
    writer = LoadBalancerStatusController(client)
    proxy = ServiceProxy(client, node_name="node-a", node_ips=[NODE_IP], cluster_cidr=CLUSTER_CIDR,
                         applier=NftApplier(netns=lab.node))
    await writer.start()
    await proxy.start()
    try:
        async def ingress() -> Any:
            svc = await client.get(SERVICES, "lb", namespace="default")
            return svc.get("status", {}).get("loadBalancer", {}).get("ingress")
        deadline = time.monotonic() + 5
        while await ingress() != [{"ip": NODE_IP}]:
            assert time.monotonic() < deadline, await ingress()
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert await proxy.wait_programmed(timeout=1.0)
        assert await asyncio.to_thread(replies, lab, NODE_IP, 8082, 3) == {"be3"}
        # Type changes away from LoadBalancer: the writer withdraws the addresses.
        await client.patch(SERVICES, "lb", {"spec": {"type": "ClusterIP", "externalTrafficPolicy": None,
                                                     "ports": [port(8082)]}}, namespace="default")
        deadline = time.monotonic() + 5
        while await ingress():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        await proxy.stop()
        await writer.stop()
