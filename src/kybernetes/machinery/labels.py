"""Label selectors, as the API defines them.

Two forms reach the server: the string form of ``?labelSelector=`` (``a=b,c in (x,y),!d``)
and the structured ``metav1.LabelSelector`` inside objects (``matchLabels`` and
``matchExpressions``). Both become a `Selector`: an AND of `Requirement`s, sorted by key.

The grammar, the key/value syntax checks and every error text follow upstream's
k8s.io/apimachinery ``labels`` package as of Kubernetes 1.32, because clients show those texts
verbatim (``Error from server (BadRequest): unable to parse requirement: ...``).

Facts worth remembering:
  * ``!=`` and ``notin`` also match objects that lack the key; ``=``, ``in``, ``gt``, ``lt``
    need it.
  * a parsed selector's values are de-duplicated and sorted; ``str()`` prints requirements
    sorted by key, values sorted.
  * ``selector_from_label_selector(None)`` matches nothing; ``{}`` matches everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kybernetes.machinery import _gofmt
from kybernetes.machinery.errors import bad_request

# Operators, spelled as upstream's selection.Operator values.
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
IN = "in"
NOT_IN = "notin"
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
_ALL_OPERATORS = (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST)

# --- key and value syntax (upstream: IsQualifiedName / IsValidLabelValue) -------------------

_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE = re.compile(_NAME_FMT)
_NAME_MSG = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
_NAME_EXAMPLES = ("MyName", "my.name", "123-abc")
_VALUE_FMT = "(" + _NAME_FMT + ")?"
_VALUE_RE = re.compile(_VALUE_FMT)
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_DNS_SUBDOMAIN_RE = re.compile(_DNS_SUBDOMAIN_FMT)
_DNS_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
_MAX_NAME = 63
_MAX_SUBDOMAIN = 253


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    # Upstream's wording, double spaces included.
    return msg + " (e.g. " + " or ".join(f"'{e}', " for e in examples) + f"regex used for validation is '{fmt}')"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def _blen(s: str) -> int:
    return len(s.encode())


def key_errors(key: str) -> list[str]:
    """Why `key` is not a valid label key (a qualified name); empty when it is."""
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in _subdomain_errors(prefix))
    else:
        return [
            "a qualified name "
            + _regex_error(_NAME_MSG, _NAME_FMT, *_NAME_EXAMPLES)
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part must be non-empty")
    elif _blen(name) > _MAX_NAME:
        errs.append("name part " + _max_len_error(_MAX_NAME))
    if not _NAME_RE.fullmatch(name):
        errs.append("name part " + _regex_error(_NAME_MSG, _NAME_FMT, *_NAME_EXAMPLES))
    return errs


def _subdomain_errors(s: str) -> list[str]:
    errs: list[str] = []
    if _blen(s) > _MAX_SUBDOMAIN:
        errs.append(_max_len_error(_MAX_SUBDOMAIN))
    if not _DNS_SUBDOMAIN_RE.fullmatch(s):
        errs.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errs


def value_errors(value: str) -> list[str]:
    """Why `value` is not a valid label value; empty when it is."""
    errs: list[str] = []
    if _blen(value) > _MAX_NAME:
        errs.append(_max_len_error(_MAX_NAME))
    if not _VALUE_RE.fullmatch(value):
        errs.append(_regex_error(_VALUE_MSG, _VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# Field-path rendering as upstream's field.Error does it: "<path>: Invalid value: <v>: <detail>".
def _invalid(path: str, bad: str, detail: str) -> str:
    return f"{path}: Invalid value: {bad}: {detail}"


def _aggregate(msgs: list[str]) -> str:
    uniq: list[str] = []
    for m in msgs:
        if m not in uniq:
            uniq.append(m)
    return uniq[0] if len(uniq) == 1 else "[" + ", ".join(uniq) + "]"


def _parse_int64(s: str) -> int | None:
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One condition on one key. `values` keeps the order given (parsed ones are sorted)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return self.key in labels and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return self.key not in labels or labels[self.key] not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op in (GREATER_THAN, LESS_THAN):
            if self.key not in labels or len(self.values) != 1:
                return False
            have, want = _parse_int64(labels[self.key]), _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        head = ("!" if op == DOES_NOT_EXIST else "") + self.key
        if op in (EXISTS, DOES_NOT_EXIST):
            return head
        sym = {EQUALS: "=", DOUBLE_EQUALS: "==", NOT_EQUALS: "!=", IN: " in ", NOT_IN: " notin ",
               GREATER_THAN: ">", LESS_THAN: "<"}.get(op, "")
        vals = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op in (IN, NOT_IN):
            vals = f"({vals})"
        return head + sym + vals


@dataclass(frozen=True, slots=True)
class Selector:
    """An AND of requirements. `nothing` is upstream's ``labels.Nothing()``: matches no object."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        ls = labels or {}
        return all(r.matches(ls) for r in self.requirements)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (matches every object)."""
        return not self.nothing and not self.requirements

    def requires_exact_match(self, key: str) -> str | None:
        """The single value `key` must have (``=``, ``==`` or a one-value ``in``), else None.
        Like upstream, only the first requirement on `key` is consulted."""
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def _sorted(reqs: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(sorted(reqs, key=lambda r: r.key))


def _check_requirement(key: str, op: str, values: list[str] | None, nil_values: bool = False) -> list[str]:
    """Upstream NewRequirement's checks; returns the error messages (field path rooted at the
    requirement: ``key``, ``values``, ``values[i][key]``)."""
    errs: list[str] = []
    kerrs = key_errors(key)
    if kerrs:
        errs.append(_invalid("key", _gofmt.quote(key), "; ".join(kerrs)))
    vals = values or []
    shown = _gofmt.string_slice(None if nil_values else vals)
    if op in (IN, NOT_IN):
        if not vals:
            errs.append(_invalid("values", shown, "for 'in', 'notin' operators, values set can't be empty"))
    elif op in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(_invalid("values", shown, "exact-match compatibility requires one single value"))
    elif op in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(_invalid("values", shown, "values set must be empty for exists and does not exist"))
    elif op in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(_invalid("values", shown, "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(_invalid(f"values[{i}]", _gofmt.quote(v), "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(_gofmt.quote(o) for o in _ALL_OPERATORS)
        errs.append(f"operator: Unsupported value: {_gofmt.quote(op)}: supported values: {supported}")
    for i, v in enumerate(vals):
        verrs = value_errors(v)
        if verrs:
            errs.append(_invalid(f"values[{i}][{key}]", _gofmt.quote(v), "; ".join(verrs)))
    return errs


# --- the string form ------------------------------------------------------------------------

# Token kinds.
_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _IDENT, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_TOKENS = {")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "in": _IN,
           "<": _LT, "!=": _NEQ, "notin": _NOTIN, "(": _OPEN}
_SPECIAL = frozenset("=!(),><")
_SPACE = frozenset(" \t\r\n")


def _lex(text: str) -> list[tuple[int, str]]:
    """Split the selector into tokens the way upstream's lexer does (byte-wise; a NUL ends
    the input, as it does there)."""
    out: list[tuple[int, str]] = []
    s, n, pos = text, len(text), 0
    while True:
        while pos < n and s[pos] in _SPACE:
            pos += 1
        if pos >= n or s[pos] == "\0":
            out.append((_EOS, ""))
            return out
        if s[pos] in _SPECIAL:
            # Longest run of special characters that still forms a known operator.
            buf, best, best_end = "", None, pos
            i = pos
            while i < n and s[i] in _SPECIAL:
                buf += s[i]
                if buf in _TOKENS:
                    best, best_end = (_TOKENS[buf], buf), i + 1
                elif best is not None:
                    break
                i += 1
            if best is None:
                out.append((_ERROR, f"error expected: keyword found '{buf}'"))
                pos = i
            else:
                out.append(best)
                pos = best_end
            continue
        start = pos
        while pos < n and s[pos] not in _SPECIAL and s[pos] not in _SPACE and s[pos] != "\0":
            pos += 1
        word = s[start:pos]
        out.append((_TOKENS.get(word, _IDENT), word))


class _ParseError(Exception):
    pass


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = _lex(text)
        self.pos = 0

    # In "values" context the words in/notin are plain identifiers.
    def peek(self, values: bool = True) -> tuple[int, str]:
        tok, lit = self.items[self.pos]
        if values and tok in (_IN, _NOTIN):
            tok = _IDENT
        return tok, lit

    def take(self, values: bool = True) -> tuple[int, str]:
        tok, lit = self.peek(values)
        self.pos += 1
        return tok, lit

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            tok, lit = self.peek()
            if tok in (_IDENT, _NOT):
                try:
                    reqs.append(self.requirement())
                except _ParseError as e:
                    raise _ParseError(f"unable to parse requirement: {e}") from None
                t, lit2 = self.take()
                if t == _EOS:
                    return reqs
                if t == _COMMA:
                    t2, l2 = self.peek()
                    if t2 not in (_IDENT, _NOT):
                        raise _ParseError(f"found '{l2}', expected: identifier after ','")
                else:
                    raise _ParseError(f"found '{lit2}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return reqs
            else:
                raise _ParseError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def requirement(self) -> Requirement:
        key, op = self.key_and_operator()
        if op in (EXISTS, DOES_NOT_EXIST):
            return _new_requirement(key, op, [])
        op = self.operator()
        values = self.value_set() if op in (IN, NOT_IN) else self.exact_value()
        return _new_requirement(key, op, sorted(values))

    def key_and_operator(self) -> tuple[str, str]:
        op = ""
        tok, lit = self.take()
        if tok == _NOT:
            op = DOES_NOT_EXIST
            tok, lit = self.take()
        if tok != _IDENT:
            raise _ParseError(f"found '{lit}', expected: identifier")
        kerrs = key_errors(lit)
        if kerrs:
            # The parser checks the key before building the requirement, with no field path.
            raise _ParseError(_invalid("<nil>", _gofmt.quote(lit), "; ".join(kerrs)))
        if self.peek()[0] in (_EOS, _COMMA) and op != DOES_NOT_EXIST:
            op = EXISTS
        return lit, op

    def operator(self) -> str:
        tok, lit = self.take(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
               _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise _ParseError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def value_set(self) -> set[str]:
        tok, lit = self.take()
        if tok != _OPEN:
            raise _ParseError(f"found '{lit}' expected: '('")
        tok, lit = self.peek()
        if tok in (_IDENT, _COMMA):
            values = self.identifiers()
            if self.take()[0] != _CLOSE:
                raise _ParseError(f"found '{lit}', expected: ')'")
            return values
        if tok == _CLOSE:
            self.take()
            return {""}
        raise _ParseError(f"found '{lit}', expected: ',', ')' or identifier")

    def identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self.take()
            if tok == _IDENT:
                values.add(lit)
                tok2, lit2 = self.peek()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise _ParseError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:
                # Empty members: "(,a", "a,,b", "a,)" each contribute the empty value.
                if not values:
                    values.add("")
                tok2 = self.peek()[0]
                if tok2 == _CLOSE:
                    values.add("")
                    return values
                if tok2 == _COMMA:
                    values.add("")
            else:
                raise _ParseError(f"found '{lit}', expected: ',', or identifier")

    def exact_value(self) -> set[str]:
        tok = self.peek()[0]
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self.take()
        if tok == _IDENT:
            return {lit}
        raise _ParseError(f"found '{lit}', expected: identifier")


def _new_requirement(key: str, op: str, values: list[str]) -> Requirement:
    errs = _check_requirement(key, op, values)
    if errs:
        raise _ParseError(_aggregate(errs))
    return Requirement(key, op, tuple(values))


def parse_selector(text: str) -> Selector:
    """Parse the ``labelSelector`` query form. Raises a 400 BadRequest StatusError with
    upstream's message when the text is not a valid selector."""
    try:
        reqs = _Parser(text).parse()
    except _ParseError as e:
        raise bad_request(str(e)) from None
    return Selector(_sorted(reqs))


