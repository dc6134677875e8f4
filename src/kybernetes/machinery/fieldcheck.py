"""Schema-driven decoding checks: unknown fields, duplicate fields and wrong JSON types.

Upstream decodes every write into Go structs. That has three visible effects which this module
reproduces from the schema declarations (``kybernetes.api.schema``) instead:

* fields the type does not declare never survive (they are *pruned*), and with
  ``fieldValidation=Strict`` / ``Warn`` each one is reported as ``unknown field "spec.foo"``;
* a key given twice in one JSON object is reported as ``duplicate field "spec.replicas"``
  (the last value wins, as in Go);
* a value of the wrong JSON type fails the whole decode with Go's text, e.g.
  ``json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type
  []v1.Container`` - whatever the fieldValidation mode.

Paths follow upstream's strict decoder: field names and map keys joined with ``.``, list items
as ``[i]``. Type errors name the Go struct holding the field and the path of field names only
(no indexes, embedded structs by their Go name), as Go's ``encoding/json`` does.

``check_and_prune`` is pure: it never modifies its input; the object it returns shares every
unchanged subtree with the input (only dicts on the way to a pruned field are new). The
``decide_*`` helpers turn a result into the apiserver's answer for each kind of write (create or
update, patch, server-side apply): a ``StatusError`` to raise, or the warnings to send.

Duplicate keys are invisible once a body is parsed into dicts, so JSON bodies get a cheap
pre-check: the number of keys in the text (``json_key_tokens``) against the number of keys the
walk saw. Only when they differ is the body parsed again, slowly, recording duplicates
(``loads_with_duplicates``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from kybernetes.api.schema import SCALARS, Field, Message, SchemaRegistry
from kybernetes.machinery import errors
from kybernetes.machinery.quantity import ERR_FORMAT, parse_quantity

Obj = dict[str, Any]

STRICT = "Strict"
WARN = "Warn"
IGNORE = "Ignore"
MODES = (STRICT, WARN, IGNORE)

UNKNOWN = "unknown"
DUPLICATE = "duplicate"
MAX_STRICT_ERRORS = 100  # upstream stops collecting after this many

# A null field is absent (Go leaves the field unset and omits it when writing), except for types
# whose Go form writes `null` for the zero value: there a null is kept as sent.
_NULL_KEPT = frozenset({"time", "microtime", "raw", "fields-v1"})
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_TIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")
_DURATION_RE = re.compile(r"[-+]?(((\d+(\.\d*)?)|(\.\d+))(ns|us|µs|μs|ms|s|m|h))+\Z")
_NUMBER_RE = re.compile(r"[-+]?((\d+(\.\d*)?)|(\.\d+))\Z")
_B64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")

# Go type names of scalar fields, as encoding/json prints them in type errors.
_GO_SCALAR = {
    "string": "string",
    "boolean": "bool",
    "int32": "int32",
    "int64": "int64",
    "double": "float64",
    "bytes": "[]uint8",
    "time": "v1.Time",
    "microtime": "v1.MicroTime",
    "duration": "v1.Duration",
    "quantity": "resource.Quantity",
    "int-or-string": "intstr.IntOrString",
    "raw": "runtime.RawExtension",
    "fields-v1": "v1.FieldsV1",
}


# --- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrictProblem:
    """An unknown or duplicate field: dropped (or last value kept) and reported by mode."""

    kind: str  # UNKNOWN or DUPLICATE
    path: str  # spec.containers[0].bar
    apply_path: str  # structured-merge-diff form: .spec.containers[name="app"].bar

    @property
    def text(self) -> str:
        return f"{self.kind} field {go_quote(self.path)}"


@dataclass(frozen=True, slots=True)
class FieldTypeError:
    """A value whose JSON type the field cannot take: the decode fails."""

    path: str  # spec.replicas
    message: str  # upstream's decode error text
    apply_message: str  # server-side apply's wording (structured-merge-diff)


@dataclass(slots=True)
class CheckResult:
    obj: Obj  # the pruned object
    strict: list[StrictProblem] = field(default_factory=list)  # document order, deduplicated
    type_errors: list[FieldTypeError] = field(default_factory=list)
    keys: int = 0  # object keys seen, for the duplicate pre-check

    @property
    def unknown_paths(self) -> list[str]:
        return [p.path for p in self.strict if p.kind == UNKNOWN]

    @property
    def strict_texts(self) -> list[str]:
        return [p.text for p in self.strict]


# --- the walk ---------------------------------------------------------------------------------------


def check_and_prune(obj: Obj, message: str, registry: SchemaRegistry,
                    duplicates: Mapping[int, Sequence[str]] | None = None) -> CheckResult:
    """Check `obj` against message `message`; unknown fields are pruned from the returned copy.

    `duplicates` maps ``id(d)`` of dicts inside `obj` to keys given twice in them (from
    ``loads_with_duplicates``)."""
    walker = _Walker(registry, duplicates)
    msg = registry.get(message)
    if msg is None:  # nothing declared: accept as sent
        return CheckResult(obj, keys=_count_keys(obj))
    out = walker.message(obj, msg)
    return CheckResult(out, walker.strict, walker.type_errors, walker.keys)


# A step of the path from the root: a field of a message (its plan entry), a map key or a list
# item. Steps are pushed only on the way into lists, maps and messages.
_FieldStep = tuple[int, Field, Message, int, Callable[[Any], bool]]  # (0, field, holder, code, check)
_KeyStep = tuple[int, str]  # (1, key)
_ItemStep = tuple[int, int, Any, Field]  # (2, index, item, list field)
_Step = Any

_STRING, _SCALAR, _CONTAINER = 0, 1, 2
_PLANS: dict[int, tuple[Message, dict[str, _FieldStep]]] = {}


def _plan(msg: Message) -> dict[str, _FieldStep]:
    """Per message, each field's step tuple with how to check its value (built once)."""
    cached = _PLANS.get(id(msg))
    if cached is not None and cached[0] is msg:
        return cached[1]
    plan: dict[str, _FieldStep] = {}
    for f in msg.fields:
        if f.repeated or f.map or f.type not in SCALARS:
            plan[f.name] = (0, f, msg, _CONTAINER, _any)
        elif f.type == "string":
            plan[f.name] = (0, f, msg, _STRING, _is_str)
        else:
            plan[f.name] = (0, f, msg, _SCALAR, _SCALAR_OK[f.type])
    _PLANS[id(msg)] = (msg, plan)
    return plan


