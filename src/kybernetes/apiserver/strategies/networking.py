"""Strategies of networking.k8s.io/v1: Ingress, IngressClass, NetworkPolicy."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from kybernetes.apiserver.strategies import warnings_nonpod
from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    forbidden,
    index,
    invalid,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_valid_path_segment_name,
    is_valid_port_name,
    is_valid_port_num,
    is_wildcard_dns1123_subdomain,
    name_is_dns_label,
    not_supported,
    regex_error,
    required,
    too_long,
    validate_immutable,
    validate_label_selector,
)

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")
POLICY_TYPES = ("Ingress", "Egress")
NETPOL_PROTOCOLS = ("TCP", "UDP", "SCTP")
_INVALID_PATH_SEQUENCES = ("//", "/./", "/../", "%2f", "%2F")
_INVALID_PATH_SUFFIXES = ("/..", "/.")
_CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def _host(host: str, path: str) -> list[Cause]:
    if "*" in host:
        return [invalid(path, host, m) for m in is_wildcard_dns1123_subdomain(host)]
    return [invalid(path, host, m) for m in is_dns1123_subdomain(host)]


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def _typed_ref(ref: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    group = ref.get("apiGroup")
    if isinstance(group, str):
        causes.extend(invalid(child(path, "apiGroup"), group, m) for m in is_dns1123_subdomain(group))
    for f in ("kind", "name"):
        v = ref.get(f) or ""
        if not v:
            causes.append(required(child(path, f), f"{f} is required"))
        else:
            causes.extend(invalid(child(path, f), v, m) for m in is_valid_path_segment_name(v))
    return causes


def _validate_backend(backend: Any, path: str) -> list[Cause]:
    if not isinstance(backend, dict):
        return []
    svc, res = backend.get("service"), backend.get("resource")
    if svc is not None and res is not None:
        return [invalid(path, "", "cannot set both resource and service backends")]
    if isinstance(res, dict):
        return _typed_ref(res, child(path, "resource"))
    if not isinstance(svc, dict):
        return [invalid(path, "", "resource or service backend is required")]
    causes: list[Cause] = []
    name = svc.get("name") or ""
    if not name:
        causes.append(required(child(path, "service", "name")))
    else:
        causes.extend(invalid(child(path, "service", "name"), name, m) for m in is_dns1035_label(name))
    port: Obj = svc["port"] if isinstance(svc.get("port"), dict) else {}
    pname, pnum = port.get("name") or "", port.get("number") or 0
    if pname and pnum:
        causes.append(invalid(path, "", "cannot set both port name & port number"))
    elif pname:
        causes.extend(
            invalid(child(path, "service", "port", "name"), pname, m) for m in is_valid_port_name(pname)
        )
    elif pnum:
        causes.extend(
            invalid(child(path, "service", "port", "number"), pnum, m) for m in is_valid_port_num(pnum)
        )
    else:
        causes.append(required(path, "port name or number is required"))
    return causes


def _validate_http_path(p: Obj, path: str) -> list[Cause]:
    pt = p.get("pathType") or ""
    if not pt:
        return [required(child(path, "pathType"), "pathType must be specified")]
    causes: list[Cause] = []
    value = p.get("path") or ""
    if pt in ("Exact", "Prefix"):
        if not value.startswith("/"):
            causes.append(invalid(child(path, "path"), value, "must be an absolute path"))
        if value:
            causes.extend(
                invalid(child(path, "path"), value, f"must not contain '{seq}'")
                for seq in _INVALID_PATH_SEQUENCES
                if seq in value
            )
            causes.extend(
                invalid(child(path, "path"), value, f"cannot end with '{suf}'")
                for suf in _INVALID_PATH_SUFFIXES
                if value.endswith(suf)
            )
    elif pt == "ImplementationSpecific":
        if value and not value.startswith("/"):
            causes.append(invalid(child(path, "path"), value, "must be an absolute path"))
    else:
        causes.append(not_supported(child(path, "pathType"), pt, PATH_TYPES))
    return causes + _validate_backend(p.get("backend"), child(path, "backend"))


def validate_ingress_spec(s: Obj) -> list[Cause]:
    """ValidateIngressSpec: backends, rules (hosts, paths), TLS hosts and secret names, class."""
    causes: list[Cause] = []
    rules = s.get("rules") or []
    if s.get("defaultBackend") is None and not rules:
        causes.append(
            invalid(
                "spec",
                None,
                "either `defaultBackend` or `rules` must be specified",
                rendered="[]networking.IngressRule(nil)",
            )
        )
    causes.extend(_validate_backend(s.get("defaultBackend"), "spec.defaultBackend"))
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        rp = index("spec.rules", i)
        host = rule.get("host") or ""
        if host:
            if _is_ip(host):
                causes.append(invalid(child(rp, "host"), host, "must be a DNS name, not an IP address"))
            causes.extend(_host(host, child(rp, "host")))
        http = rule.get("http")
        if isinstance(http, dict):
            paths = http.get("paths") or []
            if not paths:
                causes.append(required(child(rp, "http", "paths")))
            for j, p in enumerate(paths):
                if isinstance(p, dict):
                    causes.extend(_validate_http_path(p, index(child(rp, "http", "paths"), j)))
    for i, tls in enumerate(s.get("tls") or []):
        if not isinstance(tls, dict):
            continue
        tp = index("spec.tls", i)
        for j, host in enumerate(tls.get("hosts") or []):
            if isinstance(host, str):
                causes.extend(_host(host, index(child(tp, "hosts"), j)))
        secret = tls.get("secretName") or ""
        if secret:
            causes.extend(invalid(child(tp, "secretName"), secret, m) for m in is_dns1123_subdomain(secret))
    cls = s.get("ingressClassName")
    if isinstance(cls, str):
        causes.extend(invalid("spec.ingressClassName", cls, m) for m in is_dns1123_subdomain(cls))
    return causes


@register("networking.k8s.io", "Ingress")
class IngressStrategy(KindStrategy):
    has_status = True
    tracks_generation = True

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.ingress_warnings(obj)

    def initial_status(self, obj: Obj) -> Any:
        return {"loadBalancer": {}}

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_ingress_spec(obj.get("spec") or {})


_HTTP_PATH_FMT = "[A-Za-z0-9/\\-._~%!$&'()*+,;=:]+"
_HTTP_PATH_RE = re.compile(_HTTP_PATH_FMT)
MAX_CONTROLLER_LEN = 250
PARAMETER_SCOPES = ("Cluster", "Namespace")


def is_domain_prefixed_path(path: str, value: str) -> list[Cause]:
    """ "example.com/some/path" (upstream's IsDomainPrefixedPath)."""
    if not value:
        return [required(path)]
    host, slash, rest = value.partition("/")
    if not slash or not host or not rest:
        return [invalid(path, value, 'must be a domain-prefixed path (such as "acme.io/foo")')]
    causes = [invalid(path, host, m) for m in is_dns1123_subdomain(host)]
    if not _HTTP_PATH_RE.fullmatch(rest):
        causes.append(invalid(path, rest, regex_error("Invalid path", _HTTP_PATH_FMT)))
    return causes


def _ingress_class_parameters(params: Any, path: str) -> list[Cause]:
    if not isinstance(params, dict):
        return []
    causes = _typed_ref(params, path)
    scope = params.get("scope")
    if scope is None:
        causes.append(required(child(path, "scope")))
        return causes
    if scope not in PARAMETER_SCOPES:
        causes.append(not_supported(child(path, "scope"), scope, PARAMETER_SCOPES))
        return causes
    namespace = params.get("namespace")
    if scope == "Namespace":
        if namespace is None:
            causes.append(required(child(path, "namespace"), "`parameters.scope` is set to 'Namespace'"))
        else:
            causes.extend(
                invalid(child(path, "namespace"), namespace, m)
                for m in name_is_dns_label(str(namespace), False)
            )
    elif namespace is not None:
        causes.append(forbidden(child(path, "namespace"), "`parameters.scope` is set to 'Cluster'"))
    return causes


def validate_ingress_class_spec(s: Obj) -> list[Cause]:
    causes: list[Cause] = []
    controller = s.get("controller") or ""
    if len(controller) > MAX_CONTROLLER_LEN:
        causes.append(too_long("spec.controller", MAX_CONTROLLER_LEN))
    causes.extend(is_domain_prefixed_path("spec.controller", controller))
    causes.extend(_ingress_class_parameters(s.get("parameters"), "spec.parameters"))
    return causes


@register("networking.k8s.io", "IngressClass")
class IngressClassStrategy(KindStrategy):
    tracks_generation = True

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_ingress_class_spec(obj.get("spec") or {})

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = validate_immutable(
            get(new, "spec", "controller"), get(old, "spec", "controller"), "spec.controller"
        )
        return causes + self.validate(new)


@register("networking.k8s.io", "NetworkPolicy")
class NetworkPolicyStrategy(KindStrategy):
    tracks_generation = True

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if not s.get("policyTypes"):
            types = ["Ingress"]
            if s.get("egress"):
                types.append("Egress")
            s["policyTypes"] = types

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_network_policy_spec(obj.get("spec") or {})


def _netpol_port(port: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    proto = port.get("protocol")
    if proto is not None and proto not in NETPOL_PROTOCOLS:
        causes.append(not_supported(child(path, "protocol"), proto, NETPOL_PROTOCOLS))
    p, end = port.get("port"), port.get("endPort")
    if isinstance(p, int) and not isinstance(p, bool):
        causes.extend(invalid(child(path, "port"), p, m) for m in is_valid_port_num(p))
        if isinstance(end, int):
            if end < p:
                causes.append(invalid(child(path, "endPort"), p, "must be greater than or equal to `port`"))
            causes.extend(invalid(child(path, "endPort"), end, m) for m in is_valid_port_num(end))
    elif isinstance(p, str):
        if end is not None:
            causes.append(
                invalid(child(path, "endPort"), end, "may not be specified when `port` is non-numeric")
            )
        causes.extend(invalid(child(path, "port"), p, m) for m in is_valid_port_name(p))
    elif end is not None:
        causes.append(
            invalid(child(path, "endPort"), end, "may not be specified when `port` is not specified")
        )
    return causes


def _ip_block(ipb: Obj, path: str) -> list[Cause]:
    cidr = ipb.get("cidr") or ""
    if not cidr:
        return [required(child(path, "cidr"))]
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return [invalid(child(path, "cidr"), cidr, _CIDR_MSG)]
    causes: list[Cause] = []
    for i, ex in enumerate(ipb.get("except") or []):
        ep = index(child(path, "except"), i)
        try:
            exnet = ipaddress.ip_network(ex, strict=False)
        except (ValueError, TypeError):
            causes.append(invalid(ep, ex, _CIDR_MSG))
            continue
        if (
            exnet.version != net.version
            or exnet.network_address not in net
            or net.prefixlen >= exnet.prefixlen
        ):
            causes.append(invalid(ep, ex, "must be a strict subset of `cidr`"))
    return causes


def _netpol_peer(peer: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    count = 0
    for k in ("podSelector", "namespaceSelector"):
        if peer.get(k) is not None:
            count += 1
            causes.extend(validate_label_selector(peer[k], child(path, k)))
    if isinstance(peer.get("ipBlock"), dict):
        count += 1
        causes.extend(_ip_block(peer["ipBlock"], child(path, "ipBlock")))
    if count == 0:
        causes.append(required(path, "must specify a peer"))
    elif count > 1 and peer.get("ipBlock") is not None:
        causes.append(forbidden(path, "may not specify both ipBlock and another peer"))
    return causes


def validate_network_policy_spec(s: Obj) -> list[Cause]:
    """ValidateNetworkPolicySpec: selectors, ports, peers, policyTypes."""
    causes = validate_label_selector(s.get("podSelector"), "spec.podSelector")
    for direction, peers in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(s.get(direction) or []):
            if not isinstance(rule, dict):
                continue
            rp = index(f"spec.{direction}", i)
            for j, port in enumerate(rule.get("ports") or []):
                if isinstance(port, dict):
                    causes.extend(_netpol_port(port, index(child(rp, "ports"), j)))
            for j, peer in enumerate(rule.get(peers) or []):
                if isinstance(peer, dict):
                    causes.extend(_netpol_peer(peer, index(child(rp, peers), j)))
    types = s.get("policyTypes") or []
    if len(types) > 2:
        causes.append(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"))
        return causes
    for i, t in enumerate(types):
        if t not in POLICY_TYPES:
            causes.append(not_supported(index("spec.policyTypes", i), t, POLICY_TYPES))
    return causes
