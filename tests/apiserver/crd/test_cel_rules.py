"""CRD validation of x-kubernetes-validations rules: paths and texts as upstream's."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.apiserver.crd import celrules
from kybernetes.apiserver.crd.strategy import CustomResourceDefinitionStrategy
from kybernetes.machinery.errors import Cause

ROOT = "spec.validation.openAPIV3Schema"
SPEC = f"{ROOT}.properties[spec]"


def spec_schema(rules: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    spec = {
        "type": "object",
        "properties": {
            "replicas": {"type": "integer"},
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "x-kubernetes-validations": rules,
        **extra,
    }
    return {"type": "object", "properties": {"spec": spec}}


def causes(rules: list[dict[str, Any]], **extra: Any) -> list[tuple[str, str, str]]:
    return [
        (c.type, c.field, c.message)
        for c in celrules.validate_schema_rules(spec_schema(rules, **extra), ROOT)
    ]


def rule_value(rule: str, **kw: str) -> str:
    return celrules.go_rule_value({"rule": rule, **kw})


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param([{"rule": "self.replicas >= 0"}], [], id="valid"),
        pytest.param(
            [{"rule": "self.foo == 1"}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].rule",
                    f"Invalid value: {rule_value('self.foo == 1')}: compilation failed: ERROR: <input>:1:5: undefined field "
                    "'foo'\n | self.foo == 1\n | ....^",
                )
            ],
            id="undefined-field",
        ),
        pytest.param(
            [{"rule": "self.replicas"}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].rule",
                    f"Invalid value: {rule_value('self.replicas')}: cel expression must evaluate to a bool",
                )
            ],
            id="not-bool",
        ),
        pytest.param(
            [{"rule": "true", "messageExpression": "1"}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].messageExpression",
                    f"Invalid value: {rule_value('true', messageExpression='1')}: messageExpression must evaluate to a string",
                )
            ],
            id="message-expression-not-string",
        ),
        pytest.param(
            [{"rule": "  "}],
            [
                (
                    "FieldValueRequired",
                    f"{SPEC}.x-kubernetes-validations[0].rule",
                    "Required value: rule is not specified",
                )
            ],
            id="empty-rule",
        ),
        pytest.param(
            [{"rule": "true", "message": " "}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].message",
                    'Invalid value: " ": message must be non-empty if specified',
                )
            ],
            id="blank-message",
        ),
        pytest.param(
            [{"rule": "true", "message": "a\nb"}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].message",
                    'Invalid value: "a\\nb": message must not contain line breaks',
                )
            ],
            id="message-newline",
        ),
        pytest.param(
            [{"rule": "true &&\ntrue"}],
            [
                (
                    "FieldValueRequired",
                    f"{SPEC}.x-kubernetes-validations[0].message",
                    "Required value: message must be specified if rule contains line breaks",
                )
            ],
            id="rule-newline",
        ),
        pytest.param(
            [{"rule": "true", "reason": "Nope"}],
            [
                (
                    "FieldValueNotSupported",
                    f"{SPEC}.x-kubernetes-validations[0].reason",
                    'Unsupported value: "Nope": supported values: "FieldValueDuplicate", "FieldValueForbidden", '
                    '"FieldValueInvalid", "FieldValueRequired"',
                )
            ],
            id="bad-reason",
        ),
        pytest.param(
            [{"rule": "true", "fieldPath": ".nope"}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].fieldPath",
                    'Invalid value: ".nope": fieldPath must be a valid path',
                )
            ],
            id="bad-field-path",
        ),
        pytest.param([{"rule": "true", "fieldPath": ".labels['a.b']"}], [], id="map-key-field-path"),
        pytest.param(
            [{"rule": "self.replicas > 0", "optionalOldSelf": True}],
            [
                (
                    "FieldValueInvalid",
                    f"{SPEC}.x-kubernetes-validations[0].optionalOldSelf",
                    "Invalid value: true: may not be set if oldSelf is not used in rule",
                )
            ],
            id="optional-old-self-unused",
        ),
        pytest.param(
            [{"rule": "!oldSelf.hasValue() || self.name == oldSelf.value().name", "optionalOldSelf": True}],
            [],
            id="optional-old-self",
        ),
        pytest.param([{"rule": "self.name == oldSelf.name"}], [], id="transition-rule"),
    ],
)
def test_rule_validation(rules: list[dict[str, Any]], expected: list[tuple[str, str, str]]) -> None:
    assert causes(rules) == expected


def test_old_self_in_uncorrelatable_list_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "atomic": {
                        "type": "array",
                        "maxItems": 10,
                        "items": {
                            "type": "string",
                            "maxLength": 10,
                            "x-kubernetes-validations": [{"rule": "self == oldSelf"}],
                        },
                    },
                    "keyed": {
                        "type": "array",
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["k"],
                        "items": {
                            "type": "object",
                            "required": ["k"],
                            "properties": {"k": {"type": "string"}},
                            "x-kubernetes-validations": [{"rule": "self == oldSelf"}],
                        },
                    },
                },
            }
        },
    }
    got = celrules.validate_schema_rules(schema, ROOT)
    assert got == [
        Cause(
            "FieldValueInvalid",
            'Invalid value: "self == oldSelf": oldSelf cannot be used on the '
            f"uncorrelatable portion of the schema within {SPEC}.properties[atomic]",
            f"{SPEC}.properties[atomic].items.x-kubernetes-validations[0].rule",
        )
    ]


def test_root_rules_see_metadata_name() -> None:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object"}},
        "x-kubernetes-validations": [
            {"rule": "self.metadata.name.startsWith('a')"},
            {"rule": "self.metadata.labels.size() > 0"},
        ],
    }
    got = celrules.validate_schema_rules(schema, ROOT)
    assert [c.field for c in got] == [f"{ROOT}.x-kubernetes-validations[1].rule"]
    assert "undefined field 'labels'" in got[0].message


def crd(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget", "singular": "widget", "listKind": "WidgetList"},
            "versions": [
                {"name": f"v{i + 1}", "served": True, "storage": i == 0, "schema": {"openAPIV3Schema": s}}
                for i, s in enumerate(schemas)
            ],
        },
    }


def test_paths_hoisted_when_versions_share_the_schema_else_per_version() -> None:
    bad = spec_schema([{"rule": "self.foo == 1"}])
    good = spec_schema([{"rule": "true"}])
    same = celrules.validate_crd_rules(crd([bad, bad]))
    assert [c.field for c in same] == [f"{SPEC}.x-kubernetes-validations[0].rule"]
    apart = celrules.validate_crd_rules(crd([good, bad]))
    assert [c.field for c in apart] == [
        "spec.versions[1].schema.openAPIV3Schema.properties[spec].x-kubernetes-validations[0].rule"
    ]


def test_crd_strategy_rejects_broken_rules() -> None:
    strategy = CustomResourceDefinitionStrategy.__new__(CustomResourceDefinitionStrategy)
    got = strategy.validate(crd([spec_schema([{"rule": "self.foo == 1"}])]))
    assert [c.field for c in got] == [f"{SPEC}.x-kubernetes-validations[0].rule"]


@pytest.mark.parametrize(
    ("cost", "limit", "text"),
    [
        (
            20,
            10,
            "estimated rule cost exceeds budget by factor of 2.0x (try simplifying the rule, or adding maxItems, "
            "maxProperties, and maxLength where arrays, maps, and strings are declared)",
        ),
        (
            11,
            10,
            "estimated rule cost exceeds budget by factor of 1.100000x (try simplifying the rule, or adding "
            "maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
        ),
        (
            5000,
            10,
            "estimated rule cost exceeds budget by factor of more than 100x (try simplifying the rule, or "
            "adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)",
        ),
    ],
)
def test_cost_error_message(cost: int, limit: int, text: str) -> None:
    assert celrules.cost_error_message("estimated rule cost", cost, limit) == text


@pytest.mark.parametrize(
    ("path", "normalized"),
    [
        (".replicas", "replicas"),
        (".labels.foo", "labels[foo]"),
        (".labels['a.b']", "labels[a.b]"),
        ("['name']", "name"),
    ],
)
def test_valid_field_path(path: str, normalized: str) -> None:
    assert celrules.valid_field_path(path, spec_schema([])["properties"]["spec"])[0] == normalized


@pytest.mark.parametrize("path", ["replicas", ".nope", ".replicas.x", "[name]", ".labels['a", ""])
def test_invalid_field_path(path: str) -> None:
    with pytest.raises(ValueError):
        celrules.valid_field_path(path or ".", spec_schema([])["properties"]["spec"])
