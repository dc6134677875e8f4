"""The parsed expression tree.

Operators are calls with cel-go's internal function names (``_+_``, ``_[_]``, ``@in``...), so
the checker and evaluator treat operators and functions alike. Macros are expanded by the
parser into ``Comprehension`` and test-only ``Select`` nodes. Every node keeps the source offset
it came from, for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True, eq=False)
class Expr:
    offset: int


@dataclass(slots=True, eq=False)
class Literal(Expr):
    value: Any


@dataclass(slots=True, eq=False)
class Ident(Expr):
    name: str


@dataclass(slots=True, eq=False)
class Select(Expr):
    operand: Expr
    field: str
    test_only: bool = False  # has(a.b)
    optional: bool = False  # a.?b


@dataclass(slots=True, eq=False)
class Call(Expr):
    function: str
    args: list[Expr]
    target: Expr | None = None  # receiver of a method-style call


@dataclass(slots=True, eq=False)
class ListExpr(Expr):
    elements: list[Expr]
    optional_indices: frozenset[int] = frozenset()


@dataclass(slots=True, eq=False)
class MapEntry:
    offset: int
    key: Expr
    value: Expr
    optional: bool = False


@dataclass(slots=True, eq=False)
class MapExpr(Expr):
    entries: list[MapEntry]


@dataclass(slots=True, eq=False)
class StructExpr(Expr):
    """``Name{field: value}``: message construction; Kubernetes declares no message types."""

    type_name: str
    fields: list[MapEntry] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Comprehension(Expr):
    """A macro expanded: iterate `iter_range`, binding `iter_var` (and `iter_var2` for the
    two-variable forms: index/key and value).

    `kind` names the macro so that the evaluator can run a direct loop instead of the general
    accumulate-and-test machinery: all, exists, exists_one, map, filter, transformList,
    transformMap, transformMapEntry, and bind (cel.bind/optMap, which binds once).
    """

    kind: str
    iter_range: Expr
    iter_var: str
    iter_var2: str | None
    args: list[Expr]  # predicate / transform, or (filter, transform) for the 3-argument forms


def children(node: Expr) -> list[Expr]:
    """The direct sub-expressions of `node`."""
    if isinstance(node, Select):
        return [node.operand]
    if isinstance(node, Call):
        return node.args if node.target is None else [node.target, *node.args]
    if isinstance(node, ListExpr):
        return node.elements
    if isinstance(node, MapExpr | StructExpr):
        entries = node.entries if isinstance(node, MapExpr) else node.fields
        return [x for e in entries for x in (e.key, e.value)]
    if isinstance(node, Comprehension):
        return [node.iter_range, *node.args]
    return []


def height(node: Expr, limit: int) -> tuple[int, Expr]:
    """The tree's height (capped just above `limit`) and its deepest node, without recursion."""
    best, deepest = 0, node
    stack = [(node, 1)]
    while stack:
        cur, depth = stack.pop()
        if depth > best:
            best, deepest = depth, cur
            if best > limit:
                break
        stack.extend((c, depth + 1) for c in children(cur))
    return best, deepest
