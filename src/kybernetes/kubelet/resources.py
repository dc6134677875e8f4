"""Cgroup values for a container (handed to CRI) and for its pod's cgroup (written by the kubelet).

CPU requests become CFS shares (1 cpu = 1024 shares, at least 2); cpu limits become a CFS quota
over a period (at least 1 ms of quota); memory limits become a hard limit in bytes. The pod cgroup
carries the sum over the pod: regular containers add up, an init container runs alone (beside the
sidecars started before it), so the pod needs the larger of the two, plus ``spec.overhead``.
Limits are only enforced at pod level when every container declares one (upstream's
ResourceConfigForPod); BestEffort pods get the minimum shares and nothing else.

Cgroup names follow the cgroupfs layout: ``<parent>/pod<uid>`` for Guaranteed pods,
``<parent>/burstable/pod<uid>`` and ``<parent>/besteffort/pod<uid>`` for the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kybernetes.kubelet.qos import BEST_EFFORT, BURSTABLE, GUARANTEED, oom_score_adj, qos_class
from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]

MIN_SHARES = 2
MAX_SHARES = 262144
SHARES_PER_CPU = 1024
MILLI_CPU_TO_CPU = 1000
MIN_QUOTA_PERIOD_US = 1000
DEFAULT_CPU_PERIOD_US = 100000
DEFAULT_PARENT = "kubepods"


def milli_cpu_to_shares(milli_cpu: int) -> int:
    if milli_cpu == 0:
        return MIN_SHARES
    shares = milli_cpu * SHARES_PER_CPU // MILLI_CPU_TO_CPU
    return max(MIN_SHARES, min(MAX_SHARES, shares))


def milli_cpu_to_quota(milli_cpu: int, period_us: int) -> int:
    """CFS quota in µs for a cpu limit; 0 (no quota) when there is no limit."""
    if milli_cpu == 0:
        return 0
    return max(MIN_QUOTA_PERIOD_US, milli_cpu * period_us // MILLI_CPU_TO_CPU)


def _milli(value: Any) -> int:
    return parse_quantity(str(value)).milli_value()


def _bytes(value: Any) -> int:
    return parse_quantity(str(value)).value_int()


def _value(name: str, q: Any) -> int:
    """cpu in millicores, anything else in whole units."""
    try:
        return _milli(q) if name == "cpu" else _bytes(q)
    except ValueError:
        return 0


def container_linux_resources(
    pod: Mapping[str, Any],
    container: Mapping[str, Any],
    *,
    memory_capacity_bytes: int,
    cpu_period_us: int = DEFAULT_CPU_PERIOD_US,
    enforce_cpu_limits: bool = True,
) -> dict[str, int]:
    """CRI ``LinuxContainerResources`` fields for one container (snake_case, as the proto).

    A container with a cpu limit but no cpu request gets its shares from the limit (the API
    server defaults the request to the limit; older objects may lack it)."""
    res = container.get("resources") or {}
    requests = res.get("requests") or {}
    limits = res.get("limits") or {}
    cpu_limit = _value("cpu", limits["cpu"]) if "cpu" in limits else 0
    if "cpu" not in requests and cpu_limit:
        shares = milli_cpu_to_shares(cpu_limit)
    else:
        shares = milli_cpu_to_shares(_value("cpu", requests.get("cpu", 0)))
    out: dict[str, int] = {"cpu_shares": shares}
    if enforce_cpu_limits:
        out["cpu_period"] = cpu_period_us
        out["cpu_quota"] = milli_cpu_to_quota(cpu_limit, cpu_period_us)
    mem_limit = _value("memory", limits["memory"]) if "memory" in limits else 0
    if mem_limit:
        out["memory_limit_in_bytes"] = mem_limit
    out["oom_score_adj"] = oom_score_adj(pod, container, memory_capacity_bytes)
    return out


def _add(acc: dict[str, int], rl: Mapping[str, Any]) -> None:
    for name, q in rl.items():
        acc[name] = acc.get(name, 0) + _value(name, q)


def _max(acc: dict[str, int], other: Mapping[str, int]) -> None:
    for name, v in other.items():
        if v > acc.get(name, 0):
            acc[name] = v


def _aggregate(pod: Mapping[str, Any], kind: str) -> tuple[dict[str, int], list[dict[str, int]]]:
    """Pod-wide requests or limits (no overhead) and, per container as the pod sees it, the
    list it contributes (init containers: their own plus the sidecars started before them)."""
    spec = pod.get("spec") or {}
    total: dict[str, int] = {}
    seen: list[dict[str, int]] = []
    for c in spec.get("containers") or ():
        own: dict[str, int] = {}
        _add(own, (c.get("resources") or {}).get(kind) or {})
        _add(total, (c.get("resources") or {}).get(kind) or {})
        seen.append(own)
    sidecars: dict[str, int] = {}
    init_max: dict[str, int] = {}
    for c in spec.get("initContainers") or ():
        own = {}
        _add(own, (c.get("resources") or {}).get(kind) or {})
        if c.get("restartPolicy") == "Always":
            for k, v in own.items():
                total[k] = total.get(k, 0) + v
                sidecars[k] = sidecars.get(k, 0) + v
            step = dict(sidecars)
        else:
            step = dict(own)
            for k, v in sidecars.items():
                step[k] = step.get(k, 0) + v
        seen.append(step)
        _max(init_max, step)
    _max(total, init_max)
    return total, seen


def pod_requests(pod: Mapping[str, Any]) -> dict[str, int]:
    """What the pod requests (cpu in millicores), overhead included."""
    total, _ = _aggregate(pod, "requests")
    _add(total, (pod.get("spec") or {}).get("overhead") or {})
    return total


def pod_limits(pod: Mapping[str, Any]) -> tuple[dict[str, int], bool, bool]:
    """(limits, every container limits cpu, every container limits memory); the overhead is
    added only to resources that have a limit at all."""
    total, seen = _aggregate(pod, "limits")
    for name, q in ((pod.get("spec") or {}).get("overhead") or {}).items():
        if name in total:
            total[name] += _value(name, q)
    cpu_declared = all(s.get("cpu", 0) != 0 for s in seen)
    memory_declared = all(s.get("memory", 0) != 0 for s in seen)
    return total, cpu_declared, memory_declared


def pod_cgroup_values(
    pod: Mapping[str, Any], *, cpu_period_us: int = DEFAULT_CPU_PERIOD_US, enforce_cpu_limits: bool = True
) -> dict[str, int]:
    """Values for the pod-level cgroup: ``cpu_shares`` always; ``cpu_quota``/``cpu_period`` and
    ``memory_limit_in_bytes`` when the pod's QoS and declared limits call for them. A quota of -1
    means unlimited (cfs quota not enforced)."""
    cls = qos_class(pod)
    if cls == BEST_EFFORT:
        return {"cpu_shares": MIN_SHARES}
    requests = pod_requests(pod)
    limits, cpu_declared, memory_declared = pod_limits(pod)
    shares = milli_cpu_to_shares(requests.get("cpu", 0))
    quota = milli_cpu_to_quota(limits.get("cpu", 0), cpu_period_us) if enforce_cpu_limits else -1
    out = {"cpu_shares": shares}
    if cls == GUARANTEED or cpu_declared:
        out["cpu_quota"] = quota
        out["cpu_period"] = cpu_period_us
    if cls == GUARANTEED or memory_declared:
        out["memory_limit_in_bytes"] = limits.get("memory", 0)
    return out


def qos_tier(cls: str) -> list[str]:
    """The tier directories under the parent: none for Guaranteed."""
    if cls == BURSTABLE:
        return ["burstable"]
    if cls == BEST_EFFORT:
        return ["besteffort"]
    return []


def pod_cgroup_name(pod: Mapping[str, Any], *, parent: str = DEFAULT_PARENT) -> list[str]:
    """Path parts of the pod cgroup, e.g. ``["kubepods", "burstable", "pod<uid>"]``."""
    uid = str((pod.get("metadata") or {}).get("uid") or "")
    return [*parent.strip("/").split("/"), *qos_tier(qos_class(pod)), "pod" + uid]


def cgroup_parent_path(parts: Iterable[str]) -> str:
    """The cgroupfs-style ``cgroup_parent`` CRI wants: an absolute path."""
    return "/" + "/".join(parts)
