"""PersistentVolumes end to end with real kubectl and a real node: the default local-path class,
WaitForFirstConsumer provisioning through the scheduler, data that outlives its pod, Delete and
Retain reclaim, binding events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import phase, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18962
DATA = Path("/tmp/kyb-pv")
STORAGE_ROOT = DATA / "node" / "storage"
IMAGE = "busybox:1.36"


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    yield from start_node_server(DATA, PORT, cluster_cidr="10.152.0.0/16", bridge="kybv0")


def apply(kyb: KybServer, manifest: str) -> None:
    kyb.kubectl("apply", "-f", "-", input=manifest)


def get(kyb: KybServer, *args: str) -> Any:
    out = kyb.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(out.stdout) if out.returncode == 0 else {}


def claim_phase(kyb: KybServer, name: str) -> str:
    return str(get(kyb, "pvc", name).get("status", {}).get("phase", ""))


def events_of(kyb: KybServer, kind: str, name: str) -> list[tuple[str, str]]:
    items = get(kyb, "events", "--field-selector", f"involvedObject.kind={kind},involvedObject.name={name}")
    return [(e["reason"], e["message"]) for e in items.get("items", [])]


def test_default_class_is_local_path(kyb: KybServer) -> None:
    out = wait_for(lambda: kyb.kubectl("get", "storageclass", check=False).stdout, what="storage classes")
    line = next(line for line in out.splitlines() if line.startswith("local-path"))
    assert line.split()[:5] == [
        "local-path",
        "(default)",
        "kybernetes.io/local-path",
        "Delete",
        "WaitForFirstConsumer",
    ]


def test_claim_waits_for_its_first_consumer(kyb: KybServer) -> None:
    apply(
        kyb,
        """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: lonely}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
""",
    )
    assert get(kyb, "pvc", "lonely")["spec"]["storageClassName"] == "local-path"
    wait_for(
        lambda: (
            ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")
            in events_of(kyb, "PersistentVolumeClaim", "lonely")
        ),
        what="WaitForFirstConsumer event",
    )
    assert claim_phase(kyb, "lonely") == "Pending"
    # a claim without a class and no volume to bind is told so
    apply(
        kyb,
        """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: classless}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 16Mi}}
