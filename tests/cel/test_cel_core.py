"""Conformance-style table for the core language: literals, operators, macros, conversions."""

from __future__ import annotations

import pytest

from kybernetes import cel

from .cases import Case, Err, case, run

LITERALS = [
    case("1", 1),
    case("-9223372036854775808", -(2**63)),
    case("0x1F", 31),
    case("1u", cel.Uint(1)),
    case("18446744073709551615u", cel.Uint(2**64 - 1)),
    case("1.5", 1.5),
    case(".5", 0.5),
    case("1e3", 1000.0),
    case("'a\\tb'", "a\tb"),
    case('"\\u00e9\\x41\\101"', "éAA"),
    case("r'a\\tb'", "a\\tb"),
    case("'''multi\nline'''", "multi\nline"),
    case('b"ab\\xff"', b"ab\xff"),
    case("null", None),
    case("true", True),
    case("[1, 2, 3]", [1, 2, 3]),
    case("{'a': 1, 'b': 2}", {"a": 1, "b": 2}),
    case("[1, 2,]", [1, 2], id="trailing comma"),
    case("9223372036854775808", Err("invalid int literal", compile=True)),
]

ARITHMETIC = [
    case("1 + 2 * 3 - 4 / 2", 5),
    case("7 / -2", -3, id="int division truncates"),
    case("-7 % 3", -1, id="modulo sign of dividend"),
    case("7.0 / 2.0", 3.5),
    case("1 / 0", Err("division by zero")),
    case("1 % 0", Err("modulus by zero")),
    case("9223372036854775807 + 1", Err("integer overflow")),
    case("-9223372036854775808 - 1", Err("integer overflow")),
    case("-(-9223372036854775808)", Err("integer overflow"), id="negate min int"),
    case("1u - 2u", Err("unsigned integer overflow")),
    case("3u * 2u", cel.Uint(6)),
    case("'ab' + 'cd'", "abcd"),
    case("b'ab' + b'cd'", b"abcd"),
    case("[1] + [2, 3]", [1, 2, 3]),
    case("1 + 1.0", Err("found no matching overload for '_+_' applied to '(int, double)'", compile=True)),
    case("dyn(1) + 1.0", Err("no such overload")),
    case("!true", False),
    case("--1", 1),
]

COMPARISON = [
    case("1 == 1", True),
    case("1 == 1.0", Err("found no matching overload for '_==_' applied to '(int, double)'", compile=True)),
    case("dyn(1) == 1.0", True, id="heterogeneous numeric equality"),
    case("dyn(1) == 'a'", False),
    case("1 < 1.5", True, id="cross-type numeric comparison"),
    case("2u > 1", True),
    case("'a' < 'b'", True),
    case("b'a' < b'b'", True),
    case("false < true", True),
    case("[1, 2] == [1, 2]", True),
    case("{'a': [1]} == {'a': [1]}", True),
    case("{'a': 1} != {'a': 2}", True),
    case("2 in [1, 2, 3]", True),
    case("'a' in {'a': 1}", True),
    case("'z' in {'a': 1}", False),
    case("null == null", True),
    case("1 < 2 && 2 < 3", True),
]

LOGIC = [
    case("false && (1 / 0 == 1)", False),
    case("(1 / 0 == 1) && false", False, id="error absorbed right"),
    case("(1 / 0 == 1) || true", True, id="error absorbed by true"),
    case("true || (1 / 0 == 1)", True),
    case("(1 / 0 == 1) || false", Err("division by zero")),
    case("true ? 1 : 2", 1),
    case("false ? 1 : 1 / 0", Err("division by zero")),
    case("true ? 'a' : 1", Err("found no matching overload for '_?_:_'", compile=True)),
]

ACCESS = [
    case("x.a", 1, x={"a": 1}),
    case("x.b", Err("no such key: b"), x={"a": 1}),
    case("x['a']", 1, x={"a": 1}),
    case("x[1]", 2, x=[1, 2]),
    case("x[2]", Err("index out of bounds: 2"), x=[1, 2]),
    case("has(x.a)", True, x={"a": 1}),
    case("has(x.b)", False, x={"a": 1}),
    case("has(x)", Err("invalid argument to has() macro", compile=True), x={}),
    case("{1: 'a'}[dyn(1u)]", "a", id="numeric keys compare by value"),
    case("x.a.b.c", 3, x={"a": {"b": {"c": 3}}}),
]

MACROS = [
    case("[1, 2, 3].all(x, x > 0)", True),
    case("[1, 2, 3].exists(x, x > 2)", True),
    case("[1, 2, 3].exists_one(x, x > 1)", False),
    case("[1, 2, 3].map(x, x * 2)", [2, 4, 6]),
    case("[1, 2, 3].map(x, x > 1, x * 2)", [4, 6]),
    case("[1, 2, 3].filter(x, x % 2 == 1)", [1, 3]),
    case("{'a': 1, 'b': 2}.all(k, k in ['a', 'b'])", True),
    case("[0, -1].all(x, 1 / x > 0)", False, id="all false beats error"),
    case("[0, 1].exists(x, 1 / x > 0)", True, id="exists true beats error"),
    case("[0].all(x, 1 / x > 0)", Err("division by zero")),
    case("[[1, 2], [3]].map(l, l.map(x, x + 1))", [[2, 3], [4]]),
    case("[1, 2].all(i, v, v > i)", True, id="two-variable all"),
    case("['a', 'b'].transformList(i, v, v + string(i))", ["a0", "b1"]),
    case("{'a': 1}.transformMap(k, v, v + 1)", {"a": 2}),
    case("{'a': 1}.transformMapEntry(k, v, {v: k})", {1: "a"}),
    case("[1, 2].all(1, true)", Err("argument must be a simple name", compile=True)),
    case("1.all(x, true)", Err("cannot be range of a comprehension", compile=True)),
]

