"""Each default plugin's Filter and Score, table-driven over pod and node dicts."""

from __future__ import annotations

from typing import Any

import pytest
from sched_helpers import framework, make_node, make_pod, node_info, run_filters

from kybernetes.scheduler.framework import Code, CycleState, NodeScore, Snapshot
from kybernetes.scheduler.framework.resources import pod_requests
from kybernetes.scheduler.plugins.helpers import match_expression, tolerates
from kybernetes.scheduler.plugins.imagelocality import image_score
from kybernetes.scheduler.plugins.nodeaffinity import NodeAffinity
from kybernetes.scheduler.plugins.noderesources import (
    BalancedAllocation,
    Fit,
    balanced_score,
    least_requested_score,
    most_requested_score,
    requested_to_capacity_scorer,
)
from kybernetes.scheduler.plugins.simple import ports_conflict
from kybernetes.scheduler.plugins.tainttoleration import TaintToleration

Obj = dict[str, Any]
NS = "NoSchedule"


def _affinity(*terms: Obj) -> Obj:
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}}


def _expr(key: str, op: str, *values: str) -> Obj:
    e: Obj = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


FILTER_CASES = [
    ("fits", make_pod("p", cpu="1"), make_node("n"), (), ("", [])),
    ("insufficient cpu", make_pod("p", cpu="5"), make_node("n"), (), ("NodeResourcesFit", ["Insufficient cpu"])),
    ("insufficient cpu and memory", make_pod("p", cpu="3", memory="5Gi"), make_node("n"),
     (make_pod("q", cpu="2", memory="4Gi", node="n"),), ("NodeResourcesFit", ["Insufficient cpu", "Insufficient memory"])),
    ("too many pods", make_pod("p"), make_node("n", pods="1"), (make_pod("q", node="n"),),
     ("NodeResourcesFit", ["Too many pods"])),
    ("init container max", make_pod("p", cpu="1", init=[{"name": "i", "image": "x",
                                                          "resources": {"requests": {"cpu": "4500m"}}}]),
     make_node("n"), (), ("NodeResourcesFit", ["Insufficient cpu"])),
    ("overhead counts", make_pod("p", cpu="3900m", overhead={"cpu": "200m"}), make_node("n"), (),
     ("NodeResourcesFit", ["Insufficient cpu"])),
    ("extended resource missing", make_pod("p", extra={"example.com/gpu": "1"}), make_node("n"), (),
     ("NodeResourcesFit", ["Insufficient example.com/gpu"])),
    ("extended resource present", make_pod("p", extra={"example.com/gpu": "1"}),
     make_node("n", extra={"example.com/gpu": "2"}), (), ("", [])),
    ("nodeSelector mismatch", make_pod("p", selector={"disk": "ssd"}), make_node("n"), (),
     ("NodeAffinity", ["node(s) didn't match Pod's node affinity/selector"])),
    ("nodeSelector match", make_pod("p", selector={"disk": "ssd"}), make_node("n", labels={"disk": "ssd"}), (), ("", [])),
    ("affinity Gt", make_pod("p", affinity=_affinity({"matchExpressions": [_expr("cores", "Gt", "8")]})),
     make_node("n", labels={"cores": "16"}), (), ("", [])),
    ("affinity Lt fails", make_pod("p", affinity=_affinity({"matchExpressions": [_expr("cores", "Lt", "8")]})),
     make_node("n", labels={"cores": "16"}), (), ("NodeAffinity", ["node(s) didn't match Pod's node affinity/selector"])),
    ("affinity terms are ORed", make_pod("p", affinity=_affinity({"matchExpressions": [_expr("a", "Exists")]},
                                                                 {"matchExpressions": [_expr("b", "DoesNotExist")]})),
     make_node("n"), (), ("", [])),
    ("matchFields metadata.name", make_pod("p", affinity=_affinity({"matchFields": [_expr("metadata.name", "In", "m")]})),
     make_node("n"), (), ("NodeAffinity", ["node(s) didn't match Pod's node affinity/selector"])),
    ("untolerated taint", make_pod("p"), make_node("n", taints=[{"key": "k", "value": "v", "effect": NS}]), (),
     ("TaintToleration", ["node(s) had untolerated taint {k: v}"])),
    ("tolerated taint", make_pod("p", tolerations=[{"key": "k", "operator": "Equal", "value": "v", "effect": NS}]),
     make_node("n", taints=[{"key": "k", "value": "v", "effect": NS}]), (), ("", [])),
    ("PreferNoSchedule does not filter", make_pod("p"),
     make_node("n", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), (), ("", [])),
    ("cordoned", make_pod("p"), make_node("n", unschedulable=True), (),
     ("NodeUnschedulable", ["node(s) were unschedulable"])),
    ("cordoned but tolerated", make_pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable",
                                                           "operator": "Exists", "effect": NS}]),
     make_node("n", unschedulable=True), (), ("", [])),
    ("nodeName other", make_pod("p", node="m"), make_node("n"), (),
     ("NodeName", ["node(s) didn't match the requested node name"])),
    ("host port taken", make_pod("p", ports=[{"containerPort": 80, "hostPort": 8080}]), make_node("n"),
     (make_pod("q", node="n", ports=[{"containerPort": 80, "hostPort": 8080}]),),
     ("NodePorts", ["node(s) didn't have free ports for the requested pod ports"])),
    ("host port other protocol", make_pod("p", ports=[{"containerPort": 80, "hostPort": 8080, "protocol": "UDP"}]),
     make_node("n"), (make_pod("q", node="n", ports=[{"containerPort": 80, "hostPort": 8080}]),), ("", [])),
]