class _Walker:
    __slots__ = ("duplicates", "keys", "registry", "seen", "steps", "strict", "type_errors")

    def __init__(self, registry: SchemaRegistry, duplicates: Mapping[int, Sequence[str]] | None) -> None:
        self.registry = registry
        self.duplicates = duplicates or None
        self.steps: list[_Step] = []
        self.strict: list[StrictProblem] = []
        self.seen: set[tuple[str, str]] = set()
        self.type_errors: list[FieldTypeError] = []
        self.keys = 0

    # --- objects ---------------------------------------------------------------------------------
    def message(self, obj: Obj, msg: Message) -> Obj:
        self.keys += len(obj)
        plan = _plan(msg)
        if self.duplicates is not None:
            for key in self.duplicates.get(id(obj), ()):
                # Go reports duplicates of declared fields (and any key of a free-form object).
                if msg.open or key in plan:
                    self._strict(DUPLICATE, key)
        steps = self.steps
        drop: list[str] | None = None
        replace: dict[str, Any] | None = None
        for key, value in obj.items():
            step = plan.get(key)
            if step is None:
                self.keys += _count_keys(value)
                if msg.open:
                    continue
                self._strict(UNKNOWN, key)
                if drop is None:
                    drop = []
                drop.append(key)
                continue
            code = step[3]
            if code == _STRING:
                if type(value) is str:
                    continue
            elif code == _SCALAR:
                if value is not None and step[4](value):
                    continue
            elif value is not None:
                steps.append(step)
                new = self.container(value, step[1], msg)
                steps.pop()
                if new is not value:
                    if replace is None:
                        replace = {}
                    replace[key] = new
                continue
            if value is None:
                f = step[1]
                if f.type not in _NULL_KEPT:
                    if drop is None:
                        drop = []
                    drop.append(key)
                continue
            steps.append(step)
            self.scalar_error(value, step[1].type)
            steps.pop()
        if drop is None and replace is None:
            return obj
        dropped = frozenset(drop or ())
        repl = replace or {}
        return {k: repl.get(k, v) for k, v in obj.items() if k not in dropped}

    def container(self, value: Any, f: Field, msg: Message) -> Any:
        """The value of field `f` (a list, a map or a message); the field's step is on the stack."""
        t = f.type
        scalar = t in SCALARS
        sub = None if scalar else self.registry.get(t)
        if not f.map and not f.repeated:
            if type(value) is dict and sub is not None:
                return self.message(value, sub)
            return self.element(value, t, sub)
        steps = self.steps
        if f.map:
            if type(value) is not dict:
                self.kind_error(value, _go_type(f), _apply_kind(value, "map"))
                return value
            self.keys += len(value)
            if self.duplicates is not None:
                for key in self.duplicates.get(id(value), ()):
                    self._strict(DUPLICATE, key)
            replace: dict[str, Any] | None = None
            check = _SCALAR_OK.get(t, _any)
            for key, item in value.items():
                if item is None:
                    continue
                if f.repeated:  # map of string lists
                    if type(item) is not list or not all(s is None or type(s) is str for s in item):
                        steps.append((1, key))
                        if type(item) is not list:
                            self.kind_error(item, "[]string", _apply_kind(item, "list"))
                        else:
                            self.scalar_error(next(s for s in item if s is not None and type(s) is not str), "string")
                        steps.pop()
                elif scalar:
                    if not check(item):
                        steps.append((1, key))
                        self.scalar_error(item, t)
                        steps.pop()
                else:
                    steps.append((1, key))
                    new = self.element(item, t, sub)
                    steps.pop()
                    if new is not item:
                        if replace is None:
                            replace = {}
                        replace[key] = new
            if replace is None:
                return value
            return {k: replace.get(k, v) for k, v in value.items()}
        if type(value) is not list:
            self.kind_error(value, _go_type(f), _apply_kind(value, "list"))
            return value
        out: list[Any] | None = None
        if scalar:
            check = _SCALAR_OK[t]
            for i, item in enumerate(value):
                if item is not None and not check(item):
                    steps.append((2, i, item, f))
                    self.scalar_error(item, t)
                    steps.pop()
            return value
        for i, item in enumerate(value):
            if item is None:
                continue
            steps.append((2, i, item, f))
            new = self.message(item, sub) if type(item) is dict and sub is not None else self.element(item, t, sub)
            steps.pop()
            if new is not item:
                if out is None:
                    out = list(value)
                out[i] = new
        return value if out is None else out

    def element(self, value: Any, message_name: str, sub: Message | None) -> Any:
        """A value declared as message `message_name` (`sub`, None when not declared)."""
        if type(value) is not dict:
            self.kind_error(value, _go_message(message_name), _apply_kind(value, "map"))
            return value
        if sub is None:
            self.keys += _count_keys(value)
            return value
        return self.message(value, sub)

    # --- problems --------------------------------------------------------------------------------
    def _strict(self, kind: str, key: str) -> None:
        if len(self.strict) >= MAX_STRICT_ERRORS:
            return
        path = _strict_path(self.steps, key)
        if (kind, path) in self.seen:
            return
        self.seen.add((kind, path))
        self.strict.append(StrictProblem(kind, path, _apply_path(self.steps, key)))

    def scalar_error(self, value: Any, t: str) -> None:
        """A scalar of type `t` (the field's or a list/map element's) got `value`."""
        if t == "quantity":
            message = _quantity_error(value) or ERR_FORMAT
            self._type_error(message, _apply_scalar("quantity", value))
            return
        if t in ("time", "microtime", "duration") and type(value) is str:
            self._type_error(_time_text_error(value, t), _apply_scalar(t, value))
            return
        if t == "bytes" and type(value) is str:
            self._type_error(_base64_error(value), _apply_scalar(t, value))
            return
        go = _GO_SCALAR[t]
        if t in ("time", "microtime", "duration"):
            go = "string"  # these unmarshal the JSON into a Go string first
        elif t == "int-or-string":
            go = "int32"  # anything but a JSON string is read as an int32
        self._type_error(self._go_text(_json_desc(value, go), go), _apply_scalar(t, value))

    def kind_error(self, value: Any, go_type: str, apply_message: str) -> None:
        self._type_error(self._go_text(_json_desc(value, go_type), go_type), apply_message)

    def _go_text(self, desc: str, go_type: str) -> str:
        struct, path = _go_context(self.steps, self.registry)
        return f"json: cannot unmarshal {desc} into Go struct field {struct}.{path} of type {go_type}"

    def _type_error(self, message: str, apply_message: str) -> None:
        self.type_errors.append(FieldTypeError(_strict_path(self.steps, None), message,
                                               f"{_apply_path(self.steps, None)}: {apply_message}"))


