"""Metadata validation every kind shares, with the name rule each kind uses upstream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kybernetes.api.resources import Resource
from kybernetes.machinery import validation
from kybernetes.machinery.errors import Cause

# Name rules upstream applies per kind (ValidateNamespaceName is a DNS-1123 label,
# ValidateServiceName a DNS-1035 label; most kinds are DNS-1123 subdomains).
_LABEL_NAMED = {("", "Namespace")}
_DNS1035_NAMED = {("", "Service")}
# RBAC objects only need names that are valid path segments.
_PATH_SEGMENT_NAMED = {"rbac.authorization.k8s.io"}


def name_validator_for(resource: Resource) -> Callable[[str, bool], list[str]]:
    if (resource.group, resource.kind) in _LABEL_NAMED:
        return validation.name_is_dns_label
    if (resource.group, resource.kind) in _DNS1035_NAMED:
        return validation.name_is_dns1035_label
    if resource.group in _PATH_SEGMENT_NAMED:
        return validation.name_is_path_segment
    return validation.name_is_dns_subdomain


_KUBE_FINALIZER_RULE = "name is neither a standard finalizer name nor is it fully qualified"


def _generic(resource: Resource, causes: list[Cause]) -> list[Cause]:
    """CRDs and custom resources get apimachinery's generic ObjectMeta rules, which take any
    qualified finalizer name (the CRD cleanup finalizer has no "/")."""
    if resource.custom is None and resource.group != "apiextensions.k8s.io":
        return causes
    return [c for c in causes if not c.message.endswith(_KUBE_FINALIZER_RULE)]


def validate_meta(resource: Resource, obj: dict[str, Any]) -> list[Cause]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return [Cause("FieldValueRequired", "Required value", "metadata")]
    return _generic(resource, validation.validate_object_meta(meta, namespaced=resource.namespaced,
                                                              name_validator=name_validator_for(resource)))


def validate_meta_update(resource: Resource, new: dict[str, Any], old: dict[str, Any]) -> list[Cause]:
    causes = validate_meta(resource, new)
    causes += _generic(resource, validation.validate_object_meta_update(new.get("metadata") or {},
                                                                        old.get("metadata") or {}))
    return causes
