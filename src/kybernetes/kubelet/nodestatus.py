"""What a kubelet writes about its node: the Node object, its status and the heartbeat Lease.

Pure functions shared by the real node agent and the simulated nodes (`kybernetes.sim`), which
report the same shapes. The kubelet's rule for status posts (`should_post_status`): post when the
API's copy differs in a condition's status or reason, or when the report frequency has elapsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet.machine import MachineInfo
from kybernetes.util.times import micro_time, rfc3339

Obj = dict[str, Any]

KUBELET_VERSION = "v1.32.4-kyb"
KUBELET_PORT = 10250
LEASE_NAMESPACE = "kube-node-lease"
MAX_PODS = 110

# type -> (reason when fine, message when fine, reason under pressure, message under pressure)
_PRESSURE = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available",
                       "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure",
                     "KubeletHasDiskPressure", "kubelet has disk pressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available",
                    "KubeletHasInsufficientPID", "kubelet has insufficient PID available"),
}


def node_conditions(now: float, *, since: Mapping[str, str] | None = None,
                    pressure: Mapping[str, bool] | None = None, not_ready: str = "") -> list[Obj]:
    """The four conditions a kubelet reports. `since` keeps earlier lastTransitionTimes (type ->
    time) so a heartbeat does not look like a transition; `pressure` marks the pressure
    conditions that are True; `not_ready` is the reason the node is not ready ("" when it is)."""
    hb = rfc3339(now)
    since = since or {}
    pressure = pressure or {}
    rows = []
    for kind, (ok_reason, ok_msg, bad_reason, bad_msg) in _PRESSURE.items():
        bad = bool(pressure.get(kind))
        rows.append((kind, "True" if bad else "False", bad_reason if bad else ok_reason, bad_msg if bad else ok_msg))
    if not_ready:
        rows.append(("Ready", "False", "KubeletNotReady", not_ready))
    else:
        rows.append(("Ready", "True", "KubeletReady", "kubelet is posting ready status"))
    return [{"type": t, "status": s, "lastHeartbeatTime": hb, "lastTransitionTime": since.get(t, hb),
             "reason": r, "message": m} for t, s, r, m in rows]


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


def kept_transition_times(observed: Mapping[str, Any] | None, desired: list[Obj]) -> dict[str, str]:
    """type -> lastTransitionTime to post, given the Node as the API shows it and the conditions
    about to be posted: a condition whose status the API already has keeps its time; one the API
    shows otherwise (say Ready=Unknown after the lease lapsed) transitions now."""
    seen = _condition_map(observed)
    out = {}
    for c in desired:
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


# --- the real node ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeConfig:
    """What the operator says about the node (the rest is read off the machine)."""

    name: str
    address: str
    kubelet_port: int = KUBELET_PORT
    labels: Mapping[str, str] = field(default_factory=dict)
    zone: str = ""
    region: str = ""
    # Held back from allocatable for the system and the agent itself (kube-reserved + system-reserved).
    reserved_cpu_millis: int = 100
    reserved_memory_bytes: int = 256 * 1024 * 1024
    eviction_memory_bytes: int = 100 * 1024 * 1024  # memory.available<100Mi, upstream's hard default
    max_pods: int = MAX_PODS
    runtime_version: str = ""  # "containerd://1.6.20"


def _mi(n: int) -> str:
    return f"{max(n, 0) // (1024 * 1024)}Mi"


def capacity(m: MachineInfo, cfg: NodeConfig) -> dict[str, str]:
    return {"cpu": str(m.cpus), "memory": f"{m.memory_bytes // 1024}Ki",
            "ephemeral-storage": f"{m.ephemeral_storage_bytes // 1024}Ki", "pods": str(cfg.max_pods),
            "hugepages-2Mi": "0", "hugepages-1Gi": "0"}


def allocatable(m: MachineInfo, cfg: NodeConfig) -> dict[str, str]:
    cpu_millis = max(m.cpus * 1000 - cfg.reserved_cpu_millis, 0)
    cpu = str(cpu_millis // 1000) if cpu_millis % 1000 == 0 else f"{cpu_millis}m"
    memory = m.memory_bytes - cfg.reserved_memory_bytes - cfg.eviction_memory_bytes
    return {"cpu": cpu, "memory": _mi(memory),
            "ephemeral-storage": str(int(m.ephemeral_storage_bytes * 0.9)), "pods": str(cfg.max_pods),
            "hugepages-2Mi": "0", "hugepages-1Gi": "0"}


def node_labels(m: MachineInfo, cfg: NodeConfig) -> dict[str, str]:
    labels = {"kubernetes.io/hostname": cfg.name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": m.architecture, "beta.kubernetes.io/os": "linux",
              "beta.kubernetes.io/arch": m.architecture}
    if cfg.zone:
        labels["topology.kubernetes.io/zone"] = cfg.zone
    if cfg.region:
        labels["topology.kubernetes.io/region"] = cfg.region
    labels.update(cfg.labels)
    return labels


def render_node_status(m: MachineInfo, cfg: NodeConfig, now: float, *, since: Mapping[str, str] | None = None,
                       pressure: Mapping[str, bool] | None = None, not_ready: str = "",
                       images: list[Obj] | None = None) -> Obj:
    status: Obj = {
        "capacity": capacity(m, cfg),
        "allocatable": allocatable(m, cfg),
        "conditions": node_conditions(now, since=since, pressure=pressure, not_ready=not_ready),
        "addresses": [{"type": "InternalIP", "address": cfg.address}, {"type": "Hostname", "address": m.hostname}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.kubelet_port}},
        "nodeInfo": {
            "machineID": m.machine_id, "systemUUID": m.system_uuid, "bootID": m.boot_id,
            "kernelVersion": m.kernel_version, "osImage": m.os_image,
            "containerRuntimeVersion": cfg.runtime_version, "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION, "operatingSystem": "linux", "architecture": m.architecture,
        },
    }
    if images is not None:
        status["images"] = images
    return status


def render_node(m: MachineInfo, cfg: NodeConfig, now: float, **status_kw: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": cfg.name, "labels": node_labels(m, cfg),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                         "volumes.kubernetes.io/controller-managed-attach-detach": "true"}},
            "spec": {}, "status": render_node_status(m, cfg, now, **status_kw)}


def node_images(images: list[tuple[list[str], list[str], int]], limit: int = 50) -> list[Obj]:
    """status.images from (repo tags, repo digests, size) triples, biggest first, as upstream."""
    rows = sorted(images, key=lambda t: -t[2])[:limit]
    return [{"names": [*digests, *tags], "sizeBytes": size} for tags, digests, size in rows if tags or digests]
