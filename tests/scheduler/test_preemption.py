"""DefaultPreemption: victim selection, PDBs, candidate ordering, eligibility, the PostFilter's
actions (with a recording fake client) and its messages; nominated pods in the filters."""

from __future__ import annotations

from typing import Any

import pytest
from sched_helpers import make_node, make_pod, node_info

from kybernetes.scheduler.algorithm import Algorithm, FitError
from kybernetes.scheduler.config import Profile
from kybernetes.scheduler.framework import CycleState, Framework, Snapshot
from kybernetes.scheduler.framework.status import Code, unresolvable, unschedulable
from kybernetes.scheduler.plugins import in_tree_registry
from kybernetes.scheduler.plugins.default_preemption import DefaultPreemption, parse_args
from kybernetes.scheduler.preemption.context import SchedulerContext
from kybernetes.scheduler.preemption.nominator import PodNominator
from kybernetes.scheduler.preemption.victims import (
    Candidate,
    calculate_num_candidates,
    filter_pods_with_pdb_violation,
    pick_one_node_for_preemption,
    pod_eligible_to_preempt_others,
    select_victims_on_node,
)
from kybernetes.scheduler.scheduler import failure_status_patch

Obj = dict[str, Any]
NOW = 1_700_000_000.0


def pod(name: str, prio: int, cpu: str = "1", node: str = "", started: str = "", labels: dict[str, str] | None = None,
        **kw: Any) -> Obj:
    p = make_pod(name, cpu=cpu, node=node, priority=prio, **kw)
    if started:
        p["status"] = {"startTime": started}
    if labels:
        p["metadata"]["labels"] = labels
    return p


def fw_with(nodes: list[Any]) -> tuple[Framework, Snapshot]:
    snap = Snapshot.of(nodes)
    fw = Framework.build(in_tree_registry(), Profile(), snapshot=lambda: snap)
    return fw, snap


def prefiltered(fw: Framework, p: Obj, nodes: list[Any]) -> CycleState:
    state = CycleState()
    fw.run_pre_filter_plugins(state, p, nodes)
    return state


# --- victim selection ---------------------------------------------------------------------------------

VICTIM_CASES = [
    pytest.param([("a", 1, "1"), ("b", 2, "1"), ("c", 3, "2")], 10, "1", ["a"], id="lowest-priority-one-suffices"),
    pytest.param([("a", 1, "2"), ("b", 2, "1"), ("c", 3, "1")], 10, "2", ["a"], id="reprieve-higher-first"),
    pytest.param([("a", 1, "1"), ("b", 2, "1"), ("c", 3, "2")], 10, "3", ["c", "a"], id="greedy-reprieve-most-important-first"),
    pytest.param([("a", 1, "1"), ("b", 20, "3")], 10, "2", None, id="higher-priority-pods-stay"),
    pytest.param([("a", 10, "4")], 10, "1", "none", id="equal-priority-is-not-a-victim"),
]


@pytest.mark.parametrize(("existing", "prio", "cpu", "want"), VICTIM_CASES)
def test_select_victims_on_node(existing: list[tuple[str, int, str]], prio: int, cpu: str, want: Any) -> None:
    ni = node_info(make_node("n1", cpu="4"), *[pod(n, pr, c, node="n1") for n, pr, c in existing])
    fw, _ = fw_with([ni])
    preemptor = pod("p", prio, cpu)
    state = prefiltered(fw, preemptor, [ni])
    victims, violations, st = select_victims_on_node(fw, None, state.clone(), preemptor, ni.clone(), [], NOW)
    if want == "none":
        assert st is not None and st.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE
        assert st.reasons == ["No preemption victims found for incoming pod"]
    elif want is None:
        assert st is not None and st.reasons == ["Insufficient cpu"]
    else:
        assert st is None and violations == 0
        assert [v["metadata"]["name"] for v in victims] == want
    assert len(ni.pods) == len(existing)  # the caller's NodeInfo is untouched


def test_equal_priority_victims_latest_started_reprieved_last() -> None:
    old = pod("old", 1, "2", node="n1", started="2023-01-01T00:00:00Z")
    new = pod("new", 1, "2", node="n1", started="2023-06-01T00:00:00Z")
    ni = node_info(make_node("n1", cpu="4"), new, old)
    fw, _ = fw_with([ni])
    preemptor = pod("p", 5, "2")
    victims, _, st = select_victims_on_node(fw, None, prefiltered(fw, preemptor, [ni]), preemptor, ni.clone(), [], NOW)
    assert st is None and [v["metadata"]["name"] for v in victims] == ["new"]  # the older one is more important


