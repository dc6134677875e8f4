"""The algorithm (node counts, FitError text, round robin), config merging, cache and queue."""

from __future__ import annotations

import random

import pytest
from sched_helpers import framework, make_node, make_pod, node_info

from kybernetes.client.clock import FakeClock
from kybernetes.scheduler.algorithm import (
    Algorithm,
    Diagnosis,
    FitError,
    fit_error_message,
    num_feasible_nodes_to_find,
)
from kybernetes.scheduler.cache import Cache, interleave_zones
from kybernetes.scheduler.config import (
    ConfigError,
    PluginRef,
    PluginSet,
    Profile,
    merge_plugin_set,
    parse_config,
)
from kybernetes.scheduler.framework import CycleState, Snapshot, Status, unresolvable, unschedulable
from kybernetes.scheduler.framework.runtime import expand_plugins
from kybernetes.scheduler.plugins import in_tree_registry
from kybernetes.scheduler.scheduler import Scheduler


@pytest.mark.parametrize(("pct", "nodes", "want"), [
    (0, 50, 50), (0, 100, 100), (0, 1000, 420), (0, 5000, 500), (0, 6000, 300), (0, 200, 100),
    (10, 5000, 500), (100, 5000, 5000), (1, 2000, 100),
], ids=["small", "hundred", "1k-adaptive", "5k-adaptive", "6k-min-5pct", "at-least-100", "configured",
        "all", "configured-min-100"])
def test_num_feasible_nodes_to_find(pct: int, nodes: int, want: int) -> None:
    assert num_feasible_nodes_to_find(pct, nodes) == want


def test_fit_error_message_sorted_counts_and_post_filter() -> None:
    statuses: dict[str, Status] = {f"n{i}": unschedulable("Insufficient cpu") for i in range(2)}
    statuses.update({f"m{i}": unresolvable("node(s) didn't match Pod's node affinity/selector") for i in range(3)})
    d = Diagnosis(node_to_status=statuses)
    assert fit_error_message(5, d) == ("0/5 nodes are available: 2 Insufficient cpu, "
                                       "3 node(s) didn't match Pod's node affinity/selector.")
    d.post_filter_msg = "preemption: 0/5 nodes are available: 5 No preemption victims found for incoming pod."
    assert fit_error_message(5, d).endswith("affinity/selector. preemption: 0/5 nodes are available: "
                                            "5 No preemption victims found for incoming pod..")
    # Sorted as strings, as upstream: "10 ..." before "2 ...".
    many = {f"a{i}": unschedulable("Too many pods") for i in range(10)} | {"b": unschedulable("Insufficient memory"),
                                                                            "c": unschedulable("Insufficient memory")}
    assert fit_error_message(12, Diagnosis(node_to_status=many)) == \
        "0/12 nodes are available: 10 Too many pods, 2 Insufficient memory."
    assert fit_error_message(0, Diagnosis()) == "0/0 nodes are available:"


def test_schedule_pod_round_robin_and_fit_error() -> None:
    nodes = [node_info(make_node(f"n{i}", cpu="1")) for i in range(300)]
    snap = Snapshot.of(nodes)
    fw = framework(snapshot=snap)
    algo = Algorithm(rng=random.Random(1))
    r = algo.schedule_pod(fw, CycleState(), make_pod("p", cpu="500m"), snap)
    assert r.evaluated_nodes == 144  # 300 nodes * (50 - 300 // 125)% = 48%
    assert algo.next_start_node_index == 144
    algo.schedule_pod(fw, CycleState(), make_pod("p2", cpu="500m"), snap)
    assert algo.next_start_node_index == 288  # the next walk starts where this one stopped
    with pytest.raises(FitError) as e:
        algo.schedule_pod(fw, CycleState(), make_pod("big", cpu="2"), snap)
    assert str(e.value) == "0/300 nodes are available: 300 Insufficient cpu."


def test_merge_plugin_set_and_expand() -> None:
    default = [PluginRef("A", 1), PluginRef("B", 2)]
    assert merge_plugin_set(default, PluginSet([PluginRef("B", 5), PluginRef("C")], [PluginRef("A")])) == \
        [PluginRef("B", 5), PluginRef("C")]
    assert merge_plugin_set(default, PluginSet([PluginRef("C")], [PluginRef("*")])) == [PluginRef("C")]
    p = Profile(plugins={"score": PluginSet(disabled=[PluginRef("ImageLocality")]),
                         "filter": PluginSet(disabled=[PluginRef("*")])})
    points = expand_plugins(p, set(in_tree_registry()))
    assert "ImageLocality" not in [r.name for r in points["score"]]
    assert points["filter"] == []
    fw = framework(p)
    assert {pl.name: w for pl, w in fw.score} == {"TaintToleration": 3, "NodeAffinity": 2, "NodeResourcesFit": 1,
                                                  "NodeResourcesBalancedAllocation": 1, "PodTopologySpread": 2,
                                                  "InterPodAffinity": 2}


def test_parse_config() -> None:
    cfg = parse_config({"apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
                        "percentageOfNodesToScore": 30,
                        "leaderElection": {"leaderElect": False, "leaseDuration": "5s", "resourceName": "x"},
                        "profiles": [{"schedulerName": "a"}, {"schedulerName": "b", "pluginConfig": [
                            {"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}]})
    assert [p.scheduler_name for p in cfg.profiles] == ["a", "b"]
    assert cfg.percentage_of_nodes_to_score == 30
    assert cfg.leader_election.lease_duration == 5.0 and cfg.leader_election.resource_name == "x"
    s = Scheduler(cfg)
    assert s.profiles["b"].plugins["NodeResourcesFit"].strategy == "MostAllocated"
    for bad in ({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]}, {"percentageOfNodesToScore": 101},
                {"profiles": [{"plugins": {"bogus": {}}}]}, {"apiVersion": "v2"}):
        with pytest.raises(ConfigError):
            parse_config(bad)
    with pytest.raises(ConfigError):
        Scheduler(parse_config({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "Nope"}]}}}]}))


