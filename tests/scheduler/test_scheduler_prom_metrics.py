"""The scheduler's Prometheus families: attempts by result and profile, attempt and end-to-end
durations, pending pods per queue; parsed with prometheus_client's parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from sched_helpers import make_node, make_pod

from kybernetes.metrics import prom
from kybernetes.scheduler.config import parse_config
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.metrics import SchedulerMetrics, process_metrics
from kybernetes.scheduler.scheduler import Scheduler


def series(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == name
    }


def test_families_and_labels() -> None:
    m = SchedulerMetrics()
    m.attempt_started("default/a")
    m.attempt_done("default-scheduler", "default/a", "scheduled")
    m.pod_scheduled(3, 0.5)
    m.attempt_done("default-scheduler", "default/b", "unschedulable")  # no start seen: counted, not timed

    class Queue:
        def pending(self) -> dict[str, int]:
            return {"active": 2, "backoff": 1, "unschedulable": 4, "inFlight": 1}

    m.queue = Queue()
    text = m.registry.render()
    assert series(text, "scheduler_schedule_attempts_total") == {
        (("profile", "default-scheduler"), ("result", "scheduled")): 1.0,
        (("profile", "default-scheduler"), ("result", "unschedulable")): 1.0,
    }
    assert series(text, "scheduler_scheduling_attempt_duration_seconds_count") == {
        (("profile", "default-scheduler"), ("result", "scheduled")): 1.0
    }
    assert series(text, "scheduler_pod_scheduling_sli_duration_seconds_count") == {(("attempts", "3"),): 1.0}
    assert series(text, "scheduler_pod_scheduling_attempts_count") == {(): 1.0}
    assert series(text, "scheduler_pending_pods") == {
        (("queue", "active"),): 2.0,
        (("queue", "backoff"),): 1.0,
        (("queue", "unschedulable"),): 4.0,
    }
    les = [k for k in series(text, "scheduler_scheduling_attempt_duration_seconds_bucket")]
    assert len(les) == 16  # 15 bounds from 1 ms doubling, and +Inf


async def test_scheduler_records_into_the_process_registry() -> None:
    registry = process_metrics().registry
    assert prom.COMPONENTS["scheduler"] is registry  # the API server's /metrics serves it in `kyb server`
    before = process_metrics().attempts.labels("scheduled", "default-scheduler").value
    before_unsched = process_metrics().attempts.labels("unschedulable", "default-scheduler").value
    sched = Scheduler(parse_config({}))
    sched.on_node_add(make_node("n0", cpu="2"))
    sched.on_pod_add(make_pod("fits"))
    sched.on_pod_add(make_pod("too-big", cpu="3"))

    class Binder:
        name = "DefaultBinder"

        async def bind(self, state: CycleState, pod: dict[str, object], node: str) -> None:
            del state, pod, node

    for fw in sched.profiles.values():
        fw.bind = [Binder()]
    await sched.schedule_one(await sched.queue.pop())
    await sched.schedule_one(await sched.queue.pop())
    await sched.drain_bindings()
    m = process_metrics()
    assert m.attempts.labels("scheduled", "default-scheduler").value == before + 1
    assert m.attempts.labels("unschedulable", "default-scheduler").value == before_unsched + 1
    assert series(m.registry.render(), "scheduler_pending_pods")[(("queue", "unschedulable"),)] == 1
    await sched.queue.close()
