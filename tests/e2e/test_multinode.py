"""Three real nodes on one machine (network namespaces), driven by real kubectl (issue 7 §6).

Pods on different nodes reach each other with their own source IPs (host-gw routes, no masquerade
inside the cluster CIDR); a ClusterIP Service reached from pods on every node spreads over backends
on several nodes; a NodePort answers on every node's address from the host; a DaemonSet places one
pod per node; the canary (two Deployments, 3 and 1 replicas, one Service) splits traffic about 3:1;
DNS names resolve from pods on every node; a node that leaves takes its pod route off the others.
The fixture fails the run if any namespace, interface, process, cgroup or mount is left behind.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.devcluster import DevCluster
from kybernetes.testing.multinode import multinode_cluster
from kybernetes.testing.node import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IMAGE = "busybox:1.36"
NODES = ["kyb-m2-node1", "kyb-m2-node2", "kyb-m2-node3"]
# httpd answering with the pod's name and node (downward API), logging each client address (-vv)
WEB = ("mkdir -p /www && echo \"$POD_NAME $NODE_NAME\" > /www/index.html && "
       "exec httpd -f -vv -p 8080 -h /www")
ENV = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
       {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]
SLEEP = "trap 'exit 0' TERM; sleep 3600 & wait"


@pytest.fixture(scope="module")
def cluster() -> Iterator[DevCluster]:
    with multinode_cluster(Path("/tmp/kyb-m2"), port=18660, prefix="kyb-m2", host_bridge="kybm2net",
                           subnet="10.98.0.0/24", cluster_cidr="10.52.0.0/16", dns_port=18661) as c:
        yield c


def kubectl(c: DevCluster, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return c.server.kubectl(*args, input=input, check=check)


def apply(c: DevCluster, *objs: dict[str, Any]) -> None:
    kubectl(c, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def pods(c: DevCluster, selector: str) -> list[dict[str, Any]]:
    return list(json.loads(kubectl(c, "get", "pods", "-l", selector, "-o", "json").stdout)["items"])


def running(c: DevCluster, selector: str, count: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        items = [p for p in pods(c, selector) if p.get("status", {}).get("phase") == "Running"
                 and all(s.get("ready") for s in p["status"].get("containerStatuses", []))]
        return items if len(items) == count else None
    result: list[dict[str, Any]] = wait_for(check, timeout=120, what=f"{count} pods {selector} running", interval=1)
    return result


def daemonset(name: str, command: str, env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": IMAGE, "command": ["sh", "-c", command]}
    if env:
        container["env"] = env
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]}}}}


def deployment(name: str, replicas: int, labels: dict[str, str], text: str) -> dict[str, Any]:
    command = f"mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p 8080 -h /www"
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                                      {"name": "c", "image": IMAGE, "command": ["sh", "-c", command]}]}}}}


def service(name: str, selector: dict[str, str], *, node_port: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]}
    if node_port:
        spec["type"] = "NodePort"
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def endpoints(c: DevCluster, name: str) -> list[tuple[str, str, bool]]:
    """(slice, address, ready) of every endpoint in the Service's slices."""
    out = kubectl(c, "get", "endpointslices", "-l", f"kubernetes.io/service-name={name}", "-o", "json")
    return [(s["metadata"]["name"], a, bool((e.get("conditions") or {}).get("ready")))
            for s in json.loads(out.stdout)["items"] for e in s.get("endpoints") or [] for a in e["addresses"]]


def wait_endpoints(c: DevCluster, name: str, count: int) -> None:
    def ready() -> list[tuple[str, str, bool]] | None:
        listed = endpoints(c, name)
        return listed if len({a for _, a, r in listed if r}) == count else None
    try:
        wait_for(ready, timeout=90, what=f"{count} ready endpoints of {name}", interval=1)
    except AssertionError:
        listed = kubectl(c, "get", "pods", "-o", "wide", check=False).stdout
        raise AssertionError(f"endpoints of {name}: {endpoints(c, name)}\n{listed}") from None


def in_pod(c: DevCluster, pod: str, script: str, timeout: float = 60) -> str:
    out = c.server.kubectl("exec", pod, "--", "sh", "-c", script, check=False, timeout=timeout)
    return out.stdout


@pytest.fixture(scope="module")
def workloads(cluster: DevCluster) -> dict[str, Any]:
    """One echo server and one client per node (DaemonSets), the echo Service as a NodePort."""
    apply(cluster, daemonset("echo", WEB, ENV), daemonset("client", SLEEP),
          service("echo", {"app": "echo"}, node_port=True))
    echo = running(cluster, "app=echo", 3)
    clients = running(cluster, "app=client", 3)
    wait_endpoints(cluster, "echo", 3)
    svc = json.loads(kubectl(cluster, "get", "svc", "echo", "-o", "json").stdout)
    return {"echo": {p["spec"]["nodeName"]: p for p in echo}, "clients": {p["spec"]["nodeName"]: p for p in clients},
            "svc": svc}


