"""A highly available control plane on one machine: three `kyb server`s with embedded etcd
(docs/ha.md). Each server has its own loopback address (127.0.0.1-3, API port 18970 on each),
data dir, and etcd client/peer ports; the second and third join the first with its server token.

Control plane only (no node). The tests run in order: the same objects through every server,
watch through another, the `kubernetes` endpoints, unique ClusterIPs under concurrent creates,
then the controller-manager leader is SIGKILLed (its whole process group: API server, components
and etcd member, as a machine dying) and the survivors must take over; finally it comes back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, find_kubectl

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path("/tmp/kyb-ha-e2e")
PORT = 18970
DISABLED = "kubelet,dns,ingress,dashboard"
TIMINGS: dict[str, float] = {}


@dataclass
class HAServer(KybServer):
    host: str = "127.0.0.1"
    index: int = 0

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def kill_machine(self) -> None:
        """SIGKILL the server's whole process group (its etcd member included)."""
        if self.proc is None:
            return
        with_group = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(with_group, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def shutdown(self) -> None:
        pid = self.proc.pid if self.proc is not None else None
        self.stop()
        if pid is not None:  # anything of the group left behind (e.g. etcd mid-restart)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)


def server_args(i: int, first: HAServer | None) -> list[str]:
    args = [
        "--bind-address",
        f"127.0.0.{i}",
        "--advertise-address",
        f"127.0.0.{i}",
        "--etcd-client-port",
        str(23800 + i),
        "--etcd-peer-port",
        str(23810 + i),
        "--disable",
        DISABLED,
    ]
    if first is None:
        return [*args, "--cluster-init"]
    token = (first.data_dir / "token").read_text().strip()
    return [*args, "--server", first.url, "--token", token]


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (AssertionError, subprocess.SubprocessError, ValueError) as e:
            last = e
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


@pytest.fixture(scope="module")
def servers() -> Iterator[list[HAServer]]:
    shutil.rmtree(ROOT, ignore_errors=True)
    started: list[HAServer] = []
    try:
        for i in (1, 2, 3):
            s = HAServer(
                ROOT / f"s{i}",
                port=PORT,
                host=f"127.0.0.{i}",
                index=i,
                extra_args=server_args(i, started[0] if started else None),
            )
            t0 = time.monotonic()
            s.start(timeout=90)
            TIMINGS[f"server {i} ready"] = time.monotonic() - t0
            started.append(s)
        yield started
    finally:
        for s in started:
            s.shutdown()
        print("\nHA timings:", ", ".join(f"{k}: {v:.1f}s" for k, v in TIMINGS.items()))
        shutil.rmtree(ROOT, ignore_errors=True)


def test_every_server_serves_the_same_objects(servers: list[HAServer]) -> None:
    a, b, c = servers
    a.kubectl("create", "configmap", "shared", "--from-literal=k=v")
    for s in (b, c):
        assert s.json("get", "configmap", "shared")["data"] == {"k": "v"}
    c.kubectl("create", "namespace", "from-c")
    assert a.json("get", "namespace", "from-c")["status"]["phase"] == "Active"
    # each server has its own serving certificate from the one shared CA, and its own kubeconfig
    assert (
        b.kubectl("config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}").stdout
        == b.url
    )


def test_watch_through_another_server(servers: list[HAServer]) -> None:
    a, b, c = servers
    env = {**os.environ, "KUBECONFIG": str(c.kubeconfig), "HOME": str(c.data_dir / "home")}
    cmd = [
        find_kubectl(),
        "get",
        "configmaps",
        "-w",
        "--output-watch-events",
        "--no-headers",
        "--field-selector",
        "metadata.name=watched",
    ]
    lines: list[str] = []
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    ) as watch:
        stdout = watch.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(iter(stdout.readline, "")), daemon=True)
        reader.start()
        try:
            time.sleep(1.0)  # the watch is established
            b.kubectl("create", "configmap", "watched")
            a.kubectl("delete", "configmap", "watched")
            wait_until(
                lambda: any("DELETED" in line for line in lines), 20, "the watch events through server 3"
            )
        finally:
            watch.terminate()
        reader.join(5)
    assert [line.split()[:2] for line in lines[:2]] == [["ADDED", "watched"], ["DELETED", "watched"]]


def endpoint_ips(s: HAServer) -> list[str]:
    ep = s.json("get", "endpoints", "kubernetes")
    return [a["ip"] for subset in ep.get("subsets") or [] for a in subset.get("addresses") or []]


def slice_ips(s: HAServer) -> list[str]:
    sl = s.json("get", "endpointslice", "kubernetes")
    return [e["addresses"][0] for e in sl["endpoints"]]


def test_kubernetes_endpoints_list_every_server(servers: list[HAServer]) -> None:
    want = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    for s in servers:
        assert wait_until(lambda s=s: endpoint_ips(s) == want, 30, "three endpoints")  # type: ignore[misc]
    assert slice_ips(servers[0]) == want
    ep = servers[1].json("get", "endpoints", "kubernetes")
    assert ep["subsets"][0]["ports"] == [{"name": "https", "port": PORT, "protocol": "TCP"}]


