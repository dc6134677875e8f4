"""Random clusters and pods through the real scheduler loop (in process, binding confirmed into the
cache as the informer would): no node is ever over-committed on requests, and every bound pod
passes every filter of its node as the node was when the pod was bound — including inter-pod
anti-affinity (one ``app`` per node) and zone topology spreading (maxSkew 1)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sched_helpers import make_node, make_pod

from kybernetes.scheduler.config import parse_config
from kybernetes.scheduler.framework import CycleState, NodeInfo
from kybernetes.scheduler.scheduler import Scheduler

Obj = dict[str, Any]
ZONES = ["a", "b"]

nodes_st = st.lists(st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 6), st.sampled_from(ZONES),
                              st.booleans(), st.booleans()), min_size=1, max_size=8)
pods_st = st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3), st.sampled_from(["", "a", "b"]),
                             st.booleans(), st.booleans(), st.sampled_from(["", "x", "y"]), st.booleans(),
                             st.booleans()), min_size=1, max_size=30)
Pod = tuple[int, int, str, bool, bool, str, bool, bool]


def _build(nodes: list[tuple[int, int, int, str, bool, bool]], pods: list[Pod]) -> tuple[list[Obj], list[Obj]]:
    node_objs = [make_node(f"n{i}", cpu=str(cpu), memory=f"{mem}Gi", pods=str(npods),
                           labels={"zone": zone}, unschedulable=cordoned,
                           taints=[{"key": "dedicated", "value": "x", "effect": "NoSchedule"}] if tainted else None)
                 for i, (cpu, mem, npods, zone, cordoned, tainted) in enumerate(nodes)]
    pod_objs = [make_pod(f"p{i}", cpu=f"{cpu}m" if cpu else "", memory=f"{mem}Gi" if mem else "",
                         selector={"zone": zone} if zone else None,
                         tolerations=[{"key": "dedicated", "operator": "Exists"}] if tolerant else None,
                         ports=[{"containerPort": 80, "hostPort": 8080}] if port else None)
                for i, (cpu, mem, zone, tolerant, port, _, _, _) in enumerate(pods)]
    for p, (_, _, _, _, _, app, anti, spread) in zip(pod_objs, pods, strict=True):
        if not app:
            continue
        p["metadata"]["labels"] = {"app": app}
        if anti:  # at most one pod of this app per node
            p["spec"]["affinity"] = {**p["spec"].get("affinity", {}), "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": app}}}]}}
        if spread:
            p["spec"]["topologySpreadConstraints"] = [
                {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"app": app}}}]
    return node_objs, pod_objs


async def _run(node_objs: list[Obj], pod_objs: list[Obj]) -> None:
    sched = Scheduler(parse_config({}))
    bound: list[tuple[Obj, str]] = []

    class Binder:
        name = "DefaultBinder"

        async def bind(self, state: CycleState, pod: Obj, node: str) -> None:
            done = dict(pod, spec=dict(pod["spec"], nodeName=node))
            bound.append((done, node))
            sched.on_pod_update(pod, done)  # what the informer reports after the binding

    for fw in sched.profiles.values():
        fw.bind = [Binder()]
    for n in node_objs:
        sched.on_node_add(n)
    for p in pod_objs:
        sched.on_pod_add(p)
    fw = sched.profiles["default-scheduler"]
    while sched.queue.pending()["active"]:
        qpi = await sched.queue.pop()
        # Before binding: the pod must pass every filter on the node chosen, as the cache has it.
        await sched.schedule_one(qpi)
        await sched.drain_bindings()
    await sched.queue.close()

    replay: dict[str, NodeInfo] = {}
    for n in node_objs:
        ni = NodeInfo()
        ni.set_node(n)
        replay[ni.name] = ni
    for pod, node in bound:
        ni = replay[node]
        state = CycleState()
        _, pst = fw.run_pre_filter_plugins(state, pod, list(replay.values()))
        assert pst is None or pst.is_success()
        st_ = fw.run_filter_plugins(state, pod, ni)
        assert st_ is None, (pod["metadata"]["name"], node, st_)
        ni.add_pod(pod)
    for ni in replay.values():
        assert len(ni.pods) <= ni.allowed_pod_number
        # Anti-affinity holds both ways: a pod with it never shares its node with another of its app.
        apps = [(pi.pod["metadata"].get("labels") or {}).get("app") for pi in ni.pods]
        for pi in ni.pods_with_required_anti_affinity:
            assert apps.count(pi.pod["metadata"]["labels"]["app"]) == 1, (ni.name, apps)
        for res in ("cpu", "memory"):
            assert ni.requested.get(res, 0) <= ni.allocatable.get(res, 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nodes_st, pods_st)
def test_random_clusters_never_overcommit(nodes: list[tuple[int, int, int, str, bool, bool]],
                                          pods: list[Pod]) -> None:
    node_objs, pod_objs = _build(nodes, pods)
    asyncio.run(_run(node_objs, pod_objs))
