"""Quality-of-service class and OOM score of a pod, as the kubelet decides them.

The QoS class picks the cgroup tier a pod lives in (``resources.pod_cgroup_name``) and, with the
container's memory request, the ``oom_score_adj`` the runtime gives its processes, so that under
memory pressure the kernel kills best-effort work first and guaranteed work last.

Rules (upstream's GetPodQOS and GetContainerOOMScoreAdjust):
  1. Only cpu and memory count; a zero quantity counts as unset. Init containers count like
     regular ones; ephemeral containers never do.
  2. No request and no limit anywhere → BestEffort. Every container with both a cpu and a memory
     limit, and the summed requests equal to the summed limits → Guaranteed. Else Burstable.
  3. The class recorded in ``status.qosClass`` wins once it is set: a pod keeps its class.
  4. OOM score: node-critical pods and Guaranteed -997, BestEffort 1000, Burstable
     ``1000 - 1000*request/capacity`` (integer division) held within [3, 999]; a sidecar
     (restartable init container) never scores above the regular container with the least memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from kybernetes.machinery.quantity import parse_quantity

Obj = dict[str, Any]

GUARANTEED = "Guaranteed"
BURSTABLE = "Burstable"
BEST_EFFORT = "BestEffort"

GUARANTEED_OOM_SCORE_ADJ = -997
BEST_EFFORT_OOM_SCORE_ADJ = 1000
# A guaranteed pod using all the node's memory scores about 3 after the adjustment, so the
# burstable floor sits just there.
BURSTABLE_MIN_OOM_SCORE_ADJ = 1000 + GUARANTEED_OOM_SCORE_ADJ
BURSTABLE_MAX_OOM_SCORE_ADJ = BEST_EFFORT_OOM_SCORE_ADJ - 1

SYSTEM_CRITICAL_PRIORITY = 2_000_000_000
_QOS_RESOURCES = ("cpu", "memory")


def _amount(value: Any) -> Fraction:
    try:
        return parse_quantity(str(value)).value
    except ValueError:
        return Fraction(0)


def compute_qos_class(pod: Mapping[str, Any]) -> str:
    """The class from the spec alone (rules 1-2), ignoring ``status.qosClass``."""
    spec = pod.get("spec") or {}
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for name, q in (res.get("requests") or {}).items():
            v = _amount(q)
            if name in _QOS_RESOURCES and v > 0:
                requests[name] = requests.get(name, Fraction(0)) + v
        found: set[str] = set()
        for name, q in (res.get("limits") or {}).items():
            v = _amount(q)
            if name in _QOS_RESOURCES and v > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + v
        if not set(_QOS_RESOURCES) <= found:
            guaranteed = False
    if not requests and not limits:
        return BEST_EFFORT
    if guaranteed and all(limits.get(n) == v for n, v in requests.items()) and len(requests) == len(limits):
        return GUARANTEED
    return BURSTABLE


def qos_class(pod: Mapping[str, Any]) -> str:
    """The pod's QoS class: ``status.qosClass`` when set (rule 3), else computed."""
    recorded = (pod.get("status") or {}).get("qosClass")
    if recorded in (GUARANTEED, BURSTABLE, BEST_EFFORT):
        return str(recorded)
    return compute_qos_class(pod)


def is_static_or_mirror(pod: Mapping[str, Any]) -> bool:
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    return ann.get("kubernetes.io/config.source", "api") != "api" or "kubernetes.io/config.mirror" in ann


def is_critical_pod(pod: Mapping[str, Any]) -> bool:
    priority = (pod.get("spec") or {}).get("priority")
    return is_static_or_mirror(pod) or (isinstance(priority, int) and priority >= SYSTEM_CRITICAL_PRIORITY)


def is_node_critical_pod(pod: Mapping[str, Any]) -> bool:
    """Critical (static, mirror or system priority) and of class ``system-node-critical``."""
    spec = pod.get("spec") or {}
    return is_critical_pod(pod) and spec.get("priorityClassName") == "system-node-critical"


def memory_request_bytes(container: Mapping[str, Any]) -> int:
    req = ((container.get("resources") or {}).get("requests") or {}).get("memory")
    return parse_quantity(str(req)).value_int() if req is not None else 0


def _is_sidecar(pod: Mapping[str, Any], container: Mapping[str, Any]) -> bool:
    if container.get("restartPolicy") != "Always":
        return False
    inits = (pod.get("spec") or {}).get("initContainers") or []
    return any(c.get("name") == container.get("name") for c in inits)


def oom_score_adj(pod: Mapping[str, Any], container: Mapping[str, Any], memory_capacity_bytes: int) -> int:
    """The ``oom_score_adj`` for the container's processes (rule 4)."""
    if is_node_critical_pod(pod):
        return GUARANTEED_OOM_SCORE_ADJ
    cls = qos_class(pod)
    if cls == GUARANTEED:
        return GUARANTEED_OOM_SCORE_ADJ
    if cls == BEST_EFFORT:
        return BEST_EFFORT_OOM_SCORE_ADJ
    capacity = max(memory_capacity_bytes, 1)
    score = 1000 - (1000 * memory_request_bytes(container)) // capacity
    regular = (pod.get("spec") or {}).get("containers") or []
    if _is_sidecar(pod, container) and regular:
        least = min(memory_request_bytes(c) for c in regular)
        score = min(score, 1000 - (1000 * least) // capacity)
    if score < BURSTABLE_MIN_OOM_SCORE_ADJ:
        return BURSTABLE_MIN_OOM_SCORE_ADJ
    if score == BEST_EFFORT_OOM_SCORE_ADJ:
        return BURSTABLE_MAX_OOM_SCORE_ADJ
    return score
