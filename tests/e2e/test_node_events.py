"""The kubelet's events on a real node, read back the way users read them: `kubectl describe`.

Every pod is created up front (one apply) so their lives overlap and the module stays short; each
test then waits for what its pod should have told. There is no registry: an image under
``kybernetes.local`` fails to pull at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import container_status, phase, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18976
IMAGE = "busybox:1.36"

PODS = f"""
apiVersion: v1
kind: Pod
metadata: {{name: good}}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{{name: app, image: {IMAGE}, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: badimage}}
spec:
  containers: [{{name: app, image: kybernetes.local/nope:1}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: crash}}
spec:
  containers: [{{name: app, image: {IMAGE}, command: [sh, -c, "exit 1"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: unhealthy}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: {IMAGE}
    command: [sleep, "3600"]
    livenessProbe:
      exec: {{command: [cat, /no/such/file]}}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata: {{name: badcmd}}
spec:
  containers: [{{name: app, image: {IMAGE}, command: [/no/such/binary]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: nocm}}
spec:
  volumes: [{{name: cfg, configMap: {{name: missing}}}}]
  containers:
  - name: app
    image: {IMAGE}
    command: [sleep, "3600"]
    volumeMounts: [{{name: cfg, mountPath: /cfg}}]
"""


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    server_gen = start_node_server(
        Path("/tmp/kyb-ev-node"), PORT, cluster_cidr="10.160.0.0/16", bridge="kybev0"
    )
    server = next(server_gen)
    server.kubectl("apply", "-f", "-", input=PODS)
    yield server
    yield from server_gen


def described_events(kyb: KybServer, kind: str, name: str) -> list[str]:
    """The lines of the Events table of `kubectl describe`."""
    out = kyb.kubectl("describe", kind, name, check=False).stdout
    _, _, table = out.partition("\nEvents:")
    return [line.strip() for line in table.splitlines()[3:] if line.strip()]


def shows(kyb: KybServer, name: str, *wanted: tuple[str, str], kind: str = "pod") -> list[str] | None:
    """The Events lines when every (reason, message part) appears on one line from the kubelet."""
    lines = described_events(kyb, kind, name)
    for reason, text in wanted:
        if not any(f" {reason} " in f" {line} " and text in line for line in lines):
            return None
    return lines


def wait_shows(
    kyb: KybServer, name: str, *wanted: tuple[str, str], kind: str = "pod", timeout: float = 60
) -> None:
    try:
        wait_for(
            lambda: shows(kyb, name, *wanted, kind=kind), timeout=timeout, what=f"{kind} {name}'s events"
        )
    except AssertionError as e:
        raise AssertionError(f"{e}; it shows:\n" + "\n".join(described_events(kyb, kind, name))) from None


def events_of(kyb: KybServer, name: str) -> list[dict[str, Any]]:
    out = kyb.kubectl("get", "events", "-o", "json", "--field-selector", f"involvedObject.name={name}").stdout
    return list(json.loads(out)["items"])


def test_started_pod_tells_its_story(kyb: KybServer) -> None:
    wait_shows(
        kyb,
        "good",
        ("Scheduled", "Successfully assigned default/good to"),
        ("Pulled", f'Container image "{IMAGE}" already present on machine'),
        ("Created", "Created container: app"),
        ("Started", "Started container app"),
    )
    lines = described_events(kyb, "pod", "good")
    assert all("kubelet" in line for line in lines if "Scheduled" not in line)
    started = next(e for e in events_of(kyb, "good") if e["reason"] == "Started")
    assert started["source"]["component"] == "kubelet" and started["source"]["host"]
    assert (
        started["reportingComponent"] == "kubelet"
        and started["reportingInstance"] == started["source"]["host"]
    )
    assert started["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert started["type"] == "Normal"


def test_bad_image_pull_fails_and_backs_off(kyb: KybServer) -> None:
    image = "kybernetes.local/nope:1"
    wait_shows(
        kyb,
        "badimage",
        ("Pulling", f'Pulling image "{image}"'),
        ("Failed", f'Failed to pull image "{image}": rpc error: code = '),
        ("Failed", "Error: ErrImagePull"),
        ("BackOff", f'Back-off pulling image "{image}"'),
        ("Failed", "Error: ImagePullBackOff"),
    )


def test_crash_loop_back_off_is_counted(kyb: KybServer) -> None:
    def counted() -> int:
        return sum(int(e.get("count") or 1) for e in events_of(kyb, "crash") if e["reason"] == "BackOff")

    wait_for(lambda: counted() > 1, timeout=90, interval=1.0, what="BackOff counted twice")
    back_off = next(e for e in events_of(kyb, "crash") if e["reason"] == "BackOff")
    uid = back_off["involvedObject"]["uid"]
    assert back_off["type"] == "Warning"
    assert back_off["message"] == f"Back-off restarting failed container app in pod crash_default({uid})"
    lines = described_events(kyb, "pod", "crash")
    assert any("BackOff" in line and "(x" in line for line in lines), lines  # kubectl's "(x2 over 12s)"


def test_failing_liveness_probe_is_unhealthy_and_killed(kyb: KybServer) -> None:
    wait_shows(
        kyb,
        "unhealthy",
        ("Unhealthy", "Liveness probe failed: cat: can't open '/no/such/file'"),
        ("Killing", "Container app failed liveness probe, will be restarted"),
    )


def test_container_that_cannot_start_fails(kyb: KybServer) -> None:
    wait_shows(kyb, "badcmd", ("Failed", "Error: failed to create containerd task: "))
    waiting = wait_for(
        lambda: (container_status(kyb, "badcmd").get("state") or {}).get("waiting"), what="badcmd waiting"
    )
    assert waiting["reason"] in ("RunContainerError", "CrashLoopBackOff")
    if waiting["reason"] == "RunContainerError":
        assert waiting["message"].startswith("failed to create containerd task: ")


def test_missing_configmap_volume_fails_to_mount(kyb: KybServer) -> None:
    wait_shows(
        kyb,
        "nocm",
        ("FailedMount", 'MountVolume.SetUp failed for volume "cfg" : configmap "missing" not found'),
    )
    assert phase(kyb, "nocm") == "Pending"


def test_deleted_pod_is_killed(kyb: KybServer) -> None:
    wait_for(lambda: phase(kyb, "good") == "Running", what="good Running")
    kyb.kubectl("delete", "pod", "good", "--wait=true", "--timeout=60s")
    killing = wait_for(
        lambda: [e for e in events_of(kyb, "good") if e["reason"] == "Killing"], what="Killing"
    )
    assert killing[0]["message"] == "Stopping container app"
    assert killing[0]["involvedObject"]["fieldPath"] == "spec.containers{app}"


def test_node_events(kyb: KybServer) -> None:
    node = json.loads(kyb.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    wait_shows(
        kyb,
        node,
        ("Starting", "Starting kubelet."),
        ("NodeHasSufficientMemory", f"Node {node} status is now: NodeHasSufficientMemory"),
        ("NodeHasNoDiskPressure", f"Node {node} status is now: NodeHasNoDiskPressure"),
        ("NodeHasSufficientPID", f"Node {node} status is now: NodeHasSufficientPID"),
        ("NodeReady", f"Node {node} status is now: NodeReady"),
        ("NodeAllocatableEnforced", "Updated Node Allocatable limit across pods"),
        kind="node",
    )
