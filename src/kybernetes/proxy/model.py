"""What the proxy must program, decided from Services and EndpointSlices (pure, no kernel).

`build_model` turns API objects into a list of `ServicePort`s: one per (Service, port), each with
its front ends (cluster IPs, node port, load-balancer and external IPs) and the endpoints the
datapath should pick from for cluster traffic and for external traffic. The nftables text is
rendered from this model (`render.py`), and the UDP conntrack cleanup compares two models
(`stale_udp_flows`). Only IPv4 is modelled: the proxy owns one `ip` family table.

Rules taken from the Kubernetes API and kube-proxy's documented behaviour:
1. Headless Services (clusterIP None) and ExternalName Services get nothing.
2. Endpoints come from EndpointSlices labelled ``kubernetes.io/service-name`` in the Service's
   namespace; a Service port matches a slice port by name (so a named targetPort is already resolved
   to a number by the slice) and protocol. Duplicated (ip, port) pairs across slices count once.
3. Ready endpoints are used; only when none is ready, endpoints that are serving and terminating.
   A nil ``ready`` counts as ready; a nil ``serving`` counts as the value of ``ready``.
4. internalTrafficPolicy Local restricts cluster traffic to endpoints on this node;
   externalTrafficPolicy Local (NodePort / LoadBalancer / external IPs) restricts external traffic
   to endpoints on this node and keeps the client source address (no masquerade).
5. A front end with no usable endpoints rejects when the Service has no endpoints at all, and drops
   when endpoints exist elsewhere but a Local policy excludes them (as kube-proxy does).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
DEFAULT_AFFINITY_TIMEOUT = 10800  # seconds (3 h), the API default for ClientIP affinity
PROTOCOLS = ("TCP", "UDP", "SCTP")


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(slots=True)
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str               # TCP, UDP or SCTP
    port: int
    cluster_ips: list[str] = field(default_factory=list)
    node_port: int = 0
    external_ips: list[str] = field(default_factory=list)   # spec.externalIPs + LB ingress IPs
    affinity_timeout: int = 0   # seconds; 0 = no session affinity
    external_local: bool = False
    internal_local: bool = False
    health_check_node_port: int = 0
    all_endpoints: list[Endpoint] = field(default_factory=list)
    cluster_endpoints: list[Endpoint] = field(default_factory=list)
    external_endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Readable identity, also the stem of chain names: ``ns/name/proto/port``."""
        return f"{self.namespace}/{self.name}/{self.protocol.lower()}/{self.port_name or self.port}"

    @property
    def has_external(self) -> bool:
        return bool(self.node_port or self.external_ips)

    @property
    def local_endpoint_count(self) -> int:
        return len(self.external_endpoints) if self.external_local else 0


