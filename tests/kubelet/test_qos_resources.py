"""QoS class, OOM score, container and pod cgroup values (qos.py, resources.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.qos import compute_qos_class, oom_score_adj, qos_class
from kybernetes.kubelet.resources import (
    container_linux_resources,
    milli_cpu_to_quota,
    milli_cpu_to_shares,
    pod_cgroup_name,
    pod_cgroup_values,
)

GI = 1024**3


def res(req: dict[str, str] | None = None, lim: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if req is not None:
        out["requests"] = req
    if lim is not None:
        out["limits"] = lim
    return out


def ctr(name: str = "c", req: dict[str, str] | None = None, lim: dict[str, str] | None = None,
        **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "resources": res(req, lim), **extra}


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None, uid: str = "u1",
        **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"containers": list(containers), **spec}
    if init:
        s["initContainers"] = init
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid}, "spec": s}


FULL = {"cpu": "500m", "memory": "256Mi"}


@pytest.mark.parametrize(("p", "want"), [
    (pod(ctr()), "BestEffort"),
    (pod(ctr(req={"memory": "256Mi"})), "Burstable"),
    (pod(ctr(req=FULL, lim=FULL)), "Guaranteed"),
    (pod(ctr(req={"cpu": "250m", "memory": "256Mi"}, lim=FULL)), "Burstable"),
    (pod(ctr(lim=FULL)), "Burstable"),  # not defaulted: no requests to compare
    (pod(ctr(req=FULL, lim=FULL), ctr("b")), "Burstable"),
    (pod(ctr(req=FULL, lim=FULL), init=[ctr("i")]), "Burstable"),
    (pod(ctr(req=FULL, lim=FULL), init=[ctr("i", req=FULL, lim=FULL)]), "Guaranteed"),
    (pod(ctr(), init=[ctr("i", req={"cpu": "1"})]), "Burstable"),
    (pod(ctr(req={"cpu": "0", "memory": "0"})), "BestEffort"),
    (pod(ctr(req={"nvidia.com/gpu": "1"}, lim={"nvidia.com/gpu": "1"})), "BestEffort"),
    (pod(ctr(req={**FULL, "ephemeral-storage": "1Gi"}, lim=FULL)), "Guaranteed"),
], ids=["nothing", "memory-request", "equal", "request-below-limit", "limits-only", "one-of-two",
        "init-without", "init-equal", "init-request-only", "zero-is-unset", "extended-ignored",
        "storage-ignored"])
def test_qos_class(p: dict[str, Any], want: str) -> None:
    assert compute_qos_class(p) == want
    assert qos_class(p) == want


def test_qos_class_prefers_status() -> None:
    p = pod(ctr())
    p["status"] = {"qosClass": "Burstable"}
    assert qos_class(p) == "Burstable"
    assert compute_qos_class(p) == "BestEffort"


CRITICAL = {"annotations": {"kubernetes.io/config.source": "file"}}


@pytest.mark.parametrize(("p", "c", "want"), [
    (pod(ctr(req=FULL, lim=FULL)), ctr(req=FULL, lim=FULL), -997),
    (pod(ctr()), ctr(), 1000),
    (pod(ctr(req={"memory": "1Gi"})), ctr(req={"memory": "1Gi"}), 1000 - 1000 // 4),
    (pod(ctr(req={"memory": "4Gi"})), ctr(req={"memory": "4Gi"}), 3),
    (pod(ctr(req={"memory": "8Gi"})), ctr(req={"memory": "8Gi"}), 3),
    (pod(ctr(req={"cpu": "1"})), ctr(req={"cpu": "1"}), 999),
    (pod(ctr(req={"memory": "1"})), ctr(req={"memory": "1"}), 999),
    (pod(ctr(req={"memory": "2Gi"}), init=[ctr("s", restartPolicy="Always")]),
     ctr("s", restartPolicy="Always"), 500),
    (pod(ctr(req={"memory": "2Gi"}), init=[ctr("i")]), ctr("i"), 999),
], ids=["guaranteed", "besteffort", "quarter", "all-memory-floor-3", "over-capacity", "no-memory-request",
        "tiny-request", "sidecar-not-above-regular", "plain-init"])
def test_oom_score_adj(p: dict[str, Any], c: dict[str, Any], want: int) -> None:
    assert oom_score_adj(p, c, 4 * GI) == want


@pytest.mark.parametrize(("meta", "spec", "want"), [
    (CRITICAL, {"priorityClassName": "system-node-critical"}, -997),
    ({}, {"priorityClassName": "system-node-critical", "priority": 2000001000}, -997),
    ({}, {"priorityClassName": "system-node-critical"}, 1000),  # not critical: no priority, not static
    (CRITICAL, {"priorityClassName": "system-cluster-critical"}, 1000),
], ids=["static-node-critical", "priority-node-critical", "class-only", "cluster-critical"])
def test_oom_score_adj_node_critical(meta: dict[str, Any], spec: dict[str, Any], want: int) -> None:
    p = pod(ctr(), **spec)
    p["metadata"].update(meta)
    assert oom_score_adj(p, ctr(), 4 * GI) == want


@pytest.mark.parametrize(("milli", "shares", "quota"), [
    (0, 2, 0), (1, 2, 1000), (2, 2, 1000), (10, 10, 1000), (100, 102, 10000), (500, 512, 50000),
    (1000, 1024, 100000), (2500, 2560, 250000), (300000, 262144, 30000000),
], ids=["zero", "1m", "2m", "10m", "100m", "half", "one", "two-and-half", "capped-shares"])
def test_cpu_conversions(milli: int, shares: int, quota: int) -> None:
    assert milli_cpu_to_shares(milli) == shares
    assert milli_cpu_to_quota(milli, 100000) == quota


@pytest.mark.parametrize(("c", "want"), [
    (ctr(), {"cpu_shares": 2, "cpu_period": 100000, "cpu_quota": 0, "oom_score_adj": 1000}),
    (ctr(req=FULL, lim=FULL), {"cpu_shares": 512, "cpu_period": 100000, "cpu_quota": 50000,
                               "memory_limit_in_bytes": 256 * 1024**2, "oom_score_adj": -997}),
    (ctr(lim={"cpu": "250m"}), {"cpu_shares": 256, "cpu_period": 100000, "cpu_quota": 25000,
                                "oom_score_adj": 999}),
    (ctr(req={"cpu": "100m", "memory": "1Gi"}, lim={"memory": "2Gi"}),
     {"cpu_shares": 102, "cpu_period": 100000, "cpu_quota": 0, "memory_limit_in_bytes": 2 * GI,
      "oom_score_adj": 750}),
    (ctr(req={"cpu": "0"}, lim={"cpu": "1m"}), {"cpu_shares": 2, "cpu_period": 100000, "cpu_quota": 1000,
                                                "oom_score_adj": 999}),
], ids=["besteffort", "guaranteed", "limit-only-defaults-shares", "burstable", "min-quota"])
def test_container_linux_resources(c: dict[str, Any], want: dict[str, int]) -> None:
    assert container_linux_resources(pod(c), c, memory_capacity_bytes=4 * GI) == want


def test_container_linux_resources_period_and_no_quota() -> None:
    c = ctr(lim={"cpu": "1"})
    got = container_linux_resources(pod(c), c, memory_capacity_bytes=GI, cpu_period_us=50000)
    assert (got["cpu_period"], got["cpu_quota"]) == (50000, 50000)
    got = container_linux_resources(pod(c), c, memory_capacity_bytes=GI, enforce_cpu_limits=False)
    assert "cpu_quota" not in got and "cpu_period" not in got


MI = 1024**2


@pytest.mark.parametrize(("p", "want"), [
    (pod(ctr()), {"cpu_shares": 2}),
    (pod(ctr(req=FULL, lim=FULL), ctr("b", req=FULL, lim=FULL)),
     {"cpu_shares": 1024, "cpu_quota": 100000, "cpu_period": 100000, "memory_limit_in_bytes": 512 * MI}),
    (pod(ctr(req={"cpu": "100m"}), ctr("b", req={"cpu": "200m"}, lim={"cpu": "1", "memory": "1Gi"})),
     {"cpu_shares": 307}),
    (pod(ctr(req={"cpu": "100m"}, lim={"cpu": "1"}), ctr("b", lim={"cpu": "1", "memory": "1Gi"})),
     {"cpu_shares": 102, "cpu_quota": 200000, "cpu_period": 100000}),
    (pod(ctr(req=FULL, lim=FULL), init=[ctr("i", req={"cpu": "2", "memory": "1Gi"},
                                            lim={"cpu": "2", "memory": "1Gi"})]),
     {"cpu_shares": 2048, "cpu_quota": 200000, "cpu_period": 100000, "memory_limit_in_bytes": GI}),
    (pod(ctr(req=FULL, lim=FULL), init=[
        ctr("s", req=FULL, lim=FULL, restartPolicy="Always"),
        ctr("i", req={"cpu": "700m", "memory": "100Mi"}, lim={"cpu": "700m", "memory": "100Mi"})]),
     {"cpu_shares": 1228, "cpu_quota": 120000, "cpu_period": 100000, "memory_limit_in_bytes": 512 * MI}),
    (pod(ctr(req=FULL, lim=FULL), overhead={"cpu": "100m", "memory": "64Mi"}),
     {"cpu_shares": 614, "cpu_quota": 60000, "cpu_period": 100000, "memory_limit_in_bytes": 320 * MI}),
], ids=["besteffort", "guaranteed-sum", "burstable-partial-limits", "burstable-cpu-limits-only",
        "init-larger", "sidecar-plus-init", "overhead"])
def test_pod_cgroup_values(p: dict[str, Any], want: dict[str, int]) -> None:
    assert pod_cgroup_values(p) == want


@pytest.mark.parametrize(("p", "want"), [
    (pod(ctr(), uid="a"), ["kubepods", "besteffort", "poda"]),
    (pod(ctr(req={"cpu": "1"}), uid="b"), ["kubepods", "burstable", "podb"]),
    (pod(ctr(req=FULL, lim=FULL), uid="c"), ["kubepods", "podc"]),
], ids=["besteffort", "burstable", "guaranteed"])
def test_pod_cgroup_name(p: dict[str, Any], want: list[str]) -> None:
    assert pod_cgroup_name(p) == want
    assert pod_cgroup_name(p, parent="kyb/x")[:2] == ["kyb", "x"]
