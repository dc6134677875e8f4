"""Builders for the NetworkPolicy dicts the netpol tests feed in."""

from __future__ import annotations

from typing import Any


def policy(ns: str, name: str, select: dict[str, str] | None = None, *, ingress: list[dict[str, Any]] | None = None,
           egress: list[dict[str, Any]] | None = None, types: list[str] | None = None,
           expressions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    if select:
        selector["matchLabels"] = dict(select)
    if expressions:
        selector["matchExpressions"] = expressions
    spec: dict[str, Any] = {"podSelector": selector}
    if ingress is not None:
        spec["ingress"] = ingress
    if egress is not None:
        spec["egress"] = egress
    if types is not None:
        spec["policyTypes"] = types
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"namespace": ns, "name": name}, "spec": spec}


def pods(**labels: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": dict(labels)}}


def namespaces(**labels: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": dict(labels)}}


def both(ns_labels: dict[str, str], pod_labels: dict[str, str]) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": ns_labels}, "podSelector": {"matchLabels": pod_labels}}


def block(cidr: str, *excepts: str) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr, **({"except": list(excepts)} if excepts else {})}}


def port(p: int | str | None = None, protocol: str | None = None, end: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p is not None:
        out["port"] = p
    if protocol:
        out["protocol"] = protocol
    if end is not None:
        out["endPort"] = end
    return out
