"""InterPodAffinity, table-driven: Filter (the pod's affinity and anti-affinity, existing pods'
anti-affinity; namespaces, namespaceSelector, matchLabelKeys/mismatchLabelKeys, topology keys),
Score with normalization, the PreFilter extensions and the queueing hints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sched_helpers import make_node, make_pod, node_info

from kybernetes.scheduler.framework import Code, CycleState, NodeInfo, NodeScore, QueueingHint, Snapshot
from kybernetes.scheduler.plugins.inter_pod_affinity import (
    ERR_REASON_AFFINITY,
    ERR_REASON_ANTI_AFFINITY,
    ERR_REASON_EXISTING_ANTI_AFFINITY,
    InterPodAffinity,
    node_change_hint,
    pod_change_hint,
)
from kybernetes.scheduler.plugins.listers import Listers

Obj = dict[str, Any]
ZONE = "topology.kubernetes.io/zone"
HOST = "kubernetes.io/hostname"


@dataclass
class Handle:
    snapshot: Snapshot


def pod(name: str, labels: dict[str, str] | None = None, *, ns: str = "default", node: str = "",
        affinity: Obj | None = None) -> Obj:
    p = make_pod(name, ns=ns, node=node, affinity=affinity)
    p["metadata"]["labels"] = labels or {}
    return p


def term(key: str, labels: dict[str, str] | None, **extra: Any) -> Obj:
    t: Obj = {"topologyKey": key, **extra}
    if labels is not None:
        t["labelSelector"] = {"matchLabels": labels}
    return t


def required(kind: str, *terms: Obj) -> Obj:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def preferred(kind: str, *weighted: tuple[int, Obj]) -> Obj:
    return {kind: {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "podAffinityTerm": t} for w, t in weighted]}}


def cluster(*placed: Obj, zones: tuple[str, ...] = ("a", "a", "b")) -> list[NodeInfo]:
    """Nodes n1.. in `zones`; `placed` pods go to the node their spec.nodeName names."""
    nodes = [node_info(make_node(f"n{i}", labels={ZONE: z} if z else {})) for i, z in enumerate(zones, 1)]
    by_name = {n.name: n for n in nodes}
    for p in placed:
        by_name[p["spec"]["nodeName"]].add_pod(p)
    return nodes


def plugin(nodes: list[NodeInfo], listers: Listers | None = None, args: Obj | None = None) -> InterPodAffinity:
    return InterPodAffinity(args or {}, Handle(Snapshot.of(nodes)), listers)


def filter_all(pl: InterPodAffinity, p: Obj, nodes: list[NodeInfo]) -> dict[str, str]:
    """node -> reason ("" passes); "SKIP" when PreFilter skipped the plugin."""
    state = CycleState()
    _, st = pl.pre_filter(state, p, pl.handle.snapshot.node_info_list)
    if st is not None and st.code == Code.SKIP:
        return {n.name: "" for n in nodes}
    assert st is None
    out = {}
    for n in nodes:
        fs = pl.filter(state, p, n)
        out[n.name] = "" if fs is None else fs.reasons[0]
    return out


WEB = {"app": "web"}
DB = {"app": "db"}
A, N, E = ERR_REASON_AFFINITY, ERR_REASON_ANTI_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY

FILTER_CASES = [
    ("affinity: the zone with a matching pod",
     pod("p", affinity=required("podAffinity", term(ZONE, DB))), [pod("db", DB, node="n1")],
     {"n1": "", "n2": "", "n3": A}),
    ("affinity: hostname key means the same node",
     pod("p", affinity=required("podAffinity", term(HOST, DB))), [pod("db", DB, node="n2")],
     {"n1": A, "n2": "", "n3": A}),
    ("affinity: nothing matches and the pod does not match itself",
     pod("p", affinity=required("podAffinity", term(ZONE, DB))), [],
     {"n1": A, "n2": A, "n3": A}),
    ("affinity: first of its group (matches its own terms)",
     pod("p", DB, affinity=required("podAffinity", term(ZONE, DB))), [],
     {"n1": "", "n2": "", "n3": ""}),
    ("affinity: a node without the topology key never fits",
     pod("p", DB, affinity=required("podAffinity", term("rack", DB))), [],
     {"n1": A, "n2": A, "n3": A}),
    ("affinity: all terms must match one pod",
     pod("p", affinity=required("podAffinity", term(ZONE, DB), term(ZONE, {"tier": "x"}))),
     [pod("db", DB, node="n1"), pod("x", {"tier": "x"}, node="n1")],
     {"n1": A, "n2": A, "n3": A}),
    ("affinity: other namespace does not count",
     pod("p", affinity=required("podAffinity", term(ZONE, DB))), [pod("db", DB, ns="other", node="n1")],
     {"n1": A, "n2": A, "n3": A}),
    ("affinity: namespaces lists the other namespace",
     pod("p", affinity=required("podAffinity", term(ZONE, DB, namespaces=["other"]))),
     [pod("db", DB, ns="other", node="n3")], {"n1": A, "n2": A, "n3": ""}),
    ("affinity: empty namespaceSelector means every namespace",
     pod("p", affinity=required("podAffinity", term(ZONE, DB, namespaceSelector={}))),
     [pod("db", DB, ns="other", node="n3")], {"n1": A, "n2": A, "n3": ""}),
    ("affinity: absent labelSelector matches nothing",
     pod("p", DB, affinity=required("podAffinity", term(ZONE, None))), [pod("db", DB, node="n1")],
     {"n1": A, "n2": A, "n3": A}),
    ("anti-affinity: not on a node with a matching pod",
     pod("p", WEB, affinity=required("podAntiAffinity", term(HOST, WEB))), [pod("w", WEB, node="n1")],
     {"n1": N, "n2": "", "n3": ""}),
    ("anti-affinity: not in the zone of a matching pod",
     pod("p", WEB, affinity=required("podAntiAffinity", term(ZONE, WEB))), [pod("w", WEB, node="n1")],
     {"n1": N, "n2": N, "n3": ""}),
    ("anti-affinity: a node without the key is fine",
     pod("p", WEB, affinity=required("podAntiAffinity", term("rack", WEB))), [pod("w", WEB, node="n1")],
     {"n1": "", "n2": "", "n3": ""}),
    ("anti-affinity: matchLabelKeys narrows to the same version",
     pod("p", {"app": "web", "v": "2"}, affinity=required("podAntiAffinity", term(HOST, WEB, matchLabelKeys=["v"]))),
     [pod("w1", {"app": "web", "v": "1"}, node="n1"), pod("w2", {"app": "web", "v": "2"}, node="n2")],
     {"n1": "", "n2": N, "n3": ""}),
    ("anti-affinity: mismatchLabelKeys avoids other tenants",
     pod("p", {"tenant": "t1"}, affinity=required("podAntiAffinity", term(HOST, {}, mismatchLabelKeys=["tenant"]))),
     [pod("o", {"tenant": "t2"}, node="n1"), pod("s", {"tenant": "t1"}, node="n2")],
     {"n1": N, "n2": "", "n3": ""}),
    ("existing pods' anti-affinity keeps the pod out of their zone",
     pod("p", WEB), [pod("x", affinity=required("podAntiAffinity", term(ZONE, WEB)), node="n1")],
     {"n1": E, "n2": E, "n3": ""}),
    ("existing pods' anti-affinity for another namespace does not apply",
     pod("p", WEB), [pod("x", ns="other", affinity=required("podAntiAffinity", term(ZONE, WEB)), node="n1")],
     {"n1": "", "n2": "", "n3": ""}),
    ("no terms anywhere: skipped", pod("p", WEB), [pod("w", WEB, node="n1")], {"n1": "", "n2": "", "n3": ""}),
]


@pytest.mark.parametrize("name,p,placed,want", FILTER_CASES, ids=[c[0] for c in FILTER_CASES])
def test_filter(name: str, p: Obj, placed: list[Obj], want: dict[str, str]) -> None:
    nodes = cluster(*placed)
    assert filter_all(plugin(nodes), p, nodes) == want


def test_filter_codes() -> None:
    nodes = cluster(pod("w", WEB, node="n1"))
    pl = plugin(nodes)
    state = CycleState()
    p = pod("p", WEB, affinity={**required("podAffinity", term(ZONE, DB)), **required("podAntiAffinity",
                                                                                     term(HOST, WEB))})
    pl.pre_filter(state, p, nodes)
    st = pl.filter(state, p, nodes[0])
    assert st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE and st.reasons == [A]
    p2 = pod("p2", WEB, affinity=required("podAntiAffinity", term(HOST, WEB)))
    state = CycleState()
    pl.pre_filter(state, p2, nodes)
    st = pl.filter(state, p2, nodes[0])
    assert st is not None and st.code == Code.UNSCHEDULABLE  # preemption may help


def test_namespace_selector_through_listers() -> None:
    listers = Listers.of(namespaces=[
        {"metadata": {"name": "team-a", "labels": {"team": "a"}}},
        {"metadata": {"name": "team-b", "labels": {"team": "b"}}}])
    nodes = cluster(pod("db-a", DB, ns="team-a", node="n1"), pod("db-b", DB, ns="team-b", node="n3"))
    p = pod("p", affinity=required("podAffinity", term(HOST, DB, namespaceSelector={"matchLabels": {"team": "b"}})))
    assert filter_all(plugin(nodes, listers), p, nodes) == {"n1": A, "n2": A, "n3": ""}
    # An existing pod's anti-affinity namespaceSelector is matched against the incoming pod's namespace labels.
    guard = pod("g", affinity=required("podAntiAffinity", term(HOST, WEB, namespaceSelector={
        "matchLabels": {"team": "a"}})), node="n2")
    nodes = cluster(guard)
    assert filter_all(plugin(nodes, listers), pod("w", WEB, ns="team-a"), nodes) == {"n1": "", "n2": E, "n3": ""}
    assert filter_all(plugin(nodes, listers), pod("w", WEB, ns="team-b"), nodes) == {"n1": "", "n2": "", "n3": ""}


def test_pre_filter_extensions_add_and_remove() -> None:
    nodes = cluster()
    pl = plugin(nodes)
    p = pod("p", WEB, affinity=required("podAntiAffinity", term(ZONE, WEB)))
    state = CycleState()
    pl.pre_filter(state, p, nodes)
    assert pl.filter(state, p, nodes[0]) is None
    other = pod("w", WEB, node="n1")
    assert pl.add_pod(state, p, other, nodes[0]) is None
    st = pl.filter(state, p, nodes[1])
    assert st is not None and st.reasons == [N]
    clone = state.clone()
    pl.remove_pod(clone, p, other, nodes[0])
    assert pl.filter(clone, p, nodes[1]) is None
    assert pl.filter(state, p, nodes[1]) is not None  # the clone's change did not leak


def scores(pl: InterPodAffinity, p: Obj, nodes: list[NodeInfo]) -> dict[str, int] | None:
    state = CycleState()
    if pl.pre_score(state, p, nodes) is not None:
        return None  # skipped
    raw = [NodeScore(n.name, pl.score(state, p, n)[0]) for n in nodes]
    pl.normalize_score(state, p, raw)
    return {s.name: s.score for s in raw}


SCORE_CASES = [
    ("preferred affinity to the zone of db", pod("p", affinity=preferred("podAffinity", (10, term(ZONE, DB)))),
     [pod("db", DB, node="n1")], {"n1": 100, "n2": 100, "n3": 0}),
    ("preferred anti-affinity away from web", pod("p", affinity=preferred("podAntiAffinity", (10, term(HOST, WEB)))),
     [pod("w", WEB, node="n2")], {"n1": 100, "n2": 0, "n3": 100}),
    ("weights add per matching pod",
     pod("p", affinity=preferred("podAffinity", (5, term(HOST, DB)), (20, term(ZONE, WEB)))),
     [pod("db", DB, node="n1"), pod("db2", DB, node="n1"), pod("w", WEB, node="n3")],
     # n1: 5+5 = 10, n2: 0, n3: 20 -> (x - 0) / 20
     {"n1": 50, "n2": 0, "n3": 100}),
    ("existing pod's required affinity attracts (hardPodAffinityWeight 1)",
     pod("p", WEB), [pod("x", affinity=required("podAffinity", term(ZONE, WEB)), node="n3")],
     {"n1": 0, "n2": 0, "n3": 100}),
    ("existing pod's preferred anti-affinity repels",
     pod("p", WEB), [pod("x", affinity=preferred("podAntiAffinity", (50, term(ZONE, WEB))), node="n1")],
     {"n1": 0, "n2": 0, "n3": 100}),
    ("no preferences anywhere: skipped", pod("p", WEB), [pod("w", WEB, node="n1")], None),
]


@pytest.mark.parametrize("name,p,placed,want", SCORE_CASES, ids=[c[0] for c in SCORE_CASES])
def test_score(name: str, p: Obj, placed: list[Obj], want: dict[str, int] | None) -> None:
    nodes = cluster(*placed)
    assert scores(plugin(nodes), p, nodes) == want


def test_score_args() -> None:
    nodes = cluster(pod("x", affinity=required("podAffinity", term(ZONE, WEB)), node="n3"))
    assert scores(plugin(nodes, args={"hardPodAffinityWeight": 0}), pod("p", WEB), nodes) is None  # nothing counts
    assert scores(plugin(nodes, args={"ignorePreferredTermsOfExistingPods": True}), pod("p", WEB), nodes) is None


HINT_CASES = [
    ("assigned pod matching affinity added", pod("p", affinity=required("podAffinity", term(ZONE, DB))),
     None, pod("db", DB, node="n1"), QueueingHint.QUEUE),
    ("unassigned pod added", pod("p", affinity=required("podAffinity", term(ZONE, DB))),
     None, pod("db", DB), QueueingHint.QUEUE_SKIP),
    ("other pod added", pod("p", affinity=required("podAffinity", term(ZONE, DB))),
     None, pod("w", WEB, node="n1"), QueueingHint.QUEUE_SKIP),
    ("pod matching anti-affinity deleted", pod("p", affinity=required("podAntiAffinity", term(ZONE, WEB))),
     pod("w", WEB, node="n1"), None, QueueingHint.QUEUE),
    ("pod whose anti-affinity rejected us deleted", pod("p", WEB),
     pod("x", affinity=required("podAntiAffinity", term(ZONE, WEB)), node="n1"), None, QueueingHint.QUEUE),
    ("labels changed to match affinity", pod("p", affinity=required("podAffinity", term(ZONE, DB))),
     pod("x", WEB, node="n1"), pod("x", DB, node="n1"), QueueingHint.QUEUE),
    ("labels changed away from anti-affinity", pod("p", affinity=required("podAntiAffinity", term(ZONE, WEB))),
     pod("x", WEB, node="n1"), pod("x", DB, node="n1"), QueueingHint.QUEUE),
    ("unrelated label change", pod("p", affinity=required("podAffinity", term(ZONE, DB))),
     pod("x", WEB, node="n1"), pod("x", {"app": "web", "v": "2"}, node="n1"), QueueingHint.QUEUE_SKIP),
]


@pytest.mark.parametrize("name,p,old,new,want", HINT_CASES, ids=[c[0] for c in HINT_CASES])
def test_pod_hint(name: str, p: Obj, old: Obj | None, new: Obj | None, want: QueueingHint) -> None:
    assert pod_change_hint(p, old, new) == want


def test_node_hint() -> None:
    p = pod("p", affinity=required("podAffinity", term("rack", DB)))
    bare, racked = make_node("n"), make_node("n", labels={"rack": "r1"})
    assert node_change_hint(p, None, bare) == QueueingHint.QUEUE
    assert node_change_hint(p, bare, racked) == QueueingHint.QUEUE
    assert node_change_hint(p, racked, make_node("n", labels={"rack": "r1", "x": "y"})) == QueueingHint.QUEUE_SKIP
