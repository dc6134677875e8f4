"""The node's garbage collection and storage eviction on a real node (containerd, kubectl).

- a crash-looping container's older instances are removed, the newest dead one stays (logs --previous);
- with image GC thresholds forced low (KubeletConfiguration file) an unused image goes, the pause
  image and images containers use stay;
- a pod writing past its ephemeral-storage limit into an emptyDir is Evicted with upstream's message;
- DiskPressure: a nodefs threshold no disk can meet makes the node report it, the node lifecycle
  controller taints the node, and the kubelet evicts a pod with upstream's message (last: it
  reclaims unused images too).
GC periods are shortened through the agent's environment knobs.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet import criconfig
from kybernetes.kubelet.cri import api_pb2 as pb
from kybernetes.kubelet.cri.client import CRIClient
from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path("/tmp/kyb-gc")
PORT = 18977
CIDR = "10.161.0.0/16"
BRIDGE = "kybgc0"
GC_TEST_IMAGE = "kybernetes.local/gc-test:1"
PAUSE = "kybernetes.local/pause:3.10"
BUSYBOX = "docker.io/library/busybox:1.36"
KNOBS = {
    "KYB_CONTAINER_GC_PERIOD": "2",
    "KYB_IMAGE_GC_PERIOD": "2",
    "KYB_EVICTION_MONITORING_PERIOD": "2",
    "KYB_EVICTION_PRESSURE_TRANSITION_PERIOD": "10",
}


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    saved = {k: os.environ.get(k) for k in KNOBS}
    os.environ.update(KNOBS)  # the server hands its environment to the agent it starts
    try:
        yield from start_node_server(DATA, PORT, cluster_cidr=CIDR, bridge=BRIDGE)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def socket() -> str:
    return str(DATA / "node" / "containerd" / "containerd.sock")


def cri(call: str, *args: Any) -> Any:
    async def run() -> Any:
        async with CRIClient(socket()) as client:
            return await getattr(client, call)(*args)

    return asyncio.run(run())


def instances(name: str) -> list[int]:
    """Attempts of the pod's containers the runtime still has."""
    return sorted(
        int(c.metadata.attempt) for c in cri("list_containers") if c.labels.get(criconfig.POD_NAME) == name
    )


def apply(kyb: KybServer, manifest: dict[str, Any]) -> None:
    kyb.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def busybox_pod(
    name: str,
    command: str,
    *,
    resources: dict[str, Any] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    restart: str = "Always",
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "busybox:1.36", "command": ["sh", "-c", command]}
    if resources:
        container["resources"] = resources
    if volumes:
        container["volumeMounts"] = [{"name": v["name"], "mountPath": f"/{v['name']}"} for v in volumes]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "containers": [container],
            "volumes": volumes or [],
            "restartPolicy": restart,
            "terminationGracePeriodSeconds": 1,
        },
    }


def write_kubelet_config(doc: dict[str, Any] | None) -> None:
    path = DATA / "node" / "config.yaml"
    if doc is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(
            json.dumps({"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", **doc})
        )


def test_crashlooping_container_keeps_only_the_newest_dead_instance(kyb: KybServer) -> None:
    apply(kyb, busybox_pod("crasher", "echo run $(date +%s%N); exit 1"))
    wait_for(
        lambda: (
            (pod(kyb, "crasher").get("status", {}).get("containerStatuses") or [{}])[0].get("restartCount", 0)
            >= 2
        ),
        timeout=120,
        what="two restarts",
    )
    # attempt 0 is dead and older than the newest dead instance: GC removes it
    wait_for(lambda: 0 not in instances("crasher"), timeout=30, what="oldest instance removed")
    got = instances("crasher")
    assert 1 <= len(got) <= 2, got
    # the instance lastState names survives GC, so --previous still shows the crash
    previous = wait_for(
        lambda: (out := kyb.kubectl("logs", "crasher", "--previous", check=False)).returncode == 0 and out,
        timeout=15,
        what="logs --previous",
    )
    assert previous.stdout.startswith("run "), previous.stdout
    log_dir = next((DATA / "node" / "pods").glob("default_crasher_*")) / "app"
    wait_for(
        lambda: not (log_dir / "0.log").exists(), timeout=10, what="the removed instance's log file gone"
    )
    kyb.kubectl("delete", "pod", "crasher", "--wait=true", "--timeout=60s")


def gc_test_image_archive(tmp: Path) -> Path:
    """busybox's root file system under another image config: a distinct image id, so removing it
    by id cannot take busybox's tags with it."""
    from kybernetes.images.oci import ImageConfig, build_oci_archive
    from kybernetes.images.testimages import BUSYBOX_BINARY, busybox_applets, busybox_layer

    out = tmp / "gc-test.tar"
    build_oci_archive(
        out,
        name=GC_TEST_IMAGE,
        layers=[busybox_layer(BUSYBOX_BINARY.read_bytes(), busybox_applets(BUSYBOX_BINARY))],
        config=ImageConfig(cmd=("sh",), env=("PATH=/bin", "KYB_GC_TEST=1"), working_dir="/"),
    )
    return out


