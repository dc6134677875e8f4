"""DaemonSets end to end: real kubectl against kyb server with three simulated nodes, so pods are
bound by the scheduler, become Running and Ready, and rollouts finish for real."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, sim_cluster

PORT = 19000

DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      {node_selector}
      containers:
      - name: agent
        image: busybox:1.36
"""


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    yield from sim_cluster(Path(tmp_path_factory.mktemp("kyb-daemonset")), PORT)


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def apply(kyb: KybServer, name: str, node_selector: str = "") -> None:
    kyb.kubectl("apply", "-f", "-", input=DAEMONSET.format(name=name, node_selector=node_selector))


def running_nodes(kyb: KybServer, app: str) -> list[str]:
    items = json.loads(kyb.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    return sorted(p["spec"].get("nodeName", "") for p in items
                  if not p["metadata"].get("deletionTimestamp") and p.get("status", {}).get("phase") == "Running")


def status(kyb: KybServer, name: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(kyb.kubectl("get", "ds", name, "-o", "json").stdout).get("status", {})
    return out


def test_one_pod_per_node_and_rollout(kyb: KybServer) -> None:
    wait_for(lambda: len(kyb.kubectl("get", "nodes", "-o", "name").stdout.split()) == 3, what="3 nodes")
    apply(kyb, "agent")
    nodes = wait_for(lambda: running_nodes(kyb, "agent") == ["sim-node-0", "sim-node-1", "sim-node-2"]
                     and running_nodes(kyb, "agent"), what="a pod on each node")
    assert len(set(nodes)) == 3
    out = kyb.kubectl("rollout", "status", "daemonset/agent", "--timeout=30s").stdout
    assert 'daemon set "agent" successfully rolled out' in out
    st = status(kyb, "agent")
    assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"],
            st["numberMisscheduled"]) == (3, 3, 3, 0)
    pod = json.loads(kyb.kubectl("get", "pods", "-l", "app=agent", "-o", "json").stdout)["items"][0]
    tolerations = {t["key"] for t in pod["spec"]["tolerations"]}
    assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
            "node.kubernetes.io/unschedulable"} <= tolerations
    terms = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms["nodeSelectorTerms"][0]["matchFields"][0]["values"] == [pod["spec"]["nodeName"]]
    old_hash = pod["metadata"]["labels"]["controller-revision-hash"]

    kyb.kubectl("set", "image", "daemonset/agent", "agent=busybox:1.37")
    out = kyb.kubectl("rollout", "status", "daemonset/agent", "--timeout=60s").stdout
    assert 'daemon set "agent" successfully rolled out' in out
    items = json.loads(kyb.kubectl("get", "pods", "-l", "app=agent", "-o", "json").stdout)["items"]
    live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 3
    assert all(p["spec"]["containers"][0]["image"] == "busybox:1.37" for p in live)
    assert all(p["metadata"]["labels"]["controller-revision-hash"] != old_hash for p in live)
    history = kyb.kubectl("rollout", "history", "daemonset/agent").stdout
    assert "1 " in history and "2 " in history
    assert "busybox:1.36" in kyb.kubectl("rollout", "history", "daemonset/agent", "--revision=1").stdout
    revs = json.loads(kyb.kubectl("get", "controllerrevisions", "-l", "app=agent", "-o", "json").stdout)["items"]
    assert sorted(r["revision"] for r in revs) == [1, 2]
    events = kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=agent").stdout
    assert "SuccessfulCreate" in events and "SuccessfulDelete" in events

    kyb.kubectl("rollout", "undo", "daemonset/agent")
    out = kyb.kubectl("rollout", "status", "daemonset/agent", "--timeout=60s").stdout
    assert 'daemon set "agent" successfully rolled out' in out
    live = [p for p in json.loads(kyb.kubectl("get", "pods", "-l", "app=agent", "-o", "json").stdout)["items"]
            if not p["metadata"].get("deletionTimestamp")]
    assert sorted(p["spec"]["containers"][0]["image"] for p in live) == ["busybox:1.36"] * 3
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in live} == {old_hash}
    # The first revision came back and is renumbered as the newest.
    revs = json.loads(kyb.kubectl("get", "controllerrevisions", "-l", "app=agent", "-o", "json").stdout)["items"]
    assert {r["metadata"]["labels"]["controller-revision-hash"]: r["revision"] for r in revs}[old_hash] == 3


