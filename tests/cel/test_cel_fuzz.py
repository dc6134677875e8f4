"""Random input never crashes the compiler, the cost estimator or the evaluator: only CompileError / EvalError."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kybernetes import cel

_PIECES = [
    "self", ".", "a", "b", "?", ":", "(", ")", "[", "]", "{", "}", ",", "+", "-", "*", "/", "%", "!", "<", ">=",
    "==", "!=", "&&", "||", " in ", "1", "0", "-1", "1u", "2.5", "'s'", '"x"', "b'y'", "true", "null", "has(",
    ".all(x, ", ".map(x, ", ".exists(", ".filter(x, ", "x", "size(", "int(", "string(", "dyn(", ".?", "[?",
    "optional.of(", ".orValue(", "duration('1s')", "timestamp('2020-01-01T00:00:00Z')", ".matches(",
    "'^a+$'", "quantity('1')", ".split(", "9223372036854775807", "r'\\", "'''", "\\", "`", "#",
]  # fmt: skip
VARIABLES = {"self": cel.DYN, "a": cel.ObjectType("A", {"b": cel.INT, "l": cel.ListType(cel.STRING)})}
ACTIVATION = {"self": {"a": 1, "b": [1, 2], "s": "x"}, "a": {"b": 3, "l": ["p", "q"]}}


def _try(expr: str) -> None:
    try:
        program = cel.compile(expr, variables=VARIABLES)
    except cel.CompileError as e:
        assert str(e).startswith("ERROR: <input>:")
        return
    estimate = program.cost_estimate  # static estimation never fails on a checked expression
    assert 0 <= estimate.min <= estimate.max <= 2**64 - 1
    with contextlib.suppress(cel.EvalError):
        program.evaluate(ACTIVATION, cost_limit=10_000)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_random_text(expr: str) -> None:
    _try(expr)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=25))
def test_random_token_soup(pieces: list[str]) -> None:
    _try("".join(pieces))


def test_deep_nesting_is_a_compile_error_not_a_recursion_error() -> None:
    for expr in ("(" * 5000 + "1" + ")" * 5000, "[" * 3000 + "]" * 3000, "-" * 10000 + "1", "!" * 10000 + "true",
                 "a" + ".b" * 5000, "1" + " + 1" * 20000):  # fmt: skip
        try:
            cel.compile(expr, variables=VARIABLES)
        except cel.CompileError as e:
            assert "recursion" in str(e) or "ERROR" in str(e)
