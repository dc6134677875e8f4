"""Which nodes a DaemonSet runs on, and what each node needs (pure decisions).

A daemon pod is judged as the pod it would be: the template plus the tolerations every daemon
pod gets (so node conditions turned into taints never evict or block it) plus required node
affinity naming the node. A node *should run* the pod when the template's nodeSelector and
required node affinity match it and its NoSchedule/NoExecute taints are tolerated; a pod already
there *may continue* as long as no NoExecute taint goes untolerated.

`node_plan` turns "should run / may continue / the daemon pods on that node" into the creates and
deletes of one sync; `rolling_plan` picks which old pods go (or which nodes get a surge pod) under
maxUnavailable / maxSurge; `calculate_status` counts the status fields.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers.deployment.util import scaled_value
from kybernetes.controllers.replicaset import is_available, is_ready, meta, owner_reference, parse_time
from kybernetes.scheduler.plugins.helpers import first_untolerated_taint, required_node_affinity

Obj = dict[str, Any]

REVISION_HASH_LABEL = "controller-revision-hash"
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"

# (key, effect) of the tolerations added to every daemon pod; the last only with hostNetwork.
_ALWAYS_TOLERATED = (
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
)
_HOST_NETWORK_TOLERATED = ("node.kubernetes.io/network-unavailable", "NoSchedule")


# --- the pod a DaemonSet makes --------------------------------------------------------------------

def daemon_tolerations(pod_spec: Mapping[str, Any]) -> list[Obj]:
    """The spec's tolerations plus the automatic ones (Exists, no tolerationSeconds) that it does
    not already carry in the same form."""
    out: list[Obj] = [copy.deepcopy(t) for t in pod_spec.get("tolerations") or []]
    wanted = list(_ALWAYS_TOLERATED)
    if pod_spec.get("hostNetwork"):
        wanted.append(_HOST_NETWORK_TOLERATED)
    for key, effect in wanted:
        tol = {"key": key, "operator": "Exists", "effect": effect}
        same = [t for t in out if t.get("key") == key and t.get("effect") == effect
                and (t.get("operator") or "Equal") == "Exists"]
        if same:
            # An existing toleration of the same key/effect/operator is replaced (upstream's
            # AddOrUpdateToleration), which also drops a tolerationSeconds it may have had.
            for t in same:
                out.remove(t)
        out.append(tol)
    return out


def node_name_affinity(affinity: Mapping[str, Any] | None, node_name: str) -> Obj:
    """The pod's affinity with required node affinity replaced by `metadata.name In [node]`; the
    node was already checked against the template's own terms."""
    out: Obj = copy.deepcopy(dict(affinity or {}))
    na = out.setdefault("nodeAffinity", {})
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}
    return out


