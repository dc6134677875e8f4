"""The metrics store's invariants, which nodes get scraped where, and the scrape period setting."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.metrics.scraper import Target, default_period, scrape_target
from kybernetes.metrics.store import MetricsStore
from kybernetes.metrics.summary import NodeBatch, PodPoint, Point

E0 = 1_767_225_600.0


def batch(t: float, *pods: tuple[str, int | None], node_rate: int | None = 10, uid: str = "u") -> NodeBatch:
    return NodeBatch(
        node=Point(t, 100, node_rate, None),
        pods=tuple(
            PodPoint("default", name, uid, (("c", Point(t, 4096, rate, None)),)) for name, rate in pods
        ),
    )


def test_a_scrape_replaces_the_node_and_drops_vanished_pods() -> None:
    s = MetricsStore(period=15, expire_after=60)
    s.record("n1", batch(E0, ("a", 1), ("b", 2)), E0)
    assert sorted(s.pods()) == [("default", "a"), ("default", "b")]
    s.record("n1", batch(E0 + 15, ("a", 3)), E0 + 15)
    assert sorted(s.pods()) == [("default", "a")]
    a = s.pod("default", "a")
    assert a is not None and a.containers[0][1].nano_cores == 3 and a.window == 15
    assert s.pod("default", "b") is None


def test_latest_good_point_is_kept_while_the_new_one_has_no_rate() -> None:
    s = MetricsStore(period=15, expire_after=60)
    s.record("n1", batch(E0, ("a", 5)), E0)
    s.record("n1", batch(E0 + 15, ("a", None), node_rate=None), E0 + 15)
    a = s.pod("default", "a")
    assert a is not None and a.containers[0][1].nano_cores == 5
    node = s.node("n1")
    assert node is not None and node.nano_cores == 10


def test_a_recreated_pod_does_not_inherit_the_old_numbers() -> None:
    s = MetricsStore(period=15, expire_after=60)
    s.record("n1", batch(E0, ("a", 5), uid="old"), E0)
    s.record("n1", batch(E0 + 15, ("a", None), uid="new"), E0 + 15)
    assert s.pod("default", "a") is None


def test_first_real_kubelet_answer_has_no_rate_yet() -> None:
    s = MetricsStore(period=15, expire_after=60)
    s.record("n1", batch(E0, ("a", None), node_rate=None), E0)
    assert s.node("n1") is None and s.pod("default", "a") is None


def test_expiry_and_retain() -> None:
    s = MetricsStore(period=15, expire_after=60)
    s.record("n1", batch(E0, ("a", 1)), E0)
    s.record("n2", batch(E0 + 50, ("b", 1)), E0 + 50)
    s.expire(E0 + 61)
    assert s.node_names() == ["n2"] and s.pod("default", "a") is None
    s.retain(["n3"])
    assert s.node_names() == []


def test_a_pod_claimed_by_two_nodes_is_the_newer_sample() -> None:
    s = MetricsStore(period=15, expire_after=60)
    s.record("n1", batch(E0, ("a", 1)), E0)
    s.record("n2", batch(E0 + 5, ("a", 2)), E0 + 5)
    a = s.pod("default", "a")
    assert a is not None and a.containers[0][1].nano_cores == 2
    assert s.pods()[("default", "a")].containers[0][1].nano_cores == 2


READY = {"conditions": [{"type": "Ready", "status": "True"}]}


def node(
    name: str = "n1",
    *,
    status: dict[str, Any] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    st = {**READY, "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]} if status is None else status
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "status": st}


SIM = {"sim.kybernetes.io/hollow": "true"}
STATS = {"sim.kybernetes.io/stats-url": "http://127.0.0.1:9/nodes/n1/stats/summary"}

TARGETS: list[tuple[str, dict[str, Any], Target | None]] = [
    ("ready-real-node-default-port", node(), Target("n1", "https://10.0.0.5:10250/stats/summary")),
    (
        "reported-kubelet-port",
        node(
            status={
                **READY,
                "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 12345}},
            }
        ),
        Target("n1", "https://10.0.0.5:12345/stats/summary"),
    ),
    (
        "hostname-when-no-ip",
        node(status={**READY, "addresses": [{"type": "Hostname", "address": "box"}]}),
        Target("n1", "https://box:10250/stats/summary"),
    ),
    (
        "ipv6",
        node(status={**READY, "addresses": [{"type": "InternalIP", "address": "fd00::5"}]}),
        Target("n1", "https://[fd00::5]:10250/stats/summary"),
    ),
    (
        "not-ready",
        node(
            status={
                "conditions": [{"type": "Ready", "status": "Unknown"}],
                "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
            }
        ),
        None,
    ),
    ("no-conditions", node(status={"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}), None),
    ("no-address", node(status=READY), None),
    (
        "sim-with-stats-url",
        node(labels=SIM, annotations=STATS),
        Target("n1", STATS["sim.kybernetes.io/stats-url"]),
    ),
    ("sim-without-stats-is-never-dialled", node(labels=SIM), None),
    (
        "sim-stats-url-not-http",
        node(labels=SIM, annotations={"sim.kybernetes.io/stats-url": "file:///etc"}),
        None,
    ),
    (
        "stats-url-ignored-on-real-nodes",
        node(annotations=STATS),
        Target("n1", "https://10.0.0.5:10250/stats/summary"),
    ),
]


@pytest.mark.parametrize(("name", "obj", "want"), TARGETS, ids=[t[0] for t in TARGETS])
def test_scrape_target(name: str, obj: dict[str, Any], want: Target | None) -> None:
    assert scrape_target(obj) == want


PERIODS = [
    ("unset", {}, 15.0),
    ("seconds", {"KYB_METRICS_RESOLUTION": "2"}, 2.0),
    ("go-seconds", {"KYB_METRICS_RESOLUTION": "2.5s"}, 2.5),
    ("millis", {"KYB_METRICS_RESOLUTION": "500ms"}, 0.5),
    ("minutes", {"KYB_METRICS_RESOLUTION": "1m"}, 60.0),
    ("off", {"KYB_METRICS_RESOLUTION": "0"}, 0.0),
    ("garbage-means-default", {"KYB_METRICS_RESOLUTION": "soon"}, 15.0),
]


@pytest.mark.parametrize(("name", "env", "want"), PERIODS, ids=[p[0] for p in PERIODS])
def test_default_period(name: str, env: dict[str, str], want: float) -> None:
    assert default_period(env) == want
