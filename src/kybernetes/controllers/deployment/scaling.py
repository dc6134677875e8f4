"""Scaling a deployment whose pods sit in several ReplicaSets (upstream's proportional scaling).

When spec.replicas changes in the middle of a rollout, the difference is shared among the active
sets in proportion to their sizes, measured against the max-replicas annotation each set got when
it was last scaled (replicas + maxSurge of that time). Rounding leftovers go to the biggest set,
so a rollout's shape survives a scale: a 10-replica deployment at 6 old / 5 new scaled to 20
becomes about 12 / 10, not 6 / 16.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.controllers.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    active,
    creation_key,
    is_rolling,
    max_surge,
    replicas,
    status_int,
)
from kybernetes.controllers.replicaset import meta

Obj = dict[str, Any]


def _go_round(x: float) -> int:
    """Go's math.Round: halves away from zero."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    """The one set that should get every replica: the only active one, or (none active) the new
    set, else the newest old set; None when several are active."""
    if new_rs is None and not old_rss:
        return None
    newest_first = sorted(old_rss, key=creation_key, reverse=True)
    act = active([*newest_first, new_rs])
    if not act:
        return new_rs if new_rs is not None else newest_first[0]
    if len(act) == 1:
        return act[0]
    return None


def is_saturated(d: Mapping[str, Any], rs: Obj | None) -> bool:
    if rs is None:
        return False
    desired = (meta(rs).get("annotations") or {}).get(DESIRED_REPLICAS)
    return (desired == str(replicas(d)) and replicas(rs) == replicas(d)
            and status_int(rs, "availableReplicas") == replicas(d))


def _fraction(rs: Obj, d: Mapping[str, Any]) -> int:
    if replicas(d) == 0:
        return -replicas(rs)
    target = replicas(d) + max_surge(d)
    try:
        annotated = int((meta(rs).get("annotations") or {})[MAX_REPLICAS])
    except (KeyError, ValueError):
        annotated = status_int(d, "replicas")
    if annotated <= 0:
        return 0
    return _go_round(replicas(rs) * target / annotated) - replicas(rs)


def _proportion(rs: Obj, d: Mapping[str, Any], to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    frac = _fraction(rs, d)
    allowed = to_add - added
    return min(frac, allowed) if to_add > 0 else max(frac, allowed)


def scale_plan(d: Mapping[str, Any], new_rs: Obj | None, old_rss: list[Obj]) -> tuple[dict[str, int], str]:
    """New sizes by set name (only sets whose size or annotations may need a write) and the
    scaling direction ("up"/"down") for events."""
    single = find_active_or_latest(new_rs, old_rss)
    if single is not None:
        if replicas(single) == replicas(d):
            return {}, ""
        return {str(meta(single)["name"]): replicas(d)}, "up" if replicas(single) < replicas(d) else "down"
    if is_saturated(d, new_rs):
        return {str(meta(r)["name"]): 0 for r in active(old_rss)}, "down"
    if not is_rolling(d):
        return {}, ""
    all_rss = active([*old_rss, new_rs])
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - sum(replicas(r) for r in all_rss)
    if to_add > 0:  # biggest first; ties: newer first
        all_rss.sort(key=lambda r: (-replicas(r), -creation_key(r)[0]))
        op = "up"
    elif to_add < 0:  # biggest first; ties: older first
        all_rss.sort(key=lambda r: (-replicas(r), *creation_key(r)))
        op = "down"
    else:
        op = ""
    sizes: dict[str, int] = {}
    added = 0
    for rs in all_rss:
        name = str(meta(rs)["name"])
        p = _proportion(rs, d, to_add, added) if to_add else 0
        sizes[name] = replicas(rs) + p
        added += p
    if to_add and all_rss:
        first = str(meta(all_rss[0])["name"])
        sizes[first] = max(sizes[first] + to_add - added, 0)
    return sizes, op