# --- scalar checks ----------------------------------------------------------------------------------


def _is_str(v: Any) -> bool:
    return type(v) is str


def _is_bool(v: Any) -> bool:
    return type(v) is bool


def _is_int32(v: Any) -> bool:
    return type(v) is int and -2147483648 <= v <= 2147483647


def _is_int64(v: Any) -> bool:
    return type(v) is int and -9223372036854775808 <= v <= 9223372036854775807


def _is_number(v: Any) -> bool:
    return type(v) is int or type(v) is float


def _is_time(v: Any) -> bool:
    return type(v) is str and _TIME_RE.match(v) is not None


def _is_duration(v: Any) -> bool:
    return type(v) is str and (v == "0" or _DURATION_RE.match(v) is not None)


def _is_quantity(v: Any) -> bool:
    return (type(v) is str or type(v) is int or type(v) is float) and _quantity_error(v) is None


def _is_int_or_string(v: Any) -> bool:
    return type(v) is str or _is_int32(v)


def _is_bytes(v: Any) -> bool:
    return type(v) is str and _base64_ok(v)


def _any(v: Any) -> bool:
    return True


_SCALAR_OK: dict[str, Callable[[Any], bool]] = {
    "string": _is_str,
    "bytes": _is_bytes,
    "boolean": _is_bool,
    "int32": _is_int32,
    "int64": _is_int64,
    "double": _is_number,
    "time": _is_time,
    "microtime": _is_time,
    "duration": _is_duration,
    "quantity": _is_quantity,
    "int-or-string": _is_int_or_string,
    "raw": _any,
    "fields-v1": _any,
}


