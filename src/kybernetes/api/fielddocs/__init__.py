"""Short descriptions of every built-in message and field, written by us, for OpenAPI and so
for ``kubectl explain <kind>.<path>``.

The data lives in one module per API package (``apps_v1``, ``core_v1_a`` …), each holding a
``DOCS`` table of ``{message: (description, {field: description})}``; this module merges
them. Two kinds of entry are filled in here rather than written out in every module:

* ``kind`` / ``apiVersion`` of objects that carry type metadata get one generic text each
  (a module may still say something more specific);
* ``<Kind>List`` messages (``apiVersion``, ``kind``, ``metadata``, ``items``) get a generic
  description naming their kind, unless a module describes them.
"""

from __future__ import annotations

import importlib
import importlib.util
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
LIST_METADATA_TEXT = (
    "Standard list metadata: the list's resourceVersion and, for a paged list, the continue token."
)

# Messages with both `kind` and `apiVersion` fields that name some other object rather than
# carrying their own type metadata (besides every `…Reference`).
_NAMES_ANOTHER_OBJECT = frozenset({"io.k8s.api.admissionregistration.v1.ParamKind"})

# core/v1 data is written separately; until a module exists its messages simply stay
# undescribed (tests/api/test_fielddocs.py lists what is missing).
_PENDING = ("core_v1_a", "core_v1_a2", "core_v1_b", "core_v1_b2")


def _pending_modules() -> list[ModuleType]:
    out: list[ModuleType] = []
    for name in _PENDING:
        qualified = f"{__name__}.{name}"
        if importlib.util.find_spec(qualified) is not None:
            out.append(importlib.import_module(qualified))
    return out


_MODULES: list[ModuleType] = [
    meta_v1,
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
    *_pending_modules(),
]


def carries_type_meta(msg: Message) -> bool:
    """Whether `msg`'s own `kind`/`apiVersion` describe the object itself (TypeMeta)."""
    names = {f.name for f in msg.fields}
    if not {"kind", "apiVersion"} <= names:
        return False
    return not msg.name.endswith("Reference") and msg.name not in _NAMES_ANOTHER_OBJECT


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
        if carries_type_meta(msg):
            own = fields.setdefault(name, {})
            own.setdefault("apiVersion", API_VERSION_TEXT)
            own.setdefault("kind", KIND_TEXT)
    return messages, fields


MESSAGE_DOCS, FIELD_DOCS = _merge()


def message_description(message: str) -> str:
    """Our description of the message with full name `message`; empty if there is none."""
    return MESSAGE_DOCS.get(message, "")


def field_description(message: str, field: str) -> str:
    """Our description of field `field` (its JSON name) of message `message`; empty if none."""
    return FIELD_DOCS.get(message, {}).get(field, "")
