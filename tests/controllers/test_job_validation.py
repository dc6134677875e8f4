"""Job spec validation of the policy fields (upstream 1.32 paths and messages): podFailurePolicy,
successPolicy, backoffLimitPerIndex/maxFailedIndexes, podReplacementPolicy, managedBy."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.api.resources import RESOURCES
from kybernetes.apiserver.strategies.batch_policies import indexes_format_error
from kybernetes.apiserver.strategy import Strategy, strategy_for

Obj = dict[str, Any]


def strat() -> Strategy:
    return strategy_for(next(r for r in RESOURCES if r.group == "batch" and r.kind == "Job"))


def job(**spec: Any) -> Obj:
    base: Obj = {
        "template": {
            "metadata": {},
            "spec": {"containers": [{"name": "app", "image": "busybox"}], "restartPolicy": "Never"},
        }
    }
    base.update(spec)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j", "namespace": "default"},
        "spec": base,
    }


def created(obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)
    obj["metadata"].setdefault("uid", "u-1")
    strat().prepare_for_create(obj)
    strat().default(obj)
    return obj


def causes(obj: Obj) -> list[tuple[str, str, str]]:
    return [(c.field, c.type, c.message) for c in strat().validate(created(obj))]


def rule(action: str = "FailJob", **kw: Any) -> Obj:
    return {"action": action, **kw}


def codes(op: str = "In", values: list[int] | None = None, **kw: Any) -> Obj:
    return {"onExitCodes": {"operator": op, "values": [42] if values is None else values, **kw}}


IDX: Obj = {"completionMode": "Indexed", "completions": 3, "parallelism": 3}

CASES = [
    (
        "valid-policy",
        job(
            podFailurePolicy={
                "rules": [
                    rule(**codes(containerName="app")),
                    rule("Ignore", onPodConditions=[{"type": "DisruptionTarget"}]),
                ]
            }
        ),
        [],
    ),
    (
        "valid-per-index-and-success",
        job(
            **IDX,
            backoffLimitPerIndex=1,
            maxFailedIndexes=1,
            podFailurePolicy={"rules": [rule("FailIndex", **codes())]},
            successPolicy={"rules": [{"succeededIndexes": "0,2", "succeededCount": 1}]},
        ),
        [],
    ),
    (
        "action-missing",
        job(podFailurePolicy={"rules": [rule("", **codes())]}),
        [
            (
                "spec.podFailurePolicy.rules[0].action",
                "FieldValueRequired",
                'Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]',
            )
        ],
    ),
    (
        "action-unknown",
        job(podFailurePolicy={"rules": [rule("Retry", **codes())]}),
        [
            (
                "spec.podFailurePolicy.rules[0].action",
                "FieldValueNotSupported",
                'Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
            )
        ],
    ),
    (
        "failindex-needs-per-index",
        job(podFailurePolicy={"rules": [rule("FailIndex", **codes())]}),
        [
            (
                "spec.podFailurePolicy.rules[0].action",
                "FieldValueInvalid",
                'Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
            )
        ],
    ),
    (
        "operator-bad",
        job(podFailurePolicy={"rules": [rule(**codes("Equals"))]}),
        [
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.operator",
                "FieldValueNotSupported",
                'Unsupported value: "Equals": supported values: "In", "NotIn"',
            )
        ],
    ),
    (
        "container-unknown",
        job(podFailurePolicy={"rules": [rule(**codes(containerName="side"))]}),
        [
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.containerName",
                "FieldValueInvalid",
                'Invalid value: "side": must be one of the container or initContainer names in the pod template',
            )
        ],
    ),
    (
        "values-empty",
        job(podFailurePolicy={"rules": [rule(**codes(values=[]))]}),
        [
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.values",
                "FieldValueInvalid",
                "Invalid value: []int32{}: at least one value is required",
            )
        ],
    ),
    (
        "values-zero-dup-unordered",
        job(podFailurePolicy={"rules": [rule(**codes(values=[5, 0, 5]))]}),
        [
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.values[1]",
                "FieldValueInvalid",
                "Invalid value: 0: must not be 0 for the In operator",
            ),
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.values[2]",
                "FieldValueDuplicate",
                "Duplicate value: 5",
            ),
            (
                "spec.podFailurePolicy.rules[0].onExitCodes.values",
                "FieldValueInvalid",
                "Invalid value: []int32{5, 0, 5}: must be ordered",
            ),
        ],
    ),
    (
        "both-requirements",
        job(
            podFailurePolicy={
                "rules": [rule(**codes(), onPodConditions=[{"type": "DisruptionTarget", "status": "True"}])]
            }
        ),
        [
            (
                "spec.podFailurePolicy.rules[0]",
                "FieldValueInvalid",
                "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
            )
        ],
    ),
    (
        "no-requirement",
        job(podFailurePolicy={"rules": [rule()]}),
        [
            (
                "spec.podFailurePolicy.rules[0]",
                "FieldValueInvalid",
                "Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
            )
        ],
    ),
    (
        "condition-status-bad",
        job(
            podFailurePolicy={
                "rules": [rule("Ignore", onPodConditions=[{"type": "DisruptionTarget", "status": "Maybe"}])]
            }
        ),
        [
            (
                "spec.podFailurePolicy.rules[0].onPodConditions[0].status",
                "FieldValueNotSupported",
                'Unsupported value: "Maybe": supported values: "False", "True", "Unknown"',
            )
        ],
    ),
    (
        "too-many-rules",
        job(podFailurePolicy={"rules": [rule(**codes())] * 21}),
        [("spec.podFailurePolicy.rules", "FieldValueTooMany", "Too many: 21: must have at most 20 items")],
    ),
    (
        "policy-needs-never",
        job(
            podFailurePolicy={"rules": [rule(**codes())]},
            template={"spec": {"containers": [{"name": "app", "image": "b"}], "restartPolicy": "OnFailure"}},
        ),
        [
            (
                "spec.template.spec.restartPolicy",
                "FieldValueInvalid",
                'Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified',
            )
        ],
    ),
    (
        "replacement-with-policy",
        job(podReplacementPolicy="TerminatingOrFailed", podFailurePolicy={"rules": [rule(**codes())]}),
        [
            (
                "spec.podReplacementPolicy",
                "FieldValueNotSupported",
                'Unsupported value: "TerminatingOrFailed": supported values: "Failed"',
            )
        ],
    ),
    (
        "replacement-unknown",
        job(podReplacementPolicy="Never"),
        [
            (
                "spec.podReplacementPolicy",
                "FieldValueNotSupported",
                'Unsupported value: "Never": supported values: "Failed", "TerminatingOrFailed"',
            )
        ],
    ),
    (
        "per-index-non-indexed",
        job(backoffLimitPerIndex=1, maxFailedIndexes=1),
        [
            (
                "spec.backoffLimitPerIndex",
                "FieldValueInvalid",
                "Invalid value: 1: requires indexed completion mode",
            ),
            (
                "spec.maxFailedIndexes",
                "FieldValueInvalid",
                "Invalid value: 1: requires indexed completion mode",
            ),
        ],
    ),
    (
        "max-failed-needs-per-index",
        job(**IDX, maxFailedIndexes=1),
        [
            (
                "spec.backoffLimitPerIndex",
                "FieldValueRequired",
                "Required value: when maxFailedIndexes is specified",
            )
        ],
    ),
    (
        "max-failed-above-completions",
        job(**IDX, backoffLimitPerIndex=0, maxFailedIndexes=4),
        [
            (
                "spec.maxFailedIndexes",
                "FieldValueInvalid",
                "Invalid value: 4: must be less than or equal to completions",
            )
        ],
    ),
    (
        "per-index-negative",
        job(**IDX, backoffLimitPerIndex=-1),
        [
            (
                "spec.backoffLimitPerIndex",
                "FieldValueInvalid",
                "Invalid value: -1: must be greater than or equal to 0",
            )
        ],
    ),
    (
        "huge-completions-per-index",
        job(completionMode="Indexed", completions=100_001, parallelism=10_001, backoffLimitPerIndex=1),
        [
            (
                "spec.maxFailedIndexes",
                "FieldValueRequired",
                "Required value: must be specified when completions is above 100000",
            ),
            (
                "spec.parallelism",
                "FieldValueInvalid",
                "Invalid value: 10001: must be less than or equal to 10000 when "
                "completions are above 100000 and used with backoff limit per index",
            ),
        ],
    ),
    (
        "success-policy-non-indexed",
        job(successPolicy={"rules": [{"succeededCount": 1}]}),
        [
            (
                "spec.successPolicy",
                "FieldValueInvalid",
                'Invalid value: {"rules":[{"succeededCount":1}]}: requires indexed completion mode',
            )
        ],
    ),
    (
        "success-policy-no-rules",
        job(**IDX, successPolicy={"rules": []}),
        [
            (
                "spec.successPolicy.rules",
                "FieldValueRequired",
                "Required value: at least one rules must be specified when the successPolicy is specified",
            )
        ],
    ),
    (
        "success-rule-empty",
        job(**IDX, successPolicy={"rules": [{}]}),
        [
            (
                "spec.successPolicy.rules[0]",
                "FieldValueRequired",
                "Required value: at least one of succeededCount or succeededIndexes must be specified",
            )
        ],
    ),
    (
        "success-indexes-bad",
        job(**IDX, successPolicy={"rules": [{"succeededIndexes": "0,3"}]}),
        [
            (
                "spec.successPolicy.rules[0].succeededIndexes",
                "FieldValueInvalid",
                'Invalid value: "0,3": error parsing succeededIndexes: too large index: "3"',
            )
        ],
    ),
    (
        "success-count-too-big",
        job(**IDX, successPolicy={"rules": [{"succeededIndexes": "1", "succeededCount": 2}]}),
        [
            (
                "spec.successPolicy.rules[0].succeededCount",
                "FieldValueInvalid",
                "Invalid value: 2: must be less than or equal to 1 (the number of indexes in the specified succeededIndexes "
                "field)",
            )
        ],
    ),
    (
        "success-count-above-completions",
        job(**IDX, successPolicy={"rules": [{"succeededCount": 4}]}),
        [
            (
                "spec.successPolicy.rules[0].succeededCount",
                "FieldValueInvalid",
                "Invalid value: 4: must be less than or equal to 3 (the number of specified completions)",
            )
        ],
    ),
    (
        "managed-by-bad",
        job(managedBy="my-controller"),
        [
            (
                "spec.managedBy",
                "FieldValueInvalid",
                'Invalid value: "my-controller": must be a domain-prefixed path (such as "acme.io/foo")',
            )
        ],
    ),
    (
        "managed-by-too-long",
        job(managedBy="example.com/" + "x" * 60),
        [("spec.managedBy", "FieldValueTooLong", "Too long: may not be longer than 63")],
    ),
    ("managed-by-ok", job(managedBy="kueue.x-k8s.io/multikueue"), []),
]


@pytest.mark.parametrize(("obj", "want"), [(c[1], c[2]) for c in CASES], ids=[c[0] for c in CASES])
def test_job_policy_validation(obj: Obj, want: list[tuple[str, str, str]]) -> None:
    assert causes(obj) == want


@pytest.mark.parametrize(
    ("text", "completions", "want"),
    [
        ("", 3, (0, None)),
        ("0,2-4", 5, (4, None)),
        (
            "1-2-3",
            5,
            (
                0,
                'the fragment "1-2-3" violates the requirement that an index interval can have at most two '
                "parts separated by '-'",
            ),
        ),
        ("a", 5, (0, 'cannot convert string to integer for index: "a"')),
        ("3-1", 5, (0, "non-increasing order, previous: 3, current: 1")),
        ("2,1", 5, (0, "non-increasing order, previous: 2, current: 1")),
    ],
    ids=["empty", "ok", "three-parts", "not-a-number", "reversed-range", "unordered"],
)
def test_indexes_format(text: str, completions: int, want: tuple[int, str | None]) -> None:
    assert indexes_format_error(text, completions) == want


def test_policies_are_immutable() -> None:
    old = created(job(**IDX, successPolicy={"rules": [{"succeededCount": 1}]}))
    new = copy.deepcopy(old)
    new["spec"]["successPolicy"] = {"rules": [{"succeededCount": 2}]}
    got = [(c.field, c.message) for c in strat().validate_update(new, old)]
    assert (
        "spec.successPolicy",
        'Invalid value: {"rules":[{"succeededCount":2}]}: field is immutable',
    ) in got


def test_managed_by_is_kept_and_defaults_follow_policy() -> None:
    obj = created(
        job(
            managedBy="example.com/x",
            podFailurePolicy={"rules": [rule("Ignore", onPodConditions=[{"type": "DisruptionTarget"}])]},
        )
    )
    spec = obj["spec"]
    assert spec["managedBy"] == "example.com/x"
    assert spec["podReplacementPolicy"] == "Failed"
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] == "True"