def test_each_node_routes_the_others_pod_cidrs(cluster: DevCluster) -> None:
    nodes = json.loads(kubectl(cluster, "get", "nodes", "-o", "json").stdout)["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == NODES
    cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in nodes}
    for plan in cluster.nodes:
        def routes(ns: str = plan.netns) -> str:
            return subprocess.run(["ip", "-n", ns, "route", "show", "proto", "250"], capture_output=True,
                                  text=True, check=True).stdout
        expected = [f"{cidrs[o.name]} via {o.address}" for o in cluster.nodes if o is not plan]
        wait_for(lambda want=expected: all(e in routes() for e in want),  # type: ignore[misc]
                 timeout=30, what=f"routes on {plan.name}")


def test_daemonset_places_one_pod_per_node(workloads: dict[str, Any]) -> None:
    assert sorted(workloads["echo"]) == NODES
    assert sorted(workloads["clients"]) == NODES


def test_pods_on_other_nodes_see_the_real_source_ip(cluster: DevCluster, workloads: dict[str, Any]) -> None:
    server = workloads["echo"][NODES[0]]
    for node in NODES[1:]:
        client = workloads["clients"][node]
        answer = in_pod(cluster, client["metadata"]["name"],
                        f"timeout 5 wget -qO- http://{server['status']['podIP']}:8080/")
        assert answer.split() == [server["metadata"]["name"], NODES[0]]
    logs = kubectl(cluster, "logs", server["metadata"]["name"]).stdout
    peers = set(re.findall(r"\[(?:::ffff:)?([0-9.]+)\]:\d+: url:/", logs))
    for node in NODES[1:]:
        assert workloads["clients"][node]["status"]["podIP"] in peers, logs


def test_cluster_ip_from_every_node_spreads_over_nodes(cluster: DevCluster, workloads: dict[str, Any]) -> None:
    ip = workloads["svc"]["spec"]["clusterIP"]
    for node in NODES:
        client = workloads["clients"][node]["metadata"]["name"]
        out = in_pod(cluster, client, f"for i in $(seq 15); do timeout 3 wget -qO- http://{ip}/; done")
        reached = Counter(line.split()[1] for line in out.splitlines() if len(line.split()) == 2)
        assert sum(reached.values()) == 15, out
        assert len(reached) >= 2, f"from {node} only {reached}"


def test_node_port_answers_on_every_node_from_the_host(workloads: dict[str, Any]) -> None:
    port = workloads["svc"]["spec"]["ports"][0]["nodePort"]
    for plan_ip in ("10.98.0.11", "10.98.0.12", "10.98.0.13"):
        with urllib.request.urlopen(f"http://{plan_ip}:{port}/", timeout=5) as r:
            assert r.status == 200
            assert r.read().decode().split()[1] in NODES


def test_dns_names_resolve_from_every_node(cluster: DevCluster, workloads: dict[str, Any]) -> None:
    ip = workloads["svc"]["spec"]["clusterIP"]
    for node in NODES:
        client = workloads["clients"][node]["metadata"]["name"]
        out = in_pod(cluster, client, "nslookup echo.default.svc.cluster.local; nslookup kubernetes.default.svc.cluster.local")
        assert f"Address: {ip}" in out, out
        assert "Address: 10.43.0.1" in out, out
        # by name through the search path, end to end
        assert len(in_pod(cluster, client, "timeout 5 wget -qO- http://echo/").split()) == 2


def test_canary_splits_by_replica_counts(cluster: DevCluster, workloads: dict[str, Any]) -> None:
    apply(cluster, deployment("web-v1", 3, {"app": "web", "track": "stable"}, "v1"),
          deployment("web-v2", 1, {"app": "web", "track": "canary"}, "v2"), service("web", {"app": "web"}))
    running(cluster, "app=web", 4)
    wait_endpoints(cluster, "web", 4)
    client = workloads["clients"][NODES[1]]["metadata"]["name"]
    out = in_pod(cluster, client, "for i in $(seq 80); do timeout 3 wget -qO- http://web/; done", timeout=120)
    counts = Counter(line.strip() for line in out.splitlines() if line.strip())
    assert counts["v1"] + counts["v2"] == 80, counts
    # 3:1 expected (v2 ~ 20 of 80, sd ~ 3.9): far outside this band would mean no weighting by replicas
    assert 8 <= counts["v2"] <= 34, counts


def test_a_removed_node_takes_its_route_off_the_others(cluster: DevCluster) -> None:
    gone = cluster.nodes[-1]
    cidr = json.loads(kubectl(cluster, "get", "node", gone.name, "-o", "json").stdout)["spec"]["podCIDR"]
    cluster.stop_agent(gone)
    kubectl(cluster, "delete", "node", gone.name)
    for plan in cluster.nodes[:-1]:
        def has_route(ns: str = plan.netns) -> bool:
            out = subprocess.run(["ip", "-n", ns, "route", "show", "proto", "250"], capture_output=True,
                                 text=True, check=True).stdout
            return cidr in out
        wait_for(lambda: not has_route(), timeout=30, what=f"route to {cidr} gone from {plan.name}")
