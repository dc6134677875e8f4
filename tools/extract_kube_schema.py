"""Generate the built-in schema declarations from the facts a real kubectl binary carries.

Why a binary: kubectl links every k8s.io/api package. Two kinds of facts survive in it:

1. gzipped protobuf ``FileDescriptorProto``s of each ``generated.proto`` (message names, field
   names, numbers, wire types, map entries), registered by the generated Go code;
2. Go reflection data for every API struct: field order, whether a field is a pointer, and the
   struct tags (``json:"ports,omitempty" patchStrategy:"merge" patchMergeKey:"port"``), which give
   the JSON name, ``omitempty`` and the strategic-merge-patch facts.

Reading the reflection data per struct (rather than matching tag strings to fields by name and
number) removes every ambiguity, e.g. ``ports`` number 1 is merged by ``port`` in ServiceSpec but
atomic in NetworkPolicyIngressRule. ``required`` comes from the official Python client, whose
model setters refuse ``None`` for required fields.

The output is our own declaration format (``kybernetes.api.schema``), one module per API
package under ``src/kybernetes/api/schemas/``. Run::

    .venv/bin/python tools/extract_kube_schema.py [/path/to/kubectl]

Assumes a statically linked, non-PIE Go >= 1.17 amd64 ELF (absolute pointers, varint-length
reflection names), as the Google Cloud SDK kubectl builds are.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import descriptor_pb2  # type: ignore[import-untyped]

DEFAULT_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"
OUT_DIR = Path(__file__).resolve().parent.parent / "src" / "kybernetes" / "api" / "schemas"

# (Go package path, module name, Python client group prefix) for every package we declare.
PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("k8s.io/apimachinery/pkg/apis/meta/v1", "meta_v1", ""),
    ("k8s.io/api/core/v1", "core_v1", "Core"),
    ("k8s.io/api/apps/v1", "apps_v1", "Apps"),
    ("k8s.io/api/batch/v1", "batch_v1", "Batch"),
    ("k8s.io/api/autoscaling/v1", "autoscaling_v1", "Autoscaling"),
    ("k8s.io/api/autoscaling/v2", "autoscaling_v2", "Autoscaling"),
    ("k8s.io/api/networking/v1", "networking_v1", "Networking"),
    ("k8s.io/api/policy/v1", "policy_v1", "Policy"),
    ("k8s.io/api/certificates/v1", "certificates_v1", "Certificates"),
    ("k8s.io/api/coordination/v1", "coordination_v1", "Coordination"),
    ("k8s.io/api/discovery/v1", "discovery_v1", "Discovery"),
    ("k8s.io/api/events/v1", "events_v1", "Events"),
    ("k8s.io/api/scheduling/v1", "scheduling_v1", "Scheduling"),
    ("k8s.io/api/storage/v1", "storage_v1", "Storage"),
    ("k8s.io/api/rbac/v1", "rbac_v1", "Rbac"),
    ("k8s.io/api/authorization/v1", "authorization_v1", "Authorization"),
    ("k8s.io/api/authentication/v1", "authentication_v1", "Authentication"),
    ("k8s.io/api/admissionregistration/v1", "admissionregistration_v1", "Admissionregistration"),
    ("k8s.io/api/admission/v1", "admission_v1", "Admission"),
)

# Upstream messages whose JSON form is a scalar (see kybernetes.api.schema.SCALARS).
SCALAR_MESSAGES = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "time",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "microtime",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "duration",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "fields-v1",
    "k8s.io.apimachinery.pkg.api.resource.Quantity": "quantity",
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": "int-or-string",
    "k8s.io.apimachinery.pkg.runtime.RawExtension": "raw",
}

# Messages not declared, and why.
SKIPPED = {
    # JSON scalars, declared as such where used.
    "k8s.io.apimachinery.pkg.apis.meta.v1.Time": "scalar",
    "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime": "scalar",
    "k8s.io.apimachinery.pkg.apis.meta.v1.Duration": "scalar",
    "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1": "scalar",
    # The protobuf form of Time; never a JSON field.
    "k8s.io.apimachinery.pkg.apis.meta.v1.Timestamp": "internal",
    # Deprecated trie of managed fields with a custom JSON form; superseded by FieldsV1.
    "k8s.io.apimachinery.pkg.apis.meta.v1.Fields": "deprecated",
}

PROTO_SCALARS = {
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: "string",
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: "bytes",
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: "boolean",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32: "int32",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: "int64",
    descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE: "double",
}

# Explicit corrections, keyed by (OpenAPI message name, JSON field name): facts the binary does
# not carry. Each says where the fact comes from. Empty today: the reflection data resolves
# every field; keep the hook so a future fix has an obvious home.
OVERRIDES: dict[tuple[str, str], dict[str, object]] = {}

GO_KIND_PTR = 22
GO_KIND_STRUCT = 25
GZIP_MAGIC = b"\x1f\x8b\x08\x00\x00\x00\x00\x00"


def openapi_name(proto_name: str) -> str:
    """`k8s.io.api.core.v1.Pod` -> `io.k8s.api.core.v1.Pod`."""
    name = proto_name.lstrip(".")
    assert name.startswith("k8s.io."), name
    return "io.k8s." + name[len("k8s.io.") :]


# --- the binary ---------------------------------------------------------------------------


class Binary:
    """A loaded ELF file with virtual-address reads over its loaded segments."""

    def __init__(self, path: str) -> None:
        self.data = Path(path).read_bytes()
        if self.data[:4] != b"\x7fELF" or self.data[4] != 2:
            raise SystemExit(f"{path}: not a 64-bit ELF file")
        phoff, shoff = struct.unpack_from("<QQ", self.data, 0x20)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", self.data, 0x36)
        self.segments: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz)
        for i in range(phnum):
            p_type, _flags, off, vaddr, _paddr, filesz = struct.unpack_from(
                "<IIQQQQ", self.data, phoff + i * phentsize
            )
            if p_type == 1:  # PT_LOAD
                self.segments.append((vaddr, off, filesz))
        sections = [struct.unpack_from("<IIQQQQ", self.data, shoff + i * shentsize) for i in range(shnum)]
        strtab_off = sections[shstrndx][4]

        def secname(s: tuple[int, ...]) -> str:
            start = strtab_off + s[0]
            return self.data[start : self.data.index(b"\0", start)].decode()

        by_name = {secname(s): s for s in sections}
        if ".rodata" not in by_name:
            raise SystemExit(f"{path}: no .rodata section")
        # Go's reflection name offsets are relative to the start of the type data (.rodata).
        self.types_base = by_name[".rodata"][3]
        self.rodata = next(s for s in self.segments if s[0] <= self.types_base < s[0] + s[2])

    def off(self, va: int) -> int:
        for vaddr, off, size in self.segments:
            if vaddr <= va < vaddr + size:
                return off + va - vaddr
        raise ValueError(f"address {va:#x} not in a loaded segment")


def find_descriptors(data: bytes) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every gzipped FileDescriptorProto of a k8s.io generated.proto in the binary."""
    found: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    at = data.find(GZIP_MAGIC)
    while at >= 0:
        try:
            raw = zlib.decompressobj(31).decompress(data[at : at + 4_000_000])
            fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
        except Exception:  # most matches are not descriptors at all
            fd = None
        if fd is not None and fd.name.startswith("k8s.io/") and fd.name.endswith("generated.proto"):
            found[fd.name] = fd
        at = data.find(GZIP_MAGIC, at + 1)
    return found


