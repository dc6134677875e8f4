"""Runtime values: plain Python for JSON-like data, small wrappers where CEL needs a distinction.

CEL int is a Python ``int``, double a ``float``, string ``str``, bytes ``bytes``, bool ``bool``,
null ``None``, list ``list``, map ``dict``, timestamp a tz-aware ``datetime``, duration a
``timedelta``. Python cannot tell a uint from an int, so uints are ``Uint``; optionals are
``Optional``; type values are ``types.Type``. Dispatch always uses ``type(v) is ...`` because a
Python bool is also an int.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from kybernetes.cel import types as t
from kybernetes.cel.errors import EvalError

Timestamp = datetime.datetime
Duration = datetime.timedelta

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1


class Uint(int):
    """A CEL uint (an int that remembers it is unsigned)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}u"


class Optional:
    """A CEL optional: a value or none."""

    __slots__ = ("present", "value")

    def __init__(self, present: bool, value: Any = None) -> None:
        self.present = present
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Optional) or other.present != self.present:
            return False
        return not self.present or equal(self.value, other.value)

    def __hash__(self) -> int:
        return hash(self.present)

    def __repr__(self) -> str:
        return f"optional.of({self.value!r})" if self.present else "optional.none()"


NONE = Optional(False)


class NoSuchOverload(EvalError):
    def __init__(self, function: str, *args: Any) -> None:
        shown = ", ".join(type_name(a) for a in args)
        super().__init__(f"no such overload: {function}({shown})")


_NAMES: dict[type, str] = {
    bool: "bool",
    int: "int",
    Uint: "uint",
    float: "double",
    str: "string",
    bytes: "bytes",
    type(None): "null_type",
    list: "list",
    tuple: "list",
    dict: "map",
    datetime.datetime: "google.protobuf.Timestamp",
    datetime.timedelta: "google.protobuf.Duration",
    Optional: "optional_type",
}


def type_name(v: Any) -> str:
    name = _NAMES.get(type(v))
    if name is not None:
        return name
    if isinstance(v, t.Type):
        return "type"
    return str(getattr(v, "cel_type", t.DYN))


def type_of(v: Any) -> t.Type:
    """The runtime type value of `v` (what CEL's ``type()`` returns)."""
    if isinstance(v, t.Type):
        return t.TypeType()
    own = getattr(v, "cel_type", None)
    if isinstance(own, t.Type):
        return own
    return t.Type(type_name(v))


def is_number(v: Any) -> bool:
    cls = type(v)
    return cls is int or cls is float or cls is Uint


def equal(a: Any, b: Any) -> bool:
    """CEL equality: numbers compare by value across int/uint/double, other kinds never mix."""
    ca, cb = type(a), type(b)
    if ca is cb and ca in _SIMPLE:
        return bool(a == b)
    if is_number(a) and is_number(b):
        return bool(a == b)
    if ca in _LISTS and cb in _LISTS:
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if ca is dict and cb is dict:
        if len(a) != len(b):
            return False
        for k, v in a.items():
            found = map_get(b, k)
            if found is _MISSING or not equal(v, found):
                return False
        return True
    if ca is not cb:
        return False
    return bool(a == b)


_SIMPLE = frozenset({str, int, float, bool, bytes, type(None), Uint})
_LISTS = frozenset({list, tuple})
_MISSING: Any = object()


def map_get(m: dict[Any, Any], key: Any) -> Any:
    """Look `key` up in a CEL map: 1, 1u and 1.0 are the same key; true is not 1."""
    try:
        v = m.get(key, _MISSING)
    except TypeError:
        return _MISSING
    if v is _MISSING:
        return v
    if type(key) is bool or (is_number(key) and any(type(k) is bool for k in m)):
        # Python treats True as 1; CEL keeps bools apart from numbers.
        for k in m:
            if k == key and (type(k) is bool) == (type(key) is bool):
                return m[k]
        return _MISSING
    return v


def compare(fn: str, a: Any, b: Any) -> int:
    """-1, 0 or 1 ordering for CEL's relational operators (raises no-such-overload)."""
    ca, cb = type(a), type(b)
    if (ca is cb and ca in _ORDERED) or (is_number(a) and is_number(b)):
        if (ca is float or cb is float) and (math.isnan(a) or math.isnan(b)):
            return 2  # unordered: every comparison is false
        return -1 if a < b else (1 if a > b else 0)
    raise NoSuchOverload(fn, a, b)


_ORDERED = frozenset({str, bytes, bool, int, float, Uint, datetime.datetime, datetime.timedelta})
