"""Batch and node loops end to end: kyb server with simulated nodes, driven by the real kubectl.

Jobs (parallelism cap, backoff limit, Indexed), a CronJob firing on the minute with history kept,
node IPAM, a node that stops heartbeating (Unknown + taints), and drain with a PodDisruptionBudget.
"""

from __future__ import annotations

import calendar
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

PORT = 18941


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    saved = {k: os.environ.get(k) for k in ("KYB_SIM_NODES", "KYB_NODE_MONITOR_GRACE_PERIOD")}
    os.environ["KYB_SIM_NODES"] = "2"
    os.environ["KYB_NODE_MONITOR_GRACE_PERIOD"] = "22"  # above the sim Lease renewal period (10 s)
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-batch")), port=PORT)
    try:
        server.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield server
    finally:
        server.stop()


def get_json(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def wait_for(pred: Callable[[], Any], timeout: float, what: str, step: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def job_manifest(name: str, *, completions: int = 1, parallelism: int = 1, backoff: int = 6,
                 annotations: dict[str, str] | None = None, mode: str = "NonIndexed") -> str:
    return json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"completions": completions, "parallelism": parallelism, "backoffLimit": backoff,
                 "completionMode": mode,
                 "template": {"metadata": {"annotations": annotations or {}},
                              "spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "main", "image": "busybox"}]}}}})


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return dict(c)
    return None


def test_job_completes_with_parallelism_cap(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=job_manifest(
        "five", completions=5, parallelism=2, annotations={"sim.kybernetes.io/complete-after": "1s"}))
    max_active = 0

    def done() -> bool:
        nonlocal max_active
        job = get_json(kyb, "job", "five")
        pods = get_json(kyb, "pods", "-l", "batch.kubernetes.io/job-name=five")["items"]
        running = [p for p in pods if p["status"].get("phase") not in ("Succeeded", "Failed")
                   and not p["metadata"].get("deletionTimestamp")]
        max_active = max(max_active, len(running))
        c = condition(job, "Complete")
        return c is not None and c["status"] == "True"

    wait_for(done, 60, "job five to complete", step=0.3)
    job = get_json(kyb, "job", "five")
    assert job["status"]["succeeded"] == 5
    assert job["status"].get("failed", 0) == 0
    assert job["status"]["completionTime"]
    assert condition(job, "SuccessCriteriaMet") is not None
    assert max_active <= 2
    pods = get_json(kyb, "pods", "-l", "batch.kubernetes.io/job-name=five")["items"]
    assert len(pods) == 5
    assert all("batch.kubernetes.io/job-tracking" not in (p["metadata"].get("finalizers") or []) for p in pods)
    assert "5/5" in kyb.kubectl("get", "job", "five").stdout


def test_job_fails_at_backoff_limit(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=job_manifest(
        "failing", backoff=1, annotations={"sim.kybernetes.io/complete-after": "0.5s",
                                           "sim.kybernetes.io/exit-code": "3"}))

    def failed() -> dict[str, Any] | None:
        c = condition(get_json(kyb, "job", "failing"), "Failed")
        return c if c is not None and c["status"] == "True" else None

    c = wait_for(failed, 60, "job failing to fail")
    assert c["reason"] == "BackoffLimitExceeded"
    assert c["message"] == "Job has reached the specified backoff limit"
    job = get_json(kyb, "job", "failing")
    assert job["status"]["failed"] == 2
    events = kyb.kubectl("get", "events", "--field-selector", "involvedObject.name=failing").stdout
    assert "BackoffLimitExceeded" in events


def test_indexed_job(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=job_manifest(
        "idx", completions=3, parallelism=3, mode="Indexed",
        annotations={"sim.kybernetes.io/complete-after": "1s"}))

    def complete() -> bool:
        c = condition(get_json(kyb, "job", "idx"), "Complete")
        return c is not None and c["status"] == "True"

    wait_for(complete, 60, "indexed job to complete")
    job = get_json(kyb, "job", "idx")
    assert job["status"]["completedIndexes"] == "0-2"
    pods = get_json(kyb, "pods", "-l", "batch.kubernetes.io/job-name=idx")["items"]
    by_index = {p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]: p for p in pods}
    assert sorted(by_index) == ["0", "1", "2"]
    for i, p in by_index.items():
        assert p["spec"]["hostname"] == f"idx-{i}"
        assert p["metadata"]["name"].startswith(f"idx-{i}-")
        env = p["spec"]["containers"][0]["env"]
        assert {"name": "JOB_COMPLETION_INDEX", "valueFrom": {"fieldRef": {
            "apiVersion": "v1",
            "fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}} in env
        assert p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == i


def cronjob_manifest(name: str, schedule: str, **spec: Any) -> str:
    return json.dumps({
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
        "spec": {"schedule": schedule, **spec, "jobTemplate": {
            "metadata": {"labels": {"from": name}},
            "spec": {"template": {
                "metadata": {"annotations": {"sim.kybernetes.io/complete-after": "1s"}},
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}}}})


def test_cronjob_fires_and_keeps_history(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=cronjob_manifest("tick", "*/1 * * * *", successfulJobsHistoryLimit=1,
                                                            concurrencyPolicy="Forbid"))
    cj = get_json(kyb, "cronjob", "tick")
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick", "uid": cj["metadata"]["uid"],
             "controller": True, "blockOwnerDeletion": True}
    # Two old finished Jobs of this CronJob: the history limit of 1 keeps only the newer.
    for i, start in enumerate(("2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z")):
        name = f"tick-old-{i}"
        kyb.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "ownerReferences": [owner]},
            "spec": {"suspend": True, "template": {"spec": {"restartPolicy": "Never",
                                                             "containers": [{"name": "m", "image": "busybox"}]}}}}))
        kyb.kubectl("patch", "job", name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": {
            "startTime": start, "completionTime": start, "succeeded": 1,
            "conditions": [{"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached"},
                           {"type": "Complete", "status": "True", "reason": "CompletionsReached"}]}}))
    wait_for(lambda: "tick-old-0" not in kyb.kubectl("get", "jobs", "-o", "name").stdout, 20, "old job cleaned up")
    assert "tick-old-1" in kyb.kubectl("get", "jobs", "-o", "name").stdout

    def fired() -> list[dict[str, Any]]:
        return [j for j in get_json(kyb, "jobs", "-l", "from=tick")["items"]
                if not j["metadata"]["name"].startswith("tick-old")]

    jobs = wait_for(fired, 75, "the cronjob to fire", step=1)
    job = jobs[0]
    stamp = job["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    minutes = calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")) // 60
    assert job["metadata"]["name"] == f"tick-{minutes}"
    assert get_json(kyb, "cronjob", "tick")["status"]["lastScheduleTime"] == stamp

    def succeeded() -> Any:
        return get_json(kyb, "cronjob", "tick")["status"].get("lastSuccessfulTime")

    wait_for(succeeded, 30, "lastSuccessfulTime")
    # The finished Job left status.active (a later minute's Job may have joined it meanwhile).
    wait_for(lambda: all(a["name"] != job["metadata"]["name"]
                         for a in get_json(kyb, "cronjob", "tick")["status"].get("active") or []), 10, "active list")
    # The new success pushes the older history job out.
    wait_for(lambda: "tick-old-1" not in kyb.kubectl("get", "jobs", "-o", "name").stdout, 20, "history trimmed")
    kyb.kubectl("patch", "cronjob", "tick", "--type=merge", "-p", '{"spec":{"suspend":true}}')


