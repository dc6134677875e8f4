"""Discovery documents: what the server serves, described for clients.

kubectl builds its RESTMapper (resource names, short names, categories, scope) from these
documents before almost every command, and the Google Cloud SDK dispatcher behind
/usr/bin/kubectl picks the kubectl binary from ``/version``'s ``minor``. Everything here is
derived from ``kybernetes.api.resources``; the functions are pure and return plain dicts that
the server serialises (``*_bytes`` helpers serialise once and cache).

Two formats exist:

* aggregated (``APIGroupDiscoveryList``, apidiscovery.k8s.io v2 and v2beta1): one request for
  ``/api`` and one for ``/apis``. Clients only parse it when the response Content-Type carries
  the ``g=apidiscovery.k8s.io;v=…;as=APIGroupDiscoveryList`` parameters, so the server must use
  ``AGGREGATED_CONTENT_TYPE[version]``;
* legacy: ``APIVersions`` (``/api``), ``APIGroupList`` (``/apis``), ``APIGroup``
  (``/apis/<group>``) and one ``APIResourceList`` per group-version. kubectl's ``drain`` and
  ``auth can-i`` read ``/api/v1`` even when aggregated discovery works.
"""

from __future__ import annotations

import hashlib
import platform
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import orjson

from kybernetes.api.resources import GROUP_ORDER, PREFERRED_VERSION, RESOURCES, Resource, Subresource

AggregatedVersion = Literal["v2", "v2beta1"]

AGGREGATED_CONTENT_TYPE: dict[str, str] = {
    "v2": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
    "v2beta1": "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
}

# The Kubernetes release whose API we serve. The minor decides which kubectl the Cloud SDK
# dispatcher runs (its embedded 1.32 for "32"); the "-kyb" suffix marks the implementation.
KUBERNETES_MAJOR = "1"
KUBERNETES_MINOR = "32"
GIT_VERSION = "v1.32.4-kyb"


# --------------------------------------------------------------------------------------------
# Grouping


def _groups(resources: Sequence[Resource] = RESOURCES) -> list[str]:
    """Served groups in discovery order: GROUP_ORDER first, then the others (custom resource
    groups) alphabetically."""
    served = {r.group for r in resources}
    ordered = [g for g in GROUP_ORDER if g in served]
    ordered += sorted(served - set(ordered))
    return ordered


def group_versions(group: str, resources: Sequence[Resource] = RESOURCES) -> list[str]:
    """The versions of `group`, preferred first, the rest in declaration order (custom resources
    are declared by version priority)."""
    versions: list[str] = []
    for r in resources:
        if r.group == group and r.version not in versions:
            versions.append(r.version)
    preferred = PREFERRED_VERSION.get(group)
    if preferred in versions:
        versions.remove(preferred)
        versions.insert(0, preferred)
    return versions


def _resources(group: str, version: str, resources: Sequence[Resource] = RESOURCES) -> list[Resource]:
    found = [r for r in resources if r.group == group and r.version == version]
    return sorted(found, key=lambda r: r.plural)


