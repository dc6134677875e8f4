"""Job policy decisions as tables: pod failure policy matching, per-index backoff (failure counts,
failed indexes, delayed deletions, per-index backoff), success policies, managedBy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers.job import logic, perindex

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
Obj = dict[str, Any]


def job(**spec: Any) -> Obj:
    status = spec.pop("status", {})
    base: Obj = {
        "parallelism": 3,
        "completions": 3,
        "backoffLimit": 6,
        "completionMode": "Indexed",
        "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "app", "image": "b"}]}},
    }
    base.update(spec)
    return {"metadata": {"name": "j", "namespace": "ns", "uid": "job-uid"}, "spec": base, "status": status}


def pod(
    uid: str,
    phase: str = "Running",
    *,
    index: int | None = None,
    exit_code: int | None = None,
    container: str = "app",
    init_exit: int | None = None,
    conditions: list[Obj] | None = None,
    failures: int | None = None,
    ignored: int | None = None,
    finished: str = "2024-05-01T11:59:00Z",
    finalizer: bool = True,
) -> Obj:
    ann: dict[str, str] = {}
    if index is not None:
        ann[logic.INDEX_ANNOTATION] = str(index)
    if failures is not None:
        ann[perindex.FAILURE_COUNT_ANNOTATION] = str(failures)
    if ignored is not None:
        ann[perindex.IGNORED_FAILURE_COUNT_ANNOTATION] = str(ignored)
    meta: Obj = {
        "name": f"p-{uid}",
        "namespace": "ns",
        "uid": uid,
        "annotations": ann,
        "creationTimestamp": "2024-05-01T11:00:00Z",
    }
    if finalizer:
        meta["finalizers"] = [logic.TRACKING_FINALIZER]
    st: Obj = {"phase": phase, "conditions": conditions or []}
    if exit_code is not None:
        st["containerStatuses"] = [
            {"name": container, "state": {"terminated": {"exitCode": exit_code, "finishedAt": finished}}}
        ]
    if init_exit is not None:
        st["initContainerStatuses"] = [
            {"name": "init", "state": {"terminated": {"exitCode": init_exit, "finishedAt": finished}}}
        ]
    return {"metadata": meta, "spec": {"nodeName": "n1"}, "status": st}


def codes_rule(action: str, op: str, values: list[int], container: str | None = None) -> Obj:
    req: Obj = {"operator": op, "values": values}
    if container is not None:
        req["containerName"] = container
    return {"action": action, "onExitCodes": req}


def cond_rule(action: str, *types: str) -> Obj:
    return {"action": action, "onPodConditions": [{"type": t, "status": "True"} for t in types]}


DISRUPTED = [{"type": "Ready", "status": "False"}, {"type": "DisruptionTarget", "status": "True"}]

MATCH = [
    (
        "failjob-in",
        [codes_rule("FailJob", "In", [42])],
        pod("a", "Failed", exit_code=42),
        (
            "FailJob",
            "Container app for pod ns/p-a failed with exit code 42 matching FailJob rule at index 0",
            True,
        ),
    ),
    (
        "notin-skips-listed",
        [codes_rule("FailJob", "NotIn", [42]), codes_rule("Count", "In", [42])],
        pod("a", "Failed", exit_code=42),
        (
            "Count",
            "Container app for pod ns/p-a failed with exit code 42 matching Count rule at index 1",
            True,
        ),
    ),
    (
        "other-container",
        [codes_rule("FailJob", "In", [42], container="side")],
        pod("a", "Failed", exit_code=42),
        (None, "", True),
    ),
    (
        "init-container",
        [codes_rule("FailIndex", "In", [3])],
        pod("a", "Failed", exit_code=0, init_exit=3),
        (
            "FailIndex",
            "Container init for pod ns/p-a failed with exit code 3 matching FailIndex rule at index 0",
            True,
        ),
    ),
    (
        "exit-zero-never-matches",
        [codes_rule("FailJob", "NotIn", [1])],
        pod("a", "Failed", exit_code=0),
        (None, "", True),
    ),
    (
        "ignore-disruption",
        [cond_rule("Ignore", "DisruptionTarget")],
        pod("a", "Failed", conditions=DISRUPTED),
        ("Ignore", "Pod ns/p-a has condition DisruptionTarget matching Ignore rule at index 0", False),
    ),
    (
        "conditions-in-pod-order",
        [cond_rule("FailJob", "DisruptionTarget", "Ready")],
        pod("a", "Failed", conditions=[{"type": "Ready", "status": "True"}, *DISRUPTED[1:]]),
        ("FailJob", "Pod ns/p-a has condition Ready matching FailJob rule at index 0", True),
    ),
    (
        "unknown-action-skipped",
        [codes_rule("Retry", "In", [1]), codes_rule("Ignore", "In", [1])],
        pod("a", "Failed", exit_code=1),
        (
            "Ignore",
            "Container app for pod ns/p-a failed with exit code 1 matching Ignore rule at index 1",
            False,
        ),
    ),
]


@pytest.mark.parametrize(
    ("rules", "p", "want"), [(c[1], c[2], c[3]) for c in MATCH], ids=[c[0] for c in MATCH]
)
def test_policy_match(rules: list[Obj], p: Obj, want: tuple[str | None, str, bool]) -> None:
    assert logic.policy_match(job(podFailurePolicy={"rules": rules}), p) == want


def test_no_policy_counts_everything() -> None:
    assert logic.policy_match(job(), pod("a", "Failed", exit_code=1)) == (None, "", True)


@pytest.mark.parametrize(
    ("indexes", "text"),
    [
        ([1, 2], "1,2"),
        ([0, 1, 2, 5, 6], "0-2,5,6"),
        ([3], "3"),
        ([], ""),
    ],
    ids=["pair", "run-and-pair", "single", "empty"],
)
def test_render_like_upstream(indexes: list[int], text: str) -> None:
    assert perindex.render(indexes) == text
    assert logic.format_indexes(indexes) == text


@pytest.mark.parametrize(
    ("text", "completions", "want"),
    [
        ("0,2-4", 10, {0, 2, 3, 4}),
        ("1-9", 4, {1, 2, 3}),
        ("x,2", 5, {2}),
        ("1,7,2", 5, {1}),
    ],
    ids=["plain", "clipped", "bad-part-skipped", "stops-at-too-large"],
)
def test_parse_lenient(text: str, completions: int, want: set[int]) -> None:
    assert perindex.parse(text, completions) == want


@pytest.mark.parametrize(
    ("replaced", "counted", "want"),
    [
        (None, True, {perindex.FAILURE_COUNT_ANNOTATION: "0"}),
        (pod("a", "Failed", failures=1), True, {perindex.FAILURE_COUNT_ANNOTATION: "2"}),
        (
            pod("a", "Failed", failures=1, ignored=2),
            False,
            {perindex.FAILURE_COUNT_ANNOTATION: "1", perindex.IGNORED_FAILURE_COUNT_ANNOTATION: "3"},
        ),
        (pod("a", "Failed", failures=-4), True, {perindex.FAILURE_COUNT_ANNOTATION: "1"}),
    ],
    ids=["first-pod", "counted-failure", "ignored-failure", "bogus-annotation"],
)
def test_count_annotations(replaced: Obj | None, counted: bool, want: dict[str, str]) -> None:
    assert perindex.count_annotations(replaced, counted=counted) == want


@pytest.mark.parametrize(
    ("spec", "failed", "succeeded", "want"),
    [
        ({"completions": 3}, set(), {0, 1, 2}, None),
        ({"completions": 3}, {1}, {0}, None),
        ({"completions": 3}, {1}, {0, 2}, ("FailedIndexes", "Job has failed indexes")),
        (
            {"completions": 3, "maxFailedIndexes": 0},
            {1},
            set(),
            ("MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes"),
        ),
        ({"completions": 3, "maxFailedIndexes": 1}, {1}, set(), None),
    ],
    ids=["all-succeeded", "still-running", "all-settled", "max-exceeded", "max-not-exceeded"],
)
def test_failure_condition(
    spec: Obj, failed: set[int], succeeded: set[int], want: tuple[str, str] | None
) -> None:
    assert perindex.failure_condition(spec, failed, succeeded) == want


@pytest.mark.parametrize(
    ("rules", "succeeded", "want"),
    [
        ([{"succeededIndexes": "0"}], {0}, "Matched rules at index 0"),
        ([{"succeededIndexes": "0-2"}], {0, 2}, None),
        ([{"succeededIndexes": "0-2", "succeededCount": 2}], {0, 2, 4}, "Matched rules at index 0"),
        ([{"succeededCount": 5}, {"succeededCount": 2}], {3, 4}, "Matched rules at index 1"),
        ([{"succeededIndexes": "garbage"}, {"succeededCount": 1}], {1}, "Matched rules at index 1"),
        ([{"succeededCount": 1}], set(), None),
    ],
    ids=[
        "index-0",
        "missing-index",
        "count-within-indexes",
        "second-rule",
        "unparsable-rule-skipped",
        "nothing",
    ],
)
def test_success_policy(rules: list[Obj], succeeded: set[int], want: str | None) -> None:
    assert (
        perindex.match_success_policy({"completions": 5, "successPolicy": {"rules": rules}}, succeeded)
        == want
    )


def test_delayed_deletion_keeps_latest_failure_of_idle_index() -> None:
    older = pod("a", "Failed", index=1, failures=0, exit_code=1, finished="2024-05-01T11:50:00Z")
    newer = pod("b", "Failed", index=1, failures=1, exit_code=1, finished="2024-05-01T11:55:00Z")
    busy = pod("c", "Failed", index=2, failures=0, exit_code=1)
    chosen = perindex.delayed_deletions(
        [(1, older), (1, newer), (2, busy)], busy={2}, finished=logic.finish_time, now=NOW
    )
    assert {i: logic.uid(p) for i, p in chosen.items()} == {1: "b"}


@pytest.mark.parametrize(
    ("failures", "finished", "want"),
    [
        (0, "2024-05-01T11:59:55Z", 5.0),  # first failure: 10 s
        (1, "2024-05-01T11:59:55Z", 15.0),  # second: 20 s
        (0, "2024-05-01T11:00:00Z", 0.0),
    ],
    ids=["first", "second", "long-over"],
)
def test_per_index_backoff(failures: int, finished: str, want: float) -> None:
    p = pod("a", "Failed", index=0, failures=failures, exit_code=1, finished=finished)
    got = perindex.backoff_remaining(p, NOW, finished=logic.finish_time, base=10, cap=360)
    assert got == pytest.approx(want)


# --- the whole decision for a Job with a backoff limit per index ------------------------------------------
def per_index_job(**kw: Any) -> Obj:
    return job(backoffLimitPerIndex=1, backoffLimit=2**31 - 1, **kw)


def test_index_state_and_replacement_carry_counts() -> None:
    j = per_index_job(status={"completedIndexes": "0"})
    first_failure = pod("a", "Failed", index=1, failures=0, exit_code=1, finished="2024-05-01T11:00:00Z")
    pods = [
        pod("ok", "Succeeded", index=0, exit_code=0, finalizer=False),
        first_failure,
        pod("run", index=2, failures=0),
    ]
    state = logic.index_state(j, pods, now=NOW)
    assert state is not None and state.failed == set() and state.delayed_uids == {"a"}
    acct = logic.account(j, pods, delayed=state.delayed_uids)
    assert acct.failed == []  # held back until its replacement exists
    plan = logic.decide(j, pods, now=NOW, indexes=state)
    assert plan.create_indexes == [1] and logic.uid(plan.replaced[1]) == "a"
    new_pod = logic.pod_for(j, 1, plan.replaced[1])
    assert new_pod["metadata"]["annotations"][perindex.FAILURE_COUNT_ANNOTATION] == "1"
    assert new_pod["spec"]["containers"][0]["env"][-1]["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['batch.kubernetes.io/job-completion-index']"
    )


def test_index_fails_at_limit_and_job_fails_with_failed_indexes() -> None:
    j = per_index_job(status={"completedIndexes": "0,2"})
    pods = [pod("b", "Failed", index=1, failures=1, exit_code=1)]
    state = logic.index_state(j, pods, now=NOW)
    assert state is not None and state.failed == {1} and state.delayed == {}
    acct = logic.account(j, pods, delayed=state.delayed_uids)
    assert [logic.uid(p) for p in acct.failed] == ["b"]
    status = logic.with_uncounted(j, acct, state.failed)
    assert status["failedIndexes"] == "1"
    plan = logic.decide(dict(j, status=status), pods, now=NOW, indexes=state)
    assert plan.failure == ("FailedIndexes", "Job has failed indexes")


def test_fail_index_rule_and_max_failed_indexes() -> None:
    j = per_index_job(maxFailedIndexes=0, podFailurePolicy={"rules": [codes_rule("FailIndex", "In", [7])]})
    pods = [pod("a", "Failed", index=2, failures=0, exit_code=7), pod("r", index=0, failures=0)]
    state = logic.index_state(j, pods, now=NOW)
    assert state is not None and state.failed == {2}
    plan = logic.decide(j, pods, now=NOW, indexes=state)
    assert plan.failure == (
        "MaxFailedIndexesExceeded",
        "Job has exceeded the specified maximal number of failed indexes",
    )
    assert [logic.uid(p) for p in plan.delete] == ["r"]


def test_failed_index_is_not_recreated_and_backoff_waits() -> None:
    j = per_index_job(status={"failedIndexes": "0"})
    recent = pod("c", "Failed", index=2, failures=0, exit_code=1, finished="2024-05-01T11:59:58Z")
    state = logic.index_state(j, [recent], now=NOW)
    assert state is not None
    plan = logic.decide(j, [recent], now=NOW, indexes=state)
    assert plan.create_indexes == [1]  # 0 failed for good, 2 still backing off
    pods = [recent, pod("r", index=1, failures=0)]
    later = logic.decide(j, pods, now=NOW, indexes=logic.index_state(j, pods, now=NOW))
    assert later.create_indexes == [] and later.requeue_after == pytest.approx(8.0)


def test_finishing_job_delays_nothing() -> None:
    cond = {"type": "FailureTarget", "status": "True", "reason": "FailedIndexes", "message": "m"}
    j = per_index_job(status={"conditions": [cond]})
    state = logic.index_state(j, [pod("a", "Failed", index=1, failures=0, exit_code=1)], now=NOW)
    assert state is not None and state.delayed == {}


def test_failjob_on_delayed_pod_still_fails_the_job() -> None:
    j = per_index_job(podFailurePolicy={"rules": [codes_rule("FailJob", "In", [42])]})
    p = pod("a", "Failed", index=1, failures=0, exit_code=42)
    state = logic.index_state(j, [p], now=NOW)
    assert state is not None and state.delayed_uids == {"a"}
    acct = logic.account(j, [p], delayed=state.delayed_uids)
    assert acct.failure is not None and acct.failure[0] == "PodFailurePolicy" and acct.failed == []


def test_success_policy_plan() -> None:
    j = job(successPolicy={"rules": [{"succeededIndexes": "0"}]}, status={"completedIndexes": "0"})
    plan = logic.decide(j, [pod("r1", index=1), pod("r2", index=2)], now=NOW)
    assert plan.success and plan.success_reason == ("SuccessPolicy", "Matched rules at index 0")
    assert sorted(logic.uid(p) for p in plan.delete) == ["r1", "r2"]
    met = {
        "type": "SuccessCriteriaMet",
        "status": "True",
        "reason": "SuccessPolicy",
        "message": "Matched rules at index 0",
    }
    again = logic.decide(dict(j, status={"conditions": [met]}), [], now=NOW)
    assert again.success and again.success_reason == ("SuccessPolicy", "Matched rules at index 0")


def test_non_indexed_completion_reason() -> None:
    plan = logic.decide(job(completionMode="NonIndexed", completions=1, status={"succeeded": 1}), [], now=NOW)
    assert plan.success and plan.success_reason == (
        "CompletionsReached",
        "Reached expected number of succeeded pods",
    )


@pytest.mark.parametrize(
    ("managed_by", "ours"),
    [
        (None, True),
        ("kubernetes.io/job-controller", True),
        ("kueue.x-k8s.io/multikueue", False),
    ],
    ids=["unset", "builtin", "external"],
)
def test_managed_by(managed_by: str | None, ours: bool) -> None:
    j = job() if managed_by is None else job(managedBy=managed_by)
    assert logic.managed_by_us(j) is ours


def test_invalid_index_pods_are_not_counted() -> None:
    acct = logic.account(
        job(completions=2), [pod("x", "Failed", index=5, exit_code=1), pod("y", "Succeeded", exit_code=0)]
    )
    assert acct.failed == [] and acct.succeeded == []
    assert sorted(logic.uid(p) for p in acct.ignored) == ["x", "y"]
