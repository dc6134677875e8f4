"""Enforcement of x-kubernetes-validations on custom resources (pure, table-driven)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.apiserver.crd import celvalidate
from kybernetes.apiserver.crd.celvalidate import RuleTree
from kybernetes.machinery.errors import Cause

SCHEMA: dict[str, Any] = {
    "type": "object",
    "x-kubernetes-validations": [{"rule": "self.metadata.name != 'forbidden'", "message": "bad name"}],
    "properties": {
        "spec": {
            "type": "object",
            "x-kubernetes-validations": [
                {"rule": "self.min <= self.max", "message": "min must not exceed max"},
                {
                    "rule": "self.max < 100",
                    "messageExpression": "'max is ' + string(self.max)",
                    "fieldPath": ".max",
                },
                {
                    "rule": "!has(self.mode) || self.mode != 'Off'",
                    "reason": "FieldValueForbidden",
                    "fieldPath": ".mode",
                    "message": "mode Off is not allowed",
                },
                {
                    "rule": "has(self.owner)",
                    "reason": "FieldValueRequired",
                    "message": "owner is required",
                    "fieldPath": ".owner",
                },
            ],
            "properties": {
                "min": {"type": "integer"},
                "max": {"type": "integer"},
                "mode": {"type": "string"},
                "owner": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {"rule": "self == oldSelf", "message": "owner is immutable"}
                    ],
                },
                "ports": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {"name": {"type": "string"}, "port": {"type": "integer"}},
                        "x-kubernetes-validations": [
                            {"rule": "self.port > 0", "message": "port must be positive"},
                            {"rule": "self.port == oldSelf.port", "message": "port is immutable"},
                        ],
                    },
                },
                "tags": {
                    "type": "array",
                    "items": {
                        "type": "string",
                        "x-kubernetes-validations": [{"rule": "self.size() <= 3", "message": "tag too long"}],
                    },
                },
                "limits": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "integer",
                        "x-kubernetes-validations": [
                            {"rule": "self >= 0", "message": "limit must not be negative"}
                        ],
                    },
                },
                "expires": {
                    "type": "string",
                    "format": "date-time",
                    "x-kubernetes-validations": [
                        {"rule": "self > timestamp('2020-01-01T00:00:00Z')", "message": "too early"}
                    ],
                },
                "ttl": {
                    "type": "string",
                    "format": "duration",
                    "x-kubernetes-validations": [
                        {"rule": "self <= duration('1h')", "message": "ttl too long"}
                    ],
                },
                "seen": {
                    "type": "string",
                    "x-kubernetes-validations": [
                        {
                            "rule": "!oldSelf.hasValue() || oldSelf.value() <= self",
                            "optionalOldSelf": True,
                            "message": "seen goes forward",
                        }
                    ],
                },
            },
        }
    },
}
TREE = RuleTree.build(SCHEMA)


def obj(**spec: Any) -> dict[str, Any]:
    base = {"min": 1, "max": 2, "owner": "me"}
    base.update(spec)
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": base}


def check(new: dict[str, Any], old: dict[str, Any] | None = None) -> list[tuple[str, str, str]]:
    assert TREE is not None
    return [(c.type, c.field, c.message) for c in TREE.validate(new, old)]


INV = "FieldValueInvalid"


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        pytest.param(obj(), [], id="valid"),
        pytest.param(
            obj(min=5), [(INV, "spec", 'Invalid value: "object": min must not exceed max')], id="message"
        ),
        pytest.param(
            obj(max=200),
            [(INV, "spec.max", 'Invalid value: "object": max is 200')],
            id="message-expression-and-field-path",
        ),
        pytest.param(
            obj(mode="Off"),
            [("FieldValueForbidden", "spec.mode", "Forbidden: mode Off is not allowed")],
            id="reason-forbidden",
        ),
        pytest.param(
            {**obj(), "spec": {"min": 1, "max": 2}},
            [("FieldValueRequired", "spec.owner", "Required value: owner is required")],
            id="reason-required",
        ),
        pytest.param(
            {**obj(), "metadata": {"name": "forbidden"}},
            [(INV, "<nil>", 'Invalid value: "object": bad name')],
            id="root-rule",
        ),
        pytest.param(
            obj(ports=[{"name": "a", "port": 1}, {"name": "b", "port": 0}]),
            [(INV, "spec.ports[1]", 'Invalid value: "object": port must be positive')],
            id="list-items",
        ),
        pytest.param(
            obj(tags=["ok", "toolong"]),
            [(INV, "spec.tags[1]", 'Invalid value: "string": tag too long')],
            id="atomic-list-items",
        ),
        pytest.param(
            obj(limits={"cpu": 1, "mem": -1}),
            [(INV, "spec.limits[mem]", 'Invalid value: "integer": limit must not be negative')],
            id="map-values",
        ),
        pytest.param(
            obj(expires="2019-05-01T00:00:00Z"),
            [(INV, "spec.expires", 'Invalid value: "string": too early')],
            id="timestamp",
        ),
        pytest.param(
            obj(ttl="2h"), [(INV, "spec.ttl", 'Invalid value: "string": ttl too long')], id="duration"
        ),
        pytest.param(obj(seen="b"), [], id="optional-old-self-on-create"),
    ],
)
def test_create(new: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(new) == expected


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            obj(),
            obj(owner="you"),
            [(INV, "spec.owner", 'Invalid value: "string": owner is immutable')],
            id="immutable",
        ),
        pytest.param(
            obj(ports=[{"name": "a", "port": 1}, {"name": "b", "port": 2}]),
            obj(ports=[{"name": "b", "port": 3}, {"name": "a", "port": 1}, {"name": "c", "port": 9}]),
            [(INV, "spec.ports[0]", 'Invalid value: "object": port is immutable')],
            id="list-map-correlates-by-key",
        ),
        pytest.param(
            obj(seen="b"),
            obj(seen="a"),
            [(INV, "spec.seen", 'Invalid value: "string": seen goes forward')],
            id="optional-old-self-on-update",
        ),
        pytest.param(obj(min=5), obj(min=5), [], id="ratcheting-unchanged-value"),
        pytest.param(
            obj(min=5),
            obj(min=6),
            [(INV, "spec", 'Invalid value: "object": min must not exceed max')],
            id="changed-value-is-checked",
        ),
        pytest.param(
            obj(tags=["toolong"]),
            obj(tags=["toolong"], min=0),
            [],
            id="ratcheting-through-uncorrelated-items-of-unchanged-list",
        ),
    ],
)
def test_update(old: dict[str, Any], new: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert check(new, old) == expected


def test_runtime_error_text() -> None:
    tree = RuleTree.build(
        {
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {"m": {"type": "object", "additionalProperties": {"type": "integer"}}},
                    "x-kubernetes-validations": [{"rule": "self.m['x'] > 0"}],
                }
            },
        }
    )
    assert tree is not None
    got = tree.validate({"spec": {"m": {}}})
    assert got == [
        Cause(INV, "Invalid value: \"object\": no such key: x evaluating rule: self.m['x'] > 0", "spec")
    ]


def test_budget_exhausted() -> None:
    assert TREE is not None
    got = TREE.validate(obj(), budget=0)
    assert got == [
        Cause(
            INV,
            'Invalid value: "object": validation failed due to running out of cost budget, '
            "no further validation rules will be run",
            "<nil>",
        )
    ]


class Version:
    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def prune_and_default(self, o: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        return copy.deepcopy(o), []


def test_blocking_schema_errors_skip_rules_and_trees_are_cached() -> None:
    version = Version(SCHEMA)
    blocking = [Cause("FieldValueRequired", "Required value", "spec.x")]
    assert celvalidate.rule_causes(version, obj(min=5), None, blocking) == [celvalidate.not_checked_cause()]
    assert celvalidate.rule_causes(version, obj(min=5), None, [])[0].message.endswith(
        "min must not exceed max"
    )
    assert celvalidate.tree_for(version) is celvalidate.tree_for(version)


def test_ratcheted_failures_become_warnings() -> None:
    assert TREE is not None
    warnings: list[str] = []
    assert TREE.validate(obj(min=5), obj(min=5), warnings=warnings) == []
    assert warnings == ['spec: Invalid value: "object": min must not exceed max']
    warnings.clear()
    assert len(TREE.validate(obj(min=5, mode="x"), obj(min=5), warnings=warnings)) == 1  # spec changed
    assert warnings == []
