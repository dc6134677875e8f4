"""The disruption controller: keeps each PodDisruptionBudget's status, which the eviction API reads.

For a budget and the pods its selector picks in its namespace:

- expectedPods: with an integer ``minAvailable``, the number of pods; otherwise (a percentage, or
  ``maxUnavailable``) the sum of the scale of the pods' controllers (ReplicaSet, Deployment via its
  ReplicaSet, StatefulSet, ReplicationController). A pod without such a controller makes the
  budget fail safe: no disruption allowed, condition reason SyncFailed.
- desiredHealthy: ``minAvailable`` (a percentage of expected, rounded up), or expected minus
  ``maxUnavailable`` (a percentage rounded up), never below 0.
- currentHealthy: pods Ready and not being deleted, not counting pods in ``disruptedPods``.
- disruptedPods: pods an eviction spent a disruption on; an entry stays until the pod is being
  deleted (then it no longer counts as healthy anyway) or 2 minutes passed.
- disruptionsAllowed: currentHealthy - desiredHealthy (0 if negative or nothing expected);
  condition DisruptionAllowed True/SufficientPods or False/InsufficientPods; observedGeneration.

A budget is requeued when a pod it selects changes and also when a workload's scale changes
(ReplicaSet, Deployment, StatefulSet, ReplicationController: added, deleted or ``spec.replicas``
changed). Upstream only reads those kinds through listers and relies on the pod events a scale
causes; but our workload and pod caches are separate watches, so the pod event may be handled
while the workload cache still holds the old scale, leaving expectedPods stale until some
unrelated pod change. The budgets requeued are those whose selector matches the workload's pod
template labels or the labels of a cached pod the workload controls (directly, or through its
ReplicaSets for a Deployment).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, EventRecorder, Informer, is_conflict, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.client.store import NAMESPACE_INDEX, index_by_namespace
from kybernetes.controllers import rfc3339
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery.labels import selector_from_label_selector

log = logging.getLogger("kyb.controllers.disruption")

PDBS: ResourceLike = lookup("policy", "v1", "poddisruptionbudgets")  # type: ignore[assignment]
PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
RSS: ResourceLike = lookup("apps", "v1", "replicasets")  # type: ignore[assignment]
DEPLOYMENTS: ResourceLike = lookup("apps", "v1", "deployments")  # type: ignore[assignment]
STATEFULSETS: ResourceLike = lookup("apps", "v1", "statefulsets")  # type: ignore[assignment]
RCS: ResourceLike = lookup("", "v1", "replicationcontrollers")  # type: ignore[assignment]
DELETION_TIMEOUT = 120.0
COMPONENT = "controllermanager"

Obj = dict[str, Any]


class BudgetError(Exception):
    """The budget cannot be computed (e.g. a pod without a known controller)."""


def scaled(value: Any, total: int, *, round_up: bool) -> int:
    """An IntOrString against `total` (upstream GetScaledValueFromIntOrPercent)."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError:
            raise BudgetError("invalid value for IntOrString: invalid type: string is not a percentage") from None
    try:
        pct = int(text[:-1])
    except ValueError:
        raise BudgetError(f'invalid value "{text}": invalid value for IntOrString') from None
    raw = pct * total / 100
    return math.ceil(raw) if round_up else math.floor(raw)


def ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def desired_and_expected(pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]],
                         controller_scale: int | None) -> tuple[int, int]:
    """(desiredHealthy, expectedPods); `controller_scale` is the summed scale of the pods' controllers
    (None when it could not be found, which only matters for percentages and maxUnavailable)."""
    spec = pdb.get("spec") or {}
    min_av = spec.get("minAvailable")
    max_un = spec.get("maxUnavailable")
    if max_un is not None:
        if controller_scale is None:
            raise BudgetError("found no controllers for the pods")
        expected = controller_scale
        return max(expected - scaled(max_un, expected, round_up=True), 0), expected
    if isinstance(min_av, int):
        return min_av, len(pods)
    if min_av is not None:
        if controller_scale is None:
            raise BudgetError("found no controllers for the pods")
        expected = controller_scale
        return scaled(min_av, expected, round_up=True), expected
    return 0, len(pods)


def selects_any(pdb: Mapping[str, Any], label_sets: Sequence[Mapping[str, str]]) -> bool:
    """Whether the budget's selector matches any of the label sets (an invalid or missing selector
    matches nothing)."""
    sel = (pdb.get("spec") or {}).get("selector")
    if sel is None:
        return False
    try:
        selector = selector_from_label_selector(sel)
    except Exception:
        return False
    return any(selector.matches(labels) for labels in label_sets)


