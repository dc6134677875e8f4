"""What every registered strategy adds to the generic ``Strategy``: its kind's name rule.

The store validates metadata for all kinds the same way, except for which names are legal
(DNS subdomain for most kinds, DNS label for namespaces, DNS-1035 label for services, path
segments for RBAC objects). ``validate_metadata`` is the one call the store makes for that.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategy import Obj, Strategy
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    name_is_dns_subdomain,
    validate_object_meta,
    validate_object_meta_update,
)


class KindStrategy(Strategy):
    """Base of the per-kind strategies in this package."""

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return name_is_dns_subdomain(name, prefix)


def validate_metadata(strategy: Strategy, obj: Obj, old: Obj | None = None, *,
                      require_resource_version: bool = True) -> list[Cause]:
    """metadata causes of a create (``old`` None) or an update, with the kind's name rule."""
    name_fn = getattr(strategy, "validate_name", name_is_dns_subdomain)
    meta: Any = obj.get("metadata") or {}
    if old is None:
        return validate_object_meta(meta, namespaced=strategy.resource.namespaced, name_validator=name_fn)
    return validate_object_meta_update(meta, old.get("metadata") or {},
                                       require_resource_version=require_resource_version)


def get(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]..., None where any step is missing or not an object."""
    for p in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(p)
    return obj


def spec(obj: Obj) -> Obj:
    s = obj.get("spec")
    if not isinstance(s, dict):
        s = {}
        obj["spec"] = s
    return s
