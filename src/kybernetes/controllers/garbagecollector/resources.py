"""Which resources exist, for loops that must act on all of them (garbage collector, namespace).

Upstream asks discovery; here the built-in table (`kybernetes.api.resources.RESOURCES`) gives the
built-ins, and each Established CustomResourceDefinition adds its storage version. A resource
whose objects several versions serve (autoscaling v1/v2 HPAs) is listed once, in the version it is
stored in. `Catalog` also maps an ownerReference's (apiVersion, kind) to a resource.

Assumption: a CRD's served storage version is enough to see every object of that resource
(the API server converts between versions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kybernetes.api.resources import RESOURCES
from kybernetes.client import ResourceRef

Obj = dict[str, Any]
CRDS = ResourceRef("apiextensions.k8s.io", "v1", "customresourcedefinitions", False, "CustomResourceDefinition")

# Upstream's garbage collector ignores events (they are many and never own anything).
GC_IGNORED = frozenset({("", "events"), ("events.k8s.io", "events")})


def builtin_resources() -> list[ResourceRef]:
    """Every built-in resource that can be listed, watched and deleted, once per stored form."""
    seen: set[str] = set()
    out: list[ResourceRef] = []
    for r in RESOURCES:
        if not {"list", "watch", "delete"} <= set(r.verbs) or r.version != r.stored_version:
            continue
        if r.key_prefix() in seen:
            continue
        seen.add(r.key_prefix())
        out.append(ResourceRef(r.group, r.version, r.plural, r.namespaced, r.kind))
    return out


def crd_resource(crd: Mapping[str, Any]) -> ResourceRef | None:
    """The resource an Established CRD serves (in its storage version), or None."""
    spec = crd.get("spec") or {}
    conds = (crd.get("status") or {}).get("conditions") or []
    if not any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
        return None
    if (crd.get("metadata") or {}).get("deletionTimestamp"):
        return None
    names = spec.get("names") or {}
    versions = [v for v in spec.get("versions") or [] if v.get("served")]
    if not versions or not names.get("plural"):
        return None
    stored = next((v for v in versions if v.get("storage")), versions[0])
    return ResourceRef(str(spec.get("group") or ""), str(stored.get("name")), str(names["plural"]),
                       spec.get("scope") == "Namespaced", str(names.get("kind") or ""))


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


class Catalog:
    """The resources known now: built-ins plus those of Established CRDs."""

    def __init__(self, builtins: Iterable[ResourceRef] | None = None) -> None:
        self.builtins = list(builtin_resources() if builtins is None else builtins)
        self.custom: dict[str, ResourceRef] = {}  # by CRD name

    def set_crds(self, crds: Iterable[Mapping[str, Any]]) -> None:
        custom: dict[str, ResourceRef] = {}
        for crd in crds:
            ref = crd_resource(crd)
            if ref is not None:
                custom[str((crd.get("metadata") or {}).get("name"))] = ref
        self.custom = custom

    def all(self) -> list[ResourceRef]:
        return self.builtins + list(self.custom.values())

    def namespaced(self) -> list[ResourceRef]:
        return [r for r in self.all() if r.namespaced]

    def for_kind(self, api_version: str, kind: str) -> ResourceRef | None:
        """The resource of an ownerReference's apiVersion and kind; another served version of the
        same group and kind when that version is not served (the server converts, uids are kept)."""
        group, version = split_api_version(api_version)
        fallback = None
        for r in self.all():
            if r.group == group and r.kind == kind:
                if r.version == version:
                    return r
                fallback = fallback or r
        return fallback
