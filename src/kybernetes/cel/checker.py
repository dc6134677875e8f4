"""Type checker: infers the type of every node from the declared variable types.

It reports what cel-go's checker reports, with cel-go's message texts: undeclared references,
undefined fields of schema objects, operators and functions applied to argument types no
overload accepts, mixed-type list and map literals (Kubernetes enables homogeneous aggregate
literals), and non-iterable comprehension ranges. ``dyn`` matches anything, so a rule over
``x-kubernetes-preserve-unknown-fields`` data is checked only as far as its types are known and
the rest is left to the evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.cel import ast
from kybernetes.cel import types as t
from kybernetes.cel.errors import CompileError, Issue
from kybernetes.cel.evaluator import qualified_name
from kybernetes.cel.stdlib import Function, Overload
from kybernetes.cel.validators import validate_literal_call
from kybernetes.cel.values import Uint

_LITERAL_TYPES: dict[type, t.Type] = {
    bool: t.BOOL,
    int: t.INT,
    Uint: t.UINT,
    float: t.DOUBLE,
    str: t.STRING,
    bytes: t.BYTES,
    type(None): t.NULL,
}
_PREDICATE_OP = {"all": "_&&_", "exists": "_||_", "exists_one": "_?_:_", "filter": "_?_:_"}


def check(
    source: str,
    tree: ast.Expr,
    variables: Mapping[str, t.Type],
    functions: dict[str, Function],
    constants: dict[str, Any],
) -> t.Type:
    """The expression's type; CompileError with every issue found otherwise."""
    return check_types(source, tree, variables, functions, constants)[0]


def check_types(
    source: str,
    tree: ast.Expr,
    variables: Mapping[str, t.Type],
    functions: dict[str, Function],
    constants: dict[str, Any],
) -> tuple[t.Type, dict[int, t.Type]]:
    """Like check, and also the type inferred for every node (keyed by ``id(node)``), which
    the cost estimator reads sizes from."""
    checker = _Checker(variables, functions, constants)
    result = concrete(checker.check(tree))
    if checker.issues:
        raise CompileError(source, sorted(checker.issues, key=lambda i: i.offset))
    return result, checker.node_types


