"""The dev cluster's layout: names, addresses and commands decided from the config alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.devcluster.plan import (
    DevClusterConfig,
    agent_command,
    host_address,
    node_commands,
    node_kubeconfig,
    plan_nodes,
    reset_command,
    server_command,
    server_url,
    veth_name,
)

CFG = DevClusterConfig(data_dir=Path("/tmp/kyb-m2"), nodes=3, port=18660, prefix="kyb-m2", host_bridge="kybm2net",
                       subnet="10.98.0.0/24", cluster_cidr="10.52.0.0/16", dns_port=18661)


def test_nodes_get_names_addresses_and_private_state() -> None:
    nodes = plan_nodes(CFG)
    assert [(n.name, n.address, n.veth_host, n.data_dir, n.cgroup_parent) for n in nodes] == [
        ("kyb-m2-node1", "10.98.0.11", "kybm2v1", Path("/tmp/kyb-m2/node1"), "kubepods-kyb-m2-node1"),
        ("kyb-m2-node2", "10.98.0.12", "kybm2v2", Path("/tmp/kyb-m2/node2"), "kubepods-kyb-m2-node2"),
        ("kyb-m2-node3", "10.98.0.13", "kybm2v3", Path("/tmp/kyb-m2/node3"), "kubepods-kyb-m2-node3"),
    ]
    assert nodes[0].netns_path == "/var/run/netns/kyb-m2-node1"
    assert host_address(CFG) == "10.98.0.1"
    assert server_url(CFG) == "https://10.98.0.1:18660"


@pytest.mark.parametrize(("cfg", "message"), [
    pytest.param(DevClusterConfig(nodes=250, subnet="10.98.0.0/24"), "do not fit", id="too-many-nodes"),
    pytest.param(DevClusterConfig(host_bridge="averyverylongbridgenet"), "15 characters", id="long-veth-name"),
])
def test_impossible_layouts_are_refused(cfg: DevClusterConfig, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_nodes(cfg)


def test_veth_name_swaps_the_net_suffix() -> None:
    assert veth_name(DevClusterConfig(host_bridge="kybdevnet"), 12) == "kybdevv12"


def test_node_runs_in_its_namespace_with_nsenter_never_ip_netns_exec() -> None:
    node = plan_nodes(CFG)[1]
    agent = agent_command(CFG, node, tls_dir=Path("/tmp/kyb-m2/server/tls"), token="abcdef.0123456789abcdef")
    assert agent[:2] == ["nsenter", "--net=/var/run/netns/kyb-m2-node2"]
    joined = " ".join(agent)
    for part in ("--server https://10.98.0.1:18660", "--token abcdef.0123456789abcdef",
                 "--ca-file /tmp/kyb-m2/server/tls/ca.crt", "--node-name kyb-m2-node2", "--node-ip 10.98.0.12",
                 "--cgroup-parent kubepods-kyb-m2-node2", "--cluster-cidr 10.52.0.0/16",
                 "--data-dir /tmp/kyb-m2/node2"):
        assert part in joined
    with_kubeconfig = " ".join(agent_command(CFG, node, tls_dir=Path("/t"), kubeconfig=Path("/k")))
    assert "--kubeconfig /k" in with_kubeconfig and "--ca-key /t/ca.key" in with_kubeconfig
    with pytest.raises(ValueError):
        agent_command(CFG, node, tls_dir=Path("/t"))
    reset = reset_command(CFG, node)
    assert reset[:2] == agent[:2] and "node-reset" in reset
    for cmd in node_commands(CFG, node):
        assert cmd[:3] != ["ip", "netns", "exec"]
    assert ["ip", "-n", "kyb-m2-node2", "route", "add", "default", "via", "10.98.0.1"] in node_commands(CFG, node)


def test_server_binds_everywhere_and_advertises_the_bridge_address() -> None:
    joined = " ".join(server_command(CFG))
    assert "--bind-address 0.0.0.0" in joined and "--advertise-address 10.98.0.1" in joined
    assert "--disable kubelet" in joined and "--port 18660" in joined


def test_node_kubeconfig_points_at_the_bridge_address() -> None:
    admin: dict[str, Any] = {"clusters": [{"name": "kyb", "cluster": {"server": "https://127.0.0.1:18660",
                                                      "certificate-authority-data": "Q0E="}}], "users": []}
    out = node_kubeconfig(admin, "https://10.98.0.1:18660")
    assert out["clusters"] == [{"name": "kyb", "cluster": {"server": "https://10.98.0.1:18660",
                                                           "certificate-authority-data": "Q0E="}}]
    assert admin["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:18660"
