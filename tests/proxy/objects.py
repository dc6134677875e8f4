"""Builders for the Service and EndpointSlice dicts the proxy tests feed in."""

from __future__ import annotations

from typing import Any


def service(name: str, ip: str, *ports: dict[str, Any], ns: str = "default", type: str = "ClusterIP",
            lb: list[str] | None = None, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": ns, "name": name},
                           "spec": {"type": type, "clusterIP": ip, "clusterIPs": [ip] if ip != "None" else ["None"],
                                    "ports": list(ports) or [port(80)], **spec}}
    if lb:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": a} for a in lb]}}
    return obj


def port(number: int, name: str = "", protocol: str = "TCP", target: int | str = 8080,
         node_port: int = 0) -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "port": number, "protocol": protocol, "targetPort": target}
    if node_port:
        p["nodePort"] = node_port
    return p


def endpoint(ip: str, *, node: str = "node-a", ready: bool | None = True, serving: bool | None = None,
             terminating: bool | None = None) -> dict[str, Any]:
    cond: dict[str, Any] = {}
    for key, value in (("ready", ready), ("serving", serving), ("terminating", terminating)):
        if value is not None:
            cond[key] = value
    return {"addresses": [ip], "conditions": cond, "nodeName": node}


def endpoint_slice(svc: str, *endpoints: dict[str, Any], ns: str = "default", suffix: str = "a",
                   ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"namespace": ns, "name": f"{svc}-{suffix}", "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "endpoints": list(endpoints),
            "ports": ports if ports is not None else [{"name": "", "port": 8080, "protocol": "TCP"}]}
