"""Go-style renderings of JSON values, for error messages that must read as upstream's do.

Upstream builds many error texts with Go's ``fmt`` verbs (``%v`` of a decoded JSON map prints
``map[a:1 b:x]``, ``%q`` quotes a string, ``%#v`` of a string slice prints ``[]string{"a"}``),
and clients sometimes show or compare those texts. These helpers reproduce the renderings for
the JSON shapes we hold (dict, list, str, int, float, bool, None).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def quote(s: str) -> str:
    """Go's ``%q`` / ``strconv.Quote`` for a string."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def string_slice(values: list[str] | tuple[str, ...] | None) -> str:
    """Go's ``%#v`` of a ``[]string`` (``None`` is the nil slice)."""
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(quote(v) for v in values) + "}"


def value(v: Any) -> str:
    """Go's ``%v`` of a value decoded from JSON into ``interface{}``."""
    if v is None:
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        # Go prints map keys sorted.
        return "map[" + " ".join(f"{k}:{value(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list | tuple):
        return "[" + " ".join(value(x) for x in v) + "]"
    return str(v)


def _float(f: float) -> str:
    # Go's %v of a float64 is strconv 'g' with the shortest digits; with shortest precision
    # the exponent form is used when the decimal exponent is < -4 or >= 6 (1e+06, 1.5e-05).
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    d = Decimal(repr(f))
    sign, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    ds = "".join(str(x) for x in digits).rstrip("0") or "0"
    point = len(digits) + exp  # position of the decimal point relative to the digit string
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{ds}"
    if point >= len(ds):
        return f"{neg}{ds}{'0' * (point - len(ds))}"
    return f"{neg}{ds[:point]}.{ds[point:]}"


def type_name(v: Any) -> str:
    """``reflect.TypeOf(v).String()`` as ``%s`` prints it, for JSON values."""
    if v is None:
        return "%!s(<nil>)"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, list):
        return "[]interface {}"
    return type(v).__name__