def pdb(name: str, labels: dict[str, str], allowed: int, disrupted: dict[str, str] | None = None) -> Obj:
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": labels}},
            "status": {"disruptionsAllowed": allowed, "disruptedPods": disrupted or {}}}


def test_pdb_violating_victims_are_reprieved_first() -> None:
    guarded = pod("guarded", 1, "2", node="n1", labels={"app": "db"})
    free = pod("free", 1, "2", node="n1", labels={"app": "web"})
    ni = node_info(make_node("n1", cpu="4"), guarded, free)
    fw, _ = fw_with([ni])
    preemptor = pod("p", 5, "2")
    victims, violations, st = select_victims_on_node(fw, None, prefiltered(fw, preemptor, [ni]), preemptor,
                                                     ni.clone(), [pdb("db", {"app": "db"}, 0)], NOW)
    assert st is None and violations == 0 and [v["metadata"]["name"] for v in victims] == ["free"]


PDB_CASES = [
    pytest.param([pdb("x", {"app": "a"}, 1)], ["p1", "p2"], ["p2"], id="budget-of-one-second-violates"),
    pytest.param([pdb("x", {"app": "a"}, 0, {"p1": "t"})], ["p1", "p2"], ["p2"], id="already-disrupted-not-counted"),
    pytest.param([pdb("x", {"app": "other"}, 0)], ["p1", "p2"], [], id="selector-does-not-match"),
    pytest.param([{"metadata": {"name": "e", "namespace": "default"}, "spec": {"selector": {}},
                   "status": {"disruptionsAllowed": 0}}], ["p1"], [], id="empty-selector-matches-nothing"),
]


@pytest.mark.parametrize(("pdbs", "names", "violating"), PDB_CASES)
def test_filter_pods_with_pdb_violation(pdbs: list[Obj], names: list[str], violating: list[str]) -> None:
    from kybernetes.scheduler.framework.types import PodInfo
    infos = [PodInfo.of(pod(n, 1, labels={"app": "a"})) for n in names]
    v, nv = filter_pods_with_pdb_violation(infos, pdbs)
    assert [p.pod["metadata"]["name"] for p in v] == violating
    assert len(v) + len(nv) == len(names)


# --- candidate choice ---------------------------------------------------------------------------------

def cand(name: str, prios: list[int], pdbs: int = 0, started: str = "") -> Candidate:
    return Candidate(name, [pod(f"{name}-{i}", p, started=started) for i, p in enumerate(prios)], pdbs)


PICK_CASES = [
    pytest.param([cand("a", [1], 1), cand("b", [5])], "b", id="fewest-pdb-violations"),
    pytest.param([cand("a", [5]), cand("b", [3, 3])], "b", id="lowest-highest-priority"),
    pytest.param([cand("a", [5, 4]), cand("b", [5, 1])], "b", id="smallest-sum-of-priorities"),
    pytest.param([cand("a", [-5, -5]), cand("b", [-5])], "b", id="negative-priorities-fewer-pods"),
    pytest.param([cand("a", [5, 0]), cand("b", [5])], "b", id="fewest-victims-after-sum"),
    pytest.param([cand("a", [5], started="2023-01-01T00:00:00Z"), cand("b", [5], started="2024-01-01T00:00:00Z")],
                 "b", id="latest-start-time"),
    pytest.param([cand("a", [5]), cand("b", [5])], "a", id="tie-first"),
]


@pytest.mark.parametrize(("candidates", "want"), PICK_CASES)
def test_pick_one_node_for_preemption(candidates: list[Candidate], want: str) -> None:
    assert pick_one_node_for_preemption(candidates, NOW) == want


@pytest.mark.parametrize(("nodes", "pct", "absolute", "want"), [
    pytest.param(1000, 10, 100, 100, id="absolute-floor"), pytest.param(5000, 10, 100, 500, id="percentage"),
    pytest.param(30, 10, 100, 30, id="capped-by-nodes")])
def test_calculate_num_candidates(nodes: int, pct: int, absolute: int, want: int) -> None:
    assert calculate_num_candidates(nodes, pct, absolute) == want


