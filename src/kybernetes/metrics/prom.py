"""Prometheus metrics for every component: counters, gauges and histograms with labels, written
in the text exposition format (version 0.0.4) that Prometheus scrapes.

Why not the prometheus-client package at run time: the API server records several series on
every request, and a labelled child here is a dict lookup plus an add (no lock: each component
runs one event loop), which keeps the per-request cost to a few microseconds. The wire format is
the one the package's parser reads; the tests parse every endpoint with it.

A `Registry` holds families recorded as things happen (`Counter`, `Gauge`, `Histogram`) and
collectors called at scrape time for values that are cheaper to read than to track (objects in
storage, running containers, cgroup usage); a collector returns `Snapshot` families.
`process_families` adds the ``process_*`` and ``python_*`` families every upstream Go component
and the Python client expose.
"""

from __future__ import annotations

import bisect
import gc
import math
import os
import platform
import resource
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from aiohttp import web

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# Prometheus' default histogram buckets (client_golang's DefBuckets).
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    return tuple(start * factor**i for i in range(count))


def format_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """``a="x",b="y"`` (no braces); empty for no labels."""
    return ",".join(f'{n}="{escape_label(v)}"' for n, v in zip(names, values, strict=True))


def _series(name: str, labels: str, value: float, timestamp_ms: int | None = None) -> str:
    head = f"{name}{{{labels}}}" if labels else name
    return (
        f"{head} {format_value(value)}"
        if timestamp_ms is None
        else f"{head} {format_value(value)} {timestamp_ms}"
    )


class _Family:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)

    def header(self, out: list[str]) -> None:
        out.append(f"# HELP {self.name} {escape_help(self.help)}")
        out.append(f"# TYPE {self.name} {self.kind}")

    def render(self, out: list[str]) -> None:
        raise NotImplementedError


class _Value:
    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.value -= amount

    def set(self, value: float) -> None:
        self.value = value