class _Checker:
    def __init__(
        self, variables: Mapping[str, t.Type], functions: dict[str, Function], constants: dict[str, Any]
    ) -> None:
        self.variables = variables
        self.functions = functions
        self.constants = constants
        self.scopes: list[dict[str, t.Type]] = []
        self.issues: list[Issue] = []
        self.format_depth = 0  # > 0 while checking format() arguments
        self.node_types: dict[int, t.Type] = {}

    def error(self, offset: int, message: str) -> t.Type:
        self.issues.append(Issue(offset, message))
        return t.ERROR

    def lookup_var(self, name: str) -> t.Type | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return self.variables.get(name)

    def is_dotted_variable(self, qualified: str) -> bool:
        """``authorizer.requestResource``: a declared name with a dot, unless a comprehension
        variable shadows its first part (cel-go resolves the longest declared name)."""
        if "." not in qualified or qualified not in self.variables:
            return False
        root = qualified.split(".")[0]
        return not any(root in scope for scope in self.scopes)

    def check(self, node: ast.Expr) -> t.Type:
        method = getattr(self, "check_" + type(node).__name__)
        result: t.Type = method(node)
        self.node_types[id(node)] = result
        return result

    def check_Literal(self, node: ast.Literal) -> t.Type:
        return _LITERAL_TYPES[type(node.value)]

    def check_Ident(self, node: ast.Ident) -> t.Type:
        found = self.lookup_var(node.name)
        if found is not None:
            return found
        if node.name in self.constants:
            return t.TypeType(self.constants[node.name])
        return self.error(node.offset, f"undeclared reference to '{node.name}' (in container '')")

    def check_Select(self, node: ast.Select) -> t.Type:
        qualified = qualified_name(node)
        if qualified is not None and self.is_dotted_variable(qualified):
            return self.variables[qualified]
        if qualified in self.constants and self.lookup_var(qualified.split(".")[0]) is None:
            return t.TypeType(self.constants[qualified])
        operand = self.check(node.operand)
        optional = node.optional
        if operand.name == "optional_type" and operand.params:
            operand = operand.params[0]
            optional = optional or not node.test_only
        field = self.field_type(node, operand)
        if node.test_only:
            return t.BOOL
        return t.OptionalType(field) if optional else field

    def field_type(self, node: ast.Select, operand: t.Type) -> t.Type:
        if isinstance(operand, t.ObjectType):
            found = operand.fields.get(node.field)
            if found is None:
                return self.error(node.offset, f"undefined field '{node.field}'")
            return found
        if t.is_dyn(operand):
            return t.DYN
        if operand.name == "map" and len(operand.params) == 2:
            if not (t.is_dyn(operand.params[0]) or operand.params[0] == t.STRING):
                return self.error(
                    node.offset, f"type '{t.format_type(operand)}' does not support field selection"
                )
            return operand.params[1]
        return self.error(node.offset, f"type '{t.format_type(operand)}' does not support field selection")

    def check_Call(self, node: ast.Call) -> t.Type:
        if node.target is not None:
            qualified = qualified_name(node.target)
            if qualified is not None and self.lookup_var(qualified.split(".")[0]) is None:
                full = f"{qualified}.{node.function}"
                if full in self.functions:
                    args = [self.check(a) for a in node.args]
                    return self.resolve(node, full, self.functions[full], args, member=False)
            target = self.check(node.target)
            exempt = node.function == "format"
            self.format_depth += exempt
            args = [self.check(a) for a in node.args]
            self.format_depth -= exempt
            fn = self.functions.get(node.function)
            if fn is None or not any(o.member for o in fn.overloads):
                return self.error(node.offset, f"undeclared reference to '{node.function}' (in container '')")
            result = self.resolve(node, node.function, fn, [target, *args], member=True)
            self.validate_literals(node)
            return result
        args = [self.check(a) for a in node.args]
        fn = self.functions.get(node.function)
        if fn is None or not any(not o.member for o in fn.overloads):
            return self.error(node.offset, f"undeclared reference to '{node.function}' (in container '')")
        result = self.resolve(node, node.function, fn, args, member=False)
        self.validate_literals(node)
        return result

    def validate_literals(self, node: ast.Call) -> None:
        issue = validate_literal_call(node)
        if issue is not None:
            self.issues.append(issue)

    def resolve(self, node: ast.Call, name: str, fn: Function, args: list[t.Type], *, member: bool) -> t.Type:
        if any(a == t.ERROR for a in args):
            return t.ERROR
        results: list[t.Type] = []
        for overload in fn.overloads:
            if overload.member != member or len(overload.params) != len(args):
                continue
            result = _try_overload(overload, args)
            if result is not None and result not in results:
                results.append(result)
        if not results:
            return self.error(node.offset, _no_overload(name, args, member))
        return results[0] if len(results) == 1 else t.DYN

    def check_ListExpr(self, node: ast.ListExpr) -> t.Type:
        types: list[t.Type] = []
        for i, e in enumerate(node.elements):
            et = self.check(e)
            types.append(self.unwrap_optional(e, et) if i in node.optional_indices else et)
        return t.ListType(self.homogeneous(node.elements, types, first_only=True))

    def unwrap_optional(self, node: ast.Expr, typ: t.Type) -> t.Type:
        if typ.name == "optional_type" and typ.params:
            return typ.params[0]
        if t.is_dyn(typ):
            return t.DYN
        return self.error(node.offset, f"expected type 'optional_type' but found '{t.format_type(typ)}'")

    def homogeneous(self, nodes: list[ast.Expr], types: list[t.Type], *, first_only: bool) -> t.Type:
        """The common type of literal elements; Kubernetes enables cel-go's homogeneous
        aggregate literal validation, so differing types (dyn included) are an error except
        inside format() arguments."""
        common: t.Type | None = None
        for node, typ in zip(nodes, types, strict=True):
            if typ == t.ERROR:
                continue
            if common is None or (_has_free(common) and _equivalent(common, typ)):
                common = typ
            elif not _equivalent(common, typ):
                if self.format_depth:
                    return t.DYN
                self.error(
                    node.offset, f"expected type '{t.format_type(common)}' but found '{t.format_type(typ)}'"
                )
                if first_only:
                    break
        return common if common is not None else t.FREE

    def check_MapExpr(self, node: ast.MapExpr) -> t.Type:
        key_types: list[t.Type] = []
        value_types: list[t.Type] = []
        for entry in node.entries:
            key_types.append(self.check(entry.key))
            vt = self.check(entry.value)
            value_types.append(self.unwrap_optional(entry.value, vt) if entry.optional else vt)
        keys = self.homogeneous([e.key for e in node.entries], key_types, first_only=False)
        values = self.homogeneous([e.value for e in node.entries], value_types, first_only=False)
        return t.MapType(keys, values)

    def check_StructExpr(self, node: ast.StructExpr) -> t.Type:
        for entry in node.fields:
            self.check(entry.value)
        return self.error(node.offset, f"undeclared reference to '{node.type_name}' (in container '')")

    def check_Comprehension(self, node: ast.Comprehension) -> t.Type:
        rng = self.check(node.iter_range)
        kind = node.kind
        if kind in ("optMap", "optFlatMap"):
            return self.check_opt_map(node, rng)
        var_type, var2_type = self.range_types(node, rng)
        scope = {node.iter_var: var_type}
        if node.iter_var2 is not None:
            scope[node.iter_var2] = var2_type
        self.scopes.append(scope)
        try:
            bodies = [self.check(a) for a in node.args]
        finally:
            self.scopes.pop()
        predicates = bodies[:1] if kind in _PREDICATE_OP else (bodies[:1] if len(bodies) == 2 else [])
        for pred_node, pred in zip(node.args, predicates, strict=False):
            if not (t.is_dyn(pred) or pred == t.BOOL):
                op = _PREDICATE_OP.get(kind, "_?_:_")
                shown = (
                    f"(bool, {t.format_type(pred)})"
                    if op != "_?_:_"
                    else f"({t.format_type(pred)}, list(dyn), list(dyn))"
                )
                self.error(pred_node.offset, f"found no matching overload for '{op}' applied to '{shown}'")
        transform = bodies[-1]
        if kind in ("all", "exists", "exists_one"):
            return t.BOOL
        if kind == "filter":
            return t.ListType(var_type if node.iter_var2 is None else var2_type)
        if kind in ("map", "transformList"):
            return t.ListType(transform)
        if kind == "transformMap":
            return t.MapType(var_type, transform)
        if transform.name == "map" and len(transform.params) == 2:
            return transform
        if not t.is_dyn(transform):
            self.error(node.args[-1].offset, f"expected type 'map' but found '{t.format_type(transform)}'")
        return t.MapType(t.DYN, t.DYN)

    def range_types(self, node: ast.Comprehension, rng: t.Type) -> tuple[t.Type, t.Type]:
        two = node.iter_var2 is not None
        if rng.name == "list" and rng.params:
            return (t.INT, rng.params[0]) if two else (rng.params[0], t.DYN)
        if rng.name == "map" and len(rng.params) == 2:
            return (rng.params[0], rng.params[1])
        if t.is_dyn(rng):
            return t.DYN, t.DYN
        self.error(
            node.iter_range.offset,
            f"expression of type '{t.format_type(rng)}' cannot be range of a comprehension (must be list, map, or dynamic)",
        )
        return t.DYN, t.DYN

    def check_opt_map(self, node: ast.Comprehension, target: t.Type) -> t.Type:
        if target.name == "optional_type" and target.params:
            inner = target.params[0]
        elif t.is_dyn(target):
            inner = t.DYN
        else:
            return self.error(node.offset, _no_overload(node.kind, [target], member=True))
        self.scopes.append({node.iter_var: inner})
        try:
            body = self.check(node.args[0])
        finally:
            self.scopes.pop()
        if node.kind == "optMap":
            return t.OptionalType(body)
        if body.name == "optional_type" or t.is_dyn(body):
            return body if body.name == "optional_type" else t.OptionalType(t.DYN)
        return self.error(
            node.args[0].offset, f"expected type 'optional_type' but found '{t.format_type(body)}'"
        )


