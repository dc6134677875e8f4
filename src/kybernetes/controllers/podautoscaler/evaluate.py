"""Each metric of an HPA to a proposed replica count, and all of them to one (the highest).

Pure: the controller fetches the pods (informer cache) and one PodMetrics answer per sync, then
asks `evaluate_metrics`. Every failure keeps upstream's wording, because it ends up in the
ScalingActive condition (``kubectl describe hpa``) and in Warning events:

- a failing metric contributes an empty status entry (``{"type": ""}``, as upstream writes it),
  a Warning event named after the failure, and its condition if it is the first failure;
- when every metric fails, or some fail and the rest would scale down, there is no answer
  (``replicas`` is None) and ScalingActive turns False with the first failure's reason;
- otherwise ScalingActive is True, ValidMetricFound, naming the metric that asked for the most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kybernetes.controllers.podautoscaler.conditions import unable_to_compute
from kybernetes.controllers.podautoscaler.metricsource import (
    NO_CUSTOM_METRICS_API,
    PodUsage,
    resource_samples,
)
from kybernetes.controllers.podautoscaler.replicas import (
    CalculatorSettings,
    MetricError,
    plain_replicas,
    resource_replicas,
)
from kybernetes.machinery.quantity import Quantity, parse_quantity

Obj = dict[str, Any]
Event = tuple[str, str, str]  # type, reason, message


@dataclass(frozen=True, slots=True)
class MetricOutcome:
    replicas: int | None
    name: str = ""
    status: Obj = field(default_factory=lambda: {"type": ""})
    error: str = ""  # the error as the aggregate reports it
    condition: tuple[str, str] = ("", "")  # ScalingActive=False reason, message
    event: Event | None = None


@dataclass(frozen=True, slots=True)
class MetricsVerdict:
    replicas: int | None  # None: no usable answer
    metric: str
    statuses: list[Obj]
    error: str  # "" when every metric worked
    active: tuple[bool, str, str]  # ScalingActive status, reason, message
    events: list[Event]


def milli_quantity(milli: int) -> str:
    """A milli-value as upstream's NewMilliQuantity(v, DecimalSI) prints it ("250m", "2", "1048576")."""
    return str(Quantity(Fraction(milli, 1000)))


def _target_milli(value: Any) -> int | None:
    try:
        return parse_quantity(str(value)).milli_value()
    except Exception:
        return None


def _failed(reason: str, inner: str, outer: str) -> MetricOutcome:
    return MetricOutcome(
        None, error=outer, condition=unable_to_compute(reason, inner), event=("Warning", reason, inner)
    )


def _resource(
    spec: Mapping[str, Any],
    *,
    container_source: bool,
    current: int,
    pods: Sequence[Mapping[str, Any]],
    usage: Mapping[str, PodUsage] | MetricError,
    namespace: str,
    now: float,
    settings: CalculatorSettings,
) -> MetricOutcome:
    src = spec.get("containerResource" if container_source else "resource") or {}
    resource = str(src.get("name") or "")
    container = str(src.get("container") or "") if container_source else ""
    target = src.get("target") or {}
    reason = "FailedGetContainerResourceMetric" if container_source else "FailedGetResourceMetric"

    def outer(inner: str) -> str:
        if container_source:
            return f"failed to get {container} container metric value: {inner}"
        return f"failed to get {resource} resource metric value: {inner}"

    def samples() -> Any:
        if isinstance(usage, MetricError):
            raise usage
        return resource_samples(usage, resource, container, namespace)

    kind = "ContainerResource" if container_source else "Resource"
    key = "containerResource" if container_source else "resource"
    ident: Obj = {"name": resource, **({"container": container} if container_source else {})}
    if target.get("averageValue") is not None:
        try:
            try:
                metrics = samples()
            except MetricError as e:
                raise MetricError(f"unable to get metrics for resource {resource}: {e}") from None
            wanted = _target_milli(target["averageValue"])
            if wanted is None or wanted <= 0:
                raise MetricError(f"invalid target value {target['averageValue']!r}")
            got = plain_replicas(current, wanted, resource, pods, metrics, now=now, settings=settings)
        except MetricError as e:
            inner = f"failed to get {resource} usage: {e}"
            return _failed(reason, inner, outer(inner))
        status = {"type": kind, key: {**ident, "current": {"averageValue": milli_quantity(got.usage)}}}
        return MetricOutcome(got.replicas, f"{resource} resource", status)
    utilization = target.get("averageUtilization")
    if not isinstance(utilization, int) or isinstance(utilization, bool) or utilization <= 0:
        inner = (
            "invalid resource metric source: neither an average utilization target nor an average value "
            "(usage) target was set"
        )
        return _failed(reason, inner, outer(inner))
    try:
        try:
            metrics = samples()
        except MetricError as e:
            raise MetricError(f"unable to get metrics for resource {resource}: {e}") from None
        res = resource_replicas(
            current, utilization, resource, pods, metrics, now=now, settings=settings, container=container
        )
    except MetricError as e:
        inner = f"failed to get {resource} utilization: {e}"
        return _failed(reason, inner, outer(inner))
    name = (
        f"{resource} container resource utilization (percentage of request)"
        if container_source
        else f"{resource} resource utilization (percentage of request)"
    )
    status = {
        "type": kind,
        key: {
            **ident,
            "current": {
                "averageUtilization": res.utilization,
                "averageValue": milli_quantity(res.raw_average),
            },
        },
    }
    return MetricOutcome(res.replicas, name, status)


