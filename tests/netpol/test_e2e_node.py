"""NetworkPolicy on a real node, driven by real kubectl: pods in two namespaces on the node's
bridge, `wget` between them blocked by a default deny, re-opened by an allow policy, and by a
namespaceSelector for the other namespace; kubelet readiness probes keep passing throughout."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import pod, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18650
IMAGE = "busybox:1.36"

SETUP = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: np-a, labels: {{team: a}}}}
---
apiVersion: v1
kind: Namespace
metadata: {{name: np-b, labels: {{team: b}}}}
---
apiVersion: v1
kind: Pod
metadata: {{name: web, namespace: np-a, labels: {{app: web}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: {IMAGE}
    command: [sh, -c, "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{{name: http, containerPort: 8080}}]
    readinessProbe: {{httpGet: {{port: 8080, path: /}}, periodSeconds: 1, failureThreshold: 1}}
---
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: np-a, labels: {{app: client}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{{name: c, image: {IMAGE}, command: [sleep, "3600"]}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: np-b, labels: {{app: client}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{{name: c, image: {IMAGE}, command: [sleep, "3600"]}}]
"""

DENY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: np-a}
spec: {podSelector: {}, policyTypes: [Ingress]}
"""

ALLOW_CLIENTS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients, namespace: np-a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
"""

ALLOW_TEAM_B = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-team-b, namespace: np-a}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: b}}}]
"""


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    yield from start_node_server(Path("/tmp/kyb-m3"), PORT, cluster_cidr="10.51.0.0/16", bridge="kybm3")


def fetch(kyb: KybServer, ns: str, ip: str) -> bool:
    # busybox 1.36's `wget -T` crashes (exit 139): bound the attempt with `timeout` instead.
    out = kyb.kubectl("exec", "-n", ns, "client", "--", "timeout", "3", "wget", "-qO-", f"http://{ip}:8080/",
                      check=False)
    return out.returncode == 0 and "hello-from-web" in out.stdout


def reachability(kyb: KybServer, ip: str) -> dict[str, bool]:
    return {ns: fetch(kyb, ns, ip) for ns in ("np-a", "np-b")}


def ready(kyb: KybServer) -> bool:
    conds = pod(kyb, "web", "np-a").get("status", {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def test_policies_block_and_reopen_pod_traffic(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=SETUP)
    def running(ns: str, name: str) -> bool:
        return bool(pod(kyb, name, ns).get("status", {}).get("phase") == "Running")

    for ns, name in (("np-a", "web"), ("np-a", "client"), ("np-b", "client")):
        wait_for(lambda: running(ns, name), timeout=90, what=f"{ns}/{name} Running")  # noqa: B023 - called now
    wait_for(lambda: ready(kyb), what="web Ready")
    ip = pod(kyb, "web", "np-a")["status"]["podIP"]
    assert reachability(kyb, ip) == {"np-a": True, "np-b": True}

    kyb.kubectl("apply", "-f", "-", input=DENY)
    wait_for(lambda: reachability(kyb, ip) == {"np-a": False, "np-b": False}, timeout=20, what="default deny")
    assert ready(kyb)  # the kubelet's probes come from the node and stay allowed

    kyb.kubectl("apply", "-f", "-", input=ALLOW_CLIENTS)
    wait_for(lambda: reachability(kyb, ip) == {"np-a": True, "np-b": False}, timeout=20, what="same-namespace clients")

    kyb.kubectl("apply", "-f", "-", input=ALLOW_TEAM_B)
    wait_for(lambda: reachability(kyb, ip) == {"np-a": True, "np-b": True}, timeout=20, what="namespace selector")

    kyb.kubectl("delete", "networkpolicy", "-n", "np-a", "web-from-clients", "web-from-team-b")
    wait_for(lambda: reachability(kyb, ip) == {"np-a": False, "np-b": False}, timeout=20, what="deny again")
    kyb.kubectl("delete", "networkpolicy", "-n", "np-a", "deny-all")
    wait_for(lambda: reachability(kyb, ip) == {"np-a": True, "np-b": True}, timeout=20, what="all open")
    assert ready(kyb)

    listed = kyb.kubectl("get", "networkpolicies", "-A", "-o", "name").stdout
    assert listed.strip() == ""
