"""`kubectl top` against simulated nodes: real kubectl, real `kyb server`, controllable usage.

The simulator serves each hollow node's ``/stats/summary`` (KYB_SIM_STATS_PORT) and publishes its
URL on the Node; pods say what they use with the annotations ``sim.kybernetes.io/cpu-usage`` and
``sim.kybernetes.io/memory-usage`` (per container; an absolute quantity or a percentage of the
container's request). The API server scrapes every second here (KYB_METRICS_RESOLUTION=1).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = [pytest.mark.e2e]
DATA_DIR = Path("/tmp/kyb-metrics-sim")

PODS = """
apiVersion: v1
kind: Pod
metadata:
  name: hot
  labels: {app: hot}
  annotations: {sim.kybernetes.io/cpu-usage: "250m", sim.kybernetes.io/memory-usage: "64Mi"}
spec:
  containers:
  - {name: app, image: busybox:1.36}
  - {name: side, image: busybox:1.36}
---
apiVersion: v1
kind: Pod
metadata:
  name: half
  labels: {app: half}
  annotations: {sim.kybernetes.io/cpu-usage: "50%", sim.kybernetes.io/memory-usage: "32Mi"}
spec:
  containers:
  - name: app
    image: busybox:1.36
    resources: {requests: {cpu: 200m}}
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: Pod
metadata:
  name: cool
  namespace: other
  annotations: {sim.kybernetes.io/cpu-usage: "10m", sim.kybernetes.io/memory-usage: "16Mi"}
spec:
  containers:
  - {name: app, image: busybox:1.36}
