"""ReplicaSets, ReplicationControllers and Deployments end to end: real kubectl against kyb server
with three simulated nodes (pods really become Running and Ready, so availability is real)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, sim_cluster

PORT = 18902


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    yield from sim_cluster(Path(tmp_path_factory.mktemp("kyb-workloads")), PORT)


def wait_for(check: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def pods(kyb: KybServer, selector: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(kyb.kubectl("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
    return items


def live(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def running(kyb: KybServer, selector: str) -> int:
    return sum(1 for p in live(pods(kyb, selector)) if p.get("status", {}).get("phase") == "Running")


def test_deployment_pods_replacement_and_scaling(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "basic", "--image=busybox", "--replicas=3")
    wait_for(lambda: running(kyb, "app=basic") == 3, what="3 running pods")
    out = kyb.kubectl("get", "pods", "-l", "app=basic").stdout
    assert out.count("Running") == 3
    victim = live(pods(kyb, "app=basic"))[0]["metadata"]["name"]
    kyb.kubectl("delete", "pod", victim, "--wait=false")
    wait_for(lambda: running(kyb, "app=basic") == 3
             and victim not in {p["metadata"]["name"] for p in live(pods(kyb, "app=basic"))}, what="replacement")
    kyb.kubectl("scale", "deploy/basic", "--replicas=5")
    wait_for(lambda: running(kyb, "app=basic") == 5, what="scale up")
    kyb.kubectl("scale", "deploy/basic", "--replicas=2")
    wait_for(lambda: len(live(pods(kyb, "app=basic"))) == 2, what="scale down")
    status = kyb.kubectl("rollout", "status", "deploy/basic", "--timeout=30s").stdout
    assert 'deployment "basic" successfully rolled out' in status
    rs = json.loads(kyb.kubectl("get", "rs", "-l", "app=basic", "-o", "json").stdout)["items"]
    assert len(rs) == 1
    assert rs[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    events = kyb.kubectl("get", "events", "--field-selector", f"involvedObject.name={rs[0]['metadata']['name']}").stdout
    assert "SuccessfulCreate" in events and "SuccessfulDelete" in events


def test_rolling_update_stays_within_surge_and_unavailable(kyb: KybServer) -> None:
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: roll}
spec:
  replicas: 4
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 1}}
  selector: {matchLabels: {app: roll}}
  template:
    metadata:
      labels: {app: roll}
      # Long enough that the rollout (at least two waves) outlasts the first observation below.
      annotations: {sim.kybernetes.io/startup-delay: 1500ms}
    spec: {containers: [{name: app, image: "busybox:1"}]}
"""
    kyb.kubectl("apply", "-f", "-", input=manifest)
    kyb.kubectl("rollout", "status", "deploy/roll", "--timeout=40s")
    kyb.kubectl("set", "image", "deploy/roll", "app=busybox:2")
    kyb.kubectl("annotate", "deploy/roll", "kubernetes.io/change-cause=busybox 2")
    seen_images: set[str] = set()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        current = live(pods(kyb, "app=roll"))
        ready = [p for p in current if any(c["type"] == "Ready" and c["status"] == "True"
                                           for c in p.get("status", {}).get("conditions", []))]
        # The controller only counts pods it knows about; terminating pods are not counted, as upstream.
        assert len(current) <= 4 + 1, [p["metadata"]["name"] for p in current]
        assert len(ready) >= 4 - 1 - 1, "one unavailable allowed (plus one for a pod changing state between reads)"
        seen_images |= {p["spec"]["containers"][0]["image"] for p in current}
        d = json.loads(kyb.kubectl("get", "deploy/roll", "-o", "json").stdout)
        s = d.get("status", {})
        if (s.get("updatedReplicas") == 4 and s.get("availableReplicas") == 4 and s.get("replicas") == 4
                and s.get("observedGeneration", 0) >= d["metadata"]["generation"]):
            break
    assert "busybox:1" in seen_images and "busybox:2" in seen_images
    out = kyb.kubectl("rollout", "status", "deploy/roll", "--timeout=30s").stdout
    assert 'deployment "roll" successfully rolled out' in out
    hist = kyb.kubectl("rollout", "history", "deploy/roll").stdout
    assert "REVISION" in hist and "CHANGE-CAUSE" in hist
    assert any(line.split()[:1] == ["2"] and "busybox 2" in line for line in hist.splitlines()), hist

    # Undo goes back to revision 1's template: the old ReplicaSet is reused with revision 3.
    kyb.kubectl("rollout", "undo", "deploy/roll")
    kyb.kubectl("rollout", "status", "deploy/roll", "--timeout=40s")
    rss = json.loads(kyb.kubectl("get", "rs", "-l", "app=roll", "-o", "json").stdout)["items"]
    assert len(rss) == 2
    by_image = {r["spec"]["template"]["spec"]["containers"][0]["image"]: r for r in rss}
    assert by_image["busybox:1"]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert by_image["busybox:1"]["spec"]["replicas"] == 4 and by_image["busybox:2"]["spec"]["replicas"] == 0
    assert {p["spec"]["containers"][0]["image"] for p in live(pods(kyb, "app=roll"))} == {"busybox:1"}

    kyb.kubectl("rollout", "undo", "deploy/roll", "--to-revision=2")
    kyb.kubectl("rollout", "status", "deploy/roll", "--timeout=40s")
    wait_for(lambda: {p["spec"]["containers"][0]["image"] for p in live(pods(kyb, "app=roll"))} == {"busybox:2"},
             what="pods of revision 2")
    d = json.loads(kyb.kubectl("get", "deploy/roll", "-o", "json").stdout)
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "4"
    conds = {c["type"]: c for c in d["status"]["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"


def test_pause_resume_and_restart(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "paws", "--image=busybox:1", "--replicas=2")
    kyb.kubectl("rollout", "status", "deploy/paws", "--timeout=30s")
    kyb.kubectl("rollout", "pause", "deploy/paws")
    kyb.kubectl("set", "image", "deploy/paws", "busybox=busybox:2")
    kyb.kubectl("scale", "deploy/paws", "--replicas=3")  # paused deployments still scale
    wait_for(lambda: running(kyb, "app=paws") == 3, what="scaled while paused")
    time.sleep(1)
    rss = json.loads(kyb.kubectl("get", "rs", "-l", "app=paws", "-o", "json").stdout)["items"]
    assert len(rss) == 1
    d = json.loads(kyb.kubectl("get", "deploy/paws", "-o", "json").stdout)
    assert {c["type"]: c["reason"] for c in d["status"]["conditions"]}["Progressing"] == "DeploymentPaused"
    kyb.kubectl("rollout", "resume", "deploy/paws")
    kyb.kubectl("rollout", "status", "deploy/paws", "--timeout=40s")
    assert {p["spec"]["containers"][0]["image"] for p in live(pods(kyb, "app=paws"))} == {"busybox:2"}
    kyb.kubectl("rollout", "restart", "deploy/paws")
    kyb.kubectl("rollout", "status", "deploy/paws", "--timeout=40s")
    rss = json.loads(kyb.kubectl("get", "rs", "-l", "app=paws", "-o", "json").stdout)["items"]
    assert len(rss) == 3


def test_recreate_strategy(kyb: KybServer) -> None:
    manifest = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: rec}
spec:
  replicas: 2
  strategy: {type: Recreate}
  selector: {matchLabels: {app: rec}}
  template:
    metadata: {labels: {app: rec}}
    spec: {containers: [{name: app, image: "busybox:1"}]}
"""
    kyb.kubectl("apply", "-f", "-", input=manifest)
    kyb.kubectl("rollout", "status", "deploy/rec", "--timeout=30s")
    kyb.kubectl("set", "image", "deploy/rec", "app=busybox:2")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        images = {p["spec"]["containers"][0]["image"] for p in pods(kyb, "app=rec")}
        assert images != {"busybox:1", "busybox:2"}, "Recreate never runs old and new pods together"
        if images == {"busybox:2"} and running(kyb, "app=rec") == 2:
            break
        time.sleep(0.1)
    kyb.kubectl("rollout", "status", "deploy/rec", "--timeout=30s")


def test_canary_two_deployments_share_a_label(kyb: KybServer) -> None:
    for track, replicas, image in (("stable", 3, "busybox:1"), ("canary", 1, "busybox:2")):
        kyb.kubectl("apply", "-f", "-", input=f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: shop-{track}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: shop, track: {track}}}}}
  template:
    metadata: {{labels: {{app: shop, track: {track}}}}}
    spec: {{containers: [{{name: app, image: "{image}"}}]}}
""")
    wait_for(lambda: running(kyb, "app=shop") == 4, what="4 shop pods")
    assert running(kyb, "app=shop,track=stable") == 3
    assert running(kyb, "app=shop,track=canary") == 1


