"""Descriptions of policy/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.policy.v1."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "PodDisruptionBudget": (
        "A PodDisruptionBudget limits how many pods of a set voluntary disruptions, such as evictions, may take down at once.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "Which pods the budget covers and how many must stay up.",
            "status": "How many pods are healthy and how many disruptions are allowed now. Read-only.",
        },
    ),
    P + "PodDisruptionBudgetSpec": (
        "The pods a budget covers and how many of them must stay available. Set minAvailable or maxUnavailable.",
        {
            "minAvailable": "How many selected pods must stay available after an eviction: a number or a percentage.",
            "selector": "The pods the budget covers, in its namespace. An empty selector covers every pod of the namespace.",
            "maxUnavailable": "How many selected pods may be unavailable after an eviction: a number or a percentage.",
            "unhealthyPodEvictionPolicy": "When running but not-ready pods may be evicted: IfHealthyBudget or AlwaysAllow. Default IfHealthyBudget.",
        },
    ),
    P + "PodDisruptionBudgetStatus": (
        "The observed state of a budget.",
        {
            "observedGeneration": "The generation of the spec this status reflects.",
            "disruptedPods": "Pods whose eviction was accepted but that are not yet gone, with the time of the eviction.",
            "disruptionsAllowed": "How many more pods may be disrupted right now.",
            "currentHealthy": "How many selected pods are healthy now.",
            "desiredHealthy": "How many selected pods must stay healthy.",
            "expectedPods": "How many pods the budget expects, counted from their controllers.",
            "conditions": "The latest observations, such as DisruptionAllowed.",
        },
    ),
    P + "Eviction": (
        "An Eviction asks to remove a pod, subject to its PodDisruptionBudgets; post it to the pod's eviction subresource.",
        {
            "metadata": "The name and namespace of the pod to evict.",
            "deleteOptions": "Options for deleting the pod, such as its grace period.",
        },
    ),
}