def template_generation(ds: Mapping[str, Any]) -> str | None:
    value = (meta(ds).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    return str(value) if value else None


def new_pod(ds: Mapping[str, Any], node_name: str | None, revision_hash: str) -> Obj:
    """The pod to create for `node_name` (None: the shape used only to judge eligibility)."""
    template = (ds.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    labels: dict[str, str] = dict(tmeta.get("labels") or {})
    if revision_hash:
        labels[REVISION_HASH_LABEL] = revision_hash
    gen = template_generation(ds)
    if gen is not None:
        labels[TEMPLATE_GENERATION_LABEL] = gen
    pod_meta: Obj = {"generateName": f"{meta(ds).get('name')}-", "namespace": meta(ds).get("namespace"),
                     "labels": labels}
    if meta(ds).get("uid"):
        pod_meta["ownerReferences"] = [owner_reference(ds, "DaemonSet", "apps/v1")]
    for k in ("annotations", "finalizers"):
        if tmeta.get(k):
            pod_meta[k] = copy.deepcopy(tmeta[k])
    spec: Obj = copy.deepcopy(template.get("spec") or {})
    spec["tolerations"] = daemon_tolerations(spec)
    if node_name is not None:
        spec["affinity"] = node_name_affinity(spec.get("affinity"), node_name)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec}


# --- eligibility ----------------------------------------------------------------------------------

def node_should_run(node: Mapping[str, Any], ds: Mapping[str, Any]) -> tuple[bool, bool]:
    """(should run, may continue running) a daemon pod of `ds` on `node`."""
    name = str(meta(node).get("name") or "")
    pod = new_pod(ds, None, "")
    want_node = (pod.get("spec") or {}).get("nodeName")
    if want_node and want_node != name:
        return False, False
    matcher = required_node_affinity(pod)
    if matcher is not None and not matcher(meta(node).get("labels") or {}, name):
        return False, False
    taints = (node.get("spec") or {}).get("taints") or []
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    if first_untolerated_taint(taints, tolerations) is None:
        return True, True
    return False, first_untolerated_taint(taints, tolerations, ("NoExecute",)) is None


def target_node(pod: Mapping[str, Any]) -> str | None:
    """The node a daemon pod is on or meant for: spec.nodeName, else its single
    `metadata.name In [node]` affinity term (not yet scheduled)."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and len(f.get("values") or []) == 1:
                return str(f["values"][0])
    return None


def is_terminal(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pods_by_node(pods: Sequence[Obj]) -> dict[str, list[Obj]]:
    """Daemon pods per target node, leaving out pods that are both finished and being deleted
    (nothing more will happen to them)."""
    out: dict[str, list[Obj]] = {}
    for pod in pods:
        if is_terminal(pod) and meta(pod).get("deletionTimestamp"):
            continue
        node = target_node(pod)
        if node is not None:
            out.setdefault(node, []).append(pod)
    return out


def creation_order(pods: Sequence[Obj]) -> list[Obj]:
    """Scheduled pods first, then oldest first, then by name."""
    return sorted(pods, key=lambda p: (0 if (p.get("spec") or {}).get("nodeName") else 1,
                                       parse_time(meta(p).get("creationTimestamp")) or 0.0,
                                       str(meta(p).get("name") or "")))


def allows_surge(ds: Mapping[str, Any], desired: int) -> bool:
    return max_surge_unavailable(ds, desired)[0] > 0


def max_surge_unavailable(ds: Mapping[str, Any], desired: int) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) scaled against the desired number of nodes (percentages round
    up); OnDelete has neither. Both zero would stall a rollout, so unavailable becomes 1."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        return 0, 0
    ru = strategy.get("rollingUpdate") or {}
    surge = scaled_value(ru.get("maxSurge"), desired, round_up=True)
    unavailable = scaled_value(ru.get("maxUnavailable", 1), desired, round_up=True)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


# --- per node -------------------------------------------------------------------------------------

@dataclass
class NodeDecision:
    create: bool = False
    delete: list[Obj] = field(default_factory=list)
    failed: list[Obj] = field(default_factory=list)  # failed pods to delete (the caller applies backoff)


def node_plan(should_run: bool, may_continue: bool, pods: Sequence[Obj], revision_hash: str,
              *, surge: bool) -> NodeDecision:
    """What one node needs: a pod created where one should run and none exists (a pod still being
    deleted counts as existing, so it is replaced only once gone); finished pods removed; extra
    running pods removed beyond the oldest (with surge: the oldest updated and the oldest old one);
    every pod removed where none may continue."""
    out = NodeDecision()
    if should_run and not pods:
        out.create = True
        return out
    if may_continue:
        running: list[Obj] = []
        for pod in pods:
            if meta(pod).get("deletionTimestamp"):
                continue
            phase = (pod.get("status") or {}).get("phase")
            if phase == "Failed":
                out.failed.append(pod)
            elif phase == "Succeeded":
                out.delete.append(pod)
            else:
                running.append(pod)
        if len(running) > 1:
            if not surge:
                out.delete.extend(creation_order(running)[1:])
            else:
                seen_new = seen_old = False
                for pod in creation_order(running):
                    updated = (meta(pod).get("labels") or {}).get(REVISION_HASH_LABEL) == revision_hash
                    if updated and not seen_new:
                        seen_new = True
                    elif not updated and not seen_old:
                        seen_old = True
                    else:
                        out.delete.append(pod)
        return out
    out.delete.extend(p for p in pods if not meta(p).get("deletionTimestamp"))
    return out


# --- rolling update -------------------------------------------------------------------------------

def is_updated(pod: Mapping[str, Any], revision_hash: str, generation: str | None) -> bool:
    labels = meta(pod).get("labels") or {}
    if generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == generation:
        return True
    return bool(revision_hash) and labels.get(REVISION_HASH_LABEL) == revision_hash


def split_pods(pods: Sequence[Obj], revision_hash: str,
               generation: str | None) -> tuple[Obj | None, Obj | None, bool]:
    """(new pod, old pod, ok) among a node's live pods; not ok when there are two of either."""
    new: Obj | None = None
    old: Obj | None = None
    for pod in pods:
        if meta(pod).get("deletionTimestamp"):
            continue
        if is_updated(pod, revision_hash, generation):
            if new is not None:
                return None, None, False
            new = pod
        else:
            if old is not None:
                return None, None, False
            old = pod
    return new, old, True


@dataclass
class RollingPlan:
    delete: list[Obj] = field(default_factory=list)  # old pods to delete
    create_on: list[str] = field(default_factory=list)  # nodes that get a surge pod


def rolling_plan(ds: Mapping[str, Any], eligible: Sequence[str], by_node: Mapping[str, list[Obj]],
                 revision_hash: str, now: float) -> RollingPlan:
    """One step of a RollingUpdate over the nodes that should run the pod (in the given order).

    Without surge: old pods that are not available go at once; available old pods go while fewer
    than maxUnavailable nodes lack an available updated pod. With surge: a new pod is started next
    to an old one on up to maxSurge nodes at a time (at once where the old pod is unavailable), and
    the old pod goes when the new one is available."""
    desired = len(eligible)
    surge, unavailable = max_surge_unavailable(ds, desired)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    plan = RollingPlan()
    if surge == 0:
        num_unavailable = 0
        replace: list[Obj] = []
        candidates: list[Obj] = []
        for node in eligible:
            new, old, ok = split_pods(by_node.get(node, []), revision_hash, generation)
            if not ok or (new is None) == (old is None):
                num_unavailable += 1  # the per-node plan creates or trims here first
            elif new is not None:
                if not is_available(new, min_ready, now):
                    num_unavailable += 1
            elif old is not None:
                if not is_available(old, min_ready, now):
                    replace.append(old)
                elif num_unavailable < unavailable:
                    candidates.append(old)
        remaining = max(0, min(unavailable - num_unavailable, len(candidates)))
        plan.delete = replace + candidates[:remaining]
        return plan
    num_surge = 0
    allowed: list[str] = []
    to_create: list[str] = []
    for node in eligible:
        new, old, ok = split_pods(by_node.get(node, []), revision_hash, generation)
        if not ok:
            num_surge += 1
            continue
        if old is None:
            continue
        if new is None:
            if not is_available(old, min_ready, now):
                allowed.append(node)
            elif num_surge < surge:
                to_create.append(node)
            continue
        if not is_available(new, min_ready, now):
            num_surge += 1
            continue
        plan.delete.append(old)
    remaining = max(0, min(surge - num_surge, len(to_create)))
    plan.create_on = allowed + to_create[:remaining]
    return plan


# --- status ---------------------------------------------------------------------------------------

STATUS_FIELDS = ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled", "numberReady",
                 "updatedNumberScheduled", "numberAvailable", "numberUnavailable", "observedGeneration")


