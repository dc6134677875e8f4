"""Metric specs to a verdict (statuses, upstream's failure texts) and one sync's decision and status."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.podautoscaler.behavior import History, Recommendation
from kybernetes.controllers.podautoscaler.decide import bounds, final_status, plan_sync, record_rescale
from kybernetes.controllers.podautoscaler.evaluate import evaluate_metrics, milli_quantity
from kybernetes.controllers.podautoscaler.metricsource import PodUsage, parse_pod_metrics, resource_samples
from kybernetes.controllers.podautoscaler.replicas import CalculatorSettings, MetricError

NOW = 1_767_268_800.0  # 2026-01-01T12:00:00Z
NOW_TEXT = "2026-01-01T12:00:00Z"
Obj = dict[str, Any]


def pod(name: str, cpu: str = "100m", memory: str = "64Mi") -> Obj:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"containers": [{"name": "app", "resources": {"requests": {"cpu": cpu, "memory": memory}}}]},
        "status": {
            "phase": "Running",
            "startTime": "2026-01-01T10:00:00Z",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T10:00:05Z"}],
        },
    }


def usage(**cpu_millis: int) -> dict[str, PodUsage]:
    return {
        name: PodUsage(NOW - 5, 15.0, {"app": {"cpu_millis": v, "memory_bytes": 32 * 1024 * 1024}})
        for name, v in cpu_millis.items()
    }


def cpu(target: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}},
    }


MEMORY_AVG = {
    "type": "Resource",
    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "16Mi"}},
}
PODS_METRIC = {
    "type": "Pods",
    "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}},
}
OBJECT_METRIC = {
    "type": "Object",
    "object": {
        "metric": {"name": "hits"},
        "describedObject": {"kind": "Service", "name": "web", "apiVersion": "v1"},
        "target": {"type": "Value", "value": "100"},
    },
}
EXTERNAL_METRIC = {
    "type": "External",
    "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "30"}},
}
CONTAINER_CPU = {
    "type": "ContainerResource",
    "containerResource": {
        "name": "cpu",
        "container": "app",
        "target": {"type": "Utilization", "averageUtilization": 50},
    },
}
PODS = [pod("a"), pod("b")]


def evaluate(specs: list[Obj], u: dict[str, PodUsage] | MetricError, current: int = 2) -> Any:
    return evaluate_metrics(
        specs,
        current=current,
        pods=PODS,
        usage=u,
        namespace="default",
        now=NOW,
        settings=CalculatorSettings(),
    )


def test_cpu_utilization_status_and_reason() -> None:
    v = evaluate([cpu(50)], usage(a=80, b=80))
    assert v.replicas == 4
    assert v.metric == "cpu resource utilization (percentage of request)"
    assert v.statuses == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": 80, "averageValue": "80m"}},
        }
    ]
    assert v.active == (
        True,
        "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count "
        "from cpu resource utilization (percentage of request)",
    )
    assert v.error == "" and v.events == []


def test_memory_average_value_and_container_resource() -> None:
    v = evaluate([MEMORY_AVG, CONTAINER_CPU], usage(a=40, b=40))
    # memory: 32Mi per pod against 16Mi -> 4; cpu in container "app": 40% of 100m -> within... 0.8 -> 2
    assert (v.replicas, v.metric) == (4, "memory resource")
    assert v.statuses[0] == {
        "type": "Resource",
        "resource": {"name": "memory", "current": {"averageValue": "33554432"}},
    }
    assert v.statuses[1] == {
        "type": "ContainerResource",
        "containerResource": {
            "name": "cpu",
            "container": "app",
            "current": {"averageUtilization": 40, "averageValue": "40m"},
        },
    }


NO_API = MetricError(
    "unable to fetch metrics from resource metrics API: the server could not find the "
    "requested resource (get pods.metrics.k8s.io)"
)

FAILURE_CASES = [
    (
        [cpu(50)],
        NO_API,
        "FailedGetResourceMetric",
        "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource "
        "metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)",
        "failed to get cpu resource metric value: ",
    ),
    (
        [cpu(50)],
        {},
        "FailedGetResourceMetric",
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource "
        "metrics API",
        "failed to get cpu resource metric value: ",
    ),
    (
        [PODS_METRIC],
        {},
        "FailedGetPodsMetric",
        "unable to get metric qps: unable to fetch metrics from custom metrics API: no custom metrics API "
        "(custom.metrics.k8s.io) registered",
        "failed to get pods metric value: ",
    ),
    (
        [OBJECT_METRIC],
        {},
        "FailedGetObjectMetric",
        "unable to get metric hits: Service on default web/unable to fetch metrics from custom metrics API: no custom "
        "metrics API (custom.metrics.k8s.io) registered",
        "failed to get object metric value: ",
    ),
    (
        [EXTERNAL_METRIC],
        {},
        "FailedGetExternalMetric",
        "unable to get external metric default/queue/nil: unable to fetch metrics from external metrics API: the "
        "server could not find the requested resource (get queue.external.metrics.k8s.io)",
        "failed to get queue external metric value: failed to get queue external metric: ",
    ),
    (
        [CONTAINER_CPU],
        {"a": PodUsage(NOW, 15.0, {"other": {"cpu_millis": 1}})},
        "FailedGetContainerResourceMetric",
        "failed to get cpu utilization: unable to get metrics for resource cpu: failed to get container metrics: "
        "container app not present in metrics for pod default/a",
        "failed to get app container metric value: ",
    ),
]


@pytest.mark.parametrize(
    ("specs", "u", "reason", "inner", "outer_prefix"),
    FAILURE_CASES,
    ids=[
        "no-metrics-api",
        "no-samples",
        "pods-metric",
        "object-metric",
        "external-metric",
        "container-missing",
    ],
)
def test_failures(specs: list[Obj], u: Any, reason: str, inner: str, outer_prefix: str) -> None:
    v = evaluate(specs, u)
    assert v.replicas is None
    assert v.active == (False, reason, f"the HPA was unable to compute the replica count: {inner}")
    assert v.events == [("Warning", reason, inner)]
    assert v.error == f"invalid metrics (1 invalid out of 1), first error is: {outer_prefix}{inner}"
    assert v.statuses == [{"type": ""}]


def test_one_failing_metric_among_working_ones() -> None:
    up = evaluate([PODS_METRIC, cpu(50)], usage(a=80, b=80))  # cpu asks for more: go on, report the failure
    assert (
        up.replicas == 4
        and up.active[0] is True
        and up.error.startswith("invalid metrics (1 invalid out of 2)")
    )
    down = evaluate([PODS_METRIC, cpu(50)], usage(a=10, b=10))  # would scale down: not with a metric missing
    assert down.replicas is None and down.active[1] == "FailedGetPodsMetric"


def test_resource_samples_rules() -> None:
    u = {
        "a": PodUsage(NOW, 15, {"x": {"cpu_millis": 5}, "y": {"cpu_millis": 7}}),
        "b": PodUsage(NOW, 15, {"x": {"cpu_millis": 5}, "y": {}}),  # y lacks cpu: no sample for b
        "c": PodUsage(NOW, 15, {}),
    }
    got = resource_samples(u, "cpu")
    assert {k: v.value for k, v in got.items()} == {"a": 12}
    assert resource_samples({"a": PodUsage(NOW, 15, {"x": {"memory_bytes": 2}})}, "memory")["a"].value == 2000


def test_parse_pod_metrics() -> None:
    item = {
        "metadata": {"name": "a"},
        "timestamp": "2026-01-01T12:00:00Z",
        "window": "15.2s",
        "containers": [{"name": "app", "usage": {"cpu": "12345678n", "memory": "1Mi"}}],
    }
    assert parse_pod_metrics(item) == PodUsage(
        NOW, 15.2, {"app": {"cpu_millis": 13, "memory_bytes": 1048576}}
    )
    assert parse_pod_metrics({"window": "1m0s"}).window == 60.0


@pytest.mark.parametrize(
    ("milli", "text"), [(80, "80m"), (2000, "2"), (1500, "1500m"), (0, "0"), (1048576000, "1048576")]
)
def test_milli_quantity(milli: int, text: str) -> None:
    assert milli_quantity(milli) == text


# --- decisions ----------------------------------------------------------------------------------
def hpa(min_r: int = 1, max_r: int = 5, behavior: Obj | None = None, status: Obj | None = None) -> Obj:
    spec: Obj = {
        "minReplicas": min_r,
        "maxReplicas": max_r,
        "metrics": [cpu(50)],
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "metadata": {"name": "web", "namespace": "default", "generation": 3},
        "spec": spec,
        "status": status or {"currentReplicas": 0, "desiredReplicas": 0},
    }


BOUNDS_CASES = [
    (hpa(), 0, False, 0, False, ""),
    (hpa(max_r=5), 7, False, 5, True, "Current number of replicas above Spec.MaxReplicas"),
    (hpa(min_r=2), 1, False, 2, True, "Current number of replicas below Spec.MinReplicas"),
    (hpa(), 3, True, 0, True, ""),
]


@pytest.mark.parametrize(
    ("h", "current", "metrics", "desired", "rescale", "reason"),
    BOUNDS_CASES,
    ids=["zero-disables", "above-max", "below-min", "in-range"],
)
def test_bounds(h: Obj, current: int, metrics: bool, desired: int, rescale: bool, reason: str) -> None:
    b = bounds(h, current)
    assert (b.needs_metrics, b.desired, b.rescale, b.reason) == (metrics, desired, rescale, reason)


def conditions(status: Obj) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in status.get("conditions") or []]


def test_scale_up_plan_status_and_event() -> None:
    h, history = hpa(), History()
    v = evaluate([cpu(50)], usage(a=80, b=80))
    plan = plan_sync(h, current=2, pre=bounds(h, 2), verdict=v, history=history, now=NOW, now_text=NOW_TEXT)
    assert (plan.desired, plan.rescale) == (4, True)
    assert plan.reason == "cpu resource utilization (percentage of request) above target"
    events = record_rescale(plan, h, history, current=2, now=NOW, now_text=NOW_TEXT, error=None)
    assert events == [
        (
            "Normal",
            "SuccessfulRescale",
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
        )
    ]
    status = final_status(h, plan, current=2, scaled_at=NOW_TEXT)
    assert conditions(status) == [
        (
            "AbleToScale",
            "True",
            "SucceededRescale",
            "the HPA controller was able to update the target scale to 4",
        ),
        (
            "ScalingActive",
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count "
            "from cpu resource utilization (percentage of request)",
        ),
        ("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range"),
    ]
    assert {
        k: status[k] for k in ("currentReplicas", "desiredReplicas", "lastScaleTime", "observedGeneration")
    } == {"currentReplicas": 2, "desiredReplicas": 4, "lastScaleTime": NOW_TEXT, "observedGeneration": 3}
    assert status["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 80


def test_scale_down_is_stabilized_without_behavior() -> None:
    h = hpa(status={"currentReplicas": 4, "desiredReplicas": 4})
    history = History([Recommendation(4, NOW - 60)])
    plan = plan_sync(
        h,
        current=4,
        pre=bounds(h, 4),
        verdict=evaluate([cpu(50)], usage(a=10, b=10), 4),
        history=history,
        now=NOW,
        now_text=NOW_TEXT,
    )
    assert (plan.desired, plan.rescale) == (4, False)
    assert conditions(plan.status)[0] == (
        "AbleToScale",
        "True",
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    )


def test_scale_down_with_zero_window_behavior() -> None:
    h = hpa(min_r=2, behavior={"scaleDown": {"stabilizationWindowSeconds": 0}})
    history = History([Recommendation(4, NOW - 60)])
    plan = plan_sync(
        h,
        current=4,
        pre=bounds(h, 4),
        verdict=evaluate([cpu(50)], usage(a=10, b=10), 4),
        history=history,
        now=NOW,
        now_text=NOW_TEXT,
    )
    assert (plan.desired, plan.rescale, plan.reason) == (2, True, "All metrics below target")
    assert conditions(plan.status)[2] == (
        "ScalingLimited",
        "True",
        "TooFewReplicas",
        "the desired replica count is less than the minimum replica count",
    )


def test_metrics_failure_keeps_desired_and_reports() -> None:
    h = hpa(status={"currentReplicas": 2, "desiredReplicas": 3, "lastScaleTime": "2026-01-01T11:00:00Z"})
    plan = plan_sync(
        h,
        current=2,
        pre=bounds(h, 2),
        verdict=evaluate([cpu(50)], NO_API),
        history=History(),
        now=NOW,
        now_text=NOW_TEXT,
    )
    assert plan.failed and not plan.rescale
    assert plan.events[-1][:2] == ("Warning", "FailedComputeMetricsReplicas")
    status = final_status(h, plan, current=2, scaled_at=None)
    assert (status["desiredReplicas"], status["lastScaleTime"], status["currentMetrics"]) == (
        3,
        "2026-01-01T11:00:00Z",
        [{"type": ""}],
    )
    assert [c[:3] for c in conditions(status)] == [
        ("AbleToScale", "True", "SucceededGetScale"),
        ("ScalingActive", "False", "FailedGetResourceMetric"),
    ]


def test_zero_replicas_disable_scaling() -> None:
    h = hpa()
    plan = plan_sync(
        h, current=0, pre=bounds(h, 0), verdict=None, history=History(), now=NOW, now_text=NOW_TEXT
    )
    assert (plan.desired, plan.rescale) == (0, False)
    assert conditions(plan.status)[1] == (
        "ScalingActive",
        "False",
        "ScalingDisabled",
        "scaling is disabled since the replica count of the target is zero",
    )


def test_failed_rescale() -> None:
    h = hpa(status={"currentReplicas": 7, "desiredReplicas": 7})
    plan = plan_sync(
        h, current=7, pre=bounds(h, 7), verdict=None, history=History(), now=NOW, now_text=NOW_TEXT
    )
    events = record_rescale(plan, h, History(), current=7, now=NOW, now_text=NOW_TEXT, error="boom")
    assert events == [
        (
            "Warning",
            "FailedRescale",
            "New size: 5; reason: Current number of replicas above Spec.MaxReplicas; error: boom",
        )
    ]
    status = final_status(h, plan, current=7, scaled_at=None)
    assert status["desiredReplicas"] == 7 and "lastScaleTime" not in status
    assert conditions(status)[0] == (
        "AbleToScale",
        "False",
        "FailedUpdateScale",
        "the HPA controller was unable to update the target scale: boom",
    )


def test_condition_transition_time_moves_only_on_change() -> None:
    old: Obj = {
        "currentReplicas": 2,
        "desiredReplicas": 2,
        "conditions": [
            {
                "type": "AbleToScale",
                "status": "True",
                "reason": "x",
                "message": "y",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            },
            {
                "type": "ScalingActive",
                "status": "False",
                "reason": "x",
                "message": "y",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            },
        ],
    }
    h = hpa(status=old)
    plan = plan_sync(
        h,
        current=2,
        pre=bounds(h, 2),
        verdict=evaluate([cpu(50)], usage(a=50, b=50)),
        history=History(),
        now=NOW,
        now_text=NOW_TEXT,
    )
    times = {c["type"]: c["lastTransitionTime"] for c in plan.status["conditions"]}
    assert times == {
        "AbleToScale": "2025-01-01T00:00:00Z",
        "ScalingActive": NOW_TEXT,
        "ScalingLimited": NOW_TEXT,
    }
    assert old["conditions"][1]["status"] == "False"  # the cached object is not touched


def test_settings_from_options_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from kybernetes.controllers.podautoscaler.controller import settings_from_env

    monkeypatch.delenv("KYB_HPA_SYNC_PERIOD", raising=False)
    assert settings_from_env().sync_period == 15.0 and settings_from_env().downscale_stabilization == 300.0
    monkeypatch.setenv("KYB_HPA_SYNC_PERIOD", "2")
    assert settings_from_env().sync_period == 2.0
    assert settings_from_env({"sync_period": 0.5}).sync_period == 0.5
    monkeypatch.setenv("KYB_HPA_SYNC_PERIOD", "nonsense")
    assert settings_from_env().sync_period == 15.0
