"""Cluster events that may make an unschedulable pod schedulable (EnqueueExtensions).

A pod rejected by plugins waits in the unschedulable pool until an event that one of those plugins
registered happens (a node was added, a node's taints changed, an assigned pod was deleted, ...).
A plugin may attach a queueing hint: a pure function of (pod, old, new) that says whether this
particular event can help this pod (QUEUE) or not (QUEUE_SKIP), so that e.g. a node label change
that does not concern the pod's selector leaves it where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum, IntFlag
from typing import Any

Obj = dict[str, Any]


class ActionType(IntFlag):
    ADD = 1
    DELETE = 2
    UPDATE_NODE_ALLOCATABLE = 4
    UPDATE_NODE_LABEL = 8
    UPDATE_NODE_TAINT = 16
    UPDATE_NODE_CONDITION = 32
    UPDATE_NODE_ANNOTATION = 64
    UPDATE_POD_LABEL = 128
    UPDATE_POD_SCALE_DOWN = 256
    UPDATE_POD_TOLERATIONS = 512
    UPDATE_POD_SCHEDULING_GATES_ELIMINATED = 1024
    UPDATE_POD_GENERATED_RESOURCE_CLAIM = 2048
    UPDATE = (UPDATE_NODE_ALLOCATABLE | UPDATE_NODE_LABEL | UPDATE_NODE_TAINT | UPDATE_NODE_CONDITION
              | UPDATE_NODE_ANNOTATION | UPDATE_POD_LABEL | UPDATE_POD_SCALE_DOWN | UPDATE_POD_TOLERATIONS
              | UPDATE_POD_SCHEDULING_GATES_ELIMINATED | UPDATE_POD_GENERATED_RESOURCE_CLAIM)
    ALL = ADD | DELETE | UPDATE


class EventResource:
    """Resource names of cluster events (strings, so plugins may use others, e.g. CRDs)."""

    POD = "Pod"  # any pod; for the queue: pods other than the one waiting (assigned ones)
    ASSIGNED_POD = "AssignedPod"
    UNSCHEDULABLE_POD = "UnschedulablePod"  # the waiting pod itself was updated
    NODE = "Node"
    PERSISTENT_VOLUME = "PersistentVolume"
    PERSISTENT_VOLUME_CLAIM = "PersistentVolumeClaim"
    STORAGE_CLASS = "storage.k8s.io/StorageClass"
    CSI_NODE = "storage.k8s.io/CSINode"
    WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    resource: str
    action: ActionType
    label: str = ""

    def matches(self, incoming: ClusterEvent) -> bool:
        """A registered event matches an incoming one on the same resource (or the wildcard) when
        they share an action bit. Pod events registered as "Pod" cover assigned pods too."""
        if self.resource == EventResource.WILDCARD:
            return True
        same = self.resource == incoming.resource or (
            self.resource == EventResource.POD and incoming.resource == EventResource.ASSIGNED_POD)
        return same and bool(self.action & incoming.action)


class QueueingHint(IntEnum):
    QUEUE_SKIP = 0
    QUEUE = 1


QueueingHintFn = Callable[[Obj, Obj | None, Obj | None], QueueingHint]


@dataclass(frozen=True, slots=True)
class ClusterEventWithHint:
    event: ClusterEvent
    hint: QueueingHintFn | None = None  # None: every matching event queues the pod


# Events the queue itself raises.
NODE_ADD = ClusterEvent(EventResource.NODE, ActionType.ADD, "NodeAdd")
ASSIGNED_POD_ADD = ClusterEvent(EventResource.ASSIGNED_POD, ActionType.ADD, "AssignedPodAdd")
ASSIGNED_POD_DELETE = ClusterEvent(EventResource.ASSIGNED_POD, ActionType.DELETE, "AssignedPodDelete")
UNSCHEDULABLE_TIMEOUT = ClusterEvent(EventResource.WILDCARD, ActionType.ALL, "UnschedulableTimeout")
FORCE_ACTIVATE = ClusterEvent(EventResource.WILDCARD, ActionType.ALL, "ForceActivate")


def _conditions(node: Mapping[str, Any]) -> dict[str, str]:
    return {c.get("type", ""): c.get("status", "") for c in (node.get("status") or {}).get("conditions") or ()}


def node_update_actions(old: Mapping[str, Any], new: Mapping[str, Any]) -> ActionType:
    """Which kinds of change an update of a Node is (0 when none that scheduling cares about)."""
    o_meta, n_meta = old.get("metadata") or {}, new.get("metadata") or {}
    o_spec, n_spec = old.get("spec") or {}, new.get("spec") or {}
    o_st, n_st = old.get("status") or {}, new.get("status") or {}
    out = ActionType(0)
    if o_st.get("allocatable") != n_st.get("allocatable"):
        out |= ActionType.UPDATE_NODE_ALLOCATABLE
    if o_meta.get("labels") != n_meta.get("labels"):
        out |= ActionType.UPDATE_NODE_LABEL
    if o_spec.get("taints") != n_spec.get("taints") or bool(o_spec.get("unschedulable")) != bool(
            n_spec.get("unschedulable")):
        out |= ActionType.UPDATE_NODE_TAINT
    if _conditions(old) != _conditions(new):
        out |= ActionType.UPDATE_NODE_CONDITION
    if o_meta.get("annotations") != n_meta.get("annotations"):
        out |= ActionType.UPDATE_NODE_ANNOTATION
    return out


def _requests(pod: Mapping[str, Any]) -> list[Any]:
    return [(c.get("resources") or {}).get("requests") for c in (pod.get("spec") or {}).get("containers") or ()]


def pod_update_actions(old: Mapping[str, Any], new: Mapping[str, Any]) -> ActionType:
    """Which kinds of change an update of a Pod is."""
    out = ActionType(0)
    if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
        out |= ActionType.UPDATE_POD_LABEL
    o_spec, n_spec = old.get("spec") or {}, new.get("spec") or {}
    if o_spec.get("tolerations") != n_spec.get("tolerations"):
        out |= ActionType.UPDATE_POD_TOLERATIONS
    if o_spec.get("schedulingGates") and not n_spec.get("schedulingGates"):
        out |= ActionType.UPDATE_POD_SCHEDULING_GATES_ELIMINATED
    if _requests(old) != _requests(new):
        out |= ActionType.UPDATE_POD_SCALE_DOWN
    return out
