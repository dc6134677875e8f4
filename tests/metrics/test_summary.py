"""Summary -> points -> usage: the pure rules of kybernetes.metrics.summary, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.metrics.summary import (
    NodeBatch,
    PodPoint,
    Point,
    cpu_quantity,
    decode_pod,
    decode_point,
    decode_summary,
    memory_quantity,
    pod_usage,
    usage,
)
from kybernetes.util.times import parse_time

T0 = "2026-01-01T00:00:00Z"
T10 = "2026-01-01T00:00:10Z"
E0 = parse_time(T0)


def stats(
    *,
    nano: Any = 5_000_000,
    cum: Any = 1_000,
    ws: Any = 4096,
    cpu_time: Any = T0,
    mem_time: Any = T0,
    start: Any = None,
) -> dict[str, Any]:
    cpu: dict[str, Any] = {"time": cpu_time}
    if nano is not None:
        cpu["usageNanoCores"] = nano
    if cum is not None:
        cpu["usageCoreNanoSeconds"] = cum
    memory: dict[str, Any] = {"time": mem_time}
    if ws is not None:
        memory["workingSetBytes"] = ws
    out: dict[str, Any] = {"cpu": cpu, "memory": memory}
    if start is not None:
        out["startTime"] = start
    return out


POINTS: list[tuple[str, Any, Point | None]] = [
    ("both-rates", stats(), Point(E0, 4096, 5_000_000, 1_000)),
    ("no-rate-yet", stats(nano=None), Point(E0, 4096, None, 1_000)),
    ("no-cpu-at-all", stats(nano=None, cum=None), None),
    ("no-working-set", stats(ws=None), None),
    ("negative-memory", stats(ws=-1), None),
    ("string-number", stats(nano="5"), Point(E0, 4096, None, 1_000)),
    ("bool-is-no-number", stats(nano=True, cum=None), None),
    ("cpu-time-wins", stats(mem_time=T10), Point(E0, 4096, 5_000_000, 1_000)),
    (
        "memory-time-without-cpu-time",
        stats(cpu_time=None, mem_time=T10),
        Point(E0 + 10, 4096, 5_000_000, 1_000),
    ),
    ("no-time", stats(cpu_time=None, mem_time=None), None),
    ("bad-time", stats(cpu_time="yesterday", mem_time=None), None),
    ("start-time-kept", stats(start=T0), Point(E0, 4096, 5_000_000, 1_000, start=E0)),
    ("not-a-mapping", ["cpu"], None),
    ("cpu-not-a-mapping", {"cpu": 3, "memory": {"time": T0, "workingSetBytes": 1}}, None),
]


@pytest.mark.parametrize(("name", "raw", "want"), POINTS, ids=[p[0] for p in POINTS])
def test_decode_point(name: str, raw: Any, want: Point | None) -> None:
    assert decode_point(raw) == want


def pod(name: str = "p", *containers: dict[str, Any], ns: str = "default", uid: str = "u1") -> dict[str, Any]:
    return {"podRef": {"name": name, "namespace": ns, "uid": uid}, "containers": list(containers)}


def container(name: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, **stats(**kw)}


PODS: list[tuple[str, Any, list[str] | None]] = [
    ("one-container", pod("p", container("a")), ["a"]),
    ("two-containers-in-order", pod("p", container("b"), container("a")), ["b", "a"]),
    ("partial-pod-dropped", pod("p", container("a"), container("b", ws=None)), None),
    ("no-containers", pod("p"), None),
    ("unnamed-container", pod("p", {"cpu": {}, "memory": {}}), None),
    ("duplicate-container-once", pod("p", container("a"), container("a", nano=7)), ["a"]),
    ("no-namespace", pod("p", container("a"), ns=""), None),
    ("no-pod-ref", {"containers": [container("a")]}, None),
]


@pytest.mark.parametrize(("name", "raw", "want"), PODS, ids=[p[0] for p in PODS])
def test_decode_pod(name: str, raw: Any, want: list[str] | None) -> None:
    got = decode_pod(raw)
    assert (None if got is None else [c for c, _ in got.containers]) == want


def test_decode_summary_keeps_what_is_usable() -> None:
    doc = {
        "node": {"nodeName": "n1", **stats(nano=100)},
        "pods": [
            pod("a", container("c")),
            pod("bad", container("c", ws=None)),
            "junk",
            pod("a", container("c", nano=1)),
        ],
    }
    batch = decode_summary(doc)
    assert batch.node == Point(E0, 4096, 100, 1_000)
    assert [p.name for p in batch.pods] == ["a"]  # the broken, the junk and the duplicate are left out
    assert batch.pods[0].containers[0][1].nano_cores == 5_000_000


@pytest.mark.parametrize(
    "doc",
    [None, [], "x", {"node": None, "pods": None}, {"pods": {"a": 1}}],
    ids=["none", "list", "string", "nulls", "pods-not-a-list"],
)
def test_decode_summary_of_garbage_is_empty(doc: Any) -> None:
    assert decode_summary(doc) == NodeBatch(node=None)


USAGE: list[tuple[str, Point, Point | None, tuple[int, float] | None]] = [
    ("rate-first-point-window-is-period", Point(E0, 1, 250_000_000, 10), None, (250_000_000, 15.0)),
    (
        "rate-window-since-previous",
        Point(E0 + 10, 1, 250_000_000, 10),
        Point(E0, 1, 1, 1),
        (250_000_000, 10.0),
    ),
    ("rate-preferred-over-counter", Point(E0 + 10, 1, 7, 10**10), Point(E0, 1, 1, 0), (7, 10.0)),
    ("counter-growth", Point(E0 + 10, 1, None, 5 * 10**9), Point(E0, 1, None, 0), (500_000_000, 10.0)),
    ("counter-without-previous", Point(E0, 1, None, 5 * 10**9), None, None),
    ("counter-went-back", Point(E0 + 10, 1, None, 5), Point(E0, 1, None, 10), None),
    ("counter-same-time", Point(E0, 1, None, 20), Point(E0, 1, None, 10), None),
    ("counter-across-restart", Point(E0 + 10, 1, None, 20, start=E0 + 5), Point(E0, 1, None, 10), None),
    ("counter-same-life", Point(E0 + 10, 1, None, 20, start=E0 - 5), Point(E0, 1, None, 10), (1, 10.0)),
]


@pytest.mark.parametrize(("name", "last", "prev", "want"), USAGE, ids=[u[0] for u in USAGE])
def test_usage(name: str, last: Point, prev: Point | None, want: tuple[int, float] | None) -> None:
    got = usage(last, prev, period=15.0)
    assert (None if got is None else (got.nano_cores, got.window)) == want
    if got is not None:
        assert got.timestamp == last.timestamp and got.memory == last.memory


def test_pod_usage_needs_every_container_and_the_same_uid() -> None:
    a = Point(E0 + 10, 1, None, 2 * 10**9)
    b = Point(E0 + 10, 2, 3, 0)
    prev = PodPoint("default", "p", "u1", (("a", Point(E0, 1, None, 10**9)),))
    got = pod_usage(PodPoint("default", "p", "u1", (("a", a), ("b", b))), prev, period=15)
    assert got is not None and [(n, u.nano_cores) for n, u in got.containers] == [
        ("a", 100_000_000),
        ("b", 3),
    ]
    assert got.window == 10
    # a re-created pod (another uid) does not inherit the old pod's counters
    assert pod_usage(PodPoint("default", "p", "u2", (("a", a),)), prev, period=15) is None
    assert pod_usage(PodPoint("default", "p", "u1", ()), prev, period=15) is None


QUANTITIES = [
    ("cpu-nano", cpu_quantity(12_345_678), "12345678n"),
    ("cpu-milli", cpu_quantity(250_000_000), "250m"),
    ("cpu-cores", cpu_quantity(2_000_000_000), "2"),
    ("cpu-zero", cpu_quantity(0), "0"),
    ("memory-pages", memory_quantity(4096 * 155), "620Ki"),
    ("memory-mebi", memory_quantity(64 * 2**20), "64Mi"),
    ("memory-odd-bytes", memory_quantity(1_234_567), "1234567"),
    ("memory-small", memory_quantity(1000), "1k"),
]


@pytest.mark.parametrize(("name", "got", "want"), QUANTITIES, ids=[q[0] for q in QUANTITIES])
def test_quantities(name: str, got: str, want: str) -> None:
    assert got == want
