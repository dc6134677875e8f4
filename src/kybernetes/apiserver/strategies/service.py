"""The Service strategy: type-dependent defaults, port rules, and keeping allocated values.

ClusterIP and node-port *allocation* needs shared state and lives in the store's hooks; this
module only normalises (clusterIP <-> clusterIPs, IP families for a single-stack IPv4 cluster)
and, on update, carries allocated values over when the client left them out, as upstream's
REST layer does, so that ``kubectl apply`` of a manifest without clusterIP keeps the IP.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies import ipaddr
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
IP_FAMILY_POLICIES = ("PreferDualStack", "RequireDualStack", "SingleStack")
IP_FAMILIES = ("IPv4", "IPv6")
TRAFFIC_DISTRIBUTIONS = ("PreferClose",)
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
TOPOLOGY_HINTS_ANNOTATION = "service.kubernetes.io/topology-aware-hints"
TOPOLOGY_MODE_ANNOTATION = "service.kubernetes.io/topology-mode"
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
    if _externally_accessible(s) and not s.get("externalTrafficPolicy"):
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
                if (
                    op.get("nodePort")
                    and op.get("port") == p.get("port")
                    and (op.get("protocol") or "TCP") == (p.get("protocol") or "TCP")
                ):
                    p["nodePort"] = op["nodePort"]
                    break
        if (
            not ns.get("healthCheckNodePort")
            and os_.get("healthCheckNodePort")
            and ns.get("externalTrafficPolicy") == "Local"
        ):
            ns["healthCheckNodePort"] = os_["healthCheckNodePort"]


def _validate_target_port(tp: Any, path: str) -> list[Cause]:
    if isinstance(tp, str):
        return [invalid(path, tp, m) for m in is_valid_port_name(tp)]
    if isinstance(tp, int):
        return [invalid(path, tp, m) for m in is_valid_port_num(tp)]
    return []


def _go_service_port(port: Any, proto: Any) -> str:
    """The duplicate key as Go's %#v prints upstream's ServicePort (only port and protocol set)."""
    return (
        f'core.ServicePort{{Name:"", Protocol:{go_quote(str(proto))}, AppProtocol:(*string)(nil), '
        f'Port:{port}, TargetPort:intstr.IntOrString{{Type:0, IntVal:0, StrVal:""}}, NodePort:0}}'
    )


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


def _cluster_ips(s: Obj) -> list[Any]:
    ips = s.get("clusterIPs")
    return list(ips) if isinstance(ips, list) else []


def _headless(s: Obj) -> bool:
    """Upstream's isHeadlessService: exactly one cluster IP, "None"."""
    return _cluster_ips(s) == ["None"]


def _externally_accessible(s: Obj) -> bool:
    typ = s.get("type")
    return typ in ("NodePort", "LoadBalancer") or (typ == "ClusterIP" and bool(s.get("externalIPs")))


def _go_list(go_type: str, values: list[Any]) -> str:
    """A Go slice of string-kinded values as %#v prints it."""
    return go_type + "{" + ", ".join(go_quote(str(v)) for v in values) + "}"