@pytest.mark.parametrize(("pod", "node", "existing", "want"), [c[1:] for c in FILTER_CASES],
                         ids=[c[0] for c in FILTER_CASES])
def test_filters(pod: Obj, node: Obj, existing: tuple[Obj, ...], want: tuple[str, list[str]]) -> None:
    fw = framework()
    assert run_filters(fw, pod, node_info(node, *existing)) == want


@pytest.mark.parametrize(("expr", "labels", "want"), [
    (_expr("a", "In", "x", "y"), {"a": "y"}, True),
    (_expr("a", "In", "x"), {}, False),
    (_expr("a", "NotIn", "x"), {}, True),
    (_expr("a", "NotIn", "x"), {"a": "x"}, False),
    (_expr("a", "Exists"), {"a": ""}, True),
    (_expr("a", "DoesNotExist"), {"a": ""}, False),
    (_expr("a", "Gt", "3"), {"a": "4"}, True),
    (_expr("a", "Gt", "3"), {"a": "x"}, False),
    (_expr("a", "Lt", "3"), {"a": "-1"}, True),
    (_expr("a", "Bogus", "3"), {"a": "1"}, False),
], ids=["in", "in-missing", "notin-missing", "notin", "exists", "doesnotexist", "gt", "gt-nonint", "lt", "bad-op"])
def test_match_expression(expr: Obj, labels: dict[str, str], want: bool) -> None:
    assert match_expression(expr, labels) is want


@pytest.mark.parametrize(("tol", "taint", "want"), [
    ({"key": "k", "operator": "Exists"}, {"key": "k", "value": "v", "effect": NS}, True),
    ({"operator": "Exists"}, {"key": "any", "effect": NS}, True),
    ({"key": "k", "value": "v"}, {"key": "k", "value": "w", "effect": NS}, False),
    ({"key": "k", "value": "v", "effect": "NoExecute"}, {"key": "k", "value": "v", "effect": NS}, False),
    ({"key": "k", "value": "v"}, {"key": "k", "value": "v", "effect": NS}, True),
], ids=["exists", "empty-key-exists", "value-differs", "effect-differs", "equal-any-effect"])
def test_tolerates(tol: Obj, taint: Obj, want: bool) -> None:
    assert tolerates(tol, taint) is want


def test_pod_requests_sidecars_and_init() -> None:
    pod = make_pod("p", cpu="1", memory="1Gi", init=[
        {"name": "side", "image": "x", "restartPolicy": "Always", "resources": {"requests": {"cpu": "500m"}}},
        {"name": "i", "image": "x", "resources": {"requests": {"cpu": "2", "memory": "3Gi"}}}])
    # containers + sidecar = 1.5 cpu; init step = 2 + 0.5 sidecar = 2.5 cpu, 3Gi memory
    assert pod_requests(pod) == {"cpu": 2500, "memory": 3 * 1024**3}
    assert pod_requests(make_pod("e"), non_zero=True) == {"cpu": 100, "memory": 200 * 1024**2}


@pytest.mark.parametrize(("fn", "requested", "capacity", "want"), [
    (least_requested_score, 0, 4000, 100), (least_requested_score, 1000, 4000, 75),
    (least_requested_score, 5000, 4000, 0), (most_requested_score, 1000, 4000, 25),
    (most_requested_score, 5000, 4000, 100), (least_requested_score, 1, 0, 0),
], ids=["least-empty", "least-quarter", "least-over", "most-quarter", "most-over", "zero-capacity"])
def test_resource_scores(fn: Any, requested: int, capacity: int, want: int) -> None:
    assert fn(requested, capacity) == want


def test_requested_to_capacity_ratio_shape() -> None:
    scorer = requested_to_capacity_scorer([{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}])
    assert scorer([500, 0], [1000, 1000], [1, 1]) == 50  # memory scores 0 and is left out of the mean
    assert scorer([1000, 1000], [1000, 1000], [1, 1]) == 100


