"""Three real nodes on one machine, real kubectl: the rest of issue 7 §6 acceptance.

ClientIP session affinity sticks per client (and spreads without it); a LoadBalancer Service gets
the nodes' addresses as its ingress and answers on each of them; externalTrafficPolicy Local answers
only on the node with a local endpoint and keeps the client's address; readiness changes move
traffic; DNS from pods (headless A, SRV of a named port, pod records, a StatefulSet pod's hostname,
an external name through a forwarder this module runs, ExternalName CNAME); a NetworkPolicy
connectivity matrix across nodes and namespaces; a node removed from the cluster leaves no routes
and no rules behind. Pods are pinned to nodes (spec.nodeName) so every pair crosses the nodes it
should.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.devcluster import DevCluster
from kybernetes.devcluster.plan import reset_command
from kybernetes.dns.fakeupstream import FakeUpstream
from kybernetes.testing.multinode import multinode_cluster
from kybernetes.testing.node import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
IMAGE = "busybox:1.36"
HOST = "10.97.0.1"
NODES = ["kybq1-node1", "kybq1-node2", "kybq1-node3"]
ADDRS = {"kybq1-node1": "10.97.0.11", "kybq1-node2": "10.97.0.12", "kybq1-node3": "10.97.0.13"}
DNS_PORT, UPSTREAM_PORT = 15321, 15322
EXTERNAL_NAME, EXTERNAL_IP = "outside.example", "192.0.2.7"
SLEEP = "trap 'exit 0' TERM; sleep 3600 & wait"
ENV = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]


class UpstreamThread:
    """The external resolver cluster DNS forwards to, on its own event loop in a thread."""

    def __init__(self, zone: str, host: str, port: int) -> None:
        self.server = FakeUpstream(zone, host=host, port=port)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeUpstream:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self.server

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def cluster() -> Iterator[DevCluster]:
    with multinode_cluster(Path("/tmp/kyb-q1"), port=18670, prefix="kybq1", host_bridge="kybq1net",
                           subnet="10.97.0.0/24", cluster_cidr="10.53.0.0/16", dns_port=DNS_PORT,
                           server_env={"KYB_DNS_UPSTREAMS": f"{HOST}:{UPSTREAM_PORT}"}) as c:
        yield c


@pytest.fixture(scope="module")
def upstream(cluster: DevCluster) -> Iterator[FakeUpstream]:
    # binds the host bridge address, which exists once the cluster is up
    with UpstreamThread(f"{EXTERNAL_NAME}. 60 IN A {EXTERNAL_IP}\n", HOST, UPSTREAM_PORT) as server:
        yield server


# --- helpers ----------------------------------------------------------------------------------------

def kubectl(c: DevCluster, *args: str, input: str | None = None, check: bool = True,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return c.server.kubectl(*args, input=input, check=check, timeout=timeout)


def apply(c: DevCluster, *objs: dict[str, Any]) -> None:
    kubectl(c, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objs)}))


def web_pod(name: str, node: str, labels: dict[str, str], *, ns: str = "default", extra_port: int = 0,
            readiness: bool = False) -> dict[str, Any]:
    """busybox httpd on 8080 answering with the pod's name, logging each client (-vv)."""
    prefix = "touch /tmp/ready && " if readiness else ""
    extra = f"httpd -p {extra_port} -h /www && " if extra_port else ""
    command = (f"{prefix}mkdir -p /www && echo \"$POD_NAME\" > /www/index.html && {extra}"
               "exec httpd -f -vv -p 8080 -h /www")
    container: dict[str, Any] = {"name": "c", "image": IMAGE, "command": ["sh", "-c", command], "env": ENV,
                                 "ports": [{"name": "http", "containerPort": 8080}]}
    if readiness:
        container["readinessProbe"] = {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1,
                                       "failureThreshold": 1, "successThreshold": 1}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1, "containers": [container]}}


def sleep_pod(name: str, node: str, labels: dict[str, str] | None = None, ns: str = "default") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": IMAGE, "command": ["sh", "-c", SLEEP]}]}}


