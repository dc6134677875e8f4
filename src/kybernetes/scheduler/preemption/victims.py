"""Preemption's decisions, as upstream's DefaultPreemption takes them; no I/O.

1. Eligibility: a pod with ``preemptionPolicy: Never`` never preempts; a pod already nominated to a
   node where a lower-priority pod is terminating *because of preemption* waits for it instead
   (unless its nominated node is now unresolvable for it).
2. Potential nodes: those the Filter plugins rejected as Unschedulable (not UnschedulableAndUnresolvable:
   removing pods cannot help there).
3. Victims on a node: remove every lower-priority pod, check that the preemptor fits (counting
   nominated pods); then add them back, most important first, PDB-violating ones before the others,
   keeping each that still lets the preemptor fit. Those not kept are the victims.
4. Dry run: nodes are tried from a random offset until enough candidates are found (a share of the
   nodes, at least ``minCandidateNodesAbsolute``), preferring candidates without PDB violations.
5. The winner: fewest PDB violations, then the lowest highest-victim priority, then the smallest sum
   of priorities, then the fewest victims, then the latest start time of the highest-priority
   victims, then the first.

"More important" is higher priority, then the earlier start time (a pod that has not started counts
as starting now).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cmp_to_key
from typing import Any

from kybernetes.machinery.labels import selector_from_label_selector
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import NodeToStatus, pod_priority
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status, error_status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo
from kybernetes.scheduler.preemption.nominator import PodNominator, run_filter_plugins_with_nominated_pods

Obj = dict[str, Any]
NO_VICTIMS_MSG = "No preemption victims found for incoming pod"
NOT_HELPFUL_MSG = "Preemption is not helpful for scheduling"
NEVER_MSG = "not eligible due to preemptionPolicy=Never."
TERMINATING_MSG = "not eligible due to a terminating pod on the nominated node."
MAX_INT32 = 2**31 - 1


@dataclass(slots=True)
class Candidate:
    """A node where the preemptor fits once `victims` (most important first) are gone."""

    name: str
    victims: list[Obj] = field(default_factory=list)
    num_pdb_violations: int = 0


def _parse_time(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def pod_start_time(pod: Mapping[str, Any], now: float) -> float:
    """status.startTime; a pod that has not started (assumed, or bound but pending) starts `now`."""
    t = _parse_time((pod.get("status") or {}).get("startTime"))
    return now if t is None else t


def more_important_pod(a: Mapping[str, Any], b: Mapping[str, Any], now: float) -> bool:
    pa, pb = pod_priority(dict(a)), pod_priority(dict(b))
    if pa != pb:
        return pa > pb
    return pod_start_time(a, now) < pod_start_time(b, now)


def sort_by_importance(pods: list[PodInfo], now: float) -> list[PodInfo]:
    def cmp(x: PodInfo, y: PodInfo) -> int:
        if more_important_pod(x.pod, y.pod, now):
            return -1
        if more_important_pod(y.pod, x.pod, now):
            return 1
        return 0
    return sorted(pods, key=cmp_to_key(cmp))


def pod_terminating_by_preemption(pod: Mapping[str, Any]) -> bool:
    """Being deleted, with the DisruptionTarget=True condition the scheduler sets on its victims."""
    if not (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "DisruptionTarget":
            return bool(c.get("status") == "True" and c.get("reason") == "PreemptionByScheduler")
    return False


def pod_eligible_to_preempt_others(pod: Obj, snapshot: Snapshot, nominated_status: Status | None) -> tuple[bool, str]:
    spec = pod.get("spec") or {}
    if spec.get("preemptionPolicy") == "Never":
        return False, NEVER_MSG
    nominated = str((pod.get("status") or {}).get("nominatedNodeName") or "")
    if nominated:
        if nominated_status is not None and nominated_status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE:
            return True, ""
        ni = snapshot.get(nominated)
        if ni is not None:
            prio = pod_priority(pod)
            for pi in ni.pods:
                if pod_priority(pi.pod) < prio and pod_terminating_by_preemption(pi.pod):
                    return False, TERMINATING_MSG
    return True, ""


def filter_pods_with_pdb_violation(pods: Sequence[PodInfo], pdbs: Sequence[Mapping[str, Any]]
                                   ) -> tuple[list[PodInfo], list[PodInfo]]:
    """(violating, non-violating), each in the given order: a pod violates a PDB when evicting it
    (after the pods before it) would take that budget's disruptionsAllowed below zero."""
    allowed = [int((p.get("status") or {}).get("disruptionsAllowed") or 0) for p in pdbs]
    selectors = []
    for p in pdbs:
        try:
            sel = selector_from_label_selector((p.get("spec") or {}).get("selector"))
        except Exception:  # an invalid selector matches nothing
            sel = None
        selectors.append(sel)
    violating: list[PodInfo] = []
    non_violating: list[PodInfo] = []
    for pi in pods:
        meta = pi.pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        violated = False
        if labels:
            for i, pdb in enumerate(pdbs):
                pmeta = pdb.get("metadata") or {}
                sel = selectors[i]
                if pmeta.get("namespace") != meta.get("namespace") or sel is None or sel.empty:
                    continue
                if not sel.matches(labels):
                    continue
                if meta.get("name") in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                    continue  # the API server already counted this eviction
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else non_violating).append(pi)
    return violating, non_violating