def _equivalent(a: t.Type, b: t.Type) -> bool:
    if a == t.FREE or b == t.FREE:
        return True
    if isinstance(a, t.ObjectType) or isinstance(b, t.ObjectType):
        return a == b
    if a.name != b.name or len(a.params) != len(b.params):
        return False
    return all(_equivalent(x, y) for x, y in zip(a.params, b.params, strict=True))


def _has_free(typ: t.Type) -> bool:
    return typ == t.FREE or any(_has_free(p) for p in typ.params)


def concrete(typ: t.Type) -> t.Type:
    """`typ` with the placeholders of empty literals replaced by dyn, for reporting."""
    if typ == t.FREE:
        return t.DYN
    if not typ.params:
        return typ
    return t.Type(typ.name, tuple(concrete(p) for p in typ.params))


def _no_overload(name: str, args: list[t.Type], member: bool) -> str:
    if member:
        shown = f"{t.format_type(args[0])}.({', '.join(t.format_type(a) for a in args[1:])})"
    else:
        shown = f"({', '.join(t.format_type(a) for a in args)})"
    return f"found no matching overload for '{name}' applied to '{shown}'"


def _try_overload(overload: Overload, args: list[t.Type]) -> t.Type | None:
    bindings: dict[str, t.Type] = {}
    for param, arg in zip(overload.params, args, strict=True):
        if _unify(param, arg, bindings) is None:
            return None
    return _substitute(overload.result, bindings)


