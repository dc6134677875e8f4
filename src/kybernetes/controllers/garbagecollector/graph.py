"""The garbage collector's decisions, as pure functions over objects and their owners' states.

Vocabulary (upstream's): an owner of a dependent is
  solid    it exists with the uid the reference names and is not waiting for its dependents;
  dangling it does not exist, or a different object (another uid) holds its name;
  waiting  it is being deleted in the foreground (finalizer ``foregroundDeletion``): it waits for
           its dependents to go first.
A dependent with a solid owner stays; references to dangling or waiting owners are then removed
from it. A dependent with no solid owner is deleted: in the foreground when it is held by a waiting
owner and has dependents of its own (so the chain is removed bottom-up), else with the policy its
own finalizers ask for (orphan, foreground) or in the background.

An owner in foreground deletion loses its ``foregroundDeletion`` finalizer once no dependent that
blocks it (``blockOwnerDeletion: true``) remains; an owner with the ``orphan`` finalizer loses it
after every dependent has had its reference to the owner removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Obj = dict[str, Any]
FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"
OwnerState = Literal["solid", "dangling", "waiting"]
Policy = Literal["Background", "Foreground", "Orphan"]


def meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    m = obj.get("metadata")
    return m if isinstance(m, Mapping) else {}


def uid_of(obj: Mapping[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def owner_refs(obj: Mapping[str, Any]) -> list[Obj]:
    return [r for r in meta(obj).get("ownerReferences") or [] if isinstance(r, dict) and r.get("uid")]


def finalizers(obj: Mapping[str, Any]) -> list[str]:
    return [str(f) for f in meta(obj).get("finalizers") or []]


def deleting(obj: Mapping[str, Any]) -> bool:
    return bool(meta(obj).get("deletionTimestamp"))


def waiting_for_dependents(obj: Mapping[str, Any]) -> bool:
    return deleting(obj) and FOREGROUND in finalizers(obj)


def orphaning(obj: Mapping[str, Any]) -> bool:
    return deleting(obj) and ORPHAN in finalizers(obj)


def classify_owner(ref: Mapping[str, Any], owner: Mapping[str, Any] | None) -> OwnerState:
    """The state of the owner a reference names, given the object found under its name (or None)."""
    if owner is None or uid_of(owner) != ref.get("uid"):
        return "dangling"
    if waiting_for_dependents(owner):
        return "waiting"
    return "solid"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["none", "delete", "remove-refs"]
    policy: Policy = "Background"
    remove_uids: tuple[str, ...] = ()
    reason: str = ""


def own_policy(obj: Mapping[str, Any]) -> Policy:
    """The propagation a dependent's own finalizers ask for when the collector deletes it."""
    fins = finalizers(obj)
    if ORPHAN in fins:
        return "Orphan"
    if FOREGROUND in fins:
        return "Foreground"
    return "Background"


def decide_dependent(obj: Mapping[str, Any], states: Mapping[str, OwnerState], *,
                     has_dependents: bool) -> Decision:
    """What to do with an object given the state of each of its owners (by owner uid)."""
    refs = owner_refs(obj)
    if not refs:
        return Decision("none", reason="no owners")
    if deleting(obj):
        return Decision("none", reason="already being deleted")
    solid = [r["uid"] for r in refs if states.get(r["uid"], "solid") == "solid"]
    dangling = [r["uid"] for r in refs if states.get(r["uid"]) == "dangling"]
    waiting = [r["uid"] for r in refs if states.get(r["uid"]) == "waiting"]
    if solid:
        gone = tuple(dangling + waiting)
        if gone:
            return Decision("remove-refs", remove_uids=gone, reason="has a solid owner")
        return Decision("none", reason="has a solid owner")
    if waiting and has_dependents:
        return Decision("delete", policy="Foreground", reason="owner waits for its dependents")
    return Decision("delete", policy=own_policy(obj), reason="every owner is gone or being deleted")


def blocks(dependent: Mapping[str, Any], owner_uid: str) -> bool:
    """Whether `dependent` holds back the foreground deletion of the owner with `owner_uid`."""
    return any(r.get("uid") == owner_uid and r.get("blockOwnerDeletion") is True for r in owner_refs(dependent))


@dataclass(slots=True)
class OwnerPlan:
    """For an owner being deleted in the foreground or with orphaning."""

    remove_finalizer: str = ""  # the finalizer to remove now ("" = not yet)
    delete_dependents: list[Obj] = field(default_factory=list)  # foreground: to check/delete
    orphan_dependents: list[Obj] = field(default_factory=list)  # orphan: drop the reference


def plan_owner(owner: Mapping[str, Any], dependents: Iterable[Mapping[str, Any]]) -> OwnerPlan:
    uid = uid_of(owner)
    deps = [dict(d) for d in dependents if any(r.get("uid") == uid for r in owner_refs(d))]
    plan = OwnerPlan()
    if orphaning(owner):
        # orphan goes first: upstream handles it before foreground when both are present
        plan.orphan_dependents = deps
        if not deps:
            plan.remove_finalizer = ORPHAN
        return plan
    if waiting_for_dependents(owner):
        plan.delete_dependents = [d for d in deps if not deleting(d) or waiting_for_dependents(d)]
        if not any(blocks(d, uid) for d in deps):
            plan.remove_finalizer = FOREGROUND
    return plan


def without_owner_refs(obj: Mapping[str, Any], uids: Iterable[str]) -> list[Obj]:
    """The object's ownerReferences minus those naming `uids`."""
    drop = set(uids)
    return [dict(r) for r in meta(obj).get("ownerReferences") or [] if r.get("uid") not in drop]
