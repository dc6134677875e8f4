"""Defaults and validation of ValidatingAdmissionPolicy and its binding: upstream's field paths
and texts, table-driven."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.apiserver.strategies.admissionpolicy import (
    default_match_resources,
    validate_binding,
    validate_policy,
)

RULE = {"apiGroups": ["apps"], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["deployments"]}


def policy(**spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "matchPolicy": "Equivalent",
            "namespaceSelector": {},
            "objectSelector": {},
            "resourceRules": [RULE],
        },
        "validations": [{"expression": "object.spec.replicas <= 5"}],
    }
    body.update(spec)
    return {"metadata": {"name": "p"}, "spec": body}


def texts(causes: list[Any]) -> list[str]:
    return [f"{c.field}: {c.message}" for c in causes]


POLICY_CASES = [
    pytest.param(policy(), [], id="valid"),
    pytest.param(
        policy(failurePolicy="Sometimes"),
        ['spec.failurePolicy: Unsupported value: "Sometimes": supported values: "Fail", "Ignore"'],
        id="failure-policy",
    ),
    pytest.param(
        policy(matchConstraints=None), ["spec.matchConstraints: Required value"], id="no-constraints"
    ),
    pytest.param(
        policy(matchConstraints={"matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {}}),
        ["spec.matchConstraints.resourceRules: Required value"],
        id="no-rules",
    ),
    pytest.param(
        policy(validations=[]),
        [
            "spec.validations: Required value: validations or auditAnnotations must contain at least one item",
            "spec.auditAnnotations: Required value: validations or auditAnnotations must contain at least one "
            "item",
        ],
        id="nothing-to-check",
    ),
    pytest.param(
        policy(validations=[{"expression": "1"}]),
        ['spec.validations[0].expression: Invalid value: "1": must evaluate to bool but got int'],
        id="non-bool",
    ),
    pytest.param(
        policy(validations=[{"expression": "params.max > 1"}]),
        [
            'spec.validations[0].expression: Invalid value: "params.max > 1": compilation failed: ERROR: '
            "<input>:1:1: undeclared reference to 'params' (in container '')\n | params.max > 1\n | ^"
        ],
        id="params-without-paramkind",
    ),
    pytest.param(
        policy(
            validations=[{"expression": "params.max > 1"}],
            paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
        ),
        [],
        id="params-with-paramkind",
    ),
    pytest.param(
        policy(validations=[{"expression": "true", "messageExpression": "1"}]),
        ['spec.validations[0].messageExpression: Invalid value: "1": must evaluate to string but got int'],
        id="message-expression-type",
    ),
    pytest.param(
        policy(validations=[{"expression": "true", "messageExpression": "  "}]),
        ['spec.validations[0].messageExpression: Invalid value: "  ": must be non-empty if specified'],
        id="message-expression-blank",
    ),
    pytest.param(
        policy(validations=[{"expression": "true", "message": "a\nb"}]),
        ['spec.validations[0].message: Invalid value: "a\\nb": message must not contain line breaks'],
        id="message-newline",
    ),
    pytest.param(
        policy(validations=[{"expression": "true", "reason": "Teapot"}]),
        [
            'spec.validations[0].reason: Unsupported value: "Teapot": supported values: "Forbidden", '
            '"Invalid", "RequestEntityTooLarge", "Unauthorized"'
        ],
        id="reason",
    ),
    pytest.param(
        policy(validations=[{"expression": ""}]),
        ["spec.validations[0].expression: Required value: expression is not specified"],
        id="no-expression",
    ),
    pytest.param(
        policy(
            variables=[
                {"name": "a", "expression": "variables.b"},
                {"name": "b", "expression": "1"},
                {"name": "in", "expression": "2"},
            ],
            validations=[{"expression": "variables.a == variables.b"}],
        ),
        [
            'spec.variables[0].expression: Invalid value: "variables.b": compilation failed: ERROR: '
            "<input>:1:10: undefined field 'b'\n | variables.b\n | .........^",
            'spec.variables[2].name: Invalid value: "in": name is not a valid CEL identifier',
        ],
        id="variables-in-order",
    ),
    pytest.param(
        policy(matchConditions=[{"name": "a", "expression": "true"}, {"name": "a", "expression": "'x'"}]),
        [
            "spec.matchConditions[1].expression: Invalid value: \"'x'\": must evaluate to bool but got string",
            'spec.matchConditions[1].name: Duplicate value: "a"',
        ],
        id="match-conditions",
    ),
    pytest.param(
        policy(
            auditAnnotations=[{"key": "k", "valueExpression": "1"}, {"key": "k", "valueExpression": "''"}]
        ),
        [
            'spec.auditAnnotations[0].valueExpression: Invalid value: "1": must evaluate to one of '
            "[string null_type] but got int",
            'spec.auditAnnotations[1].key: Duplicate value: "k"',
        ],
        id="audit-annotations",
    ),
    pytest.param(
        policy(paramKind={"apiVersion": "a/b/c", "kind": "Config_Map"}),
        [
            'spec.paramKind.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c',
            'spec.paramKind.kind: Invalid value: "Config_Map": may have mixed case, but should otherwise match: '
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
            "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', "
            "regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
        ],
        id="param-kind",
    ),
    pytest.param(
        policy(
            matchConstraints={
                "matchPolicy": "Fuzzy",
                "namespaceSelector": {},
                "objectSelector": {},
                "resourceRules": [{**RULE, "operations": ["PATCH"]}],
            }
        ),
        [
            'spec.matchConstraints.matchPolicy: Unsupported value: "Fuzzy": supported values: "Equivalent", '
            '"Exact"',
            'spec.matchConstraints.resourceRules[0].operations[0]: Unsupported value: "PATCH": '
            'supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"',
        ],
        id="match-resources",
    ),
]


@pytest.mark.parametrize(("obj", "want"), POLICY_CASES)
def test_policy_validation(obj: dict[str, Any], want: list[str]) -> None:
    assert texts(validate_policy(obj)) == want


def test_unchanged_match_conditions_are_not_revalidated_on_update() -> None:
    old = policy(matchConditions=[{"name": "a", "expression": "'not bool'"}])
    assert texts(validate_policy(copy.deepcopy(old), old)) == []
    assert texts(validate_policy(old)) != []


def binding(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "b"}, "spec": {"policyName": "p", "validationActions": ["Deny"], **spec}}


BINDING_CASES = [
    pytest.param(binding(), [], id="valid"),
    pytest.param(binding(policyName=""), ["spec.policyName: Required value"], id="no-policy"),
    pytest.param(
        binding(validationActions=[]),
        ["spec.validationActions: Required value: at least one validation action is required"],
        id="no-action",
    ),
    pytest.param(
        binding(validationActions=["Deny", "Deny", "Block"]),
        [
            'spec.validationActions[1]: Duplicate value: "Deny"',
            'spec.validationActions[2]: Unsupported value: "Block": supported values: "Audit", "Deny", "Warn"',
        ],
        id="bad-actions",
    ),
    pytest.param(binding(validationActions=["Warn", "Audit"]), [], id="warn-audit"),
    pytest.param(
        binding(paramRef={"name": "x", "selector": {}}),
        [
            "spec.paramRef.name: Forbidden: name and selector are mutually exclusive",
            "spec.paramRef.selector: Forbidden: name and selector are mutually exclusive",
            "spec.paramRef.parameterNotFoundAction: Required value",
        ],
        id="name-and-selector",
    ),
    pytest.param(
        binding(paramRef={"parameterNotFoundAction": "Maybe"}),
        [
            "spec.paramRef: Required value: one of name or selector must be specified",
            'spec.paramRef.parameterNotFoundAction: Unsupported value: "Maybe": supported values: "Deny", '
            '"Allow"',
        ],
        id="param-ref",
    ),
    pytest.param(
        binding(
            matchResources={
                "matchPolicy": "Equivalent",
                "namespaceSelector": {},
                "objectSelector": {},
                "resourceRules": [{**RULE, "resourceNames": ["a", "a"]}],
            }
        ),
        ['spec.matchResouces.resourceRules[0].resourceNames[1]: Duplicate value: "a"'],
        id="match-resources-upstream-path",
    ),
]


@pytest.mark.parametrize(("obj", "want"), BINDING_CASES)
def test_binding_validation(obj: dict[str, Any], want: list[str]) -> None:
    assert texts(validate_binding(obj)) == want


def test_match_resources_defaults() -> None:
    mr: dict[str, Any] = {
        "resourceRules": [dict(RULE)],
        "excludeResourceRules": [dict(RULE, scope="Cluster")],
    }
    default_match_resources(mr)
    assert mr == {
        "matchPolicy": "Equivalent",
        "namespaceSelector": {},
        "objectSelector": {},
        "resourceRules": [dict(RULE, scope="*")],
        "excludeResourceRules": [dict(RULE, scope="Cluster")],
    }