def test_create_job_from_cronjob(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=cronjob_manifest("manual", "0 0 1 1 *"))
    kyb.kubectl("create", "job", "manual-now", "--from=cronjob/manual")

    def complete() -> bool:
        c = condition(get_json(kyb, "job", "manual-now"), "Complete")
        return c is not None and c["status"] == "True"

    wait_for(complete, 30, "job from cronjob to complete")


def test_nodes_get_pod_cidrs(kyb: KybServer) -> None:
    def cidrs() -> dict[str, str] | None:
        nodes = get_json(kyb, "nodes")["items"]
        got = {n["metadata"]["name"]: n["spec"].get("podCIDR") for n in nodes}
        return got if got and all(got.values()) else None

    got = wait_for(cidrs, 20, "podCIDRs")
    assert len(set(got.values())) == len(got)
    for cidr in got.values():
        assert cidr.startswith("10.42.") and cidr.endswith(".0/24")
    node = get_json(kyb, "nodes")["items"][0]
    assert node["spec"]["podCIDRs"] == [node["spec"]["podCIDR"]]


def test_silent_node_becomes_unknown_tainted_and_evicted(kyb: KybServer, tmp_path: Path) -> None:
    profile = tmp_path / "profile.yaml"
    profile.write_text("nodeGroups:\n- name: lonely\n  count: 1\n")
    log = open(tmp_path / "sim.log", "wb")  # noqa: SIM115 - closed below
    sim = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "sim", "--nodes", "1", "--profile",
                            str(profile), "--kubeconfig", str(kyb.kubeconfig)], stdout=log, stderr=subprocess.STDOUT,
                           start_new_session=True)
    try:
        wait_for(lambda: kyb.kubectl("get", "node", "lonely-0", check=False).returncode == 0, 30, "node lonely-0")
        kyb.kubectl("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stranded"},
            "spec": {"nodeName": "lonely-0", "containers": [{"name": "m", "image": "busybox"}],
                     "tolerations": [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 2}]}}))
        wait_for(lambda: get_json(kyb, "pod", "stranded")["status"].get("phase") == "Running", 20, "pod running")
    finally:
        sim.kill()
        sim.wait()
        log.close()

    def unknown() -> dict[str, Any] | None:
        c = condition(get_json(kyb, "node", "lonely-0"), "Ready")
        return c if c is not None and c["status"] == "Unknown" else None

    c = wait_for(unknown, 40, "node Ready=Unknown")
    assert c["reason"] == "NodeStatusUnknown"
    assert c["message"] == "Kubelet stopped posting node status."

    def taints() -> set[tuple[str, str]]:
        node = get_json(kyb, "node", "lonely-0")
        return {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}

    want = {("node.kubernetes.io/unreachable", "NoExecute"), ("node.kubernetes.io/unreachable", "NoSchedule")}
    wait_for(lambda: want <= taints(), 20, "unreachable taints")

    def evicted() -> bool:
        pod = get_json(kyb, "pod", "stranded")
        return bool(pod["metadata"].get("deletionTimestamp"))

    wait_for(evicted, 20, "taint eviction of the stranded pod")
    pod = get_json(kyb, "pod", "stranded")
    ready = condition(pod, "Ready")
    assert ready is not None and ready["status"] == "False"
    target = condition(pod, "DisruptionTarget")
    assert target is not None and target["reason"] == "DeletionByTaintManager"
    # Pod GC: once the Node is gone, its pods go too.
    kyb.kubectl("delete", "node", "lonely-0")
    wait_for(lambda: kyb.kubectl("get", "pod", "stranded", check=False).returncode != 0, 45, "orphan pod collected")


