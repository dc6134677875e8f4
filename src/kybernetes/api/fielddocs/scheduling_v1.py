"""Descriptions of scheduling/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.scheduling.v1."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "PriorityClass": (
        "A PriorityClass names a pod priority; pods refer to it by priorityClassName.",
        {
            "metadata": "Standard object metadata: name, labels, annotations and so on.",
            "value": "The priority of pods in this class; higher is more important. User classes go up to 1000000000.",
            "globalDefault": "When true, pods without a priorityClassName get this class. At most one class may say so.",
            "description": "A free-text note on when to use this class.",
            "preemptionPolicy": "Whether pods of this class may evict lower-priority pods: PreemptLowerPriority or Never. Default PreemptLowerPriority.",
        },
    ),
}