def test_args_validation() -> None:
    assert parse_args({}) == (10, 100)
    with pytest.raises(ValueError, match="cannot be zero"):
        parse_args({"minCandidateNodesPercentage": 0, "minCandidateNodesAbsolute": 0})
    with pytest.raises(ValueError, match="minCandidateNodesPercentage"):
        parse_args({"minCandidateNodesPercentage": 101})


# --- eligibility ----------------------------------------------------------------------------------------

def test_eligibility() -> None:
    victim = pod("v", 1, node="n1")
    victim["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    victim["status"] = {"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}]}
    snap = Snapshot.of([node_info(make_node("n1"), victim)])
    never = pod("p", 5)
    never["spec"]["preemptionPolicy"] = "Never"
    assert pod_eligible_to_preempt_others(never, snap, None) == (False, "not eligible due to preemptionPolicy=Never.")
    nominated = pod("p", 5)
    nominated["status"] = {"nominatedNodeName": "n1"}
    assert pod_eligible_to_preempt_others(nominated, snap, unschedulable("x")) == (
        False, "not eligible due to a terminating pod on the nominated node.")
    assert pod_eligible_to_preempt_others(nominated, snap, unresolvable("x")) == (True, "")
    lower = pod("q", 0)
    lower["status"] = {"nominatedNodeName": "n1"}
    assert pod_eligible_to_preempt_others(lower, snap, unschedulable("x")) == (True, "")


# --- the plugin --------------------------------------------------------------------------------------------

class FakeClient:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    async def patch(self, res: Any, name: str, body: Any, **kw: Any) -> Obj:
        self.calls.append(("patch", name, body))
        return {}

    async def delete(self, res: Any, name: str, **kw: Any) -> Obj:
        self.calls.append(("delete", name, None))
        return {}


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def event(self, obj: Obj, type_: str, reason: str, message: str) -> None:
        self.events.append((obj["metadata"]["name"], reason, message))


def cluster(*nodes: Any) -> tuple[Framework, Snapshot, FakeClient, FakeRecorder, DefaultPreemption]:
    snap = Snapshot.of(list(nodes))
    client, rec = FakeClient(), FakeRecorder()
    fw = Framework.build(in_tree_registry(), Profile(), snapshot=lambda: snap, client=client, recorder=rec)
    plugin = fw.plugins["DefaultPreemption"]
    assert isinstance(plugin, DefaultPreemption)
    return fw, snap, client, rec, plugin


async def run_cycle(fw: Framework, snap: Snapshot, p: Obj, nominator: PodNominator | None = None
                    ) -> tuple[Any, Any, str]:
    state = CycleState()
    with pytest.raises(FitError) as fe:
        Algorithm(nominator=nominator).schedule_pod(fw, state, p, snap)
    result, st = await fw.run_post_filter_plugins(state, p, fe.value.diagnosis.node_to_status)
    if st is not None and st.message():
        fe.value.diagnosis.post_filter_msg = st.message()
    return result, st, str(fe.value)


async def test_preempts_the_cheapest_node_and_acts_like_upstream() -> None:
    n1 = node_info(make_node("n1", cpu="2"), pod("a1", 5, "1", node="n1"), pod("a2", 5, "1", node="n1"))
    n2 = node_info(make_node("n2", cpu="2"), pod("b1", 1, "1", node="n2"), pod("b2", 100, "1", node="n2"))
    fw, snap, client, rec, _ = cluster(n1, n2)
    p = pod("hi", 10, "1")
    p["metadata"]["uid"] = "uid-hi"
    result, st, msg = await run_cycle(fw, snap, p)
    assert st is None and result.nominated_node_name == "n2"
    assert msg == "0/2 nodes are available: 2 Insufficient cpu."
    assert [c[0:2] for c in client.calls] == [("patch", "b1"), ("delete", "b1")]
    cond = client.calls[0][2]["status"]["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"], cond["message"]) == (
        "DisruptionTarget", "True", "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod")
    assert rec.events == [("b1", "Preempted", "Preempted by pod uid-hi on node n2")]


async def test_no_victims_message() -> None:
    nodes = [node_info(make_node(f"n{i}", cpu="1"), pod(f"x{i}", 10, "1", node=f"n{i}")) for i in range(3)]
    fw, snap, client, _, _ = cluster(*nodes)
    result, st, msg = await run_cycle(fw, snap, pod("p", 10, "1"))
    assert result.clear_nomination and st.code == Code.UNSCHEDULABLE
    assert msg == ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
                   "3 No preemption victims found for incoming pod..")
    assert client.calls == []


