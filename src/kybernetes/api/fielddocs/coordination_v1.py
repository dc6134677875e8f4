"""Descriptions of coordination/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.coordination.v1."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "Lease": (
        "A Lease is a claim that expires unless renewed; used for leader election and node heartbeats.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "Who holds the lease, since when, and for how long.",
        },
    ),
    P + "LeaseSpec": (
        "The holder and timing of a Lease.",
        {
            "holderIdentity": "Who holds the lease now, such as a pod or node name. Empty when nobody does.",
            "leaseDurationSeconds": "How long, in seconds after renewTime, others must wait before taking the lease over.",
            "acquireTime": "When the current holder took the lease.",
            "renewTime": "When the current holder last renewed the lease.",
            "leaseTransitions": "How many times the lease has passed from one holder to another.",
            "strategy": "How the next holder is chosen under coordinated leader election, such as OldestEmulationVersion.",
            "preferredHolder": "A candidate that coordinated leader election wants to hold the lease next.",
        },
    ),
}