def test_pdb_status_and_drain(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=2")
    kyb.kubectl("create", "pdb", "web", "--selector=app=web", "--min-available=2")

    def budget() -> dict[str, Any] | None:
        st = get_json(kyb, "pdb", "web").get("status") or {}
        return st if st.get("currentHealthy") == 2 else None

    st = wait_for(budget, 40, "pdb status with 2 healthy pods")
    assert st["desiredHealthy"] == 2
    assert st["expectedPods"] == 2
    assert st["disruptionsAllowed"] == 0
    cond = condition({"status": st}, "DisruptionAllowed")
    assert cond is not None and (cond["status"], cond["reason"]) == ("False", "InsufficientPods")

    pods = get_json(kyb, "pods", "-l", "app=web")["items"]
    node = pods[0]["spec"]["nodeName"]
    blocked = kyb.kubectl("drain", node, "--ignore-daemonsets", "--timeout=7s", check=False)
    assert blocked.returncode != 0
    assert "Cannot evict pod as it would violate the pod's disruption budget." in blocked.stderr + blocked.stdout
    assert get_json(kyb, "node", node)["spec"].get("unschedulable") is True

    kyb.kubectl("patch", "pdb", "web", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')

    def allowed() -> bool:
        s = get_json(kyb, "pdb", "web").get("status") or {}
        return s.get("disruptionsAllowed") == 1 and s.get("observedGeneration") == 2

    wait_for(allowed, 20, "pdb to allow one disruption " + kyb.kubectl("get", "pdb", "web", "-o", "yaml").stdout)
    drained = kyb.kubectl("drain", node, "--ignore-daemonsets", "--timeout=90s", timeout=120)
    assert f"node/{node} drained" in drained.stdout
    assert "evicted" in drained.stdout

    def replaced() -> bool:
        items = get_json(kyb, "pods", "-l", "app=web")["items"]
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        return len(live) == 2 and all(p["spec"].get("nodeName") and p["spec"]["nodeName"] != node for p in live)

    wait_for(replaced, 40, "replacement pods off the drained node")
    kyb.kubectl("uncordon", node)
    assert not get_json(kyb, "node", node)["spec"].get("unschedulable")


def test_ttl_after_finished_deletes_job(kyb: KybServer) -> None:
    manifest = json.loads(job_manifest("brief", annotations={"sim.kybernetes.io/complete-after": "0.5s"}))
    manifest["spec"]["ttlSecondsAfterFinished"] = 2
    kyb.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    wait_for(lambda: kyb.kubectl("get", "job", "brief", check=False).returncode != 0, 40, "job deleted after its TTL")