@functools.lru_cache(maxsize=4096)
def _quantity_text_error(s: str) -> str | None:
    try:
        parse_quantity(s.strip())
    except ValueError as e:
        return str(e)
    return None


def _quantity_error(v: Any) -> str | None:
    if type(v) is str:
        return _quantity_text_error(v)
    if type(v) is int or type(v) is float:
        return _quantity_text_error(_go_number(v))
    return ERR_FORMAT  # true, {...}, [...] are no quantity


def _base64_ok(s: str) -> bool:
    if "\n" in s or "\r" in s:  # Go's decoder skips line breaks
        s = s.replace("\r", "").replace("\n", "")
    try:
        base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _base64_error(s: str) -> str:
    data = s.replace("\r", "").replace("\n", "").encode("utf-8", "replace")
    bad = next((i for i, c in enumerate(data) if c not in _B64_ALPHABET), None)
    if bad is None:
        pad = data.find(b"=")
        bad = pad if 0 <= pad < len(data) - 2 else len(data) - len(data) % 4
    return f"illegal base64 data at input byte {bad}"


def _time_text_error(s: str, t: str) -> str:
    if t == "duration":
        if _NUMBER_RE.match(s):
            return f"time: missing unit in duration {go_quote(s)}"
        return f"time: invalid duration {go_quote(s)}"
    layout = "2006-01-02T15:04:05.000000Z07:00" if t == "microtime" else "2006-01-02T15:04:05Z07:00"
    return f"parsing time {go_quote(s)} as {go_quote(layout)}: cannot parse {go_quote(s)} as \"2006\""


