"""A hollow node re-posts its status as soon as the API shows it otherwise (as the node lifecycle
controller does when a Lease lapses), instead of waiting for the 5-minute report; and an idle
node posts nothing between reports. Runs its own `kyb server` on this module's port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.sim.profile import NodeGroup, Profile, Timing
from kybernetes.sim.runner import HollowNodes
from kybernetes.testing.cluster import KybServer

SERVER_PORT = 19030
NODES = resource("v1", "nodes")
# report only every 5 minutes, as the kubelet: any quick recovery comes from the comparison
TIMING = Timing(lease_renew_interval=1.0, node_status_report_frequency=300.0, node_status_update_frequency=1.0)


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), port=SERVER_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(kyb: KybServer) -> AsyncIterator[APIClient]:
    async with APIClient(load_kubeconfig(kyb.kubeconfig), user_agent="kyb-sim-tests/0.1") as c:
        yield c


def ready(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def test_unknown_ready_is_reposted_within_a_tick(client: APIClient) -> None:
    sim = HollowNodes(client, Profile(node_groups=(NodeGroup(name="recover", count=3),), timing=TIMING))
    await sim.start()
    try:
        assert await sim.wait_registered(10)
        assert await sim.node_view.wait_synced(10)
        posts = sim.counters.node_status_updates
        await asyncio.sleep(2.5)  # a few ticks with nothing to say: no status posts
        assert sim.counters.node_status_updates == posts
        before = ready(await client.get(NODES, "recover-1"))
        assert before["status"] == "True"

        await client.patch(NODES, "recover-1", {"status": {"conditions": [
            {"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
             "message": "Kubelet stopped posting node status.", "lastHeartbeatTime": before["lastHeartbeatTime"],
             "lastTransitionTime": before["lastHeartbeatTime"]}]}}, patch_type="strategic", subresource="status")
        assert ready(await client.get(NODES, "recover-1"))["status"] == "Unknown"
        marked = time.monotonic()

        deadline = marked + 15
        back: dict[str, Any] = {}
        while time.monotonic() < deadline:
            back = ready(await client.get(NODES, "recover-1"))
            if back["status"] == "True":
                break
            await asyncio.sleep(0.2)
        assert back["status"] == "True", back
        assert back["reason"] == "KubeletReady"
        assert back["lastTransitionTime"] >= before["lastHeartbeatTime"]  # the recovery is a transition
        # only the node that changed posted
        assert sim.counters.node_status_updates - posts == 1
        print(f"\nReady again {time.monotonic() - marked:.1f}s after it was marked Unknown")
    finally:
        await sim.stop(cleanup=True)
