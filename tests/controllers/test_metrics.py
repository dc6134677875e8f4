"""Work queue metrics: the queue's reports (client-go's semantics) and the Prometheus text format."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator

import pytest

from kybernetes.client.clock import FakeClock
from kybernetes.client.controller import Controller
from kybernetes.client.workqueue import WorkQueue, set_metrics_provider
from kybernetes.controllers.metrics import CONTENT_TYPE, QueueSeries, WorkqueueMetrics, format_value, serve

PORT = 19021


@pytest.fixture
def registry() -> Iterator[WorkqueueMetrics]:
    reg = WorkqueueMetrics()
    set_metrics_provider(reg)
    try:
        yield reg
    finally:
        set_metrics_provider(None)


async def test_queue_reports_depth_adds_duration_and_retries(registry: WorkqueueMetrics) -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(name="replicaset", clock=clock)
    q.add("a")
    q.add("a")  # deduplicated: not an add
    q.add("b")
    series = registry.queues["replicaset"]
    assert (series.depth, series.adds) == (2, 2)
    key = await q.get()
    assert series.depth == 1
    q.add(key)  # dirty while processing: counted, as upstream does
    assert (series.depth, series.adds) == (2, 3)
    clock.advance(0.25)
    q.done(key)
    assert (series.duration_count, series.duration_sum) == (1, 0.25)
    q.add_rate_limited("c")
    assert series.retries == 1


async def test_unnamed_queue_and_no_provider_record_nothing(registry: WorkqueueMetrics) -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("x")
    assert registry.queues == {}
    set_metrics_provider(None)
    later: WorkQueue[str] = WorkQueue(name="later")
    later.add("x")
    assert "later" not in registry.queues


async def test_controller_failures_count_as_retries(registry: WorkqueueMetrics) -> None:
    calls: list[str] = []

    async def sync(key: str) -> None:
        calls.append(key)
        if len(calls) == 1:
            raise RuntimeError("boom")

    c = Controller("job", sync)
    task = asyncio.create_task(c.run())
    c.queue.add("ns/j")
    for _ in range(200):
        if len(calls) >= 2:
            break
        await asyncio.sleep(0.01)
    c.shutdown()
    await task
    series = registry.queues["job"]
    assert series.retries == 1
    assert series.duration_count == 2
    assert series.depth == 0


@pytest.mark.parametrize(("seconds", "bucket"), [
    pytest.param(0.0, "1e-08", id="zero-in-first-bucket"),
    pytest.param(1e-8, "1e-08", id="upper-bound-is-inclusive"),
    pytest.param(0.003, "0.01", id="milliseconds"),
    pytest.param(10.0, "10", id="last-bucket"),
    pytest.param(11.0, "+Inf", id="past-every-bucket"),
])
def test_histogram_bucket(seconds: float, bucket: str) -> None:
    reg = WorkqueueMetrics()
    reg.queue_metrics("q").finished(seconds)
    text = reg.render()
    buckets = [line for line in text.splitlines() if line.startswith("workqueue_work_duration_seconds_bucket")]
    first = next(line for line in buckets if line.endswith(" 1"))
    assert f'le="{bucket}"' in first
    assert f'workqueue_work_duration_seconds_sum{{name="q"}} {format_value(seconds)}' in text


def test_render_exposition() -> None:
    reg = WorkqueueMetrics()
    reg.queues["deployment"] = QueueSeries(depth=3, adds=7, retries=2)
    reg.queues['we"ird'] = QueueSeries()
    lines = reg.render().splitlines()
    assert lines[:4] == ["# HELP workqueue_depth Keys waiting in the work queue.",
                         "# TYPE workqueue_depth gauge",
                         'workqueue_depth{name="deployment"} 3',
                         'workqueue_depth{name="we\\"ird"} 0']
    assert 'workqueue_adds_total{name="deployment"} 7' in lines
    assert 'workqueue_retries_total{name="deployment"} 2' in lines
    assert "# TYPE workqueue_work_duration_seconds histogram" in lines
    assert 'workqueue_work_duration_seconds_bucket{name="deployment",le="+Inf"} 0' in lines
    assert 'workqueue_work_duration_seconds_count{name="deployment"} 0' in lines


@pytest.mark.parametrize(("value", "text"), [
    pytest.param(3, "3", id="integer"),
    pytest.param(0.25, "0.25", id="fraction"),
    pytest.param(1e-8, "1e-08", id="tiny"),
    pytest.param(float("inf"), "+Inf", id="infinity"),
])
def test_format_value(value: float, text: str) -> None:
    assert format_value(value) == text


async def test_serve_metrics_endpoint() -> None:
    reg = WorkqueueMetrics()
    reg.queue_metrics("endpoints").added()
    runner = await serve(reg, PORT)
    try:
        def fetch() -> tuple[str, str]:
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5) as r:
                return r.headers["Content-Type"], r.read().decode()

        content_type, body = await asyncio.to_thread(fetch)
    finally:
        await runner.cleanup()
    assert content_type == CONTENT_TYPE
    assert 'workqueue_adds_total{name="endpoints"} 1' in body
