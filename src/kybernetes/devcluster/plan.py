"""What a development cluster on one machine is made of, decided without touching the machine.

A dev cluster is one `kyb server` on the host (control plane and DNS, no local node) and N nodes,
each a network namespace joined to a host bridge by a veth. Everything here is pure: the names,
addresses and the exact commands; ``harness.py`` runs them. Keeping the plan pure makes the
naming rules testable and lets cleanup find what a crashed run left behind from the config alone.

Per node, what a network namespace does NOT separate must be unique by name: the data dir
(containerd root, runc root, CNI state), the pod cgroup parent and the netns/veth names.
What it does separate (CNI bridge, nftables tables, kubelet port 10250, routes) keeps the
defaults of a single node.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NETNS_DIR = Path("/var/run/netns")


@dataclass(frozen=True, slots=True)
class DevClusterConfig:
    data_dir: Path = Path("/tmp/kyb-dev")
    nodes: int = 3
    port: int = 6443                    # the API server (binds 0.0.0.0)
    prefix: str = "kyb-dev"             # network namespace and node names: <prefix>-node<i>
    host_bridge: str = "kybdevnet"      # the L2 network of the nodes (<= 15 characters)
    subnet: str = "10.98.0.0/24"        # host .1, node i .(10+i)
    cluster_cidr: str = "10.42.0.0/16"
    dns_port: int = 5353                # cluster DNS on the host's bridge address
    node_bridge: str = "kyb0"           # the CNI bridge inside each node's namespace
    join: bool = True                   # nodes join with a bootstrap token (else: the admin kubeconfig)
    server_env: tuple[tuple[str, str], ...] = ()  # extra environment of `kyb server` (e.g. KYB_DNS_UPSTREAMS)
    network_backend: str = "host-gw"    # the agents' --network-backend (vxlan: pods across node subnets)
    # Nodes on several L3 subnets (node i on the ((i-1) mod n)-th), the host routing between them
    # with .1 on each; empty: every node on `subnet`. Still one bridge: only L3 tells them apart.
    node_subnets: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NodePlan:
    index: int
    name: str               # Node name = network namespace name
    address: str            # the node's InternalIP on the host bridge
    veth_host: str          # host end of the veth (enslaved to the host bridge)
    data_dir: Path
    cgroup_parent: str
    prefixlen: int = 24     # of the node's subnet
    gateway: str = ""       # the host's address on the node's subnet (its default route)

    @property
    def netns(self) -> str:
        return self.name

    @property
    def netns_path(self) -> str:
        return str(NETNS_DIR / self.name)


def host_address(cfg: DevClusterConfig) -> str:
    return str(next(ipaddress.ip_network(cfg.subnet).hosts()))


def prefix_len(cfg: DevClusterConfig) -> int:
    return ipaddress.ip_network(cfg.subnet).prefixlen


def veth_name(cfg: DevClusterConfig, index: int) -> str:
    """Host end: the bridge name with its `net` suffix swapped for `v<i>` (kybm2net -> kybm2v1)."""
    base = cfg.host_bridge.removesuffix("net")
    name = f"{base}v{index}"
    if len(name) > 15:
        raise ValueError(f"interface name {name!r} is longer than 15 characters")
    return name


def node_subnets(cfg: DevClusterConfig) -> list[str]:
    return list(cfg.node_subnets) or [cfg.subnet]


def plan_nodes(cfg: DevClusterConfig) -> list[NodePlan]:
    subnets = [ipaddress.ip_network(s) for s in node_subnets(cfg)]
    out = []
    for i in range(1, cfg.nodes + 1):
        net = subnets[(i - 1) % len(subnets)]
        address = net.network_address + 10 + i
        if address not in net or address == net.broadcast_address:
            raise ValueError(f"{cfg.nodes} nodes do not fit in {cfg.subnet}")
        name = f"{cfg.prefix}-node{i}"
        out.append(NodePlan(index=i, name=name, address=str(address), veth_host=veth_name(cfg, i),
                            data_dir=cfg.data_dir / f"node{i}", cgroup_parent=f"kubepods-{name}",
                            prefixlen=net.prefixlen, gateway=str(next(net.hosts()))))
    return out


def server_url(cfg: DevClusterConfig) -> str:
    """How nodes reach the API server: the host's address on the bridge (a SAN of its certificate)."""
    return f"https://{host_address(cfg)}:{cfg.port}"


def host_commands(cfg: DevClusterConfig) -> list[list[str]]:
    b = cfg.host_bridge
    more = [ipaddress.ip_network(s) for s in node_subnets(cfg) if ipaddress.ip_network(s) != ipaddress.ip_network(cfg.subnet)]
    return [["ip", "link", "add", b, "type", "bridge"],
            ["ip", "addr", "add", f"{host_address(cfg)}/{prefix_len(cfg)}", "dev", b],
            *[["ip", "addr", "add", f"{next(net.hosts())}/{net.prefixlen}", "dev", b] for net in more],
            ["ip", "link", "set", b, "up"]]


