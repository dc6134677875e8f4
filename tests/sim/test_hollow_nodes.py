"""Hollow nodes against a real `kyb server`: registration, leases, pods, graceful deletion, scale."""

from __future__ import annotations

import asyncio
import resource as rlimit
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from kybernetes.client.errors import APIError, is_not_found
from kybernetes.client.rest import APIClient, resource
from kybernetes.sim.profile import NodeGroup, PodBehaviour, Profile, Timing
from kybernetes.sim.runner import HollowNodes, SimOptions
from kybernetes.util.times import parse_time

from .conftest import STATS_PORT

NODES = resource("v1", "nodes")
PODS = resource("v1", "pods")
LEASES = resource("coordination.k8s.io/v1", "leases")
FAST = Timing(lease_duration_seconds=40, lease_renew_interval=1.0, node_status_report_frequency=2.0,
              node_status_update_frequency=1.0)


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = await check()
            if last:
                return last
        except (AssertionError, APIError):
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"not true after {timeout}s (last: {last!r})")


def profile(name: str, count: int, **kw: Any) -> Profile:
    return Profile(node_groups=(NodeGroup(name=name, count=count),), timing=FAST, **kw)


def ready(node: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in node["status"].get("conditions") or [])


async def test_nodes_register_ready_and_renew_leases(client: APIClient) -> None:
    sim = HollowNodes(client, profile("reg", 3), options=SimOptions(stats_port=STATS_PORT))
    await sim.start()
    try:
        assert await sim.wait_registered(10)
        for i in range(3):
            node = await client.get(NODES, f"reg-{i}")
            assert ready(node)
            assert node["metadata"]["labels"]["kubernetes.io/hostname"] == f"reg-{i}"
            assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.32.4-kyb-sim"
            assert node["status"]["allocatable"]["pods"] == "110"
        lease = await eventually(lambda: client.get(LEASES, "reg-0", namespace="kube-node-lease"))
        assert lease["spec"]["holderIdentity"] == "reg-0" and lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["metadata"]["ownerReferences"][0]["kind"] == "Node"
        first = parse_time(lease["spec"]["renewTime"])

        async def renewed() -> bool:
            again = await client.get(LEASES, "reg-0", namespace="kube-node-lease")
            return parse_time(again["spec"]["renewTime"]) > first

        await eventually(renewed, timeout=5)
        node_hb = parse_time(next(c for c in (await client.get(NODES, "reg-1"))["status"]["conditions"]
                                  if c["type"] == "Ready")["lastHeartbeatTime"])

        async def heartbeat() -> bool:
            node = await client.get(NODES, "reg-1")
            ready_c = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
            return parse_time(ready_c["lastHeartbeatTime"]) > node_hb

        await eventually(heartbeat, timeout=8)
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{STATS_PORT}/nodes/reg-2/stats/summary") as r:
            assert r.status == 200
            body = await r.json()
        assert body["node"]["nodeName"] == "reg-2" and body["pods"] == []
    finally:
        await sim.stop(cleanup=True)
    with pytest.raises(APIError) as err:
        await client.get(NODES, "reg-0")
    assert is_not_found(err.value)


def bound_pod(name: str, node: str, *, restart: str = "Always", annotations: dict[str, str] | None = None,
              grace: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"nodeName": node, "restartPolicy": restart,
                            "containers": [{"name": "c", "image": "registry.example/app:1",
                                            "resources": {"requests": {"cpu": "100m"}}}]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "annotations": annotations or {}}, "spec": spec}


def condition(pod: dict[str, Any], ctype: str) -> str:
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == ctype), "")


async def test_pods_run_complete_and_delete(client: APIClient) -> None:
    behaviour = PodBehaviour(stop_time=1.0)
    sim = HollowNodes(client, profile("play", 2, default_behaviour=behaviour))
    await sim.start()
    try:
        assert await sim.wait_registered(10)
        await client.create(PODS, bound_pod("runner", "play-0"))
        await client.create(PODS, bound_pod("finisher", "play-1", restart="Never",
                                            annotations={"sim.kybernetes.io/complete-after": "1s"}))

        async def running() -> dict[str, Any] | None:
            pod = await client.get(PODS, "runner", namespace="default")
            return pod if pod["status"].get("phase") == "Running" else None

        pod = await eventually(running)
        assert pod["status"]["podIP"].startswith("100.64.")
        assert pod["status"]["hostIP"] == "198.18.0.1"
        assert condition(pod, "Ready") == "True" and condition(pod, "ContainersReady") == "True"
        assert pod["status"]["qosClass"] == "Burstable"
        cs = pod["status"]["containerStatuses"][0]
        assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
        assert cs["imageID"] == "sim://registry.example/app:1" and cs["containerID"].startswith("sim://")

        async def succeeded() -> dict[str, Any] | None:
            pod = await client.get(PODS, "finisher", namespace="default")
            return pod if pod["status"].get("phase") == "Succeeded" else None

        done = await eventually(succeeded)
        term = done["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (term["exitCode"], term["reason"]) == (0, "Completed")

        # graceful deletion with the default 30 s grace: the hollow kubelet confirms after its 1 s stop time
        began = time.monotonic()
        deleted = await client.delete(PODS, "runner", namespace="default")
        assert deleted["metadata"]["deletionGracePeriodSeconds"] == 30

        async def gone() -> bool:
            try:
                await client.get(PODS, "runner", namespace="default")
            except APIError as e:
                return is_not_found(e)
            return False

        await eventually(gone, timeout=10)
        assert time.monotonic() - began < 10
        assert sim.counters.pod_deletions >= 1
        await client.delete(PODS, "finisher", namespace="default")
    finally:
        await sim.stop(cleanup=True)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def test_two_hundred_nodes_in_one_process(client: APIClient) -> None:
    before = rss_mb()
    cpu0 = rlimit.getrusage(rlimit.RUSAGE_SELF)
    began = time.monotonic()
    sim = HollowNodes(client, Profile(node_groups=(NodeGroup(name="many", count=200),)),
                      options=SimOptions(max_inflight=16))
    await sim.start()
    try:
        assert await sim.wait_registered(60)
        registered_in = time.monotonic() - began
        items, _ = await client.list_all(NODES, label_selector="sim.kybernetes.io/hollow=true")
        mine = [n for n in items if n["metadata"]["name"].startswith("many-")]
        assert len(mine) == 200 and all(ready(n) for n in mine)
        await asyncio.sleep(3)
        cpu1 = rlimit.getrusage(rlimit.RUSAGE_SELF)
        cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        print(f"\n200 nodes: registered in {registered_in:.1f}s, +{rss_mb() - before:.1f} MB RSS, "
              f"{cpu:.1f}s CPU (registration + 3 s idle)")
        assert rss_mb() - before < 100
        assert sim.counters.errors == 0
    finally:
        await sim.stop(cleanup=True)