def service(name: str, selector: dict[str, str], *, port: int = 80, ns: str = "default",
            **spec: Any) -> dict[str, Any]:
    body = {"selector": selector, "ports": [{"name": "http", "port": port, "targetPort": 8080}], **spec}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": body}


def get(c: DevCluster, kind: str, name: str, ns: str = "default") -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(kubectl(c, "get", kind, name, "-n", ns, "-o", "json").stdout)
    return obj


def wait_running(c: DevCluster, names: list[str], ns: str = "default", timeout: float = 150) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        items = json.loads(kubectl(c, "get", "pods", "-n", ns, "-o", "json").stdout)["items"]
        ok = {p["metadata"]["name"]: p for p in items if p["metadata"]["name"] in names
              and p.get("status", {}).get("phase") == "Running" and p["status"].get("podIP")
              and all(s.get("ready") for s in p["status"].get("containerStatuses", []))}
        return ok if len(ok) == len(names) else None
    result: dict[str, Any] = wait_for(check, timeout=timeout, what=f"pods {names} in {ns} running", interval=1)
    return result


def endpoints(c: DevCluster, name: str, ns: str = "default") -> list[tuple[str, str, bool]]:
    out = kubectl(c, "get", "endpointslices", "-n", ns, "-l", f"kubernetes.io/service-name={name}", "-o", "json")
    return [(s["metadata"]["name"], a, bool((e.get("conditions") or {}).get("ready")))
            for s in json.loads(out.stdout)["items"] for e in s.get("endpoints") or [] for a in e["addresses"]]


def wait_endpoints(c: DevCluster, name: str, count: int, ns: str = "default") -> None:
    """`count` distinct ready addresses; on timeout the evidence of a stale slice (issue M2 flake)."""
    def ready() -> list[tuple[str, str, bool]] | None:
        listed = endpoints(c, name, ns)
        return listed if len({a for _, a, r in listed if r}) == count else None
    try:
        wait_for(ready, timeout=90, what=f"{count} ready endpoints of {name}", interval=1)
    except AssertionError:
        slices = kubectl(c, "get", "endpointslices", "-n", ns, "-o", "yaml", check=False).stdout
        pods = kubectl(c, "get", "pods", "-n", ns, "-o", "wide", check=False).stdout
        log = (c.server.data_dir / "server.log").read_text(errors="replace").splitlines()
        slice_log = "\n".join(line for line in log if "endpointslice" in line.lower())[-6000:]
        raise AssertionError(f"endpoints of {ns}/{name}: {endpoints(c, name, ns)}\n{pods}\n{slices}\n"
                             f"server log (endpointslice):\n{slice_log}") from None


def in_pod(c: DevCluster, pod: str, script: str, ns: str = "default", timeout: float = 90) -> str:
    return kubectl(c, "exec", "-n", ns, pod, "--", "sh", "-c", script, check=False, timeout=timeout).stdout


def fetch_many(c: DevCluster, client: str, url: str, count: int) -> list[str]:
    """`count` sequential GETs from a pod; each answer (a pod name) or FAIL."""
    out = in_pod(c, client, f"for i in $(seq {count}); do timeout 3 wget -qO- {url} || echo FAIL; done")
    return [line.strip() for line in out.splitlines() if line.strip()]


def host_request(ip: str, port: int, path: str = "/", timeout: float = 3) -> tuple[int, str]:
    """(status, body) of a GET from the host; raises OSError when refused or unanswered."""
    conn = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode().strip()
    finally:
        conn.close()


def host_get(ip: str, port: int, timeout: float = 3) -> str:
    status, body = host_request(ip, port, timeout=timeout)
    assert status == 200, (ip, port, status, body)
    return body


def nft_tables(netns: str) -> str:
    return subprocess.run(["nsenter", f"--net=/var/run/netns/{netns}", "nft", "list", "tables"],
                          capture_output=True, text=True, check=True).stdout


def nft_ruleset(netns: str) -> str:
    return subprocess.run(["nsenter", f"--net=/var/run/netns/{netns}", "nft", "list", "ruleset"],
                          capture_output=True, text=True, check=True).stdout


