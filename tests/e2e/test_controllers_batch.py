"""Batch and node loops end to end: kyb server with simulated nodes, driven by the real kubectl.

Jobs (parallelism cap, backoff limit, Indexed), a CronJob firing on the minute with history kept,
node IPAM, a node that stops heartbeating (Unknown + taints), and drain with a PodDisruptionBudget.
"""

from __future__ import annotations

import json
import os
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
    os.environ["KYB_NODE_MONITOR_GRACE_PERIOD"] = "8"
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
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}} in env