def test_replicaset_adopts_orphans_and_rc_keeps_replicas(kyb: KybServer) -> None:
    kyb.kubectl("run", "stray", "--image=busybox", "--labels=app=adopt")
    kyb.kubectl("apply", "-f", "-", input="""
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: adopt}
spec:
  replicas: 2
  selector: {matchLabels: {app: adopt}}
  template:
    metadata: {labels: {app: adopt}}
    spec: {containers: [{name: app, image: busybox}]}
""")
    wait_for(lambda: running(kyb, "app=adopt") == 2, what="2 adopt pods")
    stray = json.loads(kyb.kubectl("get", "pod", "stray", "-o", "json").stdout)
    assert stray["metadata"]["ownerReferences"][0]["name"] == "adopt"
    kyb.kubectl("label", "pod", "stray", "app=free", "--overwrite")  # released, replaced
    wait_for(lambda: running(kyb, "app=adopt") == 2, what="replacement after release")
    freed = json.loads(kyb.kubectl("get", "pod", "stray", "-o", "json").stdout)
    assert not freed["metadata"].get("ownerReferences")
    kyb.kubectl("apply", "-f", "-", input="""
apiVersion: v1
kind: ReplicationController
metadata: {name: legacy}
spec:
  replicas: 2
  selector: {app: legacy}
  template:
    metadata: {labels: {app: legacy}}
    spec: {containers: [{name: app, image: busybox}]}
""")
    wait_for(lambda: running(kyb, "app=legacy") == 2, what="2 rc pods")
    rc = wait_for(lambda: (r := json.loads(kyb.kubectl("get", "rc", "legacy", "-o", "json").stdout))
                  .get("status", {}).get("readyReplicas") == 2 and r, what="rc status")
    assert rc["status"]["replicas"] == 2