def _type_specific(s: Obj) -> list[Cause]:
    typ = s.get("type")
    if typ in ("LoadBalancer", "NodePort") and _headless(s):
        return [invalid("spec.clusterIPs[0]", "None", f"may not be set to 'None' for {typ} services")]
    if typ != "ExternalName":
        return []
    causes: list[Cause] = []
    for f in ("clusterIPs", "ipFamilies"):
        if s.get(f):
            causes.append(forbidden(f"spec.{f}", "may not be set for ExternalName services"))
    if s.get("ipFamilyPolicy") is not None:
        causes.append(forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"))
    # a CNAME may end in a dot (fully qualified)
    cname = (s.get("externalName") or "").removesuffix(".")
    if cname:
        causes.extend(invalid("spec.externalName", cname, m) for m in is_dns1123_subdomain(cname))
    else:
        causes.append(required("spec.externalName"))
    return causes


def _validate_port(p: Obj, pp: str, *, require_name: bool, names: set[str]) -> list[Cause]:
    causes: list[Cause] = []
    name = p.get("name") or ""
    if require_name and not name:
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
    app = p.get("appProtocol")
    if isinstance(app, str):
        causes.extend(invalid(child(pp, "appProtocol"), app, m) for m in is_qualified_name(app))
    return causes


def validate_cluster_ips_related(s: Obj) -> list[Cause]:
    """clusterIP <-> clusterIPs <-> ipFamilies <-> ipFamilyPolicy (upstream's
    ValidateServiceClusterIPsRelatedFields)."""
    if s.get("type") == "ExternalName":
        return []
    causes: list[Cause] = []
    ips = _cluster_ips(s)
    rendered_ips = _go_list("[]string", ips)
    if s.get("clusterIP"):
        if not ips:
            causes.append(required("spec.clusterIPs"))
        elif ips[0] != s["clusterIP"]:
            causes.append(
                invalid("spec.clusterIPs", ips, "first value must match `clusterIP`", rendered=rendered_ips)
            )
    elif ips:
        causes.append(
            invalid(
                "spec.clusterIPs",
                ips,
                "must be empty when `clusterIP` is not specified",
                rendered=rendered_ips,
            )
        )
    families = s.get("ipFamilies") or []
    seen: set[Any] = set()
    for i, fam in enumerate(families):
        if fam not in IP_FAMILIES:
            causes.append(not_supported(index("spec.ipFamilies", i), fam, IP_FAMILIES))
        if fam in seen:
            causes.append(duplicate(index("spec.ipFamilies", i), fam))
        seen.add(fam)
    policy = s.get("ipFamilyPolicy")
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        causes.append(not_supported("spec.ipFamilyPolicy", policy, IP_FAMILY_POLICIES))
    bad_ips = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                bad_ips = True
                causes.append(
                    invalid(
                        "spec.clusterIPs",
                        ips,
                        "'None' must be the first and only value",
                        rendered=rendered_ips,
                    )
                )
            continue
        errs = ipaddr.is_valid_ip(index("spec.clusterIPs", i), ip)
        bad_ips = bad_ips or bool(errs)
        causes.extend(errs)
    if len(ips) > 2:
        causes.append(invalid("spec.clusterIPs", ips, "may only hold up to 2 values", rendered=rendered_ips))
    if bad_ips:
        return causes
    if len(ips) > 1:
        parsed = [ipaddr.parse_ip_sloppy(ip) for ip in ips]
        if len({a.version for a in parsed if a is not None}) != len(ips):
            causes.append(
                invalid(
                    "spec.clusterIPs",
                    ips,
                    "may specify no more than one IP for each IP family",
                    rendered=rendered_ips,
                )
            )
    if not _headless(s) and ips and families:
        for i, (ip, fam) in enumerate(zip(ips, families, strict=False)):
            addr = ipaddr.parse_ip_sloppy(ip)
            is6 = addr is not None and addr.version == 6
            if fam == "IPv4" and is6:
                causes.append(
                    invalid(
                        index("spec.clusterIPs", i),
                        ip,
                        f"expected an IPv4 value as indicated by `ipFamilies[{i}]`",
                    )
                )
            if fam == "IPv6" and not is6:
                causes.append(
                    invalid(
                        index("spec.clusterIPs", i),
                        ip,
                        f"expected an IPv6 value as indicated by `ipFamilies[{i}]`",
                    )
                )
    return causes


def _source_ranges(obj: Obj, s: Obj) -> list[Cause]:
    typ = s.get("type")
    ranges = s.get("loadBalancerSourceRanges") or []
    causes: list[Cause] = []
    if ranges:
        path = "spec.LoadBalancerSourceRanges"  # sic: upstream names the field so in this error
        if typ != "LoadBalancer":
            causes.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
        for i, value in enumerate(ranges):
            # values may be space-padded (inherited from the annotation's format)
            causes.extend(ipaddr.is_valid_cidr(index(path, i), str(value).strip()))
        return causes
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if SOURCE_RANGES_ANNOTATION not in annotations:
        return []
    path = f"metadata.annotations[{SOURCE_RANGES_ANNOTATION}]"
    if typ != "LoadBalancer":
        causes.append(forbidden(path, "may only be used when `type` is 'LoadBalancer'"))
    text = str(annotations[SOURCE_RANGES_ANNOTATION]).strip()
    if text:
        for value in text.split(","):
            causes.extend(ipaddr.is_valid_cidr(path, value.strip()))
    return causes


def _load_balancer_class(s: Obj, old: Obj | None) -> list[Cause]:
    causes: list[Cause] = []
    cls = s.get("loadBalancerClass")
    if (
        old is not None
        and old.get("type") == "LoadBalancer"
        and s.get("type") == "LoadBalancer"
        and old.get("loadBalancerClass") != cls
    ):
        causes.append(invalid("spec.loadBalancerClass", cls, "may not change once set"))
    if cls is None:
        return causes
    if s.get("type") == "LoadBalancer":
        causes.extend(invalid("spec.loadBalancerClass", cls, m) for m in is_qualified_name(str(cls)))
    else:
        causes.append(forbidden("spec.loadBalancerClass", "may only be used when `type` is 'LoadBalancer'"))
    return causes


def validate_service(obj: Obj) -> list[Cause]:
    """Upstream's ValidateService (metadata aside), in upstream's order."""
    s = obj.get("spec") or {}
    causes: list[Cause] = []
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if (
        TOPOLOGY_HINTS_ANNOTATION in annotations
        and TOPOLOGY_MODE_ANNOTATION in annotations
        and annotations[TOPOLOGY_HINTS_ANNOTATION] != annotations[TOPOLOGY_MODE_ANNOTATION]
    ):
        causes.append(
            invalid(
                f"metadata.annotations[{TOPOLOGY_MODE_ANNOTATION}]",
                annotations[TOPOLOGY_MODE_ANNOTATION],
                f"must match annotations[{TOPOLOGY_HINTS_ANNOTATION}] when both are specified",
            )
        )
    typ = s.get("type") or ""
    ports = [p for p in (s.get("ports") or []) if isinstance(p, dict)]
    if not ports and not _headless(s) and typ != "ExternalName":
        causes.append(required("spec.ports"))
    causes.extend(_type_specific(s))
    names: set[str] = set()
    for i, p in enumerate(ports):
        causes.extend(_validate_port(p, index("spec.ports", i), require_name=len(ports) > 1, names=names))
    if s.get("selector") is not None:
        causes.extend(validate_labels(s.get("selector"), "spec.selector"))
    sa = s.get("sessionAffinity") or ""
    if not sa:
        causes.append(required("spec.sessionAffinity"))
    elif sa not in SESSION_AFFINITIES:
        causes.append(not_supported("spec.sessionAffinity", sa, SESSION_AFFINITIES))
    causes.extend(_session_affinity_config(s))
    causes.extend(validate_cluster_ips_related(s))
    for i, ip in enumerate(s.get("externalIPs") or []):
        errs = ipaddr.is_valid_ip(index("spec.externalIPs", i), ip)
        causes.extend(errs or ipaddr.validate_non_special_ip(index("spec.externalIPs", i), ip))
    if not typ:
        causes.append(required("spec.type"))
    elif typ not in SERVICE_TYPES:
        causes.append(not_supported("spec.type", typ, SERVICE_TYPES))
    node_ports: set[tuple[Any, Any]] = set()
    seen: set[tuple[Any, Any]] = set()
    for i, p in enumerate(ports):
        pp = index("spec.ports", i)
        node_port = p.get("nodePort")
        if typ == "ClusterIP" and node_port:
            causes.append(forbidden(child(pp, "nodePort"), "may not be used when `type` is 'ClusterIP'"))
        elif node_port:
            causes.extend(invalid(child(pp, "nodePort"), node_port, m) for m in is_valid_port_num(node_port))
    for i, p in enumerate(ports):
        node_port = p.get("nodePort")
        if node_port:
            nk = (p.get("protocol") or "", node_port)
            if nk in node_ports:
                causes.append(duplicate(child(index("spec.ports", i), "nodePort"), node_port))
            node_ports.add(nk)
    for i, p in enumerate(ports):
        port, proto = p.get("port"), p.get("protocol") or ""
        if (port, proto) in seen:
            causes.append(
                Cause(
                    "FieldValueDuplicate",
                    "Duplicate value: " + _go_service_port(port, proto),
                    index("spec.ports", i),
                )
            )
        seen.add((port, proto))
    causes.extend(_source_ranges(obj, s))
    if s.get("allocateLoadBalancerNodePorts") is not None and typ != "LoadBalancer":
        causes.append(
            forbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'")
        )
    if typ == "LoadBalancer" and s.get("allocateLoadBalancerNodePorts") is None:
        causes.append(required("allocateLoadBalancerNodePorts"))  # sic: upstream's path has no "spec."
    causes.extend(_load_balancer_class(s, None))
    etp = s.get("externalTrafficPolicy")
    if not _externally_accessible(s):
        if etp:
            causes.append(
                invalid(
                    "spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"
                )
            )
    elif not etp:
        causes.append(required("spec.externalTrafficPolicy"))
    elif etp not in TRAFFIC_POLICIES:
        causes.append(not_supported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES))
    # healthCheckNodePort is settled (kept, dropped or refused) by the allocator in registry/services.py
    itp = s.get("internalTrafficPolicy")
    if itp is None and typ in ("ClusterIP", "NodePort", "LoadBalancer"):
        causes.append(required("spec.internalTrafficPolicy"))
    elif itp is not None and itp not in TRAFFIC_POLICIES:
        causes.append(not_supported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES))
    td = s.get("trafficDistribution")
    if td is not None and td not in TRAFFIC_DISTRIBUTIONS:
        causes.append(not_supported("spec.trafficDistribution", td, TRAFFIC_DISTRIBUTIONS))
    return causes


