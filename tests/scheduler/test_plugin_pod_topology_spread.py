"""PodTopologySpread, table-driven: Filter (maxSkew, minDomains, missing labels, node inclusion
policies, matchLabelKeys, namespaces), Score with upstream's weights and normalization, the system
default constraints over Services / ReplicaSets / ReplicationControllers / StatefulSets, and hints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sched_helpers import make_node, make_pod, node_info

from kybernetes.scheduler.framework import Code, CycleState, NodeInfo, NodeScore, QueueingHint, Snapshot
from kybernetes.scheduler.plugins.listers import Listers
from kybernetes.scheduler.plugins.pod_topology_spread import (
    ERR_REASON_CONSTRAINTS_NOT_MATCH,
    ERR_REASON_NODE_LABEL_NOT_MATCH,
    CriticalPaths,
    PodTopologySpread,
    default_selector,
)

Obj = dict[str, Any]
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"
WEB = {"app": "web"}
C, L = ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH


@dataclass
class Handle:
    snapshot: Snapshot


def pod(name: str, labels: dict[str, str] | None = None, *, ns: str = "default", node: str = "",
        spread: list[Obj] | None = None, owner: tuple[str, str, str] | None = None, **kw: Any) -> Obj:
    p = make_pod(name, ns=ns, node=node, **kw)
    p["metadata"]["labels"] = dict(labels or {})
    if spread:
        p["spec"]["topologySpreadConstraints"] = spread
    if owner:
        p["metadata"]["ownerReferences"] = [{"apiVersion": owner[0], "kind": owner[1], "name": owner[2],
                                             "uid": "u", "controller": True}]
    return p


def constraint(key: str, skew: int = 1, when: str = "DoNotSchedule", labels: dict[str, str] | None = None,
               **extra: Any) -> Obj:
    return {"maxSkew": skew, "topologyKey": key, "whenUnsatisfiable": when,
            "labelSelector": {"matchLabels": WEB if labels is None else labels}, **extra}


def cluster(zones: Sequence[str | None], counts: list[int], *, taints: dict[int, Obj] | None = None,
            extra: list[Obj] | None = None) -> list[NodeInfo]:
    """Nodes n1.. in `zones` (None: no zone label) with counts[i] web pods each."""
    out = []
    for i, (z, n) in enumerate(zip(zones, counts, strict=True), 1):
        node = make_node(f"n{i}", labels={ZONE: z} if z else {},
                         taints=[(taints or {})[i]] if taints and i in taints else None)
        ni = node_info(node, *[pod(f"w{i}-{k}", WEB, node=f"n{i}") for k in range(n)])
        out.append(ni)
    for p in extra or ():
        next(n for n in out if n.name == p["spec"]["nodeName"]).add_pod(p)
    return out


def plugin(nodes: list[NodeInfo], listers: Listers | None = None, args: Obj | None = None) -> PodTopologySpread:
    return PodTopologySpread(args or {}, Handle(Snapshot.of(nodes)), listers)


def filter_all(pl: PodTopologySpread, p: Obj, nodes: list[NodeInfo]) -> dict[str, str] | str:
    state = CycleState()
    _, st = pl.pre_filter(state, p, nodes)
    if st is not None:
        return "SKIP" if st.code == Code.SKIP else st.message()
    return {n.name: "" if (fs := pl.filter(state, p, n)) is None else fs.reasons[0] for n in nodes}


THREE = ["a", "b", "c"]
FILTER_CASES = [
    ("zone skew 1: the fullest zone is out", pod("p", WEB, spread=[constraint(ZONE)]), THREE, [2, 1, 1], {},
     {"n1": C, "n2": "", "n3": ""}),
    ("zone skew 2 allows it", pod("p", WEB, spread=[constraint(ZONE, 2)]), THREE, [2, 1, 1], {},
     {"n1": "", "n2": "", "n3": ""}),
    ("an empty zone is the minimum", pod("p", WEB, spread=[constraint(ZONE)]), THREE, [1, 1, 0], {},
     {"n1": C, "n2": C, "n3": ""}),
    ("zones are summed over their nodes", pod("p", WEB, spread=[constraint(ZONE)]), ["a", "a", "b"], [1, 0, 0], {},
     {"n1": C, "n2": C, "n3": ""}),
    ("pod not matching its own selector adds nothing", pod("p", {"app": "other"}, spread=[constraint(ZONE)]), THREE,
     [2, 1, 1], {}, {"n1": "", "n2": "", "n3": ""}),
    ("hostname spreading", pod("p", WEB, spread=[constraint(HOST)]), THREE, [1, 0, 1], {},
     {"n1": C, "n2": "", "n3": C}),
    ("missing topology label is unresolvable", pod("p", WEB, spread=[constraint(ZONE)]), ["a", None, "b"],
     [0, 0, 0], {}, {"n1": "", "n2": L, "n3": ""}),
    ("minDomains above the domain count makes the minimum 0",
     pod("p", WEB, spread=[constraint(ZONE, minDomains=4)]), THREE, [1, 1, 1], {}, {"n1": C, "n2": C, "n3": C}),
    ("minDomains met", pod("p", WEB, spread=[constraint(ZONE, minDomains=3)]), THREE, [1, 1, 1], {},
     {"n1": "", "n2": "", "n3": ""}),
    ("nodeAffinityPolicy Honor: excluded zones do not count",
     pod("p", WEB, spread=[constraint(ZONE)], affinity={"nodeAffinity": {
         "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
             {"matchExpressions": [{"key": ZONE, "operator": "In", "values": ["a", "b"]}]}]}}}),
     THREE, [1, 1, 0], {}, {"n1": "", "n2": "", "n3": ""}),
    ("nodeAffinityPolicy Ignore: they do",
     pod("p", WEB, spread=[constraint(ZONE, nodeAffinityPolicy="Ignore")], selector={ZONE: "a"}),
     THREE, [1, 1, 0], {}, {"n1": C, "n2": C, "n3": ""}),
    ("nodeTaintsPolicy Honor: a tainted node's zone does not count",
     pod("p", WEB, spread=[constraint(ZONE, nodeTaintsPolicy="Honor")]), THREE, [1, 1, 0],
     {3: {"key": "k", "effect": "NoSchedule"}}, {"n1": "", "n2": "", "n3": ""}),
    ("nodeTaintsPolicy Ignore (default): it does", pod("p", WEB, spread=[constraint(ZONE)]), THREE, [1, 1, 0],
     {3: {"key": "k", "effect": "NoSchedule"}}, {"n1": C, "n2": C, "n3": ""}),
    ("matchLabelKeys narrows to the same revision",
     pod("p", {"app": "web", "rev": "2"}, spread=[constraint(ZONE, matchLabelKeys=["rev"])]), THREE, [2, 0, 0], {},
     {"n1": "", "n2": "", "n3": ""}),
    ("an empty selector counts nothing (as upstream)", pod("p", WEB, spread=[constraint(ZONE, labels={})]),
     THREE, [3, 0, 0], {}, {"n1": "", "n2": "", "n3": ""}),
    ("ScheduleAnyway does not filter", pod("p", WEB, spread=[constraint(ZONE, when="ScheduleAnyway")]),
     THREE, [5, 0, 0], {}, "SKIP"),
    ("no constraints and no default selector", pod("p", WEB), THREE, [5, 0, 0], {}, "SKIP"),
]


@pytest.mark.parametrize("name,p,zones,counts,taints,want", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_filter(name: str, p: Obj, zones: list[str | None], counts: list[int], taints: dict[int, Obj],
                want: dict[str, str] | str) -> None:
    nodes = cluster(zones, counts, taints=taints)
    assert filter_all(plugin(nodes), p, nodes) == want


def test_other_namespaces_and_terminating_pods_do_not_count() -> None:
    gone = pod("gone", WEB, node="n2")
    gone["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    nodes = cluster(THREE, [0, 0, 0], extra=[pod("x", WEB, ns="other", node="n1"), gone])
    assert filter_all(plugin(nodes), pod("p", WEB, spread=[constraint(ZONE)]), nodes) == {"n1": "", "n2": "", "n3": ""}


def test_filter_status_codes_and_extensions() -> None:
    nodes = cluster(["a", None, "b"], [1, 0, 0])
    pl = plugin(nodes)
    p = pod("p", WEB, spread=[constraint(ZONE)])
    state = CycleState()
    pl.pre_filter(state, p, nodes)
    st = pl.filter(state, p, nodes[0])
    assert st is not None and st.code == Code.UNSCHEDULABLE
    st = pl.filter(state, p, nodes[1])
    assert st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    # Preemption's what-if: removing the web pod on n1 makes n1 fit; adding one on n3 makes n3 not fit.
    removed = state.clone()
    pl.remove_pod(removed, p, nodes[0].pods[0].pod, nodes[0])
    assert pl.filter(removed, p, nodes[0]) is None
    pl.add_pod(state, p, pod("new", WEB, node="n3"), nodes[2])
    assert pl.filter(state, p, nodes[2]) is None  # 1 + 1 - 1 = 1 <= 1
    assert pl.filter(state, p, nodes[0]) is None


def test_critical_paths_keep_the_minimum() -> None:
    cp = CriticalPaths()
    for v, n in (("a", 3), ("b", 1), ("c", 2)):
        cp.update(v, n)
    assert cp.min == 1
    cp.update("b", 4)
    assert cp.min == 2


def scores(pl: PodTopologySpread, p: Obj, nodes: list[NodeInfo]) -> dict[str, int] | None:
    state = CycleState()
    if pl.pre_score(state, p, nodes) is not None:
        return None
    raw = [NodeScore(n.name, pl.score(state, p, n)[0]) for n in nodes]
    pl.normalize_score(state, p, raw)
    return {s.name: s.score for s in raw}


W5 = math.log(5)
SCORE_CASES = [
    # hostname, 3 nodes: weight log(5); raw round(0), round(W5), round(2*W5) = 0, 2, 3
    ("hostname: fewer pods score higher", pod("p", WEB, spread=[constraint(HOST, when="ScheduleAnyway")]),
     THREE, [0, 1, 2], {"n1": 100, "n2": 33, "n3": 0}),
    # maxSkew 3 adds 2 to every raw score: 2, 4, 5 -> 100*(5+2-s)//5
    ("maxSkew softens the differences", pod("p", WEB, spread=[constraint(HOST, 3, when="ScheduleAnyway")]),
     THREE, [0, 1, 2], {"n1": 100, "n2": 60, "n3": 40}),
    # zones a (n1+n2: 2 pods), b (1 pod): weight log(4); raw round(2*1.386)=3, 3, round(1.386)=1
    ("zone counts are per domain", pod("p", WEB, spread=[constraint(ZONE, when="ScheduleAnyway")]),
     ["a", "a", "b"], [1, 1, 1], {"n1": 33, "n2": 33, "n3": 100}),
    ("nodes without the key are ignored (own constraints)",
     pod("p", WEB, spread=[constraint(ZONE, when="ScheduleAnyway")]), ["a", None, "b"], [1, 0, 0],
     {"n1": 0, "n2": 0, "n3": 100}),
    ("all equal: everyone 100", pod("p", WEB, spread=[constraint(HOST, when="ScheduleAnyway")]),
     THREE, [0, 0, 0], {"n1": 100, "n2": 100, "n3": 100}),
    ("DoNotSchedule does not score", pod("p", WEB, spread=[constraint(HOST)]), THREE, [0, 1, 2], None),
]


@pytest.mark.parametrize("name,p,zones,counts,want", SCORE_CASES, ids=[c[0] for c in SCORE_CASES])
def test_score(name: str, p: Obj, zones: list[str | None], counts: list[int], want: dict[str, int] | None) -> None:
    nodes = cluster(zones, counts)
    assert scores(plugin(nodes), p, nodes) == want


SERVICE = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"selector": WEB}}
NO_SELECTOR_SERVICE = {"metadata": {"name": "ext", "namespace": "default"}, "spec": {}}
RS = {"metadata": {"name": "web-rs", "namespace": "default"},
      "spec": {"selector": {"matchLabels": {"app": "web", "hash": "1"}}}}
RC = {"metadata": {"name": "web-rc", "namespace": "default"}, "spec": {"selector": {"rc": "x"}}}
STS = {"metadata": {"name": "db", "namespace": "default"},
       "spec": {"selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["db"]}]}}}
SELECTOR_CASES = [
    ("a Service selecting the pod", pod("p", WEB), "app=web"),
    ("a Service in another namespace does not", pod("p", WEB, ns="other"), ""),
    ("a Service without selector selects nothing", pod("p", {"x": "y"}), ""),
    ("the ReplicaSet owning it", pod("p", {"app": "web", "hash": "1"}, owner=("apps/v1", "ReplicaSet", "web-rs")),
     "app=web,hash=1"),
    ("the ReplicationController owning it", pod("p", {"rc": "x"}, owner=("v1", "ReplicationController", "web-rc")),
     "rc=x"),
    ("the StatefulSet owning it", pod("p", {"app": "db"}, owner=("apps/v1", "StatefulSet", "db")), "app in (db)"),
    ("an owner that is gone", pod("p", {"x": "y"}, owner=("apps/v1", "ReplicaSet", "gone")), ""),
    ("a Job owner does not count", pod("p", {"x": "y"}, owner=("batch/v1", "Job", "j")), ""),
]


@pytest.mark.parametrize("name,p,want", SELECTOR_CASES, ids=[c[0] for c in SELECTOR_CASES])
def test_default_selector(name: str, p: Obj, want: str) -> None:
    listers = Listers.of(services=[SERVICE, NO_SELECTOR_SERVICE], replicasets=[RS], replicationcontrollers=[RC],
                         statefulsets=[STS])
    assert str(default_selector(p, listers)) == want


def test_system_default_spreading_by_service() -> None:
    listers = Listers.of(services=[SERVICE])
    nodes = cluster(["a", "a", "b", None], [2, 0, 0, 0])
    pl = plugin(nodes, listers)
    p = pod("p", WEB)
    assert filter_all(pl, p, nodes) == "SKIP"  # defaults are ScheduleAnyway only
    got = scores(pl, p, nodes)
    assert got is not None
    # The node without a zone still takes part (hostname spreading); the loaded node scores lowest.
    assert got["n1"] < got["n3"] and got["n1"] < got["n2"] and got["n4"] > 0
    assert max(got.values()) == 100
    assert scores(plugin(nodes, Listers()), p, nodes) is None  # no Service: nothing to spread


def test_list_defaulting() -> None:
    listers = Listers.of(services=[SERVICE])
    nodes = cluster(THREE, [1, 0, 0])
    pl = plugin(nodes, listers, {"defaultingType": "List", "defaultConstraints": [
        {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"}]})
    assert filter_all(pl, pod("p", WEB), nodes) == {"n1": C, "n2": "", "n3": ""}
    assert scores(plugin(nodes, listers, {"defaultingType": "List"}), pod("p", WEB), nodes) is None
    with pytest.raises(ValueError):
        PodTopologySpread({"defaultConstraints": [{"maxSkew": 1}]})


def test_counts_are_memoized_until_the_node_changes() -> None:
    nodes = cluster(THREE, [1, 0, 0])
    pl = plugin(nodes)
    p = pod("p", WEB, spread=[constraint(ZONE)])
    assert filter_all(pl, p, nodes) == {"n1": C, "n2": "", "n3": ""}
    nodes[1].add_pod(pod("more", WEB, node="n2"))
    assert filter_all(pl, p, nodes) == {"n1": C, "n2": C, "n3": ""}
    nodes[0].remove_pod("default/w1-0")
    assert filter_all(pl, p, nodes) == {"n1": "", "n2": C, "n3": ""}


def test_hints() -> None:
    pl = PodTopologySpread({})
    p = pod("p", WEB, spread=[constraint(ZONE)])
    assert pl._pod_hint(p, None, pod("w", WEB, node="n1")) == QueueingHint.QUEUE
    assert pl._pod_hint(p, pod("w", WEB, node="n1"), None) == QueueingHint.QUEUE
    assert pl._pod_hint(p, None, pod("w", WEB)) == QueueingHint.QUEUE_SKIP  # not assigned
    assert pl._pod_hint(p, None, pod("w", WEB, ns="other", node="n1")) == QueueingHint.QUEUE_SKIP
    assert pl._pod_hint(p, None, pod("o", {"app": "x"}, node="n1")) == QueueingHint.QUEUE_SKIP
    assert pl._pod_hint(p, pod("w", WEB, node="n1"), pod("w", {"app": "x"}, node="n1")) == QueueingHint.QUEUE
    assert pl._node_hint(p, None, make_node("n", labels={ZONE: "a"})) == QueueingHint.QUEUE
    assert pl._node_hint(p, None, make_node("n")) == QueueingHint.QUEUE_SKIP
    assert pl._node_hint(p, make_node("n", labels={ZONE: "a"}), make_node("n", labels={ZONE: "b"})) == \
        QueueingHint.QUEUE