def _go_number(v: int | float) -> str:
    # Go prints the literal as sent; a parsed float keeps its fraction ("1.0"), close enough.
    return repr(v)


def _json_desc(value: Any, go_type: str) -> str:
    """How Go's UnmarshalTypeError names the JSON value: "string", "number 1.5", "object", ..."""
    if type(value) is str:
        return "string"
    if type(value) is bool:
        return "bool"
    if type(value) is int or type(value) is float:
        if go_type in ("int32", "int64", "float64"):
            return f"number {_go_number(value)}"
        return "number"
    if type(value) is dict:
        return "object"
    if type(value) is list:
        return "array"
    return "null"


def _apply_kind(value: Any, want: str) -> str:
    return f"expected {want}, got {_go_dynamic(value)}"


def _apply_scalar(t: str, value: Any) -> str:
    if t in ("int32", "int64", "double"):
        return f"expected numeric (int or float), got {_go_dynamic(value)}"
    if t == "boolean":
        return f"expected boolean, got {_go_dynamic(value)}"
    if t in ("int-or-string", "quantity"):
        if type(value) in (str, int, float):
            return _quantity_error(value) or ERR_FORMAT
        return f"expected string or numeric, got {_go_dynamic(value)}"
    return f"expected string, got {_go_dynamic(value)}"


def _go_dynamic(value: Any) -> str:
    """The Go dynamic type name of a decoded JSON value (%T)."""
    if type(value) is str:
        return "string"
    if type(value) is bool:
        return "bool"
    if type(value) is int:
        return "int64"
    if type(value) is float:
        return "float64"
    if type(value) is dict:
        return "map[string]interface {}"
    if type(value) is list:
        return "[]interface {}"
    return "<nil>"


def _count_keys(value: Any) -> int:
    if type(value) is dict:
        n = len(value)
        for v in value.values():
            if type(v) is dict or type(v) is list:
                n += _count_keys(v)
        return n
    if type(value) is list:
        n = 0
        for v in value:
            if type(v) is dict or type(v) is list:
                n += _count_keys(v)
        return n
    return 0


# --- paths and Go names ------------------------------------------------------------------------------


def _strict_path(steps: Sequence[_Step], last: str | None) -> str:
    parts: list[str] = []
    for step in steps:
        if step[0] == 2:
            parts.append(f"[{step[1]}]")
            continue
        name = step[1].name if step[0] == 0 else step[1]
        parts.append(f".{name}" if parts else name)
    if last is not None:
        parts.append(f".{last}" if parts else last)
    return "".join(parts)


def _apply_path(steps: Sequence[_Step], last: str | None) -> str:
    parts: list[str] = []
    for step in steps:
        if step[0] == 0:
            parts.append("." + step[1].name)
        elif step[0] == 1:
            parts.append("." + step[1])
        else:
            parts.append(_apply_item(step[1], step[2], step[3]))
    if last is not None:
        parts.append("." + last)
    return "".join(parts)


def _apply_item(index: int, item: Any, f: Field) -> str:
    # Associative lists: by x-kubernetes-list-map-keys, or else by the patch merge key.
    map_keys = f.list_map_keys if f.list_type == "map" else ((f.merge_key,) if f.merge_key and not f.list_type else ())
    if map_keys and type(item) is dict:
        keys = [f"{k}={orjson.dumps(item[k]).decode()}" for k in map_keys if k in item]
        if keys:
            return "[" + ",".join(keys) + "]"
    if f.list_type == "set" and type(item) in (str, int, float, bool):
        return f"[={orjson.dumps(item).decode()}]"
    return f"[{index}]"