@dataclass(frozen=True)
class GoField:
    name: str
    tag: str
    embedded: bool
    kind: int  # reflect.Kind of the field's type

    def tag_value(self, key: str) -> str | None:
        m = re.search(rf'(?:^| ){key}:"([^"]*)"', self.tag)
        return m.group(1) if m else None


def _varint(b: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return result, i


def _read_name(binary: Binary, va: int) -> tuple[int, str, str]:
    """A Go reflection name: flag byte, varint length, bytes, then an optional varint-length tag."""
    i = binary.off(va)
    data = binary.data
    flags = data[i]
    n, j = _varint(data, i + 1)
    name = data[j : j + n].decode("utf-8", "replace")
    j += n
    tag = ""
    if flags & 2:
        tn, j = _varint(data, j)
        tag = data[j : j + tn].decode("utf-8", "replace")
    return flags, name, tag


def find_go_structs(binary: Binary, packages: set[str]) -> dict[tuple[str, str], list[GoField]]:
    """Struct types of the given Go packages: (package path, type name) -> fields in order.

    Layout (amd64, Go 1.17+): abi.Type is 48 bytes (tflag at 20, kind at 23, name offset at 40),
    followed for structs by the package path name pointer and the fields slice (ptr, len, cap);
    an uncommon type (package path offset) follows at 80. Each field is (name ptr, type ptr,
    offset). We look for slice headers with len == cap that sit where a struct type puts them.
    """
    vaddr, off, size = binary.rodata
    words = memoryview(binary.data)[off : off + size // 8 * 8].cast("Q")
    lo, hi = vaddr, vaddr + size
    data = binary.data
    out: dict[tuple[str, str], list[GoField]] = {}
    for k in range(7, len(words) - 2):
        n = words[k + 1]
        if not (0 < n < 400 and words[k + 2] == n):
            continue
        ptr = words[k]
        if not (lo <= ptr < hi) or (ptr - lo) % 8:
            continue
        tstart = off + (k - 7) * 8
        if data[tstart + 23] & 0x1F != GO_KIND_STRUCT:
            continue
        tflag = data[tstart + 20]
        if not tflag & 1:  # named types only (they have an uncommon section)
            continue
        try:
            name_off = struct.unpack_from("<i", data, tstart + 40)[0]
            _, tname, _ = _read_name(binary, binary.types_base + name_off)
            pkg_off = struct.unpack_from("<i", data, tstart + 80)[0]
            _, pkg, _ = _read_name(binary, binary.types_base + pkg_off)
        except (ValueError, IndexError):
            continue
        if pkg not in packages:
            continue
        if tflag & 2:  # the name is stored with a leading "*"
            tname = tname[1:]
        first = (ptr - lo) // 8
        fields = []
        for i in range(n):
            fname_ptr, ftype_ptr = words[first + 3 * i], words[first + 3 * i + 1]
            flags, fname, ftag = _read_name(binary, fname_ptr)
            kind = data[binary.off(ftype_ptr) + 23] & 0x1F
            fields.append(GoField(fname, ftag, bool(flags & 8), kind))
        out[(pkg, tname.split(".", 1)[1])] = fields
    return out


# --- building declarations ----------------------------------------------------------------


@dataclass
class FieldDecl:
    name: str
    number: int
    type: str
    repeated: bool = False
    map: bool = False
    required: bool = False
    merge_key: str | None = None
    patch_strategy: str | None = None
    list_type: str | None = None
    list_map_keys: tuple[str, ...] = ()
    omit_empty: bool = True


@dataclass
class MessageDecl:
    name: str  # OpenAPI name
    fields: list[FieldDecl] = field(default_factory=list)
    embedded: list[tuple[int, str]] = field(default_factory=list)  # (number, message) inlined in JSON
    wrapped: list[str] = field(default_factory=list)  # JSON lists sent as {1: items} messages


class Builder:
    def __init__(
        self,
        descriptors: dict[str, descriptor_pb2.FileDescriptorProto],
        structs: dict[tuple[str, str], list[GoField]],
    ) -> None:
        self.structs = structs
        self.messages: dict[str, tuple[str, descriptor_pb2.DescriptorProto]] = {}
        for fd in descriptors.values():
            gopkg = fd.name.rsplit("/", 1)[0]
            for m in fd.message_type:
                self.messages[f"{fd.package}.{m.name}"] = (gopkg, m)
        self.built: dict[str, MessageDecl] = {}

    def _is_list_wrapper(self, proto_name: str) -> bool:
        """Go named slices (`type ExtraValue []string`) become messages `{repeated items = 1}`."""
        gopkg, m = self.messages[proto_name]
        return (
            (gopkg, m.name) not in self.structs
            and len(m.field) == 1
            and m.field[0].name == "items"
            and m.field[0].number == 1
            and m.field[0].label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
        )

    def _scalar_or_message(self, fd: descriptor_pb2.FieldDescriptorProto) -> str:
        if fd.type in PROTO_SCALARS:
            return PROTO_SCALARS[fd.type]
        if fd.type != descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
            raise SystemExit(f"unsupported protobuf type {fd.type} for {fd.name}")
        name = fd.type_name.lstrip(".")
        return SCALAR_MESSAGES.get(name) or openapi_name(name)

    def build(self, proto_name: str) -> MessageDecl:
        if proto_name in self.built:
            return self.built[proto_name]
        gopkg, m = self.messages[proto_name]
        go_fields = self.structs.get((gopkg, m.name))
        if go_fields is None and not m.field:
            go_fields = []  # an empty struct (meta.v1 Patch) has no fields slice to find
        if go_fields is None:
            raise SystemExit(f"no Go struct found for {proto_name}")
        decl = MessageDecl(openapi_name(proto_name))
        by_number = {f.number: f for f in m.field}
        nested = {f"{proto_name}.{n.name}": n for n in m.nested_type}
        seen_numbers: set[int] = set()
        for gf in go_fields:
            json_tag = gf.tag_value("json")
            pb_tag = gf.tag_value("protobuf")
            if json_tag == "-" or pb_tag == "-":
                continue
            json_name, *opts = (json_tag or "").split(",")
            if pb_tag is None:
                if gf.embedded and gf.name == "TypeMeta" and json_name == "":
                    # apiVersion and kind travel in the protobuf envelope, not the message.
                    decl.fields.append(FieldDecl("kind", 0, "string"))
                    decl.fields.append(FieldDecl("apiVersion", 0, "string"))
                    continue
                raise SystemExit(f"{proto_name}.{gf.name}: JSON field without a protobuf tag")
            number = int(pb_tag.split(",")[1])
            fd = by_number[number]
            seen_numbers.add(number)
            if json_name == "" and "inline" in opts:
                inner = self.build(fd.type_name.lstrip("."))
                decl.embedded.append((number, inner.name))
                for f in inner.fields:
                    decl.fields.append(FieldDecl(**{**f.__dict__, "number": 0}))
                continue
            decl.fields.append(self._field(decl, json_name, opts, gf, fd, nested))
        missing = set(by_number) - seen_numbers
        if missing:
            raise SystemExit(f"{proto_name}: protobuf fields {sorted(missing)} have no Go struct field")
        self.built[proto_name] = decl
        return decl

    def _field(
        self,
        decl: MessageDecl,
        json_name: str,
        opts: list[str],
        gf: GoField,
        fd: descriptor_pb2.FieldDescriptorProto,
        nested: dict[str, descriptor_pb2.DescriptorProto],
    ) -> FieldDecl:
        out = FieldDecl(json_name, fd.number, "")
        entry = nested.get(fd.type_name.lstrip("."))
        if entry is not None and entry.options.map_entry:
            out.map = True
            value = next(f for f in entry.field if f.number == 2)
            out.type = self._scalar_or_message(value)
            if value.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE and self._is_list_wrapper(
                value.type_name.lstrip(".")
            ):
                # map of string lists: the value is a {1: items} message on the wire
                out.repeated = True
                out.type = self._scalar_or_message(self.messages[value.type_name.lstrip(".")][1].field[0])
        elif fd.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE and self._is_list_wrapper(
            fd.type_name.lstrip(".")
        ):
            out.repeated = True
            out.type = self._scalar_or_message(self.messages[fd.type_name.lstrip(".")][1].field[0])
            decl.wrapped.append(json_name)
        else:
            out.type = self._scalar_or_message(fd)
            out.repeated = fd.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
        # A zero value read off the wire means "unset" only for non-pointer omitempty fields: the
        # gogo encoder always writes non-pointer fields, and writes pointer fields only when set
        # (then an explicit zero, like `replicas: 0`, is meaningful).
        out.omit_empty = "omitempty" in opts and gf.kind != GO_KIND_PTR
        out.patch_strategy = gf.tag_value("patchStrategy")
        out.merge_key = gf.tag_value("patchMergeKey")
        out.list_type = gf.tag_value("listType")
        keys = gf.tag_value("listMapKey")
        out.list_map_keys = tuple(keys.split(",")) if keys else ()
        for attr, value in OVERRIDES.get((decl.name, json_name), {}).items():
            setattr(out, attr, value)
        return out


# --- the Python client: required fields and model names -------------------------------------


# Messages the Python client does not model although a class of the same short name exists
# (V1Preconditions is meta.v1's Preconditions, not core.v1's deprecated copy).
NOT_MODELLED = {"io.k8s.api.core.v1.Preconditions"}


def python_model(group_prefix: str, openapi: str) -> type | None:
    """The official client's model class for an OpenAPI name, or None."""
    if openapi in NOT_MODELLED:
        return None
    models = importlib.import_module("kubernetes.client.models")
    parts = openapi.split(".")
    version, short = parts[-2], parts[-1]
    candidates = [f"{group_prefix}{version.capitalize()}{short}", f"{version.capitalize()}{short}"]
    for c in candidates:
        cls = getattr(models, c, None)
        if cls is not None:
            return cls  # type: ignore[no-any-return]
    return None


def required_fields(cls: type) -> set[str]:
    """JSON names of the fields whose model setters reject None."""
    src = inspect.getsource(cls)
    attrs = set(re.findall(r"Invalid value for `(\w+)`, must not be `None`", src))
    amap: dict[str, str] = cls.attribute_map  # type: ignore[attr-defined]
    return {amap[a] for a in attrs}


# --- rendering ------------------------------------------------------------------------------


def _short_types(module_prefix: str) -> dict[str, str]:
    return {"io.k8s.apimachinery.pkg.apis.meta.v1.": "META", module_prefix: "P"}


def q(s: str) -> str:
    """A double-quoted Python string literal (names never contain quotes or backslashes)."""
    assert '"' not in s and "\\" not in s, s
    return f'"{s}"'


def render_field(f: FieldDecl, prefixes: dict[str, str]) -> str:
    type_expr = q(f.type)
    for prefix, var in prefixes.items():
        if f.type.startswith(prefix):
            type_expr = f"{var} + {q(f.type[len(prefix) :])}"
    args = [q(f.name), str(f.number), type_expr]
    if f.repeated:
        args.append("repeated=True")
    if f.map:
        args.append("map=True")
    if f.required:
        args.append("required=True")
    if f.merge_key:
        args.append(f"merge_key={q(f.merge_key)}")
    if f.patch_strategy:
        args.append(f"patch_strategy={q(f.patch_strategy)}")
    if f.list_type:
        args.append(f"list_type={q(f.list_type)}")
    if f.list_map_keys:
        args.append(f"list_map_keys=({', '.join(q(k) for k in f.list_map_keys)},)")
    if not f.omit_empty:
        args.append("omit_empty=False")
    return f"F({', '.join(args)})"


def render_module(gopkg: str, source: str, decls: list[MessageDecl]) -> str:
    prefix = openapi_name(gopkg.replace("/", ".")) + "."
    prefixes = _short_types(prefix)
    lines = [
        f'"""Schema of {gopkg}: GENERATED by tools/extract_kube_schema.py, do not edit.',
        "",
        f"Source: {source}",
        "(protobuf descriptors and Go struct tags embedded in the binary; required fields from the",
        "kubernetes Python client). Field number 0 marks JSON fields that are not part of this",
        "message's protobuf form (apiVersion/kind, and fields of messages listed in EMBEDDED).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from kybernetes.api.schema import F, M, Message",
        "",
        'META = "io.k8s.apimachinery.pkg.apis.meta.v1."',
    ]
    if prefix != "io.k8s.apimachinery.pkg.apis.meta.v1.":
        lines.append(f"P = {q(prefix)}")
    else:
        prefixes = {prefix: "META"}
    lines += ["", "MESSAGES: tuple[Message, ...] = ("]
    for d in decls:
        short = d.name[len(prefix) :]
        var = "META" if prefix.startswith("io.k8s.apimachinery.pkg.apis.meta.v1.") else "P"
        if not d.fields:
            lines.append(f"    M({var} + {q(short)}),")
            continue
        lines.append("    M(")
        lines.append(f"        {var} + {q(short)},")
        for f in d.fields:
            lines.append(f"        {render_field(f, prefixes)},")
        lines.append("    ),")
    lines.append(")")
    lines.append("")
    lines.append("# Messages whose protobuf field <number> holds a message that JSON inlines into them.")
    lines.append("EMBEDDED: dict[str, tuple[tuple[int, str], ...]] = {")
    for d in decls:
        if d.embedded:
            inner = ", ".join(f"({n}, {q(name)})" for n, name in d.embedded)
            lines.append(f"    {q(d.name)}: ({inner},),")
    lines.append("}")
    lines.append("")
    lines.append("# (message, field): JSON lists that protobuf wraps in a message {1: repeated items}.")
    lines.append("WRAPPED_LISTS: frozenset[tuple[str, str]] = frozenset({")
    for d in decls:
        for w in d.wrapped:
            lines.append(f"    ({q(d.name)}, {q(w)}),")
    lines.append("})")
    return "\n".join(lines) + "\n"


def kubectl_version(path: str) -> str:
    try:
        out = subprocess.run(
            [path, "version", "--client", "-o", "yaml"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return "unknown version"
    m = re.search(r"gitVersion: (\S+)", out)
    return m.group(1) if m else "unknown version"


def iter_messages(builder: Builder, fd: descriptor_pb2.FileDescriptorProto) -> Iterator[str]:
    for m in fd.message_type:
        name = f"{fd.package}.{m.name}"
        # list wrappers are JSON lists, declared inline where used
        if name not in SKIPPED and not builder._is_list_wrapper(name):
            yield name


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("kubectl", nargs="?", default=DEFAULT_KUBECTL)
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    args = ap.parse_args(argv)

    binary = Binary(args.kubectl)
    descriptors = find_descriptors(binary.data)
    gopkgs = {p for p, _, _ in PACKAGES}
    wanted = gopkgs | {"k8s.io/apimachinery/pkg/apis/meta/v1"}
    structs = find_go_structs(binary, wanted)
    builder = Builder(descriptors, structs)
    source = f"kubectl {kubectl_version(args.kubectl)} ({Path(args.kubectl).name})"

    written: list[Path] = []
    for gopkg, module, group_prefix in PACKAGES:
        fd = descriptors.get(f"{gopkg}/generated.proto")
        if fd is None:
            raise SystemExit(f"{gopkg}: no descriptor in {args.kubectl}")
        decls = []
        for name in iter_messages(builder, fd):
            decl = builder.build(name)
            cls = python_model(group_prefix, decl.name)
            if cls is not None:
                req = required_fields(cls)
                for f in decl.fields:
                    f.required = f.name in req
            decls.append(decl)
        decls.sort(key=lambda d: d.name)
        text = render_module(gopkg, source, decls)
        (args.out / f"{module}.py").write_text(text)
        written.append(args.out / f"{module}.py")
        print(f"{module}: {len(decls)} messages", file=sys.stderr)
    # Line wrapping is left to the project's formatter.
    ruff = Path(sys.executable).with_name("ruff")
    if ruff.exists():
        subprocess.run([str(ruff), "format", "-q", *map(str, written)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
