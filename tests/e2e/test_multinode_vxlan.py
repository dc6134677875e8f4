"""Two real nodes on different subnets, joined by the VXLAN backend (`--network-backend vxlan`).

The dev cluster puts node1 on 192.168.159.0/24 and node2 on 192.168.160.0/24; the host routes
between them and knows no pod address, so host-gw could not connect their pods. Each node makes
`kyb.vxlan` (MTU 1500 - 50), publishes its VTEP MAC on its Node, and programs a route, neighbour
and FDB entry for the other; a pod on each node then reaches the other by pod IP and the server
logs the client pod's own address (no NAT inside the cluster CIDR). The fixture fails the run if
any namespace, interface, process, cgroup or mount is left behind.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.devcluster import DevCluster
from kybernetes.kubelet.vxlan import VTEP_MAC_ANNOTATION
from kybernetes.testing.cluster import free_port
from kybernetes.testing.multinode import multinode_cluster
from kybernetes.testing.node import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IMAGE = "busybox:1.36"
NODES = ["kybvx-node1", "kybvx-node2"]
SUBNETS = ("192.168.159.0/24", "192.168.160.0/24")
WEB = 'mkdir -p /www && echo "$POD_NAME" > /www/index.html && exec httpd -f -vv -p 8080 -h /www'
ENV = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
SLEEP = "trap 'exit 0' TERM; sleep 3600 & wait"


@pytest.fixture(scope="module")
def cluster() -> Iterator[DevCluster]:
    with multinode_cluster(
        Path("/tmp/kyb-vx-e2e"),
        port=free_port(),
        prefix="kybvx",
        host_bridge="kybvxnet",
        subnet=SUBNETS[0],
        cluster_cidr="10.159.0.0/16",
        dns_port=free_port(),
        nodes=2,
        network_backend="vxlan",
        node_subnets=SUBNETS,
    ) as c:
        yield c


def kubectl(c: DevCluster, *args: str, input: str | None = None) -> str:
    return c.server.kubectl(*args, input=input).stdout


def daemonset(name: str, command: str, env: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "c",
        "image": IMAGE,
        "command": ["sh", "-c", command],
        "env": env or [],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [container]},
            },
        },
    }


def running(c: DevCluster, app: str) -> dict[str, dict[str, Any]]:
    """node name -> the Running, ready pod of `app` there (one per node)."""

    def check() -> dict[str, dict[str, Any]] | None:
        items = json.loads(kubectl(c, "get", "pods", "-l", f"app={app}", "-o", "json"))["items"]
        ready = {
            p["spec"]["nodeName"]: p
            for p in items
            if p.get("status", {}).get("phase") == "Running"
            and all(s.get("ready") for s in p["status"].get("containerStatuses", []))
        }
        return ready if sorted(ready) == NODES else None

    found: dict[str, dict[str, Any]] = wait_for(check, timeout=120, what=f"{app} on every node", interval=1)
    return found


def ip(ns: str, *args: str) -> str:
    return subprocess.run(["ip", "-n", ns, *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def workloads(cluster: DevCluster) -> dict[str, dict[str, dict[str, Any]]]:
    objs = [daemonset("echo", WEB, ENV), daemonset("client", SLEEP)]
    kubectl(
        cluster, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})
    )
    return {"echo": running(cluster, "echo"), "client": running(cluster, "client")}


def test_nodes_on_two_subnets_each_with_a_vtep(cluster: DevCluster) -> None:
    nodes = {
        n["metadata"]["name"]: n for n in json.loads(kubectl(cluster, "get", "nodes", "-o", "json"))["items"]
    }
    assert sorted(nodes) == NODES
    assert [p.address for p in cluster.nodes] == ["192.168.159.11", "192.168.160.12"]

    def annotated() -> bool:
        items = json.loads(kubectl(cluster, "get", "nodes", "-o", "json"))["items"]
        return all(VTEP_MAC_ANNOTATION in (n["metadata"].get("annotations") or {}) for n in items)

    wait_for(annotated, timeout=30, what="VTEP MAC annotations")
    for plan in cluster.nodes:
        link = ip(plan.netns, "-d", "link", "show", "kyb.vxlan")
        assert "vxlan id 1" in link and "dstport 8472" in link and "mtu 1450" in link, link
        other = next(o for o in cluster.nodes if o is not plan)
        cidr = nodes[other.name]["spec"]["podCIDR"]
        want = f"{cidr} via {cidr.split('/')[0]} dev kyb.vxlan proto 250 onlink"

        def routed(ns: str = plan.netns, w: str = want) -> bool:
            return w in ip(ns, "route")

        wait_for(routed, timeout=30, what=f"vxlan route on {plan.name}")
        assert (
            f"dst {other.address} self permanent"
            in subprocess.run(
                ["bridge", "-n", plan.netns, "fdb", "show", "dev", "kyb.vxlan"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        assert "via" not in ip(plan.netns, "route", "show", "proto", "250", "dev", "eth0")  # no host-gw route


def test_pods_reach_each_other_across_subnets_with_their_own_addresses(
    cluster: DevCluster, workloads: dict[str, dict[str, dict[str, Any]]]
) -> None:
    for server_node, client_node in (NODES, NODES[::-1]):
        server, client = workloads["echo"][server_node], workloads["client"][client_node]
        answer = cluster.server.kubectl(
            "exec",
            client["metadata"]["name"],
            "--",
            "sh",
            "-c",
            f"timeout 5 wget -qO- http://{server['status']['podIP']}:8080/",
            check=False,
        ).stdout
        assert answer.strip() == server["metadata"]["name"]
        logs = kubectl(cluster, "logs", server["metadata"]["name"])
        peers = set(re.findall(r"\[(?:::ffff:)?([0-9.]+)\]:\d+: url:/", logs))
        assert client["status"]["podIP"] in peers, logs
    for plan in cluster.nodes:  # the pod packets went through the tunnel, both ways
        stats = json.loads(ip(plan.netns, "-s", "-j", "link", "show", "kyb.vxlan"))[0]["stats64"]
        assert stats["tx"]["packets"] > 0 and stats["rx"]["packets"] > 0, stats


def test_pods_get_the_overlay_mtu(
    cluster: DevCluster, workloads: dict[str, dict[str, dict[str, Any]]]
) -> None:
    pod = workloads["client"][NODES[0]]["metadata"]["name"]
    assert kubectl(cluster, "exec", pod, "--", "cat", "/sys/class/net/eth0/mtu").strip() == "1450"
