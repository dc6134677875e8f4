"""Label selectors: string parsing, structured selectors, matching, canonical strings, errors."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.machinery.errors import StatusError
from kybernetes.machinery.labels import (
    EVERYTHING,
    NOTHING,
    Requirement,
    key_errors,
    parse_selector,
    selector_from_label_selector,
    selector_from_set,
    value_errors,
)

NAME_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

PARSE = [
    ("equals", "app=web", "app=web"),
    ("double-equals", "app==web", "app==web"),
    ("not-equals", "app!=web", "app!=web"),
    ("in", "env in (prod,dev)", "env in (dev,prod)"),
    ("notin", "env notin (prod)", "env notin (prod)"),
    ("exists", "app", "app"),
    ("does-not-exist", "!app", "!app"),
    ("sorted-by-key", "b=1,a=2", "a=2,b=1"),
    ("whitespace", "  a  =  b  ,\tc in ( x , y ) ", "a=b,c in (x,y)"),
    ("empty-value", "a=", "a="),
    ("empty-set", "a in ()", "a in ()"),
    ("empty-members", "x in (foo,,baz)", "x in (,baz,foo)"),
    ("duplicate-values", "x in (b,a,b)", "x in (a,b)"),
    ("keywords-as-key-and-value", "in in (in,notin)", "in in (in,notin)"),
    ("prefixed-key", "example.com/tier=web", "example.com/tier=web"),
    ("greater-than", "n>3", "n>3"),
    ("less-than", "n<3", "n<3"),
    ("empty", "", ""),
]


@pytest.mark.parametrize(("text", "canonical"), [p[1:] for p in PARSE], ids=[p[0] for p in PARSE])
def test_parse_canonical(text: str, canonical: str) -> None:
    assert str(parse_selector(text)) == canonical


MATCH = [
    ("eq-hit", "app=web", {"app": "web"}, True),
    ("eq-miss", "app=web", {"app": "db"}, False),
    ("eq-absent", "app=web", {}, False),
    ("neq-absent-matches", "app!=web", {}, True),
    ("neq-other", "app!=web", {"app": "db"}, True),
    ("neq-same", "app!=web", {"app": "web"}, False),
    ("in-hit", "env in (a,b)", {"env": "b"}, True),
    ("in-absent", "env in (a,b)", {}, False),
    ("notin-absent-matches", "env notin (a)", {}, True),
    ("notin-hit", "env notin (a)", {"env": "a"}, False),
    ("exists", "app", {"app": ""}, True),
    ("exists-absent", "app", {"x": "y"}, False),
    ("dne", "!app", {"x": "y"}, True),
    ("dne-present", "!app", {"app": "x"}, False),
    ("and", "a=1,b=2", {"a": "1", "b": "2"}, True),
    ("and-one-fails", "a=1,b=2", {"a": "1", "b": "3"}, False),
    ("empty-matches-all", "", {"a": "1"}, True),
    ("empty-value-eq", "a=", {"a": ""}, True),
    ("gt", "n>3", {"n": "4"}, True),
    ("gt-equal", "n>3", {"n": "3"}, False),
    ("gt-not-int", "n>3", {"n": "x"}, False),
    ("lt", "n<3", {"n": "-1"}, True),
]


@pytest.mark.parametrize(("text", "labels", "want"), [m[1:] for m in MATCH], ids=[m[0] for m in MATCH])
def test_matches(text: str, labels: dict[str, str], want: bool) -> None:
    assert parse_selector(text).matches(labels) is want


def test_matches_none_labels() -> None:
    assert parse_selector("!a").matches(None)
    assert not parse_selector("a").matches(None)


ERRORS = [
    ("space-between", "a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("colon-in-key", "app:monolith",
     'unable to parse requirement: <nil>: Invalid value: "app:monolith": ' + NAME_RULE),
    ("bad-value", "a=b$c", 'unable to parse requirement: values[0][a]: Invalid value: "b$c": ' + VALUE_RULE),
    ("trailing-comma", "a,", "found '', expected: identifier after ','"),
    ("double-operator", "a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("leading-comma", ",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("in-without-paren", "a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("in-unclosed", "a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("not-alone", "!", "unable to parse requirement: found '', expected: identifier"),
    ("gt-non-integer", "a>b",
     "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"),
    ("three-part-key", "a/b/c",
     'unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric '
     "characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or "
     "'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with "
     "an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"),
    ("uppercase-prefix", "Example.com/a=b",
     'unable to parse requirement: <nil>: Invalid value: "Example.com/a": prefix part a lowercase RFC 1123 '
     "subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an "
     "alphanumeric character (e.g. 'example.com', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    ("long-value", "a=" + "v" * 64,
     'unable to parse requirement: values[0][a]: Invalid value: "' + "v" * 64 + '": must be no more than 63 characters'),
]


@pytest.mark.parametrize(("text", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(StatusError) as ei:
        parse_selector(text)
    assert (ei.value.code, ei.value.reason, ei.value.message) == (400, "BadRequest", message)


KEYS = [
    ("simple", "app", []),
    ("prefixed", "k8s.io/app", []),
    ("empty-name", "k8s.io/", ["name part must be non-empty", "name part " + NAME_RULE.removeprefix("name part ")]),
    ("empty-prefix", "/app", ["prefix part must be non-empty"]),
    ("long-name", "a" * 64, ["name part must be no more than 63 characters"]),
]


@pytest.mark.parametrize(("key", "errs"), [k[1:] for k in KEYS], ids=[k[0] for k in KEYS])
def test_key_errors(key: str, errs: list[str]) -> None:
    assert key_errors(key) == errs


@pytest.mark.parametrize("value", ["", "a", "a.b-c_d", "0" * 63])
def test_valid_values(value: str) -> None:
    assert value_errors(value) == []


STRUCTURED: list[tuple[str, dict[str, Any] | None, str, dict[str, str], bool]] = [
    ("none-matches-nothing", None, "", {"a": "b"}, False),
    ("empty-matches-all", {}, "", {"a": "b"}, True),
    ("empty-fields-match-all", {"matchLabels": {}, "matchExpressions": []}, "", {}, True),
    ("match-labels", {"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2", {"a": "1", "b": "2"}, True),
    ("expressions", {"matchExpressions": [
        {"key": "env", "operator": "In", "values": ["prod", "dev"]},
        {"key": "tier", "operator": "NotIn", "values": ["db"]},
        {"key": "app", "operator": "Exists"},
        {"key": "legacy", "operator": "DoesNotExist"},
    ]}, "app,env in (dev,prod),!legacy,tier notin (db)", {"env": "dev", "app": "x"}, True),
    ("mixed", {"matchLabels": {"app": "web"}, "matchExpressions": [{"key": "env", "operator": "In", "values": ["a"]}]},
     "app=web,env in (a)", {"app": "web", "env": "b"}, False),
]


@pytest.mark.parametrize(("ls", "text", "labels", "want"), [s[1:] for s in STRUCTURED], ids=[s[0] for s in STRUCTURED])
def test_structured(ls: dict[str, Any] | None, text: str, labels: dict[str, str], want: bool) -> None:
    sel = selector_from_label_selector(ls)
    assert str(sel) == text
    assert sel.matches(labels) is want


STRUCTURED_ERRORS = [
    ("bad-operator", {"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]},
     '"Equals" is not a valid pod selector operator'),
    ("in-without-values", {"matchExpressions": [{"key": "a", "operator": "In"}]},
     "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"),
    ("exists-with-values", {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
     'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'),
    ("bad-key", {"matchLabels": {"a b": "c"}}, 'key: Invalid value: "a b": ' + NAME_RULE),
    ("bad-value", {"matchLabels": {"a": "-x"}}, 'values[0][a]: Invalid value: "-x": ' + VALUE_RULE),
]


@pytest.mark.parametrize(("ls", "message"), [s[1:] for s in STRUCTURED_ERRORS], ids=[s[0] for s in STRUCTURED_ERRORS])
def test_structured_errors(ls: dict[str, Any], message: str) -> None:
    with pytest.raises(StatusError) as ei:
        selector_from_label_selector(ls)
    assert (ei.value.code, ei.value.message) == (400, message)


def test_empty_and_nothing() -> None:
    assert EVERYTHING.empty and parse_selector("").empty
    assert not NOTHING.empty and not NOTHING.matches({})
    assert not parse_selector("a").empty


REQUIRES = [
    ("eq", "a=1,b=2", "b", "2"),
    ("in-one", "a in (x)", "a", "x"),
    ("in-two", "a in (x,y)", "a", None),
    ("neq", "a!=x", "a", None),
    ("absent", "a=1", "z", None),
]


@pytest.mark.parametrize(("text", "key", "want"), [r[1:] for r in REQUIRES], ids=[r[0] for r in REQUIRES])
def test_requires_exact_match(text: str, key: str, want: str | None) -> None:
    assert parse_selector(text).requires_exact_match(key) == want


def test_requirements_exposed() -> None:
    assert parse_selector("b in (y,x),a").requirements == (
        Requirement("a", "exists", ()),
        Requirement("b", "in", ("x", "y")),
    )


def test_selector_from_set() -> None:
    sel = selector_from_set({"b": "2", "a": "1"})
    assert str(sel) == "a=1,b=2"
    assert selector_from_set(None).empty and selector_from_set({}).empty
