"""TaintToleration: nodes' NoSchedule/NoExecute taints must be tolerated (Filter); fewer
untolerated PreferNoSchedule taints score higher (Score, reversed normalization)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, NodeScore
from kybernetes.scheduler.framework.status import SKIP, Status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.plugins.helpers import default_normalize_score, first_untolerated_taint, tolerated

Obj = dict[str, Any]
_PRESCORE_KEY = "PreScoreTaintToleration"


def untolerated_taint_reason(taint: Mapping[str, Any]) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"


def _tolerations(pod: Obj) -> list[Obj]:
    return (pod.get("spec") or {}).get("tolerations") or []


class TaintToleration:
    name: ClassVar[str] = "TaintToleration"

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        if not node_info.taints:
            return None
        taint = first_untolerated_taint(node_info.taints, _tolerations(pod))
        return None if taint is None else unresolvable(untolerated_taint_reason(taint))

    def filter_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> list[Status | None]:
        f = self.filter
        return [None if not n.taints else f(state, pod, n) for n in nodes]

    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        if not any(n.taints for n in nodes):
            return SKIP
        state.write(_PRESCORE_KEY, [t for t in _tolerations(pod) if (t.get("effect") or "PreferNoSchedule")
                                    == "PreferNoSchedule"])
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        tols = state.get(_PRESCORE_KEY) or []
        return sum(1 for t in node_info.taints if t.get("effect") == "PreferNoSchedule"
                   and not tolerated(tols, t)), None

    def normalize_score(self, state: CycleState, pod: Obj, scores: list[NodeScore]) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, True, scores)
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_TAINT),
                                     _node_hint),
                ClusterEventWithHint(ClusterEvent(EventResource.UNSCHEDULABLE_POD, ActionType.UPDATE_POD_TOLERATIONS))]


def _node_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    """Queue when the new node's taints are all tolerated and the old one's were not."""
    if new is None:
        return QueueingHint.QUEUE_SKIP
    tols = _tolerations(pod)
    if first_untolerated_taint((new.get("spec") or {}).get("taints") or [], tols) is not None:
        return QueueingHint.QUEUE_SKIP
    if old is not None and first_untolerated_taint((old.get("spec") or {}).get("taints") or [], tols) is None:
        return QueueingHint.QUEUE_SKIP
    return QueueingHint.QUEUE
