"""Descriptions of events/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.events.v1."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "Event": (
        "An Event reports something that happened to an object, such as a pod being scheduled or failing. Events expire after a while.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "eventTime": "When the event first happened. Required.",
            "series": "For repeated events: how often and how recently it happened.",
            "reportingController": "The component that reported the event, such as kubernetes.io/kubelet.",
            "reportingInstance": "Which instance of the reporting component reported it, such as kubelet-node-1.",
            "action": "What was done, or failed to be done, to the regarding object, such as Scheduling.",
            "reason": "Why, as a short CamelCase word such as FailedScheduling.",
            "regarding": "The object the event is about.",
            "related": "A second object involved, when there is one.",
            "note": "A human-readable description of what happened; at most 1 kB.",
            "type": "Normal or Warning.",
            "deprecatedSource": "The reporter in the older core/v1 form; kept for compatibility.",
            "deprecatedFirstTimestamp": "The older core/v1 firstTimestamp; kept for compatibility.",
            "deprecatedLastTimestamp": "The older core/v1 lastTimestamp; kept for compatibility.",
            "deprecatedCount": "The older core/v1 count; kept for compatibility.",
        },
    ),
    P + "EventSeries": (
        "How often and how recently a repeated event happened.",
        {
            "count": "How many times the event has happened so far.",
            "lastObservedTime": "When the event was last seen.",
        },
    ),
}
