"""Descriptions of discovery/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.discovery.v1."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "EndpointSlice": (
        "An EndpointSlice lists some of the network endpoints behind a Service; its kubernetes.io/service-name label names the Service.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "addressType": "The kind of address every endpoint has: IPv4, IPv6 or FQDN. Immutable.",
            "endpoints": "The endpoints of this slice; at most 1000.",
            "ports": "The ports every endpoint serves; at most 100. Empty means no ports are known.",
        },
    ),
    P + "Endpoint": (
        "One endpoint of a slice, usually a pod.",
        {
            "addresses": "The endpoint's addresses, of the slice's addressType; consumers use the first. 1 to 100 entries.",
            "conditions": "Whether the endpoint is ready, serving and terminating.",
            "hostname": "A DNS label for the endpoint, such as a pod's hostname behind a headless Service.",
            "targetRef": "The object behind the endpoint, usually a Pod.",
            "deprecatedTopology": "Deprecated topology labels of the endpoint; use nodeName and zone instead.",
            "nodeName": "The node that hosts the endpoint.",
            "zone": "The zone the endpoint is in.",
            "hints": "Hints that help topology-aware routing pick this endpoint.",
        },
    ),
    P + "EndpointConditions": (
        "The state of an endpoint.",
        {
            "ready": "Whether the endpoint should receive traffic now. Unset means unknown and is taken as ready.",
            "serving": "Whether the endpoint is ready by its readiness probe, even while it is terminating.",
            "terminating": "Whether the endpoint is shutting down.",
        },
    ),
    P + "EndpointHints": (
        "Hints for topology-aware routing.",
        {
            "forZones": "The zones whose clients should be sent to this endpoint.",
        },
    ),
    P + "ForZone": (
        "A zone an endpoint should serve.",
        {
            "name": "The name of the zone.",
        },
    ),
    P + "EndpointPort": (
        "A port served by the endpoints of a slice.",
        {
            "name": "The port's name, matching the Service port name. Empty for a single unnamed port.",
            "protocol": "TCP, UDP or SCTP. Default TCP.",
            "port": "The port number. Unset means every port.",
            "appProtocol": "The application protocol, such as http, h2c or a domain-prefixed name like example.com/proto.",
        },
    ),
}
