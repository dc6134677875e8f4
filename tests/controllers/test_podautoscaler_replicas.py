"""The replica calculator: utilization and average-value targets, tolerance, unready and missing pods."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers.podautoscaler.replicas import (
    CalculatorSettings,
    MetricError,
    PodMetric,
    group_pods,
    plain_replicas,
    pod_requests,
    resource_replicas,
    utilization_ratio,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC).timestamp()
SETTINGS = CalculatorSettings()
Obj = dict[str, Any]


def stamp(seconds_ago: float) -> str:
    return dt.datetime.fromtimestamp(NOW - seconds_ago, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pod(
    name: str,
    *,
    cpu: str | None = "1",
    memory: str | None = None,
    phase: str = "Running",
    ready: str | None = "True",
    started: float | None = 3600,
    ready_changed: float = 3500,
    deleting: bool = False,
    containers: list[Obj] | None = None,
    sidecar_cpu: str | None = None,
) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    spec: Obj = {"containers": containers or [{"name": "app", "resources": {"requests": requests}}]}
    if sidecar_cpu is not None:
        spec["initContainers"] = [
            {"name": "side", "restartPolicy": "Always", "resources": {"requests": {"cpu": sidecar_cpu}}},
            {"name": "init", "resources": {"requests": {"cpu": "5"}}},  # a plain init container never counts
        ]
    status: Obj = {"phase": phase}
    if started is not None:
        status["startTime"] = stamp(started)
    if ready is not None:
        status["conditions"] = [
            {"type": "Ready", "status": ready, "lastTransitionTime": stamp(ready_changed)}
        ]
    meta: Obj = {"name": name, "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = stamp(1)
    return {"metadata": meta, "spec": spec, "status": status}


def samples(**values: int) -> dict[str, PodMetric]:
    return {name: PodMetric(v, NOW - 10, 60) for name, v in values.items()}


def pods(*names: str, **kw: Any) -> list[Obj]:
    return [pod(n, **kw) for n in names]


# --- Utilization targets ------------------------------------------------------------------------
UTILIZATION_CASES = [
    # (current, target %, pods, samples, want replicas, want utilization %, want raw average)
    (3, 30, pods("a", "b", "c"), samples(a=300, b=500, c=700), 5, 50, 500),
    (5, 50, pods("a", "b", "c", "d", "e"), samples(a=100, b=300, c=500, d=250, e=250), 3, 28, 280),
    (3, 50, pods("a", "b", "c"), samples(a=520, b=530, c=540), 3, 53, 530),  # within tolerance
    (3, 50, pods("a", "b", "c"), samples(a=450, b=450, c=450), 3, 45, 450),  # exactly 10% below: kept
    (3, 50, pods("a", "b", "c"), samples(a=440, b=440, c=440), 3, 44, 440),  # 12% below: ceil(2.64)=3
    (3, 100, pods("a", "b", "c"), samples(a=333, b=333, c=334), 1, 33, 333),  # integer percent
    # unready pod (Ready False, started recently) counts as 0% on a scale up
    (
        3,
        30,
        [pod("a", ready="False", started=60, ready_changed=50), pod("b"), pod("c")],
        samples(a=300, b=500, c=700),
        4,
        60,
        600,
    ),
    # ... and is left out on a scale down
    (
        3,
        50,
        [pod("a", ready="False", started=60, ready_changed=50), pod("b"), pod("c")],
        samples(a=900, b=100, c=100),
        1,
        10,
        100,
    ),
    # a Pending pod is unready
    (3, 30, [pod("a", phase="Pending"), pod("b"), pod("c")], samples(b=500, c=700), 4, 60, 600),
    # deleted and Failed pods are ignored entirely
    (
        4,
        50,
        [pod("a", deleting=True), pod("b", phase="Failed"), pod("c"), pod("d")],
        samples(a=1000, b=1000, c=1000, d=1000),
        4,
        100,
        1000,
    ),
    # a missing sample counts as 100% of its request on a scale down
    (4, 50, pods("a", "b", "c", "d"), samples(a=100, b=100, c=100), 3, 10, 100),
    # ... as 0% on a scale up (and here that flips the direction: keep the count)
    (2, 100, pods("a", "b"), samples(a=1900), 2, 190, 1900),
    # ... and as 0% when it does not
    (2, 50, pods("a", "b"), samples(a=1900), 4, 190, 1900),
    # missing pods with a target above 100%: assumed at the target
    (3, 200, pods("a", "b", "c"), samples(a=100, b=100), 2, 10, 100),
    # a sample for a pod the selector does not pick is left out of the ratio
    (2, 50, pods("a", "b"), samples(a=500, b=500, zz=5000), 2, 50, 500),
    # an unready pod that does not change the direction: ceil over all counted pods
    (
        3,
        50,
        [pod("a", ready="False", started=60, ready_changed=50), pod("b"), pod("c")],
        samples(a=0, b=1000, c=1000),
        4,
        100,
        1000,
    ),
]
UTILIZATION_IDS = [
    "scale-up",
    "scale-down",
    "within-tolerance",
    "tolerance-edge-kept",
    "beyond-tolerance-same-count",
    "truncated-percent",
    "unready-as-zero-on-scale-up",
    "unready-left-out-on-scale-down",
    "pending-is-unready",
    "deleted-and-failed-ignored",
    "missing-as-full-on-scale-down",
    "missing-flips-direction",
    "missing-as-zero-on-scale-up",
    "missing-at-target-above-100",
    "extraneous-sample",
    "unready-counted-up",
]


@pytest.mark.parametrize(
    ("current", "target", "pod_list", "metrics", "want", "util", "raw"),
    UTILIZATION_CASES,
    ids=UTILIZATION_IDS,
)
def test_resource_replicas(
    current: int,
    target: int,
    pod_list: list[Obj],
    metrics: dict[str, PodMetric],
    want: int,
    util: int,
    raw: int,
) -> None:
    got = resource_replicas(current, target, "cpu", pod_list, metrics, now=NOW, settings=SETTINGS)
    assert (got.replicas, got.utilization, got.raw_average) == (want, util, raw)


# --- cpu readiness rules ------------------------------------------------------------------------
READINESS_CASES = [
    # (pod, sample time seconds ago, cpu?, unready?)
    (pod("p", started=60, ready="True", ready_changed=30), 10, True, True),  # window not covered since ready
    (pod("p", started=120, ready="True", ready_changed=100), 10, True, False),  # covered: 100 - 60 > 10
    (pod("p", started=60, ready="False", ready_changed=30), 10, True, True),  # unready in init period
    (pod("p", started=600, ready="False", ready_changed=590), 10, True, True),  # never became ready
    (pod("p", started=600, ready="False", ready_changed=100), 10, True, False),  # was ready once: counts
    (pod("p", ready=None), 10, True, True),  # no Ready condition
    (pod("p", started=None), 10, True, True),  # no start time
    (pod("p", started=60, ready="False", ready_changed=30), 10, False, False),  # memory ignores readiness
]


@pytest.mark.parametrize(
    ("p", "ago", "cpu", "unready"),
    READINESS_CASES,
    ids=[
        "init-window-not-covered",
        "init-window-covered",
        "init-unready",
        "never-ready",
        "ready-before",
        "no-ready-condition",
        "no-start-time",
        "memory-ignores-readiness",
    ],
)
def test_group_pods_readiness(p: Obj, ago: float, cpu: bool, unready: bool) -> None:
    groups = group_pods(
        [p], {"p": PodMetric(1, NOW - ago, 60)}, "cpu" if cpu else "memory", now=NOW, settings=SETTINGS
    )
    assert ("p" in groups.unready) == unready
    assert groups.ready_count == (0 if unready else 1)


def test_group_pods_missing_and_ignored() -> None:
    groups = group_pods(
        [pod("a"), pod("b", deleting=True), pod("c", phase="Failed"), pod("d", phase="Pending")],
        {},
        "cpu",
        now=NOW,
        settings=SETTINGS,
    )
    assert (set(groups.missing), set(groups.ignored), set(groups.unready)) == ({"a"}, {"b", "c"}, {"d"})


# --- requests -----------------------------------------------------------------------------------
def test_pod_requests_sum_containers_and_sidecars() -> None:
    two = pod(
        "p",
        containers=[
            {"name": "a", "resources": {"requests": {"cpu": "250m"}}},
            {"name": "b", "resources": {"requests": {"cpu": "500m"}}},
        ],
        sidecar_cpu="100m",
    )
    assert pod_requests([two], "cpu") == {"p": 850}
    assert pod_requests([two], "cpu", "b") == {"p": 500}
    assert pod_requests([pod("m", memory="1Mi")], "memory") == {"m": 1048576000}


def test_pod_requests_missing_request() -> None:
    with pytest.raises(MetricError, match=r"^missing request for cpu in container app of Pod p$"):
        pod_requests([pod("p", cpu=None)], "cpu")


def test_utilization_ratio_disjoint() -> None:
    with pytest.raises(MetricError, match=r"^no metrics returned matched known pods$"):
        utilization_ratio(samples(x=1), {"y": 1000}, 50)


ERROR_CASES = [
    ([], samples(a=1), "no pods returned by selector while calculating replica count"),
    (
        [pod("a", phase="Pending")],
        samples(a=1),
        "did not receive metrics for targeted pods (pods might be unready)",
    ),
    ([pod("a")], {}, "did not receive metrics for targeted pods (pods might be unready)"),
    ([pod("a", cpu=None)], samples(a=1), "missing request for cpu in container app of Pod a"),
]


@pytest.mark.parametrize(
    ("pod_list", "metrics", "message"),
    ERROR_CASES,
    ids=["no-pods", "all-unready", "no-samples", "no-request"],
)
def test_resource_replicas_errors(pod_list: list[Obj], metrics: dict[str, PodMetric], message: str) -> None:
    with pytest.raises(MetricError) as e:
        resource_replicas(1, 50, "cpu", pod_list, metrics, now=NOW, settings=SETTINGS)
    assert str(e.value) == message


def test_container_utilization_uses_that_containers_request() -> None:
    p = pod(
        "p",
        containers=[
            {"name": "app", "resources": {"requests": {"cpu": "200m"}}},
            {"name": "log", "resources": {"requests": {"cpu": "800m"}}},
        ],
    )
    got = resource_replicas(1, 50, "cpu", [p], samples(p=200), now=NOW, settings=SETTINGS, container="app")
    assert (got.replicas, got.utilization) == (2, 100)


# --- AverageValue targets -----------------------------------------------------------------------
PLAIN_CASES = [
    (2, 500, pods("a", "b"), samples(a=1000, b=1000), 4, 1000),
    (4, 500, pods("a", "b", "c", "d"), samples(a=100, b=100, c=100, d=100), 1, 100),
    (2, 500, pods("a", "b"), samples(a=520, b=530), 2, 525),
    # missing sample assumed at the target on a scale down: (100 + 500) / 2 = 300 -> ceil(1.2) = 2
    (2, 500, pods("a", "b"), samples(a=100), 2, 100),
    (3, 500, pods("a", "b", "c"), samples(a=100), 3, 100),
    (4, 500, pods("a", "b", "c", "d"), samples(a=100, b=100), 3, 100),
]


@pytest.mark.parametrize(
    ("current", "target", "pod_list", "metrics", "want", "usage"),
    PLAIN_CASES,
    ids=[
        "scale-up",
        "scale-down",
        "within-tolerance",
        "missing-keeps",
        "missing-at-target",
        "missing-at-target-down",
    ],
)
def test_plain_replicas(
    current: int, target: int, pod_list: list[Obj], metrics: dict[str, PodMetric], want: int, usage: int
) -> None:
    got = plain_replicas(current, target, "memory", pod_list, metrics, now=NOW, settings=SETTINGS)
    assert (got.replicas, got.usage) == (want, usage)


def test_tolerance_is_a_setting() -> None:
    strict = CalculatorSettings(tolerance=0.0)
    got = resource_replicas(
        3, 50, "cpu", pods("a", "b", "c"), samples(a=520, b=530, c=540), now=NOW, settings=strict
    )
    assert got.replicas == 4
