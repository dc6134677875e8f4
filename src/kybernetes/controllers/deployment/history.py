"""Revisions: which old ReplicaSets revisionHistoryLimit lets the loop delete.

Each ReplicaSet carries the revision it last served (annotation deployment.kubernetes.io/revision);
`kubectl rollout history` lists them and `rollout undo` copies one back into the deployment's
template. Beyond the limit, the lowest revisions go, but only sets that are fully scaled down,
whose status is current and that are not already being deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.controllers.deployment.util import by_revision, replicas, revision, status_int
from kybernetes.controllers.replicaset import meta

Obj = dict[str, Any]


def max_revision(rss: list[Obj]) -> int:
    return max((revision(r) for r in rss), default=0)


def sets_to_clean_up(d: Mapping[str, Any], old_rss: list[Obj]) -> list[Obj]:
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [r for r in old_rss if not meta(r).get("deletionTimestamp")]
    diff = len(alive) - int(limit)
    if diff <= 0:
        return []
    out: list[Obj] = []
    for rs in by_revision(alive)[:diff]:
        if (status_int(rs, "replicas") != 0 or replicas(rs) != 0
                or meta(rs).get("generation", 0) > status_int(rs, "observedGeneration")):
            continue
        out.append(rs)
    return out
