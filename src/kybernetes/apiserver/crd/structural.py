"""Structural schemas of custom resources: pruning, defaulting and validation.

A CRD version's ``openAPIV3Schema`` (a plain JSON dict) describes every value of its objects.
Three pure passes use it, in upstream's order on every write:

1. ``prune`` drops object fields the schema does not declare (unless
   ``x-kubernetes-preserve-unknown-fields``) and says which, for strict field validation;
   ``apiVersion``, ``kind`` and ``metadata`` of the root and of embedded resources are kept;
2. ``apply_defaults`` fills absent (or null, non-nullable) properties from ``default``;
3. ``validate`` checks types, required fields, enums, bounds, lengths, patterns, formats,
   uniqueness and property counts, returning causes with upstream's paths and texts, e.g.
   ``spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"``.

Values of the wrong type are never pruned or defaulted into: validation reports them.
``x-kubernetes-validations`` (CEL rules) are compiled and enforced by ``celrules``/``celvalidate``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import re
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from kybernetes.machinery import validation as v
from kybernetes.machinery.errors import Cause

Obj = dict[str, Any]
Schema = dict[str, Any]

PRESERVE = "x-kubernetes-preserve-unknown-fields"
EMBEDDED = "x-kubernetes-embedded-resource"
INT_OR_STRING = "x-kubernetes-int-or-string"
_TYPE_META = ("apiVersion", "kind", "metadata")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


# --- pruning ---------------------------------------------------------------------------------------


def prune(obj: Any, schema: Schema, *, root: bool = True) -> tuple[Any, list[str]]:
    """A copy of `obj` without undeclared fields, and the paths of those fields (``spec.foo``,
    ``spec.items[0].bar``) in document order. The root's apiVersion/kind/metadata are kept."""
    unknown: list[str] = []
    out = _prune(obj, schema, "", unknown, keep_type_meta=root)
    return out, unknown


def _prune(value: Any, schema: Schema | None, path: str, unknown: list[str], *, keep_type_meta: bool = False) -> Any:
    if schema is None:
        return value
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get(PRESERVE))
        keep_meta = keep_type_meta or bool(schema.get(EMBEDDED))
        out: Obj = {}
        for k, item in value.items():
            if k in props:
                out[k] = _prune(item, props[k], _join(path, k), unknown)
            elif keep_meta and k in _TYPE_META:
                out[k] = item
            elif isinstance(additional, dict):
                out[k] = _prune(item, additional, _join(path, k), unknown)
            elif preserve or additional is True:
                out[k] = item
            else:
                unknown.append(_join(path, k))
        return out
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            return [_prune(item, items, f"{path}[{i}]", unknown) for i, item in enumerate(value)]
    return value


# --- defaulting ------------------------------------------------------------------------------------


def apply_defaults(value: Any, schema: Schema | None) -> Any:
    """`value` with defaults filled in (changes dicts and lists in place; returns the value)."""
    if schema is None:
        return value
    if isinstance(value, dict):
        props: dict[str, Schema] = schema.get("properties") or {}
        for k, sub in props.items():
            if "default" not in sub:
                continue
            if k not in value or (value[k] is None and not sub.get("nullable")):
                value[k] = copy.deepcopy(sub["default"])
        additional = schema.get("additionalProperties")
        for k, item in value.items():
            child = props.get(k)
            if child is None and isinstance(additional, dict):
                child = additional
            if child is not None:
                apply_defaults(item, child)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                apply_defaults(item, items)
    return value


def has_defaults(schema: Any) -> bool:
    if isinstance(schema, dict):
        if "default" in schema:
            return True
        return any(has_defaults(x) for k, x in schema.items() if k not in ("enum", "example", "default"))
    if isinstance(schema, list):
        return any(has_defaults(x) for x in schema)
    return False


# --- validation ------------------------------------------------------------------------------------


