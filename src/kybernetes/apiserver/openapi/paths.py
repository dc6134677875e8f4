"""OpenAPI operations for the REST endpoints of one group-version.

What kubectl needs from ``paths`` (measured, see kubectl-wire.md §1.8):

* every ``patch`` operation carries ``x-kubernetes-group-version-kind`` (an object) and a
  ``fieldValidation`` query parameter *on the operation*: kubectl walks the paths in random
  order and decides from the first ``patch`` with the kind's GVK whether the server validates
  fields, so status and scale ``patch`` operations must carry it too;
* the ``patch`` request body lists ``application/strategic-merge-patch+json`` (client-side
  apply then computes a strategic merge patch from the schemas);
* ``explain`` finds a kind from ``…/<plural>``, ``…/<plural>/{name}`` or their
  ``namespaces/{namespace}/`` forms and the GVK on one of their operations.

Operations are described in a neutral form (``Operation``) so the v2 and v3 writers share it.
The deprecated ``/watch/`` paths are not described.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.resources import Resource, Subresource

from .schemas import DELETE_OPTIONS, PATCH, STATUS, WATCH_EVENT

PATCH_CONTENT_TYPES = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)
OBJECT_CONTENT_TYPES = ("application/json", "application/yaml", "application/vnd.kubernetes.protobuf")
WATCH_CONTENT_TYPES = ("application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch")


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: str  # "string" | "boolean" | "integer"
    description: str
    location: str = "query"

    def required(self) -> bool:
        return self.location == "path"


_P = Param
PRETTY = _P("pretty", "string", "If 'true', the output is indented.")
NAME = _P("name", "string", "The name of the object.", "path")
NAMESPACE = _P("namespace", "string", "The namespace of the objects.", "path")
DRY_RUN = _P("dryRun", "string", "'All' runs every stage of the request except persisting it.")
FIELD_MANAGER = _P("fieldManager", "string", "The name of the actor making the change, for field ownership.")
FIELD_VALIDATION = _P(
    "fieldValidation", "string",
    "What to do with unknown or duplicate fields in the body: Ignore, Warn (default) or Strict.",
)
FORCE = _P("force", "boolean", "For apply patches: take over fields owned by other managers.")
GRACE = _P("gracePeriodSeconds", "integer", "Seconds to wait before deleting; 0 deletes at once.")
ORPHAN = _P("orphanDependents", "boolean", "Deprecated: use propagationPolicy.")
PROPAGATION = _P("propagationPolicy", "string", "Orphan, Background or Foreground garbage collection of dependents.")
LIST_PARAMS = (
    _P("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events in a watch."),
    _P("continue", "string", "The continue token of the previous page of a chunked list."),
    _P("fieldSelector", "string", "Select objects by field values; all objects when absent."),
    _P("labelSelector", "string", "Select objects by labels; all objects when absent."),
    _P("limit", "integer", "The most objects to return in one page."),
    _P("resourceVersion", "string", "The resource version a list or watch is served from."),
    _P("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    _P("sendInitialEvents", "boolean", "Start a watch with the current objects as ADDED events."),
    _P("timeoutSeconds", "integer", "End the list or watch after this many seconds."),
    _P("watch", "boolean", "Stream changes instead of returning a list."),
)
WRITE_PARAMS = (DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION)
DELETE_PARAMS = (DRY_RUN, GRACE, ORPHAN, PROPAGATION)


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # get | post | put | patch | delete
    action: str  # x-kubernetes-action
    operation_id: str
    description: str
    gvk: dict[str, str]
    response: str  # component name of the 200 body ("" for plain text)
    params: tuple[Param, ...] = ()
    body: str = ""  # component name of the request body
    body_types: tuple[str, ...] = ()
    created: bool = False  # also answers 201 (and 202 for deletes)
    watchable: bool = False
    text_response: bool = False


@dataclass(slots=True)
class PathItem:
    path: str
    params: tuple[Param, ...]
    operations: list[Operation] = field(default_factory=list)


def message_for(group: str, version: str, kind: str, resources: tuple[Resource, ...]) -> str:
    """The component name of a kind: its resource's schema when served, else upstream's
    naming (``io.k8s.api.<first label of the group, or core>.<version>.<Kind>``)."""
    for r in resources:
        if (r.group, r.version, r.kind) == (group, version, kind):
            return r.schema
    package = group.split(".")[0] if group else "core"
    return f"io.k8s.api.{package}.{version}.{kind}"


def list_message(r: Resource) -> str:
    return r.schema.rsplit(".", 1)[0] + "." + r.kind_list


def _id_part(group: str, version: str) -> str:
    if not group:
        label = "Core"
    else:
        label = "".join(p[:1].upper() + p[1:] for p in group.removesuffix(".k8s.io").split("."))
    return label + version[:1].upper() + version[1:]


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


def resource_paths(r: Resource, resources: tuple[Resource, ...]) -> list[PathItem]:
    """The path items of one resource: collection, item, all-namespaces list, subresources."""
    prefix = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    base = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{prefix}/{r.plural}"
    scope = (NAMESPACE,) if r.namespaced else ()
    ns = "Namespaced" if r.namespaced else ""
    gv = _id_part(r.group, r.version)
    gvk = _gvk(r.group, r.version, r.kind)
    obj, lst = r.schema, list_message(r)
    verbs = set(r.verbs)
    items: list[PathItem] = []

    collection = PathItem(base, (*scope, PRETTY))
    if "list" in verbs:
        collection.operations.append(Operation(
            "get", "list", f"list{gv}{ns}{r.kind}", f"list or watch objects of kind {r.kind}", gvk, lst,
            params=LIST_PARAMS, watchable=True,
        ))
    if "create" in verbs:
        collection.operations.append(Operation(
            "post", "post", f"create{gv}{ns}{r.kind}", f"create a {r.kind}", gvk, obj,
            params=WRITE_PARAMS, body=obj, body_types=OBJECT_CONTENT_TYPES, created=True,
        ))
    if "deletecollection" in verbs:
        collection.operations.append(Operation(
            "delete", "deletecollection", f"delete{gv}Collection{ns}{r.kind}", f"delete collection of {r.kind}",
            gvk, STATUS, params=(*LIST_PARAMS, *DELETE_PARAMS), body=DELETE_OPTIONS,
            body_types=OBJECT_CONTENT_TYPES,
        ))
    if collection.operations:
        items.append(collection)

    item = PathItem(f"{base}/{{name}}", (NAME, *scope, PRETTY))
    if "get" in verbs:
        item.operations.append(Operation("get", "get", f"read{gv}{ns}{r.kind}", f"read the specified {r.kind}", gvk, obj))
    if "update" in verbs:
        item.operations.append(Operation(
            "put", "put", f"replace{gv}{ns}{r.kind}", f"replace the specified {r.kind}", gvk, obj,
            params=WRITE_PARAMS, body=obj, body_types=OBJECT_CONTENT_TYPES, created=True,
        ))
    if "patch" in verbs:
        item.operations.append(Operation(
            "patch", "patch", f"patch{gv}{ns}{r.kind}", f"partially update the specified {r.kind}", gvk, obj,
            params=(*WRITE_PARAMS, FORCE), body=PATCH, body_types=PATCH_CONTENT_TYPES, created=True,
        ))
    if "delete" in verbs:
        item.operations.append(Operation(
            "delete", "delete", f"delete{gv}{ns}{r.kind}", f"delete a {r.kind}", gvk, obj,
            params=DELETE_PARAMS, body=DELETE_OPTIONS, body_types=OBJECT_CONTENT_TYPES, created=True,
        ))
    if item.operations:
        items.append(item)

    if r.namespaced and "list" in verbs:
        everywhere = PathItem(f"{prefix}/{r.plural}", (PRETTY,))
        everywhere.operations.append(Operation(
            "get", "list", f"list{gv}{r.kind}ForAllNamespaces", f"list or watch objects of kind {r.kind}",
            gvk, lst, params=LIST_PARAMS, watchable=True,
        ))
        items.append(everywhere)

    for sub in sorted(r.subresources, key=lambda s: s.name):
        items.append(_subresource_path(r, sub, f"{base}/{{name}}/{sub.name}", scope, gv, ns, resources))
    return items


def _subresource_path(
    r: Resource, sub: Subresource, path: str, scope: tuple[Param, ...], gv: str, ns: str,
    resources: tuple[Resource, ...],
) -> PathItem:
    group = sub.group or r.group
    version = sub.version or r.version
    gvk = _gvk(group, version, sub.kind)
    message = message_for(group, version, sub.kind, resources)
    label = sub.name[:1].upper() + sub.name[1:]
    op_id = f"{gv}{ns}{r.kind}{label}"
    out = PathItem(path, (NAME, *scope, PRETTY))
    verbs = set(sub.verbs)
    if sub.name in ("exec", "attach", "portforward", "proxy"):
        # Streaming subresources: upgraded connections, described as connect actions.
        for method in ("get", "post"):
            if ("get" if method == "get" else "create") in verbs:
                out.operations.append(Operation(
                    method, "connect", f"connect{method.capitalize()}{op_id}",
                    f"connect {method.upper()} requests to {sub.name} of {r.kind}", gvk, "", text_response=True,
                ))
        return out
    if sub.name == "log":
        out.operations.append(Operation(
            "get", "get", f"read{op_id}", f"read log of the specified {r.kind}", gvk, "", text_response=True,
        ))
        return out
    if "get" in verbs:
        out.operations.append(Operation("get", "get", f"read{op_id}", f"read {sub.name} of the specified {r.kind}", gvk, message))
    if "create" in verbs:
        out.operations.append(Operation(
            "post", "post", f"create{op_id}", f"create {sub.name} of a {r.kind}", gvk, message,
            params=WRITE_PARAMS, body=message, body_types=OBJECT_CONTENT_TYPES, created=True,
        ))
    if "update" in verbs:
        out.operations.append(Operation(
            "put", "put", f"replace{op_id}", f"replace {sub.name} of the specified {r.kind}", gvk, message,
            params=WRITE_PARAMS, body=message, body_types=OBJECT_CONTENT_TYPES, created=True,
        ))
    if "patch" in verbs:
        out.operations.append(Operation(
            "patch", "patch", f"patch{op_id}", f"partially update {sub.name} of the specified {r.kind}", gvk, message,
            params=(*WRITE_PARAMS, FORCE), body=PATCH, body_types=PATCH_CONTENT_TYPES, created=True,
        ))
    return out


def group_version_paths(group: str, version: str, resources: tuple[Resource, ...]) -> list[PathItem]:
    served = sorted((r for r in resources if (r.group, r.version) == (group, version)), key=lambda r: r.plural)
    items: list[PathItem] = []
    for r in served:
        items.extend(resource_paths(r, resources))
    return sorted(items, key=lambda p: p.path)


def referenced_messages(items: list[PathItem]) -> set[str]:
    out: set[str] = set()
    for item in items:
        for op in item.operations:
            out.update(n for n in (op.response, op.body) if n)
            if op.watchable:
                out.add(WATCH_EVENT)
    return out


# --------------------------------------------------------------------------------------------
# v3 writer


def _v3_param(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.location, "description": p.description, "schema": {"type": p.type}}
    if p.required():
        out["required"] = True
    return out


def _v3_content(types: tuple[str, ...], ref: str) -> dict[str, Any]:
    return {t: {"schema": {"$ref": ref}} for t in types}


def v3_paths(items: list[PathItem], tag: str) -> dict[str, Any]:
    prefix = "#/components/schemas/"
    out: dict[str, Any] = {}
    for item in items:
        node: dict[str, Any] = {}
        for op in item.operations:
            if op.text_response:
                ok: dict[str, Any] = {"description": "OK", "content": {"*/*": {"schema": {"type": "string"}}}}
            else:
                types = OBJECT_CONTENT_TYPES + (WATCH_CONTENT_TYPES if op.watchable else ())
                ok = {"description": "OK", "content": _v3_content(types, prefix + op.response)}
            responses: dict[str, Any] = {"200": ok}
            if op.created and not op.text_response:
                code, text = ("202", "Accepted") if op.method == "delete" else ("201", "Created")
                responses[code] = {"description": text, "content": _v3_content(OBJECT_CONTENT_TYPES, prefix + op.response)}
            responses["401"] = {"description": "Unauthorized"}
            operation: dict[str, Any] = {
                "description": op.description,
                "operationId": op.operation_id,
                "tags": [tag],
            }
            if op.params:
                operation["parameters"] = [_v3_param(p) for p in op.params]
            if op.body:
                operation["requestBody"] = {
                    "content": _v3_content(op.body_types, prefix + op.body),
                    "required": op.method != "delete",
                }
            operation["responses"] = responses
            operation["x-kubernetes-action"] = op.action
            operation["x-kubernetes-group-version-kind"] = op.gvk
            node[op.method] = operation
        node["parameters"] = [_v3_param(p) for p in item.params]
        out[item.path] = node
    return out


# --------------------------------------------------------------------------------------------
# v2 writer


def _v2_param(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.location, "description": p.description, "type": p.type}
    if p.required():
        out["required"] = True
    return out


def v2_paths(items: list[PathItem], tag: str) -> dict[str, Any]:
    prefix = "#/definitions/"
    out: dict[str, Any] = {}
    for item in items:
        node: dict[str, Any] = {}
        for op in item.operations:
            ok: dict[str, Any] = {"description": "OK", "schema": {"type": "string"} if op.text_response else {"$ref": prefix + op.response}}
            responses: dict[str, Any] = {"200": ok}
            if op.created and not op.text_response:
                code, text = ("202", "Accepted") if op.method == "delete" else ("201", "Created")
                responses[code] = {"description": text, "schema": {"$ref": prefix + op.response}}
            responses["401"] = {"description": "Unauthorized"}
            params = [_v2_param(p) for p in op.params]
            if op.body:
                params.insert(0, {"name": "body", "in": "body", "required": op.method != "delete",
                                  "schema": {"$ref": prefix + op.body}})
            operation: dict[str, Any] = {
                "description": op.description,
                "operationId": op.operation_id,
                "consumes": list(op.body_types) if op.body else ["*/*"],
                "produces": ["*/*"] if op.text_response else list(OBJECT_CONTENT_TYPES + (WATCH_CONTENT_TYPES if op.watchable else ())),
                "schemes": ["https"],
                "tags": [tag],
                "responses": responses,
                "x-kubernetes-action": op.action,
                "x-kubernetes-group-version-kind": op.gvk,
            }
            if params:
                operation["parameters"] = params
            node[op.method] = operation
        node["parameters"] = [_v2_param(p) for p in item.params]
        out[item.path] = node
    return out
