"""NodeMetrics / PodMetrics objects, lists and Tables as metrics-server writes them."""

from __future__ import annotations

from kybernetes.metrics.objects import metrics_list, metrics_table, node_metrics, pod_metrics
from kybernetes.metrics.summary import PodUsage, Usage

E0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_node_metrics_shape() -> None:
    node = {"metadata": {"name": "n1", "labels": {"zone": "a"}, "uid": "x", "resourceVersion": "5"}}
    obj = node_metrics(node, Usage(E0, 15.0042, 123_456_789, 3 * 2**30), E0 + 20)
    assert obj == {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": "n1", "creationTimestamp": "2026-01-01T00:00:20Z", "labels": {"zone": "a"}},
        "timestamp": "2026-01-01T00:00:00Z",
        "window": "15.004s",
        "usage": {"cpu": "123456789n", "memory": "3Gi"},
    }


def test_pod_metrics_containers_follow_the_spec() -> None:
    pod = {
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"containers": [{"name": "app"}, {"name": "sidecar"}]},
    }
    usage = PodUsage(
        "prod",
        "web",
        "u",
        (("sidecar", Usage(E0, 2, 1_000_000, 4096)), ("app", Usage(E0 + 1, 3, 500_000_000, 8192))),
    )
    obj = pod_metrics(pod, usage, E0 + 5)
    assert obj["metadata"] == {
        "name": "web",
        "namespace": "prod",
        "creationTimestamp": "2026-01-01T00:00:05Z",
    }
    assert obj["timestamp"] == "2026-01-01T00:00:00Z" and obj["window"] == "2s"
    assert obj["containers"] == [
        {"name": "app", "usage": {"cpu": "500m", "memory": "8Ki"}},
        {"name": "sidecar", "usage": {"cpu": "1m", "memory": "4Ki"}},
    ]


def test_list_and_table() -> None:
    pod = {
        "metadata": {"name": "web", "namespace": "prod"},
        "spec": {"containers": [{"name": "a"}, {"name": "b"}]},
    }
    usage = PodUsage(
        "prod", "web", "u", (("a", Usage(E0, 60, 1_000_000, 2**20)), ("b", Usage(E0, 60, 2_500_000, 2**20)))
    )
    item = pod_metrics(pod, usage, E0)
    assert metrics_list("PodMetrics", [item]) == {
        "kind": "PodMetricsList",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {},
        "items": [item],
    }
    table = metrics_table([item])
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert table["rows"][0]["cells"] == ["web", "3500u", "2Mi", "1m0s"]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert "object" not in metrics_table([item], include_object="None")["rows"][0]
