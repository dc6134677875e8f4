"""Preemption end to end: `kyb server` (its scheduler), one `kyb sim` node that confirms graceful
deletions, PriorityClasses and pods through real kubectl. A node full of low-priority pods; a
high-priority pod preempts one victim (DisruptionTarget condition, Preempted event), is nominated to
the node, and binds there once the victim is gone."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kybernetes.testing.cluster import KybServer

PORT = 18990
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    data = Path(tmp_path_factory.mktemp("kyb"))
    server = KybServer(data, port=PORT)
    server.start()
    profile = data / "sim.yaml"
    profile.write_text(yaml.safe_dump({
        "nodeGroups": [{"name": "node", "count": 1, "capacity": {"cpu": "2", "memory": "4Gi", "pods": "110"}}],
        "defaultPodBehaviour": {"stopTime": "1s"}}))
    sim = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "sim", "--profile", str(profile),
                            "--kubeconfig", str(server.kubeconfig)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            out = server.kubectl("get", "node", "node-0", "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                                 check=False).stdout
            if out == "True":
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the simulated node did not become Ready")
        yield server
    finally:
        sim.terminate()
        try:
            sim.wait(10)
        except subprocess.TimeoutExpired:
            sim.kill()
            sim.wait()
        server.stop()


def get_pod(kyb: KybServer, name: str) -> Obj | None:
    out = kyb.kubectl("get", "pod", name, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else None


def wait(pred: Any, what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pod_doc(name: str, cpu: str, priority_class: str, **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"priorityClassName": priority_class, "terminationGracePeriodSeconds": 5,
                     "containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}],
                     **spec}}


def test_high_priority_pod_preempts_a_low_priority_one(kyb: KybServer) -> None:
    classes = [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": n},
                "value": v} for n, v in (("low", 100), ("high", 1000))]
    kyb.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": classes}))
    low = [pod_doc(f"low-{i}", "1", "low") for i in range(2)]
    kyb.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": low}))
    for i in range(2):
        wait(lambda i=i: (get_pod(kyb, f"low-{i}") or {}).get("status", {}).get("phase") == "Running", f"low-{i} Running")

    # A pod whose PriorityClass says preemptionPolicy Never does not preempt.
    kyb.kubectl("create", "-f", "-", input=json.dumps({
        "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "high-never"},
        "value": 1000, "preemptionPolicy": "Never"}))
    kyb.kubectl("create", "-f", "-", input=json.dumps(pod_doc("never", "1", "high-never")))
    msg = wait(lambda: next((c.get("message") for c in ((get_pod(kyb, "never") or {}).get("status") or {}).get(
        "conditions", []) if c["type"] == "PodScheduled"), None), "never's PodScheduled")
    assert msg == ("0/1 nodes are available: 1 Insufficient cpu. "
                   "preemption: not eligible due to preemptionPolicy=Never..")
    kyb.kubectl("delete", "pod", "never", "--wait=false")

    kyb.kubectl("create", "-f", "-", input=json.dumps(pod_doc("high", "1", "high")))
    high = wait(lambda: (p := get_pod(kyb, "high")) and p.get("status", {}).get("nominatedNodeName") and p,
                "high's nominatedNodeName", timeout=30)
    assert high["status"]["nominatedNodeName"] == "node-0"
    assert high["spec"]["priority"] == 1000

    # Exactly one victim: it gets the DisruptionTarget condition and the Preempted event, then goes.
    events = wait(lambda: [e for e in json.loads(kyb.kubectl("get", "events", "-o", "json").stdout)["items"]
                           if e["reason"] == "Preempted"], "a Preempted event")
    assert len(events) == 1
    victim = events[0]["involvedObject"]["name"]
    assert victim in ("low-0", "low-1")
    assert events[0]["message"] == f"Preempted by pod {high['metadata']['uid']} on node node-0"
    bound = wait(lambda: (p := get_pod(kyb, "high")) and p["spec"].get("nodeName"), "high bound", timeout=40)
    assert bound == "node-0"
    assert get_pod(kyb, victim) is None
    survivor = "low-1" if victim == "low-0" else "low-0"
    assert (get_pod(kyb, survivor) or {}).get("metadata", {}).get("deletionTimestamp") is None
