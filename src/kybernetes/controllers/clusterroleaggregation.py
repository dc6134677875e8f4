"""ClusterRole aggregation: a ClusterRole with an aggregationRule holds the union of the rules of
every ClusterRole its selectors match (upstream's clusterrole-aggregation controller).

This is how ``admin``, ``edit`` and ``view`` get their rules (from ``system:aggregate-to-*`` and
from any ClusterRole a CRD's author labels ``rbac.authorization.k8s.io/aggregate-to-view: "true"``).
Any change to any ClusterRole enqueues every aggregating role (there are few); ``sync`` recomputes
one role's rules from the cache and writes them only when they differ. Matched roles are visited
by name, their rules appended in order with duplicates dropped; a role never aggregates itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, ResourceLike, is_not_found
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery import labels

Obj = dict[str, Any]
CLUSTER_ROLES: ResourceLike = lookup("rbac.authorization.k8s.io", "v1", "clusterroles")  # type: ignore[assignment]


def aggregated_rules(role: Obj, roles: Iterable[Obj]) -> list[Obj]:
    """The rules `role` should hold, given every ClusterRole."""
    selectors = [
        labels.selector_from_label_selector(s)
        for s in ((role.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
        if isinstance(s, dict)
    ]
    name = (role.get("metadata") or {}).get("name")
    out: list[Obj] = []
    for other in sorted(roles, key=lambda r: str((r.get("metadata") or {}).get("name") or "")):
        meta = other.get("metadata") or {}
        if meta.get("name") == name:
            continue
        if not any(sel.matches(meta.get("labels") or {}) for sel in selectors):
            continue
        for rule in other.get("rules") or []:
            if isinstance(rule, dict) and not any(_same_rule(rule, r) for r in out):
                out.append(rule)
    return out


def _same_rule(a: Obj, b: Obj) -> bool:
    keys = ("apiGroups", "resources", "resourceNames", "nonResourceURLs", "verbs")
    return all((a.get(k) or []) == (b.get(k) or []) for k in keys)


def _rules_equal(a: list[Obj], b: list[Obj]) -> bool:
    return len(a) == len(b) and all(_same_rule(x, y) for x, y in zip(a, b, strict=True))


class ClusterRoleAggregation:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client: APIClient = ctx.client
        self.roles = ctx.informers.informer(CLUSTER_ROLES)
        self.controller = Controller("clusterrole-aggregation", self.sync, workers=1)
        self.roles.add_handlers(
            on_add=self._changed, on_update=lambda _o, n: self._changed(n), on_delete=self._changed
        )

    def _changed(self, _role: Obj) -> None:
        for role in self.roles.store.list():
            if role.get("aggregationRule"):
                self.controller.queue.add(str(role["metadata"]["name"]))

    async def sync(self, name: str) -> None:
        role = self.roles.store.get(name)
        if role is None or not role.get("aggregationRule"):
            return
        rules = aggregated_rules(role, self.roles.store.list())
        current = [r for r in role.get("rules") or [] if isinstance(r, dict)]
        if _rules_equal(current, rules):
            return
        body = {**role, "rules": rules}
        try:
            await self.client.update(CLUSTER_ROLES, body)
        except Exception as e:
            if not is_not_found(e):
                raise

    async def run(self) -> None:
        await self.controller.run()


@register("clusterrole-aggregation")
def new_clusterrole_aggregation(ctx: ControllerContext) -> ClusterRoleAggregation:
    return ClusterRoleAggregation(ctx)
