"""JSON Schemas for OpenAPI ``components.schemas`` (v3) and ``definitions`` (v2), written from
the schema language (``kybernetes.api.schema``).

kubectl reads these for ``explain`` (types and descriptions, following references), for
client-side apply's strategic merge patch (``x-kubernetes-patch-merge-key``,
``x-kubernetes-patch-strategy``, list types) and to find a kind's schema by its
``x-kubernetes-group-version-kind`` list. The forms follow what upstream servers publish:

* v3 wraps references to other messages as ``{"allOf": [{"$ref": …}]}`` so that siblings such
  as ``description`` stay valid; v2 uses a bare ``$ref`` with siblings;
* scalars that are Go types upstream (Time, Quantity, IntOrString, …) are named components,
  so ``explain`` prints ``<Quantity>`` / ``<IntOrString>`` where upstream does, and ``<string>``
  for times (their component has ``type: string``).

A reference to a message the registry does not declare becomes a permissive placeholder
(an object that keeps unknown fields), so a document never holds a dangling ``$ref``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from kybernetes.api.fielddocs import field_description, message_description
from kybernetes.api.schema import Field, Message, SchemaRegistry

Style = Literal["v3", "v2"]

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
TIME = META + "Time"
MICRO_TIME = META + "MicroTime"
FIELDS_V1 = META + "FieldsV1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
RAW_EXTENSION = "io.k8s.apimachinery.pkg.runtime.RawExtension"
PATCH = META + "Patch"
WATCH_EVENT = META + "WatchEvent"
STATUS = META + "Status"
DELETE_OPTIONS = META + "DeleteOptions"
LIST_META = META + "ListMeta"
OBJECT_META = META + "ObjectMeta"
API_RESOURCE_LIST = META + "APIResourceList"

# Scalars of the schema language that are named components upstream.
SCALAR_COMPONENTS = {
    "time": TIME,
    "microtime": MICRO_TIME,
    "quantity": QUANTITY,
    "int-or-string": INT_OR_STRING,
    "raw": RAW_EXTENSION,
    "fields-v1": FIELDS_V1,
}

# Scalars written in place.
_INLINE: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "bytes": {"type": "string", "format": "byte"},
    "boolean": {"type": "boolean"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "double": {"type": "number", "format": "double"},
    "duration": {"type": "string"},
}


def scalar_component(name: str, style: Style) -> dict[str, Any] | None:
    """The component schema of a named scalar type, None for any other name."""
    if name in (TIME, MICRO_TIME):
        precision = "microseconds" if name == MICRO_TIME else "seconds"
        return {
            "description": f"A timestamp in RFC 3339 form, with {precision} precision.",
            "type": "string",
            "format": "date-time",
        }
    if name == QUANTITY:
        description = "A fixed-point amount with an optional SI or binary suffix, such as 100m, 1.5 or 2Gi."
        if style == "v2":
            return {"description": description, "type": "string"}
        # A number is accepted too (YAML authors write `cpu: 1`).
        return {"description": description, "oneOf": [{"type": "string"}, {"type": "number"}]}
    if name == INT_OR_STRING:
        description = "A value that is either an integer or a string, such as 8080 or \"http\"."
        if style == "v2":
            return {"description": description, "type": "string", "format": "int-or-string"}
        return {
            "description": description,
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        }
    if name == RAW_EXTENSION:
        return {
            "description": "An embedded object, kept as written.",
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    if name == FIELDS_V1:
        return {"description": "The set of fields a manager owns, in the fieldsV1 encoding.", "type": "object"}
    return None


def builtin_component(name: str, writer: SchemaWriter) -> dict[str, Any] | None:
    """Meta components that exist for documents' own sake when the registry lacks them."""
    if name == PATCH:
        return {"description": "The body of a PATCH request; its form is given by the Content-Type.", "type": "object"}
    if name == WATCH_EVENT:
        return {
            "description": "One event of a watch stream.",
            "type": "object",
            "required": ["type", "object"],
            "properties": {
                "type": {"description": "ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.", "type": "string"},
                "object": writer.wrap(RAW_EXTENSION, "The object the event is about, or a Status for ERROR."),
            },
        }
    return None


