"""compile() and Program: the public entry points of the package.

A Program is compiled once (parse, type-check against the declared variables, plan closures)
and evaluated many times. Compiling never raises anything but CompileError; evaluating never
raises anything but EvalError (bad activations included).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.cel import ast
from kybernetes.cel import types as t
from kybernetes.cel.checker import check_types
from kybernetes.cel.cost import Estimate, estimate
from kybernetes.cel.errors import CompileError, EvalError, Issue
from kybernetes.cel.evaluator import NO_LIMIT, Eval, Frame, Planner
from kybernetes.cel.library import Library, merge_functions, merge_variables
from kybernetes.cel.parser import parse
from kybernetes.cel.stdlib import Function, load

# Each nesting level of an expression costs the recursive parser, checker and evaluator a few
# Python frames; the parser bounds nesting at 250, which needs more than Python's default 1000.
_NEEDED_RECURSION = 4000

TYPE_CONSTANTS: dict[str, Any] = {
    "int": t.INT,
    "uint": t.UINT,
    "double": t.DOUBLE,
    "string": t.STRING,
    "bytes": t.BYTES,
    "bool": t.BOOL,
    "null_type": t.NULL,
    "list": t.Type("list"),
    "map": t.Type("map"),
    "type": t.TypeType(),
    "dyn": t.DYN,
    "optional_type": t.Type("optional_type"),
    "google.protobuf.Timestamp": t.TIMESTAMP,
    "google.protobuf.Duration": t.DURATION,
}


@contextlib.contextmanager
def _recursion_headroom() -> Iterator[None]:
    """Raise Python's recursion limit while compiling, and put it back afterwards."""
    old = sys.getrecursionlimit()
    if old < _NEEDED_RECURSION:
        sys.setrecursionlimit(_NEEDED_RECURSION)
    try:
        yield
    finally:
        if old < _NEEDED_RECURSION:
            sys.setrecursionlimit(old)


@dataclass(frozen=True, slots=True)
class _Checked:
    """What static cost estimation needs from compilation, kept until it is asked for."""

    tree: ast.Expr
    node_types: dict[int, t.Type]
    functions: Mapping[str, Function]
    variables: Mapping[str, t.Type]


class Program:
    """A compiled expression."""

    def __init__(self, source: str, output_type: t.Type, plan: Eval, checked: _Checked) -> None:
        self.source = source
        self.output_type = output_type
        self._plan = plan
        self._checked = checked
        self._cost: Estimate | None = None

    @property
    def cost_estimate(self) -> Estimate:
        """The static (min, max) cost of one evaluation, as cel-go's estimator with Kubernetes'
        prices gives it (computed on first use)."""
        if self._cost is None:
            c = self._checked
            with _recursion_headroom():
                self._cost = estimate(c.tree, c.node_types, c.functions, c.variables, TYPE_CONSTANTS)
        return self._cost

    @property
    def estimated_cost(self) -> int:
        """The worst-case static cost (the max of cost_estimate)."""
        return self.cost_estimate.max

    def evaluate(self, activation: Mapping[str, Any], *, cost_limit: int | None = None) -> Any:
        """Evaluate with `activation` (variable name -> plain Python value)."""
        return self.evaluate_with_cost(activation, cost_limit=cost_limit)[0]

    def evaluate_with_cost(
        self, activation: Mapping[str, Any], *, cost_limit: int | None = None
    ) -> tuple[Any, int]:
        """Evaluate and also return the cost spent (for callers that keep a budget across rules)."""
        frame = Frame(dict(activation), NO_LIMIT if cost_limit is None else cost_limit)
        try:
            result = self._plan(frame)
        except EvalError:
            raise
        except RecursionError:
            raise EvalError("evaluation nested too deeply") from None
        except (TypeError, ValueError, AttributeError, OverflowError, KeyError, IndexError) as e:
            # A value of a shape CEL does not know (bad activation) must not escape as a crash.
            raise EvalError(f"internal error: {type(e).__name__}: {e}") from None
        frame.charge(0)
        return result, frame.cost

    def __repr__(self) -> str:
        return f"Program({self.source!r}, output_type={self.output_type})"


def compile(
    expression: str,
    *,
    variables: Mapping[str, t.Type],
    optionals: bool = True,
    libraries: Sequence[Library] = (),
) -> Program:
    """Parse and type-check `expression` against the declared `variables` (names may be
    dotted, like ``authorizer.requestResource``), with the standard libraries plus
    `libraries`."""
    try:
        with _recursion_headroom():
            return _compile(expression, variables, optionals, libraries)
    except RecursionError:
        raise CompileError(expression, [Issue(-1, "expression recursion limit exceeded")]) from None


def _compile(
    expression: str, variables: Mapping[str, t.Type], optionals: bool, libraries: Sequence[Library]
) -> Program:
    tree = parse(expression, optionals=optionals)
    functions = load()
    if libraries:
        functions = merge_functions(functions, libraries)
        variables = merge_variables(variables, libraries)
    output_type, node_types = check_types(expression, tree, variables, functions, TYPE_CONSTANTS)
    plan = Planner(functions, set(variables), TYPE_CONSTANTS).plan(tree)
    return Program(expression, output_type, plan, _Checked(tree, node_types, functions, dict(variables)))