def scale_changed(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
    """Whether a workload event changes what a budget computes from it (its existence, identity or
    ``spec.replicas``); status-only updates do not."""
    if old is None or new is None:
        return True
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    return bool(om.get("uid") != nm.get("uid")
                or (old.get("spec") or {}).get("replicas", 1) != (new.get("spec") or {}).get("replicas", 1))


@dataclass
class Computed:
    status: Obj
    recheck_after: float | None


def compute_status(pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], controller_scale: int | None,
                   now: dt.datetime) -> Computed:
    """The budget's new status (a copy), and when an entry of disruptedPods expires."""
    st = copy.deepcopy(dict(pdb.get("status") or {}))
    meta = pdb.get("metadata") or {}
    by_name = {str((p.get("metadata") or {}).get("name")): p for p in pods}
    disrupted: dict[str, str] = {}
    recheck: float | None = None
    for name, stamp in (st.get("disruptedPods") or {}).items():
        pod = by_name.get(name)
        if pod is None or (pod.get("metadata") or {}).get("deletionTimestamp"):
            continue
        at = rfc3339.parse(stamp)
        left = DELETION_TIMEOUT - (now - at).total_seconds() if at is not None else 0
        if left <= 0:
            continue
        disrupted[name] = stamp
        recheck = left if recheck is None else min(recheck, left)
    healthy = sum(1 for n, p in by_name.items()
                  if n not in disrupted and ready(p) and not (p.get("metadata") or {}).get("deletionTimestamp"))
    stamp = rfc3339.fmt(now)
    try:
        desired, expected = desired_and_expected(pdb, pods, controller_scale)
        allowed = healthy - desired
        if expected <= 0 or allowed <= 0:
            allowed = 0
        cond = ("True", "SufficientPods", "") if allowed > 0 else ("False", "InsufficientPods", "")
    except BudgetError as e:
        desired, expected, allowed = int(st.get("desiredHealthy") or 0), int(st.get("expectedPods") or 0), 0
        cond = ("False", "SyncFailed", str(e))
    st.update(currentHealthy=healthy, desiredHealthy=desired, expectedPods=expected, disruptionsAllowed=allowed,
              observedGeneration=int(meta.get("generation") or 0))
    if disrupted:
        st["disruptedPods"] = disrupted
    else:
        st.pop("disruptedPods", None)
    conds = [dict(c) for c in st.get("conditions") or [] if c.get("type") != "DisruptionAllowed"]
    old = next((c for c in st.get("conditions") or [] if c.get("type") == "DisruptionAllowed"), None)
    new = {"type": "DisruptionAllowed", "status": cond[0], "reason": cond[1], "message": cond[2],
           "observedGeneration": int(meta.get("generation") or 0),
           "lastTransitionTime": old["lastTransitionTime"] if old and old.get("status") == cond[0]
           and old.get("lastTransitionTime") else stamp}
    st["conditions"] = [*conds, new]
    return Computed(st, recheck)