def placeholder_component(name: str) -> dict[str, Any]:
    short = name.rsplit(".", 1)[-1]
    return {
        "description": f"{short} (its fields are not described by this server yet).",
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
    }


class SchemaWriter:
    """Writes component schemas in one style for one document."""

    def __init__(
        self,
        registry: SchemaRegistry,
        style: Style,
        *,
        gvks: Mapping[str, list[dict[str, str]]] | None = None,
        descriptions: Mapping[str, str] | None = None,
        extra: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        self.registry = registry
        self.style = style
        self.gvks = gvks or {}
        self.descriptions = descriptions or {}
        self.extra = extra or {}
        self.prefix = "#/components/schemas/" if style == "v3" else "#/definitions/"

    # -- references --------------------------------------------------------------------------

    def ref(self, name: str) -> dict[str, Any]:
        return {"$ref": self.prefix + name}

    def wrap(self, name: str, description: str = "") -> dict[str, Any]:
        """A use of the component `name` where siblings (description) may follow."""
        out: dict[str, Any] = {"allOf": [self.ref(name)]} if self.style == "v3" else self.ref(name)
        if description:
            out["description"] = description
        return out

    # -- fields and messages -----------------------------------------------------------------

    def _value(self, type_name: str) -> dict[str, Any]:
        """The schema of one value of `type_name` (a list item, a map value, or a field)."""
        if type_name in _INLINE:
            return dict(_INLINE[type_name])
        component = SCALAR_COMPONENTS.get(type_name, type_name)
        return self.wrap(component)

    def field_schema(self, f: Field, message: str = "") -> dict[str, Any]:
        """The schema of field `f` of the message named `message` (which finds its description)."""
        value = self._value(f.type)
        out: dict[str, Any]
        if f.repeated and f.map:
            out = {"type": "object", "additionalProperties": {"type": "array", "items": value}}
        elif f.repeated:
            out = {"type": "array", "items": value}
        elif f.map:
            out = {"type": "object", "additionalProperties": value}
        else:
            out = value
        description = f.description or field_description(message, f.name)
        if description:
            out["description"] = description
        if f.merge_key:
            out["x-kubernetes-patch-merge-key"] = f.merge_key
        if f.patch_strategy:
            out["x-kubernetes-patch-strategy"] = f.patch_strategy
        if f.list_type:
            out["x-kubernetes-list-type"] = f.list_type
        if f.list_map_keys:
            out["x-kubernetes-list-map-keys"] = list(f.list_map_keys)
        return out

    def message_schema(self, msg: Message) -> dict[str, Any]:
        out: dict[str, Any] = {}
        description = msg.description or message_description(msg.name) or self.descriptions.get(msg.name, "")
        if description:
            out["description"] = description
        out["type"] = "object"
        if msg.fields:
            out["properties"] = {f.name: self.field_schema(f, msg.name) for f in sorted(msg.fields, key=lambda f: f.name)}
        required = [f.name for f in msg.fields if f.required]
        if required:
            out["required"] = required
        if msg.open:
            out["x-kubernetes-preserve-unknown-fields"] = True
        return out

    def component(self, name: str) -> dict[str, Any]:
        """The schema of component `name` from whichever source knows it."""
        if name in self.extra:
            schema = dict(self.extra[name])
        else:
            msg = self.registry.get(name)
            if msg is not None:
                schema = self.message_schema(msg)
            else:
                schema = (
                    scalar_component(name, self.style)
                    or builtin_component(name, self)
                    or placeholder_component(name)
                )
        if name in self.gvks:
            schema["x-kubernetes-group-version-kind"] = self.gvks[name]
        return schema

    def closure(self, roots: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Every component reachable from `roots`, sorted by name."""
        out: dict[str, dict[str, Any]] = {}
        pending = list(roots)
        while pending:
            name = pending.pop()
            if name in out:
                continue
            schema = self.component(name)
            out[name] = schema
            pending.extend(n for n in referenced(schema, self.prefix) if n not in out)
        return dict(sorted(out.items()))


def referenced(node: Any, prefix: str) -> set[str]:
    """Names of the components a schema fragment refers to."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                found.add(ref[len(prefix):])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