# --- workloads ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def web(cluster: DevCluster) -> dict[str, Any]:
    """One backend (app=web) and one client per node."""
    apply(cluster, *(web_pod(f"web-{i}", n, {"app": "web"}) for i, n in enumerate(NODES, 1)),
          *(sleep_pod(f"cl-{i}", n) for i, n in enumerate(NODES, 1)))
    return wait_running(cluster, [f"web-{i}" for i in (1, 2, 3)] + [f"cl-{i}" for i in (1, 2, 3)])


# --- 1. session affinity ------------------------------------------------------------------------------

def test_client_ip_affinity_sticks_per_client_and_plain_spreads(cluster: DevCluster, web: dict[str, Any]) -> None:
    apply(cluster, service("sticky", {"app": "web"}, sessionAffinity="ClientIP",
                           sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}}),
          service("plain", {"app": "web"}))
    wait_endpoints(cluster, "sticky", 3)
    wait_endpoints(cluster, "plain", 3)
    chosen = {}
    for i in (1, 2, 3):
        answers = fetch_many(cluster, f"cl-{i}", "http://sticky/", 10)
        assert len(answers) == 10 and "FAIL" not in answers, answers
        assert len(set(answers)) == 1, f"cl-{i} moved between backends: {Counter(answers)}"
        chosen[i] = answers[0]
        spread = fetch_many(cluster, f"cl-{i}", "http://plain/", 15)
        assert len(spread) == 15 and "FAIL" not in spread, spread
        assert len(set(spread)) >= 2, f"cl-{i} without affinity reached only {Counter(spread)}"
    assert set(chosen.values()) <= {"web-1", "web-2", "web-3"}, chosen


# --- 2. LoadBalancer ---------------------------------------------------------------------------------

def test_load_balancer_gets_node_addresses_and_answers_on_each(cluster: DevCluster, web: dict[str, Any]) -> None:
    apply(cluster, service("lb", {"app": "web"}, type="LoadBalancer"))
    want = [{"ip": ADDRS[n]} for n in NODES]
    wait_for(lambda: (get(cluster, "svc", "lb").get("status", {}).get("loadBalancer") or {}).get("ingress") == want,
             timeout=30, what="lb ingress = node addresses", interval=1)
    wait_endpoints(cluster, "lb", 3)
    for node in NODES:
        answer = wait_for(lambda ip=ADDRS[node]: _try_host_get(ip, 80),  # type: ignore[misc]
                          timeout=15, what=f"LB on {node}", interval=0.5)
        assert answer in {"web-1", "web-2", "web-3"}


def _try_host_get(ip: str, port: int) -> str | None:
    try:
        return host_get(ip, port)
    except OSError:
        return None


# --- 3. externalTrafficPolicy Local ---------------------------------------------------------------------

def test_external_traffic_policy_local_answers_only_where_endpoints_are(cluster: DevCluster) -> None:
    apply(cluster, web_pod("loc-1", NODES[0], {"app": "loc"}),
          service("loc", {"app": "loc"}, port=8081, type="LoadBalancer", externalTrafficPolicy="Local"))
    wait_running(cluster, ["loc-1"])
    wait_endpoints(cluster, "loc", 1)
    svc = get(cluster, "svc", "loc")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    assert svc["spec"].get("healthCheckNodePort"), svc["spec"]
    wait_for(lambda: len((get(cluster, "svc", "loc").get("status", {}).get("loadBalancer") or {})
                         .get("ingress") or []) == 3, timeout=30, what="loc ingress", interval=1)
    local, remote = ADDRS[NODES[0]], [ADDRS[n] for n in NODES[1:]]
    for port in (node_port, 8081):
        answer = wait_for(lambda p=port: _try_host_get(local, p), timeout=15,  # type: ignore[misc]
                          what=f"{local}:{port}", interval=0.5)
        assert answer == "loc-1"
    for ip in remote:
        for port in (node_port, 8081):
            with pytest.raises(OSError):  # dropped (timeout) or refused, never answered
                host_get(ip, port, timeout=3)
    logs = kubectl(cluster, "logs", "loc-1").stdout
    peers = set(re.findall(r"\[(?:::ffff:)?([0-9.]+)\]:\d+: url:/", logs))
    assert peers == {HOST}, logs