def _go_context(steps: Sequence[_Step], registry: SchemaRegistry) -> tuple[str, str]:
    """(Go struct holding the innermost field, dotted Go field path), as encoding/json keeps
    them for type errors: field names only, embedded structs by their Go field name."""
    names: list[str] = []
    struct = ""
    for step in steps:
        if step[0] != 0:
            continue
        f, msg = step[1], step[2]
        if f.number == 0:
            embedded = _embedding(msg, f.name, registry)
            if embedded:
                names.append(embedded)
        names.append(f.name)
        struct = _short(msg.name)
    return struct, ".".join(names)


def _embedding(msg: Message, name: str, registry: SchemaRegistry) -> str:
    if name in ("kind", "apiVersion"):
        return "TypeMeta"
    from kybernetes.api.schemas import EMBEDDED

    for _, inlined in EMBEDDED.get(msg.name, ()):
        m = registry.get(inlined)
        if m is not None and name in m.by_name:
            return _short(inlined)
    return ""


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _go_message(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[-2:]) if len(parts) >= 2 else name


def _go_elem(t: str) -> str:
    return _GO_SCALAR[t] if t in SCALARS else _go_message(t)


def _go_type(f: Field) -> str:
    if f.map:
        if f.type == "quantity":
            return "v1.ResourceList"
        return f"map[string]{'[]' if f.repeated else ''}{_go_elem(f.type)}"
    if f.repeated:
        return "[]" + _go_elem(f.type)
    return _go_elem(f.type)


def go_quote(s: str) -> str:
    """Go's strconv.Quote for the common case (printable text)."""
    out = ['"']
    for ch in s:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# --- duplicate keys in JSON text -----------------------------------------------------------------------


def json_key_tokens(body: bytes) -> int | None:
    """The number of object keys in valid JSON text `body` written without space before colons
    (as every client writes it), or None for long backslash runs.

    Every key is a string followed by ``:``; inside strings a quote is escaped, so a ``":``
    counts when the backslashes before the quote are even in number (inclusion-exclusion over
    runs of up to four). A key spaced from its colon is missed: the count then disagrees with
    the parsed keys and the slow exact path runs, unless as many keys were also duplicated."""
    n = body.count(b'":')
    if b"\\" not in body:
        return n
    if b'\\\\\\\\\\":' in body:
        return None
    return (n - body.count(b'\\":') + body.count(b'\\\\":')
            - body.count(b'\\\\\\":') + body.count(b'\\\\\\\\":'))


def loads_with_duplicates(body: bytes) -> tuple[Any, dict[int, list[str]]]:
    """Parse JSON (last value wins, as orjson and Go) noting keys given twice: ``id(dict)`` ->
    keys, in the order of their repeats. Slower than orjson: used only when the quick count says
    there are duplicates."""
    table: dict[int, list[str]] = {}

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        d = dict(pairs)
        if len(d) != len(pairs):
            seen: set[str] = set()
            dups: list[str] = []
            for k, _ in pairs:
                if k in seen and k not in dups:
                    dups.append(k)
                seen.add(k)
            table[id(d)] = dups
        return d

    return json.loads(body, object_pairs_hook=hook), table


def check_json_body(obj: Obj, body: bytes | None, message: str, registry: SchemaRegistry, *,
                    duplicates: bool = True) -> CheckResult:
    """``check_and_prune`` for an object parsed from JSON `body`, with duplicate keys found."""
    result = check_and_prune(obj, message, registry)
    if body is None or not duplicates:
        return result
    if json_key_tokens(body) == result.keys:
        return result
    parsed, table = loads_with_duplicates(body)
    if not table or not isinstance(parsed, dict):
        return result
    return check_and_prune(parsed, message, registry, duplicates=table)


def patch_duplicates(body: bytes, doc: Any, *, json_patch: bool = False) -> list[str]:
    """Strict errors for keys given twice in a JSON patch document (upstream checks the patch text
    itself for duplicates; unknown fields are looked for in the patched object)."""
    if json_key_tokens(body) == _count_keys(doc):
        return []
    parsed, table = loads_with_duplicates(body)
    if not table:
        return []
    out: list[str] = []

    def walk(v: Any, path: str) -> None:
        if type(v) is dict:
            for k in table.get(id(v), ()):
                out.append(f"duplicate field {go_quote(f'{path}.{k}' if path else k)}")
            for k, x in v.items():
                walk(x, f"{path}.{k}" if path else k)
        elif type(v) is list:
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]")

    walk(parsed, "")
    prefix = "json patch " if json_patch else ""
    return [prefix + t for t in out[:MAX_STRICT_ERRORS]]