def _is_ipv4(value: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def slice_endpoints(slices: Iterable[Mapping[str, Any]], port_name: str, protocol: str) -> list[Endpoint]:
    """Endpoints of one Service port from that Service's slices (rule 2, 3's condition defaults)."""
    seen: dict[tuple[str, int], Endpoint] = {}
    for sl in slices:
        if sl.get("addressType", "IPv4") != "IPv4":
            continue
        number = 0
        for p in sl.get("ports") or []:
            if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol and p.get("port"):
                number = int(p["port"])
                break
        if not number:
            continue
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            ready = cond.get("ready") is not False
            serving = ready if cond.get("serving") is None else bool(cond["serving"])
            terminating = bool(cond.get("terminating"))
            for addr in ep.get("addresses") or []:
                if _is_ipv4(addr) and (addr, number) not in seen:
                    seen[(addr, number)] = Endpoint(addr, number, ep.get("nodeName") or "", ready, serving, terminating)
    return sorted(seen.values())


def usable(endpoints: Iterable[Endpoint]) -> list[Endpoint]:
    """Ready endpoints, or if none, the serving-and-terminating ones (rule 3)."""
    eps = list(endpoints)
    ready = [e for e in eps if e.ready and not e.terminating]
    return ready or [e for e in eps if e.serving and e.terminating]


def _front_ips(spec: Mapping[str, Any], status: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    cluster = [ip for ip in (spec.get("clusterIPs") or [spec.get("clusterIP") or ""]) if _is_ipv4(ip)]
    external = [ip for ip in spec.get("externalIPs") or [] if _is_ipv4(ip)]
    if spec.get("type") == "LoadBalancer":
        for ing in (status.get("loadBalancer") or {}).get("ingress") or []:
            ip = ing.get("ip") or ""
            if _is_ipv4(ip) and ip not in external:
                external.append(ip)
    return cluster, external


def build_model(services: Iterable[Mapping[str, Any]], slices: Iterable[Mapping[str, Any]], *,
                node_name: str) -> list[ServicePort]:
    """Every Service port this node must program, sorted by key (deterministic output)."""
    by_service: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for sl in slices:
        meta = _meta(sl)
        owner = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            by_service.setdefault((meta.get("namespace") or "", owner), []).append(sl)
    out: list[ServicePort] = []
    for svc in services:
        spec = svc.get("spec") or {}
        svc_type = spec.get("type") or "ClusterIP"
        if svc_type == "ExternalName" or spec.get("clusterIP") == "None":
            continue  # rule 1
        cluster_ips, external_ips = _front_ips(spec, svc.get("status") or {})
        if not cluster_ips:
            continue
        meta = _meta(svc)
        ns, name = meta.get("namespace") or "default", meta.get("name") or ""
        affinity = 0
        if spec.get("sessionAffinity") == "ClientIP":
            cfg = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
            affinity = int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)
        external_policy_applies = svc_type in ("NodePort", "LoadBalancer") or bool(external_ips)
        ext_local = external_policy_applies and spec.get("externalTrafficPolicy") == "Local"
        int_local = spec.get("internalTrafficPolicy") == "Local"
        svc_slices = by_service.get((ns, name), [])
        for p in spec.get("ports") or []:
            protocol = p.get("protocol") or "TCP"
            if protocol not in PROTOCOLS or not p.get("port"):
                continue
            port_name = p.get("name") or ""
            eps = slice_endpoints(svc_slices, port_name, protocol)
            local = [e for e in eps if e.node_name == node_name]
            cluster_eps = usable(local if int_local else eps)
            external_eps = usable(local if ext_local else eps)
            node_port = int(p.get("nodePort") or 0) if svc_type in ("NodePort", "LoadBalancer") else 0
            out.append(ServicePort(
                namespace=ns, name=name, port_name=port_name, protocol=protocol, port=int(p["port"]),
                cluster_ips=cluster_ips, node_port=node_port, external_ips=external_ips,
                affinity_timeout=affinity, external_local=ext_local, internal_local=int_local,
                health_check_node_port=int(spec.get("healthCheckNodePort") or 0) if ext_local else 0,
                all_endpoints=eps, cluster_endpoints=cluster_eps, external_endpoints=external_eps))
    out.sort(key=lambda sp: sp.key)
    return out


# --- UDP conntrack cleanup --------------------------------------------------------------------------

def _udp_frontends(model: Iterable[ServicePort]) -> dict[tuple[str, int], tuple[set[Endpoint], bool]]:
    """(front IP or "" for a node port, port) -> (endpoints reachable there, is node port)."""
    out: dict[tuple[str, int], tuple[set[Endpoint], bool]] = {}
    for sp in model:
        if sp.protocol != "UDP":
            continue
        for ip in sp.cluster_ips:
            out[(ip, sp.port)] = (set(sp.cluster_endpoints), False)
        for ip in sp.external_ips:
            out[(ip, sp.port)] = (set(sp.external_endpoints), False)
        if sp.node_port:
            out[("", sp.node_port)] = (set(sp.external_endpoints), True)
    return out


def stale_udp_flows(old: Iterable[ServicePort], new: Iterable[ServicePort]) -> list[list[str]]:
    """`conntrack` argument lists that delete UDP flows the new ruleset no longer wants.

    UDP has no connection end, so a flow NATed to an endpoint that went away keeps going there until
    its conntrack entry expires; and a front end that had no endpoints may hold an un-NATed entry
    that hides the endpoints that just appeared. Both are deleted."""
    before, after = _udp_frontends(old), _udp_frontends(new)
    cmds: list[list[str]] = []
    for (ip, port), (old_eps, node_port) in sorted(before.items(), key=lambda kv: kv[0]):
        new_eps = after.get((ip, port), (set(), node_port))[0]
        dst = ["--dport", str(port)] if node_port else ["--orig-dst", ip, "--dport", str(port)]
        for ep in sorted(old_eps - new_eps):
            cmds.append(["-D", "-p", "udp", *dst, "--reply-src", ep.ip, "--reply-port-src", str(ep.port)])
    for (ip, port), (new_eps, node_port) in sorted(after.items(), key=lambda kv: kv[0]):
        if new_eps and not before.get((ip, port), (set(), node_port))[0]:
            dst = ["--dport", str(port)] if node_port else ["--orig-dst", ip, "--dport", str(port)]
            cmds.append(["-D", "-p", "udp", *dst])
    return cmds
