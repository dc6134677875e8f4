"""NodeResourcesFit and NodeResourcesBalancedAllocation.

Fit (Filter): the pod's requests (containers, init containers, overhead; see
`framework.resources.pod_requests`) plus what the node's pods already request must stay within the
node's allocatable, for cpu, memory, ephemeral-storage and every extended resource the pod asks
for; and the node must have room for one more pod. Each shortfall is one reason ("Insufficient
cpu", "Too many pods"). Args: ``ignoredResources``, ``ignoredResourceGroups`` (extended resources
not checked), ``scoringStrategy`` ({type: LeastAllocated | MostAllocated |
RequestedToCapacityRatio, resources: [{name, weight}], requestedToCapacityRatio: {shape: [...]}}).

Fit (Score) scores the node after placing the pod with the "non-zero" requests: LeastAllocated
(default) prefers free nodes (spreading), MostAllocated full ones (bin packing),
RequestedToCapacityRatio follows a piecewise-linear shape of utilization (0..100 -> 0..10).

BalancedAllocation (Score) prefers nodes whose cpu and memory fractions stay close:
``(1 - standard deviation of the fractions) * 100``.
"""

from __future__ import annotations

import math
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
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, PreFilterResult
from kybernetes.scheduler.framework.resources import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    Resources,
    is_extended_resource,
    pod_requests,
    resource_list,
)
from kybernetes.scheduler.framework.status import Code, Status, error_status, unschedulable
from kybernetes.scheduler.framework.types import NodeInfo

Obj = dict[str, Any]
FIT_NAME = "NodeResourcesFit"
BALANCED_NAME = "NodeResourcesBalancedAllocation"
_PREFILTER_KEY = "PreFilter" + FIT_NAME
_PRESCORE_KEY = "PreScore" + FIT_NAME
_BALANCED_KEY = "PreScore" + BALANCED_NAME
DEFAULT_RESOURCES: list[Obj] = [{"name": CPU, "weight": 1}, {"name": MEMORY, "weight": 1}]
MAX_CUSTOM_PRIORITY_SCORE = 10
MAX_UTILIZATION = 100


def insufficient_resources(req: Resources, node: NodeInfo, ignored: Callable[[str], bool]) -> list[str]:
    """The reasons the pod with requests `req` does not fit `node` (empty when it fits)."""
    reasons: list[str] = []
    if len(node.pods) + 1 > node.allowed_pod_number:
        reasons.append("Too many pods")
    if not req:
        return reasons
    alloc = node.allocatable
    used = node.requested
    for name in (CPU, MEMORY, EPHEMERAL_STORAGE):
        want = req.get(name, 0)
        if want > 0 and alloc.get(name, 0) < want + used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    for name, want in req.items():
        if name in (CPU, MEMORY, EPHEMERAL_STORAGE) or want <= 0 or ignored(name):
            continue
        if alloc.get(name, 0) < want + used.get(name, 0):
            reasons.append(f"Insufficient {name}")
    return reasons


def _ignore_fn(args: Obj) -> Callable[[str], bool]:
    names = set(args.get("ignoredResources") or [])
    groups = set(args.get("ignoredResourceGroups") or [])

    def ignored(name: str) -> bool:
        if not is_extended_resource(name):
            return False
        return name in names or name.split("/", 1)[0] in groups

    return ignored


def least_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    if capacity == 0:
        return 0
    requested = min(requested, capacity)
    return requested * MAX_NODE_SCORE // capacity


def broken_linear(shape: list[tuple[int, int]]) -> Callable[[int], int]:
    """The piecewise-linear function through (utilization, score) points, flat outside them."""

    def f(p: int) -> int:
        for i, (x, y) in enumerate(shape):
            if p <= x:
                if i == 0:
                    return shape[0][1]
                x0, y0 = shape[i - 1]
                return y0 + (y - y0) * (p - x0) // (x - x0)
        return shape[-1][1]

    return f


Scorer = Callable[[list[int], list[int], list[int]], int]  # requested, allocatable, weights


def _weighted(per_resource: Callable[[int, int], int]) -> Scorer:
    def score(requested: list[int], alloc: list[int], weights: list[int]) -> int:
        total = weight_sum = 0
        for r, a, w in zip(requested, alloc, weights, strict=True):
            if a == 0:
                continue
            total += per_resource(r, a) * w
            weight_sum += w
        return total // weight_sum if weight_sum else 0
    return score