def _unify(param: t.Type, arg: t.Type, bindings: dict[str, t.Type]) -> dict[str, t.Type] | None:
    if isinstance(param, t.TypeParam):
        bound = bindings.get(param.name)
        if bound is None:
            bindings[param.name] = arg
            return bindings
        if t.is_dyn(bound):
            return bindings
        if t.is_dyn(arg):
            return bindings
        return _unify(bound, arg, bindings)
    if t.is_dyn(param) or t.is_dyn(arg):
        _bind_params_dyn(param, bindings)
        return bindings
    if isinstance(param, t.ObjectType) or isinstance(arg, t.ObjectType):
        # null is assignable to object (message) types in cel-go: obj == null type-checks
        if param == arg or t.NULL in (param, arg):
            return bindings
        return None
    if param.name != arg.name:
        return None
    if param.name == "type":
        return bindings  # type(int) and type(string) are both values of type "type"
    if len(param.params) != len(arg.params):
        return None if param.params and arg.params else bindings
    for p, a in zip(param.params, arg.params, strict=True):
        if _unify(p, a, bindings) is None:
            return None
    return bindings


def _bind_params_dyn(param: t.Type, bindings: dict[str, t.Type]) -> None:
    if isinstance(param, t.TypeParam):
        bindings.setdefault(param.name, t.DYN)
    for p in param.params:
        _bind_params_dyn(p, bindings)


def _substitute(result: t.Type, bindings: dict[str, t.Type]) -> t.Type:
    if result == t.FREE:
        return result
    if isinstance(result, t.TypeParam):
        return bindings.get(result.name, t.DYN)
    if not result.params:
        return result
    return t.Type(result.name, tuple(_substitute(p, bindings) for p in result.params))
