"""The dev cluster's plan for nodes on several routed subnets with the vxlan backend (pure)."""

from __future__ import annotations

from pathlib import Path

from kybernetes.devcluster.plan import (
    DevClusterConfig,
    agent_command,
    host_commands,
    node_commands,
    plan_nodes,
)

CFG = DevClusterConfig(
    data_dir=Path("/tmp/kyb-vx-plan"),
    nodes=3,
    prefix="kybvx",
    host_bridge="kybvxnet",
    subnet="192.168.159.0/24",
    cluster_cidr="10.159.0.0/16",
    network_backend="vxlan",
    node_subnets=("192.168.159.0/24", "192.168.160.0/24"),
)


def test_nodes_take_the_subnets_in_turn_with_the_host_as_their_router() -> None:
    nodes = plan_nodes(CFG)
    assert [(n.address, n.prefixlen, n.gateway) for n in nodes] == [
        ("192.168.159.11", 24, "192.168.159.1"),
        ("192.168.160.12", 24, "192.168.160.1"),
        ("192.168.159.13", 24, "192.168.159.1"),
    ]
    assert host_commands(CFG) == [
        ["ip", "link", "add", "kybvxnet", "type", "bridge"],
        ["ip", "addr", "add", "192.168.159.1/24", "dev", "kybvxnet"],
        ["ip", "addr", "add", "192.168.160.1/24", "dev", "kybvxnet"],
        ["ip", "link", "set", "kybvxnet", "up"],
    ]
    cmds = node_commands(CFG, nodes[1])
    assert ["ip", "-n", "kybvx-node2", "addr", "add", "192.168.160.12/24", "dev", "eth0"] in cmds
    assert ["ip", "-n", "kybvx-node2", "route", "add", "default", "via", "192.168.160.1"] in cmds
    assert cmds[-2][-1] == "net.ipv4.conf.all.accept_redirects=0"
    assert cmds[-1] == ["ip", "-n", "kybvx-node2", "route", "add", "unreachable", "10.159.0.0/16"]


def test_agents_get_the_backend_and_one_subnet_keeps_the_old_layout() -> None:
    node = plan_nodes(CFG)[0]
    assert agent_command(CFG, node, tls_dir=Path("/t"), token="t")[-2:] == ["--network-backend", "vxlan"]
    plain = DevClusterConfig(prefix="kybvx", host_bridge="kybvxnet")
    first = plan_nodes(plain)[0]
    assert (first.address, first.gateway) == ("10.98.0.11", "10.98.0.1")
    assert "--network-backend" not in agent_command(plain, first, tls_dir=Path("/t"), token="t")
    assert not any("accept_redirects" in " ".join(c) for c in node_commands(plain, first))
    assert len(host_commands(plain)) == 3
