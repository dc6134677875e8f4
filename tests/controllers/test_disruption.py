"""PodDisruptionBudget math tables: desired/expected, healthy counting, disruptedPods expiry."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers import disruption as d

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def pdb(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "b", "generation": 3}, "spec": {"selector": {"matchLabels": {"a": "b"}}, **spec}}


def pod(name: str, *, ready: bool = True, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T11:00:00Z"
    return {"metadata": meta, "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


@pytest.mark.parametrize(("value", "total", "up", "want"), [
    (3, 10, True, 3), ("50%", 5, True, 3), ("50%", 5, False, 2), ("10%", 10, True, 1), ("0%", 7, True, 0),
], ids=["int", "half-up", "half-down", "ten-percent", "zero"])
def test_scaled(value: Any, total: int, up: bool, want: int) -> None:
    assert d.scaled(value, total, round_up=up) == want


@pytest.mark.parametrize(("spec", "n_pods", "scale", "want"), [
    ({"minAvailable": 2}, 3, None, (2, 3)),
    ({"minAvailable": "50%"}, 3, 5, (3, 5)),
    ({"maxUnavailable": 1}, 3, 4, (3, 4)),
    ({"maxUnavailable": "25%"}, 3, 4, (3, 4)),
    ({"maxUnavailable": 5}, 3, 4, (0, 4)),
], ids=["min-int", "min-percent", "max-int", "max-percent", "max-beyond"])
def test_desired_and_expected(spec: dict[str, Any], n_pods: int, scale: int | None, want: tuple[int, int]) -> None:
    assert d.desired_and_expected(pdb(**spec), [pod(str(i)) for i in range(n_pods)], scale) == want


def test_status_counts_healthy_and_allows() -> None:
    pods = [pod("a"), pod("b"), pod("c", ready=False), pod("d", deleting=True)]
    st = d.compute_status(pdb(minAvailable=1), pods, 4, NOW).status
    assert (st["currentHealthy"], st["desiredHealthy"], st["expectedPods"], st["disruptionsAllowed"]) == (2, 1, 4, 1)
    assert st["observedGeneration"] == 3
    cond = st["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "True", "SufficientPods")


def test_status_insufficient() -> None:
    st = d.compute_status(pdb(minAvailable=2), [pod("a"), pod("b", ready=False)], 2, NOW).status
    assert st["disruptionsAllowed"] == 0
    assert st["conditions"][0]["reason"] == "InsufficientPods"


def test_disrupted_pods_do_not_count_and_expire() -> None:
    fresh = "2024-05-01T11:59:30Z"
    stale = "2024-05-01T11:57:00Z"
    b = pdb(minAvailable=1)
    b["status"] = {"disruptedPods": {"a": fresh, "b": stale, "gone": fresh, "c": fresh}}
    pods = [pod("a"), pod("b"), pod("c", deleting=True), pod("d")]
    got = d.compute_status(b, pods, 4, NOW)
    assert got.status["disruptedPods"] == {"a": fresh}
    assert got.status["currentHealthy"] == 2  # b and d
    assert got.recheck_after == pytest.approx(90.0)


def test_fail_safe_without_controllers() -> None:
    st = d.compute_status(pdb(maxUnavailable=1), [pod("a"), pod("b")], None, NOW).status
    assert st["disruptionsAllowed"] == 0
    assert st["conditions"][0]["reason"] == "SyncFailed"
