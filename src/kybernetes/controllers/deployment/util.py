"""Pure helpers the Deployment loop decides with: surge/unavailable arithmetic, template hashes,
revision annotations, ReplicaSet ordering and conditions.

Everything takes and returns plain dicts; callers copy cached objects before handing them to the
functions here that write (`set_new_rs_annotations`, `set_replicas_annotations`, `set_condition`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from typing import Any

from kybernetes.controllers.replicaset import POD_TEMPLATE_HASH, controller_ref, meta, parse_time

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# Deployment annotations that are the controller's bookkeeping, never copied to ReplicaSets.
NOT_COPIED = frozenset({LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO})
MAX_INT32 = 2**31 - 1


# --- spec readers ---------------------------------------------------------------------------------

def replicas(obj: Mapping[str, Any]) -> int:
    r = (obj.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def status_int(obj: Mapping[str, Any] | None, field: str) -> int:
    return int(((obj or {}).get("status") or {}).get(field) or 0)


def is_rolling(d: Mapping[str, Any]) -> bool:
    return str(((d.get("spec") or {}).get("strategy") or {}).get("type", "RollingUpdate")) == "RollingUpdate"


def scaled_value(value: Any, total: int, *, round_up: bool) -> int:
    """An int-or-percent against `total`: percentages round up for surge, down for unavailable."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    s = str(value)
    if s.endswith("%"):
        pct = int(s[:-1])
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(s)


def fenceposts(d: Mapping[str, Any]) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for the deployment's replicas; both 0 would deadlock, so
    unavailable becomes 1 then (upstream ResolveFenceposts)."""
    ru = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(d)
    surge = scaled_value(ru.get("maxSurge", "25%"), desired, round_up=True)
    unavailable = scaled_value(ru.get("maxUnavailable", "25%"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Mapping[str, Any]) -> int:
    return fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Mapping[str, Any]) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(fenceposts(d)[1], replicas(d))


# --- template hash and equality -------------------------------------------------------------------

_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # no vowels (no words), no 0/1/3 (look like o/l/e)


def _canonical(value: Any) -> bytes:
    import orjson

    return orjson.dumps(_semantic(value), option=orjson.OPT_SORT_KEYS)


def compute_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """The pod-template-hash: FNV-1a (32 bit) over the template's canonical JSON, plus the
    collision count when set, written as its decimal digits mapped onto a vowel-free alphabet
    (the shape upstream's names have, not its exact bytes)."""
    h = 0x811C9DC5
    data = _canonical(template)
    if collision_count is not None:
        data += int(collision_count).to_bytes(4, "little")
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "".join(_SAFE[int(c) % len(_SAFE)] for c in str(h))


def _semantic(value: Any) -> Any:
    """Drop empty maps/lists and nulls, so that `labels: {}` equals no labels (as Go's semantic
    equality treats nil and empty alike)."""
    if isinstance(value, dict):
        out = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value


def template_without_hash(template: Mapping[str, Any] | None) -> Obj:
    t = copy.deepcopy(dict(template or {}))
    labels = (t.get("metadata") or {}).get("labels")
    if labels is not None:
        labels.pop(POD_TEMPLATE_HASH, None)
    return t


def equal_ignore_hash(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> bool:
    return bool(_semantic(template_without_hash(a)) == _semantic(template_without_hash(b)))


# --- ReplicaSet sets ------------------------------------------------------------------------------

def creation_key(rs: Mapping[str, Any]) -> tuple[float, str]:
    return (parse_time(meta(rs).get("creationTimestamp")) or 0.0, str(meta(rs).get("name")))


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first; ties by name (upstream ReplicaSetsByCreationTimestamp)."""
    return sorted(rss, key=creation_key)


def revision(rs: Mapping[str, Any] | None) -> int:
    try:
        return int((meta(rs or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def by_revision(rss: Iterable[Obj]) -> list[Obj]:
    """Lowest revision first; equal revisions by creation time."""
    return sorted(rss, key=lambda r: (revision(r), *creation_key(r)))


def find_new_rs(d: Mapping[str, Any], rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the deployment's (ignoring the hash label)."""
    template = (d.get("spec") or {}).get("template")
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def active(rss: Iterable[Obj | None]) -> list[Obj]:
    return [r for r in rss if r is not None and replicas(r) > 0]


def sum_spec(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(r) for r in rss if r is not None)


def sum_status(rss: Iterable[Obj | None], field: str) -> int:
    return sum(status_int(r, field) for r in rss if r is not None)


def owned_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_ref(obj)
    return ref is not None and bool(ref.get("uid") == meta(owner).get("uid"))


# --- annotations ----------------------------------------------------------------------------------

def replicas_annotations_need_update(rs: Mapping[str, Any], desired: int, max_replicas: int) -> bool:
    ann = meta(rs).get("annotations") or {}
    return ann.get(DESIRED_REPLICAS) != str(desired) or ann.get(MAX_REPLICAS) != str(max_replicas)


def set_replicas_annotations(rs: Obj, desired: int, max_replicas: int) -> bool:
    if not replicas_annotations_need_update(rs, desired, max_replicas):
        return False
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    ann[DESIRED_REPLICAS] = str(desired)
    ann[MAX_REPLICAS] = str(max_replicas)
    return True


def copy_deployment_annotations(d: Mapping[str, Any], rs: Obj) -> bool:
    """Copy the user's deployment annotations (e.g. kubernetes.io/change-cause) onto the set."""
    changed = False
    ann = rs.setdefault("metadata", {}).setdefault("annotations", {})
    for k, v in (meta(d).get("annotations") or {}).items():
        if k in NOT_COPIED or ann.get(k) == v:
            continue
        ann[k] = v
        changed = True
    return changed


def set_new_rs_annotations(d: Mapping[str, Any], rs: Obj, new_revision: int, *, exists: bool) -> bool:
    """Bring the new set's annotations up to date; the old revision moves to revision-history
    when a set comes back into use (rollback). True when anything changed."""
    changed = copy_deployment_annotations(d, rs)
    ann = rs["metadata"]["annotations"]
    old = ann.get(REVISION, "")
    try:
        old_int = int(old) if old else 0
    except ValueError:
        old_int = 0
    if old_int < new_revision:
        ann[REVISION] = str(new_revision)
        changed = True
        if old:
            hist = ann.get(REVISION_HISTORY, "")
            ann[REVISION_HISTORY] = f"{hist},{old}" if hist else old
    if not exists:
        changed = set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)) or changed
    return changed


# --- conditions -----------------------------------------------------------------------------------

def get_condition(status: Mapping[str, Any], ctype: str) -> Obj | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            found: Obj = c
            return found
    return None


def new_condition(ctype: str, status: str, reason: str, message: str, now: str) -> Obj:
    return {"type": ctype, "status": status, "lastUpdateTime": now, "lastTransitionTime": now,
            "reason": reason, "message": message}


def set_condition(status: Obj, cond: Obj) -> None:
    """Upstream SetDeploymentCondition: same status and reason is a no-op; a same-status change
    keeps lastTransitionTime."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"] and current.get("reason") == cond["reason"]:
        return
    if current is not None and current.get("status") == cond["status"]:
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, ctype: str) -> None:
    if "conditions" in status:
        status["conditions"] = [c for c in status["conditions"] if c.get("type") != ctype]
