"""CEL's standard definitions: operators, size, membership, conversions and string tests.

Integer arithmetic is 64-bit and overflow is an error, as cel-spec requires; int, uint and
double never convert implicitly (only the comparison operators mix them, as Kubernetes enables
cel-go's cross-type numeric comparisons).
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from kybernetes.cel import timeutil
from kybernetes.cel import types as t
from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.stdlib.regex import compile_re2
from kybernetes.cel.values import (
    INT64_MAX,
    INT64_MIN,
    UINT64_MAX,
    NoSuchOverload,
    Uint,
    compare,
    equal,
    map_get,
    type_of,
)

_TS = datetime.datetime
_DUR = datetime.timedelta


def check_int(v: int) -> int:
    if not INT64_MIN <= v <= INT64_MAX:
        raise EvalError("integer overflow")
    return v


def check_uint(v: int) -> Uint:
    if not 0 <= v <= UINT64_MAX:
        raise EvalError("unsigned integer overflow")
    return Uint(v)


def add(a: Any, b: Any) -> Any:
    ca, cb = type(a), type(b)
    if ca is cb:
        if ca is int:
            return check_int(a + b)
        if ca is float or ca is str or ca is bytes:
            return a + b
        if ca is list:
            return a + b
        if ca is Uint:
            return check_uint(a + b)
        if ca is _DUR:
            return timeutil.check_duration(a + b)
    if ca in (list, tuple) and cb in (list, tuple):
        return [*a, *b]
    if ca is _TS and cb is _DUR:
        return timeutil.check_timestamp(a, b)
    if ca is _DUR and cb is _TS:
        return timeutil.check_timestamp(b, a)
    raise NoSuchOverload("_+_", a, b)


def sub(a: Any, b: Any) -> Any:
    ca, cb = type(a), type(b)
    if ca is cb:
        if ca is int:
            return check_int(a - b)
        if ca is float:
            return a - b
        if ca is Uint:
            return check_uint(a - b)
        if ca is _DUR:
            return timeutil.check_duration(a - b)
        if ca is _TS:
            return timeutil.check_duration(a - b)
    if ca is _TS and cb is _DUR:
        return timeutil.check_timestamp(a, -b)
    raise NoSuchOverload("_-_", a, b)


def mul(a: Any, b: Any) -> Any:
    ca, cb = type(a), type(b)
    if ca is cb:
        if ca is int:
            return check_int(a * b)
        if ca is float:
            return a * b
        if ca is Uint:
            return check_uint(a * b)
    raise NoSuchOverload("_*_", a, b)


def div(a: Any, b: Any) -> Any:
    ca, cb = type(a), type(b)
    if ca is cb:
        if ca is int or ca is Uint:
            if b == 0:
                raise EvalError("division by zero")
            q = abs(a) // abs(b)  # Go truncates toward zero
            q = q if (a >= 0) == (b >= 0) else -q
            return check_int(q) if ca is int else Uint(q)
        if ca is float:
            if b == 0:
                if a == 0 or math.isnan(a):
                    return math.nan
                return math.copysign(math.inf, a) * math.copysign(1.0, b)
            return a / b
    raise NoSuchOverload("_/_", a, b)


def mod(a: Any, b: Any) -> Any:
    ca, cb = type(a), type(b)
    if ca is cb and (ca is int or ca is Uint):
        if b == 0:
            raise EvalError("modulus by zero")
        r = abs(a) % abs(b)  # Go: the remainder takes the dividend's sign
        r = r if a >= 0 else -r
        return r if ca is int else Uint(r)
    raise NoSuchOverload("_%_", a, b)


def neg(a: Any) -> Any:
    ca = type(a)
    if ca is int:
        return check_int(-a)
    if ca is float:
        return -a
    raise NoSuchOverload("-_", a)


def logical_not(a: Any) -> Any:
    if type(a) is bool:
        return not a
    raise NoSuchOverload("!_", a)


def eq(a: Any, b: Any) -> bool:
    return equal(a, b)


def ne(a: Any, b: Any) -> bool:
    return not equal(a, b)


def lt(a: Any, b: Any) -> bool:
    return compare("_<_", a, b) == -1


def le(a: Any, b: Any) -> bool:
    return compare("_<=_", a, b) in (-1, 0)


def gt(a: Any, b: Any) -> bool:
    return compare("_>_", a, b) == 1


def ge(a: Any, b: Any) -> bool:
    return compare("_>=_", a, b) in (0, 1)


def contained_in(elem: Any, container: Any) -> bool:
    c = type(container)
    if c is list or c is tuple:
        return any(equal(elem, x) for x in container)
    if c is dict:
        return map_get(container, elem) is not _MISSING_SENTINEL
    raise NoSuchOverload("@in", elem, container)


_MISSING_SENTINEL = map_get({}, 0)


def size(v: Any) -> int:
    c = type(v)
    if c is str or c is bytes or c is list or c is dict or c is tuple:
        return len(v)
    raise NoSuchOverload("size", v)


NUMS = ("int", "uint", "double")
for _name, _fn in (("_+_", add), ("_-_", sub), ("_*_", mul), ("_/_", div)):
    define(_name, _fn, *(f"{_name}({n}, {n}) -> {n}" for n in NUMS))
define("_+_", add, "_+_(string, string) -> string", "_+_(bytes, bytes) -> bytes",
       "_+_(list(A), list(A)) -> list(A)", "_+_(timestamp, duration) -> timestamp",
       "_+_(duration, timestamp) -> timestamp", "_+_(duration, duration) -> duration")  # fmt: skip
define("_-_", sub, "_-_(timestamp, timestamp) -> duration", "_-_(timestamp, duration) -> timestamp",
       "_-_(duration, duration) -> duration")  # fmt: skip
define("_%_", mod, "_%_(int, int) -> int", "_%_(uint, uint) -> uint")
define("-_", neg, "-_(int) -> int", "-_(double) -> double")
define("!_", logical_not, "!_(bool) -> bool")
define("_==_", eq, "_==_(A, A) -> bool")
define("_!=_", ne, "_!=_(A, A) -> bool")
_ORDERED = ("bool", "string", "bytes", "timestamp", "duration")
for _name, _fn in (("_<_", lt), ("_<=_", le), ("_>_", gt), ("_>=_", ge)):
    define(_name, _fn, *(f"{_name}({n}, {n}) -> bool" for n in _ORDERED))
    define(_name, _fn, *(f"{_name}({a}, {b}) -> bool" for a in NUMS for b in NUMS))
define("@in", contained_in, "@in(A, list(A)) -> bool", "@in(A, map(A, B)) -> bool")
define("size", size, *(f"size({x}) -> int" for x in ("string", "bytes", "list(A)", "map(A, B)")),
       *(f"<{x}>.size() -> int" for x in ("string", "bytes", "list(A)", "map(A, B)")))  # fmt: skip
# The logical operators are evaluated lazily by the evaluator; these entries type them.
define("_&&_", logical_not, "_&&_(bool, bool) -> bool")
define("_||_", logical_not, "_||_(bool, bool) -> bool")
define("_?_:_", logical_not, "_?_:_(bool, A, A) -> A")
define("_[_]", logical_not, "_[_](list(A), int) -> A", "_[_](list(A), uint) -> A",
       "_[_](list(A), double) -> A", "_[_](map(A, B), A) -> B")  # fmt: skip
define("_[?_]", logical_not, "_[?_](list(A), int) -> optional_type(A)",
       "_[?_](map(A, B), A) -> optional_type(B)", "_[?_](optional_type(list(A)), int) -> optional_type(A)",
       "_[?_](optional_type(map(A, B)), A) -> optional_type(B)")  # fmt: skip


# -- string tests ----------------------------------------------------------------------------
def _strings(name: str, a: Any, b: Any) -> None:
    if type(a) is not str or type(b) is not str:
        raise NoSuchOverload(name, a, b)


def contains(a: Any, b: Any) -> bool:
    _strings("contains", a, b)
    return b in a


def starts_with(a: Any, b: Any) -> bool:
    _strings("startsWith", a, b)
    return bool(a.startswith(b))


def ends_with(a: Any, b: Any) -> bool:
    _strings("endsWith", a, b)
    return bool(a.endswith(b))


def matches(a: Any, b: Any) -> bool:
    _strings("matches", a, b)
    return compile_re2(b).search(a) is not None


def _text_cost(a: Any, b: Any = "") -> int:
    return (len(a) if isinstance(a, str | bytes) else 0) // 10 + (len(b) if isinstance(b, str) else 0) // 10


define("contains", contains, "<string>.contains(string) -> bool", cost=_text_cost)
define("startsWith", starts_with, "<string>.startsWith(string) -> bool", cost=_text_cost)
define("endsWith", ends_with, "<string>.endsWith(string) -> bool", cost=_text_cost)
define("matches", matches, "<string>.matches(string) -> bool", "matches(string, string) -> bool",
       cost=_text_cost)  # fmt: skip


# -- conversions -----------------------------------------------------------------------------
def to_int(v: Any) -> int:
    c = type(v)
    if c is int:
        return int(v)
    if c is Uint:
        return check_int(int(v))
    if c is float:
        if math.isnan(v) or not -(2.0**63) < v < 2.0**63:
            raise EvalError("integer overflow")
        return int(v)
    if c is str:
        try:
            return check_int(_go_int(v))
        except ValueError:
            raise EvalError(f"cannot convert string '{v}' to int") from None
    if c is _TS:
        return timeutil.unix_seconds(v)
    raise NoSuchOverload("int", v)


def _go_int(text: str) -> int:
    # strconv.ParseInt(s, 0, 64): optional sign, decimal digits only (base 10 here).
    if not text or text.strip() != text or "_" in text:
        raise ValueError(text)
    return int(text, 10)


def to_uint(v: Any) -> Uint:
    c = type(v)
    if c is Uint:
        return Uint(v)
    if c is int:
        return check_uint(v)
    if c is float:
        if math.isnan(v) or not -1.0 < v < 2.0**64:
            raise EvalError("unsigned integer overflow")
        return Uint(int(v))
    if c is str:
        try:
            if text_is_signed(v):
                raise ValueError(v)
            return check_uint(_go_int(v))
        except ValueError:
            raise EvalError(f"cannot convert string '{v}' to uint") from None
    raise NoSuchOverload("uint", v)


def text_is_signed(s: str) -> bool:
    return s[:1] in ("+", "-")


def to_double(v: Any) -> float:
    c = type(v)
    if c is float:
        return float(v)
    if c is int or c is Uint:
        return float(v)
    if c is str:
        try:
            if v.strip() != v or "_" in v:
                raise ValueError(v)
            return float(v)
        except ValueError:
            raise EvalError(f"cannot convert string '{v}' to double") from None
    raise NoSuchOverload("double", v)


def format_double(d: float) -> str:
    """Go's strconv.FormatFloat(d, 'g', -1, 64), which cel-go's string(double) uses."""
    if math.isnan(d):
        return "NaN"
    if math.isinf(d):
        return "+Inf" if d > 0 else "-Inf"
    if d == 0:
        return "-0" if math.copysign(1.0, d) < 0 else "0"
    digits, exp = _shortest(d)
    sign = "-" if d < 0 else ""
    point = exp + 1  # position of the decimal point relative to the digits
    if exp < -4 or exp >= 21:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def _shortest(d: float) -> tuple[str, int]:
    text = repr(abs(d))
    mantissa, _, e = text.partition("e")
    exp = int(e) if e else 0
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    lead = len(whole.lstrip("0")) if whole.strip("0") else -(len(frac) - len(frac.lstrip("0")))
    exp += lead - 1
    return digits.rstrip("0") or "0", exp


def to_string(v: Any) -> str:
    c = type(v)
    if c is str:
        return str(v)
    if c is int or c is Uint:
        return str(int(v))
    if c is float:
        return format_double(v)
    if c is bool:
        return "true" if v else "false"
    if c is bytes:
        try:
            return str(v.decode("utf-8"))
        except UnicodeDecodeError:
            raise EvalError("invalid UTF-8 in bytes, cannot convert to string") from None
    if c is _TS:
        return timeutil.format_timestamp(v)
    if c is _DUR:
        return timeutil.format_duration(v)
    own = getattr(v, "cel_string", None)
    if own is not None:
        return str(own())
    raise NoSuchOverload("string", v)


def to_bytes(v: Any) -> bytes:
    if type(v) is bytes:
        return v
    if type(v) is str:
        return v.encode("utf-8")
    raise NoSuchOverload("bytes", v)


def to_bool(v: Any) -> bool:
    if type(v) is bool:
        return v
    if type(v) is str:
        if v in ("true", "True", "TRUE", "t", "1"):
            return True
        if v in ("false", "False", "FALSE", "f", "0"):
            return False
        raise EvalError("type conversion error from 'string' to 'bool'")
    raise NoSuchOverload("bool", v)


def dyn(v: Any) -> Any:
    return v


def type_fn(v: Any) -> t.Type:
    return type_of(v)


define("int", to_int, *(f"int({x}) -> int" for x in ("int", "uint", "double", "string", "timestamp")))
define("uint", to_uint, *(f"uint({x}) -> uint" for x in ("int", "uint", "double", "string")))
define("double", to_double, *(f"double({x}) -> double" for x in ("int", "uint", "double", "string")))
define("string", to_string, *(f"string({x}) -> string" for x in
       ("int", "uint", "double", "string", "bool", "bytes", "timestamp", "duration")))  # fmt: skip
define("bytes", to_bytes, "bytes(bytes) -> bytes", "bytes(string) -> bytes")
define("bool", to_bool, "bool(bool) -> bool", "bool(string) -> bool")
define("dyn", dyn, "dyn(A) -> dyn")
define("type", type_fn, "type(A) -> type(A)")
