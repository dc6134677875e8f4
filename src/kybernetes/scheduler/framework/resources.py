"""Resource arithmetic for scheduling: what a pod requests and what a node offers, as integers.

A resource vector is a plain ``dict[str, int]``: ``cpu`` in millicores, ``memory`` and
``ephemeral-storage`` in bytes, everything else (extended resources, hugepages) in whole units, as
upstream's framework.Resource. A pod's request is the sum over its containers, at least the largest
init container (restartable "sidecar" init containers run beside the others and add up), plus the
pod overhead — upstream's PodRequests. For scoring, containers that request no cpu or memory count
as 100m / 200Mi ("non-zero" requests), so empty pods still spread.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]
Resources = dict[str, int]

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


@functools.lru_cache(maxsize=4096)
def _parse(name: str, value: str) -> int:
    q = parse_quantity(value)
    return q.milli_value() if name == CPU else q.value_int()


def quantity_value(name: str, value: Any) -> int:
    """One quantity as the integer the scheduler compares (millicores for cpu). Bad values count 0."""
    try:
        return _parse(name, str(value))
    except ValueError:
        return 0


def resource_list(rl: Mapping[str, Any] | None) -> Resources:
    """A ResourceList (``{"cpu": "500m", ...}``) as integers."""
    if not rl:
        return {}
    return {name: quantity_value(name, v) for name, v in rl.items()}


def add_into(acc: Resources, other: Mapping[str, int]) -> None:
    for k, v in other.items():
        acc[k] = acc.get(k, 0) + v


def max_into(acc: Resources, other: Mapping[str, int]) -> None:
    for k, v in other.items():
        if v > acc.get(k, 0):
            acc[k] = v


def _container_requests(c: Mapping[str, Any], non_zero: bool) -> Resources:
    req = resource_list((c.get("resources") or {}).get("requests"))
    if non_zero:
        if CPU not in req:
            req[CPU] = DEFAULT_MILLI_CPU_REQUEST
        if MEMORY not in req:
            req[MEMORY] = DEFAULT_MEMORY_REQUEST
    return req


def pod_requests(pod: Mapping[str, Any], *, non_zero: bool = False) -> Resources:
    """What the pod needs from a node (see the module docstring). With `non_zero`, only cpu and
    memory are returned, each container counting at least the defaults."""
    spec = pod.get("spec") or {}
    total: Resources = {}
    for c in spec.get("containers") or ():
        add_into(total, _container_requests(c, non_zero))
    sidecars: Resources = {}
    init_max: Resources = {}
    for c in spec.get("initContainers") or ():
        req = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            add_into(total, req)
            add_into(sidecars, req)
            step = dict(sidecars)
        else:
            step = dict(req)
            add_into(step, sidecars)
        max_into(init_max, step)
    max_into(total, init_max)
    overhead = spec.get("overhead")
    if overhead:
        add_into(total, resource_list(overhead))
    if non_zero:
        return {CPU: total.get(CPU, 0), MEMORY: total.get(MEMORY, 0)}
    return total


def is_extended_resource(name: str) -> bool:
    """Extended resources: a domain-prefixed name outside kubernetes.io (``nvidia.com/gpu``),
    or ``requests.``-less ``hugepages-`` are not extended (they are native)."""
    if "/" not in name:
        return False
    domain = name.split("/", 1)[0]
    return not (domain == "kubernetes.io" or domain.endswith(".kubernetes.io"))
