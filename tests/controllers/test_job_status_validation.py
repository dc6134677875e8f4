"""Writes to a Job's status subresource: the checks of the v1.32 API server (JobManagedBy on)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.apiserver.strategies.batch_status import (
    first_overlap,
    render_go_time,
    validate_job_status_update,
)

Obj = dict[str, Any]
T0 = "2024-05-01T10:00:00Z"
T1 = "2024-05-01T10:05:00Z"


def job(status: Obj | None = None, **spec: Any) -> Obj:
    s: Obj = {"completions": 3, "parallelism": 3, "completionMode": "NonIndexed", "suspend": False}
    s.update(spec)
    return {"metadata": {"name": "j"}, "spec": s, "status": status or {}}


def cond(ctype: str, status: str = "True") -> Obj:
    return {"type": ctype, "status": status}


def complete_status(**extra: Any) -> Obj:
    st: Obj = {
        "startTime": T0,
        "completionTime": T1,
        "succeeded": 3,
        "conditions": [cond("SuccessCriteriaMet"), cond("Complete")],
    }
    st.update(extra)
    return st


def causes(new: Obj, old: Obj) -> list[tuple[str, str, str]]:
    return [(c.field, c.type, c.message) for c in validate_job_status_update(new, old)]


RUNNING = {"startTime": T0, "active": 3}
INDEXED = {"completionMode": "Indexed"}
PER_INDEX = {"completionMode": "Indexed", "backoffLimitPerIndex": 1}

CASES = [
    pytest.param(job(RUNNING), job(complete_status()), [], id="running-to-complete"),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "active": -1}),
        [("status.active", "FieldValueInvalid", "Invalid value: -1: must be greater than or equal to 0")],
        id="negative-active",
    ),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "ready": -2}),
        [("status.ready", "FieldValueInvalid", "Invalid value: -2: must be greater than or equal to 0")],
        id="negative-ready",
    ),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "uncountedTerminatedPods": {"succeeded": ["a", ""], "failed": ["a"]}}),
        [
            (
                "status.uncountedTerminatedPods.succeeded[1]",
                "FieldValueInvalid",
                'Invalid value: "": must not be empty',
            ),
            ("status.uncountedTerminatedPods.failed[0]", "FieldValueDuplicate", 'Duplicate value: "a"'),
        ],
        id="uncounted-empty-and-duplicate",
    ),
    pytest.param(
        job(complete_status()),
        job({**RUNNING, "succeeded": 3}),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot disable the terminal Complete=True condition",
            ),
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot disable the SuccessCriteriaMet=True condition",
            ),
        ],
        id="complete-removed",
    ),
    pytest.param(
        job({"startTime": T0, "failed": 1, "conditions": [cond("FailureTarget"), cond("Failed")]}),
        job({"startTime": T0, "failed": 1, "conditions": [cond("FailureTarget"), cond("Failed", "False")]}),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot disable the terminal Failed=True condition",
            )
        ],
        id="failed-flipped",
    ),
    pytest.param(
        job({"startTime": T0, "conditions": [cond("FailureTarget")]}),
        job({"startTime": T0, "conditions": []}),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot disable the terminal FailureTarget=True condition",
            )
        ],
        id="failure-target-removed",
    ),
    pytest.param(
        job({"startTime": T0, "conditions": [cond("FailureTarget")]}),
        job({"startTime": T0, "completionTime": T1, "conditions": [cond("FailureTarget"), cond("Complete")]}),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set Complete=True and FailureTarget=true conditions",
            )
        ],
        id="complete-with-failure-target",
    ),
    pytest.param(
        job(RUNNING),
        job({"startTime": T0, "completionTime": T1, "conditions": [cond("Complete"), cond("Failed")]}),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set Complete=True and Failed=true conditions",
            )
        ],
        id="complete-and-failed",
    ),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "completionTime": T1}),
        [
            (
                "status.completionTime",
                "FieldValueInvalid",
                "Invalid value: 2024-05-01 10:05:00 +0000 UTC: "
                "cannot set completionTime when there is no Complete=True condition",
            )
        ],
        id="completion-time-without-complete",
    ),
    pytest.param(
        job(RUNNING),
        job({"startTime": T0, "conditions": [cond("Complete")]}),
        [
            (
                "status.completionTime",
                "FieldValueRequired",
                "Required value: completionTime is required for Complete jobs",
            )
        ],
        id="complete-without-completion-time",
    ),
    pytest.param(
        job(RUNNING),
        job(complete_status(completionTime="2024-05-01T09:00:00Z")),
        [
            (
                "status.completionTime",
                "FieldValueInvalid",
                "Invalid value: 2024-05-01 09:00:00 +0000 UTC: completionTime cannot be set before startTime",
            )
        ],
        id="completion-before-start",
    ),
    pytest.param(
        job(RUNNING),
        job(complete_status(active=2)),
        [("status.active", "FieldValueInvalid", "Invalid value: 2: active>0 is invalid for finished job")],
        id="finished-with-active",
    ),
    pytest.param(
        job({}),
        job({"completionTime": T1, "conditions": [cond("Complete")]}),
        [
            (
                "status.startTime",
                "FieldValueRequired",
                "Required value: startTime is required for finished job",
            )
        ],
        id="finished-without-start",
    ),
    pytest.param(
        job(RUNNING),
        job(complete_status(uncountedTerminatedPods={"failed": ["u1"]})),
        [
            (
                "status.uncountedTerminatedPods",
                "FieldValueInvalid",
                "Invalid value: batch.UncountedTerminatedPods{Succeeded:[]types.UID(nil), "
                'Failed:[]types.UID{"u1"}}: uncountedTerminatedPods needs to be empty for finished job',
            )
        ],
        id="finished-with-uncounted",
    ),
    pytest.param(
        job(RUNNING, **INDEXED),
        job({**RUNNING, "completedIndexes": "0,3"}, **INDEXED),
        [
            (
                "status.completedIndexes",
                "FieldValueInvalid",
                'Invalid value: "0,3": error parsing completedIndexes: too large index: "3"',
            )
        ],
        id="completed-index-beyond-completions",
    ),
    pytest.param(
        job({**RUNNING, "completedIndexes": "0-4"}, **INDEXED),
        job({**RUNNING, "completedIndexes": "0-4", "active": 2}, **INDEXED),
        [],
        id="stale-completed-indexes-kept",
    ),
    pytest.param(
        job(RUNNING, **INDEXED),
        job({**RUNNING, "completedIndexes": "2,1"}, **INDEXED),
        [
            (
                "status.completedIndexes",
                "FieldValueInvalid",
                'Invalid value: "2,1": error parsing completedIndexes: non-increasing order, '
                "previous: 2, current: 1",
            )
        ],
        id="completed-indexes-order",
    ),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "completedIndexes": "1"}),
        [
            (
                "status.completedIndexes",
                "FieldValueInvalid",
                'Invalid value: "1": cannot set non-empty completedIndexes when non-indexed completion mode',
            )
        ],
        id="completed-indexes-non-indexed",
    ),
    pytest.param(
        job(RUNNING, **INDEXED),
        job({**RUNNING, "failedIndexes": ""}, **INDEXED),
        [
            (
                "status.failedIndexes",
                "FieldValueInvalid",
                'Invalid value: "": cannot set non-null failedIndexes when backoffLimitPerIndex is null',
            )
        ],
        id="failed-indexes-without-per-index",
    ),
    pytest.param(
        job(RUNNING, **PER_INDEX),
        job({**RUNNING, "failedIndexes": "x"}, **PER_INDEX),
        [
            (
                "status.failedIndexes",
                "FieldValueInvalid",
                'Invalid value: "x": error parsing failedIndexes: cannot convert string to integer '
                'for index: "x"',
            )
        ],
        id="failed-indexes-format",
    ),
    pytest.param(
        job(RUNNING, **PER_INDEX),
        job({**RUNNING, "completedIndexes": "0-1", "failedIndexes": "1-2"}, **PER_INDEX),
        [
            (
                "status.failedIndexes",
                "FieldValueInvalid",
                'Invalid value: "1-2": failedIndexes and completedIndexes overlap at index: 1',
            )
        ],
        id="failed-overlaps-completed",
    ),
    pytest.param(
        job({**RUNNING, "failed": 2}),
        job({**RUNNING, "failed": 1}),
        [("status.failed", "FieldValueInvalid", "Invalid value: 1: cannot decrease the failed counter")],
        id="failed-decreased",
    ),
    pytest.param(
        job({**RUNNING, "succeeded": 2}),
        job({**RUNNING, "succeeded": 1}),
        [
            (
                "status.succeeded",
                "FieldValueInvalid",
                "Invalid value: 1: cannot decrease the succeeded counter",
            )
        ],
        id="succeeded-decreased",
    ),
    pytest.param(
        job({**RUNNING, "succeeded": 2}, **INDEXED),
        job({**RUNNING, "succeeded": 1}, **INDEXED),
        [],
        id="succeeded-decreased-elastic-indexed",
    ),
    pytest.param(
        job(complete_status()),
        job(complete_status(completionTime="2024-05-01T10:06:00.5Z")),
        [
            (
                "status.completionTime",
                "FieldValueInvalid",
                "Invalid value: 2024-05-01 10:06:00.5 +0000 UTC: completionTime cannot be mutated",
            )
        ],
        id="completion-time-mutated",
    ),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "startTime": T1}),
        [
            (
                "status.startTime",
                "FieldValueRequired",
                "Required value: startTime cannot be removed for unsuspended job",
            )
        ],
        id="start-time-changed-unsuspended",
    ),
    pytest.param(
        job(RUNNING),
        job({"active": 3}),
        [
            (
                "status.startTime",
                "FieldValueRequired",
                "Required value: startTime cannot be removed for unsuspended job",
            )
        ],
        id="start-time-removed-unsuspended",
    ),
    pytest.param(
        job(RUNNING, suspend=True),
        job({"active": 0}, suspend=True),
        [],
        id="start-time-cleared-while-suspended",
    ),
    pytest.param(job({}), job(RUNNING), [], id="start-time-first-set"),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "conditions": [cond("SuccessCriteriaMet"), cond("FailureTarget")]}),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set SuccessCriteriaMet=True and FailureTarget=true conditions",
            )
        ],
        id="success-criteria-and-failure-target",
    ),
    pytest.param(
        job(RUNNING),
        job(
            {
                "startTime": T0,
                "conditions": [cond("SuccessCriteriaMet"), cond("FailureTarget"), cond("Failed")],
            }
        ),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set SuccessCriteriaMet=True and Failed=true conditions",
            ),
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set SuccessCriteriaMet=True and FailureTarget=true conditions",
            ),
        ],
        id="success-criteria-and-failed",
    ),
    pytest.param(
        job(RUNNING, successPolicy={"rules": [{"succeededCount": 1}]}, **INDEXED),
        job(
            {"startTime": T0, "completionTime": T1, "conditions": [cond("Complete")]},
            successPolicy={"rules": [{"succeededCount": 1}]},
            **INDEXED,
        ),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set Complete=True for Job with SuccessPolicy unless "
                "SuccessCriteriaMet=True",
            )
        ],
        id="success-policy-complete-without-criteria",
    ),
    pytest.param(
        job({"startTime": T0, "completionTime": T1, "conditions": [cond("Complete")]}),
        job(
            {
                "startTime": T0,
                "completionTime": T1,
                "conditions": [cond("Complete"), cond("SuccessCriteriaMet")],
            }
        ),
        [
            (
                "status.conditions",
                "FieldValueInvalid",
                "Invalid value: cannot set SuccessCriteriaMet=True for Job already has Complete=true "
                "conditions",
            )
        ],
        id="success-criteria-after-complete",
    ),
    pytest.param(
        job(RUNNING),
        job({**RUNNING, "conditions": [cond("SuccessCriteriaMet")]}),
        [],
        id="success-criteria-non-indexed-allowed",
    ),
    pytest.param(
        job(RUNNING),
        job({"startTime": T0, "failed": 1, "conditions": [cond("Failed")]}),
        [],
        id="failed-without-failure-target-allowed",
    ),
]


@pytest.mark.parametrize("old,new,expected", CASES)
def test_status_update(old: Obj, new: Obj, expected: list[tuple[str, str, str]]) -> None:
    assert causes(new, old) == expected


def test_old_inconsistency_does_not_block_unrelated_writes() -> None:
    """A status broken before (e.g. by an older server) only blocks writes that touch it."""
    bad = job({"startTime": T0, "completionTime": T1, "active": 1, "conditions": [cond("Complete")]})
    newer = copy.deepcopy(bad)
    newer["status"]["ready"] = 0
    assert causes(newer, bad) == []


@pytest.mark.parametrize(
    "completed,failed,completions,want",
    [
        ("0-2,5", "3-4", 6, None),
        ("0-2,5", "4-5", 6, 5),
        ("1,3", "0,2,4", 5, None),
        ("x,2", "2", 5, 2),
        ("", "1", 5, None),
    ],
    ids=["disjoint", "overlap-at-5", "interleaved", "malformed-fragment-skipped", "none-completed"],
)
def test_first_overlap(completed: str, failed: str, completions: int, want: int | None) -> None:
    assert first_overlap(completed, failed, completions) == want


@pytest.mark.parametrize(
    "value,want",
    [
        ("2024-05-01T10:00:00Z", "2024-05-01 10:00:00 +0000 UTC"),
        ("2024-05-01T12:00:00+02:00", "2024-05-01 10:00:00 +0000 UTC"),
        ("2024-05-01T10:00:00.250Z", "2024-05-01 10:00:00.25 +0000 UTC"),
    ],
    ids=["utc", "offset", "fraction"],
)
def test_render_go_time(value: str, want: str) -> None:
    assert render_go_time(value) == want