def test_health_check_node_port(cluster: DevCluster) -> None:
    """GET /healthz on spec.healthCheckNodePort: 200 with local endpoints, 503 elsewhere."""
    svc = get(cluster, "svc", "loc")
    hcnp = svc["spec"]["healthCheckNodePort"]
    status, body = host_request(ADDRS[NODES[0]], hcnp, "/healthz")
    assert status == 200, body
    assert json.loads(body).get("localEndpoints", 0) >= 1, body
    for n in NODES[1:]:
        status, body = host_request(ADDRS[n], hcnp, "/healthz")
        assert status == 503 and json.loads(body).get("localEndpoints") == 0, (n, body)


# --- 4. readiness moves traffic --------------------------------------------------------------------------

def test_readiness_changes_move_traffic(cluster: DevCluster, web: dict[str, Any]) -> None:
    apply(cluster, web_pod("rd-2", NODES[1], {"app": "rd"}, readiness=True),
          web_pod("rd-3", NODES[2], {"app": "rd"}, readiness=True), service("rd", {"app": "rd"}))
    wait_running(cluster, ["rd-2", "rd-3"])
    wait_endpoints(cluster, "rd", 2)
    assert set(fetch_many(cluster, "cl-1", "http://rd/", 12)) == {"rd-2", "rd-3"}

    in_pod(cluster, "rd-2", "rm /tmp/ready")
    started = time.monotonic()
    wait_for(lambda: set(fetch_many(cluster, "cl-1", "http://rd/", 6)) == {"rd-3"}, timeout=20,
             what="all traffic on rd-3", interval=0.5)
    moved_after = time.monotonic() - started
    assert set(fetch_many(cluster, "cl-1", "http://rd/", 12)) == {"rd-3"}
    assert moved_after < 15, moved_after

    in_pod(cluster, "rd-2", "touch /tmp/ready")
    wait_for(lambda: "rd-2" in fetch_many(cluster, "cl-1", "http://rd/", 8), timeout=20,
             what="rd-2 back in rotation", interval=0.5)


# --- 5. DNS ------------------------------------------------------------------------------------------------

def test_dns_from_pods(cluster: DevCluster, web: dict[str, Any], upstream: FakeUpstream) -> None:
    headless = service("hl", {"app": "web"}, clusterIP="None")
    headless["spec"]["ports"] = [{"name": "http", "port": 8080, "targetPort": 8080}]
    sts_svc = service("sts", {"app": "sts"}, clusterIP="None")
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
           "spec": {"serviceName": "sts", "replicas": 1, "selector": {"matchLabels": {"app": "sts"}},
                    "template": {"metadata": {"labels": {"app": "sts"}},
                                 "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                                     {"name": "c", "image": IMAGE, "command": ["sh", "-c", SLEEP]}]}}}}
    ext = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
           "spec": {"type": "ExternalName", "externalName": EXTERNAL_NAME}}
    apply(cluster, headless, sts_svc, sts, ext)
    wait_endpoints(cluster, "hl", 3)
    db0 = wait_running(cluster, ["db-0"])["db-0"]
    wait_endpoints(cluster, "sts", 1)
    ips = {p["status"]["podIP"] for name, p in web.items() if name.startswith("web-")}

    for i in (1, 2, 3):  # from every node
        out = in_pod(cluster, f"cl-{i}", "nslookup hl.default.svc.cluster.local")
        assert set(re.findall(r"Address: ([0-9.]+)", out)) == ips, out

    out = in_pod(cluster, "cl-2", "nslookup -type=SRV _http._tcp.hl.default.svc.cluster.local")
    targets = re.findall(r"service = \d+ \d+ 8080 (\S+)", out)
    assert len(targets) == 3, out

    web1 = web["web-1"]["status"]["podIP"]
    out = in_pod(cluster, "cl-3", f"nslookup {web1.replace('.', '-')}.default.pod.cluster.local")
    assert f"Address: {web1}" in out, out

    out = in_pod(cluster, "cl-1", "nslookup db-0.sts.default.svc.cluster.local")
    assert f"Address: {db0['status']['podIP']}" in out, out

    before = sum(n for (name, _), n in upstream.queries.items() if name == EXTERNAL_NAME)
    out = in_pod(cluster, "cl-2", f"nslookup {EXTERNAL_NAME}")
    assert f"Address: {EXTERNAL_IP}" in out, out
    assert sum(n for (name, _), n in upstream.queries.items() if name == EXTERNAL_NAME) > before

    out = in_pod(cluster, "cl-3", "nslookup ext.default.svc.cluster.local")
    assert f"canonical name = {EXTERNAL_NAME}" in out, out


# --- 6. NetworkPolicy matrix --------------------------------------------------------------------------------

def _namespace(name: str, team: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"team": team}}}


