"""The shape server-side apply sees: atomic or granular structs and maps, and list semantics.

Server-side apply needs, for every list, whether it is atomic (replaced as a whole), a set of
scalars, or a map keyed by some of its items' fields; and for every struct and map whether it
is atomic. Upstream reads that from the ``+listType``/``+listMapKey``/``+structType``/
``+mapType`` markers. Our declarations carry them only sparsely (the markers are not in the
generated protobuf the declarations come from), so we derive them the way upstream derives a
schema from an OpenAPI document without ``x-kubernetes-list-type``: a list with a patch merge
key is a map keyed by it, a list of scalars with patch strategy ``merge`` is a set, anything
else is atomic. Where upstream's markers say something else, the tables below say so.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from kybernetes.api.schema import Field, SchemaRegistry
from kybernetes.api.schemas import REGISTRY

_CORE = "io.k8s.api.core.v1."
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."

# (message, field) -> map-list keys, where upstream's +listMapKey markers name more keys than
# the patch merge key, or name keys for a list without one.
LIST_MAP_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    (_CORE + "Container", "ports"): ("containerPort", "protocol"),
    (_CORE + "EphemeralContainer", "ports"): ("containerPort", "protocol"),
    (_CORE + "EphemeralContainerCommon", "ports"): ("containerPort", "protocol"),
    (_CORE + "ServiceSpec", "ports"): ("port", "protocol"),
    (_CORE + "PodSpec", "topologySpreadConstraints"): ("topologyKey", "whenUnsatisfiable"),
    (_CORE + "ResourceRequirements", "claims"): ("name",),
}

# (message, field) lists that upstream marks atomic although they carry a patch merge key.
ATOMIC_LISTS: frozenset[tuple[str, str]] = frozenset({
    ("io.k8s.api.batch.v1.JobStatus", "conditions"),
    (_CORE + "PodStatus", "hostIPs"),
})

# (message, field) lists of scalars that upstream marks +listType=set without a patch strategy.
SET_LISTS: frozenset[tuple[str, str]] = frozenset({
    ("io.k8s.api.discovery.v1.Endpoint", "addresses"),
})

# Map-list key fields that may be left out of an item because the schema defaults them.
KEY_DEFAULTS: dict[str, object] = {"protocol": "TCP"}

# Messages marked +structType=atomic upstream: owned and replaced as a whole.
ATOMIC_STRUCTS: frozenset[str] = frozenset({
    _META + "LabelSelector",
    _CORE + "NodeSelector",
    _CORE + "NodeSelectorTerm",
    _CORE + "LocalObjectReference",
    _CORE + "ObjectReference",
    _CORE + "SecretKeySelector",
    _CORE + "ConfigMapKeySelector",
    _CORE + "ObjectFieldSelector",
    _CORE + "ResourceFieldSelector",
    _CORE + "TypedLocalObjectReference",
    _CORE + "TopologySelectorTerm",
    _CORE + "ScopeSelector",
})

# (message, field) maps marked +mapType=atomic upstream.
ATOMIC_MAPS: frozenset[tuple[str, str]] = frozenset({
    (_CORE + "PodSpec", "nodeSelector"),
    (_CORE + "ServiceSpec", "selector"),
    (_CORE + "ReplicationControllerSpec", "selector"),
})


@dataclass(frozen=True, slots=True)
class T:
    """A node's type for apply. kind: scalar, struct, map, list or untyped (schema unknown:
    objects are granular, lists atomic)."""

    kind: str
    msg: str = ""  # struct: message name
    elem: T | None = None  # map values, list items
    list_kind: str = "atomic"  # lists: atomic, set or map
    keys: tuple[str, ...] = ()  # map-lists: key fields, sorted
    atomic: bool = False  # structs and maps replaced as a whole

    @property
    def granular(self) -> bool:
        """An object whose entries are merged and owned one by one."""
        return self.kind in ("struct", "map", "untyped") and not self.atomic

    @property
    def itemized(self) -> bool:
        """A list whose items are merged and owned one by one."""
        return self.kind == "list" and self.list_kind in ("set", "map")


SCALAR = T("scalar")
UNTYPED = T("untyped")
ATOMIC = T("scalar", atomic=True)


def root(message: str | None, registry: SchemaRegistry = REGISTRY) -> T:
    """The type of a whole object of the given top-level message (untyped when unknown)."""
    if not message or message not in registry:
        return UNTYPED
    return T("struct", msg=message, atomic=message in ATOMIC_STRUCTS)


def child(t: T, name: str) -> T:
    """The type of entry `name` of an object of type t."""
    if t.kind == "map":
        return t.elem or UNTYPED
    if t.kind == "struct":
        return _field_type(t.msg, name)
    return UNTYPED


@functools.lru_cache(maxsize=4096)
def _field_type(msg_name: str, name: str) -> T:
    msg = REGISTRY.get(msg_name)
    f = msg.field(name) if msg else None
    if f is None:
        return UNTYPED
    base = _base(f)
    if f.map:
        value = T("list", elem=base) if f.repeated else base
        return T("map", elem=value, atomic=(msg_name, name) in ATOMIC_MAPS)
    if f.repeated:
        kind, keys = _list_semantics(msg_name, f, base)
        return T("list", elem=base, list_kind=kind, keys=keys)
    return base


def _base(f: Field) -> T:
    if f.type == "raw":
        return UNTYPED
    if f.type == "fields-v1":
        return ATOMIC
    if f.is_scalar:
        return SCALAR
    if f.type not in REGISTRY:
        return UNTYPED
    return T("struct", msg=f.type, atomic=f.type in ATOMIC_STRUCTS)


def _list_semantics(msg_name: str, f: Field, elem: T) -> tuple[str, tuple[str, ...]]:
    key = (msg_name, f.name)
    if key in ATOMIC_LISTS:
        return "atomic", ()
    if key in LIST_MAP_KEYS:
        return "map", tuple(sorted(LIST_MAP_KEYS[key]))
    if key in SET_LISTS:
        return "set", ()
    if f.list_type == "map" and f.list_map_keys:
        return "map", tuple(sorted(f.list_map_keys))
    if f.list_type in ("atomic", "set"):
        return f.list_type, ()
    merge = "merge" in (f.patch_strategy or "").split(",")
    if merge and f.merge_key and elem.kind == "struct":
        return "map", (f.merge_key,)
    if merge and elem.kind == "scalar":
        return "set", ()
    return "atomic", ()
