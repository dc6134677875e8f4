"""What a CEL rule of a custom resource sees: declared types from the schema, values from the object.

``x-kubernetes-validations`` rules are type-checked against the structural schema of the node
they sit on, the way upstream's apiextensions builds its declared types:

- ``object`` with ``additionalProperties`` -> ``map(string, V)``; with ``properties`` -> an
  object type whose fields are the (escaped) property names; an object without either is an
  object type with no fields (``x-kubernetes-preserve-unknown-fields`` adds nothing to check);
- ``array`` -> ``list(E)``; ``integer`` -> int, ``number`` -> double, ``boolean`` -> bool;
- ``string`` -> string, except formats ``byte`` (bytes), ``duration`` (duration), ``date`` and
  ``date-time`` (timestamp);
- ``x-kubernetes-int-or-string`` -> dyn; a schema without a type -> no CEL type at all (the field
  is invisible to rules);
- the root of a resource and every ``x-kubernetes-embedded-resource`` always has ``apiVersion``,
  ``kind`` and ``metadata`` with ``name`` and ``generateName`` (and only those metadata fields).

Property names that are not CEL identifiers are escaped as upstream does (``foo-bar`` ->
``foo__dash__bar``, ``namespace`` -> ``__namespace__``); names that cannot be escaped are
left out. ``to_cel_value`` converts a (pruned, defaulted) JSON value the same way: escaped
keys, formatted strings as bytes/duration/timestamp, integers of ``number`` fields as doubles.
Each object type gets a name from its schema path, so ``self == oldSelf`` type-checks while
two different objects do not.

Every declared type also carries upstream's size bound for static cost estimation
(``Type.max_size``): maxItems/maxProperties, maxLength (x4: characters may take 4 bytes),
the longest enum value, fixed lengths for date/date-time/duration, and otherwise as many of
the smallest values as fit in a 3 MiB request (``min_serialized_size``); numbers, booleans and
objects have 0, as upstream's estimator answers for them.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from kybernetes import cel
from kybernetes.cel.lexer import NOT_IDENTIFIERS

Schema = dict[str, Any]

EMBEDDED = "x-kubernetes-embedded-resource"
INT_OR_STRING = "x-kubernetes-int-or-string"

_ESCAPES = {"__": "__underscores__", ".": "__dot__", "-": "__dash__", "/": "__slash__"}
_ESCAPE_TOKEN = re.compile(r"__|[./-]|[^A-Za-z0-9_]")


def escape_name(name: str) -> str | None:
    """The CEL field name of a property, or None when it has none (leading digit, odd chars)."""
    if not name or name[0].isdigit():
        return None
    if name in NOT_IDENTIFIERS:  # reachable as __name__
        return f"__{name}__"
    ok = True

    def sub(m: re.Match[str]) -> str:
        nonlocal ok
        token = m.group(0)
        if token in _ESCAPES:
            return _ESCAPES[token]
        ok = False
        return ""

    escaped = _ESCAPE_TOKEN.sub(sub, name)
    return escaped if ok else None


def with_type_and_object_meta(schema: Schema) -> Schema:
    """The schema as rules at a resource root see it: apiVersion and kind strings, metadata with
    only name and generateName."""
    props = dict(schema.get("properties") or {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "generateName": {"type": "string"}},
    }
    return dict(schema, type="object", properties=props)


# --- size bounds for cost estimation (upstream's DeclType MaxElements and MinSerializedSize) ----

MAX_REQUEST_SIZE_BYTES = 3 * 1024 * 1024
_LONGEST_STRING = MAX_REQUEST_SIZE_BYTES - 2  # a string filling a request, less its quotes
_FORMAT_MAX_LENGTH = {"duration": 32, "date": 12, "date-time": 32}
_FORMAT_MIN_SIZE = {"byte": 2, "duration": 3, "date": 12, "date-time": 21}
_MAP_KEY = cel.sized(cel.STRING, 0)  # upstream's key declaration carries no bound: size 0


def _bound(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return max(value, 0)
    return None


def min_serialized_size(schema: Schema, *, resource_root: bool = False) -> int:
    """The fewest JSON bytes a value of `schema` can take (a required property without a
    default counts with its name, quotes and separators)."""
    if schema.get(INT_OR_STRING):
        return 1
    if resource_root:
        schema = with_type_and_object_meta(schema)
    t = schema.get("type")
    if t == "object" and not isinstance(schema.get("additionalProperties"), dict):
        required = set(schema.get("required") or [])
        size = 2
        for prop, sub in (schema.get("properties") or {}).items():
            if not (prop in required and isinstance(sub, dict) and "default" not in sub):
                continue
            embedded = bool(sub.get(EMBEDDED))
            if schema_type(sub, resource_root=embedded) is not None:
                size += len(prop) + min_serialized_size(sub, resource_root=embedded) + 4
        return size
    if t in ("object", "array"):
        return 2
    if t == "string":
        return _FORMAT_MIN_SIZE.get(str(schema.get("format")), 2)
    if t == "boolean":
        return 4
    return 1


def _string_max_length(schema: Schema) -> int:
    fmt = schema.get("format")
    if fmt in _FORMAT_MAX_LENGTH:
        return _FORMAT_MAX_LENGTH[fmt]
    max_length = _bound(schema.get("maxLength"))
    if fmt == "byte":
        return max_length if max_length is not None else _LONGEST_STRING
    if max_length is not None:
        return max_length * 4  # maxLength counts characters; a character is up to 4 bytes
    enum = [e for e in schema.get("enum") or [] if isinstance(e, str)]
    if schema.get("enum"):
        return max((len(e.encode()) for e in enum), default=0)
    return _LONGEST_STRING


def _string_type(fmt: Any) -> cel.Type:
    if fmt == "byte":
        return cel.BYTES
    if fmt == "duration":
        return cel.DURATION
    if fmt in ("date", "date-time"):
        return cel.TIMESTAMP
    return cel.STRING


def schema_type(schema: Schema | None, *, resource_root: bool = False, name: str = "self") -> cel.Type | None:
    """The declared CEL type of values of `schema` (None: not visible to rules)."""
    if not isinstance(schema, dict):
        return None
    if schema.get(INT_OR_STRING):
        max_length = _bound(schema.get("maxLength"))
        return cel.sized(cel.DYN, max_length * 4 if max_length is not None else _LONGEST_STRING)
    if resource_root:
        schema = with_type_and_object_meta(schema)
    t = schema.get("type")
    if t == "array":
        items = schema.get("items")
        if not isinstance(items, dict):
            return None
        embedded = bool(items.get(EMBEDDED))
        elem = schema_type(items, resource_root=embedded, name=name + "[@items]")
        if elem is None:
            return None
        max_items = _bound(schema.get("maxItems"))
        if max_items is None:
            max_items = _LONGEST_STRING // (min_serialized_size(items, resource_root=embedded) + 1)
        return cel.ListType(elem, max_items=max_items)
    if t == "object":
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            embedded = bool(additional.get(EMBEDDED))
            value = schema_type(additional, resource_root=embedded, name=name + "[@values]")
            if value is None:
                return None
            max_props = _bound(schema.get("maxProperties"))
            if max_props is None:
                max_props = _LONGEST_STRING // (min_serialized_size(additional, resource_root=embedded) + 6)
            return cel.MapType(_MAP_KEY, value, max_properties=max_props)
        fields: dict[str, cel.Type] = {}
        for prop, sub in (schema.get("properties") or {}).items():
            if not isinstance(sub, dict):
                continue
            escaped = escape_name(prop)
            if escaped is None:
                continue
            ft = schema_type(sub, resource_root=bool(sub.get(EMBEDDED)), name=f"{name}.{escaped}")
            if ft is not None:
                fields[escaped] = ft
        return cel.ObjectType(name, fields, max_size=0)
    if t == "string":
        return cel.sized(_string_type(schema.get("format")), _string_max_length(schema))
    if t == "integer":
        return _SIZELESS_INT
    if t == "number":
        return _SIZELESS_DOUBLE
    if t == "boolean":
        return _SIZELESS_BOOL
    return None


# Upstream's size estimator answers 0 for a declared number or boolean (no MaxElements).
_SIZELESS_INT = cel.sized(cel.INT, 0)
_SIZELESS_DOUBLE = cel.sized(cel.DOUBLE, 0)
_SIZELESS_BOOL = cel.sized(cel.BOOL, 0)


# --- values ------------------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}


def parse_duration(text: str) -> dt.timedelta:
    """A Go-style duration (``1h30m``, ``-1.5s``, ``300ms``; ``d`` and ``w`` as OpenAPI allows)."""
    s = text.strip()
    sign = 1.0
    if s and s[0] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if not s:
        raise ValueError(f"invalid duration {text!r}")
    if s == "0":
        return dt.timedelta(0)
    pos = 0
    total = 0.0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None:
            raise ValueError(f"invalid duration {text!r}")
        total += float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    return dt.timedelta(seconds=sign * total)


def parse_timestamp(text: str, fmt: str) -> dt.datetime:
    if fmt == "date":
        d = dt.date.fromisoformat(text)
        return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _string_value(value: str, fmt: Any) -> Any:
    try:
        if fmt == "byte":
            return base64.b64decode(value, validate=True)
        if fmt == "duration":
            return parse_duration(value)
        if fmt in ("date", "date-time"):
            return parse_timestamp(value, fmt)
    except (ValueError, binascii.Error):
        return value  # structural validation reports the bad format; the rule sees the text
    return value


def to_cel_value(value: Any, schema: Schema | None, *, resource_root: bool = False) -> Any:
    """`value` (JSON) as the CEL evaluator expects it for `schema` (a new value; the input is
    not changed)."""
    if value is None or not isinstance(schema, dict):
        return value
    if schema.get(INT_OR_STRING):
        return value
    if resource_root:
        schema = with_type_and_object_meta(schema)
    t = schema.get("type")
    if isinstance(value, dict):
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            embedded = bool(additional.get(EMBEDDED))
            return {k: to_cel_value(v, additional, resource_root=embedded) for k, v in value.items()}
        props: dict[str, Schema] = schema.get("properties") or {}
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = props.get(k)
            if isinstance(sub, dict):
                escaped = escape_name(k)
                if escaped is not None:
                    out[escaped] = to_cel_value(v, sub, resource_root=bool(sub.get(EMBEDDED)))
            elif preserve:
                out[k] = v  # kept for equality; undeclared, so no rule can name it
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            embedded = bool(items.get(EMBEDDED))
            return [to_cel_value(v, items, resource_root=embedded) for v in value]
        return list(value)
    if t == "string" and isinstance(value, str):
        return _string_value(value, schema.get("format"))
    if t == "number" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if t == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value
