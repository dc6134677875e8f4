"""PolicyEnforcer against a real `kyb server`: policy, namespace-label and pod-label changes in the
API reach the kernel (the lab's node namespace) within a second, and stop() removes the table."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.netpol.runner import PolicyEnforcer
from kybernetes.proxy.apply import NftApplier
from kybernetes.testing.cluster import KybServer

from .conftest import LAB_PODS, NAMESPACES
from .netlab import CLUSTER_CIDR, NODE, NetLab, in_ns, sh
from .objects import namespaces, policy

POLICIES = resource("networking.k8s.io/v1", "networkpolicies", namespaced=True)
PODS = resource("v1", "pods", namespaced=True)
NSES = resource("v1", "namespaces", namespaced=False)
NODES = resource("v1", "nodes", namespaced=False)
API_PORT = 18630


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
    async with APIClient(load_kubeconfig(kyb.kubeconfig), user_agent="kyb-netpol-tests") as c:
        yield c


async def seed(client: APIClient) -> None:
    """The lab's namespaces and pods as API objects (pods bound to the lab's node, with addresses)."""
    await client.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}})
    for ns in NAMESPACES:
        await client.create(NSES, {"apiVersion": "v1", "kind": "Namespace", **ns})
    for p in LAB_PODS:
        obj = p.obj()
        status = obj.pop("status")
        created = await client.create(PODS, obj, namespace=p.namespace)
        created["status"] = {**created.get("status", {}), **status}
        await client.update_status(PODS, created, namespace=p.namespace)


def reaches(lab: NetLab, source: str, target: str, port: int = 80) -> bool:
    return lab.probe_many([(source, target, "tcp", port)])[(source, target, "tcp", port)]


async def programmed(enforcer: PolicyEnforcer, change: Any) -> float:
    """Make an API change and return how long until its effect is in the kernel."""
    started = time.monotonic()
    generation = enforcer.generation
    await change
    deadline = started + 5
    while enforcer.generation == generation:  # the informer has not seen it yet
        assert time.monotonic() < deadline, "change never observed"
        await asyncio.sleep(0.01)
    assert await enforcer.wait_programmed(timeout=2.0)
    return time.monotonic() - started


async def test_enforcer_follows_the_api(lab: NetLab, client: APIClient) -> None:
    await seed(client)
    enforcer = PolicyEnforcer(client, node_name=NODE, cluster_cidr=CLUSTER_CIDR, table="kyb-netpol",
                              applier=NftApplier("kyb-netpol", netns=lab.node))
    await enforcer.start()
    try:
        assert enforcer.syncs == 1
        assert await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")

        deny = policy("prod", "deny", ingress=[])
        assert await programmed(enforcer, client.create(POLICIES, deny, namespace="prod")) < 1.0
        assert not await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")

        allow = policy("prod", "from-dev", {"app": "web"}, ingress=[{"from": [namespaces(env="dev")]}])
        assert await programmed(enforcer, client.create(POLICIES, allow, namespace="prod")) < 1.0
        assert await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")
        assert not await asyncio.to_thread(reaches, lab, "prod/cli", "prod/web")

        # Relabel the namespace: dev is no longer env=dev, so its pods are shut out again.
        dev = await client.get(NSES, "dev")
        dev["metadata"]["labels"]["env"] = "qa"
        assert await programmed(enforcer, client.update(NSES, dev)) < 1.0
        assert not await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")

        # Relabel the target pod: the allow policy no longer selects it, the deny still does.
        dev = await client.get(NSES, "dev")
        dev["metadata"]["labels"]["env"] = "dev"
        await programmed(enforcer, client.update(NSES, dev))
        assert await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")
        web = await client.get(PODS, "web", namespace="prod")
        web["metadata"]["labels"]["app"] = "web2"
        assert await programmed(enforcer, client.update(PODS, web, namespace="prod")) < 1.0
        assert not await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")

        # A status-only change that does not touch the address causes no sync.
        syncs = enforcer.syncs
        db = await client.get(PODS, "db", namespace="prod")
        db["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
        await client.update_status(PODS, db, namespace="prod")
        await asyncio.sleep(0.3)
        assert enforcer.syncs == syncs

        await programmed(enforcer, client.delete(POLICIES, "deny", namespace="prod"))
        assert await asyncio.to_thread(reaches, lab, "dev/cli", "prod/web")
    finally:
        await enforcer.stop()
    listed = sh(*in_ns(lab.node, "nft", "list", "tables"))
    assert "kyb-netpol" not in listed.stdout
