"""RE2 patterns on Python's ``re``, and Kubernetes' regex library (find, findAll).

CEL specifies RE2. Python's engine is a superset in most ways (backreferences, lookaround,
possessive quantifiers) and differs in a few (``$`` also matches before a final newline,
``\\z`` is spelled ``\\Z``, no POSIX classes). ``compile_re2`` translates what maps one to one
and rejects constructs RE2 would reject, so an expression accepted here behaves as in cel-go —
and a pattern cannot smuggle in backtracking-only features.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.values import NoSuchOverload

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z", "print": " -~",
    "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ", "upper": "A-Z", "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}  # fmt: skip
_REJECTED_GROUPS = ("(?=", "(?!", "(?<=", "(?<!", "(?#", "(?>", "(?(")


class RegexError(EvalError):
    pass


@functools.lru_cache(maxsize=512)
def compile_re2(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern; RegexError ("error parsing regexp: ...") when RE2 would refuse it."""
    try:
        translated = _translate(pattern)
        return re.compile(translated)
    except (re.error, ValueError) as e:
        raise RegexError(f"error parsing regexp: {e}: `{pattern}`") from None


_ASCII_CLASSES: dict[str, tuple[str, str | None]] = {
    "d": ("[0-9]", "0-9"),
    "D": ("[^0-9]", None),
    "w": ("[0-9A-Za-z_]", "0-9A-Za-z_"),
    "W": ("[^0-9A-Za-z_]", None),
    "s": ("[\\t\\n\\f\\r ]", "\\t\\n\\f\\r "),
    "S": ("[^\\t\\n\\f\\r ]", None),
    "b": ("(?a:\\b)", None),
    "B": ("(?a:\\B)", None),
}
_LETTER, _NOT_LETTER = "[^\\W\\d_]", "[\\W\\d_]"


def _unicode_class(p: str, i: int, in_class: bool) -> tuple[str, int]:
    """\\pL / \\p{L} (letters) and their negations; other Unicode classes have no ``re`` form."""
    negate = p[i + 1] == "P"
    if p.startswith("{", i + 2):
        end = p.find("}", i + 2)
        name, nxt = p[i + 3 : end], end + 1
    else:
        name, nxt = p[i + 2 : i + 3], i + 3
    if name.startswith("^"):
        negate, name = not negate, name[1:]
    if name != "L" or in_class:
        raise ValueError(f"unsupported Unicode class: {p[i:nxt]}")
    return (_NOT_LETTER if negate else _LETTER), nxt


def _translate(p: str) -> str:
    multiline = re.search(r"\(\?[a-zA-Z]*m", p) is not None
    out: list[str] = []
    i, n = 0, len(p)
    in_class = False
    while i < n:
        ch = p[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError("trailing backslash at end of expression")
            nxt = p[i + 1]
            if nxt.isdigit() and nxt != "0":
                raise ValueError(f"invalid escape sequence: \\{nxt}")
            if nxt in "pP":
                piece, i = _unicode_class(p, i, in_class)
                out.append(piece)
                continue
            if nxt == "Z" or nxt == "C" or nxt == "G":
                raise ValueError(f"invalid escape sequence: \\{nxt}")
            if nxt in _ASCII_CLASSES:
                # RE2's Perl classes are ASCII-only; the pattern itself runs in Unicode mode
                # so that (?i) and \pL behave as in RE2.
                out.append((_ASCII_CLASSES[nxt][1] or p[i : i + 2]) if in_class else _ASCII_CLASSES[nxt][0])
            elif nxt == "z":
                out.append("\\Z")
            elif nxt == "Q":
                end = p.find("\\E", i + 2)
                literal = p[i + 2 :] if end < 0 else p[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                continue
            else:
                out.append(p[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "[" and p.startswith("[:", i):
                end = p.find(":]", i + 2)
                name = p[i + 2 : end] if end > 0 else ""
                negated = name.startswith("^")
                ranges = _POSIX.get(name.lstrip("^"))
                if ranges is None or negated:
                    raise ValueError(f"invalid character class range: {p[i : end + 2]}")
                out.append(ranges)
                i = end + 2
                continue
            if ch == "]":
                in_class = False
            elif ch == "[":
                out.append("\\[")
                i += 1
                continue
            out.append(ch)
            i += 1
            continue
        if ch == "[":
            in_class = True
            out.append(ch)
            i += 1
            if i < n and p[i] == "^":
                out.append("^")
                i += 1
            if i < n and p[i] == "]":
                out.append("\\]")
                i += 1
            continue
        if ch == "(":
            if any(p.startswith(g, i) for g in _REJECTED_GROUPS):
                raise ValueError(f"invalid or unsupported Perl syntax: `{p[i : i + 3]}`")
            if p.startswith("(?<", i):
                out.append("(?P<")
                i += 3
                continue
            if p.startswith("(?", i) and not p.startswith("(?P<", i) and not p.startswith("(?:", i):
                flags = re.match(r"\(\?([a-zA-Z-]*)[:)]", p[i:])
                if flags is None or any(f not in "imsU-" for f in flags.group(1)):
                    raise ValueError(f"invalid or unsupported Perl syntax: `{p[i : i + 3]}`")
                if "U" in flags.group(1):
                    raise ValueError("ungreedy flag (?U) is not supported")
        if ch in "*+?}" and i + 1 < n and p[i + 1] in "+*" and not (ch == "}" and p[i - 1 : i] == "\\"):
            raise ValueError(f"invalid nested repetition operator: `{p[i : i + 2]}`")
        if ch == "$" and not multiline:
            out.append("\\Z")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def find(s: Any, pattern: Any) -> str:
    if type(s) is not str or type(pattern) is not str:
        raise NoSuchOverload("find", s, pattern)
    m = compile_re2(pattern).search(s)
    return m.group(0) if m is not None else ""


def find_all(s: Any, pattern: Any, limit: Any = -1) -> list[str]:
    if type(s) is not str or type(pattern) is not str or type(limit) is not int:
        raise NoSuchOverload("findAll", s, pattern, limit)
    if limit == 0:
        return []
    found: list[str] = []
    for m in compile_re2(pattern).finditer(s):
        found.append(m.group(0))
        if len(found) == limit:
            break
    return found


def _regex_cost(s: Any, pattern: Any = "", *_: Any) -> int:
    return (len(s) if isinstance(s, str) else 0) * (len(pattern) if isinstance(pattern, str) else 1) // 10


define("find", find, "<string>.find(string) -> string", cost=_regex_cost)
define("findAll", find_all, "<string>.findAll(string) -> list(string)",
       "<string>.findAll(string, int) -> list(string)", cost=_regex_cost)  # fmt: skip