def _validate_cluster_ips_update(new: Obj, old: Obj) -> list[Cause]:
    """Upstream's validateUpgradeDowngradeClusterIPs: the primary IP never changes; releasing the
    secondary needs ipFamilyPolicy SingleStack."""
    if "ExternalName" in (new.get("type"), old.get("type")) or (_headless(new) and _headless(old)):
        return []
    ips, old_ips = _cluster_ips(new), _cluster_ips(old)
    shown = _go_list("[]string", ips)
    causes: list[Cause] = []
    if len(old_ips) == len(ips):
        for i, ip in enumerate(old_ips):
            if ip != ips[i]:
                causes.append(
                    invalid(index("spec.clusterIPs", i), ips, "may not change once set", rendered=shown)
                )
    elif len(old_ips) > len(ips):
        if not ips:
            causes.append(
                invalid("spec.clusterIPs[0]", ips, "primary clusterIP can not be unset", rendered=shown)
            )
        elif ips[0] != old_ips[0]:
            causes.append(invalid("spec.clusterIPs[0]", ips, "may not change once set", rendered=shown))
        if len(ips) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            causes.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                )
            )
    elif old_ips and ips[0] != old_ips[0]:
        causes.append(invalid("spec.clusterIPs[0]", ips, "may not change once set", rendered=shown))
    return causes


