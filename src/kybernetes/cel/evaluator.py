"""Turns a (checked) expression tree into nested Python closures, then runs them.

Planning happens once per compiled program; evaluating is then a chain of closure calls over a
``Frame`` that holds the variables and the running cost, which is what keeps a simple rule in
the tens of microseconds. Errors are Python exceptions (EvalError); ``&&``, ``||`` and the
all/exists macros catch them where CEL says an error is absorbed (``false && error`` is false,
``true || error`` is true, in either operand order).

Cost: every call, selection, index and comprehension iteration adds at least 1, and functions
that scan strings or lists add in proportion to their size. Straight-line code cannot exceed a
bound proportional to the expression size, so the limit is checked only where cost can grow
without bound (loops, size-proportional functions) and once at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kybernetes.cel import ast
from kybernetes.cel.errors import CostLimitExceeded, EvalError
from kybernetes.cel.stdlib import Function
from kybernetes.cel.values import NONE, NoSuchOverload, Optional, Uint, map_get, type_name

_MISSING: Any = map_get({}, 0)
_UNSET: Any = object()
NO_LIMIT = 2**63


class Frame:
    __slots__ = ("cost", "limit", "vars")

    def __init__(self, variables: dict[str, Any], limit: int) -> None:
        self.vars = variables
        self.cost = 0
        self.limit = limit

    def charge(self, amount: int) -> None:
        self.cost += amount
        if self.cost > self.limit:
            raise CostLimitExceeded()


Eval = Callable[[Frame], Any]


def qualified_name(node: ast.Expr) -> str | None:
    """``a.b.c`` as a dotted name when the node is a plain selection chain of identifiers."""
    parts: list[str] = []
    while isinstance(node, ast.Select) and not node.test_only and not node.optional:
        parts.append(node.field)
        node = node.operand
    if not isinstance(node, ast.Ident):
        return None
    parts.append(node.name)
    return ".".join(reversed(parts))


class Planner:
    """Builds closures for a tree. `variables` are the declared names; `constants` the names
    (types, and enum-like identifiers) that resolve at plan time."""

    def __init__(
        self, functions: dict[str, Function], variables: set[str], constants: dict[str, Any]
    ) -> None:
        self.functions = functions
        self.variables = variables
        self.constants = constants
        self.scopes: list[str] = []

    def is_variable(self, name: str) -> bool:
        return name in self.scopes or name in self.variables

    def plan(self, node: ast.Expr) -> Eval:
        method = getattr(self, "plan_" + type(node).__name__)
        result: Eval = method(node)
        return result

    def plan_Literal(self, node: ast.Literal) -> Eval:
        value = node.value
        return lambda f: value

    def plan_Ident(self, node: ast.Ident) -> Eval:
        name = node.name
        if not self.is_variable(name) and name in self.constants:
            value = self.constants[name]
            return lambda f: value

        def ident(f: Frame) -> Any:
            try:
                return f.vars[name]
            except KeyError:
                raise EvalError(f"no such attribute(s): {name}") from None

        return ident

    def plan_Select(self, node: ast.Select) -> Eval:
        qualified = qualified_name(node)
        if (
            qualified is not None
            and "." in qualified
            and qualified in self.variables
            and qualified.split(".")[0] not in self.scopes
        ):
            return self.plan_Ident(ast.Ident(node.offset, qualified))
        if (
            qualified is not None
            and qualified in self.constants
            and not self.is_variable(qualified.split(".")[0])
        ):
            value = self.constants[qualified]
            return lambda f: value
        operand = self.plan(node.operand)
        name = node.field
        if node.test_only:

            def has(f: Frame) -> Any:
                f.cost += 1
                v = operand(f)
                if type(v) is dict:
                    return name in v
                if type(v) is Optional:
                    return v.present and type(v.value) is dict and name in v.value
                raise NoSuchOverload("has", v)

            return has
        if node.optional:

            def select_optional(f: Frame) -> Any:
                f.cost += 1
                return select_opt(operand(f), name)

            return select_optional

        def select(f: Frame) -> Any:
            f.cost += 1
            v = operand(f)
            if type(v) is dict:
                try:
                    return v[name]
                except KeyError:
                    raise EvalError(f"no such key: {name}") from None
            return select_value(v, name)

        return select

    def plan_Call(self, node: ast.Call) -> Eval:
        name = node.function
        if node.target is not None:
            qualified = qualified_name(node.target)
            if (
                qualified is not None
                and not self.is_variable(qualified.split(".")[0])
                and f"{qualified}.{name}" in self.functions
            ):
                return self.call(self.functions[f"{qualified}.{name}"], node.args)
            if name in ("or", "orValue") and len(node.args) == 1:
                return _optional_or(name, self.plan(node.target), self.plan(node.args[0]))
            return self.call(self.lookup(name), [node.target, *node.args])
        special = _SPECIAL.get(name)
        if special is not None:
            return special(*(self.plan(a) for a in node.args))
        return self.call(self.lookup(name), node.args)

    def lookup(self, name: str) -> Function:
        fn = self.functions.get(name)
        if fn is None:
            raise EvalError(f"no such function: {name}")
        return fn

    def call(self, fn: Function, args: list[ast.Expr]) -> Eval:
        impl = fn.impl
        plans = [self.plan(a) for a in args]
        cost = fn.cost
        if cost is not None:

            def costly(f: Frame) -> Any:
                values = [p(f) for p in plans]
                f.charge(1 + cost(*values))
                return impl(*values)

            return costly
        if len(plans) == 1:
            (a0,) = plans

            def call1(f: Frame) -> Any:
                f.cost += 1
                return impl(a0(f))

            return call1
        if len(plans) == 2:
            a0, a1 = plans

            def call2(f: Frame) -> Any:
                f.cost += 1
                return impl(a0(f), a1(f))

            return call2

        def calln(f: Frame) -> Any:
            f.cost += 1
            return impl(*[p(f) for p in plans])

        return calln

    def plan_ListExpr(self, node: ast.ListExpr) -> Eval:
        plans = [self.plan(e) for e in node.elements]
        optional = node.optional_indices
        if not optional:
            return lambda f: [p(f) for p in plans]
        flagged = [(p, i in optional) for i, p in enumerate(plans)]

        def make_list(f: Frame) -> Any:
            out = []
            for p, is_opt in flagged:
                v = p(f)
                if is_opt:
                    if type(v) is not Optional:
                        raise NoSuchOverload("optional list element", v)
                    if v.present:
                        out.append(v.value)
                else:
                    out.append(v)
            return out

        return make_list

    def plan_MapExpr(self, node: ast.MapExpr) -> Eval:
        entries = [(self.plan(e.key), self.plan(e.value), e.optional) for e in node.entries]

        def make_map(f: Frame) -> Any:
            out: dict[Any, Any] = {}
            for k, v, is_opt in entries:
                key = k(f)
                if type(key) not in (str, int, Uint, bool):
                    raise EvalError(f"unsupported key type: {type_name(key)}")
                if map_get(out, key) is not _MISSING:
                    raise EvalError(f"Failed with repeated key: {key!r}")
                value = v(f)
                if is_opt:
                    if type(value) is not Optional:
                        raise NoSuchOverload("optional map entry", value)
                    if not value.present:
                        continue
                    value = value.value
                out[key] = value
            return out

        return make_map

    def plan_StructExpr(self, node: ast.StructExpr) -> Eval:
        type_name_ = node.type_name

        def struct(f: Frame) -> Any:
            raise EvalError(f"unknown type: {type_name_}")

        return struct

    def plan_Comprehension(self, node: ast.Comprehension) -> Eval:
        from kybernetes.cel.comprehensions import plan_comprehension

        iter_range = self.plan(node.iter_range)
        bound = [node.iter_var] + ([node.iter_var2] if node.iter_var2 else [])
        self.scopes.extend(bound)
        try:
            bodies = [self.plan(a) for a in node.args]
        finally:
            del self.scopes[len(self.scopes) - len(bound) :]
        return plan_comprehension(node.kind, iter_range, node.iter_var, node.iter_var2, bodies)


def select_value(v: Any, name: str) -> Any:
    if type(v) is Optional:
        return select_opt(v, name)
    getter = getattr(v, "cel_field", None)
    if getter is not None:
        return getter(name)
    raise EvalError(f"type '{type_name(v)}' does not support field selection")


def select_opt(v: Any, name: str) -> Optional:
    if type(v) is Optional:
        if not v.present:
            return NONE
        v = v.value
    if type(v) is dict:
        found = v.get(name, _MISSING)
        return NONE if found is _MISSING else Optional(True, found)
    raise EvalError(f"type '{type_name(v)}' does not support field selection")


def index_value(container: Any, key: Any) -> Any:
    c = type(container)
    if c is list or c is tuple:
        i = _list_index(container, key)
        return container[i]
    if c is dict:
        found = map_get(container, key)
        if found is _MISSING:
            raise EvalError(f"no such key: {key}")
        return found
    if c is Optional:
        return index_optional(container, key)
    raise NoSuchOverload("_[_]", container, key)


def _list_index(container: Any, key: Any) -> int:
    k = type(key)
    if k is int or k is Uint or (k is float and key.is_integer()):
        i = int(key)
    else:
        raise NoSuchOverload("_[_]", container, key)
    if not 0 <= i < len(container):
        raise EvalError(f"index out of bounds: {i}")
    return i


def index_optional(container: Any, key: Any) -> Optional:
    if type(container) is Optional:
        if not container.present:
            return NONE
        container = container.value
    c = type(container)
    if c is list or c is tuple:
        try:
            return Optional(True, container[_list_index(container, key)])
        except EvalError as e:
            if isinstance(e, NoSuchOverload):
                raise
            return NONE
    if c is dict:
        found = map_get(container, key)
        return NONE if found is _MISSING else Optional(True, found)
    raise NoSuchOverload("_[?_]", container, key)


def _logical_and(left: Eval, right: Eval) -> Eval:
    def logical_and(f: Frame) -> Any:
        try:
            lv = left(f)
        except EvalError as e:
            if isinstance(e, CostLimitExceeded):
                raise
            rv = right(f)
            if rv is False:
                return False
            raise
        if lv is False:
            return False
        rv = right(f)
        if lv is True:
            if type(rv) is bool:
                return rv
            raise NoSuchOverload("_&&_", lv, rv)
        if rv is False:
            return False
        raise NoSuchOverload("_&&_", lv, rv)

    return logical_and


def _logical_or(left: Eval, right: Eval) -> Eval:
    def logical_or(f: Frame) -> Any:
        try:
            lv = left(f)
        except EvalError as e:
            if isinstance(e, CostLimitExceeded):
                raise
            rv = right(f)
            if rv is True:
                return True
            raise
        if lv is True:
            return True
        rv = right(f)
        if lv is False:
            if type(rv) is bool:
                return rv
            raise NoSuchOverload("_||_", lv, rv)
        if rv is True:
            return True
        raise NoSuchOverload("_||_", lv, rv)

    return logical_or


def _conditional(cond: Eval, then: Eval, otherwise: Eval) -> Eval:
    def conditional(f: Frame) -> Any:
        c = cond(f)
        if c is True:
            return then(f)
        if c is False:
            return otherwise(f)
        raise NoSuchOverload("_?_:_", c)

    return conditional


def _index(container: Eval, key: Eval) -> Eval:
    def index(f: Frame) -> Any:
        f.cost += 1
        c = container(f)
        k = key(f)
        if type(c) is list and type(k) is int and 0 <= k < len(c):
            return c[k]
        return index_value(c, k)

    return index


def _index_optional(container: Eval, key: Eval) -> Eval:
    def index_opt(f: Frame) -> Any:
        f.cost += 1
        return index_optional(container(f), key(f))

    return index_opt


def _optional_or(name: str, target: Eval, alternative: Eval) -> Eval:
    """opt.or(x) and opt.orValue(x) evaluate x only when opt is empty, as cel-go does."""

    def optional_or(f: Frame) -> Any:
        f.cost += 1
        opt = target(f)
        if type(opt) is not Optional:
            raise NoSuchOverload(name, opt)
        if opt.present:
            return opt if name == "or" else opt.value
        other = alternative(f)
        if name == "or" and type(other) is not Optional:
            raise NoSuchOverload(name, opt, other)
        return other

    return optional_or


_SPECIAL: dict[str, Callable[..., Eval]] = {
    "_&&_": _logical_and,
    "_||_": _logical_or,
    "_?_:_": _conditional,
    "_[_]": _index,
    "_[?_]": _index_optional,
}
