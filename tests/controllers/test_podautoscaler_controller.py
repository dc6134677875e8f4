"""The HPA executor against a real API server: /scale reads and writes, status, conditions, events.

A control-plane `kyb server` (no node) runs the Deployment and ReplicaSet loops; this test plays
the kubelet (marks pods Running and Ready) and the metrics API (a fake `PodMetricsSource` whose cpu
level the test sets), and runs the HPA loop in-process with a 0.3 s sync period. The server's own
HPA loop is held off with a one-hour sync period, so only the loop under test acts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.client import APIClient, EventRecorder, SharedInformerFactory
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.errors import APIError
from kybernetes.client.rest import resource
from kybernetes.client.store import NAMESPACE_INDEX, index_by_namespace
from kybernetes.controllers.podautoscaler.controller import HorizontalController, HPASettings
from kybernetes.controllers.podautoscaler.metricsource import PodUsage
from kybernetes.testing.cluster import KybServer

Obj = dict[str, Any]
NS = "hpa-ctl"
NAMESPACES = resource("v1", "namespaces")
PODS = resource("v1", "pods")
EVENTS = resource("v1", "events")
DEPLOYMENTS = resource("apps/v1", "deployments")
HPAS = resource("autoscaling/v2", "horizontalpodautoscalers")
HPAS_V1 = resource("autoscaling/v1", "horizontalpodautoscalers")


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-hpa-ctl")), env={"KYB_HPA_SYNC_PERIOD": "3600"})
    try:
        server.start()
        yield server
    finally:
        server.stop()


class FakeMetrics:
    """Every selected, running pod uses `level` millicores in its one container."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.level = 0

    async def pod_metrics(self, namespace: str, selector: str) -> dict[str, PodUsage]:
        pods, _ = await self.client.list_all(PODS, namespace=namespace, label_selector=selector)
        now = time.time()
        return {
            p["metadata"]["name"]: PodUsage(now - 1, 15.0, {"app": {"cpu_millis": self.level}})
            for p in pods
            if (p.get("status") or {}).get("phase") == "Running"
        }


def long_ago() -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def play_kubelet(client: APIClient) -> None:
    """Mark every pending pod of the namespace Running and Ready (started ten minutes ago)."""
    while True:
        pods, _ = await client.list_all(PODS, namespace=NS)
        for p in pods:
            if (p.get("status") or {}).get("phase") == "Running" or p["metadata"].get("deletionTimestamp"):
                continue
            then = long_ago()
            p["status"] = {
                "phase": "Running",
                "startTime": then,
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": then}],
            }
            with contextlib.suppress(APIError):
                await client.update_status(PODS, p)
        await asyncio.sleep(0.3)


@pytest.fixture
async def env(kyb: KybServer) -> AsyncIterator[tuple[APIClient, FakeMetrics]]:
    async with APIClient(load_kubeconfig(str(kyb.kubeconfig)), user_agent="hpa-test/0.1") as client:
        with contextlib.suppress(APIError):
            await client.create(NAMESPACES, {"metadata": {"name": NS}})
        metrics = FakeMetrics(client)
        informers = SharedInformerFactory(client, namespace=NS)
        hpas = informers.informer(HPAS, indexers={NAMESPACE_INDEX: index_by_namespace})
        pods = informers.informer(PODS, indexers={NAMESPACE_INDEX: index_by_namespace})
        recorder = EventRecorder(client, "horizontal-pod-autoscaler")
        loop = HorizontalController(
            client, hpas, pods, recorder, metrics, settings=HPASettings(sync_period=0.3)
        )
        informers.start()
        await informers.wait_for_cache_sync()
        tasks = [asyncio.create_task(loop.run()), asyncio.create_task(play_kubelet(client))]
        try:
            yield client, metrics
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await informers.shutdown()
            await recorder.close()


def deployment(name: str, replicas: int) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "busybox:1.36", "resources": {"requests": {"cpu": "100m"}}}
                    ]
                },
            },
        },
    }


def hpa(name: str, *, metrics: list[Obj] | None = None, behavior: Obj | None = None, target: str = "") -> Obj:
    spec: Obj = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target or name},
        "minReplicas": 1,
        "maxReplicas": 5,
        "metrics": metrics
        or [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
            }
        ],
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }


async def until(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def condition(h: Obj, type_: str) -> Obj:
    return next((c for c in (h.get("status") or {}).get("conditions") or [] if c["type"] == type_), {})


async def test_scales_up_and_down_with_events(env: tuple[APIClient, FakeMetrics]) -> None:
    client, metrics = env
    await client.create(DEPLOYMENTS, deployment("web", 2))
    metrics.level = 90  # 90% of the 100m request against a 50% target: 2 x 1.8 -> 4
    await client.create(HPAS, hpa("web", behavior={"scaleDown": {"stabilizationWindowSeconds": 1}}))

    async def replicas(n: int) -> bool:
        d = await client.get(DEPLOYMENTS, "web", namespace=NS)
        return bool(d["spec"]["replicas"] == n)

    await until("scale up to 4", lambda: replicas(4))
    h = await until("HPA status", lambda: _status_with(client, "web", desired=4))
    assert h["status"]["currentMetrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageUtilization": 90, "averageValue": "90m"}},
        }
    ]
    assert condition(h, "ScalingActive")["message"] == (
        "the HPA was able to successfully calculate a replica count from cpu resource utilization "
        "(percentage of request)"
    )
    assert h["status"]["lastScaleTime"] and h["status"]["currentReplicas"] in (2, 4)

    metrics.level = 10  # 10% on four pods: ceil(4 x 0.2) = 1
    await until("scale down to 1", lambda: replicas(1))
    messages = await until("events", lambda: _events(client, "web", want=2))
    assert "New size: 4; reason: cpu resource utilization (percentage of request) above target" in messages
    assert "New size: 1; reason: All metrics below target" in messages


