"""Schema -> CEL type and JSON -> CEL value mapping for x-kubernetes-validations."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes import cel
from kybernetes.apiserver.crd import celtypes


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        pytest.param({"type": "integer"}, cel.INT, id="integer"),
        pytest.param({"type": "number"}, cel.DOUBLE, id="number"),
        pytest.param({"type": "boolean"}, cel.BOOL, id="boolean"),
        pytest.param({"type": "string"}, cel.STRING, id="string"),
        pytest.param({"type": "string", "format": "date-time"}, cel.TIMESTAMP, id="date-time"),
        pytest.param({"type": "string", "format": "date"}, cel.TIMESTAMP, id="date"),
        pytest.param({"type": "string", "format": "duration"}, cel.DURATION, id="duration"),
        pytest.param({"type": "string", "format": "byte"}, cel.BYTES, id="byte"),
        pytest.param({"type": "string", "format": "email"}, cel.STRING, id="other-format"),
        pytest.param({"x-kubernetes-int-or-string": True}, cel.DYN, id="int-or-string"),
        pytest.param({"type": "array", "items": {"type": "string"}}, cel.ListType(cel.STRING), id="list"),
        pytest.param(
            {"type": "object", "additionalProperties": {"type": "integer"}},
            cel.MapType(cel.STRING, cel.INT),
            id="map",
        ),
        pytest.param({"x-kubernetes-preserve-unknown-fields": True}, None, id="no-type"),
        pytest.param({"type": "array"}, None, id="list-without-items"),
    ],
)
def test_schema_type(schema: dict[str, Any], expected: cel.Type | None) -> None:
    assert celtypes.schema_type(schema) == expected


def test_object_fields_are_escaped_and_typed() -> None:
    t = celtypes.schema_type(
        {
            "type": "object",
            "properties": {
                "replicas": {"type": "integer"},
                "foo-bar": {"type": "string"},
                "namespace": {"type": "string"},
                "a.b": {"type": "string"},
                "x__y": {"type": "string"},
                "1st": {"type": "string"},
                "untyped": {"x-kubernetes-preserve-unknown-fields": True},
            },
        },
        name="self.spec",
    )
    assert isinstance(t, cel.ObjectType)
    assert dict(t.fields) == {
        "replicas": cel.INT,
        "foo__dash__bar": cel.STRING,
        "__namespace__": cel.STRING,
        "a__dot__b": cel.STRING,
        "x__underscores__y": cel.STRING,
    }


def test_resource_root_and_embedded_resources_get_type_meta() -> None:
    t = celtypes.schema_type(
        {"type": "object", "properties": {"spec": {"type": "object"}}}, resource_root=True
    )
    assert isinstance(t, cel.ObjectType)
    assert set(t.fields) == {"spec", "apiVersion", "kind", "metadata"}
    meta = t.fields["metadata"]
    assert isinstance(meta, cel.ObjectType) and set(meta.fields) == {"name", "generateName"}
    embedded = celtypes.schema_type(
        {
            "type": "object",
            "properties": {
                "template": {
                    "type": "object",
                    "x-kubernetes-embedded-resource": True,
                    "x-kubernetes-preserve-unknown-fields": True,
                }
            },
        }
    )
    assert isinstance(embedded, cel.ObjectType)
    tmpl = embedded.fields["template"]
    assert isinstance(tmpl, cel.ObjectType) and set(tmpl.fields) == {"apiVersion", "kind", "metadata"}


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("plain", "plain"),
        ("foo-bar", "foo__dash__bar"),
        ("a/b", "a__slash__b"),
        ("if", "__if__"),
        ("__x", "__underscores__x"),
        ("9lives", None),
        ("with space", None),
        ("", None),
    ],
)
def test_escape_name(name: str, escaped: str | None) -> None:
    assert celtypes.escape_name(name) == escaped


def test_values_follow_formats_and_escaping() -> None:
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "ttl": {"type": "string", "format": "duration"},
            "blob": {"type": "string", "format": "byte"},
            "ratio": {"type": "number"},
            "count": {"type": "integer"},
            "foo-bar": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    }
    value = {
        "when": "2024-01-02T03:04:05Z",
        "day": "2024-02-03",
        "ttl": "1h30m",
        "blob": "aGk=",
        "ratio": 2,
        "count": 3.0,
        "foo-bar": "x",
        "labels": {"a-b": "c"},
    }
    out = celtypes.to_cel_value(value, schema)
    assert out == {
        "when": dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "day": dt.datetime(2024, 2, 3, tzinfo=dt.UTC),
        "ttl": dt.timedelta(hours=1, minutes=30),
        "blob": b"hi",
        "ratio": 2.0,
        "count": 3,
        "foo__dash__bar": "x",
        "labels": {"a-b": "c"},
    }
    assert type(out["ratio"]) is float and type(out["count"]) is int
    assert value["when"] == "2024-01-02T03:04:05Z"  # the input is left alone


def test_root_value_shows_only_name_and_generate_name_of_metadata() -> None:
    schema = {
        "type": "object",
        "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
    }
    obj = {
        "apiVersion": "x/v1",
        "kind": "K",
        "metadata": {"name": "n", "resourceVersion": "5", "labels": {"a": "b"}},
        "spec": {"free": 1},
    }
    out = celtypes.to_cel_value(obj, schema, resource_root=True)
    assert out == {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n"}, "spec": {"free": 1}}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h30m", 5400.0),
        ("300ms", 0.3),
        ("-1.5s", -1.5),
        ("0", 0.0),
        ("2d", 172800.0),
        ("1h0m0s", 3600.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert celtypes.parse_duration(text).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "1x", "h", "1h 2m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        celtypes.parse_duration(text)
