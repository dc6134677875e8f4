"""Decoding of Kubernetes protobuf request bodies into the objects' JSON form.

Since client-go 0.32, typed clients (kubectl's ``create`` generators, ``autoscale``, ``auth``)
send ``application/vnd.kubernetes.protobuf`` bodies for built-in kinds and never fall back to
JSON, so the API server must read them. A body is the magic ``k8s\\0`` followed by a
``runtime.Unknown`` envelope ``{1: typeMeta {1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
4: contentType}``; ``raw`` is the object's message.

Decoding is generic over the schema registry: field numbers, scalar types and the few upstream
messages whose JSON form is a scalar (Time, Quantity, IntOrString, ...) are all declared in
``kybernetes.api.schemas``. Two protobuf-only facts come from there too: messages embedded
inline in JSON (``EMBEDDED``) and string lists wrapped in ``{1: items}`` messages
(``WRAPPED_LISTS``, and every map of lists).

What the output looks like, and why:

1. Go's gogo encoder writes every non-pointer field, zero or not, and pointer fields only when
   set. A zero value of a field declared ``omit_empty`` is therefore "unset" and left out, as
   Go's JSON encoder would; zero values of other fields (pointers, non-omitempty) are kept.
   Unlike Go's JSON encoder, empty objects and zero times of ``omit_empty`` fields are left out
   too (Go writes ``status: {}`` and ``creationTimestamp: null``): they carry no information.
2. Unknown field numbers are skipped, as protobuf readers do.
3. Anything malformed (bad magic, truncated varints or lengths, a wire type that does not fit
   the declared field, invalid UTF-8, unparsable embedded JSON) raises ``ValueError``; the
   server answers 400 with its message. Nothing else escapes for any input.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from kybernetes.api.schema import Field, SchemaRegistry
from kybernetes.api.schemas import EMBEDDED, WRAPPED_LISTS
from kybernetes.util.goduration import format_go_duration

MAGIC = b"k8s\x00"

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_WIRE_NAMES = {VARINT: "varint", I64: "fixed64", LEN: "length-delimited", I32: "fixed32"}

# Go's zero time.Time in Unix seconds (0001-01-01T00:00:00Z); Go prints it as null.
_ZERO_TIME_SECONDS = -62135596800
_MAX_DEPTH = 64  # far deeper than any Kubernetes object; bounds recursion on hostile input

_VARINT_SCALARS = frozenset({"boolean", "int32", "int64"})

# JSON zero values of the scalar types (Go's zero values as its JSON encoder prints them).
_ZERO: dict[str, Any] = {
    "string": "",
    "bytes": "",
    "boolean": False,
    "int32": 0,
    "int64": 0,
    "double": 0.0,
    "time": None,
    "microtime": None,
    "duration": "0s",
    "quantity": "0",
    "int-or-string": 0,
    "raw": None,
    "fields-v1": None,
}


# --- wire level ---------------------------------------------------------------------------


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise ValueError("protobuf: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("protobuf: varint longer than 10 bytes")


WireValue = int | bytes


def _fields(buf: bytes) -> list[tuple[int, int, WireValue]]:
    """Split a message into (field number, wire type, value): ints for varint, bytes otherwise."""
    out: list[tuple[int, int, WireValue]] = []
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise ValueError(f"protobuf: invalid field number {number}")
        value: WireValue
        if wire == VARINT:
            value, pos = _read_varint(buf, pos)
        elif wire == LEN:
            size, pos = _read_varint(buf, pos)
            if size > end - pos:
                raise ValueError(f"protobuf: field {number} length {size} runs past the end of the data")
            value = buf[pos : pos + size]
            pos += size
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if size > end - pos:
                raise ValueError(f"protobuf: truncated fixed-width field {number}")
            value = buf[pos : pos + size]
            pos += size
        else:
            raise ValueError(f"protobuf: unsupported wire type {wire} for field {number}")
        out.append((number, wire, value))
    return out


def _signed64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >> 63 else v


def _signed32(v: int) -> int:
    # Go's int32(v): negative int32 values travel as sign-extended 64-bit varints.
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >> 31 else v


def _utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"protobuf: {where}: invalid UTF-8 in string") from e


# --- the envelope --------------------------------------------------------------------------


def decode_envelope(body: bytes) -> tuple[str, str, bytes]:
    """(apiVersion, kind, raw message) of a ``k8s\\0``-prefixed protobuf body."""
    if not body.startswith(MAGIC):
        raise ValueError("protobuf: body does not start with the k8s\\0 magic prefix")
    api_version = kind = ""
    raw = b""
    encoding = ""
    for number, wire, value in _fields(body[len(MAGIC) :]):
        if number not in (1, 2, 3, 4):
            continue
        if not isinstance(value, bytes) or wire != LEN:
            raise ValueError(f"protobuf: envelope field {number} should be length-delimited")
        if number == 1:
            for n, w, v in _fields(value):
                if n in (1, 2):
                    if not isinstance(v, bytes) or w != LEN:
                        raise ValueError("protobuf: envelope typeMeta field should be a string")
                    if n == 1:
                        api_version = _utf8(v, "typeMeta.apiVersion")
                    else:
                        kind = _utf8(v, "typeMeta.kind")
        elif number == 2:
            raw = value
        elif number == 3:
            encoding = _utf8(value, "contentEncoding")
    if encoding:
        raise ValueError(f"protobuf: unsupported content encoding {encoding!r}")
    if not kind or not api_version:
        raise ValueError("protobuf: envelope without apiVersion and kind")
    return api_version, kind, raw


# --- messages ------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _wire_table(registry: SchemaRegistry, message: str) -> dict[int, Field | str]:
    """Field number -> field, or -> name of a message inlined into this one's JSON."""
    msg = registry.get(message)
    if msg is None:
        raise ValueError(f"protobuf: no schema for message {message}")
    table: dict[int, Field | str] = {f.number: f for f in msg.fields if f.number > 0}
    for number, inner in EMBEDDED.get(message, ()):
        table[number] = inner
    return table


