"""NodeAffinity: the pod's nodeSelector and required node affinity must match the node (Filter);
preferred terms add their weights (Score, normalized to 0..100). Args ``addedAffinity`` (a
NodeAffinity every pod of the profile must also satisfy) as upstream's NodeAffinityArgs.

When the required terms name nodes only through ``matchFields metadata.name In``, PreFilter narrows
the candidates to those nodes, as upstream does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, NodeScore, PreFilterResult
from kybernetes.scheduler.framework.status import SKIP, Status, error_status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.plugins.helpers import (
    Labels,
    default_normalize_score,
    node_selector_matches,
    required_node_affinity,
    term_matches,
)

Obj = dict[str, Any]
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
_PREFILTER_KEY = "PreFilterNodeAffinity"
_PRESCORE_KEY = "PreScoreNodeAffinity"
Matcher = Callable[[Labels, str], bool]


def _node_affinity(pod: Obj) -> Obj:
    return ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}


def _names_only(required: Obj | None) -> set[str] | None:
    """Node names when every term is just ``matchFields: metadata.name In [...]``."""
    if not required:
        return None
    names: set[str] = set()
    for term in required.get("nodeSelectorTerms") or []:
        fields = term.get("matchFields") or []
        if term.get("matchExpressions") or len(fields) != 1:
            return None
        f = fields[0]
        if f.get("key") != "metadata.name" or f.get("operator") != "In":
            return None
        names.update(f.get("values") or [])
    return names


class NodeAffinity:
    name: ClassVar[str] = "NodeAffinity"

    def __init__(self, args: Obj) -> None:
        added = args.get("addedAffinity") or {}
        self.added_required: Obj | None = added.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.added_preferred: list[Obj] = added.get("preferredDuringSchedulingIgnoredDuringExecution") or []

    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        matcher = required_node_affinity(pod)
        if matcher is None and self.added_required is None:
            return None, SKIP
        state.write(_PREFILTER_KEY, matcher)
        required = _node_affinity(pod).get("requiredDuringSchedulingIgnoredDuringExecution")
        names = _names_only(required)
        if names is not None:
            return PreFilterResult(names), None
        return None, None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        if self.added_required is not None and not node_selector_matches(
                self.added_required, node_info.labels, node_info.name):
            return unresolvable(ERR_REASON_ENFORCED)
        try:
            matcher: Matcher | None = state.read(_PREFILTER_KEY)
        except KeyError:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        if matcher is not None and not matcher(node_info.labels, node_info.name):
            return unresolvable(ERR_REASON_POD)
        return None

    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        preferred = list(_node_affinity(pod).get("preferredDuringSchedulingIgnoredDuringExecution") or [])
        preferred += self.added_preferred
        preferred = [p for p in preferred if p.get("weight")]
        if not preferred:
            return SKIP
        state.write(_PRESCORE_KEY, preferred)
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        preferred: list[Obj] = state.get(_PRESCORE_KEY) or []
        total = 0
        for p in preferred:
            if term_matches(p.get("preference") or {}, node_info.labels, node_info.name):
                total += int(p.get("weight") or 0)
        return total, None

    def normalize_score(self, state: CycleState, pod: Obj, scores: list[NodeScore]) -> Status | None:
        default_normalize_score(MAX_NODE_SCORE, False, scores)
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL),
                                     self._node_hint),
                ClusterEventWithHint(ClusterEvent(EventResource.UNSCHEDULABLE_POD, ActionType.UPDATE))]

    def _node_hint(self, pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
        """Queue when the new node matches the pod's requirements and the old one did not."""
        if new is None:
            return QueueingHint.QUEUE_SKIP
        matcher = required_node_affinity(pod)

        def ok(node: Obj) -> bool:
            meta = node.get("metadata") or {}
            labels, name = meta.get("labels") or {}, meta.get("name") or ""
            if self.added_required is not None and not node_selector_matches(self.added_required, labels, name):
                return False
            return matcher is None or matcher(labels, name)

        if not ok(new) or (old is not None and ok(old)):
            return QueueingHint.QUEUE_SKIP
        return QueueingHint.QUEUE
