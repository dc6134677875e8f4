"""Builders for pods and nodes as API dicts, and a pure framework for the default profile."""

from __future__ import annotations

from typing import Any

from kybernetes.scheduler.config import Profile
from kybernetes.scheduler.framework import CycleState, Framework, NodeInfo, Snapshot
from kybernetes.scheduler.plugins import in_tree_registry

Obj = dict[str, Any]


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110", labels: dict[str, str] | None = None,
              taints: list[Obj] | None = None, unschedulable: bool = False, extra: dict[str, str] | None = None,
              images: list[Obj] | None = None) -> Obj:
    alloc = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    node: Obj = {"apiVersion": "v1", "kind": "Node",
                 "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
                 "spec": {}, "status": {"capacity": dict(alloc), "allocatable": alloc,
                                        "conditions": [{"type": "Ready", "status": "True"}]}}
    if taints:
        node["spec"]["taints"] = taints
    if unschedulable:
        node["spec"]["unschedulable"] = True
    if images:
        node["status"]["images"] = images
    return node


def make_pod(name: str, *, cpu: str = "", memory: str = "", ns: str = "default", node: str = "",
             selector: dict[str, str] | None = None, affinity: Obj | None = None, tolerations: list[Obj] | None = None,
             ports: list[Obj] | None = None, extra: dict[str, str] | None = None, init: list[Obj] | None = None,
             overhead: dict[str, str] | None = None, scheduler: str = "", priority: int | None = None,
             image: str = "busybox") -> Obj:
    req: dict[str, str] = {**(extra or {})}
    if cpu:
        req["cpu"] = cpu
    if memory:
        req["memory"] = memory
    c: Obj = {"name": "c", "image": image, "resources": {"requests": req} if req else {}}
    if ports:
        c["ports"] = ports
    spec: Obj = {"containers": [c]}
    for k, v in (("nodeName", node), ("nodeSelector", selector), ("affinity", affinity),
                 ("tolerations", tolerations), ("initContainers", init), ("overhead", overhead),
                 ("schedulerName", scheduler), ("priority", priority)):
        if v:
            spec[k] = v
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
            "spec": spec}


def node_info(node: Obj, *pods: Obj) -> NodeInfo:
    ni = NodeInfo()
    ni.set_node(node)
    for p in pods:
        ni.add_pod(p)
    return ni


def framework(profile: Profile | None = None, snapshot: Snapshot | None = None) -> Framework:
    snap = snapshot or Snapshot()
    return Framework.build(in_tree_registry(), profile or Profile(), snapshot=lambda: snap)


def run_filters(fw: Framework, pod: Obj, ni: NodeInfo) -> tuple[str, list[str]]:
    """(plugin, reasons) of the first Filter rejection, ("", []) when the node fits."""
    state = CycleState()
    _, st = fw.run_pre_filter_plugins(state, pod, [ni])
    if st is not None and not st.is_success():
        return st.plugin, st.reasons
    st = fw.run_filter_plugins(state, pod, ni)
    return ("", []) if st is None else (st.plugin, st.reasons)