def decode_message(raw: bytes, message: str, registry: SchemaRegistry) -> dict[str, Any]:
    """The JSON form of `raw`, a protobuf-encoded `message` (an OpenAPI definition name)."""
    return _Decoder(registry).message(raw, message, message, 0)


# API group -> the package part of its OpenAPI names (io.k8s.api.<package>.<version>.<Kind>).
BUILTIN_GROUPS = {
    "": "core",
    "apps": "apps",
    "batch": "batch",
    "autoscaling": "autoscaling",
    "policy": "policy",
    "networking.k8s.io": "networking",
    "coordination.k8s.io": "coordination",
    "discovery.k8s.io": "discovery",
    "events.k8s.io": "events",
    "scheduling.k8s.io": "scheduling",
    "storage.k8s.io": "storage",
    "rbac.authorization.k8s.io": "rbac",
    "authorization.k8s.io": "authorization",
    "authentication.k8s.io": "authentication",
    "admissionregistration.k8s.io": "admissionregistration",
    "admission.k8s.io": "admission",
}

# meta.v1 kinds every group version carries (client-go registers them in each one), e.g. the
# DeleteOptions body of `kubectl drain --disable-eviction`.
META_KINDS = frozenset(
    {"DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "GetOptions", "ListOptions", "Status"}
)


@lru_cache(maxsize=1)
def _declared_kinds() -> dict[tuple[str, str], str]:
    """Served kinds name their message in the resource table (some groups' packages, like
    apiextensions, are not named after the group)."""
    from kybernetes.api.resources import RESOURCES

    return {(r.api_version, r.kind): r.schema for r in RESOURCES}


def builtin_message(api_version: str, kind: str, registry: SchemaRegistry) -> str | None:
    """The message name of a built-in kind: `apps/v1` `Deployment` -> io.k8s.api.apps.v1.Deployment."""
    group, _, version = api_version.rpartition("/")
    declared = _declared_kinds().get((api_version, kind))
    if declared is not None:
        return declared if declared in registry else None
    if kind in META_KINDS and version == "v1":
        name = f"io.k8s.apimachinery.pkg.apis.meta.v1.{kind}"
    elif group in BUILTIN_GROUPS:
        name = f"io.k8s.api.{BUILTIN_GROUPS[group]}.{version}.{kind}"
    else:
        return None
    return name if name in registry else None


def decode_object(
    body: bytes,
    registry: SchemaRegistry,
    message_for: Callable[[str, str], str | None],
) -> dict[str, Any]:
    """Decode a whole request body; `message_for(apiVersion, kind)` names the message."""
    api_version, kind, raw = decode_envelope(body)
    message = message_for(api_version, kind)
    if message is None or message not in registry:
        raise ValueError(f"protobuf: cannot decode {kind} of {api_version}: no schema for it")
    obj = decode_message(raw, message, registry)
    return {"kind": kind, "apiVersion": api_version, **obj}


class _Decoder:
    def __init__(self, registry: SchemaRegistry) -> None:
        self.registry = registry

    def message(self, raw: bytes, message: str, path: str, depth: int) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise ValueError(f"protobuf: {path}: messages nested too deeply")
        table = _wire_table(self.registry, message)
        # Collect first: repeated fields arrive one element at a time, and a singular message
        # field sent twice is merged (protobuf semantics), i.e. its bytes concatenate.
        singular: dict[str, tuple[Field, int, WireValue]] = {}
        chunks: dict[str, tuple[Field, list[bytes]]] = {}
        lists: dict[str, list[Any]] = {}
        maps: dict[str, dict[str, Any]] = {}
        inlined: list[dict[str, Any]] = []
        for number, wire, value in _fields(raw):
            target = table.get(number)
            if target is None:
                continue  # unknown field: tolerated
            if isinstance(target, str):
                if wire != LEN:
                    raise ValueError(f"protobuf: {path}: field {number} should be length-delimited")
                assert isinstance(value, bytes)
                inlined.append(self.message(value, target, path, depth + 1))
                continue
            where = f"{path}.{target.name}"
            if target.map:
                if wire != LEN:
                    raise ValueError(f"protobuf: {where}: map entry should be length-delimited")
                assert isinstance(value, bytes)
                key, item = self.map_entry(value, target, where, depth)
                maps.setdefault(target.name, {})[key] = item
            elif target.repeated:
                lists.setdefault(target.name, []).extend(
                    self.list_items(wire, value, target, where, depth, message)
                )
            elif not target.is_scalar:
                if wire != LEN:
                    raise ValueError(f"protobuf: {where}: expected a message, got {_WIRE_NAMES[wire]}")
                assert isinstance(value, bytes)
                chunks.setdefault(target.name, (target, []))[1].append(value)
            else:
                singular[target.name] = (target, wire, value)

        out: dict[str, Any] = {}
        for part in inlined:
            out.update(part)
        for name, (f, wire, value) in singular.items():
            decoded = self.scalar(wire, value, f.type, f"{path}.{name}", depth)
            if not (f.omit_empty and _is_empty(decoded)):
                out[name] = decoded
        for name, (f, parts) in chunks.items():
            decoded = self.message(b"".join(parts), f.type, f"{path}.{name}", depth + 1)
            if not (f.omit_empty and not decoded):
                out[name] = decoded
        out.update(lists)
        out.update(maps)
        # Declaration order reads like Go's JSON output.
        msg = self.registry[message]
        ordered = {f.name: out[f.name] for f in msg.fields if f.name in out}
        return ordered

    def list_items(
        self, wire: int, value: WireValue, f: Field, where: str, depth: int, message: str
    ) -> list[Any]:
        if (message, f.name) in WRAPPED_LISTS:
            if wire != LEN:
                raise ValueError(f"protobuf: {where}: expected a wrapped list")
            assert isinstance(value, bytes)
            return self.wrapped_items(value, f, where, depth)
        if f.type in _VARINT_SCALARS and wire == LEN:
            # packed encoding: a run of varints
            assert isinstance(value, bytes)
            items: list[Any] = []
            pos = 0
            while pos < len(value):
                v, pos = _read_varint(value, pos)
                items.append(self.scalar(VARINT, v, f.type, where, depth))
            return items
        if f.type == "double" and wire == LEN:
            assert isinstance(value, bytes)
            if len(value) % 8:
                raise ValueError(f"protobuf: {where}: packed doubles of bad length")
            return [v for (v,) in struct.iter_unpack("<d", value)]
        if f.is_scalar:
            return [self.scalar(wire, value, f.type, where, depth)]
        if wire != LEN:
            raise ValueError(f"protobuf: {where}: expected a message, got {_WIRE_NAMES[wire]}")
        assert isinstance(value, bytes)
        return [self.message(value, f.type, where, depth + 1)]

    def wrapped_items(self, raw: bytes, f: Field, where: str, depth: int) -> list[Any]:
        """A JSON list of scalars sent as a message {1: repeated items}."""
        items: list[Any] = []
        for number, wire, value in _fields(raw):
            if number == 1:
                items.append(self.scalar(wire, value, f.type, where, depth))
        return items

    def map_entry(self, raw: bytes, f: Field, where: str, depth: int) -> tuple[str, Any]:
        key = ""
        value: Any = None
        for number, wire, v in _fields(raw):
            if number == 1:
                if wire != LEN:
                    raise ValueError(f"protobuf: {where}: map key should be a string")
                assert isinstance(v, bytes)
                key = _utf8(v, where)
            elif number == 2:
                if f.repeated:
                    if wire != LEN:
                        raise ValueError(f"protobuf: {where}: map value should be a wrapped list")
                    assert isinstance(v, bytes)
                    value = self.wrapped_items(v, f, f"{where}[{key}]", depth)
                elif f.is_scalar:
                    value = self.scalar(wire, v, f.type, f"{where}[{key}]", depth)
                else:
                    if wire != LEN:
                        raise ValueError(f"protobuf: {where}: map value should be a message")
                    assert isinstance(v, bytes)
                    value = self.message(v, f.type, f"{where}[{key}]", depth + 1)
        if value is None:
            # an entry without a value holds the type's zero value
            value = [] if f.repeated else _ZERO.get(f.type, {})
        return key, value

    def scalar(self, wire: int, value: WireValue, type_: str, where: str, depth: int) -> Any:
        if type_ in _VARINT_SCALARS:
            if wire != VARINT:
                raise ValueError(f"protobuf: {where}: expected a varint, got {_WIRE_NAMES[wire]}")
            assert isinstance(value, int)
            if type_ == "boolean":
                return value != 0
            return _signed32(value) if type_ == "int32" else _signed64(value)
        if type_ == "double":
            if wire != I64:
                raise ValueError(f"protobuf: {where}: expected a fixed64 double")
            assert isinstance(value, bytes)
            return struct.unpack("<d", value)[0]
        if wire != LEN:
            raise ValueError(f"protobuf: {where}: expected length-delimited data, got {_WIRE_NAMES[wire]}")
        assert isinstance(value, bytes)
        if type_ == "string":
            return _utf8(value, where)
        if type_ == "bytes":
            return base64.b64encode(value).decode("ascii")
        if type_ == "time":
            return _time(value, where, micro=False)
        if type_ == "microtime":
            return _time(value, where, micro=True)
        if type_ == "duration":
            return format_go_duration(_int_fields(value, where).get(1, 0))
        if type_ == "quantity":
            text = ""
            for number, w, v in _fields(value):
                if number == 1:
                    if w != LEN:
                        raise ValueError(f"protobuf: {where}: quantity string has the wrong wire type")
                    assert isinstance(v, bytes)
                    text = _utf8(v, where)
            return text or "0"  # Go's zero Quantity prints as "0"
        if type_ == "int-or-string":
            return _int_or_string(value, where)
        if type_ in ("raw", "fields-v1"):
            return _embedded_json(value, where)
        raise ValueError(f"protobuf: {where}: unknown scalar type {type_}")


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == 0 or value == {} or value == [] or value is False


def _int_fields(raw: bytes, where: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for number, wire, value in _fields(raw):
        if wire != VARINT:
            raise ValueError(f"protobuf: {where}: field {number} should be a varint")
        assert isinstance(value, int)
        out[number] = _signed64(value)
    return out


def _time(raw: bytes, where: str, *, micro: bool) -> str | None:
    if not raw:
        return None  # Go writes nothing for the zero time
    fields = _int_fields(raw, where)
    seconds, nanos = fields.get(1, 0), _signed32(fields.get(2, 0))
    if seconds == _ZERO_TIME_SECONDS and nanos == 0:
        return None
    if not 0 <= nanos < 1_000_000_000:
        raise ValueError(f"protobuf: {where}: nanoseconds {nanos} out of range")
    try:
        t = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as e:
        raise ValueError(f"protobuf: {where}: time {seconds}s out of range") from e
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_or_string(raw: bytes, where: str) -> int | str:
    kind = 0
    int_val = 0
    str_val = ""
    for number, wire, value in _fields(raw):
        if number in (1, 2):
            if wire != VARINT:
                raise ValueError(f"protobuf: {where}: int-or-string field {number} should be a varint")
            assert isinstance(value, int)
            if number == 1:
                kind = _signed64(value)
            else:
                int_val = _signed32(value)
        elif number == 3:
            if wire != LEN:
                raise ValueError(f"protobuf: {where}: int-or-string strVal should be a string")
            assert isinstance(value, bytes)
            str_val = _utf8(value, where)
    if kind == 0:
        return int_val
    if kind == 1:
        return str_val
    raise ValueError(f"protobuf: {where}: int-or-string type {kind} is neither 0 (int) nor 1 (string)")


def _embedded_json(raw: bytes, where: str) -> Any:
    data = b""
    for number, wire, value in _fields(raw):
        if number == 1:
            if wire != LEN:
                raise ValueError(f"protobuf: {where}: raw bytes have the wrong wire type")
            assert isinstance(value, bytes)
            data = value
    if not data:
        return None
    if data.startswith(MAGIC):
        raise ValueError(f"protobuf: {where}: protobuf-encoded embedded objects are not supported")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise ValueError(f"protobuf: {where}: embedded data is not JSON: {e}") from e