def node_commands(cfg: DevClusterConfig, node: NodePlan) -> list[list[str]]:
    """The namespace, its veth (eth0 inside), address, default route via the host, forwarding on."""
    ns = node.netns
    enter = ["nsenter", f"--net={node.netns_path}"]
    return [["ip", "netns", "add", ns],
            ["ip", "link", "add", node.veth_host, "type", "veth", "peer", "name", "eth0", "netns", ns],
            ["ip", "link", "set", node.veth_host, "master", cfg.host_bridge, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "addr", "add", f"{node.address}/{node.prefixlen}", "dev", "eth0"],
            ["ip", "-n", ns, "link", "set", "eth0", "up"],
            ["ip", "-n", ns, "route", "add", "default", "via", node.gateway or host_address(cfg)],
            # a fresh namespace does not forward; its pods' traffic to other nodes must pass
            [*enter, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"],
            # on several subnets of one bridge, the host's ICMP redirects would send node-to-node
            # traffic straight over L2; refused, it takes the routed path a real network has
            *([[*enter, "sysctl", "-q", "-w", "net.ipv4.conf.all.accept_redirects=0"],
               # pod addresses no route of the node knows stop here, never follow the default
               # route to the host and out of the machine (before the overlay knows a peer)
               ["ip", "-n", ns, "route", "add", "unreachable", cfg.cluster_cidr]] if cfg.node_subnets else [])]


def server_command(cfg: DevClusterConfig) -> list[str]:
    return [sys.executable, "-m", "kybernetes.cli.main", "server", "--data-dir", str(cfg.data_dir / "server"),
            "--port", str(cfg.port), "--bind-address", "0.0.0.0", "--advertise-address", host_address(cfg),
            "--cluster-cidr", cfg.cluster_cidr, "--disable", "kubelet"]


def server_env(cfg: DevClusterConfig, *, dns_http_port: int) -> dict[str, str]:
    """Cluster DNS listens on the bridge address, where every node's pods reach it (via kube-dns)."""
    return {"KYB_DNS_LISTEN": f"{host_address(cfg)}:{cfg.dns_port}",
            "KYB_DNS_HTTP": f"127.0.0.1:{dns_http_port}", **dict(cfg.server_env)}


def agent_command(cfg: DevClusterConfig, node: NodePlan, *, tls_dir: Path, token: str = "",
                  kubeconfig: Path | None = None) -> list[str]:
    """The whole agent inside the node's namespace: `nsenter --net`, never `ip netns exec`
    (it remounts /sys, and runc then finds no cgroups: node-runtime-notes pitfall 10).
    With a token the node joins like a remote machine (its own certificates through CSRs);
    else it borrows the admin kubeconfig and the CA key (a node that cannot join)."""
    if token:
        credentials = ["--server", server_url(cfg), "--token", token, "--ca-file", str(tls_dir / "ca.crt")]
    elif kubeconfig is not None:
        credentials = ["--kubeconfig", str(kubeconfig), "--ca-cert", str(tls_dir / "ca.crt"),
                       "--ca-key", str(tls_dir / "ca.key")]
    else:
        raise ValueError("a node needs a bootstrap token or a kubeconfig")
    return ["nsenter", f"--net={node.netns_path}",
            sys.executable, "-m", "kybernetes.cli.main", "agent", *credentials,
            "--data-dir", str(node.data_dir), "--node-name", node.name, "--node-ip", node.address,
            "--cluster-cidr", cfg.cluster_cidr, "--bridge", cfg.node_bridge, "--cgroup-parent", node.cgroup_parent,
            *(["--network-backend", cfg.network_backend] if cfg.network_backend != "host-gw" else [])]


def token_command(cfg: DevClusterConfig) -> list[str]:
    return [sys.executable, "-m", "kybernetes.cli.main", "token", "create", "--data-dir", str(cfg.data_dir / "server"),
            "--ttl", "0", "--description", "kyb dev cluster nodes"]


def reset_command(cfg: DevClusterConfig, node: NodePlan) -> list[str]:
    """`kyb node-reset` inside the namespace: its bridge and nftables tables live there."""
    return ["nsenter", f"--net={node.netns_path}",
            sys.executable, "-m", "kybernetes.cli.main", "node-reset", "--data-dir", str(node.data_dir),
            "--bridge", cfg.node_bridge, "--cgroup-parent", node.cgroup_parent, "--cluster-cidr", cfg.cluster_cidr]


def node_kubeconfig(admin: dict[str, Any], server: str) -> dict[str, Any]:
    """The admin kubeconfig pointed at the bridge address (the CA still verifies the server)."""
    clusters = [{**c, "cluster": {**c["cluster"], "server": server}} for c in admin.get("clusters") or []]
    return {**admin, "clusters": clusters}