# --- answers ------------------------------------------------------------------------------------------


def format_strict_error(texts: Iterable[str]) -> str:
    """upstream's runtime.strictDecodingError text."""
    return "strict decoding error: " + ", ".join(texts)


def warning_texts(texts: Iterable[str]) -> list[str]:
    """One warning per problem; a YAML error with several lines becomes one warning a line."""
    out: list[str] = []
    for t in texts:
        if t.startswith("yaml: unmarshal errors:\n"):
            out.extend(line.strip() for line in t.split("\n")[1:] if line.strip())
        else:
            out.append(t)
    return out


def warning_header(text: str) -> str | None:
    """A ``Warning`` header value (RFC 7234 code 299, agent ``-``), or None for text upstream
    refuses to send (control characters)."""
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text):
        return None
    return '299 - "' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def warning_headers(texts: Iterable[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for t in warning_texts(texts):
        h = warning_header(t)
        if h is not None and h not in seen:
            seen.add(h)
            out.append(h)
    return out


def normalize_mode(value: str | None) -> str:
    """The fieldValidation directive; the server default is Warn (upstream since 1.27)."""
    return value or WARN


def decide_body(result: CheckResult, mode: str, *, kind: str, version: str,
                prior_strict: Sequence[str] = ()) -> list[str]:
    """Create/update: raise the 400 upstream answers, or return the warning texts to send.

    `prior_strict` are strict errors found before the JSON walk (YAML duplicate keys)."""
    if result.type_errors:
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: {result.type_errors[0].message}')
    if mode == IGNORE:
        return []
    texts = [*prior_strict, *result.strict_texts]
    if not texts:
        return []
    if mode == STRICT:
        raise errors.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: {format_strict_error(texts)}')
    return texts


def decide_patch(result: CheckResult, mode: str, *, patch_strict: Sequence[str] = ()) -> list[str]:
    """Patches (JSON, merge, strategic): the patched object failing to decode is 422 Invalid on
    field ``patch``; strict errors (the patch text's duplicates, the result's unknown fields)
    are a 400 without the kind prefix."""
    if result.type_errors:
        value = orjson.dumps(result.obj).decode()
        raise errors.invalid("", "", [errors.Cause(
            "FieldValueInvalid", f"Invalid value: {go_quote(value)}: {result.type_errors[0].message}", "patch")])
    if mode == IGNORE:
        return []
    texts = [*patch_strict, *result.strict_texts]
    if not texts:
        return []
    if mode == STRICT:
        raise errors.bad_request(format_strict_error(texts))
    return texts


def decide_apply(result: CheckResult, mode: str, *, group_version: str, kind: str, namespace: str, name: str,
                 yaml_strict: Sequence[str] = ()) -> list[str]:
    """Server-side apply: fields the schema does not declare (or of the wrong type) fail typing
    the applied configuration whatever the mode, a 500 without reason as upstream; YAML duplicate
    keys follow the mode."""
    problems = [f"{p.apply_path}: field not declared in schema" for p in result.strict if p.kind == UNKNOWN]
    problems += [t.apply_message for t in result.type_errors]
    if problems:
        group, _, version = group_version.rpartition("/")
        where = f"{namespace}/{name}; {group}/{version}, Kind={kind}"
        detail = problems[0] if len(problems) == 1 else "errors:\n  " + "\n  ".join(problems)
        raise errors.StatusError(500, "", f"failed to create typed patch object ({where}): {detail}")
    if mode == IGNORE or not yaml_strict:
        return []
    if mode == STRICT:
        raise errors.bad_request("error strict decoding YAML: " + ", ".join(yaml_strict))
    return list(yaml_strict)
