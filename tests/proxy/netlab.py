"""A tiny network lab for datapath tests: a "node" namespace that routes between a client namespace
and backend namespaces ("pods"), with small TCP/UDP servers in the backends.

    kybpx-client 10.158.1.2 ──veth── 10.158.1.1  kybpx-node  10.158.128+N.1 ──veth── .2  kybpx-beN
                                                 10.158.2.1 ──veth── 10.158.2.2  kybpx-up (default
                                                 route: an upstream router that does not forward)

Every interface is created inside the namespaces, so deleting the namespaces removes everything.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

PREFIX = "kybpx-"
NODE_IP = "10.158.1.1"
CLIENT_IP = "10.158.1.2"
CLUSTER_CIDR = "10.158.128.0/17"

SERVER = r"""
import socket, sys, threading
name, port = sys.argv[1], int(sys.argv[2])
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("0.0.0.0", port))
    while True:
        data, peer = u.recvfrom(2048)
        u.sendto(f"{name} {peer[0]}".encode(), peer)
threading.Thread(target=udp, daemon=True).start()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(128)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    try:
        c.sendall(f"{name} {peer[0]}\n".encode())
    finally:
        c.close()
"""

CLIENT = r"""
import json, socket, sys, time
mode, ip, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sport = int(sys.argv[5]) if len(sys.argv) > 5 else 0
out = []
for _ in range(count):
    t0 = time.monotonic()
    try:
        if mode == "tcp":
            with socket.create_connection((ip, port), timeout=2) as c:
                c.settimeout(2)
                out.append(c.makefile().readline().strip())
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if sport:
                    u.bind(("0.0.0.0", sport))
                u.settimeout(1)
                u.connect((ip, port))  # connected, so an ICMP error surfaces as ECONNREFUSED
                u.send(b"hi")
                out.append(u.recv(2048).decode())
    except OSError as e:
        out.append(f"error {type(e).__name__} {time.monotonic() - t0:.3f}")
print(json.dumps(out))
"""


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(args), capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {res.stderr.strip()}")
    return res


def in_ns(ns: str, *args: str) -> list[str]:
    return ["nsenter", f"--net=/var/run/netns/{ns}", *args]


@dataclass
class NetLab:
    backends: int = 3
    node: str = PREFIX + "node"
    client: str = PREFIX + "client"
    upstream: str = PREFIX + "up"
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def backend(self, i: int) -> str:
        return f"{PREFIX}be{i}"

    def backend_ip(self, i: int) -> str:
        return f"10.158.{128 + i}.2"

    def namespaces(self) -> list[str]:
        return [self.node, self.client, self.upstream, *(self.backend(i) for i in range(1, self.backends + 1))]

    def up(self) -> None:
        self.down()
        for ns in self.namespaces():
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "netns", "exec", self.node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        self._link(self.client, "c0", f"{NODE_IP}/24", f"{CLIENT_IP}/24", NODE_IP)
        for i in range(1, self.backends + 1):
            gateway = f"10.158.{128 + i}.1"
            self._link(self.backend(i), f"b{i}", f"{gateway}/24", f"{self.backend_ip(i)}/24", gateway)
        # An upstream router as the node's default route (every real node has one); it does not
        # forward, so traffic to a VIP that the proxy does not catch dies there, silently.
        self._link(self.upstream, "u0", "10.158.2.1/24", "10.158.2.2/24", "10.158.2.1")
        sh("ip", "-n", self.node, "route", "add", "default", "via", "10.158.2.2")
        for i in range(1, self.backends + 1):
            self.start_server(self.backend(i), f"be{i}", 8080)
        self.start_server(self.client, "client", 9000)

    def _link(self, ns: str, node_if: str, node_addr: str, peer_addr: str, gateway: str) -> None:
        sh("ip", "-n", self.node, "link", "add", node_if, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.node, "addr", "add", node_addr, "dev", node_if)
        sh("ip", "-n", self.node, "link", "set", node_if, "up")
        sh("ip", "-n", ns, "addr", "add", peer_addr, "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "route", "add", "default", "via", gateway)

    def start_server(self, ns: str, name: str, port: int) -> None:
        proc = subprocess.Popen(in_ns(ns, sys.executable, "-c", SERVER, name, str(port)),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(proc)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError(f"server {name} in {ns} did not start")

    def down(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        self.procs.clear()
        existing = sh("ip", "netns", "list").stdout
        for ns in self.namespaces():
            if ns in existing:
                sh("ip", "netns", "del", ns, check=False)

    # --- probes ---------------------------------------------------------------------------------
    def request(self, ns: str, mode: str, ip: str, port: int, count: int = 1, sport: int = 0) -> list[str]:
        args = [mode, ip, str(port), str(count)] + ([str(sport)] if sport else [])
        res = sh(*in_ns(ns, sys.executable, "-c", CLIENT, *args))
        out: list[str] = json.loads(res.stdout)
        return out

    def nft(self, script: str, *, check_only: bool = False) -> None:
        args = ["nft", "-c", "-f", "-"] if check_only else ["nft", "-f", "-"]
        res = subprocess.run(in_ns(self.node, *args), input=script, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"nft failed: {res.stderr}")

    def conntrack_count(self, *args: str) -> int:
        res = sh(*in_ns(self.node, "conntrack", "-L", *args), check=False)
        return len([line for line in res.stdout.splitlines() if line.strip()])


def wait_until(pred: Any, timeout: float = 3.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())