""",
    )
    wait_for(
        lambda: (
            ("FailedBinding", "no persistent volumes available for this claim and no storage class is set")
            in events_of(kyb, "PersistentVolumeClaim", "classless")
        ),
        what="FailedBinding event",
    )
    kyb.kubectl("delete", "pvc", "lonely", "classless")


STATEFULSET = f"""
apiVersion: apps/v1
kind: StatefulSet
metadata: {{name: keeper}}
spec:
  serviceName: keeper
  replicas: 1
  selector: {{matchLabels: {{app: keeper}}}}
  template:
    metadata: {{labels: {{app: keeper}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: {IMAGE}
        command: [sh, -c, "[ -f /data/first ] || echo born-$(date +%s%N) > /data/first; sleep 3600"]
        volumeMounts: [{{name: data, mountPath: /data}}]
  volumeClaimTemplates:
  - metadata: {{name: data}}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {{requests: {{storage: 32Mi}}}}
"""


def test_statefulset_data_survives_its_pod_and_goes_with_its_claim(kyb: KybServer) -> None:
    apply(kyb, STATEFULSET)
    wait_for(lambda: phase(kyb, "keeper-0") == "Running", timeout=90, what="keeper-0 Running")
    first = wait_for(
        lambda: kyb.kubectl("exec", "keeper-0", "--", "cat", "/data/first", check=False).stdout.strip(),
        what="the file written in the volume",
    )
    assert first.startswith("born-")

    claim = get(kyb, "pvc", "data-keeper-0")
    pv_name = claim["spec"]["volumeName"]
    assert pv_name == f"pvc-{claim['metadata']['uid']}"
    assert claim["status"]["phase"] == "Bound"
    assert claim["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"]
    assert (
        claim["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"]
        == "kybernetes.io/local-path"
    )
    pv = get(kyb, "pv", pv_name)
    assert pv["status"]["phase"] == "Bound"
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "kybernetes.io/local-path"
    assert pv["spec"]["local"]["path"] == str(STORAGE_ROOT / pv_name)
    assert (STORAGE_ROOT / pv_name / "first").read_text().strip() == first
    reasons = [r for r, _ in events_of(kyb, "PersistentVolumeClaim", "data-keeper-0")]
    assert "ProvisioningSucceeded" in reasons and "ExternalProvisioning" in reasons

    table = kyb.kubectl("get", "pvc,pv").stdout
    assert any(
        line.startswith("persistentvolumeclaim/data-keeper-0") and " Bound " in line
        for line in table.splitlines()
    ), table
    assert any(
        line.startswith(f"persistentvolume/{pv_name}") and " Bound " in line for line in table.splitlines()
    ), table

    # the pod goes, the StatefulSet makes it again, the data is still there
    old_uid = get(kyb, "pod", "keeper-0")["metadata"]["uid"]
    kyb.kubectl("delete", "pod", "keeper-0", "--wait=true", "--timeout=60s")
    wait_for(
        lambda: (
            get(kyb, "pod", "keeper-0").get("metadata", {}).get("uid") not in (None, old_uid)
            and phase(kyb, "keeper-0") == "Running"
        ),
        timeout=90,
        what="keeper-0 recreated",
    )
    again = wait_for(
        lambda: kyb.kubectl("exec", "keeper-0", "--", "cat", "/data/first", check=False).stdout.strip(),
        what="the file after the pod was recreated",
    )
    assert again == first

    # the set goes (claims stay, as StatefulSets retain them); deleting the claim deletes volume and directory
    kyb.kubectl("delete", "statefulset", "keeper", "--wait=true", "--timeout=60s")
    wait_for(lambda: not get(kyb, "pod", "keeper-0"), timeout=60, what="keeper-0 gone")
    assert claim_phase(kyb, "data-keeper-0") == "Bound"
    kyb.kubectl("delete", "pvc", "data-keeper-0", "--wait=true", "--timeout=60s")
    wait_for(lambda: not get(kyb, "pv", pv_name), what="the provisioned PV deleted")
    wait_for(lambda: not (STORAGE_ROOT / pv_name).exists(), what="the volume's directory removed")


def test_static_volume_with_retain_is_bound_then_released(kyb: KybServer) -> None:
    static = DATA / "static"
    static.mkdir(parents=True, exist_ok=True)
    apply(
        kyb,
        f"""
apiVersion: v1
kind: PersistentVolume
metadata: {{name: kept, labels: {{tier: gold}}}}
spec:
  capacity: {{storage: 1Gi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  hostPath: {{path: {static}}}
---
apiVersion: v1
kind: PersistentVolume
metadata: {{name: too-small}}
spec:
  capacity: {{storage: 10Mi}}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {{path: {static}}}
""",
    )
    wait_for(
        lambda: get(kyb, "pv", "kept").get("status", {}).get("phase") == "Available", what="kept Available"
    )
    apply(
        kyb,
        """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: wants-gold}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  selector: {matchLabels: {tier: gold}}
  resources: {requests: {storage: 100Mi}}
""",
    )
    wait_for(lambda: claim_phase(kyb, "wants-gold") == "Bound", what="wants-gold Bound")
    claim = get(kyb, "pvc", "wants-gold")
    assert claim["spec"]["volumeName"] == "kept"
    assert claim["status"]["capacity"] == {"storage": "1Gi"} and claim["status"]["accessModes"] == [
        "ReadWriteOnce"
    ]
    pv = get(kyb, "pv", "kept")
    assert pv["status"]["phase"] == "Bound"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert pv["spec"]["claimRef"]["uid"] == claim["metadata"]["uid"]
    assert get(kyb, "pv", "too-small")["status"]["phase"] == "Available"

    # a pod uses it (the node mounts the bound claim)
    apply(
        kyb,
        f"""
apiVersion: v1
kind: Pod
metadata: {{name: gold-user}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: gold, persistentVolumeClaim: {{claimName: wants-gold}}}}]
  containers:
  - name: app
    image: {IMAGE}
    command: [sh, -c, "echo kept-data > /gold/f; sleep 3600"]
    volumeMounts: [{{name: gold, mountPath: /gold}}]
""",
    )
    wait_for(lambda: (static / "f").exists(), timeout=90, what="the pod wrote into the static volume")
    kyb.kubectl("delete", "pod", "gold-user", "--wait=true", "--timeout=60s")

    kyb.kubectl("delete", "pvc", "wants-gold", "--wait=true", "--timeout=60s")
    wait_for(
        lambda: get(kyb, "pv", "kept").get("status", {}).get("phase") == "Released", what="kept Released"
    )
    pv = get(kyb, "pv", "kept")
    assert pv["spec"]["claimRef"]["name"] == "wants-gold", "Retain keeps the claimRef"
    assert (static / "f").read_text().strip() == "kept-data"
    kyb.kubectl("delete", "pv", "kept", "too-small")


def test_claim_in_use_is_kept_until_its_pod_is_gone(kyb: KybServer) -> None:
    apply(
        kyb,
        f"""
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: busy}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {{requests: {{storage: 8Mi}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: busy-user}}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{{name: d, persistentVolumeClaim: {{claimName: busy}}}}]
  containers:
  - name: app
    image: {IMAGE}
    command: [sh, -c, "echo in-use > /d/f; sleep 3600"]
    volumeMounts: [{{name: d, mountPath: /d}}]
""",
    )
    wait_for(lambda: phase(kyb, "busy-user") == "Running", timeout=90, what="busy-user Running")
    claim = get(kyb, "pvc", "busy")
    pv_name = claim["spec"]["volumeName"]
    assert "kubernetes.io/pvc-protection" in claim["metadata"]["finalizers"]
    assert "kubernetes.io/pv-protection" in get(kyb, "pv", pv_name)["metadata"]["finalizers"]
    kyb.kubectl("delete", "pvc", "busy", "--wait=false")
    wait_for(lambda: " Terminating " in kyb.kubectl("get", "pvc", "busy").stdout, what="busy Terminating")
    assert (STORAGE_ROOT / pv_name / "f").read_text().strip() == "in-use", "the data stays while the pod runs"
    assert get(kyb, "pv", pv_name)["status"]["phase"] == "Bound"
    kyb.kubectl("delete", "pod", "busy-user", "--wait=true", "--timeout=60s")
    wait_for(lambda: not get(kyb, "pvc", "busy"), what="the claim gone with its pod")
    wait_for(lambda: not get(kyb, "pv", pv_name), what="its volume deleted")
    wait_for(lambda: not (STORAGE_ROOT / pv_name).exists(), what="its directory removed")
