"""The scheduling queue: which pod to try next, and when to try a failed one again.

Theory of operation (upstream's PriorityQueue). Three places hold pending pods:

- activeQ: pods ready to be tried, a heap ordered by the QueueSort plugin (priority, then age).
- backoffQ: pods that failed and wait out a backoff of ``initial * 2^(attempts-1)`` seconds,
  capped at ``max`` (1 s .. 10 s by default); flushed to activeQ every second.
- unschedulable pool: pods that plugins rejected. They leave it only when a cluster event happens
  that one of those plugins registered (EnqueueExtensions) and its queueing hint says it may
  help — node added, taint removed, assigned pod deleted... — never by polling; plus a safety
  flush of pods that sat there for 5 minutes (checked every 30 s).

Invariants:
1. A pod (by ``namespace/name``) is in at most one of activeQ, backoffQ, the unschedulable pool
   and in-flight (popped, being scheduled).
2. A pod whose attempt failed goes to backoffQ instead of the unschedulable pool when an event
   that could matter (a move request) happened during its attempt, or the pod itself changed;
   so no event is lost while a pod is in flight.
3. Status-only updates of a pod (including our own PodScheduled condition) never requeue it.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kybernetes.client.clock import Clock, RealClock
from kybernetes.scheduler.framework.events import (
    ASSIGNED_POD_ADD,
    ASSIGNED_POD_DELETE,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
    QueueingHint,
    pod_update_actions,
)
from kybernetes.scheduler.framework.interface import QueuedPodInfo
from kybernetes.scheduler.framework.status import Status
from kybernetes.scheduler.framework.types import pod_key
from kybernetes.scheduler.preemption.nominator import PodNominator

log = logging.getLogger("kyb.scheduler.queue")
Obj = dict[str, Any]

BACKOFF_FLUSH_INTERVAL = 1.0
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0
MAX_UNSCHEDULABLE_DURATION = 300.0


@dataclass(slots=True)
class _Entry:
    qpi: QueuedPodInfo
    less: Callable[[QueuedPodInfo, QueuedPodInfo], bool]
    removed: bool = False

    def __lt__(self, other: _Entry) -> bool:
        return self.less(self.qpi, other.qpi)


@dataclass(slots=True)
class _InFlight:
    qpi: QueuedPodInfo
    updated: bool = False
    deleted: bool = False
    cycle: int = 0


# profile name -> plugin name -> the events it registered
EventMap = dict[str, dict[str, list[ClusterEventWithHint]]]


@dataclass(slots=True)
class QueueStats:
    added: int = 0
    moved: int = 0
    backoff_flushed: int = 0
    unschedulable_flushed: int = 0


class SchedulingQueue:
    def __init__(self, less: Callable[[QueuedPodInfo, QueuedPodInfo], bool], *, clock: Clock | None = None,
                 initial_backoff: float = 1.0, max_backoff: float = 10.0, events: EventMap | None = None,
                 pre_enqueue: Callable[[Obj], Status | None] | None = None,
                 max_unschedulable_duration: float = MAX_UNSCHEDULABLE_DURATION) -> None:
        self.less = less
        self.clock = clock or RealClock()
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.events: EventMap = events or {}
        self.pre_enqueue = pre_enqueue
        self.max_unschedulable_duration = max_unschedulable_duration
        self._active: list[_Entry] = []
        self._active_by_key: dict[str, _Entry] = {}
        self._backoff: list[tuple[float, int, str]] = []
        self._backoff_by_key: dict[str, QueuedPodInfo] = {}
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, _InFlight] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self.closed = False
        self.stats = QueueStats()
        self._tasks: list[asyncio.Task[None]] = []
        # Pending pods nominated to a node by preemption (their status.nominatedNodeName, or one the
        # scheduler just set): the Filter runs count them there for pods of lower or equal priority.
        self.nominator = PodNominator()

    # --- sizes (tests, metrics) ------------------------------------------------------------------------
    def pending(self) -> dict[str, int]:
        return {"active": len(self._active_by_key), "backoff": len(self._backoff_by_key),
                "unschedulable": len(self._unschedulable), "inFlight": len(self._in_flight)}

    def where(self, key: str) -> str:
        if key in self._active_by_key:
            return "active"
        if key in self._backoff_by_key:
            return "backoff"
        if key in self._unschedulable:
            return "unschedulable"
        if key in self._in_flight:
            return "inFlight"
        return ""

    # --- adding -----------------------------------------------------------------------------------------
    def _new_qpi(self, pod: Obj) -> QueuedPodInfo:
        now = self.clock.now()
        return QueuedPodInfo(pod, pod_key(pod), now, now)

    def _push_active(self, qpi: QueuedPodInfo) -> None:
        """Into activeQ, unless a PreEnqueue plugin holds it back (then the unschedulable pool)."""
        if self.pre_enqueue is not None:
            st = self.pre_enqueue(qpi.pod)
            if st is not None and not st.is_success():
                qpi.gated = True
                qpi.unschedulable_plugins = {st.plugin} if st.plugin else set()
                self._unschedulable[qpi.key] = qpi
                return
        qpi.gated = False
        entry = _Entry(qpi, self.less)
        self._active_by_key[qpi.key] = entry
        heapq.heappush(self._active, entry)
        self._wakeup.set()

    def _push_backoff(self, qpi: QueuedPodInfo) -> None:
        qpi.backoff_expiry = qpi.timestamp + self.backoff_duration(qpi)
        self._backoff_by_key[qpi.key] = qpi
        heapq.heappush(self._backoff, (qpi.backoff_expiry, next(self._seq), qpi.key))

    def backoff_duration(self, qpi: QueuedPodInfo) -> float:
        if qpi.attempts <= 0:
            return 0.0
        return float(min(self.initial_backoff * 2 ** (qpi.attempts - 1), self.max_backoff))

    def is_backing_off(self, qpi: QueuedPodInfo) -> bool:
        return qpi.timestamp + self.backoff_duration(qpi) > self.clock.now()

    def _take(self, key: str) -> QueuedPodInfo | None:
        """Remove a pod from whichever queue holds it."""
        entry = self._active_by_key.pop(key, None)
        if entry is not None:
            entry.removed = True
            return entry.qpi
        qpi = self._backoff_by_key.pop(key, None)  # its heap entry is skipped when popped
        if qpi is not None:
            return qpi
        return self._unschedulable.pop(key, None)

    def add(self, pod: Obj) -> None:
        """A new pending pod (or one seen again after a relist)."""
        key = pod_key(pod)
        self.nominator.add(pod)
        if key in self._in_flight:
            self._in_flight[key].qpi.pod = pod
            return
        existing = self._take(key)
        qpi = existing or self._new_qpi(pod)
        qpi.pod = pod
        self.stats.added += 1
        self._push_active(qpi)

    def update(self, old: Obj, new: Obj) -> None:
        key = pod_key(new)
        self.nominator.update(old, new)
        fl = self._in_flight.get(key)
        if fl is not None:
            if pod_update_actions(old, new) or _spec_changed(old, new):
                fl.updated = True
            fl.qpi.pod = new
            return
        entry = self._active_by_key.get(key)
        if entry is not None:
            entry.qpi.pod = new
            return
        qpi = self._backoff_by_key.get(key)
        if qpi is not None:
            qpi.pod = new
            return
        qpi = self._unschedulable.get(key)
        if qpi is None:
            self.add(new)
            return
        qpi.pod = new
        actions = pod_update_actions(old, new)
        if not actions and not _spec_changed(old, new):
            return  # status-only change (invariant 3)
        event = ClusterEvent(EventResource.UNSCHEDULABLE_POD, actions or ActionType.UPDATE, "UnschedulablePodUpdate")
        if qpi.gated or self._worth_requeue(qpi, event, old, new):
            del self._unschedulable[key]
            self._requeue(qpi)

    def delete(self, pod: Obj) -> None:
        key = pod_key(pod)
        self.nominator.delete(pod)
        self._take(key)
        fl = self._in_flight.get(key)
        if fl is not None:
            fl.deleted = True

    def activate(self, pods: list[Obj]) -> None:
        """Move these pods to activeQ now if they are waiting (a plugin's request)."""
        for pod in pods:
            key = pod_key(pod)
            if key in self._backoff_by_key or key in self._unschedulable:
                qpi = self._take(key)
                if qpi is not None:
                    self._push_active(qpi)

    # --- popping ------------------------------------------------------------------------------------------
    async def pop(self) -> QueuedPodInfo:
        """The next pod to schedule; waits while activeQ is empty. Raises QueueClosed after close()."""
        while True:
            while self._active:
                entry = heapq.heappop(self._active)
                if entry.removed:
                    continue
                qpi = entry.qpi
                del self._active_by_key[qpi.key]
                qpi.attempts += 1
                self.scheduling_cycle += 1
                self._in_flight[qpi.key] = _InFlight(qpi, cycle=self.scheduling_cycle)
                return qpi
            if self.closed:
                raise QueueClosed
            self._wakeup.clear()
            await self._wakeup.wait()

    def is_deleted(self, key: str) -> bool:
        fl = self._in_flight.get(key)
        return fl is not None and fl.deleted

    def mark_in_flight(self, qpi: QueuedPodInfo) -> None:
        """A pod whose binding failed after `done`: in flight again, so that
        `add_unschedulable_if_not_present` puts it back."""
        self._in_flight[qpi.key] = _InFlight(qpi, cycle=self.scheduling_cycle)

    def done(self, key: str) -> None:
        """The pod's attempt ended in success (it is bound or being bound)."""
        self._in_flight.pop(key, None)

    def add_unschedulable_if_not_present(self, qpi: QueuedPodInfo, *, error: bool = False) -> None:
        """After a failed attempt: backoffQ (after an error, an event during the attempt, or a change
        of the pod) or the unschedulable pool (invariant 2)."""
        fl = self._in_flight.pop(qpi.key, None)
        if fl is not None and fl.deleted:
            return
        if self.where(qpi.key):
            return
        qpi.timestamp = self.clock.now()
        if fl is not None:
            qpi.pod = fl.qpi.pod
        moved_during = fl is not None and (fl.updated or self.move_request_cycle >= fl.cycle)
        if error or moved_during:
            self._push_backoff(qpi)
        else:
            self._unschedulable[qpi.key] = qpi

    # --- cluster events ----------------------------------------------------------------------------------
    def _worth_requeue(self, qpi: QueuedPodInfo, event: ClusterEvent, old: Obj | None, new: Obj | None) -> bool:
        if event.resource == EventResource.WILDCARD:
            return True
        plugins = qpi.unschedulable_plugins | qpi.pending_plugins
        if not plugins:
            return True
        profile = (qpi.pod.get("spec") or {}).get("schedulerName") or "default-scheduler"
        registered = self.events.get(profile, {})
        for name in plugins:
            for ev in registered.get(name, ()):
                if not ev.event.matches(event):
                    continue
                if ev.hint is None:
                    return True
                try:
                    if ev.hint(qpi.pod, old, new) == QueueingHint.QUEUE:
                        return True
                except Exception:
                    log.exception("queueing hint of %s failed; queueing the pod", name)
                    return True
        return False

    def _requeue(self, qpi: QueuedPodInfo) -> None:
        self.stats.moved += 1
        if self.is_backing_off(qpi):
            self._push_backoff(qpi)
        else:
            self._push_active(qpi)

    def interested(self, event: ClusterEvent) -> bool:
        """Does any plugin of any profile register this event?"""
        return any(ev.event.matches(event) for plugins in self.events.values()
                   for evs in plugins.values() for ev in evs)

    def move_all_to_active_or_backoff(self, event: ClusterEvent, old: Obj | None = None,
                                      new: Obj | None = None) -> int:
        """Requeue the unschedulable pods this event may help; how many moved."""
        if event.resource != EventResource.WILDCARD and not self.interested(event):
            return 0
        self.move_request_cycle = self.scheduling_cycle
        moved = [qpi for qpi in self._unschedulable.values()
                 if not qpi.gated and self._worth_requeue(qpi, event, old, new)]
        for qpi in moved:
            del self._unschedulable[qpi.key]
            self._requeue(qpi)
        return len(moved)

    def assigned_pod_added(self, pod: Obj) -> None:
        self.move_all_to_active_or_backoff(ASSIGNED_POD_ADD, None, pod)

    def assigned_pod_updated(self, old: Obj, new: Obj) -> None:
        actions = pod_update_actions(old, new)
        if actions:
            self.move_all_to_active_or_backoff(ClusterEvent(EventResource.ASSIGNED_POD, actions, "AssignedPodUpdate"),
                                               old, new)

    def assigned_pod_deleted(self, pod: Obj) -> None:
        self.move_all_to_active_or_backoff(ASSIGNED_POD_DELETE, pod, None)

    # --- periodic flushes ----------------------------------------------------------------------------
    def flush_backoff_completed(self) -> int:
        now = self.clock.now()
        n = 0
        while self._backoff and self._backoff[0][0] <= now:
            _, _, key = heapq.heappop(self._backoff)
            qpi = self._backoff_by_key.get(key)
            if qpi is None or qpi.backoff_expiry > now:
                continue  # removed, or re-added later with a later expiry (its own heap entry)
            del self._backoff_by_key[key]
            self._push_active(qpi)
            n += 1
        self.stats.backoff_flushed += n
        return n

    def flush_unschedulable_left_over(self) -> int:
        now = self.clock.now()
        stale = [q for q in self._unschedulable.values()
                 if not q.gated and now - q.timestamp > self.max_unschedulable_duration]
        for qpi in stale:
            del self._unschedulable[qpi.key]
            self._requeue(qpi)
        self.stats.unschedulable_flushed += len(stale)
        if stale:
            self.move_request_cycle = self.scheduling_cycle
        return len(stale)

    async def _every(self, interval: float, fn: Callable[[], int]) -> None:
        while True:
            await self.clock.sleep(interval)
            fn()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._every(BACKOFF_FLUSH_INTERVAL, self.flush_backoff_completed),
                                           name="sched-backoff-flush"),
                       asyncio.create_task(self._every(UNSCHEDULABLE_FLUSH_INTERVAL, self.flush_unschedulable_left_over),
                                           name="sched-unschedulable-flush")]

    async def close(self) -> None:
        self.closed = True
        self._wakeup.set()
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []


class QueueClosed(Exception):
    pass


def _spec_changed(old: Obj, new: Obj) -> bool:
    return old.get("spec") != new.get("spec") or (old.get("metadata") or {}).get("labels") != (
        new.get("metadata") or {}).get("labels")

