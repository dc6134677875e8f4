"""The replica count a metric asks for: upstream's replica calculator, as pure functions.

Inputs are the pods the target's selector picks (API dicts from the informer cache) and one
sample per pod (`PodMetric`, in milli-units: millicores for cpu, thousandths of a byte for memory,
so that requests and usage compare in the same unit). Everything else is arithmetic:

1. Pods are sorted into four groups: *ignored* (being deleted or Failed), *unready* (Pending, or
   for cpu not yet settled: see `group_pods`), *missing* (no sample) and *ready*.
2. The usage ratio (current / target) is taken over the ready pods only.
3. Without unready or missing pods, a ratio within the tolerance keeps the current count; else
   the answer is ceil(ratio * ready pods).
4. Otherwise the missing pods are assumed to use 100% of their request (or exactly the target)
   when scaling down, 0% when scaling up; unready pods count as 0% but only when scaling up. The
   ratio is recomputed; if it is now within the tolerance, or it flips the direction of the
   change, the current count stays. This keeps missing data from ever causing a change in the
   direction the data we have does not support.

Errors are `MetricError`s whose text is upstream's, because it lands in conditions and events.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers.rfc3339 import parse as parse_time
from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]

DEFAULT_TOLERANCE = 0.1
DEFAULT_CPU_INITIALIZATION_PERIOD = (
    300.0  # seconds (upstream --horizontal-pod-autoscaler-cpu-initialization-period)
)
DEFAULT_INITIAL_READINESS_DELAY = (
    30.0  # seconds (upstream --horizontal-pod-autoscaler-initial-readiness-delay)
)


class MetricError(Exception):
    """A metric could not be turned into a replica count; the text is shown to users."""


@dataclass(frozen=True, slots=True)
class PodMetric:
    value: int  # milli-units
    timestamp: float = 0.0  # when the sample was taken (epoch seconds)
    window: float = 60.0  # seconds the sample averages over


@dataclass(frozen=True, slots=True)
class CalculatorSettings:
    tolerance: float = DEFAULT_TOLERANCE
    cpu_initialization_period: float = DEFAULT_CPU_INITIALIZATION_PERIOD
    initial_readiness_delay: float = DEFAULT_INITIAL_READINESS_DELAY


@dataclass(frozen=True, slots=True)
class PodGroups:
    ready_count: int
    unready: frozenset[str] = field(default_factory=frozenset)
    missing: frozenset[str] = field(default_factory=frozenset)
    ignored: frozenset[str] = field(default_factory=frozenset)


def _name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name") or "")


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if isinstance(c, Mapping) and c.get("type") == "Ready":
            return c
    return None


def _cpu_sample_unready(
    pod: Mapping[str, Any], metric: PodMetric, now: float, settings: CalculatorSettings
) -> bool:
    """Whether a cpu sample of a running pod is to be set aside: the pod has no Ready condition or
    start time; or it started less than the initialization period ago and is unready or its sample
    does not yet cover a whole window since readiness last changed; or, later, it is unready and
    has never been ready (its readiness last changed within the initial delay after start)."""
    cond = _ready_condition(pod)
    started = parse_time((pod.get("status") or {}).get("startTime"))
    if cond is None or started is None:
        return True
    start = started.timestamp()
    changed_at = parse_time(cond.get("lastTransitionTime"))
    changed = changed_at.timestamp() if changed_at is not None else 0.0
    if start + settings.cpu_initialization_period > now:
        return cond.get("status") == "False" or metric.timestamp < changed + metric.window
    return cond.get("status") == "False" and start + settings.initial_readiness_delay > changed


def group_pods(
    pods: Iterable[Mapping[str, Any]],
    metrics: Mapping[str, PodMetric],
    resource: str,
    *,
    now: float,
    settings: CalculatorSettings,
) -> PodGroups:
    ready = 0
    unready: set[str] = set()
    missing: set[str] = set()
    ignored: set[str] = set()
    for pod in pods:
        name = _name(pod)
        phase = (pod.get("status") or {}).get("phase")
        if (pod.get("metadata") or {}).get("deletionTimestamp") or phase == "Failed":
            ignored.add(name)
            continue
        if phase == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu" and _cpu_sample_unready(pod, metric, now, settings):
            unready.add(name)
            continue
        ready += 1
    return PodGroups(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _milli(value: Any) -> int | None:
    try:
        return parse_quantity(str(value)).milli_value()
    except Exception:  # a malformed quantity in a stored object must not stop the loop
        return None


def pod_requests(pods: Iterable[Mapping[str, Any]], resource: str, container: str = "") -> dict[str, int]:
    """Each pod's request of `resource` in milli-units: the sum over its containers (and sidecar
    init containers, restartPolicy Always), or only `container`'s when one is named."""
    out: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        containers = list(spec.get("containers") or [])
        containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            if container and c.get("name") != container:
                continue
            raw = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            value = _milli(raw) if raw is not None else None
            if value is None:
                raise MetricError(
                    f"missing request for {resource} in container {c.get('name')} of Pod {_name(pod)}"
                )
            total += value
        out[_name(pod)] = total
    return out


