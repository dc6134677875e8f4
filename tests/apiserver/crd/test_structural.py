"""Structural schemas: pruning, defaulting and validation texts as upstream prints them."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.apiserver.crd import jsonpath, structural
from kybernetes.apiserver.crd.model import build_printer, version_priority
from kybernetes.machinery.errors import Cause

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["cronSpec"],
            "properties": {
                "cronSpec": {"type": "string", "pattern": "^[0-9*/ ]+$", "minLength": 1, "maxLength": 20},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
                "image": {"type": "string", "default": "busybox"},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "ratio": {"type": "number", "exclusiveMinimum": True, "minimum": 0},
                "port": {"x-kubernetes-int-or-string": True},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": True},
                "env": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "nested": {"type": "object", "properties": {"a": {"type": "string", "default": "x"}}},
                "note": {"type": "string", "nullable": True},
                "when": {"type": "string", "format": "date-time"},
                "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": True,
                             "properties": {"spec": {"type": "object"}}},
            },
        },
        "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
    },
}


def _texts(causes: list[Cause]) -> list[str]:
    return [f"{c.field}: {c.message}" for c in causes]


PRUNE_CASES = [
    pytest.param({"spec": {"cronSpec": "*", "foo": 1}}, {"spec": {"cronSpec": "*"}}, ["spec.foo"], id="unknown-spec-field"),
    pytest.param({"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x"}, "bogus": 1},
                 {"apiVersion": "a/v1", "kind": "K", "metadata": {"name": "x"}}, ["bogus"], id="root-keeps-type-meta"),
    pytest.param({"spec": {"free": {"any": {"thing": 1}}}}, {"spec": {"free": {"any": {"thing": 1}}}}, [],
                 id="preserve-unknown-fields"),
    pytest.param({"spec": {"env": {"A": "1"}}}, {"spec": {"env": {"A": "1"}}}, [], id="additional-properties-kept"),
    pytest.param({"spec": {"items": [{"name": "a", "x": 1}]}}, {"spec": {"items": [{"name": "a"}]}},
                 ["spec.items[0].x"], id="list-item-field"),
    pytest.param({"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {},
                                        "junk": 1}}},
                 {"spec": {"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}}},
                 ["spec.template.junk"], id="embedded-resource-keeps-type-meta"),
    pytest.param({"spec": "text"}, {"spec": "text"}, [], id="wrong-type-left-for-validation"),
]


@pytest.mark.parametrize(("obj", "want", "unknown"), PRUNE_CASES)
def test_prune(obj: dict[str, Any], want: dict[str, Any], unknown: list[str]) -> None:
    got, found = structural.prune(obj, SCHEMA)
    assert got == want
    assert found == unknown


DEFAULT_CASES = [
    pytest.param({"spec": {"cronSpec": "*"}}, {"spec": {"cronSpec": "*", "replicas": 1, "image": "busybox"}},
                 id="absent-fields"),
    pytest.param({"spec": {"replicas": 3, "image": None}}, {"spec": {"replicas": 3, "image": "busybox"}},
                 id="null-non-nullable-replaced"),
    pytest.param({"spec": {"nested": {}}}, {"spec": {"nested": {"a": "x"}, "replicas": 1, "image": "busybox"}},
                 id="nested-object"),
    pytest.param({}, {}, id="no-spec-no-defaults"),
]


@pytest.mark.parametrize(("obj", "want"), DEFAULT_CASES)
def test_defaults(obj: dict[str, Any], want: dict[str, Any]) -> None:
    assert structural.apply_defaults(obj, SCHEMA) == want


VALIDATE_CASES = [
    pytest.param({"spec": {"cronSpec": "*", "replicas": "two"}},
                 ['spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"'],
                 id="type-integer"),
    pytest.param({"spec": {}}, ["spec.cronSpec: Required value"], id="required"),
    pytest.param({"spec": {"cronSpec": "*", "replicas": 0}},
                 ["spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1"],
                 id="minimum"),
    pytest.param({"spec": {"cronSpec": "*", "replicas": 11}},
                 ["spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"],
                 id="maximum"),
    pytest.param({"spec": {"cronSpec": "*", "ratio": 0}},
                 ["spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0"], id="exclusive-minimum"),
    pytest.param({"spec": {"cronSpec": "*", "mode": "c"}},
                 ['spec.mode: Unsupported value: "c": supported values: "a", "b"'], id="enum"),
    pytest.param({"spec": {"cronSpec": "abc"}},
                 ["spec.cronSpec: Invalid value: \"abc\": spec.cronSpec in body should match '^[0-9*/ ]+$'"],
                 id="pattern"),
    pytest.param({"spec": {"cronSpec": ""}},
                 ['spec.cronSpec: Invalid value: "": spec.cronSpec in body should be at least 1 chars long',
                  "spec.cronSpec: Invalid value: \"\": spec.cronSpec in body should match '^[0-9*/ ]+$'"],
                 id="min-length"),
    pytest.param({"spec": {"cronSpec": "1" * 21}}, ["spec.cronSpec: Too long: must have at most 20 bytes"],
                 id="max-length"),
    pytest.param({"spec": {"cronSpec": "*", "tags": ["a", "b", "c"]}},
                 ["spec.tags: Too many: 3: must have at most 2 items"], id="max-items"),
    pytest.param({"spec": {"cronSpec": "*", "tags": ["a", "a"]}}, ['spec.tags[1]: Duplicate value: "a"'],
                 id="unique-items"),
    pytest.param({"spec": {"cronSpec": "*", "port": 8080}}, [], id="int-or-string-int"),
    pytest.param({"spec": {"cronSpec": "*", "port": "http"}}, [], id="int-or-string-string"),
    pytest.param({"spec": {"cronSpec": "*", "port": True}},
                 ['spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"'],
                 id="int-or-string-bool"),
    pytest.param({"spec": {"cronSpec": "*", "note": None}}, [], id="nullable"),
    pytest.param({"spec": {"cronSpec": "*", "image": None}},
                 ['spec.image: Invalid value: "null": spec.image in body must be of type string: "null"'],
                 id="null-not-nullable"),
    pytest.param({"spec": {"cronSpec": "*", "when": "yesterday"}},
                 ['spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"'],
                 id="format-date-time"),
    pytest.param({"spec": {"cronSpec": "*", "env": {"A": 1}}},
                 ['spec.env.A: Invalid value: "integer": spec.env.A in body must be of type string: "integer"'],
                 id="additional-properties-type"),
    pytest.param({"spec": {"cronSpec": "*", "template": {"spec": {}}}},
                 ["spec.template.apiVersion: Required value: must not be empty",
                  "spec.template.kind: Required value: must not be empty"], id="embedded-resource-type-meta"),
    pytest.param({"spec": "x"}, ['spec: Invalid value: "string": spec in body must be of type object: "string"'],
                 id="object-type"),
    pytest.param({"spec": {"cronSpec": "*", "replicas": 2.0}}, [], id="integral-float-is-integer"),
]


@pytest.mark.parametrize(("obj", "want"), VALIDATE_CASES)
def test_validate(obj: dict[str, Any], want: list[str]) -> None:
    assert _texts(structural.validate(obj, SCHEMA)) == want


JSONPATH_CASES = [
    pytest.param(".spec.replicas", [3], id="child"),
    pytest.param(".status.conditions[0].type", ["Ready"], id="index"),
    pytest.param('.status.conditions[?(@.type=="Ready")].status', ["True"], id="filter"),
    pytest.param("{.metadata.name}", ["x"], id="braces"),
    pytest.param(".spec.missing", [], id="missing"),
]


@pytest.mark.parametrize(("path", "want"), JSONPATH_CASES)
def test_jsonpath(path: str, want: list[Any]) -> None:
    obj = {"metadata": {"name": "x"}, "spec": {"replicas": 3},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert jsonpath.find(obj, path) == want


def test_version_priority_orders_like_upstream() -> None:
    names = ["foo10", "v11alpha2", "v1", "v10beta3", "v2", "foo1", "v12alpha1", "v3beta1", "v10", "v11beta2"]
    assert sorted(names, key=version_priority) == [
        "v10", "v2", "v1", "v11beta2", "v10beta3", "v3beta1", "v12alpha1", "v11alpha2", "foo1", "foo10"]


def test_printer_columns_and_default_age() -> None:
    import datetime as dt

    now = dt.datetime(2025, 1, 1, 0, 10, tzinfo=dt.UTC)
    obj = {"metadata": {"name": "a", "creationTimestamp": "2025-01-01T00:00:00Z"}, "spec": {"replicas": 2}}
    p = build_printer([{"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                       {"name": "Missing", "type": "string", "jsonPath": ".spec.nope", "priority": 1}])
    assert [c.name for c in p.columns] == ["Name", "Replicas", "Missing"]
    assert p.cells(obj, now) == ["a", 2, None]
    default = build_printer([])
    assert [c.name for c in default.columns] == ["Name", "Age"]
    assert default.cells(obj, now) == ["a", "10m"]
