"""ControllerRevisions of a DaemonSet's template, and the backoff for replacing failed pods (pure).

Each distinct template is snapshotted as a ControllerRevision `<ds>-<hash>` whose data is a
strategic merge patch replacing `spec.template` (so `kubectl rollout undo` can apply it back) and
whose `revision` orders the history `kubectl rollout history` shows. Pods carry the hash in the
`controller-revision-hash` label; a template that returns to an earlier revision's content
reuses that revision, renumbered as the newest. Beyond revisionHistoryLimit the lowest revisions
that no live pod still uses are deleted.

Several revisions can match the template at once (e.g. one adopted from an orphaned history next
to one created meanwhile, or a manager that failed over mid-create). As upstream, the one with
the highest revision number is kept and the others are deleted after the pods labelled with
their hashes are relabelled with the kept one's, so those pods count as up to date rather than
being rolled. Upstream relabels every pod whose hash differs from the kept one, which would also
mark pods of older templates as current and stop them from ever being updated; only the
duplicates' pods are relabelled here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers.daemonset.placement import REVISION_HASH_LABEL
from kybernetes.controllers.deployment.util import _semantic, compute_hash
from kybernetes.controllers.replicaset import meta, owner_reference

Obj = dict[str, Any]
MAX_NAME_PREFIX = 223  # leaves room for "-" and the hash within a 253-character name


def revision_data(ds: Mapping[str, Any]) -> Obj:
    template: Obj = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def revision_hash(ds: Mapping[str, Any]) -> str:
    collisions = (ds.get("status") or {}).get("collisionCount")
    return compute_hash((ds.get("spec") or {}).get("template") or {},
                        int(collisions) if collisions is not None else None)


def revision_name(ds: Mapping[str, Any], hash_: str) -> str:
    return f"{str(meta(ds).get('name') or '')[:MAX_NAME_PREFIX]}-{hash_}"


def revision_number(rev: Mapping[str, Any]) -> int:
    try:
        return int(rev.get("revision") or 0)
    except (TypeError, ValueError):
        return 0


def matches(ds: Mapping[str, Any], rev: Mapping[str, Any]) -> bool:
    return bool(_semantic(rev.get("data")) == _semantic(revision_data(ds)))


def new_revision(ds: Mapping[str, Any], hash_: str, number: int) -> Obj:
    tlabels = (((ds.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
    rev_meta: Obj = {"name": revision_name(ds, hash_), "namespace": meta(ds).get("namespace"),
                     "labels": {**tlabels, REVISION_HASH_LABEL: hash_},
                     "ownerReferences": [owner_reference(ds, "DaemonSet", "apps/v1")]}
    if meta(ds).get("annotations"):
        rev_meta["annotations"] = dict(meta(ds)["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
            "data": revision_data(ds), "revision": number}


@dataclass
class HistoryPlan:
    current: Obj | None  # the revision matching the template, if it exists
    old: list[Obj]  # the revisions of other templates
    renumber_to: int | None  # the current revision must become this number (it is not the newest)
    create_number: int  # the number a new revision gets when `current` is None
    duplicates: list[Obj] = field(default_factory=list)  # other revisions matching the template


def hash_of(rev: Mapping[str, Any]) -> str:
    """A revision's hash label (upstream falls back to the name for revisions without one)."""
    return str((meta(rev).get("labels") or {}).get(REVISION_HASH_LABEL) or meta(rev).get("name") or "")


def history_plan(ds: Mapping[str, Any], revisions: Sequence[Obj]) -> HistoryPlan:
    """Split the DaemonSet's revisions into the current one, duplicates of it and the rest. Of
    several matching revisions the one with the highest number is current (equal numbers: the
    greatest name, so the choice is stable)."""
    matching = sorted((r for r in revisions if matches(ds, r)),
                      key=lambda r: (revision_number(r), str(meta(r).get("name") or "")))
    current = matching[-1] if matching else None
    duplicates = matching[:-1]
    old = [r for r in revisions if not any(r is m for m in matching)]
    top = max((revision_number(r) for r in old), default=0)
    renumber: int | None = None
    if current is not None and revision_number(current) <= top:
        renumber = top + 1
    return HistoryPlan(current, old, renumber, max(top, *(revision_number(r) for r in matching), 0) + 1,
                       duplicates)


def pods_to_relabel(pods: Sequence[Obj], duplicates: Sequence[Obj]) -> list[Obj]:
    """The live pods labelled with a duplicate revision's hash (they run the current template)."""
    dup_hashes = {hash_of(r) for r in duplicates}
    return [p for p in pods if not meta(p).get("deletionTimestamp")
            and (meta(p).get("labels") or {}).get(REVISION_HASH_LABEL) in dup_hashes]


def revisions_to_delete(ds: Mapping[str, Any], old: Sequence[Obj], live_hashes: set[str]) -> list[Obj]:
    """The oldest revisions beyond revisionHistoryLimit that no live pod uses."""
    limit = int((ds.get("spec") or {}).get("revisionHistoryLimit", 10) or 0)
    excess = len(old) - limit
    if excess <= 0:
        return []
    out: list[Obj] = []
    for rev in sorted(old, key=revision_number):
        if len(out) >= excess:
            break
        if (meta(rev).get("labels") or {}).get(REVISION_HASH_LABEL) in live_hashes:
            continue
        out.append(rev)
    return out


class FailedPodBackoff:
    """Per (DaemonSet, node): how long to wait before deleting another failed pod there, doubling
    from 1 s to 15 min; an entry idle for twice the maximum starts over."""

    def __init__(self, initial: float = 1.0, maximum: float = 900.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (delay, last update)

    def in_backoff(self, key: tuple[str, str], now: float) -> float | None:
        """The remaining wait while `key` is backing off, else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        delay, last = entry
        left = last + delay - now
        return left if left > 0 else None

    def next(self, key: tuple[str, str], now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or now - entry[1] > 2 * self.maximum:
            self._entries[key] = (self.initial, now)
        else:
            self._entries[key] = (min(entry[0] * 2, self.maximum), now)

    def forget_owner(self, owner_key: str) -> None:
        for k in [k for k in self._entries if k[0] == owner_key]:
            del self._entries[k]
