"""The schema language every built-in kind is declared in.

One declaration per type feeds everything that needs to know an object's shape: protobuf
request-body decoding (field numbers), strategic merge patch (merge keys and strategies),
OpenAPI documents (types, list types, required fields), strict unknown-field checks and,
later, server-side apply. Type names are OpenAPI definition names
(``io.k8s.api.core.v1.Container``) so OpenAPI ``$ref``s need no mapping.

Objects themselves stay plain JSON dicts; this module only describes them.

Field types are one of the scalar names in ``SCALARS`` or the name of another message.
Some upstream messages are JSON scalars on the wire (Time, Quantity, IntOrString, ...):
they are declared as scalars here, because the JSON form is what users and clients see.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Scalar field types. The protobuf wire type of each is fixed by its name.
SCALARS = frozenset(
    {
        "string",
        "bytes",  # base64 string in JSON
        "boolean",
        "int32",
        "int64",
        "double",
        "time",  # RFC 3339 string, protobuf meta.v1.Time {1: seconds, 2: nanos}
        "microtime",  # RFC 3339 with microseconds, protobuf meta.v1.MicroTime
        "duration",  # Go duration string, protobuf meta.v1.Duration {1: duration int64 ns}
        "quantity",  # string like "100m", protobuf resource.Quantity {1: string}
        "int-or-string",  # protobuf intstr.IntOrString {1: type, 2: intVal, 3: strVal}
        "raw",  # any JSON, protobuf runtime.RawExtension / apiextensions JSON {1: raw bytes}
        "fields-v1",  # managedFields' fieldsV1, protobuf {1: raw bytes}
    }
)

ListType = Literal["atomic", "set", "map"]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message, named by its JSON name."""

    name: str
    number: int  # protobuf field number
    type: str  # a scalar from SCALARS or a message name
    repeated: bool = False  # a JSON list
    map: bool = False  # a JSON object with string keys and values of `type`
    required: bool = False
    merge_key: str | None = None  # x-kubernetes-patch-merge-key
    patch_strategy: str | None = None  # "merge", "replace", "retainKeys", "merge,retainKeys"
    list_type: ListType | None = None  # x-kubernetes-list-type
    list_map_keys: tuple[str, ...] = ()  # x-kubernetes-list-map-keys
    description: str = ""
    # A zero/empty value means "unset" and is left out of the JSON form (Go: `omitempty` on a
    # non-pointer field). False where an explicit zero is meaningful (pointer fields) or where
    # Go always writes the field.
    omit_empty: bool = True

    @property
    def is_scalar(self) -> bool:
        return self.type in SCALARS


@dataclass(frozen=True, slots=True)
class Message:
    """A named object type.

    ``open`` messages accept fields they do not declare (unknown fields are kept and never
    rejected under strict validation); used where a declaration is not yet complete and for
    free-form objects.
    """

    name: str
    fields: tuple[Field, ...]
    description: str = ""
    open: bool = False
    by_name: dict[str, Field] = field(default_factory=dict, compare=False, repr=False)
    by_number: dict[int, Field] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            self.by_name[f.name] = f
            self.by_number[f.number] = f

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)


class SchemaRegistry:
    """All known messages, by name. Kinds point at their top-level message."""

    def __init__(self) -> None:
        self._messages: dict[str, Message] = {}

    def add(self, *messages: Message) -> None:
        for m in messages:
            self._messages[m.name] = m

    def get(self, name: str) -> Message | None:
        return self._messages.get(name)

    def __getitem__(self, name: str) -> Message:
        return self._messages[name]

    def __contains__(self, name: object) -> bool:
        return name in self._messages

    def names(self) -> list[str]:
        return sorted(self._messages)

    def resolve_path(self, root: str, path: list[str]) -> Field | None:
        """The field reached by following JSON names from message `root` (list items and map
        values are stepped through implicitly)."""
        msg = self.get(root)
        found: Field | None = None
        for part in path:
            if msg is None:
                return None
            found = msg.field(part)
            if found is None:
                return None
            msg = None if found.is_scalar else self.get(found.type)
        return found


def F(
    name: str,
    number: int,
    type: str,
    *,
    repeated: bool = False,
    map: bool = False,
    required: bool = False,
    merge_key: str | None = None,
    patch_strategy: str | None = None,
    list_type: ListType | None = None,
    list_map_keys: tuple[str, ...] = (),
    description: str = "",
    omit_empty: bool = True,
) -> Field:
    """Shorthand used by the declaration modules."""
    return Field(
        name,
        number,
        type,
        repeated=repeated,
        map=map,
        required=required,
        merge_key=merge_key,
        patch_strategy=patch_strategy,
        list_type=list_type,
        list_map_keys=list_map_keys,
        description=description,
        omit_empty=omit_empty,
    )


def M(name: str, *fields: Field, description: str = "", open: bool = False) -> Message:
    return Message(name, tuple(fields), description=description, open=open)