def _policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "qa"}, "spec": spec}


NP_PODS = [  # (namespace, name, role, node index)
    ("qa", "fe", "frontend", 0), ("qa", "be", "backend", 1), ("qa", "db", "db", 2),
    ("qa", "other", "other", 2), ("qa", "lk", "locked", 0),
    ("qb", "bfe", "frontend", 2), ("qb", "srv", "server", 1),
]
# (source, destination, port) -> allowed; sources and destinations are ns/name
MATRIX = {
    ("qa/fe", "qa/be", 8080): True,      # frontend -> backend on 8080 (node1 -> node2)
    ("qa/fe", "qa/be", 9090): False,     # not on another port
    ("qa/other", "qa/be", 8080): False,  # not from another role
    ("qb/bfe", "qa/be", 8080): False,    # not from a frontend of another namespace
    ("qa/fe", "qa/db", 8080): False,     # db only from team=b
    ("qb/bfe", "qa/db", 8080): True,     # ... which may (same node, node3)
    ("qb/srv", "qa/db", 9090): True,     # any port, node2 -> node3
    ("qa/be", "qa/fe", 8080): False,     # default deny in qa
    ("qb/srv", "qa/other", 8080): False,
    ("qa/fe", "qa/lk", 8080): False,     # same node, default deny
    ("qa/fe", "qb/srv", 8080): True,     # qb has no policy
    ("qa/db", "qb/bfe", 8080): True,
    ("qa/lk", "qb/srv", 8080): False,    # egress locked
    ("qa/lk", "qa/fe", 8080): False,
}


def test_network_policy_matrix_across_nodes(cluster: DevCluster) -> None:
    dns_ports = [{"protocol": proto, "port": port} for proto in ("UDP", "TCP") for port in (53, DNS_PORT)]
    apply(cluster, _namespace("qa", "a"), _namespace("qb", "b"),
          *(web_pod(name, NODES[node], {"role": role}, ns=ns, extra_port=9090) for ns, name, role, node in NP_PODS))
    pods = {**{f"qa/{k}": v for k, v in wait_running(cluster, [p[1] for p in NP_PODS if p[0] == "qa"], "qa").items()},
            **{f"qb/{k}": v for k, v in wait_running(cluster, [p[1] for p in NP_PODS if p[0] == "qb"], "qb").items()}}
    assert {p["spec"]["nodeName"] for p in pods.values()} == set(NODES)
    apply(cluster,
          _policy("default-deny", {"podSelector": {}, "policyTypes": ["Ingress"]}),
          _policy("fe-to-be", {"podSelector": {"matchLabels": {"role": "backend"}}, "ingress": [
              {"from": [{"podSelector": {"matchLabels": {"role": "frontend"}}}],
               "ports": [{"protocol": "TCP", "port": 8080}]}]}),
          _policy("team-b-to-db", {"podSelector": {"matchLabels": {"role": "db"}}, "ingress": [
              {"from": [{"namespaceSelector": {"matchLabels": {"team": "b"}}}]}]}),
          # DNS stays allowed; the dev cluster's DNS server answers on the host at DNS_PORT (after the
          # kube-dns Service's DNAT, which is what policies see), a pod-based DNS on 53
          _policy("lk-egress", {"podSelector": {"matchLabels": {"role": "locked"}}, "policyTypes": ["Egress"],
                                "egress": [{"ports": dns_ports}]}))

    def run() -> dict[tuple[str, str, int], bool]:
        result: dict[tuple[str, str, int], bool] = {}
        for source in sorted({s for s, _, _ in MATRIX}):
            pairs = [(d, port) for s, d, port in MATRIX if s == source]
            script = "; ".join(
                f"if timeout 3 wget -qO- http://{pods[d]['status']['podIP']}:{port}/ >/dev/null 2>&1; "
                f"then echo '{d} {port} ok'; else echo '{d} {port} no'; fi" for d, port in pairs)
            ns, name = source.split("/")
            lines = in_pod(cluster, name, script, ns=ns).splitlines()
            for line in lines:
                d, port, verdict = line.split()
                result[(source, d, int(port))] = verdict == "ok"
        return result

    got: dict[tuple[str, str, int], bool] = {}
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:  # the policies reach every node's kernel within a second or two
        got = run()
        if got == MATRIX:
            break
        time.sleep(2)
    wrong = {k: v for k, v in got.items() if MATRIX.get(k) != v}
    assert got.keys() == MATRIX.keys() and not wrong, f"unexpected (pair: observed): {wrong}"

    # the egress-locked pod still resolves names: the cluster's and (forwarded) external ones
    out = in_pod(cluster, "lk", f"nslookup kubernetes.default.svc.cluster.local; nslookup {EXTERNAL_NAME}", ns="qa")
    assert "Address: 10.43.0.1" in out and f"Address: {EXTERNAL_IP}" in out, out


