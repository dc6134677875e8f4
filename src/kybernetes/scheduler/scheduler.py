"""The scheduler loop: pop a pod, decide in a pure cycle, assume it, bind in the background.

Theory of operation. Informers feed the cache (bound pods, nodes) and the queue (pending pods of
our profiles). One loop pops the next pod and runs a *scheduling cycle* synchronously over a fresh
snapshot (nothing else runs meanwhile): filter, score, pick a node, assume the pod there,
Reserve and Permit. The *binding cycle* then runs as its own task (wait on Permit, PreBind, Bind,
PostBind), so many bindings are in flight while the loop moves on. A failure anywhere unreserves,
forgets the assumed pod, records why (PodScheduled=False with upstream's message, a
FailedScheduling event) and hands the pod back to the queue.

Pods whose spec.schedulerName matches none of our profiles are never queued: another scheduler
serves them.

Preemption and extenders: a PostFilter result that nominates a node (DefaultPreemption) is written
to the pod's ``status.nominatedNodeName`` together with the PodScheduled condition and kept in the
queue's nominator until the pod is assumed or deleted. HTTP extenders (config ``extenders``) filter
and score inside the cycle and, when one is a binder, bind instead of the Bind plugins.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client.events import NORMAL, WARNING
from kybernetes.scheduler.algorithm import Algorithm, FitError, SchedulingError
from kybernetes.scheduler.cache import Cache
from kybernetes.scheduler.config import SchedulerConfiguration
from kybernetes.scheduler.extender import bind_with_extenders, build_extenders
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import NODE_ADD, ClusterEvent, EventResource, node_update_actions
from kybernetes.scheduler.framework.interface import QueuedPodInfo
from kybernetes.scheduler.framework.registry import Registry, load_module_plugins, merge
from kybernetes.scheduler.framework.runtime import Framework
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status
from kybernetes.scheduler.framework.types import pod_key
from kybernetes.scheduler.metrics import process_metrics
from kybernetes.scheduler.plugins import in_tree_registry
from kybernetes.scheduler.preemption.context import SchedulerContext
from kybernetes.scheduler.queue import QueueClosed, SchedulingQueue

log = logging.getLogger("kyb.scheduler")
Obj = dict[str, Any]
PODS = lookup("", "v1", "pods")
PDBS = lookup("policy", "v1", "poddisruptionbudgets")


def build_registry(cfg: SchedulerConfiguration, extra: Registry | None = None) -> Registry:
    reg = in_tree_registry()
    for module in cfg.plugin_modules:
        merge(reg, load_module_plugins(module))
    if extra:
        merge(reg, extra)
    return reg


def unschedulable_condition_patch(message: str, reason: str = "Unschedulable") -> Obj:
    """The pods/status strategic-merge patch for a failed attempt."""
    return {"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": reason,
                                       "message": message, "lastProbeTime": None,
                                       "lastTransitionTime": _now()}]}}


def failure_status_patch(pod: Obj, message: str, reason: str, nominated: str | None) -> Obj | None:
    """The pods/status patch after a failed attempt: the PodScheduled condition if it changed, and
    status.nominatedNodeName when `nominated` (None: leave it; "": clear it) differs; None if nothing
    changed (upstream's updatePod)."""
    patch: Obj | None = None
    if condition_differs(pod, message, reason):
        patch = unschedulable_condition_patch(message, reason)
    current = str((pod.get("status") or {}).get("nominatedNodeName") or "")
    if nominated is not None and nominated != current:
        patch = patch or {"status": {}}
        patch["status"]["nominatedNodeName"] = nominated or None
    return patch


def condition_differs(pod: Obj, message: str, reason: str) -> bool:
    for c in (pod.get("status") or {}).get("conditions") or ():
        if c.get("type") == "PodScheduled":
            return not (c.get("status") == "False" and c.get("reason") == reason and c.get("message") == message)
    return True


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def is_pending(pod: Obj) -> bool:
    return not (pod.get("spec") or {}).get("nodeName") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


def is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


@dataclass(slots=True)
class SchedulerStats:
    attempts: int = 0
    scheduled: int = 0
    unschedulable: int = 0
    errors: int = 0
    bind_failures: int = 0
    latencies: list[float] = field(default_factory=list)  # first queued -> bound, seconds


class Scheduler:
    """Wire with `Scheduler(cfg, client=..., recorder=...)`, call `attach(factory)` before the
    informers start, then `await run()` (until cancelled)."""

    def __init__(self, cfg: SchedulerConfiguration, *, client: Any = None, recorder: Any = None,
                 registry: Registry | None = None, clock: Any = None) -> None:
        self.cfg = cfg
        self.client = client
        self.recorder = recorder
        self.cache = Cache()
        self.snapshot = Snapshot()
        self.algorithm = Algorithm()
        reg = registry if registry is not None else build_registry(cfg)
        self.profiles: dict[str, Framework] = {}
        for p in cfg.profiles:
            self.profiles[p.scheduler_name] = Framework.build(
                reg, p, client=client, recorder=recorder, snapshot=lambda: self.snapshot,
                percentage_of_nodes_to_score=cfg.percentage_of_nodes_to_score)
        first = next(iter(self.profiles.values()))
        self.queue = SchedulingQueue(
            first.less, clock=clock, initial_backoff=cfg.pod_initial_backoff_seconds,
            max_backoff=cfg.pod_max_backoff_seconds,
            events={name: fw.events_to_register() for name, fw in self.profiles.items()},
            pre_enqueue=self._pre_enqueue)
        self.algorithm.nominator = self.queue.nominator
        self.extenders = build_extenders(cfg.extenders)
        self._pdbs: Any = None
        self.context = SchedulerContext(nominator=self.queue.nominator, extenders=self.extenders,
                                        list_pdbs=self._list_pdbs)
        for fw in self.profiles.values():
            for plugin in fw.plugins.values():
                hook = getattr(plugin, "set_scheduler_context", None)
                if hook is not None:
                    hook(self.context)
        self.stats = SchedulerStats()
        self.metrics = process_metrics()  # Prometheus (scheduler/metrics.py)
        self.metrics.queue = self.queue
        self._bindings: set[asyncio.Task[None]] = set()
        self._binding_slots = asyncio.Semaphore(cfg.max_inflight_bindings)

    # --- informer handlers ------------------------------------------------------------------------------
    def responsible_for(self, pod: Obj) -> bool:
        return ((pod.get("spec") or {}).get("schedulerName") or "default-scheduler") in self.profiles

    def _pre_enqueue(self, pod: Obj) -> Status | None:
        fw = self.profiles.get((pod.get("spec") or {}).get("schedulerName") or "default-scheduler")
        return fw.run_pre_enqueue_plugins(pod) if fw is not None else None

    def on_pod_add(self, pod: Obj) -> None:
        if is_terminal(pod):
            return
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.add_pod(pod)
            self.queue.assigned_pod_added(pod)
        elif self.responsible_for(pod) and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.add(pod)

    def on_pod_update(self, old: Obj, new: Obj) -> None:
        old_bound = bool((old.get("spec") or {}).get("nodeName"))
        new_bound = bool((new.get("spec") or {}).get("nodeName"))
        if new_bound:
            if is_terminal(new):
                self.cache.remove_pod(new)
                self.queue.assigned_pod_deleted(new)
                return
            if old_bound:
                self.cache.update_pod(old, new)
                self.queue.assigned_pod_updated(old, new)
            else:
                self.queue.delete(old)
                self.cache.add_pod(new)
                self.queue.assigned_pod_added(new)
            return
        if not self.responsible_for(new) or (new.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.delete(new)
            return
        self.queue.update(old, new)

    def on_pod_delete(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName"):
            self.cache.remove_pod(pod)
            self.queue.assigned_pod_deleted(pod)
        else:
            self.queue.delete(pod)
            # An assumed pod deleted before its bound state arrived.
            if self.cache.is_assumed(pod_key(pod)):
                self.cache.remove_pod(pod)

    def on_node_add(self, node: Obj) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff(NODE_ADD, None, node)

    def on_node_update(self, old: Obj, new: Obj) -> None:
        self.cache.update_node(old, new)
        actions = node_update_actions(old, new)
        if actions:
            self.queue.move_all_to_active_or_backoff(ClusterEvent(EventResource.NODE, actions, "NodeUpdate"), old, new)

    def on_node_delete(self, node: Obj) -> None:
        self.cache.remove_node(node)

    def _list_pdbs(self) -> list[Obj]:
        return list(self._pdbs.store.list()) if self._pdbs is not None else []

    def attach(self, factory: Any) -> None:
        """Register handlers on a SharedInformerFactory's pod and node informers (and read
        PodDisruptionBudgets from it when preemption is enabled)."""
        if any(fw.has_post_filter() for fw in self.profiles.values()):
            self._pdbs = factory.informer(PDBS)
        nodes = factory.informer(lookup("", "v1", "nodes"))
        pods = factory.informer(PODS)
        nodes.add_handlers(on_add=self.on_node_add, on_update=self.on_node_update, on_delete=self.on_node_delete)
        pods.add_handlers(on_add=self.on_pod_add, on_update=self.on_pod_update, on_delete=self.on_pod_delete)
        # Plugins that read other objects (Services, PVCs, ...) take informers from the same factory.
        for fw in self.profiles.values():
            for plugin in fw.plugins.values():
                hook = getattr(plugin, "attach_informers", None)
                if hook is not None:
                    hook(factory, self.queue.move_all_to_active_or_backoff)

    # --- the loop ------------------------------------------------------------------------------------------
    async def run(self) -> None:
        self.queue.start()
        try:
            while True:
                try:
                    qpi = await self.queue.pop()
                except QueueClosed:
                    return
                try:
                    await self.schedule_one(qpi)
                except Exception:
                    log.exception("scheduling %s failed unexpectedly", qpi.key)
                    self.queue.add_unschedulable_if_not_present(qpi, error=True)
                # Let informers and binding tasks run between cycles.
                await asyncio.sleep(0)
        finally:
            await self.queue.close()
            for t in list(self._bindings):
                t.cancel()
            for ext in self.extenders:
                await ext.close()

    async def schedule_one(self, qpi: QueuedPodInfo) -> None:
        pod = qpi.pod
        fw = self.profiles.get((pod.get("spec") or {}).get("schedulerName") or "default-scheduler")
        if fw is None or self.queue.is_deleted(qpi.key) or self.cache.is_assumed(qpi.key) or \
                (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.queue.done(qpi.key)
            return
        self.stats.attempts += 1
        self.metrics.attempt_started(qpi.key)
        self.cache.update_snapshot(self.snapshot)
        state = CycleState()
        try:
            if self.extenders:
                result = await self.algorithm.schedule_pod_with_extenders(fw, state, pod, self.snapshot,
                                                                          self.extenders)
            else:
                result = self.algorithm.schedule_pod(fw, state, pod, self.snapshot)
        except FitError as fe:
            await self._handle_fit_error(fw, state, qpi, fe)
            return
        except SchedulingError as se:
            self._fail(fw, qpi, se.status, str(se), error=True)
            return
        host = result.suggested_host
        assumed = copy.copy(pod)
        assumed["spec"] = dict(pod.get("spec") or {}, nodeName=host)
        self.cache.assume_pod(assumed)
        self.queue.nominator.delete(pod)
        st = fw.run_reserve_plugins_reserve(state, assumed, host)
        if st is None or st.code == Code.SUCCESS:
            st = fw.run_permit_plugins(state, assumed, host)
        if st is not None and st.code not in (Code.SUCCESS, Code.WAIT):
            fw.run_reserve_plugins_unreserve(state, assumed, host)
            self.cache.forget_pod(assumed)
            self._fail(fw, qpi, st, st.message(), error=st.code == Code.ERROR)
            return
        self.queue.done(qpi.key)
        task = asyncio.create_task(self._binding_cycle(fw, state, qpi, assumed, host), name=f"bind-{qpi.key}")
        self._bindings.add(task)
        task.add_done_callback(self._bindings.discard)

    async def _binding_cycle(self, fw: Framework, state: CycleState, qpi: QueuedPodInfo, assumed: Obj,
                             host: str) -> None:
        async with self._binding_slots:
            st = await fw.wait_on_permit(assumed)
            if st is None or st.code == Code.SUCCESS:
                st = await fw.run_pre_bind_plugins(state, assumed, host)
            if st is None or st.code == Code.SUCCESS:
                bound, st = await bind_with_extenders(self.extenders, assumed, host) if self.extenders else (False, None)
                if not bound:
                    st = await fw.run_bind_plugins(state, assumed, host)
        if st is not None and st.code != Code.SUCCESS:
            self.stats.bind_failures += 1
            fw.run_reserve_plugins_unreserve(state, assumed, host)
            self.cache.forget_pod(assumed)
            # The pod is out of the queue now; put it back unless it is gone.
            self.queue.mark_in_flight(qpi)
            self._fail(fw, qpi, st, st.message(), error=not st.is_rejected())
            return
        self.cache.finish_binding(assumed)
        self.stats.scheduled += 1
        if qpi.initial_attempt_timestamp is not None:
            self.stats.latencies.append(self.queue.clock.now() - qpi.initial_attempt_timestamp)
        self.metrics.attempt_done(fw.profile_name, qpi.key, "scheduled")
        self.metrics.pod_scheduled(qpi.attempts, None if qpi.initial_attempt_timestamp is None
                                   else self.queue.clock.now() - qpi.initial_attempt_timestamp)
        meta = assumed.get("metadata") or {}
        if self.recorder is not None:
            self.recorder.event(assumed, NORMAL, "Scheduled",
                                f"Successfully assigned {meta.get('namespace')}/{meta.get('name')} to {host}")
        fw.run_post_bind_plugins(state, assumed, host)

    async def _handle_fit_error(self, fw: Framework, state: CycleState, qpi: QueuedPodInfo, fe: FitError) -> None:
        d = fe.diagnosis
        nominated: str | None = None
        if fw.has_post_filter():
            result, pst = await fw.run_post_filter_plugins(state, qpi.pod, d.node_to_status)
            if pst is not None and pst.code != Code.SUCCESS and pst.message():
                d.post_filter_msg = pst.message()
            if result is not None and (result.nominated_node_name or result.clear_nomination):
                nominated = result.nominated_node_name
                # Count the pod on its nominated node at once (its status write is in flight).
                self.queue.nominator.add(qpi.pod, nominated)
        qpi.unschedulable_plugins = set(d.unschedulable_plugins)
        qpi.pending_plugins = set(d.pending_plugins)
        self._fail(fw, qpi, Status(Code.UNSCHEDULABLE), str(fe), error=False, nominated=nominated)

    def _fail(self, fw: Framework, qpi: QueuedPodInfo, st: Status, message: str, *, error: bool,
              nominated: str | None = None) -> None:
        if error:
            self.stats.errors += 1
            log.info("scheduling %s: %s", qpi.key, message)
        else:
            self.stats.unschedulable += 1
        self.metrics.attempt_done(fw.profile_name, qpi.key, "error" if error else "unschedulable")
        if st.plugin and not error and not qpi.unschedulable_plugins:
            qpi.unschedulable_plugins = {st.plugin}
        self.queue.add_unschedulable_if_not_present(qpi, error=error)
        pod = qpi.pod
        reason = "SchedulerError" if error else "Unschedulable"
        if self.recorder is not None:
            self.recorder.event(pod, WARNING, "FailedScheduling", message)
        patch = failure_status_patch(pod, message, reason, nominated) if self.client is not None else None
        if patch is not None:
            task = asyncio.create_task(self._patch_condition(pod, patch))
            self._bindings.add(task)
            task.add_done_callback(self._bindings.discard)

    async def _patch_condition(self, pod: Obj, patch: Obj) -> None:
        meta = pod.get("metadata") or {}
        try:
            await self.client.patch(PODS, meta.get("name"), patch, namespace=meta.get("namespace") or "",
                                    patch_type="strategic", subresource="status")
        except Exception as e:  # the pod may be gone; the next attempt writes it again
            log.debug("updating PodScheduled of %s/%s: %r", meta.get("namespace"), meta.get("name"), e)

    async def drain_bindings(self) -> None:
        """Wait for the bindings and status writes in flight (tests, shutdown)."""
        while self._bindings:
            await asyncio.gather(*list(self._bindings), return_exceptions=True)