def test_surge_rollout_and_on_delete(kyb: KybServer) -> None:
    apply(kyb, "surge")
    kyb.kubectl("patch", "ds", "surge", "-p",
                '{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":1,"maxUnavailable":0}}}}')
    kyb.kubectl("rollout", "status", "daemonset/surge", "--timeout=60s")
    kyb.kubectl("set", "image", "daemonset/surge", "agent=busybox:1.37")
    out = kyb.kubectl("rollout", "status", "daemonset/surge", "--timeout=60s").stdout
    assert 'daemon set "surge" successfully rolled out' in out
    wait_for(lambda: len(running_nodes(kyb, "surge")) == 3 and len(set(running_nodes(kyb, "surge"))) == 3,
             what="one surge pod per node after the rollout")

    kyb.kubectl("patch", "ds", "surge", "--type=json", "-p",
                '[{"op":"replace","path":"/spec/updateStrategy","value":{"type":"OnDelete"}}]')
    kyb.kubectl("set", "image", "daemonset/surge", "agent=busybox:1.38")
    time.sleep(1.5)
    def images() -> list[str]:
        items = json.loads(kyb.kubectl("get", "pods", "-l", "app=surge", "-o", "json").stdout)["items"]
        return sorted(p["spec"]["containers"][0]["image"] for p in items if not p["metadata"].get("deletionTimestamp"))
    assert images() == ["busybox:1.37"] * 3  # OnDelete: nothing is replaced on its own
    victim = json.loads(kyb.kubectl("get", "pods", "-l", "app=surge", "-o", "json").stdout)["items"][0]
    kyb.kubectl("delete", "pod", victim["metadata"]["name"], "--wait=false")
    wait_for(lambda: images() == ["busybox:1.37", "busybox:1.37", "busybox:1.38"], what="the deleted pod replaced")


def test_node_selector_and_labelling_a_node(kyb: KybServer) -> None:
    apply(kyb, "edge", "nodeSelector: {role: edge}")
    kyb.kubectl("label", "node", "sim-node-1", "role=edge")
    wait_for(lambda: running_nodes(kyb, "edge") == ["sim-node-1"], what="a pod on the labelled node")
    kyb.kubectl("label", "node", "sim-node-2", "role=edge")
    wait_for(lambda: running_nodes(kyb, "edge") == ["sim-node-1", "sim-node-2"], what="a pod on the new edge node")
    wait_for(lambda: status(kyb, "edge").get("numberAvailable") == 2, what="status counts")
    kyb.kubectl("label", "node", "sim-node-1", "role-")
    wait_for(lambda: running_nodes(kyb, "edge") == ["sim-node-2"], what="pod removed from the unlabelled node")
    # The removed pod counts as misscheduled until its graceful deletion completes.
    wait_for(lambda: (s := status(kyb, "edge")).get("desiredNumberScheduled") == 1
             and s.get("currentNumberScheduled") == 1 and s.get("numberMisscheduled") == 0,
             what="status after unlabelling")


def live_pods(kyb: KybServer, app: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        kyb.kubectl("get", "pods", "-l", f"app={app}", "-o", "json").stdout)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def test_failed_pod_replaced_orphans_adopted_and_noexecute_taint(kyb: KybServer) -> None:
    apply(kyb, "keeper")
    wait_for(lambda: len(running_nodes(kyb, "keeper")) == 3, what="3 pods")
    victim = next(p for p in live_pods(kyb, "keeper") if p["spec"]["nodeName"] == "sim-node-0")
    kyb.kubectl("patch", "pod", victim["metadata"]["name"], "--subresource=status", "--type=merge",
                "-p", '{"status":{"phase":"Failed"}}')
    wait_for(lambda: running_nodes(kyb, "keeper") == ["sim-node-0", "sim-node-1", "sim-node-2"]
             and victim["metadata"]["name"] not in {p["metadata"]["name"] for p in live_pods(kyb, "keeper")},
             what="the failed pod replaced")
    events = kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=keeper").stdout
    assert "FailedDaemonPod" in events

    # Orphan the pods and the revision, recreate the set: everything is adopted, nothing rolls.
    before = sorted(p["metadata"]["name"] for p in live_pods(kyb, "keeper"))
    kyb.kubectl("delete", "ds", "keeper", "--cascade=orphan")
    wait_for(lambda: all(not p["metadata"].get("ownerReferences") for p in live_pods(kyb, "keeper")),
             what="pods orphaned")
    apply(kyb, "keeper")
    wait_for(lambda: all(p["metadata"].get("ownerReferences") for p in live_pods(kyb, "keeper")),
             what="pods adopted")
    kyb.kubectl("rollout", "status", "daemonset/keeper", "--timeout=30s")
    assert sorted(p["metadata"]["name"] for p in live_pods(kyb, "keeper")) == before
    revs = json.loads(kyb.kubectl("get", "controllerrevisions", "-l", "app=keeper", "-o", "json").stdout)["items"]
    assert len(revs) == 1 and revs[0]["metadata"]["ownerReferences"][0]["name"] == "keeper"

    kyb.kubectl("taint", "node", "sim-node-2", "dedicated=x:NoExecute")
    try:
        wait_for(lambda: running_nodes(kyb, "keeper") == ["sim-node-0", "sim-node-1"],
                 what="the pod leaves the NoExecute-tainted node")
        wait_for(lambda: status(kyb, "keeper").get("desiredNumberScheduled") == 2, what="desired 2")
    finally:
        kyb.kubectl("taint", "node", "sim-node-2", "dedicated=x:NoExecute-")
    wait_for(lambda: len(running_nodes(kyb, "keeper")) == 3, what="the pod back after untainting")