def utilization_ratio(
    metrics: Mapping[str, PodMetric], requests: Mapping[str, int], target_utilization: int
) -> tuple[float, int, int]:
    """(usage ratio, current utilization in percent of request, average raw usage) over the pods
    that have both a sample and a request. Percent and average are truncated as upstream's integer
    arithmetic does."""
    usage_total = request_total = count = 0
    for name, metric in metrics.items():
        request = requests.get(name)
        if request is None:
            continue  # a sample for a pod we do not know
        usage_total += metric.value
        request_total += request
        count += 1
    if request_total == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = _trunc_div(usage_total * 100, request_total)
    return utilization / target_utilization, utilization, _trunc_div(usage_total, count)


def usage_ratio(metrics: Mapping[str, PodMetric], target_usage: int) -> tuple[float, int]:
    """(usage ratio, average usage) for a plain per-pod target in milli-units."""
    total = sum(m.value for m in metrics.values())
    average = _trunc_div(total, len(metrics))
    return average / target_usage, average


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _within(ratio: float, tolerance: float) -> bool:
    return abs(1.0 - ratio) <= tolerance


def _pods_in(pods: Sequence[Mapping[str, Any]]) -> Sequence[Mapping[str, Any]]:
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")
    return pods


def _usable(metrics: Mapping[str, PodMetric], groups: PodGroups) -> dict[str, PodMetric]:
    usable = {k: v for k, v in metrics.items() if k not in groups.ignored and k not in groups.unready}
    if not usable:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return usable


def _settle(current: int, ratio: float, new_ratio: float, counted: int, tolerance: float) -> int:
    """Step 4's verdict once the assumed samples are in."""
    if _within(new_ratio, tolerance) or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current
    replicas = math.ceil(new_ratio * counted)
    if (new_ratio < 1.0 and replicas > current) or (new_ratio > 1.0 and replicas < current):
        return current
    return replicas


@dataclass(frozen=True, slots=True)
class UtilizationResult:
    replicas: int
    utilization: int  # percent of request
    raw_average: int  # milli-units per pod


def resource_replicas(
    current: int,
    target_utilization: int,
    resource: str,
    pods: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, PodMetric],
    *,
    now: float,
    settings: CalculatorSettings,
    container: str = "",
) -> UtilizationResult:
    """Replicas for a Utilization target (percent of the pods' requests)."""
    pods = _pods_in(pods)
    groups = group_pods(pods, metrics, resource, now=now, settings=settings)
    usable = _usable(metrics, groups)
    requests = pod_requests(pods, resource, container)
    ratio, utilization, raw = utilization_ratio(usable, requests, target_utilization)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if _within(ratio, settings.tolerance):
            return UtilizationResult(current, utilization, raw)
        return UtilizationResult(math.ceil(ratio * groups.ready_count), utilization, raw)
    assumed = dict(usable)
    if groups.missing:
        if ratio < 1.0:
            fallback = max(100, target_utilization)
            for name in groups.missing:
                assumed[name] = PodMetric(_trunc_div(requests.get(name, 0) * fallback, 100))
        elif ratio > 1.0:
            for name in groups.missing:
                assumed[name] = PodMetric(0)
    if scale_up_with_unready:
        for name in groups.unready:
            assumed[name] = PodMetric(0)
    new_ratio, _, _ = utilization_ratio(assumed, requests, target_utilization)
    return UtilizationResult(
        _settle(current, ratio, new_ratio, len(assumed), settings.tolerance), utilization, raw
    )


@dataclass(frozen=True, slots=True)
class UsageResult:
    replicas: int
    usage: int  # average milli-units per pod


def plain_replicas(
    current: int,
    target_usage: int,
    resource: str,
    pods: Sequence[Mapping[str, Any]],
    metrics: Mapping[str, PodMetric],
    *,
    now: float,
    settings: CalculatorSettings,
) -> UsageResult:
    """Replicas for an AverageValue target (milli-units per pod), e.g. memory 100Mi per pod."""
    pods = _pods_in(pods)
    groups = group_pods(pods, metrics, resource, now=now, settings=settings)
    usable = _usable(metrics, groups)
    ratio, usage = usage_ratio(usable, target_usage)
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if _within(ratio, settings.tolerance):
            return UsageResult(current, usage)
        return UsageResult(math.ceil(ratio * groups.ready_count), usage)
    assumed = dict(usable)
    if groups.missing:
        if ratio < 1.0:
            for name in groups.missing:
                assumed[name] = PodMetric(target_usage)
        elif ratio > 1.0:
            for name in groups.missing:
                assumed[name] = PodMetric(0)
    if scale_up_with_unready:
        for name in groups.unready:
            assumed[name] = PodMetric(0)
    new_ratio, _ = usage_ratio(assumed, target_usage)
    return UsageResult(_settle(current, ratio, new_ratio, len(assumed), settings.tolerance), usage)
