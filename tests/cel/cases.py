"""Helpers for the table-driven CEL tests: one row = expression, inputs, expected outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kybernetes import cel


class Err:
    """Expect an error whose text contains `text` (compile errors when `compile` is set)."""

    def __init__(self, text: str, *, compile: bool = False) -> None:
        self.text = text
        self.compile = compile


@dataclass
class Case:
    expr: str
    want: Any
    activation: dict[str, Any] = field(default_factory=dict)
    variables: dict[str, cel.Type] | None = None


def case(expr: str, want: Any, *, id: str | None = None, **activation: Any) -> Any:
    return pytest.param(Case(expr, want, activation), id=id or expr)


def typed(
    expr: str, want: Any, variables: dict[str, cel.Type], *, id: str | None = None, **activation: Any
) -> Any:
    return pytest.param(Case(expr, want, activation, variables), id=id or expr)


def run(c: Case) -> None:
    variables = c.variables if c.variables is not None else {k: cel.DYN for k in c.activation}
    if isinstance(c.want, Err) and c.want.compile:
        with pytest.raises(cel.CompileError) as info:
            cel.compile(c.expr, variables=variables)
        assert c.want.text in str(info.value)
        return
    program = cel.compile(c.expr, variables=variables)
    if isinstance(c.want, Err):
        with pytest.raises(cel.EvalError) as einfo:
            program.evaluate(c.activation)
        assert c.want.text in str(einfo.value)
        return
    got = program.evaluate(c.activation)
    assert got == c.want and _same_kind(got, c.want), f"{c.expr}: got {got!r}, want {c.want!r}"


def _same_kind(got: Any, want: Any) -> bool:
    """== treats True as 1 and 1 as 1.0; CEL results must also have the right type."""
    if isinstance(want, list):
        return isinstance(got, list) and all(_same_kind(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return isinstance(got, dict) and all(_same_kind(got[k], v) for k, v in want.items())
    return type(got) is type(want)
