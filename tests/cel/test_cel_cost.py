"""Static cost estimation: cel-go's estimator with Kubernetes' prices, number for number.

Expected values are worked out from cel-go's macro expansions and price list (see the module
docstring of kybernetes.cel.cost); the first row is the one public measurements pin down: a
rule ``self.all(x, x.contains('gpu'))`` over strings of maxLength 16 costs 11 per item, so
909,090 items are the most a 10,000,000 budget accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from kybernetes import cel
from kybernetes.cel.cost import MAX

S = cel.STRING
BOUNDED = cel.ObjectType(
    "Bounded",
    {
        "name": cel.sized(S, 20),
        "s": cel.sized(S, 10),
        "n": cel.sized(cel.INT, 0),
        "tags": cel.ListType(cel.sized(S, 64), max_items=100),
        "labels": cel.MapType(cel.sized(S, 0), cel.sized(S, 40), max_properties=10),
        "ints": cel.ListType(cel.INT, max_items=5),
    },
    max_size=0,
)
FREE = cel.ObjectType("Free", {"s": S, "tags": cel.ListType(S)}, max_size=0)


def row(expr: str, variables: Mapping[str, cel.Type], want: tuple[int, int], *, id: str | None = None) -> Any:
    return pytest.param(expr, variables, want, id=id or expr)


B: dict[str, cel.Type] = {"self": BOUNDED}
F: dict[str, cel.Type] = {"self": FREE}
AUTHZ = dict(cel.authz.VARIABLES)

ROWS = [
    row(
        "self.all(x, x.contains('gpu'))",
        {"self": cel.ListType(cel.sized(S, 64), max_items=909090)},
        (2, 9_999_992),
        id="all-contains at the budget",
    ),
    row("1 + 2", {}, (1, 1)),
    row("true", {}, (0, 0), id="literal is free"),
    row("self.n", B, (2, 2), id="object field select costs 1"),
    row("has(self.n)", B, (2, 2)),
    row("self.n == 1", B, (2, 2), id="declared int has size 0: comparing costs nothing"),
    row("self.name == 'abc'", B, (3, 3)),
    row("self.s.matches('^[a-z]+$')", B, (4, 6), id="matches: (len+1)*0.1 x regex*0.25"),
    row("matches(self.s, '^[a-z]+$')", B, (3, 3), id="global matches has the flat price"),
    row("self.s.startsWith('ab')", B, (3, 3)),
    row("self.s.contains('ab')", B, (2, 3)),
    row("self.s.lowerAscii().contains('a')", B, (2, 4), id="lowerAscii keeps the size"),
    row("self.s.startsWith(self.name)", B, (4, 6)),
    row("self.s.contains(self.name)", B, (4, 6)),
    row("self.s.contains('a')", F, (2, 1_844_674_407_370_955_266), id="unbounded string"),
    row("self.tags.all(t, t.size() < 10)", B, (3, 603)),
    row("self.tags.exists(t, t == 'x')", B, (3, 603)),
    row("self.tags.exists_one(t, t == 'x')", B, (4, 404)),
    row("self.tags.map(t, t.size())", B, (13, 1413)),
    row("self.tags.filter(t, t != '')", B, (13, 1413)),
    row("self.labels.all(k, k.matches('a+'))", B, (3, 53), id="map keys have size 0 as upstream"),
    row("'a' in self.tags", B, (2, 102), id="list membership is linear"),
    row("'a' in self.labels", B, (3, 3), id="map membership is flat"),
    row("self.tags.join(',').size() > 0", B, (4, 654)),
    row("self.ints.sum() > 0", B, (3, 8)),
    row("self.tags.indexOf('a') >= 0", B, (3, 803)),
    row("[1, 2, 3].map(x, x * 2)", {}, (63, 63)),
    row("[1, 2].filter(x, x > 1)", {}, (27, 51)),
    row("[1].exists_one(x, x == 1)", {}, (15, 16)),
    row("['ab', 'c'].all(x, x.contains('a'))", {}, (17, 21), id="literal elements have sizes"),
    row("{'a': 1}", {}, (30, 30)),
    row("self.n > 1 && self.s.contains('a')", B, (3, 6), id="and: min is the left side"),
    row("self.n > 1 ? self.s.contains('a') : false", B, (3, 6)),
    row("sets.contains([1, 2], [1])", {}, (23, 23)),
    row("self.s + 'ab' == 'x'", B, (4, 5), id="string concatenation sizes add"),
    row(
        "authorizer.group('').resource('pods').check('get').allowed()",
        AUTHZ,
        (350_004, 350_004),
        id="authorizer check is 350000",
    ),
    row("authorizer.requestResource.check('get').allowed()", AUTHZ, (350_002, 350_002)),
]


@pytest.mark.parametrize(("expr", "variables", "want"), ROWS)
def test_estimate(expr: str, variables: Mapping[str, cel.Type], want: tuple[int, int]) -> None:
    program = cel.compile(expr, variables=variables)
    got = program.cost_estimate
    assert (got.min, got.max) == want
    assert program.estimated_cost == want[1]


def test_unknown_sizes_saturate() -> None:
    program = cel.compile("self.tags.all(t, t.matches(t))", variables=F)
    assert program.estimated_cost == MAX


def test_library_function_prices() -> None:
    lib = cel.Library("test.prices").function("slow", lambda x: x, "slow(int) -> int", estimated_cost=7)
    program = cel.compile("slow(1) + slow(2)", variables={}, libraries=[lib])
    assert program.estimated_cost == 15


def test_three_authorizer_checks_exceed_the_per_call_limit_at_runtime() -> None:
    expr = " && ".join(f"authorizer.path('/p{i}').check('get').allowed()" for i in range(3))
    program = cel.compile(expr, variables=AUTHZ)
    activation = cel.authz.activation({"username": "u"}, group="", resource="pods")
    assert program.estimated_cost > 1_000_000
    with pytest.raises(cel.CostLimitExceeded):
        program.evaluate(activation, cost_limit=1_000_000)
    two = cel.compile(
        " && ".join(f"authorizer.path('/p{i}').check('get').allowed()" for i in range(2)), variables=AUTHZ
    )
    assert two.evaluate(activation, cost_limit=1_000_000) is True
