"""Webhook matchConditions: validation at create, and the call/skip/fail decision (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.resources import Resource, lookup
from kybernetes.apiserver.admission import CREATE, UPDATE, Attributes
from kybernetes.apiserver.admission.plugins.webhook import matchconditions, matching
from kybernetes.apiserver.strategies.admissionregistration import default_webhook, validate_configuration
from kybernetes.machinery import errors


def configmaps() -> Resource:
    r = lookup("", "v1", "configmaps")
    assert r is not None
    return r


def cfg(conditions: list[dict[str, Any]], **hook: Any) -> dict[str, Any]:
    spec = {
        "name": "check.example.com",
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        "clientConfig": {"url": "https://127.0.0.1:1/x"},
        "matchConditions": conditions,
        "rules": [
            {
                "operations": ["CREATE", "UPDATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["configmaps"],
            }
        ],
        **hook,
    }
    default_webhook(spec, mutating=False)
    return {"metadata": {"name": "c"}, "webhooks": [spec]}


def problems(conditions: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(c.type, c.field, c.message) for c in validate_configuration(cfg(conditions), mutating=False)]


MC = "webhooks[0].matchConditions"


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        pytest.param([{"name": "a", "expression": "object.metadata.name == 'x'"}], [], id="valid"),
        pytest.param(
            [{"name": "a", "expression": "request.operation == 'CREATE' && oldObject == null"}],
            [],
            id="request-and-old-object",
        ),
        pytest.param(
            [{"name": "a", "expression": "object.metadata.name =="}],
            [
                (
                    "FieldValueInvalid",
                    f"{MC}[0].expression",
                    'Invalid value: "object.metadata.name ==": compilation failed: ERROR: <input>:1:',
                )
            ],
            id="syntax-error",
        ),
        pytest.param(
            [{"name": "a", "expression": "nope == 1"}],
            [
                (
                    "FieldValueInvalid",
                    f"{MC}[0].expression",
                    "Invalid value: \"nope == 1\": compilation failed: ERROR: <input>:1:1: undeclared reference to 'nope' "
                    "(in container '')\n | nope == 1\n | ^",
                )
            ],
            id="undeclared-variable",
        ),
        pytest.param(
            [{"name": "a", "expression": "object.metadata.name"}],
            [
                (
                    "FieldValueInvalid",
                    f"{MC}[0].expression",
                    'Invalid value: "object.metadata.name": must evaluate to bool but got dyn',
                )
            ],
            id="not-bool",
        ),
        pytest.param(
            [{"name": "a", "expression": "  "}],
            [("FieldValueRequired", f"{MC}[0].expression", "Required value")],
            id="empty-expression",
        ),
        pytest.param(
            [{"expression": "true"}],
            [("FieldValueRequired", f"{MC}[0].name", "Required value")],
            id="missing-name",
        ),
        pytest.param(
            [{"name": "a", "expression": "true"}, {"name": "a", "expression": "true"}],
            [("FieldValueDuplicate", f"{MC}[1].name", 'Duplicate value: "a"')],
            id="duplicate-name",
        ),
        pytest.param(
            [{"name": "no spaces", "expression": "true"}],
            [
                (
                    "FieldValueInvalid",
                    f"{MC}[0].name",
                    "Invalid value: \"no spaces\": name part must consist of alphanumeric characters, '-', '_' or '.', and "
                    "must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                )
            ],
            id="bad-name",
        ),
        pytest.param(
            [{"name": f"c{i}", "expression": "true"} for i in range(65)],
            [("FieldValueTooMany", MC, "Too many: 65: must have at most 64 items")],
            id="too-many",
        ),
    ],
)
def test_validation(conditions: list[dict[str, Any]], expected: list[tuple[str, str, str]]) -> None:
    got = problems(conditions)
    if expected and expected[0][2].endswith("<input>:1:"):  # the parser's own wording is the CEL core's
        assert len(got) == 1 and got[0][:2] == expected[0][:2] and got[0][2].startswith(expected[0][2])
    else:
        assert got == expected


def conds(*exprs: str) -> list[dict[str, Any]]:
    return [{"name": f"c{i}", "expression": e} for i, e in enumerate(exprs)]


NOT_X = "object.metadata.name != 'x'"
LABEL = "object.metadata.labels.team == 'a'"  # errors when the object has no labels


@pytest.mark.parametrize(
    ("exprs", "policy", "obj", "expected"),
    [
        pytest.param(
            ("true",), "Fail", {"metadata": {"name": "x"}}, matchconditions.MatchResult(True), id="true"
        ),
        pytest.param(
            (NOT_X,),
            "Fail",
            {"metadata": {"name": "x"}},
            matchconditions.MatchResult(False, None, "c0"),
            id="false-skips",
        ),
        pytest.param(
            (LABEL, NOT_X),
            "Fail",
            {"metadata": {"name": "x"}},
            matchconditions.MatchResult(False, None, "c1"),
            id="false-wins-over-errors",
        ),
        pytest.param(
            (LABEL, "true"),
            "Fail",
            {"metadata": {"name": "y"}},
            matchconditions.MatchResult(
                False,
                "expression 'object.metadata.labels.team == 'a'' resulted in error: no such key: labels",
            ),
            id="error-fail",
        ),
        pytest.param(
            (LABEL,),
            "Ignore",
            {"metadata": {"name": "y"}},
            matchconditions.MatchResult(False),
            id="error-ignore-skips",
        ),
        pytest.param(
            ("request.operation == 'CREATE' && oldObject == null",),
            "Fail",
            {"metadata": {}},
            matchconditions.MatchResult(True),
            id="request-variable",
        ),
    ],
)
def test_evaluate(
    exprs: tuple[str, ...], policy: str, obj: dict[str, Any], expected: matchconditions.MatchResult
) -> None:
    got = matchconditions.evaluate(
        conds(*exprs), failure_policy=policy, obj=obj, old=None, request={"operation": "CREATE"}
    )
    assert got == expected


def attrs(name: str, labels: dict[str, str] | None = None, op: str = CREATE) -> Attributes:
    meta: dict[str, Any] = {"name": name, "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}
    return Attributes(configmaps(), op, "default", name, obj, dict(obj) if op == UPDATE else None)


def hook(conditions: list[dict[str, Any]], policy: str = "Fail") -> matching.Hook:
    return matching.Hook("c/check/0", "c", cfg(conditions, failurePolicy=policy)["webhooks"][0])


def no_namespace(name: str) -> dict[str, Any] | None:
    return {"metadata": {"name": name}}


def test_should_call_applies_match_conditions() -> None:
    h = hook(conds(NOT_X, "request.operation == 'CREATE'"))
    assert matching.should_call(h, attrs("y"), no_namespace) is not None
    assert matching.should_call(h, attrs("x"), no_namespace) is None
    assert matching.should_call(h, attrs("y", op=UPDATE), no_namespace) is None


def test_evaluation_error_with_fail_policy_is_forbidden() -> None:
    with pytest.raises(errors.StatusError) as e:
        matching.should_call(hook(conds(LABEL)), attrs("y"), no_namespace)
    status = e.value.status()
    assert status["code"] == 403 and status["reason"] == "Forbidden"
    assert status["message"] == (
        "configmaps \"y\" is forbidden: expression 'object.metadata.labels.team == 'a'' "
        "resulted in error: no such key: labels"
    )
    assert status["details"] == {"name": "y", "kind": "configmaps"}
    assert matching.should_call(hook(conds(LABEL), "Ignore"), attrs("y"), no_namespace) is None
