"""Strategies of rbac.authorization.k8s.io/v1. RBAC names are path segments, not DNS names
(``system:controller:foo`` is a valid ClusterRole name)."""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.base import KindStrategy
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    index,
    invalid,
    name_is_path_segment,
    not_supported,
    required,
)

RBAC_GROUP = "rbac.authorization.k8s.io"


def validate_policy_rules(rules: Any, *, namespaced: bool) -> list[Cause]:
    causes: list[Cause] = []
    for i, r in enumerate(rules or []):
        p = index("rules", i)
        if not isinstance(r, dict):
            continue
        if not r.get("verbs"):
            causes.append(required(child(p, "verbs"), "verbs must contain at least one value"))
        urls = r.get("nonResourceURLs") or []
        if urls:
            if namespaced:
                causes.append(invalid(child(p, "nonResourceURLs"), urls,
                                      "namespaced rules cannot apply to non-resource URLs"))
            if r.get("apiGroups") or r.get("resources") or r.get("resourceNames"):
                causes.append(invalid(child(p, "nonResourceURLs"), urls,
                                      "rules cannot apply to both regular resources and non-resource URLs"))
            continue
        if not r.get("apiGroups"):
            causes.append(required(child(p, "apiGroups"), "resource rules must supply at least one api group"))
        if not r.get("resources"):
            causes.append(required(child(p, "resources"), "resource rules must supply at least one resource"))
    return causes


def validate_binding(obj: Obj, *, cluster: bool) -> list[Cause]:
    causes: list[Cause] = []
    ref = obj.get("roleRef") or {}
    kinds = ("ClusterRole",) if cluster else ("Role", "ClusterRole")
    if ref.get("apiGroup") != RBAC_GROUP:
        causes.append(not_supported("roleRef.apiGroup", ref.get("apiGroup") or "", (RBAC_GROUP,)))
    if ref.get("kind") not in kinds:
        causes.append(not_supported("roleRef.kind", ref.get("kind") or "", kinds))
    if not ref.get("name"):
        causes.append(required("roleRef.name"))
    else:
        causes.extend(invalid("roleRef.name", ref["name"], m) for m in name_is_path_segment(ref["name"], False))
    for i, s in enumerate(obj.get("subjects") or []):
        p = index("subjects", i)
        if not isinstance(s, dict):
            continue
        if not s.get("name"):
            causes.append(required(child(p, "name")))
        kind = s.get("kind") or ""
        if kind not in ("ServiceAccount", "User", "Group"):
            causes.append(not_supported(child(p, "kind"), kind, ("ServiceAccount", "User", "Group")))
        elif kind == "ServiceAccount":
            if s.get("apiGroup"):
                causes.append(not_supported(child(p, "apiGroup"), s["apiGroup"], ("",)))
            if cluster and not s.get("namespace"):
                causes.append(required(child(p, "namespace")))
        elif s.get("apiGroup") != RBAC_GROUP:
            causes.append(not_supported(child(p, "apiGroup"), s.get("apiGroup") or "", (RBAC_GROUP,)))
    return causes


def _role_ref_immutable(new: Obj, old: Obj) -> list[Cause]:
    if new.get("roleRef") != old.get("roleRef"):
        return [invalid("roleRef", new.get("roleRef"), "cannot change roleRef")]
    return []


class _RBACStrategy(KindStrategy):
    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return name_is_path_segment(name, prefix)


@register(RBAC_GROUP, "Role")
class RoleStrategy(_RBACStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return validate_policy_rules(obj.get("rules"), namespaced=True)


@register(RBAC_GROUP, "ClusterRole")
class ClusterRoleStrategy(_RBACStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        causes = validate_policy_rules(obj.get("rules"), namespaced=False)
        agg = obj.get("aggregationRule")
        if isinstance(agg, dict) and not agg.get("clusterRoleSelectors"):
            causes.append(required("aggregationRule.clusterRoleSelectors"))
        return causes


@register(RBAC_GROUP, "RoleBinding")
class RoleBindingStrategy(_RBACStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return validate_binding(obj, cluster=False)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + _role_ref_immutable(new, old)


@register(RBAC_GROUP, "ClusterRoleBinding")
class ClusterRoleBindingStrategy(_RBACStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return validate_binding(obj, cluster=True)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + _role_ref_immutable(new, old)


