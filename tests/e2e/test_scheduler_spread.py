"""End to end: spreading and inter-pod affinity through a real `kyb server` (its scheduler and
controllers) and real kubectl. Six Nodes in three zones are created through the API (no kubelet:
bound pods stay Pending, which is all the scheduler needs)."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

PORT = 18961
ZONE = "topology.kubernetes.io/zone"
ZONES = {f"node-{i}": "abc"[(i - 1) // 2] for i in range(1, 7)}  # node-1,2: a; 3,4: b; 5,6: c
Obj = dict[str, Any]


def node(name: str, zone: str) -> Obj:
    # Huge capacity: resource scores are equal everywhere, so placement shows the spreading plugins.
    alloc = {"cpu": "1000", "memory": "1000Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, ZONE: zone}},
            "spec": {}, "status": {"capacity": alloc, "allocatable": alloc,
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), port=PORT)
    server.start()
    try:
        items = [node(n, z) for n, z in ZONES.items()]
        server.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        yield server
    finally:
        server.stop()


def deployment(name: str, replicas: int, **spec: Any) -> str:
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}}})


def pod(name: str, labels: dict[str, str], **spec: Any) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}})


def pods(kyb: KybServer, selector: str) -> list[Obj]:
    items: list[Obj] = json.loads(kyb.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
    return items


def wait_pods(kyb: KybServer, selector: str, count: int, bound: int, timeout: float = 30.0) -> list[Obj]:
    """Wait until `count` pods exist and `bound` of them have a node (the rest an Unschedulable condition)."""
    deadline = time.monotonic() + timeout
    got: list[Obj] = []
    while time.monotonic() < deadline:
        got = pods(kyb, selector)
        placed = [p for p in got if p["spec"].get("nodeName")]
        waiting = [p for p in got if not p["spec"].get("nodeName") and any(
            c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable"
            for c in p.get("status", {}).get("conditions", []))]
        if len(got) == count and len(placed) == bound and len(waiting) == count - bound:
            return got
        time.sleep(0.2)
    raise AssertionError(f"{selector}: {[(p['metadata']['name'], p['spec'].get('nodeName')) for p in got]}")


def wait_node(kyb: KybServer, name: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = kyb.kubectl("get", "pod", name, "-o", "jsonpath={.spec.nodeName}").stdout
        if out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"{name} not scheduled")


def test_topology_spread_constraint_across_zones(kyb: KybServer) -> None:
    spread = [{"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "spread"}}}]
    kyb.kubectl("apply", "-f", "-", input=deployment("spread", 7, topologySpreadConstraints=spread))
    got = wait_pods(kyb, "app=spread", 7, 7)
    per_zone = Counter(ZONES[p["spec"]["nodeName"]] for p in got)
    assert sorted(per_zone.values()) == [2, 2, 3], per_zone


def test_required_anti_affinity_one_per_node_and_the_extra_one_waits(kyb: KybServer) -> None:
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "anti"}}}]}}
    kyb.kubectl("apply", "-f", "-", input=deployment("anti", 7, affinity=anti))
    got = wait_pods(kyb, "app=anti", 7, 6)
    assert len({p["spec"]["nodeName"] for p in got if p["spec"].get("nodeName")}) == 6
    pending = next(p for p in got if not p["spec"].get("nodeName"))
    cond = next(c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["message"] == ("0/6 nodes are available: 6 node(s) didn't match pod anti-affinity rules. "
                               "preemption: 0/6 nodes are available: 6 No preemption victims found for incoming pod..")  # sic, as upstream
    # Scaling down frees a node: the waiting replica is retried on the pod-deleted event and lands.
    kyb.kubectl("scale", "deployment", "anti", "--replicas=6")
    got = wait_pods(kyb, "app=anti", 6, 6)
    assert len({p["spec"]["nodeName"] for p in got}) == 6


def test_existing_pods_anti_affinity_message(kyb: KybServer) -> None:
    guard = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": ZONE, "labelSelector": {"matchLabels": {"app": "intruder"}}}]}}
    for zone_node in ("node-1", "node-3", "node-5"):
        kyb.kubectl("create", "-f", "-", input=pod(f"guard-{zone_node}", {"app": "guard"}, affinity=guard,
                                                   nodeName=zone_node))
    kyb.kubectl("create", "-f", "-", input=pod("intruder", {"app": "intruder"}))
    got = wait_pods(kyb, "app=intruder", 1, 0)
    cond = next(c for c in got[0]["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["message"].startswith(
        "0/6 nodes are available: 6 node(s) didn't satisfy existing pods anti-affinity rules.")


def test_required_affinity_co_locates(kyb: KybServer) -> None:
    kyb.kubectl("create", "-f", "-", input=pod("db", {"app": "db"}, nodeSelector={"kubernetes.io/hostname": "node-4"}))
    assert wait_node(kyb, "db") == "node-4"
    near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "db"}}}]}}
    kyb.kubectl("create", "-f", "-", input=pod("client", {"app": "client"}, affinity=near))
    assert wait_node(kyb, "client") == "node-4"
    same_zone = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"topologyKey": ZONE, "labelSelector": {"matchLabels": {"app": "db"}}}]}}
    for i in range(3):
        kyb.kubectl("create", "-f", "-", input=pod(f"zonal-{i}", {"app": "zonal"}, affinity=same_zone))
    assert {wait_node(kyb, f"zonal-{i}") for i in range(3)} <= {"node-3", "node-4"}


def test_default_spreading_of_a_service(kyb: KybServer) -> None:
    kyb.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"},
        "spec": {"selector": {"app": "svc"}, "ports": [{"port": 80}]}}))
    time.sleep(1.0)  # the scheduler's Service informer
    items = [json.loads(pod(f"svc-{i}", {"app": "svc"})) for i in range(6)]
    kyb.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
    got = wait_pods(kyb, "app=svc", 6, 6)
    # No constraint of their own: the system default (hostname maxSkew 3, zone maxSkew 5,
    # ScheduleAnyway) over the Service's pods puts each on its own node.
    assert sorted(p["spec"]["nodeName"] for p in got) == sorted(ZONES), [p["spec"]["nodeName"] for p in got]
