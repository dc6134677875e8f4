"""OpenAPI documents generated from the resource table and the schema registry.

* ``/openapi/v3`` is an index of one document per group-version; each entry's URL carries the
  document's hash (``?hash=<SHA-512, upper-case hex>``), so clients may cache those URLs for
  good. kubectl fetches only the group-version it needs, and the document must embed every
  schema reachable from that group-version's kinds (``apps/v1`` embeds core ``PodSpec`` …).
* ``/openapi/v2``: kubectl 1.27/1.28 fetch it eagerly in gnostic protobuf and only need a
  ``200`` they can parse: an empty body with a Go-parseable content type satisfies them, after
  which they use v3 (kubectl-wire.md §1.8). JSON clients get a Swagger 2.0 document.

Documents are built once per process (``OpenAPIBuilder`` caches its bytes); call ``warm()``
at server start to keep the first request fast.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import orjson

from kybernetes.api.resources import PREFERRED_VERSION, RESOURCES, Resource
from kybernetes.api.schema import SchemaRegistry
from kybernetes.apiserver.discovery import GIT_VERSION

from .descriptions import KIND_DESCRIPTIONS, list_description
from .paths import (
    PathItem,
    group_version_paths,
    list_message,
    message_for,
    referenced_messages,
    v2_paths,
    v3_paths,
)
from .schemas import (
    API_RESOURCE_LIST,
    DELETE_OPTIONS,
    LIST_META,
    STATUS,
    WATCH_EVENT,
    SchemaWriter,
    Style,
)

__all__ = [
    "V2_JSON_CONTENT_TYPE",
    "V2_PROTOBUF_CONTENT_TYPE",
    "V3_CONTENT_TYPE",
    "OpenAPIBuilder",
    "gv_path",
    "openapi_v2_response",
    "openapi_v3_document",
    "openapi_v3_hash",
    "openapi_v3_index",
    "warm",
]

V3_CONTENT_TYPE = "application/json"
V2_JSON_CONTENT_TYPE = "application/json"
# What kubectl 1.27/1.28 accept in reply to their gnostic protobuf request. They ask for
# "…spec.v2@v1.0+protobuf", but Go's MIME parser rejects the "@", so the "." spelling is used.
V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_TYPE_META_PROPERTIES: dict[str, Any] = {
    "apiVersion": {"description": "The versioned schema of this representation of an object.", "type": "string"},
    "kind": {"description": "The REST resource this object represents, in CamelCase.", "type": "string"},
}


def gv_path(group: str, version: str) -> str:
    """The index key of a group-version: ``api/v1`` or ``apis/<group>/<version>``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _tag(group: str, version: str) -> str:
    if not group:
        return f"core_{version}"
    parts = group.removesuffix(".k8s.io").split(".")
    return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:]) + f"_{version}"


