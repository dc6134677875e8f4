"""Rolling update and Recreate arithmetic, as pure plans over ReplicaSets.

A rolling update alternates two moves until the new set holds every replica:
1. scale the new set up, never past replicas + maxSurge pods in all sets (`new_rs_replicas`);
2. scale old sets down, never below replicas - maxUnavailable available pods
   (`old_rs_scale_down`): unhealthy old pods go first, then the oldest sets shrink.
Both read only spec.replicas and status.availableReplicas of the sets, so a sync that was killed
halfway recomputes the same plan from what the API holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.controllers.deployment.util import (
    active,
    by_creation,
    max_surge,
    max_unavailable,
    replicas,
    status_int,
    sum_spec,
    sum_status,
)
from kybernetes.controllers.replicaset import meta

Obj = dict[str, Any]


def new_rs_replicas(d: Mapping[str, Any], all_rss: list[Obj], new_rs: Obj | None) -> int:
    """How big the new set may be now (upstream NewRSNewReplicas)."""
    current_new = replicas(new_rs) if new_rs is not None else 0
    if not _is_rolling(d):
        return replicas(d)
    max_total = replicas(d) + max_surge(d)
    current = sum_spec(all_rss)
    if current >= max_total:
        return current_new
    up = min(max_total - current, replicas(d) - current_new)
    return current_new + max(up, 0)


def _is_rolling(d: Mapping[str, Any]) -> bool:
    return str(((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate")) == "RollingUpdate"


def reconcile_new_rs(d: Mapping[str, Any], all_rss: list[Obj], new_rs: Obj) -> int | None:
    """The new set's next size, or None when it needs no change."""
    want = replicas(d)
    have = replicas(new_rs)
    if have == want:
        return None
    if have > want:
        return want
    size = new_rs_replicas(d, all_rss, new_rs)
    return size if size != have else None


def old_rs_scale_down(d: Mapping[str, Any], old_rss: list[Obj], new_rs: Obj | None) -> dict[str, int]:
    """New sizes for old sets this step (upstream reconcileOldReplicaSets: cleanup of unhealthy
    replicas, then scale down while enough pods stay available). Empty when nothing may move."""
    old_active = active(old_rss)
    if sum_spec(old_active) == 0:
        return {}
    all_rss = [*old_active, *([new_rs] if new_rs is not None else [])]
    all_pods = sum_spec(all_rss)
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = (replicas(new_rs) - status_int(new_rs, "availableReplicas")) if new_rs is not None else 0
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    plan: dict[str, int] = {}
    # 1. Unhealthy replicas of old sets are removed first: they serve nobody.
    cleaned = 0
    sizes = {str(meta(r)["name"]): replicas(r) for r in old_active}
    for rs in by_creation(old_active):
        if cleaned >= max_scaled_down:
            break
        name = str(meta(rs)["name"])
        size = sizes[name]
        unhealthy = size - status_int(rs, "availableReplicas")
        if size == 0 or unhealthy <= 0:
            continue
        n = min(max_scaled_down - cleaned, unhealthy)
        sizes[name] = plan[name] = size - n
        cleaned += n
    # 2. Then healthy replicas, oldest set first, as long as minAvailable holds.
    available = sum_status(all_rss, "availableReplicas")
    if available > min_available:
        budget = available - min_available
        done = 0
        for rs in by_creation(old_active):
            if done >= budget:
                break
            name = str(meta(rs)["name"])
            if sizes[name] == 0:
                continue
            n = min(sizes[name], budget - done)
            sizes[name] = plan[name] = sizes[name] - n
            done += n
    return plan