async def test_not_helpful_message_for_unresolvable_nodes() -> None:
    n1 = node_info(make_node("n1", cpu="1"), pod("x", 1, "1", node="n1"))
    n2 = node_info(make_node("n2", cpu="1", taints=[{"key": "k", "value": "v", "effect": "NoSchedule"}]))
    fw, snap, _, _, _ = cluster(n1, n2)
    _, _, msg = await run_cycle(fw, snap, pod("p", 10, "2"))
    assert msg == ("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {k: v}. "
                   "preemption: 0/2 nodes are available: 1 Insufficient cpu, "
                   "1 Preemption is not helpful for scheduling..")


async def test_never_policy_message() -> None:
    fw, snap, _, _, _ = cluster(node_info(make_node("n1", cpu="1"), pod("x", 1, "1", node="n1")))
    p = pod("p", 10, "1")
    p["spec"]["preemptionPolicy"] = "Never"
    result, _, msg = await run_cycle(fw, snap, p)
    assert result is None
    assert msg.endswith("1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never..")


async def test_lower_priority_nominations_on_the_node_are_cleared() -> None:
    n1 = node_info(make_node("n1", cpu="2"), pod("v", 1, "2", node="n1"))
    fw, snap, client, _, plugin = cluster(n1)
    nominator = PodNominator()
    low = pod("low", 2, "1")
    low["status"] = {"nominatedNodeName": "n1"}
    nominator.add(low)
    plugin.set_scheduler_context(SchedulerContext(nominator=nominator))
    result, st, _ = await run_cycle(fw, snap, pod("hi", 10, "2"), nominator)
    assert st is None and result.nominated_node_name == "n1"
    assert ("patch", "low", {"status": {"nominatedNodeName": None}}) in client.calls


# --- nominated pods in filtering -----------------------------------------------------------------------------

def test_nominated_pod_reserves_room_for_lower_or_equal_priority() -> None:
    ni = node_info(make_node("n1", cpu="2"))
    fw, snap = fw_with([ni])
    nominator = PodNominator()
    waiting = pod("waiting", 10, "2")
    waiting["status"] = {"nominatedNodeName": "n1"}
    nominator.add(waiting)
    algo = Algorithm(nominator=nominator)
    with pytest.raises(FitError) as fe:
        algo.schedule_pod(fw, CycleState(), pod("low", 10, "1"), snap)
    assert str(fe.value) == "0/1 nodes are available: 1 Insufficient cpu."
    assert algo.schedule_pod(fw, CycleState(), pod("higher", 11, "1"), snap).suggested_host == "n1"
    assert algo.schedule_pod(fw, CycleState(), waiting, snap).suggested_host == "n1"  # not counted against itself


def test_nominated_node_is_tried_first() -> None:
    nodes = [node_info(make_node(f"n{i}", cpu="4")) for i in range(5)]
    fw, snap = fw_with(nodes)
    p = pod("p", 1, "1")
    p["status"] = {"nominatedNodeName": "n3"}
    result = Algorithm().schedule_pod(fw, CycleState(), p, snap)
    assert (result.suggested_host, result.evaluated_nodes) == ("n3", 1)


def test_nominator_keeps_in_memory_nomination_over_stale_update() -> None:
    n = PodNominator()
    p = pod("p", 1)
    n.add(p, "n1")
    n.update(p, {**p, "metadata": {**p["metadata"], "labels": {"x": "y"}}})
    assert n.node_of(p) == "n1"
    n.update(p, {**p, "status": {"nominatedNodeName": "n2"}})
    assert n.node_of(p) == "n2"
    n.delete(p)
    assert not len(n) and n.nominated_pods_for_node("n2") == []


@pytest.mark.parametrize(("status", "nominated", "want"), [
    pytest.param({}, "n1", {"status": {"nominatedNodeName": "n1"}}, id="condition-same-nomination-new"),
    pytest.param({"nominatedNodeName": "n1"}, None, None, id="nothing-changed"),
    pytest.param({"nominatedNodeName": "n1"}, "", {"status": {"nominatedNodeName": None}}, id="cleared"),
])
def test_failure_status_patch(status: Obj, nominated: str | None, want: Obj | None) -> None:
    p = pod("p", 1)
    p["status"] = {**status, "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                             "message": "m"}]}
    assert failure_status_patch(p, "m", "Unschedulable", nominated) == want
