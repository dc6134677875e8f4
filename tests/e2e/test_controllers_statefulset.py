"""StatefulSets end to end: real kubectl against kyb server with three simulated nodes, so pods really
become Running and Ready and OrderedReady really waits."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, sim_cluster

PORT = 19010

MANIFEST = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: sim}
provisioner: kybernetes.io/local-path  # provisions on the simulated node the scheduler picks
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sim.kybernetes.io/startup-delay: 200ms}
    spec:
      containers: [{name: nginx, image: "nginx:1"}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      storageClassName: sim
      resources: {requests: {storage: 1Gi}}
"""


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    yield from sim_cluster(Path(tmp_path_factory.mktemp("kyb-statefulset")), PORT)


def wait_for(check: Callable[[], Any], timeout: float = 40.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def get_json(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def live_pods(kyb: KybServer) -> dict[str, dict[str, Any]]:
    items = get_json(kyb, "pods", "-l", "app=web")["items"]
    return {p["metadata"]["name"]: p for p in items if not p["metadata"].get("deletionTimestamp")}


def ready(p: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in p.get("status", {}).get("conditions", []))


def test_statefulset_lifecycle(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=MANIFEST)
    out = kyb.kubectl("rollout", "status", "statefulset/web", "--timeout=60s").stdout
    assert "partitioned roll out complete" in out or "statefulset rolling update complete 3 pods" in out, out

    pods = live_pods(kyb)
    assert sorted(pods) == ["web-0", "web-1", "web-2"]
    # OrderedReady: each pod was created only after the previous one was Running and Ready.
    for prev, nxt in (("web-0", "web-1"), ("web-1", "web-2")):
        ready_at = next(c["lastTransitionTime"] for c in pods[prev]["status"]["conditions"] if c["type"] == "Ready")
        assert pods[nxt]["metadata"]["creationTimestamp"] >= ready_at, (prev, nxt)
    p1 = pods["web-1"]
    assert p1["spec"]["hostname"] == "web-1" and p1["spec"]["subdomain"] == "nginx"
    assert p1["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert p1["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert {"name": "www", "persistentVolumeClaim": {"claimName": "www-web-1"}} in p1["spec"]["volumes"]
    pvcs = {c["metadata"]["name"] for c in get_json(kyb, "pvc")["items"]}
    assert pvcs == {"www-web-0", "www-web-1", "www-web-2"}

    s = get_json(kyb, "statefulset/web")
    st = s["status"]
    assert st["replicas"] == st["readyReplicas"] == st["currentReplicas"] == st["updatedReplicas"] == 3
    assert st["availableReplicas"] == 3 and st["observedGeneration"] == s["metadata"]["generation"]
    rev1 = st["currentRevision"]
    assert st["updateRevision"] == rev1 and p1["metadata"]["labels"]["controller-revision-hash"] == rev1
    crs = get_json(kyb, "controllerrevisions")["items"]
    assert [c["metadata"]["name"] for c in crs] == [rev1] and crs[0]["revision"] == 1
    events = kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=web").stdout
    assert "create Pod web-0 in StatefulSet web successful" in events
    assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in events

    # Scale down: web-2 goes, its claim stays (Retain).
    kyb.kubectl("scale", "statefulset/web", "--replicas=2")
    wait_for(lambda: sorted(live_pods(kyb)) == ["web-0", "web-1"], what="web-2 removed")
    assert "www-web-2" in {c["metadata"]["name"] for c in get_json(kyb, "pvc")["items"]}
    kyb.kubectl("scale", "statefulset/web", "--replicas=3")
    kyb.kubectl("rollout", "status", "statefulset/web", "--timeout=60s")

    # Rolling update with partition 1: web-2 then web-1 get the new image, web-0 keeps the old one.
    kyb.kubectl("patch", "statefulset/web", "-p",
                '{"spec":{"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"partition":1}}}}')
    kyb.kubectl("set", "image", "statefulset/web", "nginx=nginx:2")
    out = kyb.kubectl("rollout", "status", "statefulset/web", "--timeout=60s").stdout
    assert "partitioned roll out complete: 2 new pods have been updated" in out, out
    pods = wait_for(lambda: (lambda ps: ps if len(ps) == 3 and all(ready(p) for p in ps.values()) else None)(
        live_pods(kyb)), what="3 ready pods")
    images = {n: p["spec"]["containers"][0]["image"] for n, p in pods.items()}
    assert images == {"web-0": "nginx:1", "web-1": "nginx:2", "web-2": "nginx:2"}
    st = get_json(kyb, "statefulset/web")["status"]
    assert st["currentRevision"] == rev1 and st["updateRevision"] != rev1
    assert st["updatedReplicas"] == 2 and st["currentReplicas"] == 1
    assert pods["web-0"]["metadata"]["labels"]["controller-revision-hash"] == rev1
    assert pods["web-2"]["metadata"]["labels"]["controller-revision-hash"] == st["updateRevision"]

    # Partition 0 finishes the rollout; the update revision becomes current.
    kyb.kubectl("patch", "statefulset/web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
    out = kyb.kubectl("rollout", "status", "statefulset/web", "--timeout=60s").stdout
    # kubectl reports any set partition (even 0) as a partitioned roll out.
    assert "partitioned roll out complete: 3 new pods have been updated" in out, out
    st = wait_for(lambda: (lambda s: s if s.get("currentRevision") == s.get("updateRevision") else None)(
        get_json(kyb, "statefulset/web")["status"]), what="current revision = update revision")
    assert st["currentReplicas"] == 3

    # A failed pod is replaced under the same name.
    old_uid = live_pods(kyb)["web-1"]["metadata"]["uid"]
    kyb.kubectl("delete", "pod", "web-1", "--wait=false")
    wait_for(lambda: (lambda p: p is not None and p["metadata"]["uid"] != old_uid and ready(p))(
        live_pods(kyb).get("web-1")), what="web-1 recreated")


def test_parallel_creates_all_at_once(kyb: KybServer) -> None:
    manifest = MANIFEST.split("---")[-1].replace("name: web}", "name: par}").replace("app: web", "app: par") \
        .replace("replicas: 3", "replicas: 3\n  podManagementPolicy: Parallel") \
        .replace("sim.kybernetes.io/startup-delay: 200ms", "sim.kybernetes.io/startup-delay: 2s")
    kyb.kubectl("apply", "-f", "-", input=manifest)
    # With a 2 s startup delay, OrderedReady would show one pending pod at a time; Parallel shows three.
    seen = wait_for(lambda: (lambda ps: ps if len(ps) == 3 else None)(get_json(kyb, "pods", "-l", "app=par")["items"]),
                    timeout=10, what="three pods")
    assert sum(1 for p in seen if ready(p)) <= 1, "Parallel does not wait for the previous pod to be ready"
    kyb.kubectl("rollout", "status", "statefulset/par", "--timeout=60s")

    # Retention policy Delete: scaled-away ordinals lose their claims, and so does a deleted set.
    def claims() -> set[str]:
        return {c["metadata"]["name"] for c in get_json(kyb, "pvc")["items"]
                if c["metadata"]["name"].startswith("www-par-") and not c["metadata"].get("deletionTimestamp")}

    assert claims() == {"www-par-0", "www-par-1", "www-par-2"}
    kyb.kubectl("patch", "statefulset/par", "-p",
                '{"spec":{"persistentVolumeClaimRetentionPolicy":{"whenScaled":"Delete","whenDeleted":"Delete"}}}')
    wait_for(lambda: all(any(r["kind"] == "StatefulSet" for r in c["metadata"].get("ownerReferences", []))
                         for c in get_json(kyb, "pvc", "-l", "app=par")["items"]), what="claims owned by the set")
    kyb.kubectl("scale", "statefulset/par", "--replicas=1")
    wait_for(lambda: claims() == {"www-par-0"}, what="claims of scaled-away ordinals deleted")
    kyb.kubectl("delete", "statefulset/par", "--wait=false")
    wait_for(lambda: claims() == set(), what="claims deleted with the set")