def select_victims_on_node(fw: Any, nominator: PodNominator | None, state: CycleState, pod: Obj,
                           node_info: NodeInfo, pdbs: Sequence[Mapping[str, Any]], now: float
                           ) -> tuple[list[Obj], int, Status | None]:
    """(victims most important first, PDB violations, None) — or a rejection. `state` and
    `node_info` are the caller's clones: they are changed."""
    prio = pod_priority(pod)

    def remove(pi: PodInfo) -> Status | None:
        node_info.remove_pod(pi.key)
        st: Status | None = fw.run_pre_filter_extension_remove_pod(state, pod, pi.pod, node_info)
        return st

    def add(pi: PodInfo) -> Status | None:
        node_info.add_pod_info(pi)
        st: Status | None = fw.run_pre_filter_extension_add_pod(state, pod, pi.pod, node_info)
        return st

    potential = [pi for pi in node_info.pods if pod_priority(pi.pod) < prio]
    for pi in potential:
        st = remove(pi)
        if st is not None and st.code != Code.SUCCESS:
            return [], 0, error_status(st.message())
    if not potential:
        return [], 0, unresolvable(NO_VICTIMS_MSG)
    st = run_filter_plugins_with_nominated_pods(fw, nominator, state, pod, node_info)
    if st is not None and st.code != Code.SUCCESS:
        return [], 0, st
    ordered = sort_by_importance(potential, now)
    violating, non_violating = filter_pods_with_pdb_violation(ordered, pdbs)
    victims: list[PodInfo] = []
    num_violating = 0
    for group, counts in ((violating, True), (non_violating, False)):
        for pi in group:
            st = add(pi)
            if st is not None and st.code != Code.SUCCESS:
                return [], 0, error_status(st.message())
            fit = run_filter_plugins_with_nominated_pods(fw, nominator, state, pod, node_info)
            if fit is not None and fit.code != Code.SUCCESS:
                st = remove(pi)
                if st is not None and st.code != Code.SUCCESS:
                    return [], 0, error_status(st.message())
                victims.append(pi)
                if counts:
                    num_violating += 1
    if violating and non_violating:
        victims = sort_by_importance(victims, now)
    return [pi.pod for pi in victims], num_violating, None


def calculate_num_candidates(num_nodes: int, percentage: int, absolute: int) -> int:
    n = num_nodes * percentage // 100
    return min(max(n, absolute), num_nodes)


def dry_run_preemption(fw: Any, nominator: PodNominator | None, state: CycleState, pod: Obj,
                       potential: Sequence[NodeInfo], pdbs: Sequence[Mapping[str, Any]], offset: int,
                       num_candidates: int, now: float | None = None) -> tuple[list[Candidate], NodeToStatus]:
    """Candidates (those without PDB violations first) and the statuses of nodes that are not."""
    now = time.time() if now is None else now
    non_violating: list[Candidate] = []
    violating: list[Candidate] = []
    statuses: NodeToStatus = {}
    n = len(potential)
    for i in range(n):
        ni = potential[(offset + i) % n]
        victims, num_pdb, st = select_victims_on_node(fw, nominator, state.clone(), pod, ni.clone(), pdbs, now)
        if st is None and victims:
            c = Candidate(ni.name, victims, num_pdb)
            (non_violating if num_pdb == 0 else violating).append(c)
            if non_violating and len(non_violating) + len(violating) >= num_candidates:
                break
            continue
        if st is None:
            st = error_status(f'expected at least one victim pod on node "{ni.name}"')
        statuses[ni.name] = st
    return non_violating[:num_candidates] + violating[:num_candidates], statuses


def pick_one_node_for_preemption(candidates: Sequence[Candidate], now: float | None = None) -> str:
    """The candidate preemption hurts least (module docstring, rule 5); "" for none."""
    if not candidates:
        return ""
    now = time.time() if now is None else now

    def highest(c: Candidate) -> int:
        return pod_priority(c.victims[0]) if c.victims else 0

    def sum_priorities(c: Candidate) -> int:
        # Shifted to be >= 0, so that fewer pods of a negative priority do not lose to more of them.
        return sum(pod_priority(p) + MAX_INT32 + 1 for p in c.victims)

    def earliest_start_of_highest(c: Candidate) -> float:
        if not c.victims:
            return float("-inf")
        top = highest(c)
        return min(pod_start_time(p, now) for p in c.victims if pod_priority(p) == top)

    score_funcs = [
        lambda c: -c.num_pdb_violations,
        lambda c: -highest(c),
        lambda c: -sum_priorities(c),
        lambda c: -len(c.victims),
        earliest_start_of_highest,
    ]
    remaining = list(candidates)
    for f in score_funcs:
        scores = [f(c) for c in remaining]
        best = max(scores)
        remaining = [c for c, s in zip(remaining, scores, strict=True) if s == best]
        if len(remaining) == 1:
            break
    return remaining[0].name
