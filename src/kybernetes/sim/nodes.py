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

from kybernetes.machinery.quantity import parse_quantity
from kybernetes.sim.profile import NodeGroup, Profile
from kybernetes.sim.times import micro_time, rfc3339

Obj = dict[str, Any]

KUBELET_VERSION = "v1.32.4-kyb-sim"
RUNTIME_VERSION = "sim://1"
KUBELET_PORT = 10250
LEASE_NAMESPACE = "kube-node-lease"
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


def node_conditions(now: float, *, since: Mapping[str, str] | None = None) -> list[Obj]:
    """The four conditions a healthy kubelet reports. `since` keeps earlier lastTransitionTimes
    (type -> time) so a heartbeat does not look like a transition."""
    hb = rfc3339(now)
    since = since or {}
    rows = (
        ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    )
    return [{"type": t, "status": s, "lastHeartbeatTime": hb, "lastTransitionTime": since.get(t, hb),
             "reason": r, "message": m} for t, s, r, m in rows]


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


def condition_times(node_obj: Mapping[str, Any]) -> dict[str, str]:
    """type -> lastTransitionTime of a Node's conditions (to carry over into the next status)."""
    out = {}
    for c in (node_obj.get("status") or {}).get("conditions") or []:
        if c.get("type") and c.get("lastTransitionTime"):
            out[str(c["type"])] = str(c["lastTransitionTime"])
    return out


def _condition_map(node_obj: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    conds = ((node_obj or {}).get("status") or {}).get("conditions") or []
    return {str(c["type"]): c for c in conds if isinstance(c, Mapping) and c.get("type")}


def status_differs(desired: Mapping[str, Any], observed: Mapping[str, Any] | None) -> bool:
    """Whether the API's Node (`observed`, None if unknown) shows other conditions than the status
    this node would post (`desired`, a NodeStatus). Only status and reason count: heartbeat and
    transition times always differ and are what the report frequency is for. Conditions someone
    else owns (not in `desired`) are ignored; a missing one counts as a difference."""
    if observed is None:
        return True
    seen = _condition_map(observed)
    for c in desired.get("conditions") or []:
        other = seen.get(str(c["type"]))
        if other is None or (other.get("status"), other.get("reason")) != (c.get("status"), c.get("reason")):
            return True
    return False


def kept_transition_times(observed: Mapping[str, Any] | None, now: float) -> dict[str, str]:
    """type -> lastTransitionTime to post, given the Node as the API shows it: a condition whose
    status the API already has keeps its time; one the API shows otherwise (say Ready=Unknown
    after the lease lapsed) transitions now."""
    seen = _condition_map(observed)
    out = {}
    for c in node_conditions(now):
        other = seen.get(c["type"])
        if other is not None and other.get("status") == c["status"] and other.get("lastTransitionTime"):
            out[c["type"]] = str(other["lastTransitionTime"])
    return out


def should_post_status(desired: Mapping[str, Any], observed: Mapping[str, Any] | None, *, now: float,
                       last_post: float, report_frequency: float) -> bool:
    """The kubelet's rule on each status tick: post when the API's copy differs, or when the report
    frequency has elapsed since the last post (a heartbeat)."""
    return status_differs(desired, observed) or now - last_post >= report_frequency


def render_lease(node_name: str, node_uid: str, now: float, *, duration_seconds: int) -> Obj:
    """The node's heartbeat Lease in kube-node-lease, owned by its Node (as the kubelet does)."""
    meta: Obj = {"name": node_name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": duration_seconds,
                     "renewTime": micro_time(now)}}
