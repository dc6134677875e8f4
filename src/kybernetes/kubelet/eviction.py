"""Node-pressure eviction: which pod the kubelet fails first when the node runs low on memory.

When `memory.available` (MemAvailable) drops below the hard threshold the node reports
MemoryPressure (the node lifecycle controller turns that into the NoSchedule taint) and the
kubelet evicts one pod at a time until the pressure is gone: the pod's phase becomes Failed with
reason Evicted, and its containers are killed at once (a hard threshold has no grace period).

Ranking (upstream's rankMemoryPressure, re-stated), most deserving of eviction first:
1. pods whose memory usage exceeds their memory request (a BestEffort pod requests nothing, so
   any usage exceeds it) before pods within their requests;
2. then lower priority first;
3. then the larger usage above request first.
So BestEffort pods go first, then Burstable pods over their requests, and Guaranteed pods (usage
never above request = limit) last. Critical pods (static, mirror, system priority) and pods already
finished or being deleted are never candidates. Everything here is pure; the agent measures and acts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet.qos import is_critical_pod
from kybernetes.kubelet.resources import pod_requests

Obj = dict[str, Any]
REASON = "Evicted"
DISRUPTION_CONDITION = "DisruptionTarget"
DISRUPTION_REASON = "TerminationByKubelet"


@dataclass(frozen=True)
class PodUsage:
    pod: Obj
    memory_bytes: int                                      # working set of the whole pod
    containers: Mapping[str, int] = field(default_factory=dict)  # container name -> working set


def memory_request(pod: Obj) -> int:
    return int(pod_requests(pod).get("memory", 0))


def _priority(pod: Obj) -> int:
    value = (pod.get("spec") or {}).get("priority")
    return value if isinstance(value, int) else 0


def is_candidate(pod: Obj) -> bool:
    meta = pod.get("metadata") or {}
    phase = (pod.get("status") or {}).get("phase")
    return not meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed") and not is_critical_pod(pod)


def rank_for_memory_eviction(usages: Sequence[PodUsage]) -> list[PodUsage]:
    """Candidates in eviction order (the first is evicted first); non-candidates are left out."""
    def key(u: PodUsage) -> tuple[bool, int, int]:
        over = u.memory_bytes - memory_request(u.pod)
        return (not over > 0, _priority(u.pod), -over)

    return sorted((u for u in usages if is_candidate(u.pod)), key=key)




def eviction_message(usage: PodUsage, *, threshold: str, available_bytes: int) -> str:
    """The pod's status message, worded as upstream's so people and tools recognise it."""
    msg = f"The node was low on resource: memory. Threshold quantity: {threshold}, " \
          f"available: {-(-available_bytes // 1024)}Ki. "
    for c in (usage.pod.get("spec") or {}).get("containers") or []:
        used = usage.containers.get(c["name"], 0)
        request = ((c.get("resources") or {}).get("requests") or {}).get("memory")
        request_bytes = int(pod_requests({"spec": {"containers": [c]}}).get("memory", 0))
        if used > request_bytes:
            msg += (f"Container {c['name']} was using {-(-used // 1024)}Ki, request is {request or 0}, "
                    f"has larger consumption of memory. ")
    return msg


def evicted_status(pod: Obj, message: str, *, now: str) -> Obj:
    """The status patch that marks a pod evicted (phase, reason, message, DisruptionTarget)."""
    conditions = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != DISRUPTION_CONDITION]
    conditions.append({"type": DISRUPTION_CONDITION, "status": "True", "reason": DISRUPTION_REASON,
                       "message": message, "lastTransitionTime": now, "lastProbeTime": None})
    return {"phase": "Failed", "reason": REASON, "message": message, "conditions": conditions}


def parse_threshold(value: str, *, capacity_bytes: int) -> int:
    """A `memory.available` hard threshold in bytes: a quantity (100Mi) or a percentage of the
    node's memory capacity (5%), as upstream's evictionHard accepts."""
    from kybernetes.machinery.quantity import parse_quantity

    value = value.strip()
    if value.endswith("%"):
        return int(capacity_bytes * float(value[:-1]) / 100)
    return parse_quantity(value).value_int()