def calculate_status(ds: Mapping[str, Any], nodes: Sequence[Obj], by_node: Mapping[str, list[Obj]],
                     revision_hash: str, now: float, *, observe_generation: bool,
                     should_run: Callable[[Obj], bool] | None = None) -> Obj:
    """The counted status fields. Per node that should run the pod, its oldest daemon pod decides
    ready/available/updated; pods on nodes that should not run it are misscheduled."""
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    generation = template_generation(ds)
    desired = current = missched = ready = available = updated = 0
    for node in nodes:
        run = should_run(node) if should_run is not None else node_should_run(node, ds)[0]
        pods = by_node.get(str(meta(node).get("name") or ""), [])
        if not run:
            if pods:
                missched += 1
            continue
        desired += 1
        if not pods:
            continue
        current += 1
        pod = creation_order(pods)[0]
        if is_ready(pod):
            ready += 1
            if is_available(pod, min_ready, now):
                available += 1
        if is_updated(pod, revision_hash, generation):
            updated += 1
    old = ds.get("status") or {}
    observed = meta(ds).get("generation", 0) if observe_generation else old.get("observedGeneration", 0)
    return {"currentNumberScheduled": current, "numberMisscheduled": missched, "desiredNumberScheduled": desired,
            "numberReady": ready, "updatedNumberScheduled": updated, "numberAvailable": available,
            "numberUnavailable": desired - available, "observedGeneration": observed}