def _go_selector(selector: Any) -> str:
    # How upstream's message prints a *LabelSelector with %+v.
    if not isinstance(selector, Mapping):
        return "nil"
    labels = ",".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    return f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{}},}}"


def _custom(spec: Mapping[str, Any], namespace: str) -> MetricOutcome:
    """Pods, Object and External metrics: there is no custom or external metrics API to ask."""
    typ = spec.get("type")
    if typ == "Pods":
        name = str(((spec.get("pods") or {}).get("metric") or {}).get("name") or "")
        inner = f"unable to get metric {name}: unable to fetch metrics from custom metrics API: {NO_CUSTOM_METRICS_API}"
        return _failed("FailedGetPodsMetric", inner, f"failed to get pods metric value: {inner}")
    if typ == "Object":
        obj = spec.get("object") or {}
        name = str((obj.get("metric") or {}).get("name") or "")
        described = obj.get("describedObject") or {}
        target = obj.get("target") or {}
        if target.get("value") is None and target.get("averageValue") is None:
            inner = "invalid object metric source: neither a value target nor an average value target was set"
            return _failed("FailedGetObjectMetric", inner, f"failed to get object metric value: {inner}")
        inner = (
            f"unable to get metric {name}: {described.get('kind', '')} on {namespace} {described.get('name', '')}"
            f"/unable to fetch metrics from custom metrics API: {NO_CUSTOM_METRICS_API}"
        )
        wrapped = inner if target.get("value") is not None else f"failed to get {name} object metric: {inner}"
        return _failed("FailedGetObjectMetric", inner, f"failed to get object metric value: {wrapped}")
    ext = spec.get("external") or {}
    metric = ext.get("metric") or {}
    name = str(metric.get("name") or "")
    target = ext.get("target") or {}
    if target.get("averageValue") is None and target.get("value") is None:
        inner = "invalid external metric source: neither a value target nor an average value target was set"
        return _failed("FailedGetExternalMetric", inner, inner)
    inner = (
        f"unable to get external metric {namespace}/{name}/{_go_selector(metric.get('selector'))}: "
        f"unable to fetch metrics from external metrics API: the server could not find the requested "
        f"resource (get {name}.external.metrics.k8s.io)"
    )
    if target.get("averageValue") is not None:
        returned = f"failed to get {name} external metric: {inner}"
    else:
        returned = f"failed to get external metric {name}: {inner}"
    return _failed(
        "FailedGetExternalMetric", inner, f"failed to get {name} external metric value: {returned}"
    )


def needs_pod_metrics(specs: Sequence[Mapping[str, Any]]) -> bool:
    return any(s.get("type") in ("Resource", "ContainerResource") for s in specs)


def evaluate_metric(
    spec: Mapping[str, Any],
    *,
    current: int,
    pods: Sequence[Mapping[str, Any]],
    usage: Mapping[str, PodUsage] | MetricError,
    namespace: str,
    now: float,
    settings: CalculatorSettings,
) -> MetricOutcome:
    typ = spec.get("type")
    if typ in ("Resource", "ContainerResource"):
        return _resource(
            spec,
            container_source=typ == "ContainerResource",
            current=current,
            pods=pods,
            usage=usage,
            namespace=namespace,
            now=now,
            settings=settings,
        )
    if typ in ("Pods", "Object", "External"):
        return _custom(spec, namespace)
    inner = f'unknown metric source type "{typ}"'
    return _failed("InvalidMetricSourceType", inner, inner)


def evaluate_metrics(
    specs: Sequence[Mapping[str, Any]],
    *,
    current: int,
    pods: Sequence[Mapping[str, Any]],
    usage: Mapping[str, PodUsage] | MetricError,
    namespace: str,
    now: float,
    settings: CalculatorSettings,
) -> MetricsVerdict:
    replicas = 0
    metric = ""
    statuses: list[Obj] = []
    events: list[Event] = []
    first: MetricOutcome | None = None
    invalid = 0
    for spec in specs:
        out = evaluate_metric(
            spec, current=current, pods=pods, usage=usage, namespace=namespace, now=now, settings=settings
        )
        statuses.append(out.status)
        if out.event is not None:
            events.append(out.event)
        if out.replicas is None:
            invalid += 1
            first = first or out
            continue
        if replicas == 0 or out.replicas > replicas:
            replicas, metric = out.replicas, out.name
    error = ""
    if first is not None:
        error = f"invalid metrics ({invalid} invalid out of {len(specs)}), first error is: {first.error}"
    if first is not None and (invalid >= len(specs) or replicas < current):
        reason, message = first.condition
        return MetricsVerdict(None, "", statuses, error, (False, reason, message), events)
    active = (
        True,
        "ValidMetricFound",
        f"the HPA was able to successfully calculate a replica count from {metric}",
    )
    return MetricsVerdict(replicas, metric, statuses, error, active, events)
