"""Simulated resource usage, shaped like the kubelet's ``/stats/summary`` answer.

Usage numbers come from the pod's behaviour (profile or ``sim.kybernetes.io/cpu-usage`` /
``memory-usage`` annotations): an absolute quantity per container, or a percentage of the
container's request (``50%``), so an autoscaler test can say "these pods run at 80% of what they
asked for". Cumulative counters (usageCoreNanoSeconds) grow as if the rate had been constant since
the container started, so two scrapes give a consistent rate.

The JSON keeps upstream's field names (node: nodeName, startTime, cpu{time, usageNanoCores,
usageCoreNanoSeconds}, memory{time, availableBytes, usageBytes, workingSetBytes, rssBytes,
pageFaults, majorPageFaults}, fs; pods[]: podRef{name, namespace, uid}, startTime, containers[],
cpu, memory) and leaves out what a simulation has nothing to say about (network, volumes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any

from kybernetes.machinery.quantity import parse_quantity
from kybernetes.sim.nodes import SimNode, allocatable
from kybernetes.sim.podstate import effective_behaviour
from kybernetes.sim.profile import PodBehaviour, Usage
from kybernetes.util.times import parse_time, rfc3339

Obj = dict[str, Any]
NANO = 10**9


def _request(container: Mapping[str, Any], resource: str) -> Fraction:
    res = container.get("resources") or {}
    value = (res.get("requests") or {}).get(resource) or (res.get("limits") or {}).get(resource)
    return parse_quantity(str(value)).value if value is not None else Fraction(0)


def usage_amount(spec: str, request: Fraction) -> Fraction:
    """An absolute quantity, or a percentage of `request` (0 when nothing is requested)."""
    if spec.endswith("%"):
        return request * Fraction(spec[:-1]) / 100
    return parse_quantity(spec).value


def container_usage(container: Mapping[str, Any], usage: Usage) -> tuple[int, int]:
    """(nano cores, bytes) one container uses."""
    try:
        cpu = usage_amount(usage.cpu, _request(container, "cpu"))
        mem = usage_amount(usage.memory, _request(container, "memory"))
    except (ValueError, ZeroDivisionError, Exception):
        return 0, 0
    return int(cpu * NANO), int(mem)


def _cpu(now: float, since: float, nano_cores: int) -> Obj:
    return {"time": rfc3339(now), "usageNanoCores": nano_cores,
            "usageCoreNanoSeconds": int(nano_cores * max(now - since, 0.0))}


def _memory(now: float, used: int, available: int | None = None) -> Obj:
    m: Obj = {"time": rfc3339(now), "usageBytes": used, "workingSetBytes": used, "rssBytes": used,
              "pageFaults": 0, "majorPageFaults": 0}
    if available is not None:
        m["availableBytes"] = max(available, 0)
    return m


def pod_stats(pod: Obj, behaviour: PodBehaviour, now: float) -> Obj | None:
    """Stats of a running pod (None for a pod that runs nothing)."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None
    meta = pod.get("metadata") or {}
    b = effective_behaviour(behaviour, meta.get("annotations"))
    specs = {c.get("name"): c for c in (pod.get("spec") or {}).get("containers") or []}
    pod_start = parse_time(str(status.get("startTime") or rfc3339(now)))
    containers = []
    total_cpu = total_mem = 0
    for cs in status.get("containerStatuses") or []:
        running = (cs.get("state") or {}).get("running")
        if not running or cs.get("name") not in specs:
            continue
        since = parse_time(str(running.get("startedAt") or rfc3339(now)))
        cpu, mem = container_usage(specs[cs["name"]], b.usage)
        total_cpu += cpu
        total_mem += mem
        containers.append({"name": cs["name"], "startTime": rfc3339(since), "cpu": _cpu(now, since, cpu),
                           "memory": _memory(now, mem)})
    return {"podRef": {"name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
                       "uid": meta.get("uid", "")},
            "startTime": rfc3339(pod_start), "containers": containers,
            "cpu": _cpu(now, pod_start, total_cpu), "memory": _memory(now, total_mem)}


def summary(node: SimNode, pods: Iterable[Obj], now: float, *, node_start: float,
            behaviour_for: Callable[[Mapping[str, str] | None], PodBehaviour], system: Usage) -> Obj:
    """The node's ``/stats/summary``: every running pod plus the node's own (system) usage."""
    pod_list = []
    for pod in pods:
        s = pod_stats(pod, behaviour_for((pod.get("metadata") or {}).get("labels")), now)
        if s is not None:
            pod_list.append(s)
    sys_cpu, sys_mem = container_usage({}, system)
    cpu = sys_cpu + sum(p["cpu"]["usageNanoCores"] for p in pod_list)
    mem = sys_mem + sum(p["memory"]["workingSetBytes"] for p in pod_list)
    cap = node.group.capacity
    mem_cap = int(parse_quantity(allocatable(node.group).get("memory", cap.get("memory", "0"))).value)
    fs_cap = int(parse_quantity(cap.get("ephemeral-storage", "0")).value)
    return {
        "node": {
            "nodeName": node.name,
            "startTime": rfc3339(node_start),
            "cpu": _cpu(now, node_start, cpu),
            "memory": _memory(now, mem, mem_cap - mem),
            "fs": {"time": rfc3339(now), "capacityBytes": fs_cap, "availableBytes": fs_cap, "usedBytes": 0},
            "systemContainers": [{"name": "kubelet", "startTime": rfc3339(node_start),
                                  "cpu": _cpu(now, node_start, sys_cpu), "memory": _memory(now, sys_mem)}],
        },
        "pods": pod_list,
    }