def test_unused_image_is_removed_when_usage_is_over_the_high_threshold(
    kyb: KybServer, tmp_path: Path
) -> None:
    apply(kyb, busybox_pod("keeper", "sleep 3600"))  # busybox is in use, so it must stay
    wait_for(
        lambda: pod(kyb, "keeper").get("status", {}).get("phase") == "Running", timeout=60, what="keeper"
    )
    archive = gc_test_image_archive(tmp_path)
    subprocess.run(
        [sys.executable, "-m", "kybernetes.cli.main", "image", "import", "--address", socket(), str(archive)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert cri("image_status", GC_TEST_IMAGE) is not None
    try:
        # usage is surely over 1 %: free everything down to 0 % — every unused image goes
        write_kubelet_config(
            {"imageGCHighThresholdPercent": 1, "imageGCLowThresholdPercent": 0, "imageMinimumGCAge": "0s"}
        )
        wait_for(lambda: cri("image_status", GC_TEST_IMAGE) is None, timeout=60, what="unused image removed")
        assert cri("image_status", PAUSE) is not None
        assert cri("image_status", BUSYBOX) is not None
        events = kyb.kubectl(
            "get", "events", "-A", "--field-selector", "involvedObject.kind=Node", "-o", "json"
        )
        reasons = {e.get("reason") for e in json.loads(events.stdout)["items"]}
        assert "FreeDiskSpaceFailed" in reasons  # pause and busybox could not be freed
    finally:
        write_kubelet_config(None)


def test_pod_over_its_ephemeral_storage_limit_is_evicted(kyb: KybServer) -> None:
    manifest = busybox_pod(
        "hog",
        "dd if=/dev/zero of=/scratch/fill bs=1M count=20; sleep 3600",
        resources={"limits": {"ephemeral-storage": "10Mi"}},
        volumes=[{"name": "scratch", "emptyDir": {}}],
        restart="Never",
    )
    apply(kyb, manifest)
    status = wait_for(
        lambda: (s := pod(kyb, "hog").get("status", {})).get("reason") == "Evicted" and s,
        timeout=90,
        what="hog evicted",
    )
    assert status["phase"] == "Failed"
    assert (
        status["message"] == "Pod ephemeral local storage usage exceeds the total limit of containers 10Mi. "
    )
    events = kyb.kubectl(
        "get", "events", "--field-selector", "involvedObject.name=hog,reason=Evicted", "-o", "json"
    )
    assert [e["message"] for e in json.loads(events.stdout)["items"]] == [status["message"]]
    # its container was killed at once (a hard eviction has no grace period)
    wait_for(
        lambda: all(
            c.state != pb.CONTAINER_RUNNING
            for c in cri("list_containers")
            if c.labels.get(criconfig.POD_NAME) == "hog"
        ),
        timeout=30,
        what="hog's container stopped",
    )


def node_json(kyb: KybServer) -> dict[str, Any]:
    return dict(json.loads(kyb.kubectl("get", "nodes", "-o", "json").stdout)["items"][0])


def condition(node: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == kind)


def test_disk_pressure_condition_taint_and_eviction(kyb: KybServer) -> None:
    apply(kyb, busybox_pod("victim", "sleep 3600"))
    wait_for(
        lambda: pod(kyb, "victim").get("status", {}).get("phase") == "Running", timeout=60, what="victim"
    )
    try:
        write_kubelet_config({"evictionHard": {"memory.available": "100Mi", "nodefs.available": "100%"}})
        node = wait_for(
            lambda: (n := node_json(kyb)) and condition(n, "DiskPressure")["status"] == "True" and n,
            timeout=60,
            what="DiskPressure",
        )
        assert (condition(node, "DiskPressure")["reason"], condition(node, "DiskPressure")["message"]) == (
            "KubeletHasDiskPressure",
            "kubelet has disk pressure",
        )
        wait_for(
            lambda: (
                {"key": "node.kubernetes.io/disk-pressure", "effect": "NoSchedule"}
                in [{k: t[k] for k in ("key", "effect")} for t in node_json(kyb)["spec"].get("taints") or []]
            ),
            timeout=60,
            what="disk-pressure taint",
        )
        status = wait_for(
            lambda: (s := pod(kyb, "victim").get("status", {})).get("reason") == "Evicted" and s,
            timeout=60,
            what="victim evicted",
        )
        assert status["message"].startswith(
            "The node was low on resource: ephemeral-storage. Threshold quantity: "
        )
        assert ", available: " in status["message"]
        assert any(
            c["type"] == "DisruptionTarget" and c["reason"] == "TerminationByKubelet"
            for c in status.get("conditions") or []
        )
    finally:
        write_kubelet_config(None)
    node = wait_for(
        lambda: (n := node_json(kyb)) and condition(n, "DiskPressure")["status"] == "False" and n,
        timeout=60,
        what="DiskPressure gone after the transition period",
    )
    assert condition(node, "DiskPressure")["reason"] == "KubeletHasNoDiskPressure"
