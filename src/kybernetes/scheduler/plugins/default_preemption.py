"""DefaultPreemption: the PostFilter that makes room for a pod by evicting lower-priority pods.

When no node fits, it picks the node where evicting the fewest and least important pods lets the
pod fit (`preemption.victims` decides), then acts as upstream does: each victim gets the condition
``DisruptionTarget=True`` (reason ``PreemptionByScheduler``) patched on its status, is deleted
(gracefully) and gets a ``Preempted`` event; lower-priority pods nominated to that node lose their
nomination; and the result nominates the node for the preemptor, which the scheduler writes to
``status.nominatedNodeName``. The preemptor binds in a later cycle, once the victims are gone.

Its message, prefixed ``preemption: ``, is appended to the pod's FailedScheduling message, e.g.
``0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption
victims found for incoming pod..`` (the doubled period is upstream's).

Args (``DefaultPreemptionArgs``): ``minCandidateNodesPercentage`` (10) and
``minCandidateNodesAbsolute`` (100) bound how many candidate nodes the dry run collects.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any, ClassVar

from kybernetes.api.resources import lookup
from kybernetes.client.errors import is_not_found
from kybernetes.client.events import NORMAL
from kybernetes.scheduler.algorithm import Diagnosis, fit_error_message
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import NodeToStatus, PostFilterResult, pod_priority
from kybernetes.scheduler.framework.status import Code, Status, error_status, unresolvable, unschedulable
from kybernetes.scheduler.framework.types import pod_uid
from kybernetes.scheduler.preemption.context import SchedulerContext
from kybernetes.scheduler.preemption.victims import (
    NOT_HELPFUL_MSG,
    Candidate,
    calculate_num_candidates,
    dry_run_preemption,
    pick_one_node_for_preemption,
    pod_eligible_to_preempt_others,
)

log = logging.getLogger("kyb.scheduler.preemption")
Obj = dict[str, Any]
PODS = lookup("", "v1", "pods")
NAME = "DefaultPreemption"


def parse_args(args: dict[str, Any]) -> tuple[int, int]:
    """(minCandidateNodesPercentage, minCandidateNodesAbsolute) with upstream's defaults and checks."""
    pct = args.get("minCandidateNodesPercentage", 10)
    absolute = args.get("minCandidateNodesAbsolute", 100)
    if not isinstance(pct, int) or not 0 <= pct <= 100:
        raise ValueError(f"minCandidateNodesPercentage: Invalid value: {pct!r}: not in valid range [0, 100]")
    if not isinstance(absolute, int) or absolute < 0:
        raise ValueError(f"minCandidateNodesAbsolute: Invalid value: {absolute!r}: not in valid range [0, inf)")
    if pct == 0 and absolute == 0:
        raise ValueError("minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as "
                         "minCandidateNodesAbsolute")
    return pct, absolute


