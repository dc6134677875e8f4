"""Static cost estimation: the (min, max) cost a checked expression can have, before running it.

Kubernetes refuses a CRD whose ``x-kubernetes-validations`` rule could cost more than its
budget on the largest object a request can carry, so the estimate must be upstream's, number
for number: cel-go's checker estimator with Kubernetes' function prices and size estimator.

Model (cel-go's): a literal costs 0; a variable, a field of a map or object, and ``has()`` 1;
a call 1 plus its arguments unless priced otherwise; creating a list 10, a map 30. ``&&``/``||``
cost their operands (min: the left one alone); ``?:`` the condition plus the dearer branch.
Macros cost what cel-go's expansion into a fold costs, with the per-element cost multiplied by
the size of the range. Size-dependent prices (string scans 0.1 per character, regex 0.25 per
pattern character, list membership 1 per item, ...) use size estimates:

- literals have their exact size; a concatenation the sum of its operands';
- a declared value carries the bound of its declaration (``Type.max_size``: maxLength,
  maxItems, maxProperties, or upstream's estimate from the 3 MiB request limit); numbers,
  booleans, timestamps and durations have size 1 when nothing else says otherwise;
- anything else is unknown: 0 to 2^64-1, which makes any size-proportional cost unbounded.

Arithmetic saturates at 2^64-1 like cel-go's unsigned estimates, and cost factors round up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kybernetes.cel import ast
from kybernetes.cel import types as t
from kybernetes.cel.evaluator import qualified_name
from kybernetes.cel.stdlib import Function

MAX = 2**64 - 1
STRING_TRAVERSAL = 0.1
REGEX_LENGTH = 0.25
LIST_CREATE = 10
MAP_CREATE = 30
STRUCT_CREATE = 40


def _sat(n: int) -> int:
    return n if n < MAX else MAX


def _times_factor(x: int, factor: float) -> int:
    xf = float(x)
    if xf > 0 and factor > 0 and xf > MAX / factor:
        return MAX
    result = math.ceil(xf * factor)
    return MAX if result >= 2**64 else int(result)


@dataclass(frozen=True, slots=True)
class Estimate:
    """A range of costs or of sizes."""

    min: int
    max: int

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(_sat(self.min + other.min), _sat(self.max + other.max))

    def times(self, other: Estimate) -> Estimate:
        return Estimate(_sat(self.min * other.min), _sat(self.max * other.max))

    def factor(self, factor: float) -> Estimate:
        return Estimate(_times_factor(self.min, factor), _times_factor(self.max, factor))

    def union(self, other: Estimate) -> Estimate:
        return Estimate(min(self.min, other.min), max(self.max, other.max))


def fixed(n: int) -> Estimate:
    return Estimate(n, n)


UNKNOWN = Estimate(0, MAX)
ZERO = fixed(0)
ONE = fixed(1)
_SCALARS = frozenset(
    {"int", "uint", "double", "bool", "google.protobuf.Timestamp", "google.protobuf.Duration"}
)
_STRINGS = frozenset({"string", "bytes"})
_COMPARISONS = frozenset({"_<_", "_<=_", "_>_", "_>=_"})
# Kubernetes' authorizer builders and accessors, and its cheap IP/CIDR/quantity accessors.
_NOMINAL = frozenset(
    {
        "serviceAccount",
        "path",
        "group",
        "resource",
        "subresource",
        "namespace",
        "name",
        "allowed",
        "reason",
        "error",
        "errored",
        "masked",
        "prefixLength",
        "family",
        "isUnspecified",
        "isLoopback",
        "isLinkLocalMulticast",
        "isLinkLocalUnicast",
        "sign",
        "asInteger",
        "isInteger",
        "asApproximateFloat",
        "isGreaterThan",
        "isLessThan",
        "compareTo",
        "add",
        "sub",
    }
)
_LIST_SCANS = frozenset({"isSorted", "sum", "max", "min", "indexOf", "lastIndexOf"})
_SETS = frozenset({"sets.contains", "sets.intersects", "sets.equivalent"})
AUTHZ_CHECK_COST = 350_000


def estimate(
    tree: ast.Expr,
    node_types: Mapping[int, t.Type],
    functions: Mapping[str, Function],
    variables: Mapping[str, t.Type],
    constants: Mapping[str, Any],
) -> Estimate:
    """The cost range of a checked expression (node_types from checker.check_types)."""
    return _Estimator(node_types, functions, variables, constants).cost(tree)


class _Estimator:
    def __init__(
        self,
        node_types: Mapping[int, t.Type],
        functions: Mapping[str, Function],
        variables: Mapping[str, t.Type],
        constants: Mapping[str, Any],
    ) -> None:
        self.types = node_types
        self.functions = functions
        self.variables = variables
        self.constants = constants
        self.sizes: dict[int, Estimate] = {}  # result sizes worked out while costing
        self.entry_sizes: dict[int, Estimate] = {}  # element sizes of literal lists and maps
        self.scopes: list[dict[str, Estimate | None]] = []

    # --- sizes ---------------------------------------------------------------------------------

    def type_of(self, node: ast.Expr) -> t.Type:
        return self.types.get(id(node), t.DYN)

    def size(self, node: ast.Expr) -> Estimate | None:
        known = self.sizes.get(id(node))
        if known is not None:
            return known
        if isinstance(node, ast.Literal):
            value = node.value
            return fixed(len(value)) if isinstance(value, str | bytes) else ONE
        if isinstance(node, ast.ListExpr):
            return fixed(len(node.elements))
        if isinstance(node, ast.MapExpr):
            return fixed(len(node.entries))
        typ = self.type_of(node)
        # upstream finds declared sizes by walking field names from a variable; a map value
        # reached with map.key is not on such a walk, so its bound is unknown there
        by_map_key = isinstance(node, ast.Select) and self.type_of(node.operand).name == "map"
        if typ.max_size is not None and not by_map_key:
            return Estimate(0, typ.max_size)
        if _is_scalar(typ):
            return ONE
        if isinstance(node, ast.Ident):
            for scope in reversed(self.scopes):
                if node.name in scope:
                    return scope[node.name]
        return None

    def size_or_unknown(self, node: ast.Expr) -> Estimate:
        found = self.size(node)
        return found if found is not None else UNKNOWN

    def element_size(self, container: ast.Expr) -> Estimate:
        """The size of one element of a list (or value of a map) expression."""
        entry = self.entry_sizes.get(id(container))
        if entry is not None:
            return entry
        typ = self.type_of(container)
        if typ.name == "list" and typ.params:
            return _declared_size(typ.params[0])
        if typ.name == "map" and len(typ.params) == 2:
            return _declared_size(typ.params[1])
        return UNKNOWN

    # --- costs ---------------------------------------------------------------------------------

    def cost(self, node: ast.Expr) -> Estimate:
        method = getattr(self, "cost_" + type(node).__name__)
        result: Estimate = method(node)
        return result

    def cost_Literal(self, node: ast.Literal) -> Estimate:
        return ZERO

    def cost_Ident(self, node: ast.Ident) -> Estimate:
        return ONE

    def shadowed(self, name: str) -> bool:
        return any(name in scope for scope in self.scopes)

    def cost_Select(self, node: ast.Select) -> Estimate:
        qualified = qualified_name(node)
        if qualified is not None and not self.shadowed(qualified.split(".")[0]):
            root_declared = qualified.split(".")[0] in self.variables
            if qualified in self.variables or (qualified in self.constants and not root_declared):
                return ONE  # a dotted variable or type name is one identifier to cel-go
        operand = self.cost(node.operand)
        if node.test_only or node.optional:
            return operand + ONE
        kind = self.type_of(node.operand)
        if isinstance(kind, t.ObjectType) or kind.name == "map" or isinstance(kind, t.TypeParam):
            return operand + ONE
        return operand

    def cost_ListExpr(self, node: ast.ListExpr) -> Estimate:
        total = fixed(LIST_CREATE)
        element: Estimate | None = None
        for e in node.elements:
            total = total + self.cost(e)
            size = self.size_or_unknown(e)
            element = size if element is None else element.union(size)
        self.entry_sizes[id(node)] = element if element is not None else ZERO
        return total

    def cost_MapExpr(self, node: ast.MapExpr) -> Estimate:
        total = fixed(MAP_CREATE)
        value: Estimate | None = None
        for entry in node.entries:
            total = total + self.cost(entry.key) + self.cost(entry.value)
            size = self.size_or_unknown(entry.value)
            value = size if value is None else value.union(size)
        self.entry_sizes[id(node)] = value if value is not None else ZERO
        return total

    def cost_StructExpr(self, node: ast.StructExpr) -> Estimate:
        total = fixed(STRUCT_CREATE)
        for entry in node.fields:
            total = total + self.cost(entry.value)
        return total

    def cost_Call(self, node: ast.Call) -> Estimate:
        name = node.function
        target = node.target
        if target is not None:
            qualified = qualified_name(target)
            if (
                qualified is not None
                and not self.shadowed(qualified.split(".")[0])
                and qualified.split(".")[0] not in self.variables
                and f"{qualified}.{name}" in self.functions
            ):
                name, target = f"{qualified}.{name}", None  # a namespaced global function
        if name == "dyn" and target is None and len(node.args) == 1:
            arg_cost = self.cost(node.args[0])
            size = self.size(node.args[0])
            if size is not None:
                self.sizes[id(node)] = size
            return ONE + arg_cost
        total = self.cost(target) if target is not None else ZERO
        arg_costs = [self.cost(a) for a in node.args]
        call, size = self.call_cost(node, name, target, arg_costs)
        if size is not None:
            self.sizes[id(node)] = size
        elif name in ("_[_]", "_[?_]") and node.args:
            entry = self.entry_sizes.get(id(node.args[0]))
            if entry is not None:
                self.sizes[id(node)] = entry
        return total + call

    def call_cost(
        self, node: ast.Call, name: str, target: ast.Expr | None, arg_costs: list[Estimate]
    ) -> tuple[Estimate, Estimate | None]:
        """The cost of the call itself plus its arguments (not its receiver), and its result size."""
        args = node.args
        args_total = ZERO
        for c in arg_costs:
            args_total = args_total + c
        fn = self.functions.get(name)
        if fn is not None and fn.estimated_cost is not None:
            return fixed(fn.estimated_cost) + args_total, None
        if name in _SETS and len(args) == 2:
            product = self.size_or_unknown(args[0]).times(self.size_or_unknown(args[1]))
            return product + ONE + args_total, None
        k8s = self.kubernetes_cost(name, target, args)
        if k8s is not None:
            return k8s[0] + args_total, k8s[1]
        builtin = self.builtin_cost(node, name, target, args, arg_costs)
        if builtin is not None:
            return builtin[0] + (ZERO if name in ("_&&_", "_||_", "_?_:_") else args_total), builtin[1]
        return ONE + args_total, None

    def kubernetes_cost(
        self, name: str, target: ast.Expr | None, args: list[ast.Expr]
    ) -> tuple[Estimate, Estimate | None] | None:
        """Kubernetes' prices for its library functions (by function name, as upstream)."""
        if name == "check":
            return fixed(AUTHZ_CHECK_COST), None
        if name in _NOMINAL:
            return ONE, None
        if name in _LIST_SCANS and target is not None:
            typ = self.type_of(target)
            if typ.params:
                per_element = ONE
                if typ.params[0].name in _STRINGS:
                    per_element = per_element + _declared_size(typ.params[0]).factor(STRING_TRAVERSAL)
                return self.size_or_unknown(target).times(per_element), None
            return self.size_or_unknown(target).factor(STRING_TRAVERSAL), None
        if name == "url" and len(args) == 1:
            return self.size_or_unknown(args[0]).factor(STRING_TRAVERSAL), None
        if name in ("lowerAscii", "upperAscii", "substring", "trim") and target is not None:
            size = self.size_or_unknown(target)
            return size.factor(STRING_TRAVERSAL), size
        if name == "replace" and target is not None and len(args) >= 2:
            return self.replace_cost(target, args)
        if name == "split" and target is not None:
            size = self.size_or_unknown(target)
            most = size.max
            if len(args) > 1 and isinstance(args[1], ast.Literal) and type(args[1].value) is int:
                most = args[1].value if args[1].value >= 0 else most
            return size.factor(2 * STRING_TRAVERSAL), Estimate(0, most)
        if name == "join" and target is not None:
            return self.join_cost(target, args)
        if name in ("find", "findAll") and target is not None and args:
            size = self.size_or_unknown(target)
            scan = (size + ONE).factor(STRING_TRAVERSAL)
            regex = self.size_or_unknown(args[0]).factor(REGEX_LENGTH)
            return scan.times(regex), Estimate(0, size.max)
        if name in ("cidr", "isIP", "isCIDR", "quantity", "isQuantity") and target is not None and args:
            return self.size_or_unknown(args[0]).factor(STRING_TRAVERSAL), None
        if name == "ip" and target is not None:
            if args:
                return self.size_or_unknown(args[0]).factor(STRING_TRAVERSAL), None
            return ONE, None
        if name in ("containsIP", "containsCIDR") and target is not None and args:
            address = Estimate(4, 16)
            cost = (address + address).factor(STRING_TRAVERSAL)
            if name == "containsCIDR":
                cost = cost + address.factor(STRING_TRAVERSAL) + ONE
            if self.type_of(args[0]).name == "string":
                cost = cost + self.size_or_unknown(args[0]).factor(STRING_TRAVERSAL)
            return cost, None
        return None

    def replace_cost(self, target: ast.Expr, args: list[ast.Expr]) -> tuple[Estimate, Estimate]:
        size = self.size_or_unknown(target)
        old = self.size_or_unknown(args[0])
        new = self.size_or_unknown(args[1])
        if old.min == 0:
            count_max, kept_max = (size.max + 1 if size.max < MAX else size.max), size.max
        elif new.max <= old.min:
            count_max, kept_max = 0, size.max
        else:
            count_max, kept_max = math.ceil(size.max / old.min), 0
        if old.max == 0:
            count_min, kept_min = (size.min + 1 if size.min < MAX else size.min), size.min
        elif old.max <= new.min:
            count_min, kept_min = 0, size.min
        else:
            count_min, kept_min = math.ceil(size.min / old.max), 0
        result = Estimate(count_min, _sat(count_max)).times(new) + Estimate(kept_min, kept_max)
        return size.factor(2 * STRING_TRAVERSAL), result

    def join_cost(self, target: ast.Expr, args: list[ast.Expr]) -> tuple[Estimate, Estimate]:
        items = self.size_or_unknown(target)
        typ = self.type_of(target)
        size = items.times(_declared_size(typ.params[0])) if typ.params else ZERO
        if args:
            separators = Estimate(max(items.min - 1, 0), max(items.max - 1, 0))
            size = size + self.size_or_unknown(args[0]).times(separators)
        return size.factor(STRING_TRAVERSAL), size

    def builtin_cost(
        self,
        node: ast.Call,
        name: str,
        target: ast.Expr | None,
        args: list[ast.Expr],
        arg_costs: list[Estimate],
    ) -> tuple[Estimate, Estimate | None] | None:
        """cel-go's own size-dependent prices; None for the flat price."""
        if name in ("_&&_", "_||_") and len(arg_costs) == 2:
            left, right = arg_costs
            return Estimate(left.min, (left + right).max), None
        if name == "_?_:_" and len(arg_costs) == 3:
            size = self.size_or_unknown(args[1]).union(self.size_or_unknown(args[2]))
            return arg_costs[0] + arg_costs[1].union(arg_costs[2]), size
        if name in ("startsWith", "endsWith") and target is not None and len(args) == 1:
            return self.size_or_unknown(args[0]).factor(STRING_TRAVERSAL), None
        if name == "matches" and target is not None and len(args) == 1:
            scan = (self.size_or_unknown(target) + ONE).factor(STRING_TRAVERSAL)
            return scan.times(self.size_or_unknown(args[0]).factor(REGEX_LENGTH)), None
        if name == "contains" and target is not None and len(args) == 1:
            scan = self.size_or_unknown(target).factor(STRING_TRAVERSAL)
            return scan.times(self.size_or_unknown(args[0]).factor(STRING_TRAVERSAL)), None
        if name == "@in" and len(args) == 2:
            kind = self.type_of(args[1])
            scan = self.size_or_unknown(args[1])
            if kind.name == "list":
                return scan, None
            if t.is_dyn(kind):
                return scan.union(ONE), None
            return None
        if name in ("string", "bytes") and target is None and len(args) == 1:
            return self.conversion_cost(name, args[0])
        if name == "_+_" and len(args) == 2:
            return self.add_cost(node, args)
        if name in ("_==_", "_!=_") or (name in _COMPARISONS and len(args) == 2):
            if name in _COMPARISONS and not any(self.compares_strings(a) for a in args):
                return None
            smallest = min(self.size_or_unknown(args[0]).max, self.size_or_unknown(args[1]).max)
            compare = Estimate(1 if smallest > 0 else 0, smallest).factor(STRING_TRAVERSAL)
            if name in _COMPARISONS and not all(self.compares_strings(a) for a in args):
                compare = compare.union(ONE)  # dyn: a number comparison is also possible
            return compare, None
        return None

    def compares_strings(self, node: ast.Expr) -> bool:
        kind = self.type_of(node)
        return kind.name in _STRINGS or t.is_dyn(kind)

    def conversion_cost(self, name: str, arg: ast.Expr) -> tuple[Estimate, Estimate | None] | None:
        kind = self.type_of(arg).name
        size = self.size_or_unknown(arg)
        if name == "string" and kind == "bytes":
            return size.factor(STRING_TRAVERSAL), Estimate(size.min // 4, size.max)
        if name == "bytes" and kind == "string":
            return size.factor(STRING_TRAVERSAL), Estimate(size.min, _sat(size.max * 4))
        return None

    def add_cost(self, node: ast.Call, args: list[ast.Expr]) -> tuple[Estimate, Estimate | None] | None:
        kinds = {self.type_of(a).name for a in args}
        size = self.size_or_unknown(args[0]) + self.size_or_unknown(args[1])
        left, right = (self.entry_sizes.get(id(a)) for a in args)
        if left is not None and right is not None:
            self.entry_sizes[id(node)] = left.union(right)
        if kinds <= _STRINGS and len(kinds) == 1:
            return size.factor(STRING_TRAVERSAL), size
        if kinds == {"list"}:
            return ONE, size
        if any(t.is_dyn(self.type_of(a)) for a in args):
            return size.factor(STRING_TRAVERSAL).union(ONE), size
        return None

    # --- comprehensions ------------------------------------------------------------------------

    def cost_Comprehension(self, node: ast.Comprehension) -> Estimate:
        range_cost = self.cost(node.iter_range)
        if node.kind in ("optMap", "optFlatMap"):
            return self.optional_map_cost(node, range_cost)
        range_kind = self.type_of(node.iter_range)
        entry = self.entry_sizes.get(id(node.iter_range))
        scope: dict[str, Estimate | None] = {}
        if node.iter_var2 is None:
            scope[node.iter_var] = entry if range_kind.name == "list" else None
        else:
            scope[node.iter_var] = None
            scope[node.iter_var2] = entry
        self.scopes.append(scope)
        try:
            bodies = [self.cost(a) for a in node.args]
        finally:
            self.scopes.pop()
        count = self.size_or_unknown(node.iter_range)
        init, per_item, result = _fold_costs(node.kind, bodies)
        total = range_cost + init + result + count.times(per_item)
        if node.kind in ("all", "exists", "exists_one", "existsOne"):
            self.sizes[id(node)] = ONE
        else:
            self.sizes[id(node)] = count
        return total

    def optional_map_cost(self, node: ast.Comprehension, target_cost: Estimate) -> Estimate:
        """cel-go expands opt.optMap(x, e) to ``opt.hasValue() ? optional.of(<bind x to
        opt.value() in e>) : optional.none()`` (optFlatMap without the optional.of)."""
        self.scopes.append({node.iter_var: None})
        try:
            body = self.cost(node.args[0])
        finally:
            self.scopes.pop()
        has_value = ONE + target_cost
        bind = fixed(LIST_CREATE) + ONE + target_cost + body
        present = (ONE + bind) if node.kind == "optMap" else bind
        return has_value + present.union(ONE)


def _fold_costs(kind: str, bodies: list[Estimate]) -> tuple[Estimate, Estimate, Estimate]:
    """(accumulator init, loop condition + step per element, result) of cel-go's expansion
    of each macro; bodies are the predicate and/or transform costs."""
    body = bodies[-1]
    if kind == "all":  # cond @not_strictly_false(r); step r && p
        return ZERO, fixed(2) + Estimate(1, _sat(1 + body.max)), ONE
    if kind == "exists":  # cond @not_strictly_false(!r); step r || p
        return ZERO, fixed(3) + Estimate(1, _sat(1 + body.max)), ONE
    if kind in ("exists_one", "existsOne"):  # step p ? r + 1 : r; result r == 1
        return ZERO, body + Estimate(1, 2), fixed(2)
    if kind == "filter":  # step p ? r + [x] : r
        return fixed(LIST_CREATE), body + Estimate(1, 13), ONE
    if kind in ("map", "transformList"):  # step r + [t], behind p ? ... : r with a filter
        append = fixed(2 + LIST_CREATE) + body
        step = bodies[0] + append.union(ONE) if len(bodies) == 2 else append
        return fixed(LIST_CREATE), step, ONE
    if kind in ("transformMap", "transformMapEntry"):  # step cel.@mapInsert(r, k, t) / (r, t)
        insert = fixed(3 if kind == "transformMap" else 2) + body
        step = bodies[0] + insert.union(ONE) if len(bodies) == 2 else insert
        return fixed(MAP_CREATE), step, ONE
    return ZERO, body, ZERO


def _declared_size(typ: t.Type) -> Estimate:
    if typ.max_size is not None:
        return Estimate(0, typ.max_size)
    return ONE if _is_scalar(typ) else UNKNOWN


def _is_scalar(typ: t.Type) -> bool:
    if typ.name == "optional_type" and typ.params:
        return _is_scalar(typ.params[0])
    return typ.name in _SCALARS
