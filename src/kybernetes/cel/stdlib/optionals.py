"""Optional values (cel-go's OptionalTypes library, which Kubernetes enables)."""

from __future__ import annotations

from typing import Any

from kybernetes.cel.stdlib import define
from kybernetes.cel.values import NONE, NoSuchOverload, Optional, Uint


def of(v: Any) -> Optional:
    return Optional(True, v)


def none() -> Optional:
    return NONE


def _is_zero(v: Any) -> bool:
    if v is None:
        return True
    c = type(v)
    if c in (bool, int, Uint, float, str, bytes, list, tuple, dict):
        return not v
    return False


def of_non_zero_value(v: Any) -> Optional:
    return NONE if _is_zero(v) else Optional(True, v)


def _opt(fn: str, v: Any, *rest: Any) -> Optional:
    if type(v) is not Optional:
        raise NoSuchOverload(fn, v, *rest)
    return v


def has_value(v: Any) -> bool:
    return _opt("hasValue", v).present


def value(v: Any) -> Any:
    opt = _opt("value", v)
    if not opt.present:
        from kybernetes.cel.errors import EvalError

        raise EvalError("optional.none() dereference")
    return opt.value


def or_value(v: Any, default: Any) -> Any:
    opt = _opt("orValue", v, default)
    return opt.value if opt.present else default


def or_(v: Any, other: Any) -> Any:
    opt = _opt("or", v, other)
    if opt.present:
        return opt
    return _opt("or", other)


define("optional.of", of, "optional.of(A) -> optional_type(A)")
define("optional.none", none, "optional.none() -> optional_type(_)")
define("optional.ofNonZeroValue", of_non_zero_value, "optional.ofNonZeroValue(A) -> optional_type(A)")
define("hasValue", has_value, "<optional_type(A)>.hasValue() -> bool")
define("value", value, "<optional_type(A)>.value() -> A")
define("orValue", or_value, "<optional_type(A)>.orValue(A) -> A")
define("or", or_, "<optional_type(A)>.or(optional_type(A)) -> optional_type(A)")