class DisruptionController:
    def __init__(self, client: APIClient, pdbs: Informer, pods: Informer, owners: Mapping[str, Informer],
                 recorder: EventRecorder) -> None:
        self.client = client
        self.pdbs = pdbs
        self.pods = pods
        self.owners = owners  # kind -> informer
        self.recorder = recorder
        self.controller = Controller("disruption", self.sync, workers=2)
        pdbs.add_handlers(self.controller.handlers())
        pods.add_handlers(on_add=self._pod_changed, on_update=lambda _o, n: self._pod_changed(n),
                          on_delete=self._pod_changed)
        for kind, informer in owners.items():
            self._watch_scale(kind, informer)

    async def run(self) -> None:
        await self.controller.run()

    def _pod_changed(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        for pdb in self.pdbs.store.by_index(NAMESPACE_INDEX, str(meta.get("namespace") or "")):
            sel = (pdb.get("spec") or {}).get("selector")
            try:
                if sel is not None and selector_from_label_selector(sel).matches(meta.get("labels") or {}):
                    self.controller.enqueue(pdb)
            except Exception:  # an invalid selector selects nothing
                continue

    def _watch_scale(self, kind: str, informer: Informer) -> None:
        informer.add_handlers(on_add=lambda o: self._workload_scaled(kind, None, o),
                              on_update=lambda o, n: self._workload_scaled(kind, o, n),
                              on_delete=lambda o: self._workload_scaled(kind, o, None))

    def _workload_scaled(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        """Requeue the budgets that select the pods of a workload whose scale changed."""
        obj = new if new is not None else old
        if obj is None or not scale_changed(old, new):
            return
        meta = obj.get("metadata") or {}
        ns = str(meta.get("namespace") or "")
        pdbs = self.pdbs.store.by_index(NAMESPACE_INDEX, ns)
        if not pdbs:
            return
        template = (obj.get("spec") or {}).get("template") or {}
        labels: list[Mapping[str, str]] = [(template.get("metadata") or {}).get("labels") or {}]
        owners = {str(meta.get("uid") or "")}
        if kind == "Deployment":
            # A Deployment's pods are owned by its ReplicaSets.
            for rs in self.owners["ReplicaSet"].store.list():
                rmeta = rs.get("metadata") or {}
                if rmeta.get("namespace") == ns and any(
                        r.get("controller") and r.get("uid") in owners for r in rmeta.get("ownerReferences") or []):
                    owners.add(str(rmeta.get("uid") or ""))
        for pod in self.pods.store.by_index(NAMESPACE_INDEX, ns):
            pmeta = pod.get("metadata") or {}
            if any(r.get("controller") and r.get("uid") in owners for r in pmeta.get("ownerReferences") or []):
                labels.append(pmeta.get("labels") or {})
        for pdb in pdbs:
            if selects_any(pdb, labels):
                self.controller.enqueue(pdb)

    def _controller_scale(self, namespace: str, pods: Sequence[Obj]) -> int | None:
        """The summed replicas of the pods' distinct controllers; None if a pod has none we know."""
        seen: dict[str, int] = {}
        for pod in pods:
            ref = next((r for r in (pod.get("metadata") or {}).get("ownerReferences") or [] if r.get("controller")), None)
            if ref is None:
                return None
            kind, name, uid = ref.get("kind"), str(ref.get("name")), str(ref.get("uid"))
            if uid in seen:
                continue
            if kind == "ReplicaSet":
                rs = self.owners["ReplicaSet"].store.get_by_name(namespace, name)
                if rs is None:
                    return None
                dref = next((r for r in rs["metadata"].get("ownerReferences") or []
                             if r.get("controller") and r.get("kind") == "Deployment"), None)
                if dref is not None:
                    dep = self.owners["Deployment"].store.get_by_name(namespace, str(dref.get("name")))
                    if dep is None:
                        return None
                    seen[str(dref.get("uid"))] = int((dep.get("spec") or {}).get("replicas", 1))
                    seen[uid] = 0
                    continue
                seen[uid] = int((rs.get("spec") or {}).get("replicas", 1))
            elif kind in ("StatefulSet", "ReplicationController"):
                obj = self.owners[kind].store.get_by_name(namespace, name)
                if obj is None:
                    return None
                seen[uid] = int((obj.get("spec") or {}).get("replicas", 1))
            else:
                return None
        return sum(seen.values())

    async def sync(self, key: str) -> None:
        try:
            await self._sync(key)
        except Exception as e:
            if not is_conflict(e):
                raise
            # A write raced a newer version (our cache was behind): retry later, quietly.
            self.controller.queue.add_rate_limited(key)

    async def _sync(self, key: str) -> None:
        cached = self.pdbs.store.get(key)
        if cached is None:
            return
        pdb = copy.deepcopy(cached)
        ns = str(pdb["metadata"].get("namespace") or "")
        sel = (pdb.get("spec") or {}).get("selector")
        try:
            selector = selector_from_label_selector(sel) if sel is not None else None
        except Exception:
            selector = None
        pods = [p for p in self.pods.store.by_index(NAMESPACE_INDEX, ns)
                if selector is not None and selector.matches((p.get("metadata") or {}).get("labels") or {})]
        spec = pdb.get("spec") or {}
        needs_scale = spec.get("maxUnavailable") is not None or (
            spec.get("minAvailable") is not None and not isinstance(spec.get("minAvailable"), int))
        scale = self._controller_scale(ns, pods) if needs_scale else len(pods)
        if needs_scale and scale is None and pods:
            self.recorder.event(pdb, "Warning", "CalculateExpectedPodCountFailed",
                                "Failed to calculate the number of expected pods: found no controllers for pods")
        if needs_scale and not pods:
            scale = 0
        computed = compute_status(pdb, pods, scale, rfc3339.now())
        if computed.status != (pdb.get("status") or {}):
            try:
                await self.client.update_status(PDBS, dict(pdb, status=computed.status))
            except Exception as e:
                if not is_not_found(e):
                    raise
        if computed.recheck_after is not None:
            self.controller.queue.add_after(key, computed.recheck_after + 0.5)


@register("disruption")
def _factory(ctx: ControllerContext) -> DisruptionController:
    pdbs = ctx.informers.informer(PDBS, indexers={NAMESPACE_INDEX: index_by_namespace})
    pods = ctx.informers.informer(PODS, indexers={NAMESPACE_INDEX: index_by_namespace})
    owners = {"ReplicaSet": ctx.informers.informer(RSS), "Deployment": ctx.informers.informer(DEPLOYMENTS),
              "StatefulSet": ctx.informers.informer(STATEFULSETS), "ReplicationController": ctx.informers.informer(RCS)}
    return DisruptionController(ctx.client, pdbs, pods, owners, ctx.recorder(COMPONENT))
