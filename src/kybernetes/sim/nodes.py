"""What a hollow node looks like to the API: its Node object, its status and its Lease.

`plan_nodes(profile)` turns node groups into concrete `SimNode`s (name, zone, fake address, pod
CIDR); the `render_*` functions build the objects a real kubelet would write for them. All pure:
the runner only sends what these return.

Node addresses come from the RFC 2544 benchmarking range (198.18.0.0/15 by default): they look
real to anything that reads them but are never contacted. Pod CIDRs are assigned only when the
profile asks (``podCIDRs``); otherwise a node IPAM controller may set spec.podCIDR later and the
runner picks it up from the Node it reads back.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kybernetes.kubelet.nodestatus import node_conditions
from kybernetes.machinery.quantity import parse_quantity
from kybernetes.sim.profile import NodeGroup, Profile

Obj = dict[str, Any]

KUBELET_VERSION = "v1.32.4-kyb-sim"
RUNTIME_VERSION = "sim://1"
KUBELET_PORT = 10250
# The simulator marks what it created, so `--cleanup` and tests can tell its nodes apart.
SIM_LABEL = "sim.kybernetes.io/hollow"
STATS_URL_ANNOTATION = "sim.kybernetes.io/stats-url"

_NS = uuid.UUID("6d1c9a4e-2f35-4c1b-9f0e-5b7a3c2d1e00")  # namespace for this project's stable fake ids


@dataclass(frozen=True, slots=True)
class SimNode:
    name: str
    index: int  # position among all the process's nodes: picks the address and the pod CIDR
    group: NodeGroup
    zone: str
    address: str
    pod_cidr: str = ""  # "" until assigned (by the profile or a node IPAM controller)


def plan_nodes(profile: Profile) -> list[SimNode]:
    """Every node of the profile, in group order; node i of a group is in zone i mod #zones."""
    out: list[SimNode] = []
    base = ipaddress.ip_address(profile.node_address_base)
    subnets = None
    if profile.pod_cidrs is not None:
        net = ipaddress.ip_network(profile.pod_cidrs.cluster_cidr)
        subnets = net.subnets(new_prefix=profile.pod_cidrs.node_mask_size)
    for group in profile.node_groups:
        for i in range(group.count):
            index = len(out)
            cidr = ""
            if subnets is not None:
                cidr = str(next(subnets, ""))  # "" once the cluster CIDR is exhausted
            out.append(SimNode(name=f"{group.name}-{i}", index=index, group=group,
                               zone=group.zones[i % len(group.zones)],
                               address=str(base + index + 1), pod_cidr=cidr))
    return out


def _fmt(resource: str, value: Fraction) -> str:
    if value < 0:
        value = Fraction(0)
    if resource == "cpu" and value.denominator != 1:
        return f"{int(value * 1000)}m"
    return str(int(value))


def allocatable(group: NodeGroup) -> dict[str, str]:
    """Capacity minus what the profile reserves for the system (never below zero)."""
    out = {}
    for name, cap in group.capacity.items():
        reserved = group.reserved.get(name)
        if reserved is None:
            out[name] = cap
        else:
            out[name] = _fmt(name, parse_quantity(cap).value - parse_quantity(reserved).value)
    return out


def node_labels(node: SimNode) -> dict[str, str]:
    g = node.group
    labels = {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": g.architecture,
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": g.architecture,
        "topology.kubernetes.io/zone": node.zone,
        "topology.kubernetes.io/region": g.region,
        SIM_LABEL: "true",
    }
    if g.instance_type:
        labels["node.kubernetes.io/instance-type"] = g.instance_type
    labels.update(g.labels)
    return labels


def render_node_status(node: SimNode, now: float, *, since: Mapping[str, str] | None = None) -> Obj:
    g = node.group
    return {
        "capacity": dict(g.capacity),
        "allocatable": allocatable(g),
        "conditions": node_conditions(now, since=since),
        "addresses": [{"type": "InternalIP", "address": node.address},
                      {"type": "Hostname", "address": node.name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "nodeInfo": {
            "machineID": uuid.uuid5(_NS, f"machine/{node.name}").hex,
            "systemUUID": str(uuid.uuid5(_NS, f"system/{node.name}")),
            "bootID": str(uuid.uuid5(_NS, f"boot/{node.name}")),
            "kernelVersion": g.kernel_version,
            "osImage": g.os_image,
            "containerRuntimeVersion": RUNTIME_VERSION,
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": g.architecture,
        },
    }


def render_node(node: SimNode, now: float, *, stats_url: str = "") -> Obj:
    """The Node a kubelet registers: labels, taints, podCIDR (when known) and a full status."""
    annotations = {"node.alpha.kubernetes.io/ttl": "0", **node.group.annotations}
    if stats_url:
        annotations[STATS_URL_ANNOTATION] = stats_url
    spec: Obj = {}
    if node.pod_cidr:
        spec["podCIDR"] = node.pod_cidr
        spec["podCIDRs"] = [node.pod_cidr]
    if node.group.taints:
        spec["taints"] = [dict(t) for t in node.group.taints]
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node.name, "labels": node_labels(node), "annotations": annotations},
            "spec": spec, "status": render_node_status(node, now)}