def victim_condition(preemptor: Obj) -> Obj:
    scheduler = (preemptor.get("spec") or {}).get("schedulerName") or "default-scheduler"
    return {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
            "message": f"{scheduler}: preempting to accommodate a higher priority pod",
            "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


class DefaultPreemption:
    name: ClassVar[str] = NAME

    def __init__(self, args: dict[str, Any], handle: Any, *, rng: random.Random | None = None) -> None:
        self.min_pct, self.min_abs = parse_args(args)
        self.handle = handle
        self.ctx = SchedulerContext()
        self.rng = rng or random.Random()

    def set_scheduler_context(self, ctx: SchedulerContext) -> None:
        self.ctx = ctx

    async def post_filter(self, state: CycleState, pod: Obj,
                          statuses: NodeToStatus) -> tuple[PostFilterResult | None, Status | None]:
        result, st = await self.preempt(state, pod, statuses)
        if st is not None and st.message():
            return result, Status(st.code, [f"preemption: {st.message()}"], error=st.error)
        return result, st

    def find_candidates(self, state: CycleState, pod: Obj, statuses: NodeToStatus
                        ) -> tuple[list[Candidate], NodeToStatus, int]:
        """(candidates, statuses of nodes the dry run rejected, number of nodes)."""
        snapshot = self.handle.snapshot
        all_nodes = snapshot.node_info_list
        potential = [n for n in all_nodes if (s := statuses.get(n.name)) is not None and s.code == Code.UNSCHEDULABLE]
        if not potential:
            return [], {}, len(all_nodes)
        offset = self.rng.randrange(len(potential))
        num = calculate_num_candidates(len(potential), self.min_pct, self.min_abs)
        candidates, rejected = dry_run_preemption(self.handle, self.ctx.nominator, state, pod, potential,
                                                  self.ctx.list_pdbs(), offset, num)
        return candidates, rejected, len(all_nodes)

    async def preempt(self, state: CycleState, pod: Obj,
                      statuses: NodeToStatus) -> tuple[PostFilterResult | None, Status | None]:
        meta = pod.get("metadata") or {}
        pod = self.ctx.get_pod(meta.get("namespace") or "", meta.get("name") or "") or pod
        nominated = str((pod.get("status") or {}).get("nominatedNodeName") or "")
        ok, msg = pod_eligible_to_preempt_others(pod, self.handle.snapshot, statuses.get(nominated))
        if not ok:
            return None, unschedulable(msg)
        if not self.handle.snapshot.node_info_list:
            return None, error_status("no nodes available")
        candidates, rejected, num_nodes = self.find_candidates(state, pod, statuses)
        if not candidates:
            errors = [s for s in rejected.values() if s.code == Code.ERROR]
            if errors:
                return None, errors[0]
            absent = unresolvable(NOT_HELPFUL_MSG)
            all_statuses = {n.name: rejected.get(n.name, absent) for n in self.handle.snapshot.node_info_list}
            message = fit_error_message(num_nodes, Diagnosis(node_to_status=all_statuses))
            return PostFilterResult(clear_nomination=True), unschedulable(message)
        candidates, st = await self.call_extenders(pod, candidates)
        if st is not None:
            return None, st
        best = pick_one_node_for_preemption(candidates)
        chosen = next((c for c in candidates if c.name == best), None)
        if chosen is None:
            return None, unschedulable("no candidate node for preemption")
        st = await self.prepare_candidate(chosen, pod)
        if st is not None:
            return None, st
        return PostFilterResult(nominated_node_name=chosen.name), None

    async def call_extenders(self, pod: Obj, candidates: list[Candidate]) -> tuple[list[Candidate], Status | None]:
        """Let extenders with a preemptVerb narrow the candidates (and their victims)."""
        extenders = [e for e in self.ctx.extenders if e.supports_preemption() and e.is_interested(pod)]
        if not extenders:
            return candidates, None
        victims = {c.name: c for c in candidates}
        for ext in extenders:
            try:
                out: dict[str, Candidate] = await ext.process_preemption(pod, victims, self.handle.snapshot)
            except Exception as e:
                if ext.ignorable:
                    log.info("skipping extender %s in preemption: %s", ext.name, e)
                    continue
                return [], error_status(e)
            for node, c in list(out.items()):
                if not c.victims:
                    if ext.ignorable:
                        del out[node]
                        continue
                    return [], error_status(f'expected at least one victim pod on node "{node}"')
            victims = out
            if not victims:
                break
        return list(victims.values()), None

    async def prepare_candidate(self, c: Candidate, pod: Obj) -> Status | None:
        results = await asyncio.gather(*(self.preempt_pod(c, pod, v) for v in c.victims
                                         if not (v.get("metadata") or {}).get("deletionTimestamp")),
                                       return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                return error_status(r)
        await self.clear_lower_priority_nominations(pod, c.name)
        return None

    async def preempt_pod(self, c: Candidate, preemptor: Obj, victim: Obj) -> None:
        """Reject a victim waiting at Permit; otherwise mark it DisruptionTarget and delete it."""
        waiting = self.handle.get_waiting_pod(pod_uid(victim)) if hasattr(self.handle, "get_waiting_pod") else None
        if waiting is not None:
            waiting.reject(NAME, "preempted")
        elif self.handle.client is not None:
            meta = victim.get("metadata") or {}
            ns, name = meta.get("namespace") or "", meta.get("name") or ""
            try:
                await self.handle.client.patch(PODS, name, {"status": {"conditions": [victim_condition(preemptor)]}},
                                               namespace=ns, patch_type="strategic", subresource="status")
                await self.handle.client.delete(PODS, name, namespace=ns)
            except Exception as e:
                if not is_not_found(e):
                    raise
                return  # already gone
        if self.handle.recorder is not None:
            self.handle.recorder.event(victim, NORMAL, "Preempted",
                                       f"Preempted by pod {pod_uid(preemptor)} on node {c.name}")

    async def clear_lower_priority_nominations(self, pod: Obj, node: str) -> None:
        """Pods of lower priority nominated to `node` may no longer fit there: drop their nomination,
        which sends them back through the queue sooner."""
        if self.ctx.nominator is None or self.handle.client is None:
            return
        prio = pod_priority(pod)
        for pi in self.ctx.nominator.nominated_pods_for_node(node):
            if pod_priority(pi.pod) >= prio:
                continue
            if not (pi.pod.get("status") or {}).get("nominatedNodeName"):
                continue
            meta = pi.pod.get("metadata") or {}
            try:
                await self.handle.client.patch(PODS, meta.get("name") or "", {"status": {"nominatedNodeName": None}},
                                               namespace=meta.get("namespace") or "", patch_type="merge",
                                               subresource="status")
            except Exception as e:  # not critical, as upstream
                log.info("clearing nominatedNodeName of %s/%s: %r", meta.get("namespace"), meta.get("name"), e)


def new(args: dict[str, Any], handle: Any) -> DefaultPreemption:
    return DefaultPreemption(args, handle)