class OpenAPIBuilder:
    """Builds and caches the documents for one resource table and schema registry."""

    def __init__(self, registry: SchemaRegistry, resources: tuple[Resource, ...] = RESOURCES) -> None:
        self.registry = registry
        self.resources = resources
        self._v3: dict[str, tuple[bytes, str]] = {}
        self._v2: bytes | None = None

    # -- what is served ----------------------------------------------------------------------

    def group_versions(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for r in self.resources:
            if (r.group, r.version) not in out:
                out.append((r.group, r.version))
        return out

    def _served_named_group_versions(self) -> list[tuple[str, str]]:
        return sorted(gv for gv in self.group_versions() if gv[0])

    # -- component metadata -------------------------------------------------------------------

    def _gvks(self) -> dict[str, list[dict[str, str]]]:
        """Component name -> the kinds it is the schema of (``x-kubernetes-group-version-kind``)."""
        out: dict[str, list[dict[str, str]]] = {}

        def add(name: str, group: str, version: str, kind: str) -> None:
            entry = {"group": group, "kind": kind, "version": version}
            if entry not in out.setdefault(name, []):
                out[name].append(entry)

        for r in self.resources:
            add(r.schema, r.group, r.version, r.kind)
            add(list_message(r), r.group, r.version, r.kind_list)
            for s in r.subresources:
                if s.name in ("status", "log"):
                    continue  # the parent kind itself
                group, version = s.group or r.group, s.version or r.version
                add(message_for(group, version, s.kind, self.resources), group, version, s.kind)
        # Meta kinds every group-version serves.
        for kind, name in (("DeleteOptions", DELETE_OPTIONS), ("WatchEvent", WATCH_EVENT)):
            add(name, "", "v1", kind)
            for group, version in self._served_named_group_versions():
                add(name, group, version, kind)
        add(STATUS, "", "v1", "Status")
        add(API_RESOURCE_LIST, "", "v1", "APIResourceList")
        for entries in out.values():
            entries.sort(key=lambda e: (e["group"], e["version"], e["kind"]))
        return out

    def _descriptions(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for r in self.resources:
            if r.kind in KIND_DESCRIPTIONS:
                out[r.schema] = KIND_DESCRIPTIONS[r.kind]
            out[list_message(r)] = list_description(r.kind)
            for s in r.subresources:
                if s.kind in KIND_DESCRIPTIONS:
                    name = message_for(s.group or r.group, s.version or r.version, s.kind, self.resources)
                    out.setdefault(name, KIND_DESCRIPTIONS[s.kind])
        out[DELETE_OPTIONS] = KIND_DESCRIPTIONS["DeleteOptions"]
        out[STATUS] = KIND_DESCRIPTIONS["Status"]
        return out

    def _list_components(self, writer: SchemaWriter) -> dict[str, dict[str, Any]]:
        """``<Kind>List`` schemas for kinds whose list message the registry does not declare."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.resources:
            name = list_message(r)
            if name in self.registry or name in out:
                continue
            out[name] = {
                "description": list_description(r.kind),
                "type": "object",
                "properties": {
                    "apiVersion": _TYPE_META_PROPERTIES["apiVersion"],
                    "items": {"description": f"The {r.kind} objects.", "type": "array", "items": writer.wrap(r.schema)},
                    "kind": _TYPE_META_PROPERTIES["kind"],
                    "metadata": writer.wrap(LIST_META, "Standard list metadata (resourceVersion, continue)."),
                },
                "required": ["items"],
            }
        return out

    def _writer(self, style: Style) -> SchemaWriter:
        writer = SchemaWriter(self.registry, style, gvks=self._gvks(), descriptions=self._descriptions())
        writer.extra = self._list_components(writer)
        return writer

    # -- v3 -----------------------------------------------------------------------------------

    def v3_document(self, group: str, version: str) -> dict[str, Any] | None:
        items: list[PathItem] = group_version_paths(group, version, self.resources)
        if not items:
            return None
        writer = self._writer("v3")
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": GIT_VERSION},
            "paths": v3_paths(items, _tag(group, version)),
            "components": {"schemas": writer.closure(sorted(referenced_messages(items)))},
        }

    def _v3_entry(self, path: str) -> tuple[bytes, str] | None:
        path = path.strip("/")
        if path not in self._v3:
            for group, version in self.group_versions():
                if gv_path(group, version) == path:
                    doc = self.v3_document(group, version)
                    assert doc is not None
                    body = orjson.dumps(doc)
                    self._v3[path] = (body, hashlib.sha512(body).hexdigest().upper())
                    break
            else:
                return None
        return self._v3[path]

    def v3_bytes(self, path: str) -> bytes | None:
        entry = self._v3_entry(path)
        return entry[0] if entry else None

    def v3_hash(self, path: str) -> str | None:
        entry = self._v3_entry(path)
        return entry[1] if entry else None

    def v3_index(self) -> dict[str, Any]:
        paths: dict[str, Any] = {}
        for group, version in self._ordered_group_versions():
            path = gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={self.v3_hash(path)}"}
        return {"paths": paths}

    def _ordered_group_versions(self) -> list[tuple[str, str]]:
        served = self.group_versions()
        groups = list(dict.fromkeys(g for g, _ in served))
        out: list[tuple[str, str]] = []
        for g in groups:
            versions = [v for gg, v in served if gg == g]
            preferred = PREFERRED_VERSION.get(g)
            if preferred in versions:
                versions.remove(preferred)
                versions.insert(0, preferred)
            out.extend((g, v) for v in versions)
        return out

    # -- v2 -----------------------------------------------------------------------------------

    def v2_document(self) -> dict[str, Any]:
        items: list[PathItem] = []
        paths: dict[str, Any] = {}
        for group, version in self._ordered_group_versions():
            gv_items = group_version_paths(group, version, self.resources)
            items.extend(gv_items)
            paths.update(v2_paths(gv_items, _tag(group, version)))
        writer = self._writer("v2")
        return {
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": GIT_VERSION},
            "paths": dict(sorted(paths.items())),
            "definitions": writer.closure(sorted(referenced_messages(items))),
        }

    def v2_bytes(self) -> bytes:
        if self._v2 is None:
            self._v2 = orjson.dumps(self.v2_document())
        return self._v2

    def v2_response(self, accept: str) -> tuple[bytes, str]:
        """Body and Content-Type for ``GET /openapi/v2``: empty "protobuf" for gnostic clients."""
        if _wants_protobuf(accept):
            return b"", V2_PROTOBUF_CONTENT_TYPE
        return self.v2_bytes(), V2_JSON_CONTENT_TYPE

    def warm(self) -> None:
        """Build every v3 document now (the index needs all their hashes)."""
        self.v3_index()


def _wants_protobuf(accept: str) -> bool:
    """Whether the first media range kubectl can be served is the gnostic protobuf one."""
    for raw in accept.split(","):
        media = raw.split(";")[0].strip().lower()
        if not media:
            continue
        if "protobuf" in media:
            return True
        if media in ("application/json", "application/*", "*/*"):
            return False
    return False


@lru_cache(maxsize=1)
def _default() -> OpenAPIBuilder:
    from kybernetes.api.schemas import REGISTRY

    return OpenAPIBuilder(REGISTRY)


def openapi_v3_index() -> dict[str, Any]:
    """The ``/openapi/v3`` index: ``{"paths": {"api/v1": {"serverRelativeURL": …}, …}}``."""
    return _default().v3_index()


def openapi_v3_document(gv: str) -> bytes | None:
    """The serialised v3 document for ``api/v1`` or ``apis/<group>/<version>``; None if unknown."""
    return _default().v3_bytes(gv)


def openapi_v3_hash(gv: str) -> str | None:
    """The hash in the index URL of a group-version's document (SHA-512, upper-case hex)."""
    return _default().v3_hash(gv)


def openapi_v2_response(accept: str) -> tuple[bytes, str]:
    """The body and Content-Type for ``GET /openapi/v2`` with this Accept header."""
    return _default().v2_response(accept)


def warm() -> None:
    _default().warm()