def _validate_ip_families_update(new: Obj, old: Obj) -> list[Cause]:
    """Upstream's validateUpgradeDowngradeIPFamilies (its odd choice of values included)."""
    if "ExternalName" in (new.get("type"), old.get("type")) or _headless(new) or _headless(old):
        return []
    fams, old_fams = list(new.get("ipFamilies") or []), list(old.get("ipFamilies") or [])
    shown_fams = _go_list("[]core.IPFamily", fams)
    shown_ips = _go_list("[]string", _cluster_ips(new))
    causes: list[Cause] = []
    if len(old_fams) == len(fams):
        for i, fam in enumerate(old_fams):
            if fam != fams[i]:
                causes.append(
                    invalid("spec.ipFamilies[0]", fams, "may not change once set", rendered=shown_fams)
                )
    elif len(old_fams) > len(fams):
        if not _cluster_ips(new):
            causes.append(
                invalid("spec.ipFamilies[0]", fams, "primary ipFamily can not be unset", rendered=shown_fams)
            )
        if fams and fams[0] != old_fams[0]:
            causes.append(invalid("spec.ipFamilies[0]", fams, "may not change once set", rendered=shown_ips))
        if len(fams) == 1 and new.get("ipFamilyPolicy") != "SingleStack":
            causes.append(
                invalid(
                    "spec.ipFamilyPolicy",
                    new.get("ipFamilyPolicy"),
                    "must be set to 'SingleStack' when releasing the secondary ipFamily",
                )
            )
    elif old_fams and fams and fams[0] != old_fams[0]:
        causes.append(invalid("spec.ipFamilies[0]", fams, "may not change once set", rendered=shown_ips))
    return causes


def validate_service_update(new: Obj, old: Obj) -> list[Cause]:
    ns, os_ = new.get("spec") or {}, old.get("spec") or {}
    causes = _validate_cluster_ips_update(ns, os_)
    causes.extend(_validate_ip_families_update(ns, os_))
    if (
        os_.get("type") == "LoadBalancer"
        and ns.get("type") == "LoadBalancer"
        and os_.get("loadBalancerClass") != ns.get("loadBalancerClass")
    ):
        causes.append(
            invalid("spec.loadBalancerClass", ns.get("loadBalancerClass"), "may not change once set")
        )
    return causes + validate_service(new)