# --- 7. node removal (last: it takes node3 away) -------------------------------------------------------------

def test_a_removed_node_leaves_no_routes_or_rules(cluster: DevCluster, web: dict[str, Any]) -> None:
    gone = cluster.nodes[-1]
    assert gone.name == NODES[2]
    cidr = get(cluster, "node", gone.name, "")["spec"]["podCIDR"]
    items = json.loads(kubectl(cluster, "get", "pods", "-A", "-o", "json").stdout)["items"]
    gone_ips = {p["status"]["podIP"] for p in items if p["spec"].get("nodeName") == gone.name
                and p.get("status", {}).get("podIP")}
    assert gone_ips, "node3 ran pods"
    assert "kyb-proxy" in nft_tables(gone.netns) and "kyb-netpol" in nft_tables(gone.netns)

    # how a machine leaves: stop its agent, `kyb node-reset` there, delete its Node
    cluster.stop_agent(gone)
    reset = subprocess.run(reset_command(cluster.cfg, gone), capture_output=True, text=True, check=False)
    assert reset.returncode == 0, reset.stderr
    kubectl(cluster, "delete", "node", gone.name)

    assert "kyb-" not in nft_tables(gone.netns), nft_tables(gone.netns)
    # nothing of it ever lived on the host (other clusters' tables may, but none names this node)
    host_rules = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=True).stdout
    assert not re.search(rf"\b{re.escape(gone.address)}\b", host_rules) and cidr not in host_rules
    own_routes = subprocess.run(["ip", "-n", gone.netns, "route", "show", "proto", "250"], capture_output=True,
                                text=True, check=True).stdout
    assert own_routes == "", own_routes
    for plan in cluster.nodes[:-1]:
        def has_route(ns: str = plan.netns) -> bool:
            out = subprocess.run(["ip", "-n", ns, "route", "show", "proto", "250"], capture_output=True,
                                 text=True, check=True).stdout
            return cidr in out
        wait_for(lambda: not has_route(), timeout=30, what=f"route to {cidr} gone from {plan.name}")

    # its pods are collected (podgc: orphans of a deleted Node), and with them every rule that named them
    def clean() -> list[tuple[str, str]] | None:
        left = [(plan.name, ip) for plan in cluster.nodes[:-1] for ip in gone_ips
                if re.search(rf"\b{re.escape(ip)}\b", nft_ruleset(plan.netns))]
        return None if left else [("", "")]
    try:
        wait_for(clean, timeout=90, what="rules naming node3's pods gone", interval=2)
    except AssertionError:
        left = [(plan.name, ip) for plan in cluster.nodes[:-1] for ip in gone_ips
                if re.search(rf"\b{re.escape(ip)}\b", nft_ruleset(plan.netns))]
        pods = kubectl(cluster, "get", "pods", "-A", "-o", "wide", check=False).stdout
        raise AssertionError(f"rules still name node3's pods: {left}\n{pods}") from None
