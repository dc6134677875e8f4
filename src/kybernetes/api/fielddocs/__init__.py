"""Short descriptions of every built-in message and field, written by us, for OpenAPI and so
for ``kubectl explain <kind>.<path>``.

The data lives in one module per API package (``apps_v1``, ``core_v1_a`` …), each holding a
``DOCS`` table of ``{message: (description, {field: description})}``; this module merges
them. Two kinds of entry are filled in here rather than written out in every module:

* ``kind`` / ``apiVersion`` of objects that carry type metadata get one generic text each,
  and those of references to other objects (``ObjectReference`` …) another (a module may
  still say something more specific);
* ``<Kind>List`` messages (``apiVersion``, ``kind``, ``metadata``, ``items``) get a generic
  description naming their kind, unless a module describes them.
"""

from __future__ import annotations

from types import ModuleType

from kybernetes.api.schema import Message
from kybernetes.api.schemas import REGISTRY

from . import (
    admission_v1,
    admissionregistration_v1,
    apiextensions_v1,
    apps_v1,
    authentication_v1,
    authorization_v1,
    autoscaling_v1,
    autoscaling_v2,
    batch_v1,
    certificates_v1,
    coordination_v1,
    core_v1_a,
    core_v1_a2,
    core_v1_b,
    core_v1_b2,
    discovery_v1,
    events_v1,
    meta_v1,
    networking_v1,
    policy_v1,
    rbac_v1,
    scheduling_v1,
    storage_v1,
)

__all__ = ["FIELD_DOCS", "MESSAGE_DOCS", "field_description", "message_description"]

API_VERSION_TEXT = (
    "The schema version of this object, such as v1 or apps/v1. The server accepts every version "
    "it serves and converts between them."
)
KIND_TEXT = "The type of this object, in CamelCase, such as Pod or Deployment. It must match the endpoint it is sent to."
REFERENCE_API_VERSION_TEXT = "The API version of the object referred to, such as v1 or apps/v1."
REFERENCE_KIND_TEXT = "The kind of the object referred to, such as Pod or Deployment."
LIST_METADATA_TEXT = (
    "Standard list metadata: the list's resourceVersion and, for a paged list, the continue token."
)

# Names another object's type without being a `…Reference` (those are recognised by name).
_PARAM_KIND = "io.k8s.api.admissionregistration.v1.ParamKind"

_MODULES: list[ModuleType] = [
    meta_v1,
    core_v1_a,
    core_v1_a2,
    core_v1_b,
    core_v1_b2,
    apps_v1,
    batch_v1,
    autoscaling_v1,
    autoscaling_v2,
    networking_v1,
    policy_v1,
    certificates_v1,
    coordination_v1,
    discovery_v1,
    events_v1,
    scheduling_v1,
    storage_v1,
    rbac_v1,
    authorization_v1,
    authentication_v1,
    admissionregistration_v1,
    admission_v1,
    apiextensions_v1,
]


def refers_to_another_object(msg: Message) -> bool:
    """Whether `msg`'s `kind`/`apiVersion` name the type of some other object (a reference)."""
    # SerializedReference is an envelope without a name: its own kind and apiVersion are type metadata.
    return (msg.name.endswith("Reference") and msg.field("name") is not None) or msg.name == _PARAM_KIND


def carries_type_meta(msg: Message) -> bool:
    """Whether `msg`'s own `kind`/`apiVersion` describe the object itself (TypeMeta)."""
    names = {f.name for f in msg.fields}
    return {"kind", "apiVersion"} <= names and not refers_to_another_object(msg)


def _generic_texts(msg: Message) -> dict[str, str]:
    """Texts for `kind`/`apiVersion` of `msg` that apply when no module describes them."""
    if carries_type_meta(msg):
        return {"apiVersion": API_VERSION_TEXT, "kind": KIND_TEXT}
    if refers_to_another_object(msg):
        texts = {"apiVersion": REFERENCE_API_VERSION_TEXT, "kind": REFERENCE_KIND_TEXT}
        return {name: text for name, text in texts.items() if msg.field(name) is not None}
    return {}


def _list_item_kind(msg: Message) -> str | None:
    """The item kind of a plain ``<Kind>List`` message, None for any other message."""
    if not msg.name.endswith("List"):
        return None
    if {f.name for f in msg.fields} != {"apiVersion", "kind", "metadata", "items"}:
        return None
    items = msg.field("items")
    assert items is not None
    return items.type.rsplit(".", 1)[-1]


def _merge() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    messages: dict[str, str] = {}
    fields: dict[str, dict[str, str]] = {}
    for module in _MODULES:
        docs: dict[str, tuple[str, dict[str, str]]] = module.DOCS
        for name, (description, by_field) in docs.items():
            if name in messages:
                raise ValueError(f"{name} is described twice (again in {module.__name__})")
            messages[name] = description
            fields[name] = dict(by_field)
    for name in REGISTRY.names():
        msg = REGISTRY[name]
        kind = _list_item_kind(msg)
        if kind is not None and name not in messages:
            messages[name] = f"A list of {kind} objects."
            fields[name] = {"items": f"The {kind} objects in this list.", "metadata": LIST_METADATA_TEXT}
        for field, text in _generic_texts(msg).items():
            fields.setdefault(name, {}).setdefault(field, text)
    return messages, fields


MESSAGE_DOCS, FIELD_DOCS = _merge()


def message_description(message: str) -> str:
    """Our description of the message with full name `message`; empty if there is none."""
    return MESSAGE_DOCS.get(message, "")


def field_description(message: str, field: str) -> str:
    """Our description of field `field` (its JSON name) of message `message`; empty if none."""
    return FIELD_DOCS.get(message, {}).get(field, "")
