"""Node lifecycle tables: conditions of a silent node, taints from conditions, taint eviction times."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers import nodelifecycle as nl

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
STAMP = "2024-05-01T12:00:00Z"


def node(*conds: tuple[str, str], unschedulable: bool = False, taints: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "n", "creationTimestamp": "2024-05-01T00:00:00Z"},
            "spec": {"unschedulable": unschedulable, "taints": taints or []},
            "status": {"conditions": [{"type": t, "status": s, "reason": "KubeletReady",
                                       "lastHeartbeatTime": "2024-05-01T11:00:00Z",
                                       "lastTransitionTime": "2024-05-01T10:00:00Z"} for t, s in conds]}}


def test_silent_ready_node_becomes_unknown() -> None:
    conds = nl.mark_unknown(node(("Ready", "True"), ("MemoryPressure", "False"), ("DiskPressure", "False"),
                                 ("PIDPressure", "False"), ("NetworkUnavailable", "False")), NOW)
    assert conds is not None
    by_type = {c["type"]: c for c in conds}
    for t in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        assert by_type[t]["status"] == "Unknown"
        assert by_type[t]["reason"] == "NodeStatusUnknown"
        assert by_type[t]["message"] == "Kubelet stopped posting node status."
        assert by_type[t]["lastTransitionTime"] == STAMP
        assert by_type[t]["lastHeartbeatTime"] == "2024-05-01T11:00:00Z"
    assert by_type["NetworkUnavailable"]["status"] == "False"


def test_node_that_never_posted() -> None:
    conds = nl.mark_unknown(node(), NOW)
    assert conds is not None
    assert {c["type"]: (c["status"], c["reason"]) for c in conds}["Ready"] == ("Unknown", "NodeStatusNeverUpdated")


def test_already_unknown_is_unchanged() -> None:
    assert nl.mark_unknown(node(("Ready", "Unknown"), ("MemoryPressure", "Unknown"), ("DiskPressure", "Unknown"),
                                ("PIDPressure", "Unknown")), NOW) is None


@pytest.mark.parametrize(("n", "want"), [
    (node(("Ready", "True")), []),
    (node(("Ready", "False")), [(nl.TAINT_NOT_READY, "NoExecute"), (nl.TAINT_NOT_READY, "NoSchedule")]),
    (node(("Ready", "Unknown")), [(nl.TAINT_UNREACHABLE, "NoExecute"), (nl.TAINT_UNREACHABLE, "NoSchedule")]),
    (node(("Ready", "True"), ("MemoryPressure", "True")), [("node.kubernetes.io/memory-pressure", "NoSchedule")]),
    (node(("Ready", "True"), ("DiskPressure", "True"), ("PIDPressure", "True")),
     [("node.kubernetes.io/disk-pressure", "NoSchedule"), ("node.kubernetes.io/pid-pressure", "NoSchedule")]),
    (node(("Ready", "True"), unschedulable=True), [(nl.TAINT_UNSCHEDULABLE, "NoSchedule")]),
], ids=["ready", "not-ready", "unknown", "memory", "disk-pid", "cordoned"])
def test_desired_taints(n: dict[str, Any], want: list[tuple[str, str]]) -> None:
    assert nl.desired_taints(n) == want


def test_reconcile_keeps_foreign_taints_and_time_added() -> None:
    old = {"key": nl.TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-05-01T11:59:00Z"}
    foreign = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    n = node(("Ready", "Unknown"), taints=[foreign, old, {"key": nl.TAINT_NOT_READY, "effect": "NoExecute"}])
    got = nl.reconcile_taints(n, NOW)
    assert got == [foreign, old, {"key": nl.TAINT_UNREACHABLE, "effect": "NoSchedule"}]
    assert nl.reconcile_taints(dict(n, spec={"taints": got}), NOW) is None


UNREACHABLE = {"key": nl.TAINT_UNREACHABLE, "effect": "NoExecute", "timeAdded": "2024-05-01T11:59:00Z"}


def tol(seconds: int | None = None, key: str = nl.TAINT_UNREACHABLE, op: str = "Exists") -> dict[str, Any]:
    t: dict[str, Any] = {"key": key, "operator": op, "effect": "NoExecute"}
    if seconds is not None:
        t["tolerationSeconds"] = seconds
    return t


@pytest.mark.parametrize(("tolerations", "taints", "want"), [
    ([], [], None),
    ([], [UNREACHABLE], NOW),
    ([tol(300)], [UNREACHABLE], dt.datetime(2024, 5, 1, 12, 4, 0, tzinfo=dt.UTC)),
    ([tol(300), tol(30)], [UNREACHABLE], dt.datetime(2024, 5, 1, 11, 59, 30, tzinfo=dt.UTC)),
    ([tol()], [UNREACHABLE], None),
    ([{"operator": "Exists"}], [UNREACHABLE], None),
    ([tol(300, key="other")], [UNREACHABLE], NOW),
    ([], [{"key": "x", "effect": "NoSchedule"}], None),
], ids=["no-taints", "untolerated", "bounded", "shortest-wins", "forever", "wildcard", "other-key", "noschedule-only"])
def test_eviction_time(tolerations: list[dict[str, Any]], taints: list[dict[str, Any]], want: dt.datetime | None) -> None:
    pod = {"spec": {"tolerations": tolerations}}
    assert nl.eviction_time(pod, taints, NOW).at == want


@pytest.mark.parametrize(("t", "taint", "ok"), [
    ({"key": "k", "operator": "Equal", "value": "v"}, {"key": "k", "value": "v", "effect": "NoExecute"}, True),
    ({"key": "k", "operator": "Equal", "value": "w"}, {"key": "k", "value": "v", "effect": "NoExecute"}, False),
    ({"key": "k", "operator": "Exists", "effect": "NoSchedule"}, {"key": "k", "effect": "NoExecute"}, False),
    ({"operator": "Exists"}, {"key": "anything", "effect": "NoExecute"}, True),
], ids=["equal", "value-differs", "effect-differs", "exists-all"])
def test_tolerates(t: dict[str, Any], taint: dict[str, Any], ok: bool) -> None:
    assert nl.tolerates(t, taint) is ok
