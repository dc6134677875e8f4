"""The kubelet's Prometheus endpoints on a real node, read as a user reads them: through the API
server's node proxy with `kubectl get --raw /api/v1/nodes/<node>/proxy/metrics/...`.

A busybox pod burns a little CPU; its container's cAdvisor series (CPU seconds, working set) must
appear, the resource endpoint must list the node and the pod, and the kubelet's own families must
count what it did to start the pod.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import phase, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18969


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    yield from start_node_server(
        Path("/tmp/kyb-prom-node"), PORT, cluster_cidr="10.157.0.0/16", bridge="kybp0"
    )


def samples(text: str, name: str, **labels: str) -> list[tuple[dict[str, str], float]]:
    return [
        (s.labels, s.value)
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def node_name(kyb: KybServer) -> str:
    return kyb.kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout.strip()


def raw(kyb: KybServer, path: str) -> str:
    return kyb.kubectl("get", "--raw", path).stdout


def test_pod_usage_in_cadvisor_and_resource_metrics(kyb: KybServer) -> None:
    kyb.kubectl(
        "run",
        "burn",
        "--image=busybox:1.36",
        "--restart=Never",
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 3600",
    )
    wait_for(lambda: phase(kyb, "burn") == "Running", what="burn Running")
    node = node_name(kyb)
    base = f"/api/v1/nodes/{node}/proxy"

    def burned() -> str:
        text = raw(kyb, f"{base}/metrics/cadvisor")
        cpu = samples(
            text, "container_cpu_usage_seconds_total", pod="burn", namespace="default", container="burn"
        )
        return text if cpu and cpu[0][1] > 0.05 else ""

    cadvisor = wait_for(burned, timeout=60, what="the pod's CPU seconds in /metrics/cadvisor")
    ((labels, _),) = samples(cadvisor, "container_cpu_usage_seconds_total", pod="burn", container="burn")
    assert set(labels) == {"container", "id", "image", "name", "namespace", "pod"}
    assert labels["image"] == "busybox:1.36" and labels["name"] and labels["id"].endswith(labels["name"])
    ((_, working_set),) = samples(
        cadvisor, "container_memory_working_set_bytes", pod="burn", container="burn"
    )
    assert working_set > 0
    pod_level = samples(cadvisor, "container_cpu_usage_seconds_total", pod="burn", container="")
    assert len(pod_level) == 1 and pod_level[0][0]["id"].startswith("/kubepods")
    assert samples(cadvisor, "container_cpu_usage_seconds_total", id="/")[0][1] > 0
    assert samples(cadvisor, "machine_cpu_cores")[0][1] >= 1

    resource = raw(kyb, f"{base}/metrics/resource")
    assert samples(resource, "node_cpu_usage_seconds_total")[0][1] > 0
    assert samples(resource, "node_memory_working_set_bytes")[0][1] > 0
    assert samples(resource, "pod_cpu_usage_seconds_total", pod="burn", namespace="default")[0][1] > 0
    assert samples(resource, "container_memory_working_set_bytes", pod="burn", container="burn")[0][1] > 0
    assert samples(resource, "container_start_time_seconds", pod="burn", container="burn")[0][1] > 1e9
    assert samples(resource, "resource_scrape_error") == [({}, 0.0)]


def test_kubelet_families(kyb: KybServer) -> None:
    wait_for(lambda: phase(kyb, "burn") == "Running", what="burn Running")
    node = node_name(kyb)
    text = raw(kyb, f"/api/v1/nodes/{node}/proxy/metrics")
    assert samples(text, "kubelet_node_name") == [({"node": node}, 1.0)]
    assert samples(text, "kubelet_running_pods")[0][1] >= 1
    assert samples(text, "kubelet_running_containers", container_state="running")[0][1] >= 1
    assert samples(text, "kubelet_runtime_operations_total", operation_type="create_container")[0][1] >= 1
    assert samples(text, "kubelet_runtime_operations_duration_seconds_count", operation_type="run_podsandbox")
    assert samples(text, "kubelet_pod_start_duration_seconds_count")[0][1] >= 1
    assert samples(text, "kubelet_pod_worker_duration_seconds_count", operation_type="create")[0][1] >= 1
    assert samples(text, "kubelet_pleg_relist_duration_seconds_count")[0][1] >= 1
    assert samples(text, "process_resident_memory_bytes")[0][1] > 0
    # the API server counts the proxied connection as a CONNECT to nodes/proxy
    server = raw(kyb, "/metrics")
    assert samples(server, "apiserver_request_total", verb="CONNECT", resource="nodes", subresource="proxy")
    assert samples(server, "scheduler_schedule_attempts_total", result="scheduled")[0][1] >= 1
