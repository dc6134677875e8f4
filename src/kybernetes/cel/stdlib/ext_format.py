"""``"...".format([args])`` from cel-go's strings extension (version 1 and later).

Clauses: %s (any value, printed as CEL's string() would, lists and maps element by element),
%d, %f and %e with an optional precision (``%.2f``), %b, %x, %X, %o, and ``%%``.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from kybernetes.cel import timeutil
from kybernetes.cel import types as t
from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.values import NoSuchOverload, Uint


def _err(msg: str) -> EvalError:
    return EvalError(f"error during formatting: {msg}")


def _plain(v: Any, nested: bool) -> str:
    from kybernetes.cel.stdlib.core import format_double

    c = type(v)
    if v is None:
        return "null"
    if c is bool:
        return "true" if v else "false"
    if c is int or c is Uint:
        return str(int(v))
    if c is float:
        return format_double(v)
    if c is str:
        return f'"{v}"' if nested else v
    if c is bytes:
        text = v.decode("utf-8", "replace")
        return f'b"{text}"' if nested else text
    if c is list or c is tuple:
        return "[" + ", ".join(_plain(x, True) for x in v) + "]"
    if c is dict:
        items = sorted(((_plain(k, True), _plain(x, True)) for k, x in v.items()))
        return "{" + ", ".join(f"{k}:{x}" for k, x in items) + "}"
    if c is datetime.datetime:
        return timeutil.format_timestamp(v)
    if c is datetime.timedelta:
        return timeutil.format_duration(v)
    if isinstance(v, t.Type):
        return str(v)
    own = getattr(v, "cel_string", None)
    if own is not None:
        return str(own())
    raise _err(
        f"string clause can only be used on strings, bools, bytes, ints, doubles, maps, lists, types, durations, and timestamps, was given {c.__name__}"
    )


def _number(v: Any, clause: str) -> float:
    c = type(v)
    if c is float or c is int or c is Uint:
        return float(v)
    if c is str and v in ("NaN", "Infinity", "-Infinity"):
        return float(v.replace("Infinity", "inf"))
    raise _err(f"{clause} clause can only be used on doubles, was given {type(v).__name__}")


def _fixed(v: Any, precision: int) -> str:
    d = _number(v, "fixed-point")
    if math.isnan(d):
        return "NaN"
    if math.isinf(d):
        return "Infinity" if d > 0 else "-Infinity"
    return f"{d:.{precision}f}"


def _integer(v: Any, clause: str) -> int:
    c = type(v)
    if c is int or c is Uint:
        return int(v)
    if c is bool and clause == "binary":
        return int(v)
    raise _err(f"{clause} clause can only be used on integers, was given {type(v).__name__}")


def _hex(v: Any, upper: bool) -> str:
    c = type(v)
    if c is str:
        out = v.encode("utf-8").hex()
    elif c is bytes:
        out = v.hex()
    else:
        n = _integer(v, "hex")
        out = ("-" if n < 0 else "") + format(abs(n), "x")
    return str(out.upper() if upper else out)


def format_string(*args: Any) -> str:
    if len(args) != 2 or type(args[0]) is not str or type(args[1]) is not list:
        raise NoSuchOverload("format", *args)
    fmt, values = args
    out: list[str] = []
    i, used = 0, 0
    while i < len(fmt):
        ch = fmt[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i < len(fmt) and fmt[i] == "%":
            out.append("%")
            i += 1
            continue
        precision = 6
        if i < len(fmt) and fmt[i] == ".":
            j = i + 1
            while j < len(fmt) and fmt[j].isdigit():
                j += 1
            if j == i + 1:
                raise _err("unable to find end of precision specifier")
            precision = int(fmt[i + 1 : j])
            i = j
        if i >= len(fmt):
            raise _err("unexpected end of string")
        verb = fmt[i]
        i += 1
        if used >= len(values):
            raise _err(f"index {used} out of range")
        value = values[used]
        used += 1
        if verb == "s":
            out.append(_plain(value, nested=False))
        elif verb == "d":
            out.append(str(_integer(value, "decimal")))
        elif verb == "f":
            out.append(_fixed(value, precision))
        elif verb == "e":
            d = _number(value, "scientific")
            out.append(f"{d:.{precision}e}")
        elif verb == "b":
            n = _integer(value, "binary")
            out.append(("-" if n < 0 else "") + format(abs(n), "b"))
        elif verb in "xX":
            out.append(_hex(value, upper=verb == "X"))
        elif verb == "o":
            n = _integer(value, "octal")
            out.append(("-" if n < 0 else "") + format(abs(n), "o"))
        else:
            raise _err(f'could not parse formatting clause: unrecognized formatting clause "{verb}"')
    return "".join(out)


define("format", format_string, "<string>.format(list(dyn)) -> string")