CONVERSIONS = [
    case("int('42')", 42),
    case("int(3.9)", 3),
    case("int(-3.9)", -3),
    case("int(1e20)", Err("integer overflow")),
    case("int('x')", Err("cannot convert")),
    case("uint(3)", cel.Uint(3)),
    case("uint(-1)", Err("unsigned integer overflow")),
    case("double(3)", 3.0),
    case("string(3)", "3"),
    case("string(1.0)", "1"),
    case("string(1e21)", "1e+21"),
    case("string(0.000001)", "1e-06"),
    case("string(true)", "true"),
    case("string(b'abc')", "abc"),
    case("bytes('é')", "é".encode()),
    case("bool('true')", True),
    case("type(1) == int", True),
    case("type('a') == string", True),
    case("type([1]) == list", True),
    case("type(int) == type", True),
    case("size('héllo')", 5),
    case("size([1, 2])", 2),
    case("'abc'.size()", 3),
    case("size({'a': 1})", 1),
]

STRINGS = [
    case("'hello'.contains('ell')", True),
    case("'hello'.startsWith('he')", True),
    case("'hello'.endsWith('lo')", True),
    case("'hello'.matches('^h.*o$')", True),
    case("'hello\\n'.matches('^hello$')", False, id="dollar is end of text as in RE2"),
    case("matches('abc', 'b')", True),
    case("'a'.matches('(a)\\\\1')", Err("invalid matches argument", compile=True)),
    case("'a'.matches(p)", Err("error parsing regexp"), p="(a)\\1", id="backreference at runtime"),
    case("'a'.matches('(?=a)')", Err("invalid matches argument", compile=True)),
]

OPTIONALS = [
    case("optional.of(1).value()", 1),
    case("optional.none().hasValue()", False),
    case("optional.none().orValue(3)", 3),
    case("optional.none().or(optional.of(2)).value()", 2),
    case("optional.ofNonZeroValue('').hasValue()", False),
    case("x.?a.orValue(0)", 1, x={"a": 1}),
    case("x.?b.orValue(0)", 0, x={"a": 1}),
    case("x.?a.b.orValue(0)", 0, x={"a": {}}, id="optional chain"),
    case("x[?'a'].hasValue()", True, x={"a": 1}),
    case("[1, 2][?5].hasValue()", False),
    case("[?optional.none(), ?optional.of(1), 2]", [1, 2]),
    case("{?'a': optional.none(), 'b': 1}", {"b": 1}),
    case("optional.of(2).optMap(v, v * 2).value()", 4),
    case("optional.none().value()", Err("optional.none() dereference")),
    case("optional.of(1).orValue(1 / 0)", 1, id="orValue is lazy"),
    case("optional.of(1).or(optional.of(1 / 0)).value()", 1, id="or is lazy"),
    case("optional.none().orValue(1 / 0)", Err("division by zero")),
]

TIME = [
    case("timestamp('2023-01-02T03:04:05Z').getFullYear()", 2023),
    case("timestamp('2023-01-02T03:04:05Z').getMonth()", 0),
    case("timestamp('2023-01-02T03:04:05Z').getDate()", 2),
    case("timestamp('2023-01-02T03:04:05Z').getDayOfMonth()", 1),
    case("timestamp('2023-01-01T00:00:00Z').getDayOfWeek()", 0, id="sunday is 0"),
    case("timestamp('2023-01-02T03:04:05Z').getHours('America/New_York')", 22),
    case("timestamp('2023-01-02T03:04:05Z').getHours('+05:30')", 8),
    case("string(timestamp('2023-01-02T03:04:05.5+01:00'))", "2023-01-02T02:04:05.5Z"),
    case("duration('1h30m').getMinutes()", 90),
    case("string(duration('1m30s'))", "90s"),
    case("timestamp('2023-01-02T00:00:00Z') - timestamp('2023-01-01T00:00:00Z') == duration('24h')", True),
    case("timestamp('2023-01-01T00:00:00Z') + duration('1s') > timestamp('2023-01-01T00:00:00Z')", True),
    case("int(timestamp('1970-01-01T00:01:00Z'))", 60),
    case("duration('1x')", Err("duration", compile=True)),
    case("timestamp('not a time')", Err("timestamp", compile=True)),
]


@pytest.mark.parametrize(
    "c",
    LITERALS + ARITHMETIC + COMPARISON + LOGIC + ACCESS + MACROS + CONVERSIONS + STRINGS + OPTIONALS + TIME,
)
def test_core(c: Case) -> None:
    run(c)
