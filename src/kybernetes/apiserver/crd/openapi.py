"""OpenAPI v3 documents of custom resource group-versions (for ``kubectl explain``).

A custom kind's component is its CRD version's ``openAPIV3Schema`` with apiVersion, kind and a
reference to ObjectMeta added, tagged with ``x-kubernetes-group-version-kind``; its list kind
gets a component too. Component names follow upstream: the group reversed, then version and
kind (``com.example.stable.v1.CronTab``), which is also the resource's ``schema`` name. Paths
are the built-in generator's, except that patches do not offer strategic merge patch (custom
resources do not take it, and kubectl picks its patch type from these documents).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import orjson

from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.api.schemas import REGISTRY
from kybernetes.apiserver.discovery import GIT_VERSION
from kybernetes.apiserver.openapi.paths import group_version_paths, referenced_messages, v3_paths
from kybernetes.apiserver.openapi.schemas import LIST_META, OBJECT_META, SchemaWriter

Obj = dict[str, Any]
_API_VERSION = {"description": "APIVersion defines the versioned schema of this representation of an object.",
                "type": "string"}
_KIND = {"description": "Kind is a string value representing the REST resource this object represents.",
         "type": "string"}


def component_name(group: str, version: str, kind: str) -> str:
    return ".".join(reversed(group.split("."))) + f".{version}.{kind}"


def kind_schema(r: Resource, writer: SchemaWriter) -> Obj:
    cv = r.custom
    base = cv.schema if cv is not None and cv.schema else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema: Obj = copy.deepcopy(base)
    props = schema.setdefault("properties", {})
    props["apiVersion"] = dict(_API_VERSION)
    props["kind"] = dict(_KIND)
    props["metadata"] = writer.wrap(OBJECT_META, "Standard object's metadata.")
    schema["type"] = "object"
    schema["x-kubernetes-group-version-kind"] = [{"group": r.group, "kind": r.kind, "version": r.version}]
    return schema


def list_schema(r: Resource, writer: SchemaWriter) -> Obj:
    return {
        "description": f"{r.kind_list} is a list of {r.kind}",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": dict(_API_VERSION),
            "items": {"description": f"List of {r.plural}.", "type": "array",
                      "items": writer.ref(component_name(r.group, r.version, r.kind))},
            "kind": dict(_KIND),
            "metadata": writer.wrap(LIST_META, "Standard list metadata."),
        },
        "x-kubernetes-group-version-kind": [{"group": r.group, "kind": r.kind_list, "version": r.version}],
    }


_SMP = "application/strategic-merge-patch+json"


def v3_document(resources: list[Resource]) -> Obj:
    writer = SchemaWriter(REGISTRY, "v3")
    custom: Obj = {}
    for r in resources:
        custom[component_name(r.group, r.version, r.kind)] = kind_schema(r, writer)
        custom[component_name(r.group, r.version, r.kind_list)] = list_schema(r, writer)
    group, version = resources[0].group, resources[0].version
    items = group_version_paths(group, version, RESOURCES + tuple(resources))
    paths = v3_paths(items, f"{group}_{version}")
    for node in paths.values():
        content = (node.get("patch") or {}).get("requestBody", {}).get("content", {})
        content.pop(_SMP, None)
    builtin = sorted((referenced_messages(items) - set(custom)) | {OBJECT_META, LIST_META})
    components: Obj = writer.closure(builtin)
    components.update(custom)
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes CRD Swagger", "version": GIT_VERSION},
            "paths": paths, "components": {"schemas": dict(sorted(components.items()))}}


def v3_documents(resources: tuple[Resource, ...]) -> dict[str, tuple[bytes, str]]:
    """``apis/<group>/<version>`` -> (document bytes, hash) for every custom group-version."""
    by_gv: dict[str, list[Resource]] = {}
    for r in resources:
        if r.custom is not None:
            by_gv.setdefault(f"apis/{r.group}/{r.version}", []).append(r)
    out: dict[str, tuple[bytes, str]] = {}
    for path, rs in sorted(by_gv.items()):
        body = orjson.dumps(v3_document(rs))
        out[path] = (body, hashlib.sha512(body).hexdigest().upper())
    return out
