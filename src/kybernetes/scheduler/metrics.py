"""The scheduler's Prometheus metrics, with upstream's names, labels and buckets (v1.32):

- ``scheduler_schedule_attempts_total{result,profile}``: result ``scheduled``, ``unschedulable``
  or ``error``;
- ``scheduler_scheduling_attempt_duration_seconds{profile,result}``: one attempt, from popping
  the pod to its binding (or failure);
- ``scheduler_pod_scheduling_sli_duration_seconds{attempts}``: end to end, from the pod's first
  attempt to its binding, by the number of attempts it took;
- ``scheduler_pod_scheduling_attempts``: attempts a scheduled pod needed;
- ``scheduler_pending_pods{queue}``: ``active``, ``backoff``, ``unschedulable``, read at scrape.

One process has one set (as upstream's global registry): `process_metrics()` creates it and
registers it in `kybernetes.metrics.prom.COMPONENTS`, so inside ``kyb server`` the API server's
``/metrics`` serves these families; the standalone ``kyb scheduler --metrics-port`` serves them on
its own port. A scheduler that takes over after a lost lease keeps counting into the same series.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from kybernetes.metrics import prom

ATTEMPT_BUCKETS = prom.exponential_buckets(0.001, 2, 15)
SLI_BUCKETS = prom.exponential_buckets(0.01, 2, 20)
ATTEMPTS_BUCKETS: tuple[float, ...] = (1, 2, 4, 8, 16)


class PendingSource(Protocol):
    def pending(self) -> dict[str, int]: ...


class SchedulerMetrics:
    def __init__(self) -> None:
        r = self.registry = prom.Registry()
        self.attempts = r.counter(
            "scheduler_schedule_attempts_total",
            "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod could not be "
            "scheduled, while 'error' means an internal scheduler problem.",
            ("result", "profile"),
        )
        self.attempt_duration = r.histogram(
            "scheduler_scheduling_attempt_duration_seconds",
            "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
            ("profile", "result"),
            ATTEMPT_BUCKETS,
        )
        self.sli_duration = r.histogram(
            "scheduler_pod_scheduling_sli_duration_seconds",
            "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue and might "
            "involve multiple scheduling attempts.",
            ("attempts",),
            SLI_BUCKETS,
        )
        self.pod_attempts = r.histogram(
            "scheduler_pod_scheduling_attempts",
            "Number of attempts to successfully schedule a pod.",
            buckets=ATTEMPTS_BUCKETS,
        )
        self.queue: PendingSource | None = None
        self._started: dict[str, float] = {}
        r.add_collector(self._pending)

    def attempt_started(self, key: str) -> None:
        self._started[key] = time.perf_counter()

    def attempt_done(self, profile: str, key: str, result: str) -> None:
        self.attempts.labels(result, profile).inc()
        began = self._started.pop(key, None)
        if began is not None:
            self.attempt_duration.labels(profile, result).observe(time.perf_counter() - began)

    def pod_scheduled(self, attempts: int, since_first_attempt: float | None) -> None:
        self.pod_attempts.observe(attempts)
        if since_first_attempt is not None:
            self.sli_duration.labels(str(attempts)).observe(since_first_attempt)

    def _pending(self) -> list[Any]:
        if self.queue is None:
            return []
        pending = self.queue.pending()
        family = prom.Snapshot(
            "scheduler_pending_pods",
            "Number of pending pods, by the queue type. 'active' means number of pods in activeQ; 'backoff' means "
            "number of pods in backoffQ; 'unschedulable' means number of pods in unschedulablePods that the "
            "scheduler attempted to schedule and failed.",
            ("queue",),
        )
        for queue in ("active", "backoff", "unschedulable"):
            family.add((queue,), pending.get(queue, 0))
        return [family]


def process_metrics() -> SchedulerMetrics:
    """This process's scheduler metrics (created and registered on first use)."""
    global _PROCESS
    if _PROCESS is None:
        _PROCESS = SchedulerMetrics()
        prom.COMPONENTS["scheduler"] = _PROCESS.registry
    return _PROCESS


_PROCESS: SchedulerMetrics | None = None