def test_cache_assume_confirm_forget_and_zones() -> None:
    cache = Cache()
    for i, zone in enumerate(["a", "a", "b", "c", "b"]):
        cache.add_node(make_node(f"n{i}", labels={"topology.kubernetes.io/zone": zone}))
    assert cache.node_order() == ["n0", "n2", "n3", "n1", "n4"]
    assert interleave_zones({"x": ["1", "2", "3"], "y": ["4"]}) == ["1", "4", "2", "3"]
    snap = Snapshot()
    pod = make_pod("p", cpu="1", node="n1")
    cache.assume_pod(pod)
    cache.update_snapshot(snap)
    assert snap.node_info_map["n1"].requested["cpu"] == 1000
    cache.add_pod(pod)  # the bound pod arrives: counted once
    cache.update_snapshot(snap)
    assert snap.node_info_map["n1"].requested["cpu"] == 1000 and not cache.is_assumed("default/p")
    other = make_pod("q", cpu="2", node="n2")
    cache.assume_pod(other)
    cache.forget_pod(other)
    cache.update_snapshot(snap)
    assert snap.node_info_map["n2"].requested.get("cpu", 0) == 0
    cache.remove_node(make_node("n3"))
    cache.update_snapshot(snap)
    assert [n.name for n in snap.node_info_list] == ["n0", "n2", "n1", "n4"]


async def test_queue_priority_backoff_and_event_moves() -> None:
    clock = FakeClock()
    sched = Scheduler(parse_config({}), clock=clock)
    q = sched.queue
    sched.on_pod_add(make_pod("low", priority=1))
    sched.on_pod_add(make_pod("high", priority=10))
    sched.on_pod_add(make_pod("other", scheduler="someone-else"))
    first = await q.pop()
    assert first.key == "default/high"
    # An error: backoff 1 s after the first attempt, then 2 s after the second.
    q.add_unschedulable_if_not_present(first, error=True)
    assert q.where("default/high") == "backoff"
    assert q.backoff_duration(first) == 1.0
    assert q.flush_backoff_completed() == 0
    clock.advance(1.0)
    assert q.flush_backoff_completed() == 1
    second = await q.pop()
    assert second.key == "default/high" and q.backoff_duration(second) == 2.0
    second.attempts = 10
    assert q.backoff_duration(second) == 10.0
    low = await q.pop()
    assert q.where("default/other") == ""  # never queued: another scheduler's pod
    # Unschedulable by NodeResourcesFit: a node that cannot hold it does not move it; one that can does.
    low.pod = make_pod("low", cpu="8", priority=1)
    low.unschedulable_plugins = {"NodeResourcesFit"}
    q.add_unschedulable_if_not_present(low)
    assert q.where("default/low") == "unschedulable"
    sched.on_node_add(make_node("small", cpu="1"))
    assert q.where("default/low") == "unschedulable"
    sched.on_node_update(make_node("small", cpu="1"), make_node("small", cpu="1", labels={"x": "y"}))
    assert q.where("default/low") == "unschedulable"  # a label change does not concern Fit
    clock.advance(30)
    sched.on_node_add(make_node("big", cpu="16"))
    assert q.where("default/low") == "active"
    # Status-only updates of a waiting pod never requeue it.
    moved = await q.pop()
    moved.unschedulable_plugins = {"NodeResourcesFit"}
    q.add_unschedulable_if_not_present(moved)
    updated = dict(moved.pod, status={"conditions": [{"type": "PodScheduled", "status": "False"}]})
    sched.on_pod_update(moved.pod, updated)
    assert q.where("default/low") == "unschedulable"
    # Five minutes in the pool: flushed anyway.
    clock.advance(301)
    assert q.flush_unschedulable_left_over() == 1
    await q.close()


async def test_queue_event_during_attempt_goes_to_backoff() -> None:
    clock = FakeClock()
    sched = Scheduler(parse_config({}), clock=clock)
    q = sched.queue
    sched.on_pod_add(make_pod("p", cpu="8"))
    qpi = await q.pop()
    sched.on_node_add(make_node("n", cpu="16"))  # arrives while the pod is in flight
    qpi.unschedulable_plugins = {"NodeResourcesFit"}
    q.add_unschedulable_if_not_present(qpi)
    assert q.where("default/p") == "backoff"
    await q.close()


async def test_scheduler_cycle_in_process() -> None:
    sched = Scheduler(parse_config({}))
    for i in range(3):
        sched.on_node_add(make_node(f"n{i}", cpu="2", labels={"disk": "ssd"} if i == 2 else {}))
    sched.on_pod_add(make_pod("a", selector={"disk": "ssd"}))
    sched.on_pod_add(make_pod("b", cpu="3"))
    bound: list[tuple[str, str]] = []

    class Binder:
        name = "DefaultBinder"

        async def bind(self, state: CycleState, pod: dict[str, object], node: str) -> None:
            bound.append((str(pod["metadata"]["name"]), node))  # type: ignore[index]

    for fw in sched.profiles.values():
        fw.bind = [Binder()]
    await sched.schedule_one(await sched.queue.pop())
    qb = await sched.queue.pop()
    await sched.schedule_one(qb)
    await sched.drain_bindings()
    assert bound == [("a", "n2")]
    assert sched.queue.where("default/b") == "unschedulable"
    assert qb.unschedulable_plugins == {"NodeResourcesFit"}
    await sched.queue.close()
