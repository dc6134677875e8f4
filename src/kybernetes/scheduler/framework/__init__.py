"""The scheduling framework: what a plugin is and how a profile runs its plugins.

Plugin authors import from here::

    from kybernetes.scheduler.framework import (CycleState, Status, Code, NodeInfo, Framework,
        unschedulable, MAX_NODE_SCORE, ClusterEvent, ClusterEventWithHint, ActionType, EventResource)

See `interface` for the extension points and their conventions, `registry` for registering
plugins, `runtime` for the order in which they run.
"""

from __future__ import annotations

from kybernetes.scheduler.framework.cycle_state import CycleState, StateData
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
    QueueingHint,
    node_update_actions,
    pod_update_actions,
)
from kybernetes.scheduler.framework.interface import (
    MAX_NODE_SCORE,
    MIN_NODE_SCORE,
    NodeScore,
    NodeToStatus,
    PostFilterResult,
    PreFilterResult,
    QueuedPodInfo,
    pod_priority,
)
from kybernetes.scheduler.framework.registry import PluginFactory, Registry
from kybernetes.scheduler.framework.runtime import Framework, WaitingPod
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import (
    SKIP,
    Code,
    Status,
    error_status,
    is_success,
    new_status,
    unresolvable,
    unschedulable,
)
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo, normalized_image_name, pod_key

__all__ = [
    "MAX_NODE_SCORE", "MIN_NODE_SCORE", "SKIP", "ActionType", "ClusterEvent", "ClusterEventWithHint", "Code",
    "CycleState", "EventResource", "Framework", "NodeInfo", "NodeScore", "NodeToStatus", "PluginFactory", "PodInfo",
    "PostFilterResult", "PreFilterResult", "QueuedPodInfo", "QueueingHint", "Registry", "Snapshot", "StateData",
    "Status", "WaitingPod", "error_status", "is_success", "new_status", "node_update_actions", "normalized_image_name",
    "pod_key", "pod_priority", "pod_update_actions", "unresolvable", "unschedulable",
]
