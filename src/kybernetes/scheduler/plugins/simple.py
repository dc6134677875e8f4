"""Small default plugins: PrioritySort, SchedulingGates, NodeUnschedulable, NodeName, NodePorts,
DefaultBinder. Reasons and codes are upstream's texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from kybernetes.api.resources import lookup
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
)
from kybernetes.scheduler.framework.interface import PreFilterResult, QueuedPodInfo, pod_priority
from kybernetes.scheduler.framework.status import (
    SKIP,
    Code,
    Status,
    error_status,
    unresolvable,
    unschedulable,
)
from kybernetes.scheduler.framework.types import HostPort, NodeInfo, pod_host_ports
from kybernetes.scheduler.plugins.helpers import tolerated

Obj = dict[str, Any]

ERR_UNSCHEDULABLE = "node(s) were unschedulable"
ERR_NODE_NAME = "node(s) didn't match the requested node name"
ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports"
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class PrioritySort:
    """Higher spec.priority first; equal priorities in the order they were queued."""

    name: ClassVar[str] = "PrioritySort"

    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        pa, pb = pod_priority(a.pod), pod_priority(b.pod)
        return pa > pb or (pa == pb and a.timestamp < b.timestamp)


class SchedulingGates:
    """Pods with spec.schedulingGates are not scheduled until every gate is removed."""

    name: ClassVar[str] = "SchedulingGates"

    def pre_enqueue(self, pod: Obj) -> Status | None:
        gates = (pod.get("spec") or {}).get("schedulingGates") or []
        if not gates:
            return None
        names = " ".join(str(g.get("name", "")) for g in gates)
        return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, [f"waiting for scheduling gates: [{names}]"])

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.UNSCHEDULABLE_POD,
                                                  ActionType.UPDATE_POD_SCHEDULING_GATES_ELIMINATED))]


class NodeUnschedulable:
    """Nodes with spec.unschedulable (cordoned) take only pods tolerating that taint."""

    name: ClassVar[str] = "NodeUnschedulable"

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        if not node_info.unschedulable:
            return None
        if tolerated((pod.get("spec") or {}).get("tolerations") or [], UNSCHEDULABLE_TAINT):
            return None
        return unresolvable(ERR_UNSCHEDULABLE)

    def filter_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> list[Status | None]:
        return [None if not n.unschedulable else self.filter(state, pod, n) for n in nodes]

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT),
                                     _node_schedulable_hint),
                ClusterEventWithHint(ClusterEvent(EventResource.UNSCHEDULABLE_POD, ActionType.UPDATE_POD_TOLERATIONS))]


def _node_schedulable_hint(pod: Obj, old: Obj | None, new: Obj | None) -> Any:
    from kybernetes.scheduler.framework.events import QueueingHint
    if new is None:
        return QueueingHint.QUEUE_SKIP
    now_ok = not (new.get("spec") or {}).get("unschedulable")
    was_ok = old is not None and not (old.get("spec") or {}).get("unschedulable")
    return QueueingHint.QUEUE if now_ok and not was_ok else QueueingHint.QUEUE_SKIP


class NodeName:
    """A pod with spec.nodeName fits only that node."""

    name: ClassVar[str] = "NodeName"

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        want = (pod.get("spec") or {}).get("nodeName")
        if not want or want == node_info.name:
            return None
        return unresolvable(ERR_NODE_NAME)

    def filter_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> list[Status | None]:
        if not (pod.get("spec") or {}).get("nodeName"):
            return [None] * len(nodes)
        return [self.filter(state, pod, n) for n in nodes]

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE))]


_PORTS_KEY = "PreFilterNodePorts"


def ports_conflict(want: Sequence[HostPort], used: dict[HostPort, int]) -> bool:
    """A wanted (ip, protocol, port) conflicts with a used one of the same protocol and port when
    either side binds 0.0.0.0 or both bind the same IP."""
    for ip, proto, port in want:
        for uip, uproto, uport in used:
            if uport == port and uproto == proto and (ip == uip or ip == "0.0.0.0" or uip == "0.0.0.0"):
                return True
    return False


class NodePorts:
    """Host ports a pod asks for must be free on the node."""

    name: ClassVar[str] = "NodePorts"

    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        ports = pod_host_ports(pod)
        if not ports:
            return None, SKIP
        state.write(_PORTS_KEY, ports)
        return None, None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        try:
            want = state.read(_PORTS_KEY)
        except KeyError:
            return error_status(f'reading "{_PORTS_KEY}" from cycleState: not found')
        if node_info.used_ports and ports_conflict(want, node_info.used_ports):
            return unschedulable(ERR_NODE_PORTS)
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE)),
                ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE))]


PODS = lookup("", "v1", "pods")


class DefaultBinder:
    """Binds through POST pods/<name>/binding, as upstream's DefaultBinder."""

    name: ClassVar[str] = "DefaultBinder"

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    async def bind(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        meta = pod.get("metadata") or {}
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace"), "uid": meta.get("uid")},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        try:
            await self.handle.client.create_subresource(PODS, meta.get("name"), "binding", body,
                                                        namespace=meta.get("namespace") or "")
        except Exception as e:  # API errors, connection errors: the binding cycle reports them
            return error_status(e)
        return None