async def _status_with(client: APIClient, name: str, *, desired: int) -> Obj | None:
    h = await client.get(HPAS, name, namespace=NS)
    return h if (h.get("status") or {}).get("desiredReplicas") == desired else None


async def _events(client: APIClient, name: str, *, want: int) -> list[str] | None:
    listed = await client.list(EVENTS, namespace=NS, field_selector=f"involvedObject.name={name}")
    msgs = [e["message"] for e in listed.get("items") or [] if e.get("reason") == "SuccessfulRescale"]
    return msgs if len(msgs) >= want else None


async def test_custom_metrics_are_reported_not_crashed(env: tuple[APIClient, FakeMetrics]) -> None:
    client, _ = env
    await client.create(DEPLOYMENTS, deployment("qps", 1))
    pods_metric = {
        "type": "Pods",
        "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}},
    }
    await client.create(HPAS, hpa("qps", metrics=[pods_metric]))

    async def inactive() -> Obj | None:
        h = await client.get(HPAS, "qps", namespace=NS)
        return h if condition(h, "ScalingActive").get("status") == "False" else None

    h = await until("ScalingActive=False", inactive)
    assert condition(h, "ScalingActive")["reason"] == "FailedGetPodsMetric"
    assert condition(h, "ScalingActive")["message"] == (
        "the HPA was unable to compute the replica count: unable to get metric qps: unable to fetch metrics from "
        "custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"
    )
    assert condition(h, "AbleToScale")["reason"] == "SucceededGetScale"
    assert h["status"]["currentReplicas"] == 1


async def test_missing_target_and_v1_view(env: tuple[APIClient, FakeMetrics]) -> None:
    client, metrics = env
    await client.create(HPAS, hpa("ghost", target="nope"))

    async def unable() -> Obj | None:
        h = await client.get(HPAS, "ghost", namespace=NS)
        return h if condition(h, "AbleToScale").get("status") == "False" else None

    h = await until("AbleToScale=False", unable)
    assert condition(h, "AbleToScale")["reason"] == "FailedGetScale"
    assert condition(h, "AbleToScale")["message"] == (
        'the HPA controller was unable to get the target\'s current scale: deployments.apps "nope" not found'
    )

    # an autoscaling/v1 HPA is the same object: it scales, and v1 readers see the current utilization
    await client.create(DEPLOYMENTS, deployment("old", 1))
    metrics.level = 90
    await client.create(
        HPAS_V1,
        {
            "apiVersion": "autoscaling/v1",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "old", "namespace": NS},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "old"},
                "maxReplicas": 3,
                "targetCPUUtilizationPercentage": 60,
            },
        },
    )

    async def v1_status() -> Obj | None:
        h = await client.get(HPAS_V1, "old", namespace=NS)
        return h if (h.get("status") or {}).get("desiredReplicas") == 2 else None

    h = await until("v1 status", v1_status)
    assert h["status"]["currentCPUUtilizationPercentage"] == 90


CRDS = resource("apiextensions.k8s.io/v1", "customresourcedefinitions")
WIDGETS = resource("example.com/v1", "widgets", namespaced=True)


async def test_custom_resource_with_a_scale_subresource(env: tuple[APIClient, FakeMetrics]) -> None:
    client, _ = env
    schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    await client.create(
        CRDS,
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {"openAPIV3Schema": schema},
                        "subresources": {
                            "status": {},
                            "scale": {
                                "specReplicasPath": ".spec.replicas",
                                "statusReplicasPath": ".status.replicas",
                                "labelSelectorPath": ".status.selector",
                            },
                        },
                    }
                ],
            },
        },
    )

    async def created() -> bool:
        try:
            await client.create(
                WIDGETS,
                {
                    "apiVersion": "example.com/v1",
                    "kind": "Widget",
                    "metadata": {"name": "w", "namespace": NS},
                    "spec": {"replicas": 1},
                },
            )
        except APIError:
            return False
        return True

    await until("the CRD served", created)
    spec = hpa("w")["spec"]
    spec["scaleTargetRef"] = {"apiVersion": "example.com/v1", "kind": "Widget", "name": "w"}
    spec["minReplicas"] = 3
    await client.create(
        HPAS,
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "w", "namespace": NS},
            "spec": spec,
        },
    )

    async def scaled() -> bool:
        w = await client.get(WIDGETS, "w", namespace=NS)
        return bool(w["spec"]["replicas"] == 3)

    await until("the widget scaled to minReplicas", scaled)
    messages = await until("event", lambda: _events(client, "w", want=1))
    assert messages == ["New size: 3; reason: Current number of replicas below Spec.MinReplicas"]