"""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def rows(out: str) -> list[list[str]]:
    return [line.split() for line in out.strip().splitlines()]


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    shutil.rmtree(DATA_DIR, ignore_errors=True)
    server = KybServer(
        DATA_DIR, env={"KYB_SIM_NODES": "2", "KYB_SIM_STATS_PORT": "0", "KYB_METRICS_RESOLUTION": "1"}
    )
    try:
        server.start()
        server.kubectl("apply", "-f", "-", input=PODS)

        def all_measured() -> bool:
            out = server.kubectl("top", "pod", "-A", "--no-headers", check=False).stdout
            return len(out.strip().splitlines()) == 3

        wait_for(all_measured, "metrics of the three pods")
        yield server
    finally:
        server.stop()


def test_top_pod_in_a_namespace(kyb: KybServer) -> None:
    out = kyb.kubectl("top", "pod").stdout
    assert rows(out) == [
        ["NAME", "CPU(cores)", "MEMORY(bytes)"],
        ["half", "100m", "32Mi"],
        ["hot", "500m", "128Mi"],
    ]


def test_top_pod_all_namespaces_containers_and_selectors(kyb: KybServer) -> None:
    assert rows(kyb.kubectl("top", "pod", "-A").stdout) == [
        ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"],
        ["default", "half", "100m", "32Mi"],
        ["default", "hot", "500m", "128Mi"],
        ["other", "cool", "10m", "16Mi"],
    ]
    assert rows(kyb.kubectl("top", "pod", "hot", "--containers").stdout) == [
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"],
        ["hot", "app", "250m", "64Mi"],
        ["hot", "side", "250m", "64Mi"],
    ]
    assert rows(kyb.kubectl("top", "pod", "-l", "app=half", "--no-headers").stdout) == [
        ["half", "100m", "32Mi"]
    ]
    assert [r[0] for r in rows(kyb.kubectl("top", "pod", "--sort-by=cpu", "--no-headers").stdout)] == [
        "hot",
        "half",
    ]
    assert rows(kyb.kubectl("top", "pod", "-n", "other", "--no-headers").stdout) == [["cool", "10m", "16Mi"]]


def test_top_node(kyb: KybServer) -> None:
    table = rows(kyb.kubectl("top", "node").stdout)
    assert table[0] == ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
    nodes = {r[0]: r for r in table[1:]}
    assert sorted(nodes) == ["sim-node-0", "sim-node-1"]
    pods = json.loads(kyb.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    placed: dict[str, int] = {}
    used = {"hot": 500, "half": 100, "cool": 10}
    for p in pods:
        placed[p["spec"]["nodeName"]] = placed.get(p["spec"]["nodeName"], 0) + used[p["metadata"]["name"]]
    for name, row in nodes.items():
        # the simulator's own node usage (100m) plus the pods placed there
        assert row[1] == f"{100 + placed.get(name, 0)}m", row
        assert row[2].endswith("%") and row[3].endswith("Mi") and row[4].endswith("%")


def test_usage_follows_the_annotation(kyb: KybServer) -> None:
    kyb.kubectl("annotate", "pod", "hot", "sim.kybernetes.io/cpu-usage=1", "--overwrite")

    def doubled() -> bool:
        return rows(kyb.kubectl("top", "pod", "hot", "--no-headers").stdout) == [["hot", "2000m", "128Mi"]]

    wait_for(doubled, "hot at 2 cores")
    kyb.kubectl("annotate", "pod", "hot", "sim.kybernetes.io/cpu-usage=250m", "--overwrite")
    wait_for(
        lambda: rows(kyb.kubectl("top", "pod", "hot", "--no-headers").stdout)[0][1] == "500m", "hot back"
    )


def test_errors_as_kubectl_prints_them(kyb: KybServer) -> None:
    missing = kyb.kubectl("top", "pod", "nope", check=False)
    assert missing.returncode != 0 and 'Error from server (NotFound): pods "nope" not found' in missing.stderr
    kyb.kubectl(
        "run",
        "idle",
        "--image=busybox:1.36",
        "--restart=Never",
        "--overrides",
        '{"spec": {"nodeName": "no-such-node"}}',
    )
    idle = kyb.kubectl("top", "pod", "idle", check=False)
    assert idle.returncode != 0
    assert 'podmetrics.metrics.k8s.io "default/idle" not found' in idle.stderr
    node = kyb.kubectl("top", "node", "nope", check=False)
    assert node.returncode != 0 and 'node "nope" not found' in node.stderr
    kyb.kubectl("delete", "pod", "idle", "--wait=false")


def test_raw_api_and_get(kyb: KybServer) -> None:
    nodes = json.loads(kyb.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes").stdout)
    assert nodes["kind"] == "NodeMetricsList" and len(nodes["items"]) == 2
    assert nodes["items"][0]["metadata"]["labels"]["sim.kybernetes.io/hollow"] == "true"
    hot = json.loads(
        kyb.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/hot").stdout
    )
    assert hot["containers"] == [
        {"name": "app", "usage": {"cpu": "250m", "memory": "64Mi"}},
        {"name": "side", "usage": {"cpu": "250m", "memory": "64Mi"}},
    ]
    assert hot["window"].endswith("s") and hot["timestamp"].endswith("Z")
    table = rows(kyb.kubectl("get", "podmetrics", "-n", "other").stdout)
    assert table[0][:3] == ["NAME", "CPU", "MEMORY"] and table[1][:3] == ["cool", "10m", "16Mi"]
    assert "nodes" in kyb.kubectl("api-resources", "--api-group=metrics.k8s.io", "-o", "name").stdout
    denied = kyb.kubectl("delete", "podmetrics", "hot", check=False)
    assert denied.returncode != 0 and "(MethodNotAllowed)" in denied.stderr


def test_metrics_return_after_a_server_restart(kyb: KybServer) -> None:
    # metrics live in memory only; the restarted simulator serves stats on a new port and says so
    kyb.stop()
    kyb.start()
    want = [
        ["default", "half", "100m", "32Mi"],
        ["default", "hot", "500m", "128Mi"],
        ["other", "cool", "10m", "16Mi"],
    ]
    wait_for(
        lambda: rows(kyb.kubectl("top", "pod", "-A", "--no-headers", check=False).stdout) == want,
        "metrics after the restart",
    )