def requested_to_capacity_scorer(shape_args: list[Obj]) -> Scorer:
    shape = sorted((int(p.get("utilization", 0)), int(p.get("score", 0)) * (MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE))
                   for p in shape_args)
    if not shape:
        raise ValueError("requestedToCapacityRatio.shape: Required value")
    raw = broken_linear(shape)

    def per_resource(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return raw(MAX_UTILIZATION)
        return raw(requested * MAX_UTILIZATION // capacity)

    def score(requested: list[int], alloc: list[int], weights: list[int]) -> int:
        total = weight_sum = 0
        for r, a, w in zip(requested, alloc, weights, strict=True):
            if a == 0:
                continue
            s = per_resource(r, a)
            if s > 0:
                total += s * w
                weight_sum += w
        return round(total / weight_sum) if weight_sum else 0

    return score


def scorer_for(strategy: Obj) -> Scorer:
    kind = strategy.get("type") or "LeastAllocated"
    if kind == "LeastAllocated":
        return _weighted(least_requested_score)
    if kind == "MostAllocated":
        return _weighted(most_requested_score)
    if kind == "RequestedToCapacityRatio":
        return requested_to_capacity_scorer((strategy.get("requestedToCapacityRatio") or {}).get("shape") or [])
    raise ValueError(f"scoringStrategy.type: Unsupported value: {kind!r}")


def allocation_vectors(names: list[str], node: NodeInfo, pod_req: Resources, pod_nz: Resources,
                       *, use_requested: bool) -> tuple[list[int], list[int]]:
    """(requested after placing the pod, allocatable) per resource name. cpu/memory use the
    non-zero sums unless `use_requested`; an extended resource the pod does not request counts 0/0
    (left out of the score)."""
    requested: list[int] = []
    alloc: list[int] = []
    for name in names:
        if name in (CPU, MEMORY) and not use_requested:
            requested.append(node.non_zero_requested.get(name, 0) + pod_nz.get(name, 0))
            alloc.append(node.allocatable.get(name, 0))
        elif name in (CPU, MEMORY, EPHEMERAL_STORAGE) or pod_req.get(name, 0) > 0:
            requested.append(node.requested.get(name, 0) + pod_req.get(name, 0))
            alloc.append(node.allocatable.get(name, 0))
        else:
            requested.append(0)
            alloc.append(0)
    return requested, alloc


class Fit:
    name: ClassVar[str] = FIT_NAME

    def __init__(self, args: Obj) -> None:
        self.ignored = _ignore_fn(args)
        strategy = args.get("scoringStrategy") or {}
        resources = strategy.get("resources") or DEFAULT_RESOURCES
        self.resource_names = [str(r["name"]) for r in resources]
        self.weights = [int(r.get("weight") or 1) for r in resources]
        self.scorer = scorer_for(strategy)
        self.strategy = strategy.get("type") or "LeastAllocated"

    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        state.write(_PREFILTER_KEY, pod_requests(pod))
        return None, None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        try:
            req = state.read(_PREFILTER_KEY)
        except KeyError:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        reasons = insufficient_resources(req, node_info, self.ignored)
        return Status(Code.UNSCHEDULABLE, reasons) if reasons else None

    def filter_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> list[Status | None]:
        try:
            req: Resources = state.read(_PREFILTER_KEY)
        except KeyError:
            return [error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')] * len(nodes)
        cpu, mem = req.get(CPU, 0), req.get(MEMORY, 0)
        others = [(k, v) for k, v in req.items() if v > 0 and k not in (CPU, MEMORY) and not self.ignored(k)]
        out: list[Status | None] = []
        append = out.append
        for n in nodes:
            alloc, used = n.allocatable, n.requested
            if (len(n.pods) < alloc.get("pods", 0)
                    and (cpu <= 0 or alloc.get(CPU, 0) >= cpu + used.get(CPU, 0))
                    and (mem <= 0 or alloc.get(MEMORY, 0) >= mem + used.get(MEMORY, 0))
                    and (not others or all(alloc.get(k, 0) >= v + used.get(k, 0) for k, v in others))):
                append(None)
            else:
                reasons = insufficient_resources(req, n, self.ignored)
                append(unschedulable(*reasons) if reasons else None)
        return out

    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        state.write(_PRESCORE_KEY, (pod_requests(pod), pod_requests(pod, non_zero=True)))
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        req, nz = state.get(_PRESCORE_KEY) or (pod_requests(pod), pod_requests(pod, non_zero=True))
        requested, alloc = allocation_vectors(self.resource_names, node_info, req, nz, use_requested=False)
        return self.scorer(requested, alloc, self.weights), None

    def score_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> list[int]:
        _, nz = state.get(_PRESCORE_KEY) or (pod_requests(pod), pod_requests(pod, non_zero=True))
        if self.resource_names == [CPU, MEMORY] and self.weights == [1, 1] and self.strategy != "RequestedToCapacityRatio":
            # The default configuration, inlined: this runs for every feasible node of every pod.
            pc, pm = nz[CPU], nz[MEMORY]
            least = self.strategy == "LeastAllocated"
            out: list[int] = []
            append = out.append
            for n in nodes:
                alloc, used = n.allocatable, n.non_zero_requested
                ac, am = alloc.get(CPU, 0), alloc.get(MEMORY, 0)
                if not (ac and am):
                    append(self.score(state, pod, n)[0])
                    continue
                rc, rm = used[CPU] + pc, used[MEMORY] + pm
                if least:
                    sc = (ac - rc) * MAX_NODE_SCORE // ac if rc <= ac else 0
                    sm = (am - rm) * MAX_NODE_SCORE // am if rm <= am else 0
                else:
                    sc = min(rc, ac) * MAX_NODE_SCORE // ac
                    sm = min(rm, am) * MAX_NODE_SCORE // am
                append((sc + sm) // 2)
            return out
        return [self.score(state, pod, n)[0] for n in nodes]

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [ClusterEventWithHint(ClusterEvent(EventResource.ASSIGNED_POD,
                                                  ActionType.DELETE | ActionType.UPDATE_POD_SCALE_DOWN)),
                ClusterEventWithHint(ClusterEvent(EventResource.NODE,
                                                  ActionType.ADD | ActionType.UPDATE_NODE_ALLOCATABLE),
                                     self._node_hint),
                ClusterEventWithHint(ClusterEvent(EventResource.UNSCHEDULABLE_POD, ActionType.UPDATE_POD_SCALE_DOWN))]

    def _node_hint(self, pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
        """Queue when the (new or grown) node's allocatable could hold the pod at all."""
        if new is None:
            return QueueingHint.QUEUE_SKIP
        status = new.get("status") or {}
        alloc = resource_list(status.get("allocatable") or status.get("capacity"))
        for name, want in pod_requests(pod).items():
            if want > 0 and not self.ignored(name) and alloc.get(name, 0) < want:
                return QueueingHint.QUEUE_SKIP
        return QueueingHint.QUEUE


def balanced_score(requested: list[int], alloc: list[int]) -> int:
    fractions = [min(r / a, 1.0) for r, a in zip(requested, alloc, strict=True) if a]
    if not fractions:
        return 0
    if len(fractions) == 2:
        std = abs(fractions[0] - fractions[1]) / 2
    else:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) ** 2 for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    name: ClassVar[str] = BALANCED_NAME

    def __init__(self, args: Obj) -> None:
        resources = args.get("resources") or DEFAULT_RESOURCES
        self.resource_names = [str(r["name"]) for r in resources]

    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        state.write(_BALANCED_KEY, pod_requests(pod))
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        req = state.get(_BALANCED_KEY)
        if req is None:
            req = pod_requests(pod)
        requested, alloc = allocation_vectors(self.resource_names, node_info, req, {}, use_requested=True)
        return balanced_score(requested, alloc), None

    def score_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> list[int]:
        req = state.get(_BALANCED_KEY)
        if req is None:
            req = pod_requests(pod)
        if self.resource_names != [CPU, MEMORY]:
            return [self.score(state, pod, n)[0] for n in nodes]
        pc, pm = req.get(CPU, 0), req.get(MEMORY, 0)
        out: list[int] = []
        append = out.append
        for n in nodes:
            alloc, used = n.allocatable, n.requested
            ac, am = alloc.get(CPU, 0), alloc.get(MEMORY, 0)
            if ac and am:
                fc = (used.get(CPU, 0) + pc) / ac
                fm = (used.get(MEMORY, 0) + pm) / am
                d = (fc if fc < 1.0 else 1.0) - (fm if fm < 1.0 else 1.0)
                append(int((1 - (d if d >= 0 else -d) / 2) * MAX_NODE_SCORE))
            else:
                append(self.score(state, pod, n)[0])
        return out
