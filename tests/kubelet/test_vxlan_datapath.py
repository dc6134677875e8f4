"""The VXLAN backend's datapath in the real kernel, without kyb: two "nodes" on different subnets.

    pod-a (10.159.1.2) -- bridge -- node-a (192.168.159.10) -- router -- node-b (192.168.160.10) -- bridge -- pod-b (10.159.2.2)

Each node, pod and the router is a network namespace of this test (kybvx-dp-*). The router knows
only the two node subnets, so a pod packet crosses it only inside a VXLAN packet between the node
addresses. The executor programs both nodes from Node objects; pod-a then pings pod-b, opens a
TCP connection and pod-b sees pod-a's own address (no NAT anywhere). A node that leaves takes its
route, neighbour and FDB entry off the other, and a second sync changes nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kybernetes.kubelet.vxlan import (
    VTEP_MAC_ANNOTATION,
    VxlanBackend,
    device_name,
    plan_vxlan,
    read_underlay,
    vtep_mac,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("bridge") is None,
    reason="needs root and iproute2 (network namespaces)",
)

R, A, B, PA, PB = "kybvx-dp-r", "kybvx-dp-a", "kybvx-dp-b", "kybvx-dp-pa", "kybvx-dp-pb"
CLUSTER_CIDR = "10.159.0.0/16"
NODES = {  # name: (netns, pod netns, node address, router address, pod CIDR, pod address)
    "node-a": (A, PA, "192.168.159.10", "192.168.159.1", "10.159.1.0/24", "10.159.1.2"),
    "node-b": (B, PB, "192.168.160.10", "192.168.160.1", "10.159.2.0/24", "10.159.2.2"),
}
# pod-b's side: accept one connection and answer with the address the client came from
ECHO_PEER = (
    "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); "
    "s.bind(('0.0.0.0', 8080)); s.listen(1); print('listening', flush=True); c, peer = s.accept(); "
    "c.sendall(peer[0].encode()); c.close()"
)
# one ICMP echo over a raw socket (no ping binary needed); exits 0 on the matching reply
PING = r"""
import os, socket, struct, sys, time
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
ident = os.getpid() & 0xFFFF
body = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"kybvx!"
packet = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(0.5)
s.sendto(packet, (sys.argv[1], 0))
deadline = time.monotonic() + 2
while time.monotonic() < deadline:
    try:
        data, peer = s.recvfrom(1500)
    except OSError:
        continue
    header = (data[0] & 0x0F) * 4
    kind, _, _, got = struct.unpack("!BBHH", data[header:header + 6])
    if peer[0] == sys.argv[1] and kind == 0 and got == ident:
        sys.exit(0)
