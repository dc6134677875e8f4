"""Turn a kubelet's ``/stats/summary`` answer into usage numbers (pure).

A summary (kubelet stats API v1alpha1, also what the simulator serves) carries, for the node and
for each container of each pod, ``cpu{time, usageNanoCores, usageCoreNanoSeconds}`` and
``memory{time, workingSetBytes}``. Decoding keeps what usage needs as `Point`s; anything
malformed is dropped rather than trusted (the summary comes from a node, not from us).

Rules (the metrics API's meaning, as metrics-server gives it):

1. Memory is the working set (``workingSetBytes``); a point without it is no point.
2. CPU is the kubelet's own rate ``usageNanoCores`` when it sends one (the simulator always
   does; the real kubelet from its second answer on). Without it, the rate is the growth of
   the cumulative ``usageCoreNanoSeconds`` since the previous point of the same container or
   node — only when that previous point is older, the counter did not go back and the thing
   did not restart in between (its start time is before the previous point).
3. The point's time is the CPU sample's time (else memory's): the rate belongs to it.
4. ``window`` is the time since the previous point of the same object, or the scrape period
   for a first point.
5. A pod is usable only when every container in it is (a partial pod would read as "uses
   less"; an autoscaler must see "no metrics" instead) and it has at least one container.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from kybernetes.machinery.quantity import BINARY_SI, DECIMAL_SI, Quantity
from kybernetes.util.times import parse_time

NANO = 10**9


@dataclass(frozen=True, slots=True)
class Point:
    """One sample of one container or node."""

    timestamp: float  # epoch seconds of the CPU sample (else the memory sample)
    memory: int  # working set, bytes
    nano_cores: int | None = None  # the kubelet's rate, if it sent one
    cumulative: int | None = None  # core-nanoseconds since start, if sent
    start: float | None = None  # when the container or node started, if known


@dataclass(frozen=True, slots=True)
class PodPoint:
    namespace: str
    name: str
    uid: str  # "" when the summary does not say
    containers: tuple[tuple[str, Point], ...]  # in the summary's order


@dataclass(frozen=True, slots=True)
class NodeBatch:
    """What one node's summary said: its own point and its pods' points."""

    node: Point | None
    pods: tuple[PodPoint, ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    """Usage the API reports: a rate over `window` seconds ending at `timestamp`."""

    timestamp: float
    window: float
    nano_cores: int
    memory: int


@dataclass(frozen=True, slots=True)
class PodUsage:
    namespace: str
    name: str
    uid: str
    containers: tuple[tuple[str, Usage], ...]

    @property
    def timestamp(self) -> float:
        # the oldest container sample: the pod's numbers are at least that fresh
        return min(u.timestamp for _, u in self.containers)

    @property
    def window(self) -> float:
        return min(u.window for _, u in self.containers)


# --- decoding ----------------------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    """A non-negative integer counter (JSON numbers only; bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value < 0 or value != value or value in (float("inf"),):
        return None
    return int(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None


def decode_point(stats: Any) -> Point | None:
    """The `Point` in a node's or container's stats (``cpu``, ``memory``, ``startTime``), or None."""
    if not isinstance(stats, Mapping):
        return None
    cpu = _mapping(stats.get("cpu"))
    memory = _mapping(stats.get("memory"))
    working_set = _count(memory.get("workingSetBytes"))
    nano_cores = _count(cpu.get("usageNanoCores"))
    cumulative = _count(cpu.get("usageCoreNanoSeconds"))
    stamp = _time(cpu.get("time")) or _time(memory.get("time"))
    if working_set is None or stamp is None or (nano_cores is None and cumulative is None):
        return None
    return Point(
        timestamp=stamp,
        memory=working_set,
        nano_cores=nano_cores,
        cumulative=cumulative,
        start=_time(stats.get("startTime")),
    )


def decode_pod(stats: Any) -> PodPoint | None:
    """A pod's points, or None when the pod is unnamed, empty or any container is unusable."""
    if not isinstance(stats, Mapping):
        return None
    ref = stats.get("podRef")
    containers = stats.get("containers")
    if not isinstance(ref, Mapping) or not isinstance(containers, list) or not containers:
        return None
    name, namespace, uid = ref.get("name"), ref.get("namespace"), ref.get("uid") or ""
    if not isinstance(name, str) or not isinstance(namespace, str) or not name or not namespace:
        return None
    points: list[tuple[str, Point]] = []
    seen: set[str] = set()
    for c in containers:
        cname = c.get("name") if isinstance(c, Mapping) else None
        point = decode_point(c)
        if not isinstance(cname, str) or not cname or point is None:
            return None
        if cname in seen:
            continue  # a duplicate entry says nothing new; the first one counts
        seen.add(cname)
        points.append((cname, point))
    return PodPoint(namespace=namespace, name=name, uid=str(uid), containers=tuple(points))


def decode_summary(doc: Any) -> NodeBatch:
    """A summary document as a `NodeBatch` (unusable parts left out, never an exception)."""
    if not isinstance(doc, Mapping):
        return NodeBatch(node=None)
    node = decode_point(doc.get("node"))
    pods: list[PodPoint] = []
    seen: set[tuple[str, str]] = set()
    raw_pods = doc.get("pods")
    for raw in raw_pods if isinstance(raw_pods, list) else []:
        pod = decode_pod(raw)
        if pod is None or (pod.namespace, pod.name) in seen:
            continue
        seen.add((pod.namespace, pod.name))
        pods.append(pod)
    return NodeBatch(node=node, pods=tuple(pods))


# --- usage -------------------------------------------------------------------------------------------


def usage(last: Point, prev: Point | None, *, period: float) -> Usage | None:
    """The usage `last` reports, given the same object's previous point (rules 2-4)."""
    newer = prev is not None and last.timestamp > prev.timestamp
    window = last.timestamp - prev.timestamp if prev is not None and newer else period
    if last.nano_cores is not None:
        return Usage(timestamp=last.timestamp, window=window, nano_cores=last.nano_cores, memory=last.memory)
    if prev is None or not newer or last.cumulative is None or prev.cumulative is None:
        return None
    if last.cumulative < prev.cumulative:
        return None  # the counter went back: a restart
    if last.start is not None and last.start > prev.timestamp:
        return None  # started after the previous point: that point is another life's
    rate = (last.cumulative - prev.cumulative) / window
    return Usage(timestamp=last.timestamp, window=window, nano_cores=int(rate), memory=last.memory)


def pod_usage(pod: PodPoint, prev: PodPoint | None, *, period: float) -> PodUsage | None:
    """A pod's usage when every container has one (rule 5); the previous points come from the
    same pod's previous sample, but not across a re-created pod (another uid)."""
    before: dict[str, Point] = {}
    if prev is not None and (not pod.uid or not prev.uid or pod.uid == prev.uid):
        before = dict(prev.containers)
    out: list[tuple[str, Usage]] = []
    for name, point in pod.containers:
        u = usage(point, before.get(name), period=period)
        if u is None:
            return None
        out.append((name, u))
    if not out:
        return None
    return PodUsage(namespace=pod.namespace, name=pod.name, uid=pod.uid, containers=tuple(out))


# --- quantities --------------------------------------------------------------------------------------


def cpu_quantity(nano_cores: int) -> str:
    """CPU as the API writes a nano-scaled decimal quantity: ``12345678n``, ``250m``, ``2``."""
    return str(Quantity(Fraction(nano_cores, NANO), DECIMAL_SI))


def memory_quantity(num_bytes: int) -> str:
    """Memory as a binary quantity: ``123456Ki`` (page-sized working sets), ``64Mi``, ``1000``."""
    return str(Quantity(Fraction(num_bytes), BINARY_SI))
