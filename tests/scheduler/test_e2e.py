"""End to end: a real `kyb server` (its scheduler component), Nodes created through the API, pods
and node labels through real kubectl; a second `kyb scheduler` process for another schedulerName
with the example Python plugin."""

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
from sched_helpers import make_node

from kybernetes.testing.cluster import KybServer

PORT = 18601
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), port=PORT)
    server.start()
    try:
        nodes = [make_node(f"node-{i}", cpu="2", memory="4Gi") for i in range(1, 6)]
        nodes[3]["spec"]["taints"] = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
        nodes[4]["metadata"]["labels"]["example.kybernetes.io/preferred"] = "yes"
        server.kubectl("create", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": nodes}))
        yield server
    finally:
        server.stop()


def pod_manifest(name: str, **spec: Any) -> str:
    resources = spec.pop("requests", None)
    container: Obj = {"name": "c", "image": "busybox"}
    if resources:
        container["resources"] = {"requests": resources}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [container], **spec}})


def wait_for(kyb: KybServer, pod: str, jsonpath: str, want: Any = None, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = kyb.kubectl("get", "pod", pod, "-o", f"jsonpath={jsonpath}").stdout
        if (want is None and out) or (want is not None and out == want):
            return out
        time.sleep(0.2)
    raise AssertionError(f"{pod}: {jsonpath} = {out!r}, wanted {want!r}")


def test_resource_fit_and_insufficient_message(kyb: KybServer) -> None:
    kyb.kubectl("create", "-f", "-", input=pod_manifest("fits", requests={"cpu": "1500m"}))
    assert wait_for(kyb, "fits", "{.spec.nodeName}").startswith("node-")
    kyb.kubectl("create", "-f", "-", input=pod_manifest("too-big", requests={"cpu": "3"}))
    msg = wait_for(kyb, "too-big", "{.status.conditions[?(@.type=='PodScheduled')].message}")
    assert msg == ("0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 4 Insufficient cpu. "
                   "preemption: 0/5 nodes are available: 1 Preemption is not helpful for scheduling, "
                   "4 No preemption victims found for incoming pod..")
    reason = kyb.kubectl("get", "pod", "too-big", "-o", "jsonpath={.status.conditions[0].reason}").stdout
    assert reason == "Unschedulable"
    described = kyb.kubectl("describe", "pod", "too-big").stdout
    assert "FailedScheduling" in described and "4 Insufficient cpu" in described
    events = kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=fits", "-o", "json").stdout
    assert any(e["reason"] == "Scheduled" and e["message"].startswith("Successfully assigned default/fits to node-")
               for e in json.loads(events)["items"])


def test_node_selector_after_label(kyb: KybServer) -> None:
    kyb.kubectl("create", "-f", "-", input=pod_manifest("ssd", nodeSelector={"disktype": "ssd"}))
    wait_for(kyb, "ssd", "{.status.conditions[?(@.type=='PodScheduled')].reason}", "Unschedulable")
    kyb.kubectl("label", "nodes", "node-3", "disktype=ssd")
    assert wait_for(kyb, "ssd", "{.spec.nodeName}") == "node-3"


def test_required_and_preferred_node_affinity(kyb: KybServer) -> None:
    required = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}}}
    kyb.kubectl("create", "-f", "-", input=pod_manifest("req", affinity=required))
    assert wait_for(kyb, "req", "{.spec.nodeName}") == "node-2"
    preferred = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 100, "preference": {"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-5"]}]}}]}}
    kyb.kubectl("create", "-f", "-", input=pod_manifest("pref", affinity=preferred))
    assert wait_for(kyb, "pref", "{.spec.nodeName}") == "node-5"


def test_taints_and_tolerations(kyb: KybServer) -> None:
    only_gpu = {"nodeSelector": {"kubernetes.io/hostname": "node-4"}}
    kyb.kubectl("create", "-f", "-", input=pod_manifest("intolerant", **only_gpu))
    msg = wait_for(kyb, "intolerant", "{.status.conditions[?(@.type=='PodScheduled')].message}")
    assert msg == ("0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, "
                   "4 node(s) didn't match Pod's node affinity/selector. "
                   "preemption: 0/5 nodes are available: 5 Preemption is not helpful for scheduling..")
    kyb.kubectl("create", "-f", "-", input=pod_manifest(
        "tolerant", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
        **only_gpu))
    assert wait_for(kyb, "tolerant", "{.spec.nodeName}") == "node-4"


def test_other_scheduler_name_and_second_scheduler_with_python_plugin(kyb: KybServer, tmp_path: Path) -> None:
    kyb.kubectl("create", "-f", "-", input=pod_manifest("mine", schedulerName="second-scheduler"))
    kyb.kubectl("create", "-f", "-", input=pod_manifest("plugged", schedulerName="with-plugin"))
    time.sleep(1.0)
    out = kyb.kubectl("get", "pod", "mine", "-o", "json").stdout
    assert not json.loads(out)["spec"].get("nodeName")  # the default scheduler leaves it alone
    assert "conditions" not in json.loads(out).get("status", {}) or all(
        c["type"] != "PodScheduled" for c in json.loads(out)["status"]["conditions"])
    config = tmp_path / "sched.yaml"
    config.write_text(yaml.safe_dump({
        "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
        "leaderElection": {"leaderElect": True, "resourceName": "second-scheduler", "resourceNamespace": "kube-system"},
        "pluginModules": ["kybernetes.scheduler.examples.label_preference"],
        "profiles": [
            {"schedulerName": "second-scheduler"},
            {"schedulerName": "with-plugin", "plugins": {"multiPoint": {"enabled": [{"name": "LabelPreference",
                                                                                     "weight": 50}]}}}]}))
    proc = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "scheduler", "--kubeconfig",
                             str(kyb.kubeconfig), "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert wait_for(kyb, "mine", "{.spec.nodeName}").startswith("node-")
        assert wait_for(kyb, "plugged", "{.spec.nodeName}") == "node-5"
        lease = kyb.kubectl("get", "lease", "-n", "kube-system", "second-scheduler", "-o",
                            "jsonpath={.spec.holderIdentity}").stdout
        assert lease
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
