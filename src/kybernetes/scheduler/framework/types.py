"""NodeInfo: one node and what is on it, as the scheduler sees it in a cycle.

Plugins read a NodeInfo; only the cache (and preemption's simulations on clones) change one. It
keeps the sums plugins need so that Filter is cheap: requested resources (plus the "non-zero"
sums used by scoring), host ports in use, the node's parsed allocatable, and image states.

Invariants:
1. ``requested`` / ``non_zero_requested`` / ``used_ports`` equal the sums over ``pods``.
2. ``generation`` grows on every change; the cache copies into a snapshot only nodes whose
   generation is newer than the snapshot's.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.scheduler.framework.resources import (
    CPU,
    MEMORY,
    PODS,
    Resources,
    pod_requests,
    quantity_value,
    resource_list,
)

Obj = dict[str, Any]
_generation = itertools.count(1)


def next_generation() -> int:
    return next(_generation)


def pod_key(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def pod_uid(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("uid") or pod_key(pod))


HostPort = tuple[str, str, int]  # (hostIP, protocol, hostPort)


def pod_host_ports(pod: Mapping[str, Any]) -> list[HostPort]:
    """The (ip, protocol, port) triples a pod asks for; hostIP defaults to 0.0.0.0, protocol to TCP."""
    out: list[HostPort] = []
    spec = pod.get("spec") or {}
    for c in itertools.chain(spec.get("containers") or (), spec.get("initContainers") or ()):
        for p in c.get("ports") or ():
            hp = p.get("hostPort")
            if hp:
                out.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(hp)))
    return out


def _has_affinity(pod: Mapping[str, Any], kind: str) -> bool:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return bool(aff.get("requiredDuringSchedulingIgnoredDuringExecution")
                or aff.get("preferredDuringSchedulingIgnoredDuringExecution"))


def _has_required_anti_affinity(pod: Mapping[str, Any]) -> bool:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get("podAntiAffinity") or {}
    return bool(aff.get("requiredDuringSchedulingIgnoredDuringExecution"))


@dataclass(slots=True)
class PodInfo:
    """A pod with what the scheduler derives from it once (not per node, not per cycle)."""

    pod: Obj
    key: str
    requests: Resources
    non_zero: Resources
    host_ports: list[HostPort]
    has_affinity: bool  # pod (anti-)affinity terms: InterPodAffinity looks at these pods
    has_required_anti_affinity: bool

    @classmethod
    def of(cls, pod: Obj) -> PodInfo:
        return cls(pod, pod_key(pod), pod_requests(pod), pod_requests(pod, non_zero=True), pod_host_ports(pod),
                   _has_affinity(pod, "podAffinity") or _has_affinity(pod, "podAntiAffinity"),
                   _has_required_anti_affinity(pod))


@dataclass(slots=True)
class ImageState:
    size: int  # bytes
    num_nodes: int  # how many nodes in the cluster have it


def normalized_image_name(name: str) -> str:
    """``nginx`` -> ``nginx:latest``: a name without tag or digest means the latest tag."""
    if "@" in name or ":" in name.rsplit("/", 1)[-1]:
        return name
    return name + ":latest"


@dataclass(slots=True)
class NodeInfo:
    node: Obj | None = None  # None for a node the cache knows only from pods bound to it
    pods: list[PodInfo] = field(default_factory=list)
    requested: Resources = field(default_factory=dict)
    non_zero_requested: Resources = field(default_factory=lambda: {CPU: 0, MEMORY: 0})
    allocatable: Resources = field(default_factory=dict)
    used_ports: dict[HostPort, int] = field(default_factory=dict)  # -> how many pods use it
    image_states: dict[str, ImageState] = field(default_factory=dict)
    pods_with_affinity: list[PodInfo] = field(default_factory=list)
    pods_with_required_anti_affinity: list[PodInfo] = field(default_factory=list)
    generation: int = 0
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Obj] = field(default_factory=list)
    unschedulable: bool = False

    # --- node ---------------------------------------------------------------------------------------
    def set_node(self, node: Obj) -> None:
        self.node = node
        meta = node.get("metadata") or {}
        spec = node.get("spec") or {}
        status = node.get("status") or {}
        self.name = str(meta.get("name") or "")
        self.labels = dict(meta.get("labels") or {})
        self.taints = list(spec.get("taints") or [])
        self.unschedulable = bool(spec.get("unschedulable"))
        alloc = status.get("allocatable")
        if alloc is None:
            alloc = status.get("capacity")
        self.allocatable = resource_list(alloc)
        self.generation = next_generation()

    @property
    def allowed_pod_number(self) -> int:
        return self.allocatable.get(PODS, 0)

    # --- pods ---------------------------------------------------------------------------------------
    def add_pod_info(self, pi: PodInfo) -> None:
        self.pods.append(pi)
        req = self.requested
        for k, v in pi.requests.items():
            req[k] = req.get(k, 0) + v
        nz = self.non_zero_requested
        nz[CPU] += pi.non_zero[CPU]
        nz[MEMORY] += pi.non_zero[MEMORY]
        for hp in pi.host_ports:
            self.used_ports[hp] = self.used_ports.get(hp, 0) + 1
        if pi.has_affinity:
            self.pods_with_affinity.append(pi)
        if pi.has_required_anti_affinity:
            self.pods_with_required_anti_affinity.append(pi)
        self.generation = next_generation()

    def add_pod(self, pod: Obj) -> PodInfo:
        pi = PodInfo.of(pod)
        self.add_pod_info(pi)
        return pi

    def remove_pod(self, key: str) -> PodInfo | None:
        """Remove the pod with this ``namespace/name`` key; the removed PodInfo (None if absent)."""
        i = next((j for j, p in enumerate(self.pods) if p.key == key), -1)
        if i < 0:
            return None
        pi = self.pods.pop(i)
        for k, v in pi.requests.items():
            self.requested[k] = self.requested.get(k, 0) - v
        self.non_zero_requested[CPU] -= pi.non_zero[CPU]
        self.non_zero_requested[MEMORY] -= pi.non_zero[MEMORY]
        for hp in pi.host_ports:
            n = self.used_ports.get(hp, 0) - 1
            if n > 0:
                self.used_ports[hp] = n
            else:
                self.used_ports.pop(hp, None)
        if pi in self.pods_with_affinity:
            self.pods_with_affinity.remove(pi)
        if pi in self.pods_with_required_anti_affinity:
            self.pods_with_required_anti_affinity.remove(pi)
        self.generation = next_generation()
        return pi

    def clone(self) -> NodeInfo:
        """A copy whose pod list and sums can change without touching this one (PodInfos and the
        node object are shared: nobody mutates those)."""
        return NodeInfo(self.node, list(self.pods), dict(self.requested), dict(self.non_zero_requested),
                        self.allocatable, dict(self.used_ports), self.image_states, list(self.pods_with_affinity),
                        list(self.pods_with_required_anti_affinity), self.generation, self.name, self.labels,
                        self.taints, self.unschedulable)


def node_images(node: Mapping[str, Any]) -> dict[str, int]:
    """Normalized image name -> size in bytes, from node.status.images."""
    out: dict[str, int] = {}
    for img in (node.get("status") or {}).get("images") or ():
        size = int(img.get("sizeBytes") or 0)
        for name in img.get("names") or ():
            out[normalized_image_name(name)] = size
    return out


def quantity(name: str, value: Any) -> int:
    return quantity_value(name, value)
