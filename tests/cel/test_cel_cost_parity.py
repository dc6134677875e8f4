"""Static cost of single CRD rules against the numbers upstream's estimator gives.

Each row is a schema shape, a rule, the expected worst-case cost when the schema declares no
bounds (sizes then come from the 3 MiB request limit), and the expected cost when every
maxItems/maxProperties/maxLength of the shape is set to `bound`. The costs are those that
Kubernetes' own compilation tests assert; rows whose upstream expectation is "no check" use
None, and ``EXCEEDS`` means only "more than the per-rule limit".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kybernetes import cel
from kybernetes.apiserver.crd import celtypes

Schema = dict[str, Any]
Shape = Callable[[int | None], Schema]
EXCEEDS = -1


def _limit(key: str, bound: int | None) -> Schema:
    return {} if bound is None else {key: bound}


def scalar(kind: str) -> Schema:
    if kind in ("duration", "date", "date-time"):
        return {"type": "string", "format": kind}
    if kind == "int-or-string":
        return {"x-kubernetes-int-or-string": True}
    return {"type": kind}


ITEM = {
    "type": "object",
    "required": ["required"],
    "properties": {"required": {"type": "string"}, "optional": {"type": "string"}},
}


def list_of(item: Schema) -> Shape:
    return lambda bound: {"type": "array", "items": item, **_limit("maxItems", bound)}


def map_of(value: Schema) -> Shape:
    return lambda bound: {"type": "object", "additionalProperties": value, **_limit("maxProperties", bound)}


def string(**extra: Any) -> Shape:
    return lambda bound: {"type": "string", **extra, **_limit("maxLength", bound)}


def map_of_bounded_strings(bound: int | None) -> Schema:
    return {
        "type": "object",
        "additionalProperties": string()(bound),
        **_limit("maxProperties", bound),
    }


def list_of_bounded_strings(bound: int | None) -> Schema:
    return {"type": "array", "items": string()(bound), **_limit("maxItems", bound)}


def nested_maps(all_bounded: bool) -> Shape:
    def shape(bound: int | None) -> Schema:
        value = dict(ITEM, **_limit("maxProperties", bound)) if all_bounded else ITEM
        items = {"type": "object", "additionalProperties": value, **_limit("maxProperties", bound)}
        return {"type": "array", "items": items, **(_limit("maxItems", bound) if all_bounded else {})}

    return shape


def strings_object(**fixed: int) -> Shape:
    def shape(bound: int | None) -> Schema:
        properties = {name: string()(bound) for name in ("str", "separator")}
        properties.update({name: {"type": "string", "maxLength": n} for name, n in fixed.items()})
        if fixed:
            del properties["separator"]
        return {"type": "object", "properties": properties}

    return shape


def row(shape: Shape, rule: str, unbounded: int | None, bound: int, bounded: int | None) -> Any:
    return pytest.param(shape, rule, unbounded, bound, bounded, id=rule)


ROWS = [
    row(list_of(scalar("number")), "self.all(x, true)", 4718591, 10, 32),
    row(list_of(scalar("string")), "self.all(x, true)", 3145727, 20, 62),
    row(list_of(scalar("boolean")), "self.all(x, true)", 1887437, 5, 17),
    row(list_of({"type": "array", "items": {"type": "number"}}), "self.all(x, true)", 3145727, 100, 302),
    row(list_of(ITEM), "self.all(x, true)", 555128, 50, 152),
    row(map_of(scalar("number")), "self.all(x, true)", 1348169, 10, 32),
    row(map_of(scalar("string")), "self.all(x, true)", 1179647, 3, 11),
    row(map_of(scalar("boolean")), "self.all(x, true)", 943718, 100, 302),
    row(string(), "self.contains('test')", 314574, 10, 5),
    row(string(), "self.startsWith('test')", 2, 15, 2),
    row(string(), "self.endsWith('test')", 2, 30, 2),
    row(string(), 'size(self + "hello") > size("hello")', 314578, 4, 7),
    row(list_of(scalar("number")), "self[1] == 0.0", 2, 5000, 2),
    row(list_of(scalar("string")), "self[1] == self[1]", 314577, 8, 314577),
    row(list_of(scalar("number")), "self.all(x, self.all(y, true))", EXCEEDS, 10, 352),
    row(list_of(scalar("number")), "self.all(x, self.all(y, self.all(z, true)))", EXCEEDS, 10, 3552),
    row(string(), 'self.matches("x")', 314574, 50, 22),
    row(string(), '"".matches("(((((((((())))))))))[0-9]")', 7, 10, 7),
    row(string(), 'self.matches("")', 1, 100, 1),
    row(map_of_bounded_strings, "self.all(x, x.contains(self[x]))", 2752507, 10, 72),
    row(list_of(scalar("number")), "self[3] == 0.0", 2, 0, 2),
    row(map_of(scalar("number")), 'self["x"] == 0.0', 2, 0, 2),
    row(string(), 'self == "x"', 2, 0, 1),
    row(string(format="byte"), 'self == b"x"', 2, 0, 1),
    row(list_of(scalar("number")), "self.all(x, x == 0.0)", 6291454, 3 * 1024 * 2048, 25165826),
    row(nested_maps(True), 'self.all(x, x["y"].required == "z")', 7340027, 10, 72),
    row(nested_maps(False), 'self.all(x, x["y"].required == "z")', 7340027, 10, 7340027),
    row(list_of(scalar("int-or-string")), "self.all(x, true)", 4718591, 10, 32),
    row(list_of(scalar("int-or-string")), "self[0] == 5", 3, 10, 3),
    row(list_of(scalar("boolean")), "self[0] == false", 2, 25, 2),
    row(list_of(ITEM), "self[0] == null", 2, 422, 2),
    row(list_of({"type": "array", "items": {"type": "number"}}), "self[0][0] == -1.0", 3, 51, 3),
    row(list_of({"type": "object", "additionalProperties": {"type": "number"}}), "self.all(x, x.y == 25.2)", 6291452, 12, 74),
    row(list_of({"type": "object", "additionalProperties": {"type": "number"}}), "self[0].x > 2.0", 4, 3000, 4),
    row(list_of(scalar("duration")), "self.all(x, true)", 2359295, 5, 17),
    row(list_of(scalar("duration")), "self[0].getHours() == 2", 4, 525, 4),
    row(list_of(scalar("date")), "self.all(x, true)", 725936, 15, 47),
    row(list_of(scalar("date")), "self[2].getDayOfMonth() == 13", 4, 42, 4),
    row(list_of(scalar("date-time")), "self.all(x, true)", 428963, 25, 77),
    row(list_of(scalar("date-time")), "self[2].getMinutes() == 45", 4, 99, 4),
    row(map_of(scalar("int-or-string")), "self.all(x, true)", 1348169, 15, 47),
    row(map_of(ITEM), "self.all(x, true)", 428963, 20, 62),
    row(map_of({"type": "object", "additionalProperties": {"type": "number"}}), "self.all(x, true)", 1179647, 10, 32),
    row(map_of({"type": "array", "items": {"type": "number"}}), "self.all(x, true)", 1179647, 25, 77),
    row(map_of(scalar("duration")), "self.all(x, true)", 1048577, 5, 17),
    row(map_of(scalar("date")), "self.all(x, true)", 524288, 10, 32),
    row(map_of(scalar("date-time")), "self.all(x, true)", 349526, 25, 77),
    row(map_of(scalar("number")), "has(self.x)", None, 100, None),
    row(string(), "self.find('[0-9]+') == ''", 629147, 10, 11),
    row(list_of_bounded_strings, "self.join(' ') == 'aa bb'", 329853068905, 10, 43),
    row(list_of_bounded_strings, "self.isSorted() == true", 329854432052, 10, 52),
    row(strings_object(before=2, after=4), "self.str.replace(self.before, self.after) == 'does not matter'", 629154, 4, 12),
    row(strings_object(), "self.str.split(self.separator) == []", 629160, 10, 22),
    row(string(), "self.lowerAscii() == 'lower!'", 314575, 10, 6),
    row(map_of(scalar("integer")), "oldSelf.size() == self.size()", 5, 10, 5),
    row(map_of(scalar("date-time")), 'self["a"] == self["b"]', 8, 7, 8),
    row(map_of(scalar("duration")), 'self["c"] == self["d"]', 8, 42, 8),
    row(string(enum=["A", "B", "C", "LongValue"]), "self.contains('A')", 2, 1000, 401),
]  # fmt: skip


def rule_cost(schema: Schema, rule: str) -> int:
    declared = celtypes.schema_type(schema)
    assert declared is not None
    return cel.compile(rule, variables={"self": declared, "oldSelf": declared}).estimated_cost


@pytest.mark.parametrize(("shape", "rule", "unbounded", "bound", "bounded"), ROWS)
def test_rule_cost(shape: Shape, rule: str, unbounded: int | None, bound: int, bounded: int | None) -> None:
    calculated = rule_cost(shape(None), rule)
    if unbounded == EXCEEDS:
        assert calculated > 10_000_000
    elif unbounded is not None:
        assert calculated == unbounded
    if bounded is not None:
        assert rule_cost(shape(bound), rule) == bounded
