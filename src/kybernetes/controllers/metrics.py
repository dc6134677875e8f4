"""Work queue metrics of the controller manager, served as Prometheus text at ``/metrics``.

Operators watch a controller manager by its queues: a depth that only grows means a loop cannot
keep up, retries mean syncs are failing. The metric names and the `name` label follow upstream's
workqueue metrics so existing dashboards and alerts read them: ``workqueue_depth`` (gauge),
``workqueue_adds_total`` and ``workqueue_retries_total`` (counters) and
``workqueue_work_duration_seconds`` (histogram). The four families are written out here in the
text format (version 0.0.4); numbers and label values are rendered by `kybernetes.metrics.prom`.

`WorkqueueMetrics` is a `kybernetes.client.workqueue.QueueMetricsProvider`: queues with the same
name (a loop rebuilt after leadership came back) share one set of series, as in upstream.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from aiohttp import web

from kybernetes.metrics.prom import escape_label, format_value

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Upstream's buckets for work duration: 10 ns up to 10 s in powers of ten.
DURATION_BUCKETS: tuple[float, ...] = tuple(float(f"1e{e}") for e in range(-8, 2))


@dataclass
class QueueSeries:
    """One queue's numbers; implements `kybernetes.client.workqueue.QueueMetrics`."""

    buckets: tuple[float, ...] = DURATION_BUCKETS
    depth: int = 0
    adds: int = 0
    retries: int = 0
    bucket_counts: list[int] = field(default_factory=list)
    duration_sum: float = 0.0
    duration_count: int = 0

    def __post_init__(self) -> None:
        if not self.bucket_counts:
            self.bucket_counts = [0] * len(self.buckets)

    def added(self) -> None:
        self.depth += 1
        self.adds += 1

    def got(self) -> None:
        self.depth -= 1

    def finished(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        i = bisect.bisect_left(self.buckets, seconds)  # first bucket whose upper bound is >= seconds
        if i < len(self.bucket_counts):
            self.bucket_counts[i] += 1
        self.duration_sum += seconds
        self.duration_count += 1

    def retried(self) -> None:
        self.retries += 1


class WorkqueueMetrics:
    def __init__(self) -> None:
        self.queues: dict[str, QueueSeries] = {}

    def queue_metrics(self, name: str) -> QueueSeries:
        series = self.queues.get(name)
        if series is None:
            series = self.queues[name] = QueueSeries()
        return series

    def render(self) -> str:
        """The text exposition of every queue, families in a fixed order, queues sorted by name."""
        queues = sorted(self.queues.items())
        lines: list[str] = []

        def family(metric: str, kind: str, help_text: str) -> None:
            lines.append(f"# HELP {metric} {help_text}")
            lines.append(f"# TYPE {metric} {kind}")

        family("workqueue_depth", "gauge", "Keys waiting in the work queue.")
        for name, q in queues:
            lines.append(f'workqueue_depth{{name="{escape_label(name)}"}} {q.depth}')
        family("workqueue_adds_total", "counter", "Keys added to the work queue.")
        for name, q in queues:
            lines.append(f'workqueue_adds_total{{name="{escape_label(name)}"}} {q.adds}')
        family("workqueue_retries_total", "counter", "Keys put back after a failed sync.")
        for name, q in queues:
            lines.append(f'workqueue_retries_total{{name="{escape_label(name)}"}} {q.retries}')
        family("workqueue_work_duration_seconds", "histogram",
               "Seconds from a worker taking a key to finishing with it.")
        for name, q in queues:
            label = f'name="{escape_label(name)}"'
            cumulative = 0
            for bound, n in zip(q.buckets, q.bucket_counts, strict=True):
                cumulative += n
                lines.append(f'workqueue_work_duration_seconds_bucket{{{label},le="{format_value(bound)}"}} '
                             f"{cumulative}")
            lines.append(f'workqueue_work_duration_seconds_bucket{{{label},le="+Inf"}} {q.duration_count}')
            lines.append(f"workqueue_work_duration_seconds_sum{{{label}}} {format_value(q.duration_sum)}")
            lines.append(f"workqueue_work_duration_seconds_count{{{label}}} {q.duration_count}")
        return "\n".join(lines) + "\n"


async def serve(registry: WorkqueueMetrics, port: int, address: str = "127.0.0.1") -> web.AppRunner:
    """Start an HTTP server with ``GET /metrics``; the caller cleans up the returned runner."""

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=registry.render().encode(), headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address, port).start()
    return runner
