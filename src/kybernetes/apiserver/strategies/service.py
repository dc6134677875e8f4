"""The Service strategy: type-dependent defaults, port rules, and keeping allocated values.

ClusterIP and node-port *allocation* needs shared state and lives in the store's hooks; this
module only normalises (clusterIP <-> clusterIPs, IP families for a single-stack IPv4 cluster)
and, on update, carries allocated values over when the client left them out, as upstream's
REST layer does, so that ``kubectl apply`` of a manifest without clusterIP keeps the IP.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    duplicate,
    forbidden,
    go_quote,
    index,
    invalid,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
    not_supported,
    required,
    validate_labels,
)

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
SESSION_AFFINITIES = ("ClientIP", "None")
PROTOCOLS = ("SCTP", "TCP", "UDP")
TRAFFIC_POLICIES = ("Cluster", "Local")
IP_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")
DEFAULT_CLIENT_IP_TIMEOUT = 10800
MAX_CLIENT_IP_TIMEOUT = 86400


def _needs_cluster_ip(s: Obj) -> bool:
    return (s.get("type") or "ClusterIP") != "ExternalName"


def _needs_node_port(s: Obj) -> bool:
    return s.get("type") in ("NodePort", "LoadBalancer")


def _is_headless(s: Obj) -> bool:
    return s.get("clusterIP") == "None"


def default_service(obj: Obj) -> None:
    s = spec(obj)
    if not s.get("sessionAffinity"):
        s["sessionAffinity"] = "None"
    if not s.get("type"):
        s["type"] = "ClusterIP"
    for p in s.get("ports") or []:
        if not isinstance(p, dict):
            continue
        if not p.get("protocol"):
            p["protocol"] = "TCP"
        if p.get("targetPort") in (None, 0, "") and p.get("port") is not None:
            p["targetPort"] = p["port"]
    typ = s["type"]
    if typ in ("NodePort", "LoadBalancer") and not s.get("externalTrafficPolicy"):
        s["externalTrafficPolicy"] = "Cluster"
    if typ != "ExternalName" and not s.get("internalTrafficPolicy"):
        s["internalTrafficPolicy"] = "Cluster"
    if typ == "LoadBalancer" and s.get("allocateLoadBalancerNodePorts") is None:
        s["allocateLoadBalancerNodePorts"] = True
    if s.get("sessionAffinity") == "ClientIP":
        cfg = s.setdefault("sessionAffinityConfig", {})
        cip = cfg.setdefault("clientIP", {})
        if cip.get("timeoutSeconds") is None:
            cip["timeoutSeconds"] = DEFAULT_CLIENT_IP_TIMEOUT
    if typ == "ExternalName":
        return
    # clusterIP and clusterIPs describe the same thing; whichever the client gave fills the other.
    if s.get("clusterIP") and not s.get("clusterIPs"):
        s["clusterIPs"] = [s["clusterIP"]]
    elif s.get("clusterIPs") and not s.get("clusterIP"):
        s["clusterIP"] = s["clusterIPs"][0]
    # A headless service without selector gets both families, everything else one (this
    # cluster is single-stack IPv4).
    if not s.get("ipFamilyPolicy"):
        headless_unselected = _is_headless(s) and not s.get("selector")
        s["ipFamilyPolicy"] = "RequireDualStack" if headless_unselected else "SingleStack"
    if not s.get("ipFamilies"):
        ip = s.get("clusterIP") or ""
        first = "IPv6" if ":" in ip else "IPv4"
        if s["ipFamilyPolicy"] == "RequireDualStack" and _is_headless(s):
            s["ipFamilies"] = ["IPv4", "IPv6"]
        else:
            s["ipFamilies"] = [first]


def carry_allocated_values(new: Obj, old: Obj) -> None:
    """Keep clusterIP(s), nodePorts and healthCheckNodePort the client left out of an update."""
    ns, os_ = spec(new), old.get("spec") or {}
    if _needs_cluster_ip(ns) and _needs_cluster_ip(os_):
        if not ns.get("clusterIP") and os_.get("clusterIP"):
            ns["clusterIP"] = os_["clusterIP"]
        if not ns.get("clusterIPs") and os_.get("clusterIPs") and ns.get("clusterIP") == os_.get("clusterIP"):
            ns["clusterIPs"] = list(os_["clusterIPs"])
    if _needs_node_port(ns) and _needs_node_port(os_):
        old_ports = os_.get("ports") or []
        for p in ns.get("ports") or []:
            if not isinstance(p, dict) or p.get("nodePort"):
                continue
            for op in old_ports:
                if op.get("nodePort") and op.get("port") == p.get("port") and \
                        (op.get("protocol") or "TCP") == (p.get("protocol") or "TCP"):
                    p["nodePort"] = op["nodePort"]
                    break
        if not ns.get("healthCheckNodePort") and os_.get("healthCheckNodePort") and \
                ns.get("externalTrafficPolicy") == "Local":
            ns["healthCheckNodePort"] = os_["healthCheckNodePort"]


def _validate_target_port(tp: Any, path: str) -> list[Cause]:
    if isinstance(tp, str):
        return [invalid(path, tp, m) for m in is_valid_port_name(tp)]
    if isinstance(tp, int):
        return [invalid(path, tp, m) for m in is_valid_port_num(tp)]
    return []


def _go_service_port(port: Any, proto: Any) -> str:
    """The duplicate key as Go's %#v prints upstream's ServicePort (only port and protocol set)."""
    return (f"core.ServicePort{{Name:\"\", Protocol:{go_quote(str(proto))}, AppProtocol:(*string)(nil), "
            f"Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:\"\"}}, NodePort:0}}")


def _session_affinity_config(s: Obj) -> list[Cause]:
    path = "spec.sessionAffinityConfig"
    cfg = s.get("sessionAffinityConfig")
    affinity = s.get("sessionAffinity")
    if affinity == "None":
        if cfg is not None:
            return [forbidden(path, "must not be set when session affinity is None")]
        return []
    if affinity != "ClientIP":
        return []
    why = "when session affinity type is ClientIP"
    if not isinstance(cfg, dict):
        return [required(path, why)]
    cip = cfg.get("clientIP")
    if not isinstance(cip, dict):
        return [required(child(path, "clientIP"), why)]
    timeout = cip.get("timeoutSeconds")
    tp = child(path, "clientIP", "timeoutSeconds")
    if timeout is None:
        return [required(tp, why)]
    if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT:
        return [invalid(tp, timeout, f"must be greater than 0 and less than {MAX_CLIENT_IP_TIMEOUT}")]
    return []


def validate_service(obj: Obj) -> list[Cause]:
    s = obj.get("spec") or {}
    causes: list[Cause] = []
    typ = s.get("type") or ""
    ports = s.get("ports") or []
    if not ports and not _is_headless(s) and typ != "ExternalName":
        causes.append(required("spec.ports"))
    if typ == "ExternalName":
        en = s.get("externalName") or ""
        if not en:
            causes.append(required("spec.externalName"))
        else:
            causes.extend(invalid("spec.externalName", en, m) for m in is_dns1123_subdomain(en.rstrip(".")))
    names: set[str] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, p in enumerate(ports):
        if not isinstance(p, dict):
            continue
        pp = index("spec.ports", i)
        name = p.get("name") or ""
        if len(ports) > 1 and not name:
            causes.append(required(child(pp, "name")))
        elif name:
            causes.extend(invalid(child(pp, "name"), name, m) for m in is_dns1123_label(name))
            if name in names:
                causes.append(duplicate(child(pp, "name"), name))
            names.add(name)
        port = p.get("port")
        causes.extend(invalid(child(pp, "port"), port, m) for m in is_valid_port_num(port))
        proto = p.get("protocol") or ""
        if not proto:
            causes.append(required(child(pp, "protocol")))
        elif proto not in PROTOCOLS:
            causes.append(not_supported(child(pp, "protocol"), proto, PROTOCOLS))
        causes.extend(_validate_target_port(p.get("targetPort"), child(pp, "targetPort")))
        if typ == "ClusterIP" and p.get("nodePort"):
            causes.append(forbidden(child(pp, "nodePort"), "may not be used when `type` is 'ClusterIP'"))
        elif p.get("nodePort"):
            causes.extend(invalid(child(pp, "nodePort"), p["nodePort"], m) for m in is_valid_port_num(p["nodePort"]))
        app = p.get("appProtocol")
        if isinstance(app, str):
            causes.extend(invalid(child(pp, "appProtocol"), app, m) for m in is_qualified_name(app))
        k = (port, proto)
        if k in seen:
            causes.append(Cause("FieldValueDuplicate", "Duplicate value: " + _go_service_port(port, proto), pp))
        seen.add(k)
    if not typ:
        causes.append(required("spec.type"))
    elif typ not in SERVICE_TYPES:
        causes.append(not_supported("spec.type", typ, SERVICE_TYPES))
    sa = s.get("sessionAffinity") or ""
    if not sa:
        causes.append(required("spec.sessionAffinity"))
    elif sa not in SESSION_AFFINITIES:
        causes.append(not_supported("spec.sessionAffinity", sa, SESSION_AFFINITIES))
    causes.extend(validate_labels(s.get("selector"), "spec.selector"))
    causes.extend(_session_affinity_config(s))
    etp = s.get("externalTrafficPolicy")
    external = typ in ("NodePort", "LoadBalancer") or (typ == "ClusterIP" and bool(s.get("externalIPs")))
    if etp:
        if not external:
            causes.append(invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"))
        elif etp not in TRAFFIC_POLICIES:
            causes.append(not_supported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES))
    # healthCheckNodePort is settled (kept, dropped or refused) by the allocator in registry/services.py
    itp = s.get("internalTrafficPolicy")
    if itp and itp not in TRAFFIC_POLICIES:
        causes.append(not_supported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES))
    ifp = s.get("ipFamilyPolicy")
    if ifp and ifp not in IP_FAMILY_POLICIES:
        causes.append(not_supported("spec.ipFamilyPolicy", ifp, IP_FAMILY_POLICIES))
    return causes


@register("", "Service")
class ServiceStrategy(KindStrategy):
    has_status = True

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return name_is_dns1035_label(name, prefix)

    def default(self, obj: Obj) -> None:
        default_service(obj)

    def initial_status(self, obj: Obj) -> Any:
        return {"loadBalancer": {}}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        carry_allocated_values(new, old)
        default_service(new)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = validate_service(new)
        ns, os_ = new.get("spec") or {}, old.get("spec") or {}
        old_ips = os_.get("clusterIPs") or ([os_["clusterIP"]] if os_.get("clusterIP") else [])
        new_ips = ns.get("clusterIPs") or ([ns["clusterIP"]] if ns.get("clusterIP") else [])
        if _needs_cluster_ip(ns) and _needs_cluster_ip(os_) and old_ips and new_ips and old_ips[0] != new_ips[0]:
            causes.append(invalid("spec.clusterIPs[0]", new_ips[0], "may not change once set"))
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["spec.clusterIP"] = get(obj, "spec", "clusterIP") or ""
        fields["spec.type"] = get(obj, "spec", "type") or ""
        return fields