def create_services_concurrently(servers: list[HAServer], prefix: str, count: int) -> list[str]:
    """`count` Services created at once, round-robin through `servers`; their ClusterIPs."""
    errors: list[str] = []

    def create(i: int) -> None:
        s = servers[i % len(servers)]
        out = s.kubectl("create", "service", "nodeport", f"{prefix}-{i}", "--tcp=80:80", check=False)
        if out.returncode:
            errors.append(out.stderr)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    items = servers[0].json("get", "services")["items"]
    mine = [svc for svc in items if svc["metadata"]["name"].startswith(prefix + "-")]
    assert len(mine) == count
    node_ports = [svc["spec"]["ports"][0]["nodePort"] for svc in mine]
    assert len(set(node_ports)) == count, node_ports
    return [svc["spec"]["clusterIP"] for svc in mine]


def test_cluster_ips_unique_under_concurrent_creates(servers: list[HAServer]) -> None:
    ips = create_services_concurrently(servers, "race", 24)
    assert len(set(ips)) == 24, sorted(ips)


def controller_manager_holder(s: HAServer) -> str:
    lease = s.json("get", "lease", "-n", "kube-system", "kube-controller-manager")
    return str(lease["spec"].get("holderIdentity") or "")


def server_of(identity: str, servers: list[HAServer]) -> HAServer:
    for s in servers:
        if f"{identity}: became leader" in s.logs():
            return s
    raise AssertionError(f"no server log names {identity} as leader")


def test_leader_killed_survivors_take_over(servers: list[HAServer]) -> None:
    holder = wait_until(lambda: controller_manager_holder(servers[0]), 30, "a controller-manager leader")
    leader = server_of(holder, servers)
    survivors = [s for s in servers if s is not leader]
    leader.kill_machine()
    killed = time.monotonic()
    a, b = survivors
    a.kubectl("create", "deployment", "after-failover", "--image=busybox:1.36", "--replicas=2")
    new_holder = wait_until(lambda: (h := controller_manager_holder(b)) != holder and h, 60, "a new leader")
    TIMINGS["controller-manager takeover after SIGKILL"] = time.monotonic() - killed
    assert server_of(new_holder, survivors) in survivors

    def pods() -> int:
        items = b.json("get", "pods", "-l", "app=after-failover")["items"]
        return len(items)

    wait_until(lambda: pods() == 2, 60, "the Deployment's pods from the new leader's controllers")
    TIMINGS["deployment pods after SIGKILL"] = time.monotonic() - killed
    # the dead server leaves the kubernetes endpoints once its lease expires (15 s TTL, 10 s rounds)
    wait_until(
        lambda: endpoint_ips(a) == sorted(s.host for s in survivors),
        45,
        "the endpoints without the dead server",
    )
    TIMINGS["endpoints without the dead server"] = time.monotonic() - killed
    # allocation stays unique through the two survivors (etcd keeps quorum with 2 of 3)
    before = [svc["spec"]["clusterIP"] for svc in a.json("get", "services")["items"]]
    ips = create_services_concurrently(survivors, "after", 12)
    assert len(set(ips)) == 12 and not set(ips) & set(before)


def test_killed_server_rejoins(servers: list[HAServer]) -> None:
    down = next(s for s in servers if s.proc is None)
    t0 = time.monotonic()
    down.start(timeout=90)  # same data dir and arguments: its etcd member restarts, no new join
    TIMINGS["killed server serving again"] = time.monotonic() - t0
    assert down.json("get", "deployment", "after-failover")["spec"]["replicas"] == 2
    want = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
    wait_until(lambda: endpoint_ips(down) == want, 30, "three endpoints again")
    down.kubectl("create", "configmap", "after-rejoin")
    others = [s for s in servers if s is not down]
    assert others[0].json("get", "configmap", "after-rejoin")["metadata"]["name"] == "after-rejoin"


def node_lease_renewed(s: HAServer, node: str) -> str:
    return str(s.json("get", "lease", "-n", "kube-node-lease", node)["spec"]["renewTime"])


def test_simulated_nodes_fail_over_to_another_server(servers: list[HAServer]) -> None:
    target, watcher = servers[1], servers[2]
    log = (ROOT / "sim.log").open("wb")
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kybernetes.cli.main",
            "sim",
            "--nodes",
            "2",
            "--kubeconfig",
            str(target.kubeconfig),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        nodes = wait_until(
            lambda: [n["metadata"]["name"] for n in watcher.json("get", "nodes")["items"]],
            60,
            "simulated nodes",
        )
        node = nodes[0]
        time.sleep(2)  # the simulator has read the kubernetes endpoints (its list of servers)
        target.kill_machine()
        killed = time.monotonic()
        before = node_lease_renewed(watcher, node)
        wait_until(
            lambda: node_lease_renewed(watcher, node) != before, 60, "a lease renewed after the failover"
        )
        TIMINGS["node lease renewed through another server"] = time.monotonic() - killed
        assert "failing over to" in (ROOT / "sim.log").read_text()
        ready = {c["type"]: c["status"] for c in watcher.json("get", "node", node)["status"]["conditions"]}
        assert ready["Ready"] == "True"
    finally:
        sim.terminate()
        sim.wait(20)
        target.start(timeout=90)  # leave three servers behind