def test_balanced_score() -> None:
    assert balanced_score([500, 500], [1000, 1000]) == 100
    assert balanced_score([1000, 0], [1000, 1000]) == 50


def test_fit_scoring_strategies() -> None:
    empty, half = make_node("empty"), make_node("half")
    nodes = [node_info(empty), node_info(half, make_pod("q", cpu="2", memory="4Gi", node="half"))]
    pod = make_pod("p", cpu="1", memory="1Gi")
    least = Fit({})
    most = Fit({"scoringStrategy": {"type": "MostAllocated"}})
    state = CycleState()
    least.pre_score(state, pod, nodes)
    assert least.score_nodes(state, pod, nodes) == [least.score(state, pod, n)[0] for n in nodes]
    s_least = least.score_nodes(state, pod, nodes)
    s_most = most.score_nodes(state, pod, nodes)
    assert s_least[0] > s_least[1] and s_most[0] < s_most[1]
    bal = BalancedAllocation({})
    bal.pre_score(state, pod, nodes)
    assert bal.score_nodes(state, pod, nodes) == [bal.score(state, pod, n)[0] for n in nodes]


def test_fit_ignored_resources() -> None:
    fit = Fit({"ignoredResourceGroups": ["example.com"]})
    state = CycleState()
    pod = make_pod("p", extra={"example.com/gpu": "1"})
    fit.pre_filter(state, pod, [])
    assert fit.filter(state, pod, node_info(make_node("n"))) is None


def test_node_affinity_preferred_score_normalized() -> None:
    pod = make_pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "preference": {"matchExpressions": [_expr("zone", "In", "a")]}},
        {"weight": 1, "preference": {"matchExpressions": [_expr("fast", "Exists")]}}]}})
    nodes = [node_info(make_node("a", labels={"zone": "a", "fast": ""})), node_info(make_node("b", labels={"zone": "a"})),
             node_info(make_node("c"))]
    pl = NodeAffinity({})
    state = CycleState()
    assert pl.pre_score(state, pod, nodes) is None
    scores = [NodeScore(n.name, pl.score(state, pod, n)[0]) for n in nodes]
    pl.normalize_score(state, pod, scores)
    assert [s.score for s in scores] == [100, 83, 0]
    assert pl.pre_score(CycleState(), make_pod("q"), nodes) is not None  # Skip: nothing preferred


def test_taint_toleration_score_prefers_fewer_untolerated() -> None:
    soft = {"key": "k", "effect": "PreferNoSchedule"}
    nodes = [node_info(make_node("clean")), node_info(make_node("soft", taints=[soft]))]
    pl = TaintToleration()
    state = CycleState()
    pod = make_pod("p")
    assert pl.pre_score(state, pod, nodes) is None
    scores = [NodeScore(n.name, pl.score(state, pod, n)[0]) for n in nodes]
    pl.normalize_score(state, pod, scores)
    assert [s.score for s in scores] == [100, 0]


def test_image_locality() -> None:
    assert image_score(0, 1) == 0
    assert image_score(1000 * 1024 * 1024, 1) == 100
    img = [{"names": ["docker.io/library/nginx:1.25", "nginx:1.25"], "sizeBytes": 500 * 1024 * 1024}]
    nodes = [node_info(make_node("with", images=img)), node_info(make_node("without"))]
    from kybernetes.scheduler.cache import Cache
    cache = Cache()
    for n in (make_node("with", images=img), make_node("without")):
        cache.add_node(n)
    snap = Snapshot()
    cache.update_snapshot(snap)
    fw = framework(snapshot=snap)
    pl = fw.plugins["ImageLocality"]
    pod = make_pod("p", image="nginx:1.25")
    scores = pl.score_nodes(CycleState(), pod, snap.node_info_list)
    assert scores[0] > 0 and scores[1] == 0
    assert nodes  # builders accept images


def test_ports_conflict_wildcards() -> None:
    used = {("10.0.0.1", "TCP", 80): 1}
    assert ports_conflict([("0.0.0.0", "TCP", 80)], used)
    assert not ports_conflict([("10.0.0.2", "TCP", 80)], used)
    assert ports_conflict([("10.0.0.1", "TCP", 80)], used)


def test_scheduling_gates_pre_enqueue() -> None:
    fw = framework()
    pod = make_pod("p")
    pod["spec"]["schedulingGates"] = [{"name": "a"}, {"name": "b"}]
    st = fw.run_pre_enqueue_plugins(pod)
    assert st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == ["waiting for scheduling gates: [a b]"] and st.plugin == "SchedulingGates"
