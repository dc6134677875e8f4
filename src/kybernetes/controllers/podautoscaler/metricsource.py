"""Where the autoscaler's pod usage comes from: the resource metrics API, behind a small interface.

`PodMetricsSource` is what the controller needs: one call per HPA sync returns every selected
pod's latest sample (per container cpu in millicores and memory in bytes, with the sample's time
and window). `RESTPodMetrics` reads it from ``metrics.k8s.io/v1beta1`` PodMetrics through the API
server (as upstream's controller does, served by metrics-server or by kyb's own metrics API); tests
pass a fake. `resource_samples` turns that answer into the per-pod `PodMetric`s the calculator
takes, with upstream's rules: a pod sample is the sum over its containers and is dropped when any
container lacks the resource; a container metric requires that container in every pod.

Only the resource metrics API exists here: Pods and Object metrics would read
``custom.metrics.k8s.io`` and External metrics ``external.metrics.k8s.io``; their errors carry
upstream's texts for an unregistered API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from kybernetes.client import APIClient
from kybernetes.client.errors import APIError
from kybernetes.controllers.podautoscaler.replicas import MetricError, PodMetric
from kybernetes.controllers.rfc3339 import parse as parse_time
from kybernetes.machinery.quantity import parse_quantity
from kybernetes.util import goduration

CPU = "cpu_millis"
MEMORY = "memory_bytes"
NO_CUSTOM_METRICS_API = "no custom metrics API (custom.metrics.k8s.io) registered"


class PodUsage(NamedTuple):
    timestamp: float  # epoch seconds
    window: float  # seconds
    containers: dict[
        str, dict[str, int]
    ]  # container -> {"cpu_millis": n, "memory_bytes": n}, absent = unknown


class PodMetricsSource(Protocol):
    async def pod_metrics(self, namespace: str, selector: str) -> dict[str, PodUsage]:
        """Pod name -> its latest sample, for the pods in `namespace` that `selector` (labelSelector
        text) picks. Raises `MetricError` with the reason when the API cannot answer."""
        ...


def _duration(text: Any) -> float:
    """A Go duration as metrics-server writes it ("15s", "1m0s", "1.5s"); 60 s when unreadable."""
    try:
        return goduration.parse_go_duration(text) if isinstance(text, str) and text else 60.0
    except ValueError:
        return 60.0


def parse_pod_metrics(item: Mapping[str, Any]) -> PodUsage:
    """One PodMetrics object as a `PodUsage` (quantities rounded up as upstream's MilliValue)."""
    stamp = parse_time(item.get("timestamp"))
    containers: dict[str, dict[str, int]] = {}
    for c in item.get("containers") or []:
        usage = c.get("usage") or {}
        values: dict[str, int] = {}
        try:
            if "cpu" in usage:
                values[CPU] = parse_quantity(str(usage["cpu"])).milli_value()
            if "memory" in usage:
                values[MEMORY] = parse_quantity(str(usage["memory"])).value_int()
        except Exception:
            values = {}  # an unreadable sample counts as no sample
        containers[str(c.get("name") or "")] = values
    return PodUsage(stamp.timestamp() if stamp else 0.0, _duration(item.get("window")), containers)


def _api_error_text(e: APIError, resource: str) -> str:
    if e.code == 404 and not e.details:
        return f"{e.message} (get {resource})"
    return e.message


class RESTPodMetrics:
    """PodMetrics from ``/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods?labelSelector=…``."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    async def pod_metrics(self, namespace: str, selector: str) -> dict[str, PodUsage]:
        path = f"/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods"
        try:
            answer = await self.client.request(
                "GET", path, params={"labelSelector": selector} if selector else None
            )
        except APIError as e:
            raise MetricError(
                f"unable to fetch metrics from resource metrics API: "
                f"{_api_error_text(e, 'pods.metrics.k8s.io')}"
            ) from None
        except Exception as e:  # connection trouble: report it, never crash the sync
            raise MetricError(f"unable to fetch metrics from resource metrics API: {e}") from None
        items = answer.get("items") if isinstance(answer, dict) else None
        return {
            str((it.get("metadata") or {}).get("name") or ""): parse_pod_metrics(it)
            for it in items or []
            if isinstance(it, dict)
        }


def _key(resource: str) -> str:
    return CPU if resource == "cpu" else MEMORY if resource == "memory" else resource


def _milli(resource: str, value: int) -> int:
    # The calculator works in milli-units throughout; memory arrives in bytes.
    return value if resource == "cpu" else value * 1000


def resource_samples(
    usage: Mapping[str, PodUsage], resource: str, container: str = "", namespace: str = ""
) -> dict[str, PodMetric]:
    """Per-pod samples of `resource` (milli-units); `container` limits them to that container."""
    if not usage:
        raise MetricError("no metrics returned from resource metrics API")
    key = _key(resource)
    out: dict[str, PodMetric] = {}
    for pod, sample in usage.items():
        if container:
            if container not in sample.containers:
                raise MetricError(
                    f"failed to get container metrics: container {container} not present in "
                    f"metrics for pod {namespace}/{pod}"
                )
            value = sample.containers[container].get(key)
            if value is not None:
                out[pod] = PodMetric(_milli(resource, value), sample.timestamp, sample.window)
            continue
        if not sample.containers or any(key not in c for c in sample.containers.values()):
            continue
        total = sum(c[key] for c in sample.containers.values())
        out[pod] = PodMetric(_milli(resource, total), sample.timestamp, sample.window)
    return out
