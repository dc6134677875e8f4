"""metadata.managedFields bookkeeping: which manager wrote which fields, and how.

Field sets use upstream's FieldsV1 JSON form: ``{"f:metadata": {"f:labels": {"f:app": {}}}}``,
list items with a merge key as ``k:{"name":"web"}``, other lists as a whole. This records
ownership per manager and operation; conflict detection for server-side apply builds on it.
"""

from __future__ import annotations

import json
from typing import Any

from kybernetes.api.schema import SchemaRegistry

_SKIP_META = {"resourceVersion", "uid", "creationTimestamp", "generation", "managedFields",
              "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}


def field_set(obj: dict[str, Any], schema: SchemaRegistry | None, root: str | None,
              *, status: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if status != (k == "status"):
            continue  # a status write owns only status; other writes everything but status
        if k == "metadata" and isinstance(v, dict):
            meta = {mk: mv for mk, mv in v.items() if mk not in _SKIP_META}
            sub = _walk(meta, schema, "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
            if sub:
                out["f:metadata"] = sub
            continue
        msg = schema.get(root) if (schema and root) else None
        f = msg.field(k) if msg else None
        out[f"f:{k}"] = _value(v, schema, f.type if f else None, f.merge_key if f else None)
    return out


def _walk(d: dict[str, Any], schema: SchemaRegistry | None, msg_name: str | None) -> dict[str, Any]:
    msg = schema.get(msg_name) if (schema and msg_name) else None
    out: dict[str, Any] = {}
    for k, v in d.items():
        f = msg.field(k) if msg else None
        if f is not None and f.map and isinstance(v, dict):
            out[f"f:{k}"] = {f"f:{mk}": {} for mk in v}
            continue
        out[f"f:{k}"] = _value(v, schema, f.type if f else None, f.merge_key if f else None)
    return out


def _value(v: Any, schema: SchemaRegistry | None, type_name: str | None, merge_key: str | None) -> dict[str, Any]:
    if isinstance(v, dict):
        if type_name and schema and type_name in schema:
            return _walk(v, schema, type_name)
        return {f"f:{k}": {} for k in v}
    if isinstance(v, list) and merge_key:
        items: dict[str, Any] = {}
        for item in v:
            if isinstance(item, dict) and merge_key in item:
                ident = json.dumps({merge_key: item[merge_key]}, separators=(",", ":"))
                items[f"k:{ident}"] = {".": {}, **(_walk(item, schema, type_name) if type_name else {})}
        return items
    return {}


def record(obj: dict[str, Any], *, manager: str, operation: str, api_version: str, now: str,
           schema: SchemaRegistry | None, root: str | None, subresource: str = "") -> None:
    """Set or refresh `manager`'s entry for this write in obj.metadata.managedFields."""
    meta = obj.setdefault("metadata", {})
    entries: list[dict[str, Any]] = [e for e in meta.get("managedFields") or [] if isinstance(e, dict)]
    fields = field_set(obj, schema, root, status=subresource == "status")
    entry: dict[str, Any] = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": now,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }
    if subresource:
        entry["subresource"] = subresource
    for i, e in enumerate(entries):
        if (e.get("manager") == manager and e.get("operation") == operation
                and e.get("subresource", "") == subresource):
            entries[i] = entry
            break
    else:
        entries.append(entry)
    meta["managedFields"] = entries
