"""What a StatefulSet sync does next, decided from the set and its pods alone (pure).

Pods of a set have stable identities: ordinal i is the pod `<set>-<i>` with hostname `<set>-<i>`,
subdomain = serviceName, labels `statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index`,
and one PVC `<claim>-<set>-<i>` per volumeClaimTemplate, made before the pod and kept after it.

`plan_step` follows upstream's order within one sync:
1. ordinals [0, replicas): a missing pod is created (from the current revision below the partition,
   else the update revision); a Failed or Succeeded pod is deleted to be recreated;
2. ordinals ≥ replicas ("condemned"): deleted, highest first;
3. RollingUpdate: the highest ordinal ≥ partition whose revision is not the update revision is deleted
   (it comes back at the update revision in a later sync), one at a time, each waiting until the pods
   above it are Ready again. OnDelete never deletes for an update.
Under OrderedReady ("monotonic") the plan stops at the first action or at the first pod that is not
Running and Ready (or is terminating): pods start in order and go away in reverse. Under Parallel
every create and delete of steps 1 and 2 happens at once, and nothing waits for readiness there.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from kybernetes.controllers.replicaset import is_available, is_ready, meta
from kybernetes.controllers.statefulset.revisions import REVISION_LABEL

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


# --- identity ---------------------------------------------------------------------------------------

def ordinal_of(pod: Mapping[str, Any], set_name: str) -> int | None:
    """The ordinal of a pod named `<set_name>-<i>`; None for any other name."""
    m = _ORDINAL.match(str(meta(pod).get("name") or ""))
    if m is None or m.group(1) != set_name:
        return None
    return int(m.group(2))


def replicas_of(sset: Mapping[str, Any]) -> int:
    r = (sset.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def start_ordinal(sset: Mapping[str, Any]) -> int:
    return int(((sset.get("spec") or {}).get("ordinals") or {}).get("start") or 0)


def is_parallel(sset: Mapping[str, Any]) -> bool:
    return (sset.get("spec") or {}).get("podManagementPolicy") == "Parallel"


def partition_of(sset: Mapping[str, Any]) -> int:
    us = (sset.get("spec") or {}).get("updateStrategy") or {}
    return int((us.get("rollingUpdate") or {}).get("partition") or 0)


def is_rolling(sset: Mapping[str, Any]) -> bool:
    us = (sset.get("spec") or {}).get("updateStrategy") or {}
    return str(us.get("type") or "RollingUpdate") == "RollingUpdate"


def claim_name(claim_template: Mapping[str, Any], set_name: str, ordinal: int) -> str:
    return f"{meta(claim_template).get('name')}-{set_name}-{ordinal}"


def claims_for(sset: Mapping[str, Any], ordinal: int) -> list[Obj]:
    """The PVCs ordinal `ordinal` needs, from volumeClaimTemplates; labelled with the set's matchLabels."""
    m = meta(sset)
    set_name = str(m.get("name"))
    match = ((sset.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    out: list[Obj] = []
    for tpl in (sset.get("spec") or {}).get("volumeClaimTemplates") or []:
        tmeta = meta(tpl)
        labels = {**(tmeta.get("labels") or {}), **match}
        cmeta: Obj = {"name": claim_name(tpl, set_name, ordinal), "namespace": m.get("namespace"), "labels": labels}
        if tmeta.get("annotations"):
            cmeta["annotations"] = dict(tmeta["annotations"])
        out.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": cmeta,
                    "spec": copy.deepcopy(tpl.get("spec") or {})})
    return out


def new_pod(sset: Mapping[str, Any], template: Mapping[str, Any], revision: str, ordinal: int) -> Obj:
    """Pod `<set>-<ordinal>` from `template` (the template of revision `revision`), with its identity
    and a volume per claim template pointing at the ordinal's PVC."""
    m = meta(sset)
    set_name = str(m.get("name"))
    name = f"{set_name}-{ordinal}"
    tmeta = template.get("metadata") or {}
    labels = dict(tmeta.get("labels") or {})
    labels.update({POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision})
    pmeta: Obj = {"name": name, "namespace": m.get("namespace"), "labels": labels,
                  "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": set_name,
                                       "uid": m.get("uid"), "controller": True, "blockOwnerDeletion": True}]}
    for k in ("annotations", "finalizers"):
        if tmeta.get(k):
            pmeta[k] = copy.deepcopy(tmeta[k])
    spec: Obj = copy.deepcopy(template.get("spec") or {})
    spec["hostname"] = name
    service = (sset.get("spec") or {}).get("serviceName")
    if service:
        spec["subdomain"] = service
    claims = {meta(t).get("name"): claim_name(t, set_name, ordinal)
              for t in (sset.get("spec") or {}).get("volumeClaimTemplates") or []}
    if claims:
        # A template volume with a claim's name is replaced by the claim, as upstream does.
        volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in claims]
        volumes.extend({"name": k, "persistentVolumeClaim": {"claimName": v}} for k, v in claims.items())
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pmeta, "spec": spec}


# --- pod states -------------------------------------------------------------------------------------

def revision_of(pod: Mapping[str, Any]) -> str:
    return str((meta(pod).get("labels") or {}).get(REVISION_LABEL) or "")


