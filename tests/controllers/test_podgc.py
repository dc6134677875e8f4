"""Pod GC selection tables."""

from __future__ import annotations

from typing import Any

from kybernetes.controllers import podgc


def pod(name: str, *, phase: str = "Running", node: str = "n1", created: str = "2024-01-01T00:00:00Z",
        deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = created
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}, "status": {"phase": phase}}


def names(pods: list[dict[str, Any]]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


def test_terminated_beyond_threshold_oldest_first() -> None:
    pods = [pod("new", phase="Succeeded", created="2024-01-03T00:00:00Z"),
            pod("old", phase="Failed", created="2024-01-01T00:00:00Z"),
            pod("mid", phase="Succeeded", created="2024-01-02T00:00:00Z"),
            pod("running", created="2023-01-01T00:00:00Z")]
    assert names(podgc.terminated_to_delete(pods, 1)) == ["old", "mid"]
    assert podgc.terminated_to_delete(pods, 3) == []
    assert podgc.terminated_to_delete(pods, 0) == []


def test_orphans_and_unscheduled_terminating() -> None:
    pods = [pod("a", node="n1"), pod("b", node="gone"), pod("c", node=""), pod("d", node="", deleting=True)]
    assert names(podgc.orphans(pods, {"n1"})) == ["b"]
    assert names(podgc.unscheduled_terminating(pods)) == ["d"]