def _gv(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def _sub_group_version(parent: Resource, sub: Subresource) -> tuple[str, str]:
    """The responseKind group/version of a subresource ("" means the parent's)."""
    if sub.group or sub.version:
        return sub.group, sub.version or parent.version
    return parent.group, parent.version


# --------------------------------------------------------------------------------------------
# Aggregated discovery


def negotiate_discovery(accept_header: str) -> AggregatedVersion | None:
    """Which aggregated discovery version the Accept header asks for first, or None for the
    legacy documents (plain JSON, ``*/*``, or nothing we serve).

    Media ranges are tried by descending ``q`` (default 1), ties in header order.
    """
    ranges: list[tuple[float, int, str, dict[str, str]]] = []
    for index, raw in enumerate(accept_header.split(",")):
        parts = [p.strip() for p in raw.split(";")]
        media = parts[0].lower()
        if not media:
            continue
        params: dict[str, str] = {}
        for p in parts[1:]:
            key, sep, value = p.partition("=")
            if sep:
                params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if q > 0:
            ranges.append((-q, index, media, params))
    for _, _, media, params in sorted(ranges):
        if media == "application/json" and params:
            if params.get("g") == "apidiscovery.k8s.io" and params.get("as") == "APIGroupDiscoveryList":
                version = params.get("v")
                if version == "v2":
                    return "v2"
                if version == "v2beta1":
                    return "v2beta1"
            continue  # some other typed JSON (e.g. Table) we do not serve here
        if media in ("application/json", "application/*", "*/*"):
            return None
    return None


def _response_kind(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _aggregated_resource(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": _response_kind(r.group, r.version, r.kind),
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": sorted(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    if r.subresources:
        subs = []
        for s in sorted(r.subresources, key=lambda s: s.name):
            group, version = _sub_group_version(r, s)
            subs.append({
                "subresource": s.name,
                "responseKind": _response_kind(group, version, s.kind),
                "verbs": sorted(s.verbs),
            })
        entry["subresources"] = subs
    return entry


def _aggregated_group(group: str, resources: Sequence[Resource] = RESOURCES) -> dict[str, Any]:
    versions = []
    for version in group_versions(group, resources):
        versions.append({
            "version": version,
            "resources": [_aggregated_resource(r) for r in _resources(group, version, resources)],
            "freshness": "Current",
        })
    return {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}


def aggregated_discovery(api: Literal["api", "apis"], version: AggregatedVersion,
                         resources: Sequence[Resource] = RESOURCES) -> dict[str, Any]:
    """The ``APIGroupDiscoveryList`` for ``/api`` (the core group, one item named "") or
    ``/apis`` (every named group, in GROUP_ORDER)."""
    groups = [""] if api == "api" else [g for g in _groups(resources) if g]
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": [_aggregated_group(g, resources) for g in groups],
    }


@lru_cache(maxsize=8)
def aggregated_discovery_bytes(api: Literal["api", "apis"], version: AggregatedVersion) -> bytes:
    """``aggregated_discovery`` serialised once; serve with ``AGGREGATED_CONTENT_TYPE[version]``."""
    return orjson.dumps(aggregated_discovery(api, version))


# --------------------------------------------------------------------------------------------
# Legacy discovery


def api_versions(server_address: str, resources: Sequence[Resource] = RESOURCES) -> dict[str, Any]:
    """``APIVersions`` for legacy ``GET /api``; `server_address` is host:port as clients reach it."""
    return {
        "kind": "APIVersions",
        "versions": group_versions("", resources),
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, resources: Sequence[Resource] = RESOURCES) -> dict[str, Any]:
    versions = [{"groupVersion": _gv(group, v), "version": v} for v in group_versions(group, resources)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group_list(resources: Sequence[Resource] = RESOURCES) -> dict[str, Any]:
    """``APIGroupList`` for legacy ``GET /apis`` (named groups only; the core group is /api)."""
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, resources) for g in _groups(resources) if g],
    }


def api_group(group: str, resources: Sequence[Resource] = RESOURCES) -> dict[str, Any] | None:
    """``APIGroup`` for ``GET /apis/<group>``, None if the group is not served."""
    if not group or group not in _groups(resources):
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(group, resources)}


def _legacy_resource(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": sorted(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    entry["storageVersionHash"] = _storage_version_hash(r)
    return entry


def _legacy_subresource(r: Resource, s: Subresource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": f"{r.plural}/{s.name}",
        "singularName": "",
        "namespaced": r.namespaced,
    }
    group, version = _sub_group_version(r, s)
    if (group, version) != (r.group, r.version):
        # Clients (drain's eviction check) need the other group-version spelled out.
        entry["group"] = group
        entry["version"] = version
    entry["kind"] = s.kind
    entry["verbs"] = sorted(s.verbs)
    return entry


def _storage_version_hash(r: Resource) -> str:
    """An opaque token that changes when the stored group/version/resource changes."""
    stored = f"{r.group}/{r.stored_version}/{r.plural}"
    return hashlib.sha256(stored.encode()).digest()[:8].hex()


def api_resource_list(group: str, version: str,
                      resources: Sequence[Resource] = RESOURCES) -> dict[str, Any] | None:
    """``APIResourceList`` for ``GET /api/v1`` or ``GET /apis/<group>/<version>``; None if the
    group-version is not served. Subresources appear as ``<plural>/<name>`` entries."""
    served = _resources(group, version, resources)
    if not served:
        return None
    entries: list[dict[str, Any]] = []
    for r in served:
        entries.append(_legacy_resource(r))
        entries.extend(_legacy_subresource(r, s) for s in sorted(r.subresources, key=lambda s: s.name))
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": _gv(group, version), "resources": entries}


# --------------------------------------------------------------------------------------------
# /version and caching


def version_info() -> dict[str, str]:
    """The ``version.Info`` for ``GET /version``."""
    return {
        "major": KUBERNETES_MAJOR,
        "minor": KUBERNETES_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": "linux/amd64",
    }


def discovery_etag(body: bytes) -> str:
    """A strong ETag (quoted) for a discovery body; equal bodies give equal tags."""
    return '"' + hashlib.sha512(body).hexdigest().upper() + '"'
