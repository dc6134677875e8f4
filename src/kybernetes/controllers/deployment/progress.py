"""Deployment status and its two conditions, Available and Progressing.

Available is True while at least replicas - maxUnavailable pods are available. Progressing tells
a rollout's story by reason: NewReplicaSetCreated / FoundNewReplicaSet when the new set appears,
ReplicaSetUpdated each time the rollout moves (which refreshes lastUpdateTime), then
NewReplicaSetAvailable when complete, or ProgressDeadlineExceeded (status False) when nothing moved
for progressDeadlineSeconds. A paused deployment says DeploymentPaused / DeploymentResumed
(status Unknown), and the deadline does not run while paused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kybernetes.controllers.deployment.util import (
    MAX_INT32,
    get_condition,
    max_unavailable,
    new_condition,
    remove_condition,
    replicas,
    set_condition,
    sum_status,
)
from kybernetes.controllers.replicaset import meta, parse_time

Obj = dict[str, Any]

AVAILABLE = "Available"
PROGRESSING = "Progressing"
REPLICA_FAILURE = "ReplicaFailure"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
RS_CREATE_ERROR = "ReplicaSetCreateError"


def fmt_time(t: float) -> str:
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def has_progress_deadline(d: Mapping[str, Any]) -> bool:
    pds = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return pds is not None and int(pds) != MAX_INT32


def calculate_status(d: Mapping[str, Any], all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    old: Obj = d.get("status") or {}
    available = sum_status(all_rss, "availableReplicas")
    total = sum_status(all_rss, "replicas")
    status: Obj = {
        "observedGeneration": meta(d).get("generation", 0),
        "replicas": total,
        "updatedReplicas": sum_status([new_rs], "replicas"),
        "readyReplicas": sum_status(all_rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    status["conditions"] = [dict(c) for c in old.get("conditions") or []]
    stamp = fmt_time(now)
    if available >= replicas(d) - max_unavailable(d):
        set_condition(status, new_condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.",
                                            stamp))
    else:
        set_condition(status, new_condition(AVAILABLE, "False", MIN_UNAVAILABLE,
                                            "Deployment does not have minimum availability.", stamp))
    return status


def is_complete(d: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    want = replicas(d)
    return bool(status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= meta(d).get("generation", 0))


def is_progressing(d: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = new.get("replicas", 0) - new.get("updatedReplicas", 0)
    return bool(new.get("updatedReplicas", 0) > old.get("updatedReplicas", 0) or new_old < old_old
            or new.get("readyReplicas", 0) > old.get("readyReplicas", 0)
            or new.get("availableReplicas", 0) > old.get("availableReplicas", 0))


def timed_out(d: Mapping[str, Any], status: Mapping[str, Any], now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return since is not None and since + deadline < now


def rollout_status(d: Mapping[str, Any], all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    """The status a rollout step writes (upstream syncRolloutStatus)."""
    status = calculate_status(d, all_rss, new_rs, now)
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(status, PROGRESSING)
    complete_already = (status["replicas"] == status["updatedReplicas"] and current is not None
                        and current.get("reason") == NEW_RS_AVAILABLE)
    stamp = fmt_time(now)
    name = f"ReplicaSet \"{meta(new_rs)['name']}\"" if new_rs is not None else f"Deployment \"{meta(d)['name']}\""
    if has_progress_deadline(d) and not complete_already:
        if is_complete(d, status):
            set_condition(status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                                f"{name} has successfully progressed.", stamp))
        elif is_progressing(d, status):
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, f"{name} is progressing.", stamp)
            # Progress refreshes lastUpdateTime (the deadline's start) but not lastTransitionTime.
            if current is not None and current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif timed_out(d, status, now):
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT,
                                                f"{name} has timed out progressing.", stamp))
    failure = replica_failure(all_rss, new_rs)
    if failure is not None:
        set_condition(status, failure)
    else:
        remove_condition(status, REPLICA_FAILURE)
    return status


def replica_failure(all_rss: list[Obj], new_rs: Obj | None) -> Obj | None:
    """A ReplicaFailure of the new set (else of any set), copied onto the deployment."""
    for rs in ([new_rs] if new_rs is not None else []) + all_rss:
        for c in (rs.get("status") or {}).get("conditions") or []:
            if c.get("type") == REPLICA_FAILURE:
                t = c.get("lastTransitionTime")
                return {"type": REPLICA_FAILURE, "status": c.get("status"), "lastUpdateTime": t,
                        "lastTransitionTime": t, "reason": c.get("reason"), "message": c.get("message")}
    return None


def requeue_after(d: Mapping[str, Any], status: Mapping[str, Any], now: float) -> float | None:
    """Seconds until the deadline check is due (plus a second), for a rollout still in flight."""
    cond = get_condition(status, PROGRESSING)
    if not has_progress_deadline(d) or cond is None or is_complete(d, status) or cond.get("reason") == TIMED_OUT:
        return None
    since = parse_time(cond.get("lastUpdateTime"))
    if since is None:
        return None
    after = since + int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0) - now
    return 0.0 if after < 1 else after + 1


def paused_condition(d: Mapping[str, Any], now: float) -> Obj | None:
    """The status after noting pause/resume in Progressing, or None when nothing changes."""
    if not has_progress_deadline(d):
        return None
    status: Obj = {k: v for k, v in (d.get("status") or {}).items()}
    status["conditions"] = [dict(c) for c in status.get("conditions") or []]
    cond = get_condition(status, PROGRESSING)
    paused = bool((d.get("spec") or {}).get("paused"))
    reason = cond.get("reason") if cond is not None else None
    stamp = fmt_time(now)
    if paused and reason != PAUSED:
        set_condition(status, new_condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", stamp))
    elif not paused and reason == PAUSED:
        set_condition(status, new_condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", stamp))
    else:
        return None
    return status


def status_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    keys = set(old) | set(new)
    return any((old.get(k) or 0) != (new.get(k) or 0) for k in keys)
