"""Direct loops for CEL's macros (all, exists, exists_one, map, filter, the two-variable
comprehensions, optMap/optFlatMap).

cel-go expands macros into a general fold with an accumulator; running them as plain loops
gives the same results (including the error rules: ``all`` is false if any element is false
even when another errs, ``exists`` likewise true) at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kybernetes.cel.errors import CostLimitExceeded, EvalError
from kybernetes.cel.evaluator import Eval, Frame
from kybernetes.cel.values import NONE, NoSuchOverload, Optional, Uint, map_get

_UNSET: Any = object()
_MISSING: Any = map_get({}, 0)


def _pairs(kind: str, rng: Any, two: bool) -> Iterator[tuple[Any, Any]]:
    c = type(rng)
    if c is list or c is tuple:
        return enumerate(rng) if two else ((x, None) for x in rng)
    if c is dict:
        return iter(rng.items()) if two else ((k, None) for k in rng)
    raise NoSuchOverload(kind, rng)


def plan_comprehension(kind: str, iter_range: Eval, var: str, var2: str | None, bodies: list[Eval]) -> Eval:
    if kind in ("optMap", "optFlatMap"):
        return _opt_map(kind, iter_range, var, bodies[0])
    step = _STEPS[kind]
    two = var2 is not None

    def comprehension(f: Frame) -> Any:
        rng = iter_range(f)
        variables = f.vars
        saved = variables.get(var, _UNSET), variables.get(var2, _UNSET) if var2 else _UNSET
        try:
            return step(f, rng, _pairs(kind, rng, two), var, var2, bodies)
        finally:
            _restore(variables, var, saved[0])
            if var2:
                _restore(variables, var2, saved[1])

    return comprehension


def _restore(variables: dict[str, Any], name: str, old: Any) -> None:
    if old is _UNSET:
        variables.pop(name, None)
    else:
        variables[name] = old


def _bind(f: Frame, var: str, var2: str | None, a: Any, b: Any) -> None:
    f.cost += 1
    if f.cost > f.limit:
        raise CostLimitExceeded()
    f.vars[var] = a
    if var2 is not None:
        f.vars[var2] = b


Step = Callable[[Frame, Any, Iterator[tuple[Any, Any]], str, "str | None", list[Eval]], Any]


def _all(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    pred = bodies[0]
    error: EvalError | None = None
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        try:
            v = pred(f)
        except CostLimitExceeded:
            raise
        except EvalError as e:
            error = error or e
            continue
        if v is False:
            return False
        if v is not True:
            error = error or NoSuchOverload("_&&_", v)
    if error is not None:
        raise error
    return True


def _exists(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    pred = bodies[0]
    error: EvalError | None = None
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        try:
            v = pred(f)
        except CostLimitExceeded:
            raise
        except EvalError as e:
            error = error or e
            continue
        if v is True:
            return True
        if v is not False:
            error = error or NoSuchOverload("_||_", v)
    if error is not None:
        raise error
    return False


def _exists_one(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    pred = bodies[0]
    count = 0
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        v = pred(f)
        if v is True:
            count += 1
        elif v is not False:
            raise NoSuchOverload("_?_:_", v)
    return count == 1


def _keep(pred: Eval | None, f: Frame) -> bool:
    if pred is None:
        return True
    v = pred(f)
    if type(v) is not bool:
        raise NoSuchOverload("_?_:_", v)
    return v


def _map(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    pred, transform = (None, bodies[0]) if len(bodies) == 1 else (bodies[0], bodies[1])
    out = []
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        if _keep(pred, f):
            out.append(transform(f))
    return out


def _filter(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    out = []
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        if _keep(bodies[0], f):
            out.append(a)
    return out


def _transform_map(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    pred, transform = (None, bodies[0]) if len(bodies) == 1 else (bodies[0], bodies[1])
    out: dict[Any, Any] = {}
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        if _keep(pred, f):
            out[a] = transform(f)
    return out


def _transform_map_entry(
    f: Frame, rng: Any, pairs: Iterator[tuple[Any, Any]], var: str, var2: str | None, bodies: list[Eval]
) -> Any:
    pred, transform = (None, bodies[0]) if len(bodies) == 1 else (bodies[0], bodies[1])
    out: dict[Any, Any] = {}
    for a, b in pairs:
        _bind(f, var, var2, a, b)
        if not _keep(pred, f):
            continue
        entry = transform(f)
        if type(entry) is not dict:
            raise NoSuchOverload("transformMapEntry", entry)
        for k, v in entry.items():
            if map_get(out, k) is not _MISSING:
                raise EvalError(f"insert failed: key {_key_text(k)} already exists")
            out[k] = v
    return out


def _key_text(k: Any) -> str:
    if type(k) is bool:
        return "true" if k else "false"
    if type(k) is Uint:
        return f"{int(k)}u"
    return str(k)


_STEPS: dict[str, Step] = {
    "all": _all,
    "exists": _exists,
    "exists_one": _exists_one,
    "map": _map,
    "filter": _filter,
    "transformList": _map,
    "transformMap": _transform_map,
    "transformMapEntry": _transform_map_entry,
}


def _opt_map(kind: str, target: Eval, var: str, body: Eval) -> Eval:
    def opt_map(f: Frame) -> Any:
        opt = target(f)
        if type(opt) is not Optional:
            raise NoSuchOverload(kind, opt)
        if not opt.present:
            return NONE
        old = f.vars.get(var, _UNSET)
        f.vars[var] = opt.value
        try:
            result = body(f)
        finally:
            _restore(f.vars, var, old)
        if kind == "optMap":
            return Optional(True, result)
        if type(result) is not Optional:
            raise NoSuchOverload(kind, result)
        return result

    return opt_map
