"""CRD-time cost checks of x-kubernetes-validations rules: (schema, rule) -> accepted or upstream's errors.

Sizes come from the schema (maxItems, maxProperties, maxLength, formats, enums) or, when
unbounded, from the 3 MiB request limit; a rule under an unbounded list or map is multiplied by
how many of its nodes fit in a request, under bounded ones by the product of the bounds.
"""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.apiserver.crd import celrules, celtypes
from kybernetes.machinery.errors import Cause

ROOT = "spec.validation.openAPIV3Schema"
SPEC = f"{ROOT}.properties[spec]"
HINT = (
    "(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, "
    "maps, and strings are declared)"
)
CONTRIBUTED = (
    "Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema"
)


def crd(**spec_properties: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": spec_properties}}}
    return {"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema}}]}}


def with_rule(schema: dict[str, Any], rule: str) -> dict[str, Any]:
    return dict(schema, **{"x-kubernetes-validations": [{"rule": rule}]})


def rule_too_costly(where: str, factor: str) -> Cause:
    return Cause(
        "FieldValueForbidden",
        f"Forbidden: estimated rule cost exceeds budget by factor of {factor} {HINT}",
        f"{where}.x-kubernetes-validations[0].rule",
    )


def total_too_costly(factor: str) -> Cause:
    return Cause(
        "FieldValueForbidden",
        "Forbidden: x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema "
        f"exceeds budget by factor of {factor} {HINT}",
        ROOT,
    )


STRINGS = {"type": "array", "items": {"type": "string"}}
BOUNDED_STRINGS = {"type": "array", "maxItems": 10, "items": {"type": "string", "maxLength": 63}}
MATCHES = "self.all(x, x.matches('^[a-z]+$'))"
TAGS = f"{SPEC}.properties[tags]"


def contains_gpu(max_items: int) -> dict[str, Any]:
    items = {"type": "string", "maxLength": 16}
    return with_rule(
        {"type": "array", "maxItems": max_items, "items": items}, "self.all(x, x.contains('gpu'))"
    )


ITEM_OBJECT = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 64}}}
CASES = [
    pytest.param(
        crd(tags=with_rule(STRINGS, MATCHES)),
        [
            rule_too_costly(TAGS, "more than 100x"),
            Cause("FieldValueForbidden", CONTRIBUTED, f"{TAGS}.x-kubernetes-validations[0].rule"),
            total_too_costly("more than 100x"),
        ],
        id="matches over unbounded strings",
    ),
    pytest.param(crd(tags=with_rule(BOUNDED_STRINGS, MATCHES)), [], id="matches with maxItems and maxLength"),
    pytest.param(crd(tags=contains_gpu(909_090)), [], id="cost 9999992 fits the budget"),
    pytest.param(
        crd(tags=contains_gpu(909_091)),
        [rule_too_costly(TAGS, "1.000000x")],
        id="one more item exceeds it (small factors print %f)",
    ),
    pytest.param(
        crd(
            items={
                "type": "array",
                "maxItems": 100,
                "items": with_rule(
                    dict(ITEM_OBJECT, properties={"name": {"type": "string"}}), "self.name.contains('a')"
                ),
            }
        ),
        [rule_too_costly(f"{SPEC}.properties[items].items", "3.1x")],
        id="rule under a bounded list is multiplied by maxItems",
    ),
    pytest.param(
        crd(
            items={
                "type": "array",
                "maxItems": 100,
                "items": with_rule(ITEM_OBJECT, "self.name.contains('a')"),
            }
        ),
        [],
        id="maxLength makes it cheap",
    ),
    pytest.param(
        crd(items={"type": "array", "items": with_rule(ITEM_OBJECT, "self.name == 'a'")}),
        [],
        id="cheap rule under an unbounded list",
    ),
    pytest.param(
        crd(items={"type": "array", "items": with_rule(ITEM_OBJECT, "self.name.contains('a')")}),
        [rule_too_costly(f"{SPEC}.properties[items].items", "2.9x")],
        id="unbounded list multiplies by what fits in a request",
    ),
    pytest.param(
        crd(
            items={
                "type": "object",
                "additionalProperties": with_rule({"type": "string", "maxLength": 8}, "self.startsWith('x')"),
            }
        ),
        [],
        id="string under an unbounded map",
    ),
    pytest.param(
        crd(when=with_rule({"type": "string", "format": "date-time"}, "self == oldSelf")),
        [],
        id="formatted strings have short fixed bounds",
    ),
    pytest.param(
        crd(
            mode=with_rule(
                {"type": "string", "enum": ["a", "bb"]}, "self.matches('^a') || self.contains('b')"
            )
        ),
        [],
        id="enum bounds a string",
    ),
]


@pytest.mark.parametrize(("definition", "want"), CASES)
def test_rule_costs(definition: dict[str, Any], want: list[Cause]) -> None:
    assert celrules.validate_crd_rules(definition) == want


def test_total_over_the_crd_budget_names_the_four_dearest() -> None:
    """Eleven rules, each just inside the per-rule budget, exceed the per-CRD one together."""
    properties = {f"p{i:02d}": contains_gpu(909_090) for i in range(11)}
    got = celrules.validate_crd_rules(crd(**properties))
    contributed = [c for c in got if c.message == CONTRIBUTED]
    assert len(contributed) == 4
    assert got[-1] == total_too_costly("1.099999x")
    assert len(got) == 5


def test_message_expression_cost_is_not_multiplied() -> None:
    item = dict(
        ITEM_OBJECT,
        **{"x-kubernetes-validations": [{"rule": "true", "messageExpression": "self.name + self.name"}]},
    )
    assert celrules.validate_crd_rules(crd(items={"type": "array", "items": item})) == []


@pytest.mark.parametrize(
    ("schema", "size"),
    [
        ({"type": "string"}, 2),
        ({"type": "boolean"}, 4),
        ({"type": "integer"}, 1),
        ({"type": "string", "format": "date-time"}, 21),
        ({"type": "object", "required": ["k"], "properties": {"k": {"type": "string"}}}, 9),
        ({"type": "object", "required": ["k"], "properties": {"k": {"type": "string", "default": "x"}}}, 2),
        ({"x-kubernetes-int-or-string": True}, 1),
    ],
    ids=lambda x: str(x),
)
def test_min_serialized_size(schema: dict[str, Any], size: int) -> None:
    assert celtypes.min_serialized_size(schema) == size


@pytest.mark.parametrize(
    ("schema", "max_size"),
    [
        ({"type": "string"}, 3 * 1024 * 1024 - 2),
        ({"type": "string", "maxLength": 10}, 40),
        ({"type": "string", "format": "byte", "maxLength": 10}, 10),
        ({"type": "string", "format": "duration", "maxLength": 10}, 32),
        ({"type": "string", "enum": ["a", "ccc"]}, 3),
        ({"type": "array", "items": {"type": "integer"}}, (3 * 1024 * 1024 - 2) // 2),
        ({"type": "array", "items": {"type": "integer"}, "maxItems": -1}, 0),
        ({"type": "object", "additionalProperties": {"type": "boolean"}}, (3 * 1024 * 1024 - 2) // 10),
        ({"type": "object", "additionalProperties": {"type": "boolean"}, "maxProperties": 3}, 3),
        ({"x-kubernetes-int-or-string": True, "maxLength": 5}, 20),
        ({"type": "integer"}, 0),
    ],
    ids=lambda x: str(x),
)
def test_declared_sizes(schema: dict[str, Any], max_size: int) -> None:
    declared = celtypes.schema_type(schema)
    assert declared is not None
    assert declared.max_size == max_size
