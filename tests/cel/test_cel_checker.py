"""Type checking against declared (schema-derived) variable types, cel-go's error format, and the
runtime cost budget."""

from __future__ import annotations

import datetime

import pytest

from kybernetes import cel

from .cases import Case, Err, run, typed

CONTAINER = cel.ObjectType("Container", {"name": cel.STRING, "ports": cel.ListType(cel.INT)})
SPEC = cel.ObjectType(
    "Spec",
    {
        "replicas": cel.INT,
        "ratio": cel.DOUBLE,
        "containers": cel.ListType(CONTAINER),
        "labels": cel.MapType(cel.STRING, cel.STRING),
        "port": cel.IntOrStringType,
        "created": cel.TIMESTAMP,
        "timeout": cel.DURATION,
        "blob": cel.BYTES,
        "free": cel.DYN,
    },
)
V: dict[str, cel.Type] = {"self": SPEC, "oldSelf": SPEC}
OBJ = {
    "replicas": 3,
    "ratio": 0.5,
    "containers": [{"name": "a", "ports": [80, 443]}, {"name": "b", "ports": []}],
    "labels": {"app": "web"},
    "port": "http",
    "created": datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
    "timeout": datetime.timedelta(seconds=90),
    "blob": b"\x00\x01",
    "free": {"anything": [1, "two"]},
}


def t(expr: str, want: object, *, id: str | None = None) -> object:
    return typed(expr, want, V, id=id, self=OBJ, oldSelf=OBJ)


CHECKED = [
    t("self.replicas >= 0", True),
    t("self.containers.all(c, c.name != '')", True),
    t("self.containers.map(c, c.ports.size()).sum()", 2),
    t("self.containers.exists(c, 443 in c.ports)", True),
    t("self.labels.app == 'web'", True),
    t("self.labels['app']", "web"),
    t("'app' in self.labels", True),
    t("self.port == 'http' || self.port == 80", True, id="int-or-string is dyn"),
    t("self.free.anything[1]", "two"),
    t("self.ratio < self.replicas", True, id="cross-type comparison"),
    t("self.created < timestamp('2025-01-01T00:00:00Z')", True),
    t("self.timeout > duration('1m')", True),
    t("size(self.blob)", 2),
    t("self == oldSelf", True),
    t("has(self.replicas)", True),
    t("self.?labels.app.orValue('none')", "web"),
    t("self.nope", Err("ERROR: <input>:1:5: undefined field 'nope'\n | self.nope\n | ....^", compile=True)),
    t("has(self.nope)", Err("undefined field 'nope'", compile=True)),
    t("self.containers[0].image", Err("undefined field 'image'", compile=True)),
    t("self.containers.all(c, c.nam == '')", Err("undefined field 'nam'", compile=True)),
    t(
        "self.replicas + 'x'",
        Err("found no matching overload for '_+_' applied to '(int, string)'", compile=True),
    ),
    t("self.replicas + self.ratio", Err("applied to '(int, double)'", compile=True)),
    t("self.replicas == null", Err("applied to '(int, null)'", compile=True)),
    t("self.labels.app.startsWith(1)", Err("'startsWith' applied to 'string.(int)'", compile=True)),
    t("nope > 1", Err("undeclared reference to 'nope' (in container '')", compile=True)),
    t("self.replicas.frobnicate()", Err("undeclared reference to 'frobnicate'", compile=True)),
    t("self.replicas.x", Err("type 'int' does not support field selection", compile=True)),
    t("[self.replicas, 'a']", Err("expected type 'int' but found 'string'", compile=True)),
    t("self.replicas.all(x, true)", Err("cannot be range of a comprehension", compile=True)),
    t("Foo{a: 1}", Err("undeclared reference to 'Foo'", compile=True)),
    t(
        "[self.port, 1]",
        Err("expected type 'dyn' but found 'int'", compile=True),
        id="dyn is not int in literals",
    ),
    t("{'a': 1, 'b': 'x'}", Err("expected type 'int' but found 'string'", compile=True)),
    t("[[], [1]][1]", [1], id="empty literal takes the other element type"),
    t("[optional.none(), optional.of(1)].size()", 2),
    t("'%s: %d'.format([self.labels.app, 1])", "web: 1", id="format arguments are exempt"),
    t("duration('1x') > self.timeout", Err("invalid duration argument", compile=True)),
    t("timestamp('2020-13-01T00:00:00Z') < self.created", Err("invalid timestamp argument", compile=True)),
    t("self.labels.app.matches('[')", Err("ERROR: <input>:1:25: invalid matches argument", compile=True)),
]


