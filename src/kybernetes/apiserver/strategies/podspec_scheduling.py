"""Validation of the pod-level scheduling and sandbox fields, as upstream: affinity,
tolerations, topology spread constraints, DNS config, the pod securityContext and host ports.

Each check mirrors one of upstream's validators (ValidateNodeSelector, ValidateTolerations,
validateTopologySpreadConstraints, validatePodDNSConfig, ValidatePodSecurityContext,
AccumulateUniqueHostPorts) with its field paths and texts.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, TypeGuard

from kybernetes.apiserver.strategies.podspec_container import id_range, seccomp_profile
from kybernetes.apiserver.strategies.podspec_security import apparmor_profile
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
    is_valid_label_value,
    not_supported,
    required,
    validate_dns1123_subdomain,
    validate_label_selector,
)

Obj = dict[str, Any]

TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
NODE_INCLUSION_POLICIES = ("Honor", "Ignore")
FS_GROUP_CHANGE_POLICIES = ("OnRootMismatch", "Always")
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_CHARS = 2048
IS_NOT_POSITIVE = "must be greater than zero"
_SYSCTL_SEGMENT = "[a-z0-9]([-_a-z0-9]*[a-z0-9])?"
SYSCTL_FMT = "(" + _SYSCTL_SEGMENT + "[\\./])*" + _SYSCTL_SEGMENT
_sysctl_re = re.compile(SYSCTL_FMT)
SYSCTL_MAX = 253


def _int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _label_name(name: str, path: str) -> list[Cause]:
    return [invalid(path, name, m) for m in is_qualified_name(name)]


# --- node affinity --------------------------------------------------------------------------


def _node_requirement(rq: Obj, path: str, *, check_values: bool) -> list[Cause]:
    causes: list[Cause] = []
    op = rq.get("operator") or ""
    values = rq.get("values") or []
    if op in ("In", "NotIn"):
        if not values:
            causes.append(
                required(child(path, "values"), "must be specified when `operator` is 'In' or 'NotIn'")
            )
    elif op in ("Exists", "DoesNotExist"):
        if values:
            causes.append(
                forbidden(
                    child(path, "values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
    elif op in ("Gt", "Lt"):
        if len(values) != 1:
            causes.append(
                required(
                    child(path, "values"), "must be specified single value when `operator` is 'Lt' or 'Gt'"
                )
            )
    else:
        causes.append(invalid(child(path, "operator"), op, "not a valid selector operator"))
    causes.extend(_label_name(rq.get("key") or "", child(path, "key")))
    if check_values:
        for i, v in enumerate(values):
            if isinstance(v, str):
                causes.extend(invalid(index(child(path, "values"), i), v, m) for m in is_valid_label_value(v))
    return causes


def _field_requirement(rq: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    op = rq.get("operator") or ""
    values = rq.get("values") or []
    if op in ("In", "NotIn"):
        if len(values) != 1:
            causes.append(
                required(
                    child(path, "values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
                )
            )
    else:
        causes.append(invalid(child(path, "operator"), op, "not a valid selector operator"))
    k = rq.get("key") or ""
    if k != "metadata.name":
        causes.append(invalid(child(path, "key"), k, "not a valid field selector key"))
    else:
        for i, v in enumerate(values):
            if isinstance(v, str):
                causes.extend(invalid(index(child(path, "values"), i), v, m) for m in is_dns1123_subdomain(v))
    return causes


def _node_selector_term(term: Any, path: str, *, check_values: bool) -> list[Cause]:
    if not isinstance(term, dict):
        return []
    causes: list[Cause] = []
    for j, rq in enumerate(term.get("matchExpressions") or []):
        if isinstance(rq, dict):
            causes.extend(
                _node_requirement(rq, index(child(path, "matchExpressions"), j), check_values=check_values)
            )
    for j, rq in enumerate(term.get("matchFields") or []):
        if isinstance(rq, dict):
            causes.extend(_field_requirement(rq, index(child(path, "matchFields"), j)))
    return causes


def _weight(w: Any, path: str) -> list[Cause]:
    if not _int(w) or not 1 <= w <= 100:
        return [invalid(path, w, "must be in the range 1-100")]
    return []


def _node_affinity(na: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    req = na.get("requiredDuringSchedulingIgnoredDuringExecution")
    if isinstance(req, dict):
        rp = child(path, "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
        terms = req.get("nodeSelectorTerms") or []
        if not terms:
            causes.append(required(rp, "must have at least one node selector term"))
        for i, term in enumerate(terms):
            # upstream allows invalid label values in required node affinity (compatibility)
            causes.extend(_node_selector_term(term, index(rp, i), check_values=False))
    for i, pt in enumerate(na.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
        if not isinstance(pt, dict):
            continue
        pp = index(child(path, "preferredDuringSchedulingIgnoredDuringExecution"), i)
        causes.extend(_weight(pt.get("weight"), child(pp, "weight")))
        causes.extend(_node_selector_term(pt.get("preference"), child(pp, "preference"), check_values=False))
    return causes


# --- pod (anti-)affinity --------------------------------------------------------------------


def _pod_affinity_term(term: Obj, path: str) -> list[Cause]:
    causes = validate_label_selector(term.get("labelSelector"), child(path, "labelSelector"))
    causes += validate_label_selector(term.get("namespaceSelector"), child(path, "namespaceSelector"))
    for ns in term.get("namespaces") or []:
        if isinstance(ns, str):
            causes.extend(invalid(child(path, "namespace"), ns, m) for m in is_dns1123_label(ns))
    tk = term.get("topologyKey") or ""
    if not tk:
        causes.append(required(child(path, "topologyKey"), "can not be empty"))
    return causes + _label_name(tk, child(path, "topologyKey"))


def _pod_affinity(pa: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, term in enumerate(pa.get("requiredDuringSchedulingIgnoredDuringExecution") or []):
        if isinstance(term, dict):
            causes.extend(
                _pod_affinity_term(
                    term, index(child(path, "requiredDuringSchedulingIgnoredDuringExecution"), i)
                )
            )
    for i, wt in enumerate(pa.get("preferredDuringSchedulingIgnoredDuringExecution") or []):
        if not isinstance(wt, dict):
            continue
        wp = index(child(path, "preferredDuringSchedulingIgnoredDuringExecution"), i)
        causes.extend(_weight(wt.get("weight"), child(wp, "weight")))
        if isinstance(wt.get("podAffinityTerm"), dict):
            causes.extend(_pod_affinity_term(wt["podAffinityTerm"], child(wp, "podAffinityTerm")))
    return causes


def validate_affinity(aff: Any, path: str) -> list[Cause]:
    if not isinstance(aff, dict):
        return []
    causes: list[Cause] = []
    if isinstance(aff.get("nodeAffinity"), dict):
        causes.extend(_node_affinity(aff["nodeAffinity"], child(path, "nodeAffinity")))
    for k in ("podAffinity", "podAntiAffinity"):
        if isinstance(aff.get(k), dict):
            causes.extend(_pod_affinity(aff[k], child(path, k)))
    return causes


# --- tolerations ----------------------------------------------------------------------------


def _go_toleration(t: Obj) -> str:
    """A toleration as Go's %#v prints upstream's internal struct (the value of one message)."""
    secs = t.get("tolerationSeconds")
    ts = f"(*int64)({secs})" if secs is not None else "(*int64)(nil)"
    quoted = [go_quote(t.get(f) or "") for f in ("key", "operator", "value", "effect")]
    return (
        f"core.Toleration{{Key:{quoted[0]}, Operator:{quoted[1]}, Value:{quoted[2]}, Effect:{quoted[3]}, "
        f"TolerationSeconds:{ts}}}"
    )


def validate_tolerations(tolerations: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, t in enumerate(tolerations):
        if not isinstance(t, dict):
            continue
        ip = index(path, i)
        k, op, value, effect = (
            t.get("key") or "",
            t.get("operator") or "",
            t.get("value") or "",
            t.get("effect") or "",
        )
        if k:
            causes.extend(_label_name(k, child(ip, "key")))
        if not k and op != "Exists":
            causes.append(
                invalid(
                    child(ip, "operator"),
                    op,
                    "operator must be Exists when `key` is empty, which "
                    'means "match all values and all keys"',
                )
            )
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            causes.append(
                invalid(
                    child(ip, "effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"
                )
            )
        if op in ("Equal", ""):
            msgs = is_valid_label_value(value)
            if msgs:
                causes.append(invalid(child(ip, "operator"), value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                causes.append(
                    invalid(
                        child(ip, "operator"),
                        t,
                        "value must be empty when `operator` is 'Exists'",
                        rendered=_go_toleration(t),
                    )
                )
        else:
            causes.append(not_supported(child(ip, "operator"), op, TOLERATION_OPERATORS))
        if effect and effect not in TAINT_EFFECTS:
            causes.append(not_supported(child(ip, "effect"), effect, TAINT_EFFECTS))
    return causes


# --- topology spread ------------------------------------------------------------------------


def validate_topology_spread(constraints: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, c in enumerate(constraints):
        if not isinstance(c, dict):
            continue
        ip = index(path, i)
        skew = c.get("maxSkew")
        if not _int(skew) or skew <= 0:
            causes.append(invalid(child(ip, "maxSkew"), skew if skew is not None else 0, IS_NOT_POSITIVE))
        tk = c.get("topologyKey") or ""
        if not tk:
            causes.append(required(child(ip, "topologyKey"), "can not be empty"))
        wu = c.get("whenUnsatisfiable") or ""
        if wu not in WHEN_UNSATISFIABLE:
            causes.append(not_supported(child(ip, "whenUnsatisfiable"), wu, WHEN_UNSATISFIABLE))
        for later in constraints[i + 1 :]:
            if (
                isinstance(later, dict)
                and (later.get("topologyKey") or "") == tk
                and (later.get("whenUnsatisfiable") or "") == wu
            ):
                causes.append(duplicate(child(ip, "{topologyKey, whenUnsatisfiable}"), f"{{{tk}, {wu}}}"))
                break
        md = c.get("minDomains")
        if md is not None:
            if not _int(md) or md <= 0:
                causes.append(invalid(child(ip, "minDomains"), md, IS_NOT_POSITIVE))
            if wu != "DoNotSchedule":
                causes.append(
                    invalid(
                        child(ip, "minDomains"),
                        md,
                        f"can only use minDomains if whenUnsatisfiable=DoNotSchedule, not {wu}",
                    )
                )
        for pol in ("nodeAffinityPolicy", "nodeTaintsPolicy"):
            v = c.get(pol)
            if v is not None and v not in NODE_INCLUSION_POLICIES:
                causes.append(not_supported(child(ip, pol), v, NODE_INCLUSION_POLICIES))
        causes.extend(validate_label_selector(c.get("labelSelector"), child(ip, "labelSelector")))
    return causes


# --- DNS ------------------------------------------------------------------------------------


def _is_ip(s: Any) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return True


def validate_dns_config(spec: Obj, path: str) -> list[Cause]:
    cfg = spec.get("dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if cfg is None:
            return []  # podspec reports the missing dnsConfig
        if not (cfg or {}).get("nameservers"):
            return [
                required(
                    child(path, "nameservers"),
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            ]
    if not isinstance(cfg, dict):
        return []
    causes: list[Cause] = []
    servers = cfg.get("nameservers") or []
    if len(servers) > MAX_DNS_NAMESERVERS:
        causes.append(
            invalid(
                child(path, "nameservers"),
                servers,
                f"must not have more than {MAX_DNS_NAMESERVERS} nameservers",
            )
        )
    for i, ns in enumerate(servers):
        if not _is_ip(ns):
            causes.append(
                invalid(
                    index(child(path, "nameservers"), i),
                    ns,
                    "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                )
            )
    searches = [s for s in cfg.get("searches") or [] if isinstance(s, str)]
    if len(searches) > MAX_DNS_SEARCH_PATHS:
        causes.append(
            invalid(
                child(path, "searches"),
                searches,
                f"must not have more than {MAX_DNS_SEARCH_PATHS} search paths",
            )
        )
    if len(" ".join(searches)) > MAX_DNS_SEARCH_CHARS:
        causes.append(
            invalid(
                child(path, "searches"),
                searches,
                f"must not have more than {MAX_DNS_SEARCH_CHARS} characters (including spaces) "
                "in the search list",
            )
        )
    for i, s in enumerate(searches):
        if i == 0 and s == ".":
            continue
        causes.extend(validate_dns1123_subdomain(s.removesuffix("."), index(child(path, "searches"), i)))
    for i, opt in enumerate(cfg.get("options") or []):
        if isinstance(opt, dict) and not opt.get("name"):
            causes.append(required(index(child(path, "options"), i), "must not be empty"))
    return causes


# --- pod security context -------------------------------------------------------------------


def validate_pod_security_context(spec: Obj, path: str) -> list[Cause]:
    sc = spec.get("securityContext")
    if not isinstance(sc, dict):
        return []
    causes = id_range(sc.get("fsGroup"), child(path, "fsGroup"))
    causes += id_range(sc.get("runAsUser"), child(path, "runAsUser"))
    causes += id_range(sc.get("runAsGroup"), child(path, "runAsGroup"))
    for i, g in enumerate(sc.get("supplementalGroups") or []):
        causes += id_range(g, index(child(path, "supplementalGroups"), i))
    if sc.get("shareProcessNamespace") is True and spec.get("hostPID"):
        causes.append(
            invalid(
                child(path, "shareProcessNamespace"),
                True,
                "ShareProcessNamespace and HostPID cannot both be enabled",
            )
        )
    seen: set[str] = set()
    for i, s in enumerate(sc.get("sysctls") or []):
        if not isinstance(s, dict):
            continue
        np_ = child(index(child(path, "sysctls"), i), "name")
        name = s.get("name") or ""
        if not name:
            causes.append(required(np_))
        elif len(name) > SYSCTL_MAX or not _sysctl_re.fullmatch(name):
            causes.append(
                invalid(np_, name, f"must have at most {SYSCTL_MAX} characters and match regex {SYSCTL_FMT}")
            )
        elif name in seen:
            causes.append(duplicate(np_, name))
        seen.add(name)
    pol = sc.get("fsGroupChangePolicy")
    if isinstance(pol, str) and pol not in FS_GROUP_CHANGE_POLICIES:
        causes.append(not_supported(child(path, "fsGroupChangePolicy"), pol, FS_GROUP_CHANGE_POLICIES))
    causes += seccomp_profile(sc.get("seccompProfile"), child(path, "seccompProfile"))
    causes += apparmor_profile(sc.get("appArmorProfile"), child(path, "appArmorProfile"))
    return causes


# --- host ports -----------------------------------------------------------------------------


def validate_host_ports(containers: list[Any], path: str) -> list[Cause]:
    """AccumulateUniqueHostPorts: protocol/hostIP/hostPort unique across the pod's containers."""
    causes: list[Cause] = []
    seen: set[str] = set()
    for ci, c in enumerate(containers):
        if not isinstance(c, dict):
            continue
        for pi, p in enumerate(c.get("ports") or []):
            if not isinstance(p, dict) or not p.get("hostPort"):
                continue
            k = f"{p.get('protocol') or ''}/{p.get('hostIP') or ''}/{p['hostPort']}"
            if k in seen:
                causes.append(duplicate(child(index(child(index(path, ci), "ports"), pi), "hostPort"), k))
            seen.add(k)
    return causes


def validate_pod_scheduling(spec: Obj, path: str) -> list[Cause]:
    causes = validate_affinity(spec.get("affinity"), child(path, "affinity"))
    causes += validate_tolerations(spec.get("tolerations") or [], child(path, "tolerations"))
    causes += validate_topology_spread(
        spec.get("topologySpreadConstraints") or [], child(path, "topologySpreadConstraints")
    )
    causes += validate_dns_config(spec, child(path, "dnsConfig"))
    causes += validate_pod_security_context(spec, child(path, "securityContext"))
    causes += validate_host_ports(spec.get("containers") or [], child(path, "containers"))
    return causes
