"""Kubelet status and events on a real node (containerd, kubectl): evicted pods, cordons.

A pod writing past its ephemeral-storage limit is evicted: phase Failed, reason Evicted, and its
container, killed at once, shows ``terminated`` with the real exit code of the kill (137) in
`kubectl get pod -o json`, not the ``running`` it had before. Disk monitoring is shortened
through the agent's environment knob.

A cordon and an uncordon appear as the node's NodeNotSchedulable / NodeSchedulable events.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DATA = Path("/tmp/kyb-ef1")
PORT = 18986
CIDR = "10.164.0.0/16"
BRIDGE = "kybef0"
KNOBS = {"KYB_EVICTION_MONITORING_PERIOD": "2"}


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


def hog() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hog"},
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "busybox:1.36",
                    "command": ["sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=20; sleep 3600"],
                    "resources": {"limits": {"ephemeral-storage": "10Mi"}},
                    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                }
            ],
            "volumes": [{"name": "scratch", "emptyDir": {}}],
            "terminationGracePeriodSeconds": 1,
        },
    }


def test_evicted_pod_shows_its_container_terminated(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=json.dumps(hog()))
    wait_for(
        lambda: (
            "running"
            in ((pod(kyb, "hog").get("status", {}).get("containerStatuses") or [{}])[0].get("state") or {})
        ),
        timeout=60,
        what="hog running",
    )
    status = wait_for(
        lambda: (
            (s := pod(kyb, "hog").get("status", {})).get("reason") == "Evicted"
            and "terminated" in ((s.get("containerStatuses") or [{}])[0].get("state") or {})
            and s
        ),
        timeout=90,
        what="hog evicted and its container terminated",
    )
    assert status["phase"] == "Failed"
    assert (
        status["message"] == "Pod ephemeral local storage usage exceeds the total limit of containers 10Mi. "
    )
    app = status["containerStatuses"][0]
    terminated = app["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")
    assert terminated["finishedAt"] and app["ready"] is False and app["started"] is False
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodFailed")


def node_events(kyb: KybServer, reason: str) -> list[str]:
    out = kyb.kubectl(
        "get",
        "events",
        "-n",
        "default",
        "--field-selector",
        f"involvedObject.kind=Node,reason={reason}",
        "-o",
        "json",
    )
    return [e["message"] for e in json.loads(out.stdout)["items"]]


def test_cordon_and_uncordon_are_told_as_node_events(kyb: KybServer) -> None:
    node = json.loads(kyb.kubectl("get", "nodes", "-o", "json").stdout)["items"][0]["metadata"]["name"]
    kyb.kubectl("cordon", node)
    try:
        got = wait_for(lambda: node_events(kyb, "NodeNotSchedulable"), timeout=40, what="NodeNotSchedulable")
        assert got == [f"Node {node} status is now: NodeNotSchedulable"]
    finally:
        kyb.kubectl("uncordon", node)
    got = wait_for(lambda: node_events(kyb, "NodeSchedulable"), timeout=40, what="NodeSchedulable")
    assert got == [f"Node {node} status is now: NodeSchedulable"]