def drop_type_dependent_fields(new: Obj, old: Obj) -> None:
    """On a type change, forget what the old type had filled in and the client left as it was
    (upstream's dropTypeDependentFields), so that e.g. ClusterIP -> ExternalName needs no
    hand-clearing of clusterIP, families and nodePorts. Values the client changed stay, and
    validation judges them."""
    ns, os_ = spec(new), old.get("spec") or {}
    if _needs_cluster_ip(os_) and not _needs_cluster_ip(ns):
        if ns.get("clusterIP") == os_.get("clusterIP") and _cluster_ips(ns) == _cluster_ips(os_):
            ns.pop("clusterIP", None)
            ns.pop("clusterIPs", None)
        if ns.get("ipFamilies") == os_.get("ipFamilies"):
            ns.pop("ipFamilies", None)
        if ns.get("ipFamilyPolicy") == os_.get("ipFamilyPolicy"):
            ns.pop("ipFamilyPolicy", None)
    if _needs_node_port(os_) and not _needs_node_port(ns) and _node_ports(ns) == _node_ports(os_):
        for p in ns.get("ports") or []:
            if isinstance(p, dict):
                p.pop("nodePort", None)
    if (
        needs_health_check(os_)
        and not needs_health_check(ns)
        and ns.get("healthCheckNodePort") == os_.get("healthCheckNodePort")
    ):
        ns.pop("healthCheckNodePort", None)
    if os_.get("type") == "LoadBalancer" and ns.get("type") != "LoadBalancer":
        if ns.get("allocateLoadBalancerNodePorts") is not None and ns.get(
            "allocateLoadBalancerNodePorts"
        ) == os_.get("allocateLoadBalancerNodePorts"):
            ns.pop("allocateLoadBalancerNodePorts", None)
        if ns.get("loadBalancerClass") == os_.get("loadBalancerClass"):
            ns.pop("loadBalancerClass", None)
    if (
        _externally_accessible(os_)
        and not _externally_accessible(ns)
        and ns.get("externalTrafficPolicy") == os_.get("externalTrafficPolicy")
    ):
        ns.pop("externalTrafficPolicy", None)


def _node_ports(s: Obj) -> list[Any]:
    return [p.get("nodePort") for p in s.get("ports") or [] if isinstance(p, dict)]


def needs_health_check(s: Obj) -> bool:
    return s.get("type") == "LoadBalancer" and s.get("externalTrafficPolicy") == "Local"


def service_warnings(obj: Obj) -> list[str]:
    """Upstream 1.32's warnings for a Service (pkg/api/service GetWarningsForService)."""
    s = obj.get("spec") or {}
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    warnings: list[str] = []
    if TOPOLOGY_HINTS_ANNOTATION in annotations:
        warnings.append(
            f"annotation {TOPOLOGY_HINTS_ANNOTATION} is deprecated, please use "
            f"{TOPOLOGY_MODE_ANNOTATION} instead"
        )
    if s.get("clusterIP") not in (None, "", "None"):
        for i, ip in enumerate(_cluster_ips(s)):
            warnings.extend(ipaddr.ip_warnings(index("spec.clusterIPs", i), ip))
    for i, ip in enumerate(s.get("externalIPs") or []):
        warnings.extend(ipaddr.ip_warnings(index("spec.externalIPs", i), ip))
    if s.get("loadBalancerIP"):
        warnings.extend(ipaddr.ip_warnings("spec.loadBalancerIP", s["loadBalancerIP"]))
    for i, cidr in enumerate(s.get("loadBalancerSourceRanges") or []):
        warnings.extend(ipaddr.cidr_warnings(index("spec.loadBalancerSourceRanges", i), cidr))
    return warnings


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
        drop_type_dependent_fields(new, old)
        if (old.get("spec") or {}).get("type") == "LoadBalancer" and spec(new).get("type") != "LoadBalancer":
            new["status"] = {"loadBalancer": {}}  # no stale load-balancer state for another type
        default_service(new)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_service(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return validate_service_update(new, old)

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return service_warnings(obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        return service_warnings(new)

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["spec.clusterIP"] = get(obj, "spec", "clusterIP") or ""
        fields["spec.type"] = get(obj, "spec", "type") or ""
        return fields
