"""Eviction ranking and messages: table tests."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.eviction import (
    PodUsage,
    evicted_status,
    eviction_message,
    parse_threshold,
    rank_for_memory_eviction,
)

Mi = 1 << 20


def pod(name: str, *, request: str | None = None, limit: str | None = None, priority: int | None = None,
        **meta: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if request:
        resources["requests"] = {"memory": request}
    if limit:
        resources["limits"] = {"memory": limit}
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "busybox:1.36", "resources": resources}]}
    if priority is not None:
        spec["priority"] = priority
    return {"metadata": {"name": name, **meta}, "spec": spec, "status": {"phase": "Running"}}


def usage(p: dict[str, Any], mib: int) -> PodUsage:
    return PodUsage(p, mib * Mi, {"app": mib * Mi})


CASES = [
    pytest.param([usage(pod("guaranteed", request="64Mi", limit="64Mi"), 10), usage(pod("besteffort"), 1),
                  usage(pod("burstable", request="10Mi"), 50)],
                 ["burstable", "besteffort", "guaranteed"], id="over-request-first-then-by-excess"),
    pytest.param([usage(pod("guaranteed", request="64Mi", limit="64Mi"), 10), usage(pod("besteffort"), 5),
                  usage(pod("burstable-within", request="100Mi"), 50)],
                 ["besteffort", "burstable-within", "guaranteed"], id="within-requests-by-usage-minus-request"),
    pytest.param([usage(pod("high", priority=1000), 100), usage(pod("low", priority=0), 1)],
                 ["low", "high"], id="lower-priority-first-among-exceeding"),
    pytest.param([usage(pod("small"), 1), usage(pod("big"), 300)], ["big", "small"], id="bigger-excess-first"),
    pytest.param([usage(pod("static", annotations={"kubernetes.io/config.source": "file"}), 500),
                  usage(pod("mirror", annotations={"kubernetes.io/config.mirror": "abc"}), 500),
                  usage(pod("deleting", deletionTimestamp="2026-01-01T00:00:00Z"), 500), usage(pod("plain"), 1)],
                 ["plain"], id="static-mirror-and-deleting-pods-are-never-candidates"),
]


@pytest.mark.parametrize(("usages", "order"), CASES)
def test_rank_for_memory_eviction(usages: list[PodUsage], order: list[str]) -> None:
    assert [u.pod["metadata"]["name"] for u in rank_for_memory_eviction(usages)] == order


def test_finished_pods_are_not_candidates() -> None:
    done = pod("done")
    done["status"]["phase"] = "Succeeded"
    assert rank_for_memory_eviction([usage(done, 100)]) == []


def test_message_names_containers_over_their_request() -> None:
    u = PodUsage(pod("x", request="128Mi"), 200 * Mi, {"app": 200 * Mi})
    msg = eviction_message(u, threshold="100Mi", available_bytes=91244 * 1024)
    assert msg == ("The node was low on resource: memory. Threshold quantity: 100Mi, available: 91244Ki. "
                   "Container app was using 204800Ki, request is 128Mi, has larger consumption of memory. ")
    within = eviction_message(PodUsage(pod("y", request="1Gi"), Mi, {"app": Mi}), threshold="1Gi",
                              available_bytes=1024)
    assert within == "The node was low on resource: memory. Threshold quantity: 1Gi, available: 1Ki. "


def test_evicted_status() -> None:
    st = evicted_status(pod("x"), "low", now="2026-01-01T00:00:00Z")
    assert st["phase"] == "Failed" and st["reason"] == "Evicted" and st["message"] == "low"
    assert st["conditions"][-1]["type"] == "DisruptionTarget"
    assert st["conditions"][-1]["reason"] == "TerminationByKubelet"


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param("100Mi", 100 * Mi, id="binary"), pytest.param("1G", 10**9, id="decimal"),
    pytest.param("10%", 100 * Mi, id="percent-of-capacity"), pytest.param("12345", 12345, id="bytes"),
])
def test_parse_threshold(value: str, expected: int) -> None:
    assert parse_threshold(value, capacity_bytes=1000 * Mi) == expected


def test_system_critical_pods_are_not_candidates() -> None:
    assert rank_for_memory_eviction([usage(pod("dns", priority=2000000000), 100), usage(pod("app"), 1)])[0].pod[
        "metadata"]["name"] == "app"
    assert len(rank_for_memory_eviction([usage(pod("dns", priority=2000000000), 100)])) == 0
