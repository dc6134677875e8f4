"""Field selectors (``?fieldSelector=``), as upstream's k8s.io/apimachinery ``fields`` package.

A field selector is a comma-separated AND of ``name=value``, ``name==value`` or
``name!=value`` terms. Values may escape ``\\``, ``,`` and ``=`` with a backslash; names may
not (the first operator in a term splits it). Terms are sorted before use, so ``str()`` of a
parsed selector is canonical.

Matching works on a flat ``{field name: string value}`` map that the caller builds per kind
(e.g. ``{"metadata.name": ..., "status.phase": ...}``); a field missing from the map reads as
``""``, as upstream's ``fields.Set.Get`` does.

Which names a kind supports is the caller's knowledge; `check_supported` turns an unsupported
name into the 400 BadRequest upstream returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kybernetes.machinery.errors import StatusError, bad_request

EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="

# Checked in this order at each position: "!=" and "==" before "=" so that no "=" is left
# at the start of the value.
_OPERATORS = (NOT_EQUALS, DOUBLE_EQUALS, EQUALS)

# What upstream's default conversion accepts for kinds without their own field-label list.
DEFAULT_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def matches(self, fields: Mapping[str, str]) -> bool:
        have = fields.get(self.field, "")
        return have != self.value if self.operator == NOT_EQUALS else have == self.value

    def __str__(self) -> str:
        # Upstream prints both "=" and "==" as "=".
        op = "!=" if self.operator == NOT_EQUALS else "="
        return f"{self.field}{op}{escape_value(self.value)}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all(r.matches(fields) for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements

    def fields(self) -> list[str]:
        """The field names used, in selector order, without repeats."""
        seen: list[str] = []
        for r in self.requirements:
            if r.field not in seen:
                seen.append(r.field)
        return seen

    def requires_exact_match(self, field: str) -> str | None:
        """The value `field` must equal (first ``=``/``==`` term on it), else None."""
        for r in self.requirements:
            if r.field == field and r.operator != NOT_EQUALS:
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = FieldSelector()


def escape_value(value: str) -> str:
    """Escape a literal for use as a field selector value."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(raw: str) -> str:
    """Undo `escape_value`; raises 400 BadRequest (upstream's texts) on a bad sequence or an
    unescaped ``,``/``=``."""
    if not any(c in raw for c in "\\,="):
        return raw
    out: list[str] = []
    in_slash = False
    for c in raw:
        if in_slash:
            if c not in "\\,=":
                raise bad_request(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            # Upstream prints the rune with %v, i.e. as its code point number.
            raise bad_request(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise bad_request("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms: list[str] = []
    start, in_slash = 0, False
    for i, c in enumerate(text):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def parse_field_selector(text: str) -> FieldSelector:
    """Parse the ``fieldSelector`` query form; 400 BadRequest on malformed input."""
    reqs: list[FieldRequirement] = []
    for part in sorted(_split_terms(text)):
        if part == "":
            continue
        split = _split_term(part)
        if split is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        lhs, op, rhs = split
        reqs.append(FieldRequirement(lhs, op, unescape_value(rhs)))
    return FieldSelector(tuple(reqs))


def selector_from_set(fields: Mapping[str, str] | None) -> FieldSelector:
    """``name=value`` for each pair (sorted); empty/None → everything."""
    if not fields:
        return EVERYTHING
    return FieldSelector(tuple(FieldRequirement(k, EQUALS, v) for k, v in sorted(fields.items())))


def unsupported_field_error(name: str, supported: Iterable[str] | None = None) -> StatusError:
    """The 400 upstream returns for a field name a kind does not index.

    Kinds that declare their own field labels (pods, nodes, events, secrets, ...) answer
    ``field label not supported: <name>``; kinds without a declaration fall back to the
    generic conversion, which answers ``"<name>" is not a known field selector: only
    "metadata.name", "metadata.namespace"``. Pass ``supported=None`` for the latter.
    """
    if supported is None:
        return bad_request(f'"{name}" is not a known field selector: only "metadata.name", "metadata.namespace"')
    return bad_request(f"field label not supported: {name}")


def check_supported(selector: FieldSelector, supported: Iterable[str] | None = None, resource: str = "") -> None:
    """Raise the upstream 400 for the first (in sorted term order) unsupported field name.

    `supported`: the kind's field labels, or None for kinds without their own list (then only
    ``metadata.name`` and ``metadata.namespace`` are accepted, with the generic message).
    `resource` is accepted for the caller's convenience; upstream's text does not name it.
    """
    del resource
    allowed = frozenset(DEFAULT_FIELDS if supported is None else supported)
    for r in selector.requirements:
        if r.field not in allowed:
            raise unsupported_field_error(r.field, None if supported is None else allowed)