class Counter(_Family):
    """A monotonically growing count; ``name`` carries upstream's ``_total`` suffix itself."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self.children: dict[tuple[str, ...], _Value] = {}

    def labels(self, *values: str) -> _Value:
        child = self.children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
            child = self.children[values] = _Value()
        return child

    def inc(self, amount: float = 1.0) -> None:
        self.labels().inc(amount)

    def render(self, out: list[str]) -> None:
        self.header(out)
        for values, child in sorted(self.children.items()):
            out.append(_series(self.name, label_text(self.labelnames, values), child.value))


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float) -> None:
        self.labels().set(value)

    def remove(self, *values: str) -> None:
        self.children.pop(values, None)


class _HistogramValue:
    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * len(bounds)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        i = bisect.bisect_left(self.bounds, value)  # the first bucket whose upper bound is >= value
        if i < len(self.counts):
            self.counts[i] += 1
        self.sum += value
        self.count += 1


class Histogram(_Family):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(sorted(float(b) for b in buckets))
        self.children: dict[tuple[str, ...], _HistogramValue] = {}

    def labels(self, *values: str) -> _HistogramValue:
        child = self.children.get(values)
        if child is None:
            if len(values) != len(self.labelnames):
                raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {values}")
            child = self.children[values] = _HistogramValue(self.buckets)
        return child

    def observe(self, value: float) -> None:
        self.labels().observe(value)

    def render(self, out: list[str]) -> None:
        self.header(out)
        for values, child in sorted(self.children.items()):
            labels = label_text(self.labelnames, values)
            sep = "," if labels else ""
            cumulative = 0
            for bound, n in zip(child.bounds, child.counts, strict=True):
                cumulative += n
                out.append(f'{self.name}_bucket{{{labels}{sep}le="{format_value(bound)}"}} {cumulative}')
            out.append(f'{self.name}_bucket{{{labels}{sep}le="+Inf"}} {child.count}')
            out.append(_series(f"{self.name}_sum", labels, child.sum))
            out.append(_series(f"{self.name}_count", labels, child.count))


class Snapshot(_Family):
    """Values read at scrape time: one sample per `add`, in the order added."""

    def __init__(
        self, name: str, help_text: str, labelnames: Sequence[str] = (), kind: str = "gauge"
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self.kind = kind
        self.samples: list[tuple[tuple[str, ...], float, int | None]] = []

    def add(self, values: Sequence[str], value: float, timestamp_ms: int | None = None) -> Snapshot:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name}: expected labels {self.labelnames}, got {tuple(values)}")
        self.samples.append((tuple(values), value, timestamp_ms))
        return self

    def render(self, out: list[str]) -> None:
        self.header(out)
        for values, value, ts in self.samples:
            out.append(_series(self.name, label_text(self.labelnames, values), value, ts))


Collector = Callable[[], Iterable[_Family]]
F = TypeVar("F", bound=_Family)


class Registry:
    def __init__(self) -> None:
        self.families: list[_Family] = []
        self.collectors: list[Collector] = []

    def register(self, family: F) -> F:
        self.families.append(family)
        return family

    def counter(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Counter:
        return self.register(Counter(name, help_text, labelnames))

    def gauge(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> Gauge:
        return self.register(Gauge(name, help_text, labelnames))

    def histogram(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        return self.register(Histogram(name, help_text, labelnames, buckets))

    def add_collector(self, collector: Collector) -> None:
        self.collectors.append(collector)

    def collect(self) -> list[_Family]:
        families = list(self.families)
        for collector in self.collectors:
            families.extend(collector())
        return families

    def render(self) -> str:
        return render(self.collect())


def render(families: Iterable[_Family]) -> str:
    out: list[str] = []
    for family in families:
        family.render(out)
    return "\n".join(out) + "\n" if out else ""


# --- process and runtime ------------------------------------------------------------------------------

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE_SIZE = resource.getpagesize()


def _boot_time() -> float:
    try:
        with open("/proc/stat") as f:
            for line in f:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return 0.0


def process_families(pid: str = "self") -> list[_Family]:
    """``process_*`` (from /proc, as the Go and Python clients read it) and ``python_*`` families."""
    families: list[_Family] = []
    try:
        with open(f"/proc/{pid}/stat") as f:
            # the command name may hold spaces: fields start after its closing parenthesis
            fields = f.read().rpartition(")")[2].split()
        utime, stime, start_ticks = int(fields[11]), int(fields[12]), int(fields[19])
        vsize, rss_pages = int(fields[20]), int(fields[21])
        families += [
            Snapshot(
                "process_cpu_seconds_total",
                "Total user and system CPU time spent in seconds.",
                kind="counter",
            ).add((), (utime + stime) / _CLOCK_TICKS),
            Snapshot("process_resident_memory_bytes", "Resident memory size in bytes.").add(
                (), rss_pages * _PAGE_SIZE
            ),
            Snapshot("process_virtual_memory_bytes", "Virtual memory size in bytes.").add((), vsize),
            Snapshot(
                "process_start_time_seconds", "Start time of the process since unix epoch in seconds."
            ).add((), _boot_time() + start_ticks / _CLOCK_TICKS),
        ]
        families.append(
            Snapshot("process_open_fds", "Number of open file descriptors.").add(
                (), len(os.listdir(f"/proc/{pid}/fd"))
            )
        )
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        families.append(Snapshot("process_max_fds", "Maximum number of open file descriptors.").add((), soft))
    except (OSError, IndexError, ValueError):
        pass  # not Linux, or the process is gone: the runtime families still say something
    collected = Snapshot(
        "python_gc_objects_collected_total", "Objects collected during gc", ("generation",), kind="counter"
    )
    uncollectable = Snapshot(
        "python_gc_objects_uncollectable_total",
        "Uncollectable objects found during GC",
        ("generation",),
        kind="counter",
    )
    collections = Snapshot(
        "python_gc_collections_total",
        "Number of times this generation was collected",
        ("generation",),
        kind="counter",
    )
    for generation, stats in enumerate(gc.get_stats()):
        collected.add((str(generation),), stats.get("collected", 0))
        uncollectable.add((str(generation),), stats.get("uncollectable", 0))
        collections.add((str(generation),), stats.get("collections", 0))
    major, minor, patch = platform.python_version_tuple()
    info = Snapshot(
        "python_info",
        "Python platform information",
        ("implementation", "major", "minor", "patchlevel", "version"),
    )
    info.add((platform.python_implementation(), major, minor, patch, platform.python_version()), 1)
    return [*families, collected, uncollectable, collections, info]


def metrics_response(registry: Registry | Callable[[], str]) -> web.Response:
    text = registry.render() if isinstance(registry, Registry) else registry()
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


async def serve(registry: Registry, port: int, address: str = "127.0.0.1") -> web.AppRunner:
    """A plain HTTP ``GET /metrics`` for a standalone component (``--metrics-port``)."""

    async def metrics(_: web.Request) -> web.Response:
        return metrics_response(registry)

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, address, port).start()
    return runner


# Registries of components that run inside another component's process (the scheduler of
# `kyb server`): the host's metrics endpoint serves them too, as one process has one registry.
COMPONENTS: dict[str, Registry] = {}
