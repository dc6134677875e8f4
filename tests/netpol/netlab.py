"""A bridged node in network namespaces for NetworkPolicy datapath tests.

    kybm3-node: bridge br0 10.51.0.1/24 (bridge-nf-call-iptables=1, ip_forward=1)
        ├── veth ── kybm3-<pod>  10.51.0.N/24, default via 10.51.0.1   (one per LabPod)
        └── x0 10.99.3.1/24 ── veth ── kybm3-ext 10.99.3.2/24 (a client outside the cluster)

Pod-to-pod traffic is bridged (so it reaches the ip forward hook only through br_netfilter, as on a
real node); traffic from kybm3-ext is routed. Every netns runs one small server answering TCP on
`TCP_PORTS` and UDP on `UDP_PORTS` with its name. `probe_many` runs one client per source netns,
all concurrently, each trying its targets in parallel threads, so a whole matrix takes about one
timeout. Everything lives inside the namespaces: deleting them removes every interface and rule.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

PREFIX = "kybm3-"
NODE = "node-a"
CLUSTER_CIDR = "10.51.0.0/16"
GATEWAY = "10.51.0.1"
EXT_IP = "10.99.3.2"
TCP_PORTS = (80, 8080, 8081, 8082, 9090)
UDP_PORTS = (53,)

SERVER = r"""
import socket, sys, threading
name = sys.argv[1]
tcp = [int(p) for p in sys.argv[2].split(",")]
udp = [int(p) for p in sys.argv[3].split(",")]
def serve_udp(port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", port))
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(name.encode(), peer)
def serve_tcp(s):
    while True:
        c, peer = s.accept()
        try:
            c.sendall(f"{name}\n".encode())
        finally:
            c.close()
for p in udp:
    threading.Thread(target=serve_udp, args=(p,), daemon=True).start()
socks = []
for p in tcp:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p))
    s.listen(64)
    socks.append(s)
for s in socks[1:]:
    threading.Thread(target=serve_tcp, args=(s,), daemon=True).start()
print("ready", flush=True)
serve_tcp(socks[0])
"""

CLIENT = r"""
import json, socket, sys, threading
targets = json.loads(sys.argv[1])
timeout = float(sys.argv[2])
out = [None] * len(targets)
def one(i, proto, ip, port):
    try:
        if proto == "tcp":
            with socket.create_connection((ip, port), timeout=timeout) as c:
                c.settimeout(timeout)
                out[i] = c.makefile().readline().strip() or "error empty"
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.settimeout(timeout)
                u.connect((ip, port))
                u.send(b"hi")
                out[i] = u.recv(2048).decode()
    except OSError as e:
        out[i] = f"error {type(e).__name__}"
threads = [threading.Thread(target=one, args=(i, *t)) for i, t in enumerate(targets)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps(out))
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(args), capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {res.stderr.strip()}")
    return res


def in_ns(ns: str, *args: str) -> list[str]:
    return ["nsenter", f"--net=/var/run/netns/{ns}", *args]


@dataclass(frozen=True)
class LabPod:
    namespace: str
    name: str
    ip: str
    labels: dict[str, str]
    ports: tuple[tuple[str, int, str], ...] = ()  # (name, containerPort, protocol)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.namespace[:4]}-{self.name}"

    def obj(self, node: str = NODE) -> dict[str, Any]:
        ports = [{"name": n, "containerPort": p, "protocol": proto} for n, p, proto in self.ports]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"namespace": self.namespace, "name": self.name, "labels": dict(self.labels)},
                "spec": {"nodeName": node, "containers": [{"name": "c", "image": "x", "ports": ports}]},
                "status": {"phase": "Running", "podIP": self.ip, "podIPs": [{"ip": self.ip}]}}


@dataclass
class NetLab:
    pods: list[LabPod]
    node: str = PREFIX + "node"
    ext: str = PREFIX + "ext"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def namespaces(self) -> list[str]:
        return [self.node, self.ext, *(p.netns for p in self.pods)]

    def pod(self, key: str) -> LabPod:
        return next(p for p in self.pods if p.key == key)

    def up(self) -> None:
        self.down()
        for ns in self.namespaces():
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh(*in_ns(self.node, "sysctl", "-qw", "net.ipv4.ip_forward=1"))
        sh("ip", "-n", self.node, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.node, "addr", "add", f"{GATEWAY}/24", "dev", "br0")
        sh("ip", "-n", self.node, "link", "set", "br0", "up")
        # Per network namespace on this kernel; what the node agent sets on a real node.
        sh(*in_ns(self.node, "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"))
        for i, p in enumerate(self.pods):
            host_if = f"v{i}"
            sh("ip", "-n", self.node, "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", p.netns)
            sh("ip", "-n", self.node, "link", "set", host_if, "master", "br0")
            sh("ip", "-n", self.node, "link", "set", host_if, "up")
            self._addr(p.netns, f"{p.ip}/24", GATEWAY)
        sh("ip", "-n", self.node, "link", "add", "x0", "type", "veth", "peer", "name", "eth0", "netns", self.ext)
        sh("ip", "-n", self.node, "addr", "add", "10.99.3.1/24", "dev", "x0")
        sh("ip", "-n", self.node, "link", "set", "x0", "up")
        self._addr(self.ext, f"{EXT_IP}/24", "10.99.3.1")
        for p in self.pods:
            self._serve(p.netns, p.key)
        self._serve(self.ext, "ext")

    def _addr(self, ns: str, addr: str, gateway: str) -> None:
        sh("ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", gateway)

    def _serve(self, ns: str, name: str) -> None:
        proc = subprocess.Popen(in_ns(ns, sys.executable, "-c", SERVER, name, ",".join(map(str, TCP_PORTS)),
                                      ",".join(map(str, UDP_PORTS))),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"server in {ns} did not start")

    def down(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()
        existing = sh("ip", "netns", "list").stdout.split()
        for ns in self.namespaces():
            if ns in existing:
                sh("ip", "netns", "del", ns, check=False)

    # --- probes -----------------------------------------------------------------------------------
    def netns_of(self, source: str) -> str:
        """A source name: a pod key, "ext" or "node" (the node itself)."""
        return {"ext": self.ext, "node": self.node}.get(source) or self.pod(source).netns

    def ip_of(self, target: str) -> str:
        return EXT_IP if target == "ext" else self.pod(target).ip if "/" in target else target

    def probe_many(self, probes: list[tuple[str, str, str, int]], timeout: float = 0.8) -> dict[tuple[str, str, str, int], bool]:
        """(source, target, proto, port) -> connected and got the target's answer."""
        by_source: dict[str, list[tuple[str, str, str, int]]] = {}
        for pr in probes:
            by_source.setdefault(pr[0], []).append(pr)
        procs = []
        for source, items in by_source.items():
            targets = [[proto, self.ip_of(target), port] for _, target, proto, port in items]
            procs.append((items, subprocess.Popen(in_ns(self.netns_of(source), sys.executable, "-c", CLIENT,
                                                         json.dumps(targets), str(timeout)),
                                                  stdout=subprocess.PIPE, text=True)))
        result: dict[tuple[str, str, str, int], bool] = {}
        for items, proc in procs:
            out, _ = proc.communicate()
            for pr, reply in zip(items, json.loads(out), strict=True):
                expected_name = pr[1] if "/" in pr[1] or pr[1] == "ext" else None
                result[pr] = not reply.startswith("error") and (expected_name is None or reply == expected_name)
        return result
