"""The kubelet's Prometheus endpoints: label values (table-driven), the cAdvisor and resource
families from samples, and the /metrics registry, each parsed with prometheus_client's parser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from kybernetes.kubelet.metrics import KubeletMetrics, operation_type, read_node_sample, sync_type
from kybernetes.kubelet.metrics_cadvisor import (
    ContainerSample,
    NetworkSample,
    NodeSample,
    PodSample,
    Samples,
    cadvisor_families,
    resource_families,
)
from kybernetes.kubelet.server import KubeletServer
from kybernetes.metrics import prom


def parsed(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def series(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples if s.name == name
    ]


@pytest.mark.parametrize(
    ("method", "label"),
    [
        ("RunPodSandbox", "run_podsandbox"),
        ("ListPodSandbox", "list_podsandbox"),
        ("PodSandboxStatus", "podsandbox_status"),
        ("CreateContainer", "create_container"),
        ("ListContainerStats", "list_container_stats"),
        ("ExecSync", "exec_sync"),
        ("ImageFsInfo", "image_fs_info"),
        ("Version", "version"),
    ],
)
def test_operation_type(method: str, label: str) -> None:
    assert operation_type(method) == label


@pytest.mark.parametrize(
    ("pod", "has_runtime", "kind"),
    [
        (None, True, "kill"),
        ({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}, True, "kill"),
        ({"metadata": {}}, False, "create"),
        ({"metadata": {}}, True, "sync"),
    ],
    ids=["gone", "deleting", "first", "running"],
)
def test_sync_type(pod: Any, has_runtime: bool, kind: str) -> None:
    assert sync_type(pod, has_runtime) == kind


def sample() -> Samples:
    web = ContainerSample(
        namespace="ns",
        pod="web",
        container="app",
        container_id="c1",
        cgroup="/kubepods/besteffort/podU/c1",
        image="busybox:1.36",
        cpu_seconds=1.5,
        working_set_bytes=4096,
        rss_bytes=2048,
        usage_bytes=8192,
        page_faults=7,
        major_page_faults=1,
        fs_usage_bytes=12,
        start_time=1700000000.0,
        timestamp_ms=1700000001000,
    )
    side = ContainerSample(
        namespace="ns",
        pod="web",
        container="side",
        container_id="c2",
        cgroup="/kubepods/besteffort/podU/c2",
        cpu_seconds=0.5,
        working_set_bytes=1024,
        timestamp_ms=1700000001000,
    )
    pod = PodSample(
        namespace="ns",
        pod="web",
        cgroup="/kubepods/besteffort/podU",
        containers=(web, side),
        networks=(NetworkSample("eth0", 100, 200, 1, 2),),
        timestamp_ms=1700000001000,
    )
    node = NodeSample(
        cpu_seconds=99.0,
        working_set_bytes=10**9,
        usage_bytes=10**9,
        cpu_cores=2,
        memory_bytes=4 * 10**9,
        timestamp_ms=1700000001000,
    )
    return Samples(node=node, pods=(pod,))


def test_cadvisor_families() -> None:
    text = prom.render(cadvisor_families(sample()))
    fams = parsed(text)
    assert fams["container_cpu_usage_seconds"].type == "counter"
    cpu = {(lab["container"], lab["id"]): v for lab, v in series(text, "container_cpu_usage_seconds_total")}
    assert cpu == {
        ("", "/"): 99.0,
        ("", "/kubepods/besteffort/podU"): 2.0,
        ("app", "/kubepods/besteffort/podU/c1"): 1.5,
        ("side", "/kubepods/besteffort/podU/c2"): 0.5,
    }
    app = next(
        lab for lab, _ in series(text, "container_memory_working_set_bytes") if lab["container"] == "app"
    )
    assert app == {
        "container": "app",
        "id": "/kubepods/besteffort/podU/c1",
        "image": "busybox:1.36",
        "name": "c1",
        "namespace": "ns",
        "pod": "web",
    }
    assert series(text, "container_network_receive_bytes_total")[0][0]["interface"] == "eth0"
    assert series(text, "container_network_transmit_bytes_total")[0][1] == 200
    assert [v for lab, v in series(text, "container_memory_rss") if lab["container"] == "app"] == [2048]
    assert {lab["failure_type"] for lab, _ in series(text, "container_memory_failures_total")} == {
        "pgfault",
        "pgmajfault",
    }
    assert [v for _, v in series(text, "container_start_time_seconds")] == [
        1700000000.0
    ]  # side never started
    assert series(text, "machine_cpu_cores") == [({}, 2.0)]
    assert series(text, "container_scrape_error") == [({}, 0.0)]
    stamped = next(s for s in fams["container_cpu_usage_seconds"].samples if s.labels["container"] == "app")
    assert stamped.timestamp == 1700000001.0


def test_resource_families() -> None:
    text = prom.render(resource_families(sample()))
    assert series(text, "node_cpu_usage_seconds_total") == [({}, 99.0)]
    assert series(text, "node_memory_working_set_bytes") == [({}, 1e9)]
    assert series(text, "pod_cpu_usage_seconds_total") == [({"pod": "web", "namespace": "ns"}, 2.0)]
    assert series(text, "pod_memory_working_set_bytes") == [({"pod": "web", "namespace": "ns"}, 5120.0)]
    mem = dict((lab["container"], v) for lab, v in series(text, "container_memory_working_set_bytes"))
    assert mem == {"app": 4096.0, "side": 1024.0}
    assert set(series(text, "container_cpu_usage_seconds_total")[0][0]) == {"container", "pod", "namespace"}
    assert series(text, "resource_scrape_error") == [({}, 0.0)] and series(text, "scrape_error") == [
        ({}, 0.0)
    ]


def test_scrape_error_is_reported() -> None:
    failed = Samples(node=sample().node, error=True)
    assert series(prom.render(resource_families(failed)), "resource_scrape_error") == [({}, 1.0)]
    assert series(prom.render(cadvisor_families(failed)), "container_scrape_error") == [({}, 1.0)]


def test_node_sample_from_proc(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu  100 5 50 1000 20 3 2 0 0 0\ncpu0 1 1 1 1 1 1 1 1 1 1\n")
    (tmp_path / "meminfo").write_text("MemTotal: 1000 kB\nMemAvailable: 400 kB\n")
    node = read_node_sample(4, 0, proc=tmp_path)
    assert node.cpu_seconds == 1.6  # (100+5+50+3+2) jiffies, idle and iowait left out
    assert node.working_set_bytes == 600 * 1024 and node.memory_bytes == 1000 * 1024 and node.cpu_cores == 4


async def test_kubelet_registry() -> None:
    m = KubeletMetrics("node-a")
    m.runtime_operation("CreateContainer", 0.02, False)
    m.runtime_operation("CreateContainer", 0.03, True)
    m.pod_seen("u1")
    m.pod_status_reported("u1", "Pending")
    m.pod_status_reported("u1", "Running")
    m.pod_status_reported("u1", "Running")  # only the first Running ends the start duration
    m.pod_status_reported("u2", "Running")  # never seen: not measured
    m.pod_synced({"metadata": {}}, False, 0.1)
    m.relisted(0.01)
    m.relisted(0.01)
    text = await m.render("/metrics")
    assert series(text, "kubelet_node_name") == [({"node": "node-a"}, 1.0)]
    assert series(text, "kubelet_runtime_operations_total") == [({"operation_type": "create_container"}, 2.0)]
    assert series(text, "kubelet_runtime_operations_errors_total") == [
        ({"operation_type": "create_container"}, 1.0)
    ]
    assert series(text, "kubelet_pod_start_duration_seconds_count") == [({}, 1.0)]
    assert series(text, "kubelet_pod_worker_duration_seconds_count") == [({"operation_type": "create"}, 1.0)]
    assert series(text, "kubelet_pleg_relist_duration_seconds_count") == [({}, 2.0)]
    assert series(text, "kubelet_pleg_relist_interval_seconds_count") == [({}, 1.0)]
    les = [lab["le"] for lab, _ in series(text, "kubelet_runtime_operations_duration_seconds_bucket")]
    assert len(les) == 15 and les[0] == "0.005" and les[-1] == "+Inf"
    assert "process_cpu_seconds" in parsed(text)


async def test_server_serves_the_endpoints(tmp_path: Path) -> None:
    from kybernetes.util import pki

    ca = pki.generate_ca("test-ca")
    cert_pem, key_pem = pki.issue_serving_cert(
        ca, common_name="node", dns_names=["localhost"], ip_addresses=["127.0.0.1"]
    )
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem)
    (tmp_path / "tls.crt").write_bytes(cert_pem)
    (tmp_path / "tls.key").write_bytes(key_pem)
    asked: list[str] = []

    async def metrics(path: str) -> str:
        asked.append(path)
        return "# HELP x y\n# TYPE x gauge\nx 1\n"

    server = KubeletServer(
        None,  # type: ignore[arg-type]  # the metrics routes never ask the runtime
        tls_cert=tmp_path / "tls.crt",
        tls_key=tmp_path / "tls.key",
        client_ca=tmp_path / "ca.crt",
        metrics=metrics,
    )
    paths = {r.resource.canonical for r in server.app().router.routes() if r.resource is not None}
    assert {"/metrics", "/metrics/cadvisor", "/metrics/resource"} <= paths
    resp: Any = await server._metrics(make_mocked_request("GET", "/metrics/cadvisor"))
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert asked == ["/metrics/cadvisor"] and series(resp.body.decode(), "x") == [({}, 1.0)]
