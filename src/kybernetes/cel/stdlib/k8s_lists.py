"""Kubernetes' lists library (isSorted, sum, min, max, indexOf, lastIndexOf) and cel-go's sets
extension (sets.contains, sets.equivalent, sets.intersects), both enabled for CRD rules.
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.stdlib.core import add
from kybernetes.cel.values import NoSuchOverload, Uint, compare, equal

_COMPARABLE = ("int", "uint", "double", "bool", "duration", "timestamp", "string", "bytes")
_SUMMABLE = {"int": 0, "uint": Uint(0), "double": 0.0, "duration": datetime.timedelta(0)}


def _list(name: str, v: Any, *rest: Any) -> list[Any]:
    if type(v) is not list and type(v) is not tuple:
        raise NoSuchOverload(name, v, *rest)
    return list(v)


def is_sorted(v: Any) -> bool:
    items = _list("isSorted", v)
    return all(compare("isSorted", a, b) != 1 for a, b in itertools.pairwise(items))


def list_sum(v: Any) -> Any:
    items = _list("sum", v)
    if not items:
        return 0
    total = items[0]
    for x in items[1:]:
        total = add(total, x)
    return total


def _extreme(name: str, v: Any, prefer: int) -> Any:
    items = _list(name, v)
    if not items:
        raise EvalError(f"{name} called on empty list")
    best = items[0]
    for x in items[1:]:
        if compare(name, best, x) == prefer:
            best = x
    return best


def list_min(v: Any) -> Any:
    return _extreme("min", v, 1)


def list_max(v: Any) -> Any:
    return _extreme("max", v, -1)


def index_of(v: Any, item: Any) -> int:
    for i, x in enumerate(_list("indexOf", v, item)):
        if equal(x, item):
            return i
    return -1


def last_index_of(v: Any, item: Any) -> int:
    items = _list("lastIndexOf", v, item)
    for i in range(len(items) - 1, -1, -1):
        if equal(items[i], item):
            return i
    return -1


def _size_cost(v: Any, *rest: Any) -> int:
    return len(v) if isinstance(v, list | tuple) else 0


define("isSorted", is_sorted, *(f"<list({x})>.isSorted() -> bool" for x in _COMPARABLE), cost=_size_cost)
define("sum", list_sum, *(f"<list({x})>.sum() -> {x}" for x in _SUMMABLE), cost=_size_cost)
define("min", list_min, *(f"<list({x})>.min() -> {x}" for x in _COMPARABLE), cost=_size_cost)
define("max", list_max, *(f"<list({x})>.max() -> {x}" for x in _COMPARABLE), cost=_size_cost)
define("indexOf", index_of, "<list(A)>.indexOf(A) -> int", cost=_size_cost)
define("lastIndexOf", last_index_of, "<list(A)>.lastIndexOf(A) -> int", cost=_size_cost)


# -- sets -------------------------------------------------------------------------------------
def _contains_all(name: str, a: Any, b: Any) -> bool:
    left, right = _list(name, a, b), _list(name, b, a)
    return all(any(equal(x, y) for y in left) for x in right)


def sets_contains(a: Any, b: Any) -> bool:
    return _contains_all("sets.contains", a, b)


def sets_equivalent(a: Any, b: Any) -> bool:
    return _contains_all("sets.equivalent", a, b) and _contains_all("sets.equivalent", b, a)


def sets_intersects(a: Any, b: Any) -> bool:
    left, right = _list("sets.intersects", a, b), _list("sets.intersects", b, a)
    return any(equal(x, y) for x in left for y in right)


def _pair_cost(a: Any, b: Any) -> int:
    return (len(a) if isinstance(a, list) else 0) * (len(b) if isinstance(b, list) else 0) // 10


define("sets.contains", sets_contains, "sets.contains(list(A), list(A)) -> bool", cost=_pair_cost)
define("sets.equivalent", sets_equivalent, "sets.equivalent(list(A), list(A)) -> bool", cost=_pair_cost)
define("sets.intersects", sets_intersects, "sets.intersects(list(A), list(A)) -> bool", cost=_pair_cost)
