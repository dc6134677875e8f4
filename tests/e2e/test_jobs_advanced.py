"""Job policies end to end: kyb server with simulated nodes, driven by the real kubectl.

A podFailurePolicy FailJob rule on exit code 42 fails the Job with upstream's condition message;
an Indexed Job with backoffLimitPerIndex retries its failing index once, carries the failure count
to the retry and then lists the index in status.failedIndexes; a successPolicy Job completes as
soon as index 0 succeeds while its other pods still run.

The simulator's profile decides which pods exit and how: pods are told apart by labels (the Job
name label and the completion-index label the controller sets).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kybernetes.testing.cluster import KybServer

INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
JOB_LABEL = "batch.kubernetes.io/job-name"

PROFILE = {
    "defaultPodBehaviour": {"completeAfter": None},  # run until deleted
    "podBehaviours": [
        {"selector": {"matchLabels": {JOB_LABEL: "exit42"}}, "completeAfter": "1s", "exitCode": 42},
        {
            "selector": {"matchLabels": {JOB_LABEL: "per-index", INDEX_LABEL: "1"}},
            "completeAfter": "1s",
            "exitCode": 3,
        },
        {"selector": {"matchLabels": {JOB_LABEL: "per-index"}}, "completeAfter": "1s", "exitCode": 0},
        {
            "selector": {"matchLabels": {JOB_LABEL: "first-wins", INDEX_LABEL: "0"}},
            "completeAfter": "1s",
            "exitCode": 0,
        },
    ],
}


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    data = Path(tempfile.mkdtemp(prefix="kyb-jobs-", dir="/tmp"))
    profile = data / "sim-profile.yaml"
    profile.write_text(yaml.safe_dump(PROFILE))
    server = KybServer(data / "server", env={"KYB_SIM_NODES": "2", "KYB_SIM_PROFILE": str(profile)})
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


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


def apply(kyb: KybServer, name: str, **spec: Any) -> None:
    body: dict[str, Any] = {
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "busybox"}]}}
    }
    body.update(spec)
    manifest = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": body}
    kyb.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def conditions(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (job.get("status") or {}).get("conditions") or []}


def test_fail_job_rule_on_exit_code(kyb: KybServer) -> None:
    apply(
        kyb,
        "exit42",
        backoffLimit=6,
        podFailurePolicy={
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {"containerName": "app", "operator": "In", "values": [42]},
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            ]
        },
    )
    kyb.kubectl("wait", "--for=condition=Failed", "job/exit42", "--timeout=60s", timeout=70)
    job = get_json(kyb, "job", "exit42")
    pods = get_json(kyb, "pods", "-l", f"{JOB_LABEL}=exit42")["items"]
    assert len(pods) == 1  # FailJob: no replacement despite backoffLimit 6
    want = (
        f"Container app for pod default/{pods[0]['metadata']['name']} failed with exit code 42 "
        "matching FailJob rule at index 0"
    )
    conds = conditions(job)
    assert list(conds) == ["FailureTarget", "Failed"]
    assert (conds["Failed"]["reason"], conds["Failed"]["message"]) == ("PodFailurePolicy", want)
    assert conds["FailureTarget"]["message"] == want
    assert job["spec"]["podReplacementPolicy"] == "Failed"  # defaulted from the policy
    assert job["status"]["failed"] == 1


def test_backoff_limit_per_index_lists_failed_indexes(kyb: KybServer) -> None:
    apply(kyb, "per-index", completionMode="Indexed", completions=3, parallelism=3, backoffLimitPerIndex=1)
    kyb.kubectl("wait", "--for=condition=Failed", "job/per-index", "--timeout=90s", timeout=100)
    job = get_json(kyb, "job", "per-index")
    st = job["status"]
    assert (st["failedIndexes"], st["completedIndexes"]) == ("1", "0,2")
    assert (st["failed"], st["succeeded"]) == (2, 2)  # index 1 ran twice (limit 1 = one retry)
    failed = conditions(job)["Failed"]
    assert (failed["reason"], failed["message"]) == ("FailedIndexes", "Job has failed indexes")
    assert job["spec"]["backoffLimit"] == 2**31 - 1  # defaulted when a per-index limit is set
    counts = sorted(
        p["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"]
        for p in get_json(kyb, "pods", "-l", f"{JOB_LABEL}=per-index,{INDEX_LABEL}=1")["items"]
    )
    assert counts in (["0", "1"], ["1"])  # the first pod may be gone already; the retry carries 1


def test_success_policy_completes_when_index_0_succeeds(kyb: KybServer) -> None:
    apply(
        kyb,
        "first-wins",
        completionMode="Indexed",
        completions=3,
        parallelism=3,
        successPolicy={"rules": [{"succeededIndexes": "0"}]},
    )
    kyb.kubectl("wait", "--for=condition=Complete", "job/first-wins", "--timeout=60s", timeout=70)
    job = get_json(kyb, "job", "first-wins")
    conds = conditions(job)
    assert list(conds) == ["SuccessCriteriaMet", "Complete"]
    assert (conds["Complete"]["reason"], conds["Complete"]["message"]) == (
        "SuccessPolicy",
        "Matched rules at index 0",
    )
    assert job["status"]["completedIndexes"] == "0" and job["status"].get("completionTime")
    # indexes 1 and 2 never finish on their own: they were terminated
    wait_for(
        lambda: (
            [
                p["metadata"]["name"]
                for p in get_json(kyb, "pods", "-l", f"{JOB_LABEL}=first-wins")["items"]
                if p["status"].get("phase") != "Succeeded"
            ]
            == []
        ),
        30,
        "the other pods to be removed",
    )


def test_invalid_policy_rejected_by_kubectl(kyb: KybServer) -> None:
    manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "bad"},
        "spec": {
            "podFailurePolicy": {
                "rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [0]}}]
            },
            "template": {
                "spec": {"restartPolicy": "OnFailure", "containers": [{"name": "app", "image": "busybox"}]}
            },
        },
    }
    proc = kyb.kubectl("apply", "-f", "-", input=json.dumps(manifest), check=False)
    assert proc.returncode != 0
    for fragment in (
        'spec.podFailurePolicy.rules[0].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        "spec.podFailurePolicy.rules[0].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when '
        "podFailurePolicy is specified",
    ):
        assert fragment in proc.stderr, proc.stderr
