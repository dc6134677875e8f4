"""Garbage-collector decisions: owner classification, what happens to a dependent, owner plans."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.garbagecollector import graph
from kybernetes.controllers.garbagecollector.resources import Catalog, builtin_resources, crd_resource

Obj = dict[str, Any]


def obj(uid: str, *, owners: tuple[tuple[str, bool], ...] = (), deleting: bool = False,
        finalizers: tuple[str, ...] = ()) -> Obj:
    meta: Obj = {"name": f"o-{uid}", "namespace": "ns", "uid": uid}
    if owners:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": f"o-{u}", "uid": u,
                                    **({"blockOwnerDeletion": True} if block else {})} for u, block in owners]
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    if finalizers:
        meta["finalizers"] = list(finalizers)
    return {"metadata": meta}


@pytest.mark.parametrize(("owner", "expected"), [
    pytest.param(None, "dangling", id="absent"),
    pytest.param(obj("other"), "dangling", id="name-reused-by-another-uid"),
    pytest.param(obj("a"), "solid", id="present"),
    pytest.param(obj("a", deleting=True), "solid", id="deleting-in-background"),
    pytest.param(obj("a", deleting=True, finalizers=("foregroundDeletion",)), "waiting", id="foreground"),
])
def test_classify_owner(owner: Obj | None, expected: str) -> None:
    assert graph.classify_owner({"uid": "a"}, owner) == expected


@pytest.mark.parametrize(("dep", "states", "has_deps", "action", "policy", "removed"), [
    pytest.param(obj("d"), {}, False, "none", "Background", (), id="no-owners"),
    pytest.param(obj("d", owners=(("a", False),)), {"a": "solid"}, False, "none", "Background", (), id="solid"),
    pytest.param(obj("d", owners=(("a", False),)), {"a": "dangling"}, False, "delete", "Background", (),
                 id="dangling-deleted-in-background"),
    pytest.param(obj("d", owners=(("a", False), ("b", False))), {"a": "dangling", "b": "solid"}, False,
                 "remove-refs", "Background", ("a",), id="one-solid-keeps-it-drops-dangling-ref"),
    pytest.param(obj("d", owners=(("a", True),)), {"a": "waiting"}, True, "delete", "Foreground", (),
                 id="waiting-owner-and-own-dependents-foreground"),
    pytest.param(obj("d", owners=(("a", True),)), {"a": "waiting"}, False, "delete", "Background", (),
                 id="waiting-owner-leaf-background"),
    pytest.param(obj("d", owners=(("a", True), ("b", False))), {"a": "waiting", "b": "solid"}, False,
                 "remove-refs", "Background", ("a",), id="waiting-owner-but-another-solid"),
    pytest.param(obj("d", owners=(("a", False),), finalizers=("orphan",)), {"a": "dangling"}, False,
                 "delete", "Orphan", (), id="own-orphan-finalizer-chooses-orphan"),
    pytest.param(obj("d", owners=(("a", False),), deleting=True), {"a": "dangling"}, False, "none",
                 "Background", (), id="already-deleting"),
])
def test_decide_dependent(dep: Obj, states: dict[str, graph.OwnerState], has_deps: bool, action: str,
                          policy: str, removed: tuple[str, ...]) -> None:
    d = graph.decide_dependent(dep, states, has_dependents=has_deps)
    assert (d.action, d.policy, d.remove_uids) == (action, policy, removed)


def test_plan_owner_foreground_waits_for_blocking_dependents() -> None:
    owner = obj("a", deleting=True, finalizers=("foregroundDeletion",))
    blocking = obj("d1", owners=(("a", True),))
    loose = obj("d2", owners=(("a", False),))
    plan = graph.plan_owner(owner, [blocking, loose])
    assert plan.remove_finalizer == ""
    assert [graph.uid_of(d) for d in plan.delete_dependents] == ["d1", "d2"]
    assert graph.plan_owner(owner, [loose]).remove_finalizer == "foregroundDeletion"
    assert graph.plan_owner(owner, []).remove_finalizer == "foregroundDeletion"


def test_plan_owner_orphan() -> None:
    owner = obj("a", deleting=True, finalizers=("orphan",))
    dep = obj("d1", owners=(("a", True), ("b", False)))
    plan = graph.plan_owner(owner, [dep])
    assert [graph.uid_of(d) for d in plan.orphan_dependents] == ["d1"] and plan.remove_finalizer == ""
    assert graph.plan_owner(owner, []).remove_finalizer == "orphan"
    assert [r["uid"] for r in graph.without_owner_refs(dep, ["a"])] == ["b"]


def test_catalog_builtins_once_per_storage_and_crds() -> None:
    names = [(r.group, r.plural) for r in builtin_resources()]
    assert names.count(("autoscaling", "horizontalpodautoscalers")) == 1
    assert ("", "bindings") not in names and ("", "pods") in names
    crd = {"metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": False},
                                 {"name": "v2", "served": True, "storage": True}]},
           "status": {"conditions": [{"type": "Established", "status": "True"}]}}
    ref = crd_resource(crd)
    assert ref is not None and (ref.group, ref.version, ref.plural, ref.namespaced) == ("example.com", "v2", "widgets", True)
    assert crd_resource({**crd, "status": {}}) is None
    cat = Catalog()
    cat.set_crds([crd])
    found = cat.for_kind("example.com/v1", "Widget")
    assert found is not None and found.plural == "widgets"
    apps = cat.for_kind("apps/v1beta2", "Deployment")  # an unserved version maps to the served one
    assert apps is not None and apps.version == "v1"
    assert cat.for_kind("nope/v1", "Thing") is None
