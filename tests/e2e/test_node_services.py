"""Services and DNS on the real node: a pod reaches a ClusterIP by address and by name, traffic is
spread over the backends, NodePort answers on the node address, and a Service without endpoints
refuses connections."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import phase, pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18945
IMAGE = "busybox:1.36"
WEB = ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    yield from start_node_server(Path("/tmp/kyb-e2e-svc"), PORT, cluster_cidr="10.49.0.0/16", bridge="kybsvc")


@pytest.fixture(scope="module")
def web(kyb: KybServer) -> dict[str, str]:
    kyb.kubectl("create", "deployment", "web", f"--image={IMAGE}", "--replicas=2", "--", *WEB)
    kyb.kubectl("expose", "deployment", "web", "--port=80", "--target-port=8080")
    kyb.kubectl("run", "client", f"--image={IMAGE}", "--", "sleep", "3600")
    wait_for(lambda: phase(kyb, "client") == "Running", what="client Running")

    def ready_endpoints() -> int:
        eps = json.loads(kyb.kubectl("get", "endpoints", "web", "-o", "json").stdout)
        return sum(len(s.get("addresses", [])) for s in eps.get("subsets", []))
    wait_for(lambda: ready_endpoints() == 2, what="two endpoints")
    svc = json.loads(kyb.kubectl("get", "svc", "web", "-o", "json").stdout)
    return {"ip": svc["spec"]["clusterIP"]}


def fetch_in_pod(kyb: KybServer, url: str) -> str:
    out = kyb.kubectl("exec", "client", "--", "timeout", "3", "wget", "-qO-", url, check=False)
    return out.stdout.strip() if out.returncode == 0 else ""


def test_cluster_ip_spreads_over_backends(kyb: KybServer, web: dict[str, str]) -> None:
    backends = {p["metadata"]["name"] for p in json.loads(
        kyb.kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]}
    seen: set[str] = set()
    deadline = time.monotonic() + 60
    while seen != backends and time.monotonic() < deadline:
        answer = fetch_in_pod(kyb, f"http://{web['ip']}/")
        if answer:
            seen.add(answer)
    assert seen == backends


def test_service_name_resolves_through_cluster_dns(kyb: KybServer, web: dict[str, str]) -> None:
    out = wait_for(lambda: (r := kyb.kubectl("exec", "client", "--", "nslookup", "web.default.svc.cluster.local",
                                             check=False)).returncode == 0 and r.stdout, what="nslookup")
    assert web["ip"] in out
    # the short name through the pod's search path (ndots:5)
    assert wait_for(lambda: fetch_in_pod(kyb, "http://web/"), what="http://web/") .startswith("web-")


def test_node_port_answers_on_the_node_address(kyb: KybServer, web: dict[str, str]) -> None:
    kyb.kubectl("expose", "deployment", "web", "--name=web-np", "--type=NodePort", "--port=80", "--target-port=8080")
    svc = json.loads(kyb.kubectl("get", "svc", "web-np", "-o", "json").stdout)
    node_port = svc["spec"]["ports"][0]["nodePort"]
    node_ip = pod(kyb, "client")["status"]["hostIP"]

    def get() -> str:
        try:
            with urllib.request.urlopen(f"http://{node_ip}:{node_port}/", timeout=2) as r:
                return str(r.read().decode().strip())
        except (OSError, urllib.error.URLError):
            return ""
    assert wait_for(get, what="NodePort").startswith("web-")


def test_service_without_endpoints_refuses_quickly(kyb: KybServer) -> None:
    kyb.kubectl("create", "service", "clusterip", "nobody", "--tcp=80:8080")
    ip = json.loads(kyb.kubectl("get", "svc", "nobody", "-o", "json").stdout)["spec"]["clusterIP"]
    time.sleep(1.5)  # programmed within a second
    began = time.monotonic()
    out = kyb.kubectl("exec", "client", "--", "timeout", "5", "wget", "-qO-", f"http://{ip}/", check=False)
    took = time.monotonic() - began
    assert out.returncode != 0
    assert "refused" in out.stderr.lower() or took < 3, (out.stderr, took)