def json_type(value: Any) -> str:
    """The OpenAPI type name of a decoded JSON value, as upstream's messages print it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, t: str) -> bool:
    if t == "object":
        return isinstance(value, dict)
    if t == "array":
        return isinstance(value, list)
    if t == "string":
        return isinstance(value, str)
    if t == "boolean":
        return isinstance(value, bool)
    if t == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if t == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _num(x: Any) -> str:
    """A bound as Go's %v prints a float64 (1 not 1.0)."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e21:
        return str(int(x))
    return str(x)


def validate(obj: Any, schema: Schema, path: str = "") -> list[Cause]:
    """Every violation of `schema` by `obj`, paths relative to the root (``spec.replicas``)."""
    out: list[Cause] = []
    _validate(obj, schema, path, out, root=path == "")
    return out


def _in_body(path: str) -> str:
    return f"{path or 'body'} in body"


def _validate(value: Any, schema: Schema, path: str, out: list[Cause], *, root: bool = False) -> None:
    if value is None:
        if schema.get("nullable") or (not schema.get("type") and schema.get(PRESERVE)):
            return
        t = schema.get("type")
        if t:
            out.append(_type_error(path, value, t))
        return
    t = schema.get("type") or ""
    if schema.get(INT_OR_STRING):
        if not (isinstance(value, str) or _type_ok(value, "integer")):
            out.append(v.invalid(path, json_type(value),
                                 f"{_in_body(path)} must be of type integer,string: {v.go_quote(json_type(value))}"))
            return
    elif t and not _type_ok(value, t):
        out.append(_type_error(path, value, t))
        return
    _value_checks(value, schema, path, out)
    for key in ("allOf", "anyOf", "oneOf", "not"):
        if key in schema:
            _combinator(key, value, schema[key], path, out)
    if isinstance(value, dict):
        _validate_object(value, schema, path, out, root=root)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _validate(item, items, f"{path}[{i}]", out)


def _type_error(path: str, value: Any, t: str) -> Cause:
    actual = json_type(value)
    return Cause("FieldValueTypeInvalid",
                 f"Invalid value: {v.go_quote(actual)}: {_in_body(path)} must be of type {t}: {v.go_quote(actual)}",
                 path)


def _validate_object(value: Obj, schema: Schema, path: str, out: list[Cause], *, root: bool) -> None:
    props: dict[str, Schema] = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value or (value[name] is None and not (props.get(name) or {}).get("nullable")):
            if root and name in _TYPE_META:
                continue
            out.append(v.required(_join(path, name), ""))
    if schema.get(EMBEDDED):
        for name in ("apiVersion", "kind"):
            if not value.get(name):
                out.append(v.required(_join(path, name), "must not be empty"))
    additional = schema.get("additionalProperties")
    for k in sorted(value):
        if k in props:
            _validate(value[k], props[k], _join(path, k), out)
        elif isinstance(additional, dict):
            _validate(value[k], additional, _join(path, k), out)


def _combinator(key: str, value: Any, sub: Any, path: str, out: list[Cause]) -> None:
    if key == "not":
        if isinstance(sub, dict) and not validate(value, sub, path or "x"):
            out.append(v.invalid(path, value, f"{_in_body(path)} must not validate the schema (not)"))
        return
    schemas = [s for s in sub if isinstance(s, dict)] if isinstance(sub, list) else []
    results = [validate(value, s, path) for s in schemas]
    if key == "allOf":
        for r in results:
            out.extend(r)
    elif key == "anyOf":
        if results and all(results):
            out.append(v.invalid(path, value, f"{_in_body(path)} must validate at least one schema (anyOf)"))
            out.extend(results[0])
    elif key == "oneOf":
        ok = sum(1 for r in results if not r)
        if results and ok == 0:
            out.append(v.invalid(path, value, f"{_in_body(path)} must validate one and only one schema (oneOf)"))
        elif ok > 1:
            out.append(v.invalid(path, value, f"{_in_body(path)} must validate one and only one schema (oneOf). "
                                              "Found more than one valid"))