sys.exit(1)
"""
CONNECT = (
    "import socket, sys; c = socket.create_connection((sys.argv[1], 8080), timeout=5); "
    "print(c.recv(100).decode())"
)


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc


def remove_namespaces() -> None:
    for ns in (PA, PB, A, B, R):
        sh("ip", "netns", "del", ns, check=False)


@pytest.fixture(scope="module")
def topology() -> Iterator[None]:
    remove_namespaces()
    try:
        for ns in (R, A, B, PA, PB):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        for i, (ns, pod_ns, address, gateway, cidr, pod_address) in enumerate(NODES.values()):
            router_end, pod_end = f"kybvxr{i}", f"kybvxp{i}"
            sh("ip", "-n", R, "link", "add", router_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh("ip", "-n", R, "addr", "add", f"{gateway}/24", "dev", router_end)
            sh("ip", "-n", R, "link", "set", router_end, "up")
            sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "route", "add", "default", "via", gateway)
            # the node's pod bridge, its gateway address, and one pod behind it (as CNI's bridge does)
            bridge_address = cidr.replace(".0/24", ".1/24")
            sh("ip", "-n", ns, "link", "add", "kybvxbr", "type", "bridge")
            sh("ip", "-n", ns, "addr", "add", bridge_address, "dev", "kybvxbr")
            sh("ip", "-n", ns, "link", "set", "kybvxbr", "up")
            sh(
                "ip",
                "-n",
                ns,
                "link",
                "add",
                pod_end,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                pod_ns,
            )
            sh("ip", "-n", ns, "link", "set", pod_end, "master", "kybvxbr", "up")
            sh("ip", "-n", pod_ns, "addr", "add", f"{pod_address}/24", "dev", "eth0")
            sh("ip", "-n", pod_ns, "link", "set", "eth0", "mtu", "1450", "up")  # CNI's mtu under vxlan
            sh("ip", "-n", pod_ns, "route", "add", "default", "via", bridge_address.split("/")[0])
        for ns in (R, A, B):
            sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        yield
    finally:
        remove_namespaces()


def node_objects(names: list[str]) -> list[dict[str, Any]]:
    out = []
    for name in names:
        _ns, _pod_ns, address, _gw, cidr, _pod = NODES[name]
        out.append(
            {
                "metadata": {
                    "name": name,
                    "annotations": {VTEP_MAC_ANNOTATION: vtep_mac(cidr.split("/")[0])},
                },
                "spec": {"podCIDR": cidr},
                "status": {"addresses": [{"type": "InternalIP", "address": address}]},
            }
        )
    return out


async def program(name: str, cluster: list[str]) -> Any:
    ns, _pod_ns, address, *_ = NODES[name]
    underlay = await read_underlay(address, netns=ns)
    plan = plan_vxlan(node_objects(cluster), self_name=name, underlay=underlay, cluster_cidr=CLUSTER_CIDR)
    changes, errors = await VxlanBackend(device_name(), netns=ns).apply(plan)
    assert errors == []
    return changes


def ping(src_pod_ns: str, dst: str) -> bool:
    return sh("ip", "netns", "exec", src_pod_ns, sys.executable, "-c", PING, dst, check=False).returncode == 0


async def test_pods_on_two_subnets_reach_each_other_through_the_overlay(topology: None) -> None:
    assert not ping(PA, "10.159.2.2")  # the router knows no pod addresses
    for name in NODES:
        assert await program(name, list(NODES))
    link = sh("ip", "-n", A, "-d", "link", "show", "kyb.vxlan").stdout
    assert "vxlan id 1" in link and "dstport 8472" in link and "mtu 1450" in link and "nolearning" in link
    assert "10.159.2.0/24 via 10.159.2.0 dev kyb.vxlan proto 250 onlink" in sh("ip", "-n", A, "route").stdout
    assert (
        "dst 192.168.160.10 self permanent" in sh("bridge", "-n", A, "fdb", "show", "dev", "kyb.vxlan").stdout
    )

    assert ping(PA, "10.159.2.2") and ping(PB, "10.159.1.2")
    server = subprocess.Popen(
        ["ip", "netns", "exec", PB, sys.executable, "-c", ECHO_PEER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        seen = sh("ip", "netns", "exec", PA, sys.executable, "-c", CONNECT, "10.159.2.2").stdout.strip()
        assert seen == "10.159.1.2"  # pod-b sees pod-a's own address: no NAT on the way
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()

    # a second sync finds nothing to do
    assert not await program("node-a", list(NODES))


async def test_a_node_that_left_loses_its_entries(topology: None) -> None:
    for name in NODES:
        await program(name, list(NODES))
    assert ping(PA, "10.159.2.2")
    changes = await program("node-a", ["node-a"])
    assert list(changes.routes.delete) == ["10.159.2.0/24"] and changes.fdb.delete
    assert "10.159.2.0" not in sh("ip", "-n", A, "route").stdout
    assert "10.159.2.0" not in sh("ip", "-n", A, "neigh", "show", "dev", "kyb.vxlan").stdout
    assert "192.168.160.10" not in sh("bridge", "-n", A, "fdb", "show", "dev", "kyb.vxlan").stdout
    assert not ping(PA, "10.159.2.2")
    await program("node-a", list(NODES))  # it comes back
    deadline = time.monotonic() + 5
    while not ping(PA, "10.159.2.2"):
        assert time.monotonic() < deadline


def test_node_reset_deletes_the_vxlan_device_and_nothing_else(topology: None) -> None:
    sh("ip", "-n", B, "link", "add", "kybvx.vx", "type", "bridge")  # named as node "kybvx"'s device would be
    remove = "from kybernetes.kubelet.vxlan import remove_vxlan_device as r; print(r('kyb0'), r('kybvx'))"
    out = sh("ip", "netns", "exec", B, sys.executable, "-c", remove).stdout.split()
    assert out == ["True", "False"]  # the vxlan device goes; an interface of another kind stays
    assert sh("ip", "-n", B, "link", "show", "kyb.vxlan", check=False).returncode != 0
    assert sh("ip", "-n", B, "link", "show", "kybvx.vx").returncode == 0