def is_terminating(pod: Mapping[str, Any]) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def is_finished(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def is_created(pod: Mapping[str, Any]) -> bool:
    return bool((pod.get("status") or {}).get("phase"))


def is_running_ready(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod)


def is_healthy(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Running, Ready (for minReadySeconds) and not terminating: what OrderedReady waits for."""
    return (is_running_ready(pod) and not is_terminating(pod)
            and is_available(pod, min_ready_seconds, now))


# --- the plan ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Create:
    ordinal: int
    revision: Literal["current", "update"]


@dataclass(frozen=True)
class Delete:
    pod: Obj = field(hash=False)
    why: Literal["failed", "condemned", "update"]


Action = Create | Delete


@dataclass(frozen=True)
class Plan:
    actions: list[Action]
    waiting: str = ""  # why a monotonic plan stopped early (for logs and tests); "" when it did not


def split_pods(sset: Mapping[str, Any], pods: list[Obj]) -> tuple[dict[int, Obj], list[Obj]]:
    """(pod by ordinal within [start, start+replicas), condemned pods highest ordinal first)."""
    name = str(meta(sset).get("name"))
    start = start_ordinal(sset)
    end = start + replicas_of(sset)
    kept: dict[int, Obj] = {}
    condemned: list[tuple[int, Obj]] = []
    for pod in pods:
        o = ordinal_of(pod, name)
        if o is None:
            continue
        if start <= o < end:
            kept[o] = pod
        else:
            condemned.append((o, pod))
    condemned.sort(key=lambda t: -t[0])
    return kept, [p for _, p in condemned]


def plan_step(sset: Mapping[str, Any], pods: list[Obj], update_revision: str, now: float) -> Plan:
    """The writes of one sync (see the module docstring)."""
    spec = sset.get("spec") or {}
    monotonic = not is_parallel(sset)
    min_ready = int(spec.get("minReadySeconds") or 0)
    start = start_ordinal(sset)
    partition = partition_of(sset)
    kept, condemned = split_pods(sset, pods)
    actions: list[Action] = []

    def revision_for(o: int) -> Literal["current", "update"]:
        return "current" if is_rolling(sset) and o - start < partition else "update"

    for o in range(start, start + replicas_of(sset)):
        pod = kept.get(o)
        if pod is None:
            actions.append(Create(o, revision_for(o)))
            if monotonic:
                return Plan(actions, f"creating ordinal {o}")
            continue
        if is_finished(pod) and not is_terminating(pod):
            actions.append(Delete(pod, "failed"))
            if monotonic:
                return Plan(actions, f"recreating ordinal {o}")
            continue
        if monotonic and not is_healthy(pod, min_ready, now):
            return Plan(actions, f"waiting for {meta(pod).get('name')} to be Running and Ready")

    for i, pod in enumerate(condemned):
        if is_terminating(pod):
            if monotonic:
                return Plan(actions, f"waiting for {meta(pod).get('name')} to terminate")
            continue
        if monotonic:
            # Scale down one at a time, and only while every other pod is healthy.
            others = list(kept.values()) + condemned[i + 1:]
            sick = [p for p in others if not is_healthy(p, min_ready, now)]
            if sick:
                return Plan(actions, f"waiting for {meta(sick[0]).get('name')} before scaling down")
        actions.append(Delete(pod, "condemned"))
        if monotonic:
            return Plan(actions, f"deleting {meta(pod).get('name')}")

    if actions or not is_rolling(sset):
        return Plan(actions)
    for o in range(start + replicas_of(sset) - 1, start + partition - 1, -1):
        pod = kept.get(o)
        if pod is None:
            return Plan(actions, f"waiting for ordinal {o}")
        if revision_of(pod) != update_revision and not is_terminating(pod):
            return Plan([Delete(pod, "update")], f"updating {meta(pod).get('name')}")
        if not is_healthy(pod, min_ready, now):
            return Plan(actions, f"waiting for {meta(pod).get('name')} to be Running and Ready")
    return Plan(actions)


# --- status -----------------------------------------------------------------------------------------

def compute_status(sset: Mapping[str, Any], pods: list[Obj], current_revision: str, update_revision: str,
                   collision_count: int, now: float) -> Obj:
    """The status upstream writes. A finished rolling update makes the update revision current."""
    min_ready = int((sset.get("spec") or {}).get("minReadySeconds") or 0)
    status: Obj = {"observedGeneration": meta(sset).get("generation", 0), "replicas": 0, "readyReplicas": 0,
                   "currentReplicas": 0, "updatedReplicas": 0, "availableReplicas": 0,
                   "currentRevision": current_revision, "updateRevision": update_revision,
                   "collisionCount": collision_count}
    for pod in pods:
        if is_created(pod):
            status["replicas"] += 1
        if is_running_ready(pod):
            status["readyReplicas"] += 1
            if is_available(pod, min_ready, now):
                status["availableReplicas"] += 1
        if is_created(pod) and not is_terminating(pod):
            if revision_of(pod) == current_revision:
                status["currentReplicas"] += 1
            if revision_of(pod) == update_revision:
                status["updatedReplicas"] += 1
    if is_rolling(sset) and status["updatedReplicas"] == status["replicas"] == status["readyReplicas"]:
        status["currentReplicas"] = status["updatedReplicas"]
        status["currentRevision"] = update_revision
    for c in (sset.get("status") or {}).get("conditions") or []:
        status.setdefault("conditions", []).append(c)
    return status


STATUS_KEYS = ("observedGeneration", "replicas", "readyReplicas", "currentReplicas", "updatedReplicas",
               "availableReplicas", "currentRevision", "updateRevision", "collisionCount")


def status_differs(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return any((old.get(k) or 0) != (new.get(k) or 0) for k in STATUS_KEYS)