@pytest.mark.parametrize("c", CHECKED)
def test_checked(c: Case) -> None:
    run(c)


@pytest.mark.parametrize(
    ("expr", "output"),
    [
        ("self.replicas > 1", "bool"),
        ("self.containers.map(c, c.name)", "list(string)"),
        ("self.containers[0]", "Container"),
        ("self.labels", "map(string, string)"),
        ("self.free", "dyn"),
        ("self.?replicas", "optional_type(int)"),
        ("self.created - self.created", "google.protobuf.Duration"),
        ("type(self.replicas)", "type(int)"),
        ("quantity('1')", "kubernetes.Quantity"),
    ],
)
def test_output_type(expr: str, output: str) -> None:
    assert str(cel.compile(expr, variables=V).output_type) == output


def test_several_issues_are_all_reported_in_order() -> None:
    with pytest.raises(cel.CompileError) as info:
        cel.compile("self.a == 1 &&\n  self.b == 2", variables=V)
    assert str(info.value) == (
        "ERROR: <input>:1:5: undefined field 'a'\n | self.a == 1 &&\n | ....^\n"
        "ERROR: <input>:2:7: undefined field 'b'\n |   self.b == 2\n | ......^"
    )
    assert [i.message for i in info.value.issues] == ["undefined field 'a'", "undefined field 'b'"]


def test_syntax_error_points_at_the_token() -> None:
    with pytest.raises(cel.CompileError) as info:
        cel.compile("self.replicas >", variables=V)
    assert str(info.value).startswith("ERROR: <input>:1:16: Syntax error: mismatched input '<EOF>'")


def test_missing_key_at_runtime() -> None:
    program = cel.compile("self.replicas > 0", variables=V)
    with pytest.raises(cel.EvalError, match="no such key: replicas"):
        program.evaluate({"self": {}})


def test_cost_limit() -> None:
    program = cel.compile("self.free.all(x, self.free.all(y, x != y || x == y))", variables=V)
    data = {"self": {"free": list(range(200))}}
    assert program.evaluate(data) is True
    _, cost = program.evaluate_with_cost(data)
    assert cost > 200 * 200
    with pytest.raises(cel.CostLimitExceeded, match="operation cancelled: actual cost limit exceeded"):
        program.evaluate(data, cost_limit=10_000)


def test_cost_limit_is_not_absorbed_by_logical_operators() -> None:
    program = cel.compile("self.free.all(x, x >= 0) || true", variables=V)
    with pytest.raises(cel.CostLimitExceeded):
        program.evaluate({"self": {"free": list(range(1000))}}, cost_limit=100)


def test_string_functions_cost_in_proportion_to_size() -> None:
    program = cel.compile("self.free.contains('z')", variables=V)
    _, small = program.evaluate_with_cost({"self": {"free": "a"}})
    _, large = program.evaluate_with_cost({"self": {"free": "a" * 100_000}})
    assert large > small + 1000


def test_compile_once_evaluate_fast() -> None:
    import time

    program = cel.compile("self.replicas <= self.ratio * 10.0", variables=V)
    data = {"self": OBJ}
    start = time.perf_counter()
    for _ in range(2000):
        program.evaluate(data)
    per_call = (time.perf_counter() - start) / 2000
    assert per_call < 200e-6  # typically ~1 µs; generous for loaded CI machines
