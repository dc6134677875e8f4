"""ControllerRevisions of a StatefulSet: immutable snapshots of its pod template (pure).

A StatefulSet rolls from one template to the next by revision, not by ReplicaSet: each distinct
template is stored once as a ControllerRevision named `<set>-<hash>`, whose `data` is the patch that
restores the template and whose `revision` number orders them. Pods carry the name of the revision
they were made from in the `controller-revision-hash` label, which is how the loop counts current
and updated replicas.

Invariants:
1. Equal templates (semantically: empty maps and nulls ignored) give equal data and the same hash
   for the same collision count; a changed collision count changes the name.
2. Nothing here mutates its arguments.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kybernetes.controllers.deployment.util import _semantic, compute_hash
from kybernetes.controllers.replicaset import meta

Obj = dict[str, Any]

REVISION_LABEL = "controller-revision-hash"  # on pods: the name of their revision
HASH_LABEL = "controller.kubernetes.io/hash"  # on revisions: the hash alone
MAX_PREFIX = 223  # revision names keep room for "-<hash>" under 253 characters


def revision_data(sset: Mapping[str, Any]) -> Obj:
    """The patch that brings a set's template back: `{"spec": {"template": {..., "$patch": "replace"}}}`."""
    template = copy.deepcopy((sset.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Mapping[str, Any]) -> Obj:
    """The pod template a revision holds."""
    template = copy.deepcopy(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def revision_name(set_name: str, hash_: str) -> str:
    return f"{set_name[:MAX_PREFIX]}-{hash_}"


def new_revision(sset: Mapping[str, Any], number: int, collision_count: int) -> Obj:
    """The ControllerRevision for the set's current template; the set is its controller."""
    m = meta(sset)
    data = revision_data(sset)
    hash_ = compute_hash(data, collision_count)
    labels = dict(((sset.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {})
    labels[HASH_LABEL] = hash_
    return {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {
            "name": revision_name(str(m.get("name")), hash_), "namespace": m.get("namespace"), "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": m.get("name"),
                                 "uid": m.get("uid"), "controller": True, "blockOwnerDeletion": True}],
        },
        "data": data,
        "revision": number,
    }


def equal_data(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return bool(_semantic(a.get("data") or {}) == _semantic(b.get("data") or {}))


def sort_revisions(revisions: list[Obj]) -> list[Obj]:
    """Oldest first: by revision number, then creation time, then name (upstream's ordering)."""
    return sorted(revisions, key=lambda r: (int(r.get("revision") or 0),
                                            str(meta(r).get("creationTimestamp") or ""), str(meta(r).get("name"))))


def next_number(revisions: list[Obj]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0) + 1


def choose_update(revisions: list[Obj], candidate: Obj) -> tuple[Obj | None, int | None]:
    """How to get the update revision, given the set's revisions (sorted) and a freshly built candidate:
    (existing, None) when the newest revision already holds the template; (existing, n) when an older
    one does and must be renumbered to n (a rollback reuses its revision); (None, None) when the
    candidate must be created."""
    equal = [r for r in revisions if equal_data(r, candidate)]
    if not equal:
        return None, None
    if revisions and meta(equal[-1]).get("name") == meta(revisions[-1]).get("name"):
        return equal[-1], None
    return equal[-1], next_number(revisions)


def history_to_delete(revisions: list[Obj], live: set[str], limit: int) -> list[Obj]:
    """Revisions beyond revisionHistoryLimit, oldest first, never one that is current, the update
    revision or still worn by a pod (`live` names)."""
    history = [r for r in sort_revisions(revisions) if meta(r).get("name") not in live]
    excess = len(history) - max(limit, 0)
    return history[:excess] if excess > 0 else []
