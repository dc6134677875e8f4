"""Service and pod objects for the endpoints and EndpointSlice tests."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def svc(*, ports: list[Obj] | None = None, selector: dict[str, str] | None = None, publish: bool = False,
        cluster_ip: str = "10.43.0.5") -> Obj:
    spec: Obj = {"selector": {"app": "web"} if selector is None else selector, "clusterIP": cluster_ip,
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
                 if ports is None else ports}
    if publish:
        spec["publishNotReadyAddresses"] = True
    return {"metadata": {"name": "web", "namespace": "ns", "uid": "s1"}, "spec": spec}


def pod(name: str, ip: str = "10.42.0.1", *, ready: bool = True, phase: str = "Running", port: int = 8080,
        deleting: bool = False, labels: dict[str, str] | None = None, hostname: str = "") -> Obj:
    meta: Obj = {"name": name, "namespace": "ns", "uid": f"u-{name}", "labels": {"app": "web"} if labels is None else labels}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    spec: Obj = {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": port}]}]}
    if hostname:
        spec.update(hostname=hostname, subdomain="web")
    return {"metadata": meta, "spec": spec,
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
