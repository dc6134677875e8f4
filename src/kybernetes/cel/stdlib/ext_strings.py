"""cel-go's strings extension at the version Kubernetes 1.32 enables (ext.StringsVersion(2)):
charAt, indexOf, lastIndexOf, lowerAscii, upperAscii, replace, split, substring, trim, join,
format and strings.quote.

Indices count code points, not bytes, as in cel-go; replace and split follow Go's
strings.Replace and strings.SplitN (a negative limit means no limit, zero means none).
"""

from __future__ import annotations

from typing import Any

from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.values import NoSuchOverload

# unicode.IsSpace: the Latin-1 spaces plus the Unicode White_Space property.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _need(name: str, args: tuple[Any, ...], *kinds: type) -> None:
    if len(args) != len(kinds) or any(type(a) is not k for a, k in zip(args, kinds, strict=True)):
        raise NoSuchOverload(name, *args)


def _out_of_range(i: int) -> EvalError:
    return EvalError(f"index out of range: {i}")


def char_at(*args: Any) -> str:
    _need("charAt", args, str, int)
    s, i = args
    if i < 0 or i > len(s):
        raise _out_of_range(i)
    return str(s[i]) if i < len(s) else ""


def index_of(*args: Any) -> int:
    if len(args) == 2:
        _need("indexOf", args, str, str)
        s, sub, offset = args[0], args[1], 0
    else:
        _need("indexOf", args, str, str, int)
        s, sub, offset = args
    if sub == "":
        return int(offset)
    if offset < 0 or offset >= len(s):
        raise _out_of_range(offset)
    return int(s.find(sub, offset))


def last_index_of(*args: Any) -> int:
    if len(args) == 2:
        _need("lastIndexOf", args, str, str)
        s, sub = args
        if sub == "":
            return len(s)
        offset = len(s) - 1
    else:
        _need("lastIndexOf", args, str, str, int)
        s, sub, offset = args
        if sub == "":
            return int(offset)
    if offset < 0 or offset >= len(s):
        raise _out_of_range(offset)
    return int(s.rfind(sub, 0, offset + len(sub)))


def _ascii_map(s: str, upper: bool) -> str:
    return "".join((c.upper() if upper else c.lower()) if c.isascii() else c for c in s)


def lower_ascii(*args: Any) -> str:
    _need("lowerAscii", args, str)
    return _ascii_map(args[0], upper=False)


def upper_ascii(*args: Any) -> str:
    _need("upperAscii", args, str)
    return _ascii_map(args[0], upper=True)


def replace(*args: Any) -> str:
    if len(args) == 3:
        _need("replace", args, str, str, str)
        s, old, new, n = *args, -1
    else:
        _need("replace", args, str, str, str, int)
        s, old, new, n = args
    if n == 0:
        return str(s)
    if old == "":
        # Go inserts the replacement before every code point and at the end.
        slots = len(s) + 1
        limit = slots if n < 0 else min(n, slots)
        pieces = [new + c for c in s[:limit]]
        tail = s[limit:]
        return "".join(pieces) + str(new if limit == slots else tail)
    return str(s.replace(old, new, n if n > 0 else -1))


def split(*args: Any) -> list[str]:
    if len(args) == 2:
        _need("split", args, str, str)
        s, sep, n = *args, -1
    else:
        _need("split", args, str, str, int)
        s, sep, n = args
    if n == 0:
        return []
    if sep == "":
        chars = list(s)
        if 0 < n < len(chars):
            return [*chars[: n - 1], "".join(chars[n - 1 :])]
        return chars
    return list(s.split(sep, n - 1 if n > 0 else -1))


def substring(*args: Any) -> str:
    if len(args) == 2:
        _need("substring", args, str, int)
        s, start = args
        end = len(s)
    else:
        _need("substring", args, str, int, int)
        s, start, end = args
        if start > end:
            raise EvalError(f"invalid substring range. start: {start}, end: {end}")
    if start < 0 or start > len(s):
        raise _out_of_range(start)
    if end < 0 or end > len(s):
        raise _out_of_range(end)
    return str(s[start:end])


def trim(*args: Any) -> str:
    _need("trim", args, str)
    return str(args[0].strip(_GO_SPACE))


def join(*args: Any) -> str:
    if type(args[0]) is not list or (len(args) == 2 and type(args[1]) is not str) or len(args) > 2:
        raise NoSuchOverload("join", *args)
    for elem in args[0]:
        if type(elem) is not str:
            raise EvalError(f"join: invalid input: {elem}")
    return (args[1] if len(args) == 2 else "").join(args[0])


_QUOTE = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
          "\\": "\\\\", '"': '\\"'}  # fmt: skip


def quote(*args: Any) -> str:
    _need("strings.quote", args, str)
    return '"' + "".join(_QUOTE.get(c, c) for c in args[0]) + '"'


def _len_cost(*args: Any) -> int:
    return sum(len(a) for a in args if isinstance(a, str)) // 10


define("charAt", char_at, "<string>.charAt(int) -> string", cost=_len_cost)
define(
    "indexOf",
    index_of,
    "<string>.indexOf(string) -> int",
    "<string>.indexOf(string, int) -> int",
    cost=_len_cost,
)
define("lastIndexOf", last_index_of, "<string>.lastIndexOf(string) -> int",
       "<string>.lastIndexOf(string, int) -> int", cost=_len_cost)  # fmt: skip
define("lowerAscii", lower_ascii, "<string>.lowerAscii() -> string", cost=_len_cost)
define("upperAscii", upper_ascii, "<string>.upperAscii() -> string", cost=_len_cost)
define("replace", replace, "<string>.replace(string, string) -> string",
       "<string>.replace(string, string, int) -> string", cost=_len_cost)  # fmt: skip
define("split", split, "<string>.split(string) -> list(string)", "<string>.split(string, int) -> list(string)",
       cost=_len_cost)  # fmt: skip
define("substring", substring, "<string>.substring(int) -> string", "<string>.substring(int, int) -> string",
       cost=_len_cost)  # fmt: skip
define("trim", trim, "<string>.trim() -> string", cost=_len_cost)
define("join", join, "<list(string)>.join() -> string", "<list(string)>.join(string) -> string")
define("strings.quote", quote, "strings.quote(string) -> string", cost=_len_cost)

from kybernetes.cel.stdlib import ext_format  # noqa: E402,F401  (registers "format")
