"""Field selectors: parsing with escapes, matching, canonical strings, unsupported names."""

from __future__ import annotations

import pytest

from kybernetes.machinery.errors import StatusError
from kybernetes.machinery.fields import (
    FieldRequirement,
    check_supported,
    escape_value,
    parse_field_selector,
    selector_from_set,
    unescape_value,
)

PARSE = [
    ("equals", "metadata.name=web", "metadata.name=web", [("metadata.name", "=", "web")]),
    ("double-equals", "metadata.name==web", "metadata.name=web", [("metadata.name", "==", "web")]),
    ("not-equals", "status.phase!=Running", "status.phase!=Running", [("status.phase", "!=", "Running")]),
    ("sorted-terms", "spec.nodeName=n1,status.phase!=Failed,metadata.name=a",
     "metadata.name=a,spec.nodeName=n1,status.phase!=Failed",
     [("metadata.name", "=", "a"), ("spec.nodeName", "=", "n1"), ("status.phase", "!=", "Failed")]),
    ("escaped-comma-and-equals", r"a=x\,y\=z", r"a=x\,y\=z", [("a", "=", "x,y=z")]),
    ("escaped-backslash", r"a=x\\y", r"a=x\\y", [("a", "=", "x\\y")]),
    ("empty-value", "a=", "a=", [("a", "=", "")]),
    ("empty-terms-skipped", ",a=b,,", "a=b", [("a", "=", "b")]),
    ("empty", "", "", []),
    ("no-space-trimming", " a = b", " a = b", [(" a ", "=", " b")]),
]


@pytest.mark.parametrize(("text", "canonical", "reqs"), [p[1:] for p in PARSE], ids=[p[0] for p in PARSE])
def test_parse(text: str, canonical: str, reqs: list[tuple[str, str, str]]) -> None:
    sel = parse_field_selector(text)
    assert str(sel) == canonical
    assert sel.requirements == tuple(FieldRequirement(*r) for r in reqs)


ERRORS = [
    ("no-operator", "metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    ("no-operator-second", "a=b,c", "invalid selector: 'a=b,c'; can't understand 'c'"),
    ("unescaped-equals", "a=b=c", "invalid field selector: unescaped character in value: 61"),
    ("bad-escape", r"a=b\n", "invalid field selector: invalid escape sequence: \\n"),
    ("trailing-backslash", "a=b\\", "invalid field selector: invalid escape sequence: \\"),
]


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as ei:
        parse_field_selector(text)
    assert (ei.value.code, ei.value.reason, ei.value.message) == (400, "BadRequest", message)


MATCH = [
    ("eq", "metadata.name=a", {"metadata.name": "a"}, True),
    ("eq-miss", "metadata.name=a", {"metadata.name": "b"}, False),
    ("eq-empty-matches-absent", "spec.nodeName=", {}, True),
    ("neq", "status.phase!=Failed", {"status.phase": "Running"}, True),
    ("neq-absent", "status.phase!=Failed", {}, True),
    ("neq-same", "status.phase!=Failed", {"status.phase": "Failed"}, False),
    ("and", "a=1,b!=2", {"a": "1", "b": "3"}, True),
    ("and-fails", "a=1,b!=2", {"a": "1", "b": "2"}, False),
    ("escaped", r"a=x\,y", {"a": "x,y"}, True),
    ("everything", "", {"a": "1"}, True),
]


@pytest.mark.parametrize(("text", "fields", "want"), [m[1:] for m in MATCH], ids=[m[0] for m in MATCH])
def test_matches(text: str, fields: dict[str, str], want: bool) -> None:
    assert parse_field_selector(text).matches(fields) is want


def test_fields_and_exact_match() -> None:
    sel = parse_field_selector("spec.nodeName=n1,metadata.name=a,spec.nodeName!=n2")
    assert sel.fields() == ["metadata.name", "spec.nodeName"]
    assert sel.requires_exact_match("spec.nodeName") == "n1"
    assert sel.requires_exact_match("status.phase") is None
    assert parse_field_selector("").empty


POD_FIELDS = ["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"]
SUPPORTED = [
    ("pod-ok", "spec.nodeName=n1,status.phase!=Failed", POD_FIELDS, None),
    ("pod-unsupported", "spec.nodeName=n1,spec.foo=x", POD_FIELDS, "field label not supported: spec.foo"),
    ("first-in-sorted-order", "z.b=1,a.b=1", POD_FIELDS, "field label not supported: a.b"),
    ("generic-ok", "metadata.namespace!=default", None, None),
    ("generic-unsupported", "foo.bar=baz", None,
     '"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"'),
]


@pytest.mark.parametrize(("text", "supported", "message"), [s[1:] for s in SUPPORTED], ids=[s[0] for s in SUPPORTED])
def test_check_supported(text: str, supported: list[str] | None, message: str | None) -> None:
    sel = parse_field_selector(text)
    if message is None:
        check_supported(sel, supported, "pods")
        return
    with pytest.raises(StatusError) as ei:
        check_supported(sel, supported, "pods")
    assert (ei.value.code, ei.value.reason, ei.value.message) == (400, "BadRequest", message)


@pytest.mark.parametrize("raw", ["plain", "a,b", "a=b", "back\\slash", "\\,=", ""])
def test_escape_roundtrip(raw: str) -> None:
    assert unescape_value(escape_value(raw)) == raw


def test_selector_from_set() -> None:
    assert str(selector_from_set({"b": "x=y", "a": "1"})) == r"a=1,b=x\=y"
    assert selector_from_set(None).empty
