"""One scheduling attempt over a snapshot: PreFilter, Filter (until enough feasible nodes are
found), PreScore, Score, select the host. Pure: no I/O, no awaits, so the snapshot cannot change
under it. Failures come back as a `FitError` whose message is upstream's:

    0/5 nodes are available: 2 Insufficient cpu, 3 node(s) didn't match Pod's node affinity/selector.

(reasons counted over nodes, "<count> <reason>" strings sorted as strings; a PostFilter's message,
e.g. preemption's, is appended as " <message>.").

percentageOfNodesToScore: with fewer than 100 nodes all are evaluated; else (unless configured)
``50 - nodes/125`` percent, at least 5%, and never fewer than 100 nodes. The filter walk starts
where the previous one stopped (round robin), so all nodes get their turn.

Preemption's traces, as upstream: a pod with ``status.nominatedNodeName`` tries that node first
(alone) and takes it if it passes; and on every node, pending pods nominated there with priority >=
the pod's count as present (``preemption.nominator``). HTTP extenders (`extender`) filter the
feasible nodes after the plugins and add their weighted scores (`schedule_pod_with_extenders`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from kybernetes.scheduler.extender import ExtenderError, filter_with_extenders, prioritize_with_extenders
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import NodeToStatus
from kybernetes.scheduler.framework.runtime import Framework
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status, error_status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.preemption.nominator import PodNominator, run_filter_plugins_with_nominated_pods

Obj = dict[str, Any]
MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5
NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"


def num_feasible_nodes_to_find(percentage: int, num_all_nodes: int) -> int:
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    n = num_all_nodes * percentage // 100
    return max(n, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass(slots=True)
class Diagnosis:
    node_to_status: NodeToStatus = field(default_factory=dict)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pending_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""
    nominated: bool = False  # the pod's nominated node passed on its own (no other node was tried)


class FitError(Exception):
    """No node fits the pod (Unschedulable), with what each node said."""

    def __init__(self, pod: Obj, num_all_nodes: int, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.pod = pod
        self.num_all_nodes = num_all_nodes
        self.diagnosis = diagnosis

    def __str__(self) -> str:
        return fit_error_message(self.num_all_nodes, self.diagnosis)


def fit_error_message(num_all_nodes: int, d: Diagnosis) -> str:
    msg = NO_NODE_AVAILABLE_MSG.format(num_all_nodes) + ":"
    if d.pre_filter_msg:
        msg += f" {d.pre_filter_msg}."
    else:
        counts: dict[str, int] = {}
        for st in d.node_to_status.values():
            for r in st.reasons:
                counts[r] = counts.get(r, 0) + 1
        parts = sorted(f"{n} {r}" for r, n in counts.items())
        if parts:
            msg += f" {', '.join(parts)}."
    if d.post_filter_msg:
        msg += f" {d.post_filter_msg}."
    return msg


@dataclass(slots=True)
class ScheduleResult:
    suggested_host: str
    evaluated_nodes: int
    feasible_nodes: int


class Algorithm:
    """Keeps the round-robin position across attempts; everything else is per call."""

    def __init__(self, *, rng: random.Random | None = None, nominator: PodNominator | None = None) -> None:
        self.next_start_node_index = 0
        self.rng = rng or random.Random()
        self.nominator = nominator

    def schedule_pod(self, fw: Framework, state: CycleState, pod: Obj, snapshot: Snapshot) -> ScheduleResult:
        """The chosen node, or raises FitError (no node fits) / SchedulingError (a plugin erred)."""
        all_nodes = snapshot.node_info_list
        if not all_nodes:
            raise FitError(pod, 0, Diagnosis())
        feasible, diagnosis = self.find_nodes_that_fit(fw, state, pod, snapshot)
        if not feasible:
            raise FitError(pod, len(all_nodes), diagnosis)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, 1 + len(diagnosis.node_to_status), 1)
        totals = self._score(fw, state, pod, feasible)
        return ScheduleResult(self.select_host(feasible, totals), len(feasible) + len(diagnosis.node_to_status),
                              len(feasible))

    def _score(self, fw: Framework, state: CycleState, pod: Obj, feasible: list[NodeInfo]) -> list[int]:
        st = fw.run_pre_score_plugins(state, pod, feasible)
        if st is not None and st.code != Code.SUCCESS:
            raise SchedulingError(st)
        totals, st = fw.run_score_plugins(state, pod, feasible)
        if st is not None and st.code != Code.SUCCESS:
            raise SchedulingError(st)
        return totals

    async def schedule_pod_with_extenders(self, fw: Framework, state: CycleState, pod: Obj, snapshot: Snapshot,
                                          extenders: list[Any]) -> ScheduleResult:
        """`schedule_pod`, with the HTTP extenders interested in the pod filtering the nodes the
        plugins passed and adding ``score * weight * (MaxNodeScore / MaxExtenderPriority)``."""
        interested = [e for e in extenders if e.is_interested(pod)]
        if not interested:
            return self.schedule_pod(fw, state, pod, snapshot)
        all_nodes = snapshot.node_info_list
        if not all_nodes:
            raise FitError(pod, 0, Diagnosis())
        feasible, diagnosis = self.find_nodes_that_fit(fw, state, pod, snapshot)
        try:
            if feasible:
                passed = await filter_with_extenders(interested, pod, feasible, diagnosis.node_to_status)
                if not passed and diagnosis.nominated:
                    # The nominated node passed the plugins but not an extender: look at all nodes.
                    feasible, diagnosis = self.find_nodes_that_fit(fw, state, pod, snapshot, nominated_first=False)
                    passed = await filter_with_extenders(interested, pod, feasible, diagnosis.node_to_status)
                feasible = passed
        except ExtenderError as e:
            raise SchedulingError(error_status(str(e))) from e
        if not feasible:
            raise FitError(pod, len(all_nodes), diagnosis)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, 1 + len(diagnosis.node_to_status), 1)
        totals = self._score(fw, state, pod, feasible)
        extra = await prioritize_with_extenders(interested, pod, feasible)
        totals = [t + extra.get(n.name, 0) for n, t in zip(feasible, totals, strict=True)]
        return ScheduleResult(self.select_host(feasible, totals), len(feasible) + len(diagnosis.node_to_status),
                              len(feasible))

    def select_host(self, nodes: list[NodeInfo], totals: list[int]) -> str:
        """The highest total; ties broken uniformly at random (as upstream's reservoir sampling)."""
        best = max(totals)
        ties = [n.name for n, s in zip(nodes, totals, strict=True) if s == best]
        return ties[0] if len(ties) == 1 else self.rng.choice(ties)

    def find_nodes_that_fit(self, fw: Framework, state: CycleState, pod: Obj,
                            snapshot: Snapshot, *, nominated_first: bool = True) -> tuple[list[NodeInfo], Diagnosis]:
        diagnosis = Diagnosis()
        all_nodes = snapshot.node_info_list
        result, st = fw.run_pre_filter_plugins(state, pod, all_nodes)
        if st is not None and st.code != Code.SUCCESS:
            if not st.is_rejected():
                raise SchedulingError(st)
            for n in all_nodes:
                diagnosis.node_to_status[n.name] = st
            diagnosis.pre_filter_msg = st.message()
            if st.plugin:
                diagnosis.unschedulable_plugins.add(st.plugin)
            return [], diagnosis
        nominated = str((pod.get("status") or {}).get("nominatedNodeName") or "") if nominated_first else ""
        if nominated:
            ni = snapshot.get(nominated)
            allowed = result is None or result.node_names is None or nominated in result.node_names
            if ni is not None and allowed:
                st = run_filter_plugins_with_nominated_pods(fw, self.nominator, state, pod, ni)
                if st is None or st.code == Code.SUCCESS:
                    diagnosis.nominated = True
                    return [ni], diagnosis
                if st.code == Code.ERROR:
                    raise SchedulingError(st)
                diagnosis.node_to_status[ni.name] = st
        nodes = all_nodes
        candidates_restricted = False
        if result is not None and result.node_names is not None:
            names = result.node_names
            nodes = [n for n in all_nodes if n.name in names]
            candidates_restricted = True
            plugins = sorted(p.name for p in fw.pre_filter if p.name not in state.skip_filter_plugins
                             and p.name in (result_plugins(fw, state)))
            absent = unresolvable(f"node(s) didn't satisfy plugin(s) [{' '.join(plugins)}]")
            for n in all_nodes:
                if n.name not in names:
                    diagnosis.node_to_status[n.name] = absent
        feasible = self._find_feasible(fw, state, pod, nodes, diagnosis, restricted=candidates_restricted)
        for s in diagnosis.node_to_status.values():
            if s.code == Code.ERROR:
                raise SchedulingError(s)
            if s.plugin:
                (diagnosis.pending_plugins if s.code == Code.PENDING else diagnosis.unschedulable_plugins).add(s.plugin)
        return feasible, diagnosis

    def _find_feasible(self, fw: Framework, state: CycleState, pod: Obj, nodes: list[NodeInfo],
                       diagnosis: Diagnosis, *, restricted: bool) -> list[NodeInfo]:
        n = len(nodes)
        if n == 0:
            return []
        want = num_feasible_nodes_to_find(fw.percentage_of_nodes_to_score, n)
        start = 0 if restricted else self.next_start_node_index % n
        feasible: list[NodeInfo] = []
        processed = 0
        # Walk in chunks from the round-robin start; stop once `want` nodes passed. Each chunk
        # is filtered plugin by plugin (batch fast paths), which rejects nodes exactly as a per-node walk.
        chunk = max(want, 16)
        while processed < n and len(feasible) < want:
            end = min(processed + chunk, n)
            batch = [nodes[(start + i) % n] for i in range(processed, end)]
            passed = fw.filter_nodes(state, pod, batch, diagnosis.node_to_status)
            if self.nominator is not None and len(self.nominator):
                passed = self._with_nominated_pods(fw, state, pod, batch, passed, diagnosis.node_to_status)
            if len(feasible) + len(passed) > want:
                # Keep the first `want` in walk order; the rest count as not processed.
                keep = want - len(feasible)
                last = passed[keep - 1]
                processed += batch.index(last) + 1
                feasible.extend(passed[:keep])
                dropped = {x.name for x in batch[batch.index(last) + 1:]}
                for name in dropped:
                    diagnosis.node_to_status.pop(name, None)
                break
            feasible.extend(passed)
            processed = end
            chunk = max(16, (want - len(feasible)) * 2)
        if not restricted:
            self.next_start_node_index = (start + processed) % n
        return feasible


    def _with_nominated_pods(self, fw: Framework, state: CycleState, pod: Obj, batch: list[NodeInfo],
                             passed: list[NodeInfo], statuses: NodeToStatus) -> list[NodeInfo]:
        """Filter again, counting nominated pods, the nodes of `batch` that have some: a rejection
        with them present wins (it is what upstream reports, as it tries that first)."""
        keep = {n.name for n in passed}
        for ni in batch:
            if not self.nominator or not self.nominator.nominated_pods_for_node(ni.name):
                continue
            st = run_filter_plugins_with_nominated_pods(fw, self.nominator, state, pod, ni)
            if st is not None and st.code != Code.SUCCESS:
                statuses[ni.name] = st
                keep.discard(ni.name)
        return [n for n in passed if n.name in keep]


def result_plugins(fw: Framework, state: CycleState) -> set[str]:
    """The PreFilter plugins that narrowed the candidate nodes in this cycle."""
    narrowed: set[str] = state.get(NARROWED_BY_KEY) or set()
    return narrowed


NARROWED_BY_KEY = "kybernetes/preFilterNarrowedBy"


class SchedulingError(Exception):
    """A plugin returned an Error status: the pod backs off and is retried."""

    def __init__(self, status: Status) -> None:
        super().__init__(f"running {status.plugin or 'plugin'}: {status.message()}")
        self.status = status
