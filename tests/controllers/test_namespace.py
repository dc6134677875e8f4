"""Namespace controller decisions: the deletion conditions and the finalize body."""

from __future__ import annotations

from kybernetes.controllers import namespace as nsc
from kybernetes.controllers.rootcacert import desired_configmap, needs_update
from kybernetes.controllers.serviceaccount import default_service_account, namespace_active


def by_type(conds: list[dict[str, str]]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in conds}


def test_conditions_all_clear() -> None:
    conds = by_type(nsc.deletion_conditions(nsc.ContentReport()))
    assert list(conds) == list(nsc.CONDITION_ORDER)
    assert conds["NamespaceDeletionDiscoveryFailure"] == ("False", "ResourcesDiscovered",
                                                          "All resources successfully discovered")
    assert conds["NamespaceContentRemaining"] == ("False", "ContentRemoved", "All content successfully removed")
    assert conds["NamespaceFinalizersRemaining"][1] == "ContentHasNoFinalizers"


def test_conditions_content_and_finalizers_remaining() -> None:
    report = nsc.ContentReport(remaining={"widgets.example.com": 1, "pods": 2}, finalizers={"example.com/hold": 1})
    conds = by_type(nsc.deletion_conditions(report))
    assert conds["NamespaceContentRemaining"] == (
        "True", "SomeResourcesRemain",
        "Some resources are remaining: pods has 2 resource instances, widgets.example.com has 1 resource instances")
    assert conds["NamespaceFinalizersRemaining"] == (
        "True", "SomeFinalizersRemain",
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances")
    assert conds["NamespaceDeletionContentFailure"][0] == "False"
    assert not report.empty


def test_merge_conditions_keeps_transition_time_when_status_unchanged() -> None:
    first = nsc.merge_conditions([], nsc.deletion_conditions(nsc.ContentReport(remaining={"pods": 1})), "T1")
    second = nsc.merge_conditions(first, nsc.deletion_conditions(nsc.ContentReport()), "T2")
    times = {c["type"]: c["lastTransitionTime"] for c in second}
    assert times["NamespaceContentRemaining"] == "T2"
    assert times["NamespaceDeletionDiscoveryFailure"] == "T1"


def test_without_finalizer() -> None:
    ns = {"metadata": {"name": "x"}, "spec": {"finalizers": ["kubernetes", "example.com/x"]},
          "status": {"phase": "Terminating"}}
    body = nsc.without_finalizer(ns)
    assert body["spec"]["finalizers"] == ["example.com/x"] and "status" not in body


def test_namespace_active_and_defaults() -> None:
    assert namespace_active({"metadata": {}, "status": {"phase": "Active"}})
    assert not namespace_active({"metadata": {"deletionTimestamp": "t"}})
    assert not namespace_active({"metadata": {}, "status": {"phase": "Terminating"}})
    assert not namespace_active(None)
    assert default_service_account("a")["metadata"] == {"name": "default", "namespace": "a"}
    cm = desired_configmap("a", "PEM")
    assert cm["data"] == {"ca.crt": "PEM"} and not needs_update(cm, "PEM") and needs_update(cm, "OTHER")