def _value_checks(value: Any, s: Schema, path: str, out: list[Cause]) -> None:
    where = _in_body(path)
    if "enum" in s and isinstance(s["enum"], list) and value not in s["enum"]:
        out.append(v.not_supported(path, value, [_enum_text(e) for e in s["enum"]]))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "maximum" in s:
            mx = s["maximum"]
            if s.get("exclusiveMaximum") and value >= mx:
                out.append(v.invalid(path, value, f"{where} should be less than {_num(mx)}"))
            elif value > mx:
                out.append(v.invalid(path, value, f"{where} should be less than or equal to {_num(mx)}"))
        if "minimum" in s:
            mn = s["minimum"]
            if s.get("exclusiveMinimum") and value <= mn:
                out.append(v.invalid(path, value, f"{where} should be greater than {_num(mn)}"))
            elif value < mn:
                out.append(v.invalid(path, value, f"{where} should be greater than or equal to {_num(mn)}"))
        mult = s.get("multipleOf")
        if isinstance(mult, int | float) and mult and (value / mult) != int(value / mult):
            out.append(v.invalid(path, value, f"{where} should be a multiple of {_num(mult)}"))
    if isinstance(value, str):
        n = len(value)
        if "maxLength" in s and n > s["maxLength"]:
            out.append(v.too_long(path, int(s["maxLength"])))
        if "minLength" in s and n < s["minLength"]:
            out.append(v.invalid(path, value, f"{where} should be at least {s['minLength']} chars long"))
        pattern = s.get("pattern")
        if isinstance(pattern, str) and _regex(pattern) is not None and not _regex(pattern).search(value):  # type: ignore[union-attr]
            out.append(v.invalid(path, value, f"{where} should match '{pattern}'"))
        fmt = s.get("format")
        if isinstance(fmt, str) and not format_ok(fmt, value):
            out.append(v.invalid(path, value, f"{where} must be of type {fmt}: {v.go_quote(value)}"))
    if isinstance(value, list):
        if "maxItems" in s and len(value) > s["maxItems"]:
            out.append(Cause("FieldValueTooMany",
                             f"Too many: {len(value)}: must have at most {s['maxItems']} items", path))
        if "minItems" in s and len(value) < s["minItems"]:
            out.append(v.invalid(path, value, f"{where} should have at least {s['minItems']} items"))
        if s.get("uniqueItems") or s.get("x-kubernetes-list-type") == "set":
            for i, dup in _duplicates(value):
                out.append(v.duplicate(f"{path}[{i}]", dup))
    if isinstance(value, dict):
        if "maxProperties" in s and len(value) > s["maxProperties"]:
            out.append(Cause("FieldValueTooMany",
                             f"Too many: {len(value)}: must have at most {s['maxProperties']} items", path))
        if "minProperties" in s and len(value) < s["minProperties"]:
            out.append(v.invalid(path, value, f"{where} should have at least {s['minProperties']} properties"))


def _enum_text(e: Any) -> str:
    return e if isinstance(e, str) else v.render_value(e)


def _duplicates(items: list[Any]) -> Iterator[tuple[int, Any]]:
    seen: list[Any] = []
    for i, item in enumerate(items):
        if item in seen:
            yield i, item
        else:
            seen.append(item)


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


_HOSTNAME = re.compile(r"^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def format_ok(fmt: str, value: str) -> bool:
    """The formats upstream checks; unknown formats pass."""
    try:
        if fmt == "date-time":
            datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        elif fmt == "date":
            date.fromisoformat(value)
        elif fmt in ("uuid", "uuid3", "uuid4", "uuid5"):
            uuid.UUID(value)
        elif fmt == "byte":
            base64.b64decode(value, validate=True)
        elif fmt == "ipv4":
            ipaddress.IPv4Address(value)
        elif fmt == "ipv6":
            ipaddress.IPv6Address(value)
        elif fmt == "cidr":
            ipaddress.ip_network(value, strict=False)
        elif fmt == "hostname":
            return bool(_HOSTNAME.match(value)) and len(value) <= 253
        elif fmt == "email":
            return bool(_EMAIL.match(value))
    except (ValueError, binascii.Error):
        return False
    return True
