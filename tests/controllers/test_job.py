"""Job decisions as tables: accounting with finalizer tracking, backoff, failure policy, plans, pods."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers.job import logic

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def job(**spec: Any) -> dict[str, Any]:
    status = spec.pop("status", {})
    base = {"parallelism": 1, "completions": 1, "backoffLimit": 6, "completionMode": "NonIndexed",
            "podReplacementPolicy": "TerminatingOrFailed",
            "template": {"metadata": {"labels": {"app": "x"}},
                         "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}}}
    base.update(spec)
    return {"metadata": {"name": "j", "namespace": "ns", "uid": "job-uid"}, "spec": base, "status": status}


def pod(uid: str, phase: str = "Running", *, finalizer: bool = True, ready: bool = True, index: int | None = None,
        exit_code: int | None = None, deleting: bool = False, restarts: int = 0,
        finished: str = "2024-05-01T11:59:00Z") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": f"p-{uid}", "uid": uid, "creationTimestamp": "2024-05-01T11:00:00Z"}
    if finalizer:
        meta["finalizers"] = [logic.TRACKING_FINALIZER]
    if index is not None:
        meta["annotations"] = {logic.INDEX_ANNOTATION: str(index)}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T11:59:00Z"
    cs: dict[str, Any] = {"name": "main", "restartCount": restarts, "state": {"running": {}}}
    if exit_code is not None:
        cs["state"] = {"terminated": {"exitCode": exit_code, "finishedAt": finished}}
    return {"metadata": meta, "spec": {"nodeName": "n1"},
            "status": {"phase": phase, "containerStatuses": [cs],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize(("failures", "want"), [(0, 0), (1, 10), (2, 20), (3, 40), (6, 320), (7, 360), (60, 360)],
                         ids=lambda v: str(v))
def test_backoff_delay(failures: int, want: float) -> None:
    assert logic.backoff_delay(failures) == want


def test_backoff_record_resets_on_success() -> None:
    r = logic.BackoffRecord()
    r.observe([], [pod("a", "Failed", exit_code=1)], NOW)
    assert r.remaining(NOW) == pytest.approx(0.0)  # failed at 11:59, 10 s backoff long over
    r.observe([], [pod("b", "Failed", exit_code=1, finished="2024-05-01T11:59:55Z")], NOW)
    assert r.remaining(NOW) == pytest.approx(15.0)  # second failure: 20 s from 11:59:55
    r.observe([pod("c", "Succeeded", exit_code=0)], [], NOW)
    assert r.remaining(NOW) == 0.0


@pytest.mark.parametrize(("indexes", "text"), [
    ([], ""), ([0], "0"), ([0, 1, 2], "0-2"), ([0, 2, 3, 4, 7], "0,2-4,7"), ([5, 1, 1], "1,5"),
], ids=["empty", "one", "run", "mixed", "unsorted"])
def test_index_format_roundtrip(indexes: list[int], text: str) -> None:
    assert logic.format_indexes(indexes) == text
    assert logic.parse_indexes(text, 10) == set(indexes)


def test_account_only_new_finished_pods_with_finalizer() -> None:
    j = job(status={"uncountedTerminatedPods": {"succeeded": ["old"]}})
    pods = [pod("old", "Succeeded", exit_code=0), pod("new-ok", "Succeeded", exit_code=0),
            pod("new-bad", "Failed", exit_code=2), pod("done-before", "Succeeded", finalizer=False, exit_code=0),
            pod("running"), pod("terminating", deleting=True)]
    acct = logic.account(j, pods)
    assert [logic.uid(p) for p in acct.succeeded] == ["new-ok"]
    assert sorted(logic.uid(p) for p in acct.failed) == ["new-bad", "terminating"]
    st = logic.with_uncounted(j, acct)
    assert st["uncountedTerminatedPods"]["succeeded"] == ["old", "new-ok"]
    assert logic.flush_uncounted(st, {"old", "new-ok", "new-bad"})
    assert (st["succeeded"], st["failed"]) == (2, 1)
    assert st["uncountedTerminatedPods"] == {"failed": ["terminating"]}


def test_only_failed_pods_replaced_with_failure_policy() -> None:
    j = job(podReplacementPolicy="Failed")
    assert logic.account(j, [pod("t", deleting=True)]).failed == []


POLICY = {"rules": [
    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
    {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}},
    {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [42]}},
]}


@pytest.mark.parametrize(("p", "action", "message"), [
    (pod("a", "Failed", exit_code=42), "FailJob",
     "Container main for pod ns/p-a failed with exit code 42 matching FailJob rule at index 1"),
    (pod("b", "Failed", exit_code=1), "Count", "Container main for pod ns/p-b failed with exit code 1 matching Count rule at index 2"),
    (dict(pod("c", "Failed", exit_code=1), status={"phase": "Failed", "conditions": [
        {"type": "DisruptionTarget", "status": "True"}]}), "Ignore",
     "Pod ns/p-c has condition DisruptionTarget matching Ignore rule at index 0"),
    (pod("d", "Running"), None, ""),
], ids=["failjob", "count", "ignore-condition", "running"])
def test_failure_policy(p: dict[str, Any], action: str | None, message: str) -> None:
    j = job(podFailurePolicy=POLICY)
    for pp in [p]:
        pp["metadata"]["namespace"] = "ns"
    assert logic.match_failure_policy(j, p) == (action, message)


def test_failjob_rule_sets_failure() -> None:
    p = pod("a", "Failed", exit_code=42)
    p["metadata"]["namespace"] = "ns"
    acct = logic.account(job(podFailurePolicy=POLICY), [p])
    assert acct.failure is not None and acct.failure[0] == "PodFailurePolicy"


@pytest.mark.parametrize(("j", "pods", "create", "delete", "failure", "success"), [
    (job(completions=5, parallelism=2), [], 2, 0, None, False),
    (job(completions=5, parallelism=2), [pod("a")], 1, 0, None, False),
    (job(completions=5, parallelism=2, status={"succeeded": 4}), [pod("a"), pod("b")], 0, 1, None, False),
    (job(completions=2, status={"succeeded": 2}), [], 0, 0, None, True),
    (job(completions=None, parallelism=3, status={"succeeded": 1}), [pod("a")], 0, 0, None, False),
    (job(completions=None, parallelism=3, status={"succeeded": 1}), [], 0, 0, None, True),
    (job(backoffLimit=1, status={"failed": 2}), [pod("a")], 0, 1, "BackoffLimitExceeded", False),
    (job(backoffLimit=1, status={"failed": 1}), [], 1, 0, None, False),
    (job(backoffLimit=2, template={"spec": {"restartPolicy": "OnFailure"}}), [pod("a", restarts=2)], 0, 1,
     "BackoffLimitExceeded", False),
    (job(activeDeadlineSeconds=10, status={"startTime": "2024-05-01T11:59:00Z"}), [pod("a")], 0, 1,
     "DeadlineExceeded", False),
    (job(suspend=True), [pod("a")], 0, 1, None, False),
    (job(status={"conditions": [{"type": "FailureTarget", "status": "True", "reason": "R", "message": "M"}]}),
     [pod("a")], 0, 1, "R", False),
], ids=["start-two", "top-up", "scale-down-near-end", "done", "workqueue-running", "workqueue-done",
        "backoff-exceeded", "backoff-not-yet", "onfailure-restarts", "deadline", "suspended", "failure-target-sticks"])
def test_decide(j: dict[str, Any], pods: list[dict[str, Any]], create: int, delete: int, failure: str | None,
                success: bool) -> None:
    plan = logic.decide(j, pods, now=NOW)
    assert plan.create == create
    assert len(plan.delete) == delete
    assert (plan.failure[0] if plan.failure else None) == failure
    assert plan.success is success


def test_decide_backoff_delays_creation() -> None:
    plan = logic.decide(job(status={"failed": 1}), [], now=NOW, backoff_remaining=12.0)
    assert plan.create == 0
    assert plan.requeue_after == 12.0


def test_decide_indexed() -> None:
    j = job(completionMode="Indexed", completions=4, parallelism=3, status={"completedIndexes": "0"})
    plan = logic.decide(j, [pod("a", index=2), pod("b", index=2, ready=False)], now=NOW)
    assert plan.create_indexes == [1, 3]
    assert [logic.uid(p) for p in plan.delete] == ["b"]


def test_pod_for_indexed() -> None:
    p = logic.pod_for(job(completionMode="Indexed", completions=3), 1)
    assert p["metadata"]["generateName"] == "j-1-"
    assert p["metadata"]["annotations"][logic.INDEX_ANNOTATION] == "1"
    assert p["metadata"]["labels"] == {"app": "x", logic.INDEX_LABEL: "1"}
    assert p["metadata"]["finalizers"] == [logic.TRACKING_FINALIZER]
    assert p["metadata"]["ownerReferences"][0]["uid"] == "job-uid"
    assert p["spec"]["hostname"] == "j-1"
    assert p["spec"]["containers"][0]["env"][-1]["name"] == "JOB_COMPLETION_INDEX"


def test_set_condition_keeps_transition_time() -> None:
    st: dict[str, Any] = {}
    assert logic.set_condition(st, "Suspended", "True", "JobSuspended", "Job suspended", NOW)
    assert not logic.set_condition(st, "Suspended", "True", "JobSuspended", "Job suspended", NOW)
    later = NOW + dt.timedelta(minutes=1)
    assert logic.set_condition(st, "Suspended", "False", "JobResumed", "Job resumed", later)
    assert st["conditions"][0]["lastTransitionTime"] == "2024-05-01T12:01:00Z"