def selector_from_set(labels: Mapping[str, str] | None) -> Selector:
    """A selector requiring exactly these labels (``key=value`` each); empty/None → everything.
    No validation, as upstream's SelectorFromSet."""
    if not labels:
        return EVERYTHING
    return Selector(_sorted(Requirement(k, EQUALS, (v,)) for k, v in labels.items()))


_LS_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def selector_from_label_selector(ls: Mapping[str, Any] | None) -> Selector:
    """Convert a structured ``metav1.LabelSelector`` (upstream LabelSelectorAsSelector).

    None → matches nothing; no matchLabels and no matchExpressions → matches everything.
    Invalid content raises a 400 BadRequest StatusError carrying upstream's message; callers
    that validate objects usually want to report it as a field error instead.
    """
    if ls is None:
        return NOTHING
    match_labels: Mapping[str, Any] = ls.get("matchLabels") or {}
    exprs: list[Any] = ls.get("matchExpressions") or []
    if not match_labels and not exprs:
        return EVERYTHING
    reqs: list[Requirement] = []
    for k, v in match_labels.items():
        value = "" if v is None else str(v)
        errs = _check_requirement(k, EQUALS, [value])
        if errs:
            raise bad_request(_aggregate(errs))
        reqs.append(Requirement(k, EQUALS, (value,)))
    for expr in exprs:
        expr = expr or {}
        raw_op = expr.get("operator") or ""
        op = _LS_OPERATORS.get(raw_op)
        if op is None:
            raise bad_request(f"{_gofmt.quote(str(raw_op))} is not a valid pod selector operator")
        key = str(expr.get("key") or "")
        raw_values = expr.get("values")
        values = [str(v) for v in raw_values] if raw_values else []
        errs = _check_requirement(key, op, values, nil_values=not raw_values)
        if errs:
            raise bad_request(_aggregate(errs))
        reqs.append(Requirement(key, op, tuple(values)))
    return Selector(_sorted(reqs))

