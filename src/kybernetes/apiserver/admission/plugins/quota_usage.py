"""What an object costs against a ResourceQuota, and whether a request fits: pure functions.

Evaluators as upstream's quota registry has them:
  pods      — pods, count/pods, cpu/memory/ephemeral-storage (bare = requests), requests.*,
              limits.*, hugepages and extended resources (requests.<name>); terminal pods cost
              only count/pods. Scopes: Terminating, NotTerminating, BestEffort, NotBestEffort,
              PriorityClass (scopeSelector), CrossNamespacePodAffinity.
  services  — services, count/services, services.nodeports, services.loadbalancers.
  persistentvolumeclaims — persistentvolumeclaims, count/persistentvolumeclaims,
              requests.storage and <class>.storageclass.storage.k8s.io/{requests.storage,
              persistentvolumeclaims}.
  any other — count/<resource>[.<group>], plus the legacy names configmaps, secrets,
              replicationcontrollers, resourcequotas.
A quota with scopes matches only pods. Quantities are kept exact (Fraction); strings are
written in upstream's canonical form.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kybernetes.apiserver.admission import CREATE, UPDATE, Obj
from kybernetes.apiserver.admission.plugins._common import (
    ResourceList,
    add_lists,
    mask,
    max_lists,
    parse_list,
    pretty,
    qty,
    sub_lists_non_negative,
)
from kybernetes.machinery.quantity import Quantity

STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
LEGACY_COUNTS = {"configmaps": "configmaps", "resourcequotas": "resourcequotas",
                 "replicationcontrollers": "replicationcontrollers", "secrets": "secrets"}
POD_RESOURCES = frozenset({"count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
                           "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage",
                           "pods"})
# Quota on these requires every container to state them (a historical rule upstream keeps).
POD_VALIDATION_SET = ("cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
SERVICE_RESOURCES = frozenset({"services", "count/services", "services.loadbalancers", "services.nodeports"})
PVC_RESOURCES = frozenset({"persistentvolumeclaims", "count/persistentvolumeclaims", "requests.storage"})
TERMINAL_PHASES = ("Succeeded", "Failed")


def count_name(group: str, plural: str) -> str:
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def evaluator_kind(group: str, plural: str) -> str:
    if group == "":
        if plural == "pods":
            return "pods"
        if plural == "services":
            return "services"
        if plural == "persistentvolumeclaims":
            return "pvcs"
    return "count"


def handles(group: str, plural: str, operation: str) -> bool:
    kind = evaluator_kind(group, plural)
    if kind in ("services", "pvcs"):
        return operation in (CREATE, UPDATE)
    return operation == CREATE


def _is_extended(name: str) -> bool:
    return "/" in name and "kubernetes.io/" not in name and not name.startswith("requests.")


def matching_resources(group: str, plural: str, names: list[str] | set[str]) -> list[str]:
    kind = evaluator_kind(group, plural)
    out: list[str] = []
    for n in names:
        if kind == "pods":
            ok = (n in POD_RESOURCES or n.startswith(("hugepages-", "requests.hugepages-"))
                  or (n.startswith("requests.") and _is_extended(n[len("requests."):])))
        elif kind == "services":
            ok = n in SERVICE_RESOURCES
        elif kind == "pvcs":
            ok = n in PVC_RESOURCES or (STORAGE_CLASS_SUFFIX in n and n.endswith(
                ("/requests.storage", "/persistentvolumeclaims")))
        else:
            ok = n == count_name(group, plural) or (group == "" and LEGACY_COUNTS.get(plural) == n)
        if ok:
            out.append(n)
    return sorted(out)


# --- usage ---------------------------------------------------------------------------------------
def _one() -> Quantity:
    return qty(1)


def _container_compute(requests: ResourceList, limits: ResourceList) -> ResourceList:
    out: ResourceList = {"pods": _one()}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = requests[name]
            out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, value in requests.items():
        if name.startswith("hugepages-"):
            out[name] = value
            out[f"requests.{name}"] = value
        elif _is_extended(name):
            out[f"requests.{name}"] = value
    return out


def _resources(c: Obj) -> tuple[ResourceList, ResourceList]:
    res = c.get("resources") or {}
    return parse_list(res.get("requests")), parse_list(res.get("limits"))


def pod_requests_limits(spec: Obj) -> tuple[ResourceList, ResourceList]:
    """The pod's effective requests and limits (sidecars add up, init containers peak)."""
    totals: list[ResourceList] = []
    for which in (0, 1):
        total: ResourceList = {}
        for c in spec.get("containers") or []:
            total = add_lists(total, _resources(c)[which])
        sidecars: ResourceList = {}
        peak: ResourceList = {}
        for c in spec.get("initContainers") or []:
            amount = _resources(c)[which]
            if c.get("restartPolicy") == "Always":
                total = add_lists(total, amount)
                sidecars = add_lists(sidecars, amount)
                peak = max_lists(peak, sidecars)
            else:
                peak = max_lists(peak, add_lists(amount, sidecars))
        totals.append(max_lists(total, peak))
    requests, limits = totals
    overhead = parse_list(spec.get("overhead"))
    if overhead:
        requests = add_lists(requests, overhead)
        limits = add_lists(limits, {k: v for k, v in overhead.items() if k in limits})
    return requests, limits


def pod_is_terminal(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in TERMINAL_PHASES


def pod_usage(pod: Obj) -> ResourceList:
    out: ResourceList = {"count/pods": _one()}
    if pod_is_terminal(pod):
        return out
    requests, limits = pod_requests_limits(pod.get("spec") or {})
    return add_lists(out, _container_compute(requests, limits))


def service_usage(svc: Obj) -> ResourceList:
    spec = svc.get("spec") or {}
    ports = len(spec.get("ports") or [])
    out: ResourceList = {"count/services": _one(), "services": _one(),
                         "services.loadbalancers": qty(0), "services.nodeports": qty(0)}
    kind = spec.get("type")
    if kind == "NodePort":
        out["services.nodeports"] = qty(ports)
    elif kind == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not False:
            out["services.nodeports"] = qty(ports)
        out["services.loadbalancers"] = _one()
    return out


def pvc_usage(pvc: Obj) -> ResourceList:
    out: ResourceList = {"persistentvolumeclaims": _one(), "count/persistentvolumeclaims": _one()}
    spec = pvc.get("spec") or {}
    annotations = (pvc.get("metadata") or {}).get("annotations") or {}
    sc = annotations.get("volume.beta.kubernetes.io/storage-class") or spec.get("storageClassName") or ""
    if sc:
        out[f"{sc}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = _one()
    requested = parse_list((spec.get("resources") or {}).get("requests")).get("storage")
    allocated = parse_list((pvc.get("status") or {}).get("allocatedResources")).get("storage")
    storage = requested
    if allocated is not None and (storage is None or allocated.value > storage.value):
        storage = allocated
    if storage is not None:
        out["requests.storage"] = storage
        if sc:
            out[f"{sc}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage
    return out


def usage(group: str, plural: str, obj: Obj) -> ResourceList:
    kind = evaluator_kind(group, plural)
    if kind == "pods":
        return pod_usage(obj)
    if kind == "services":
        return service_usage(obj)
    if kind == "pvcs":
        return pvc_usage(obj)
    out: ResourceList = {count_name(group, plural): _one()}
    if group == "" and plural in LEGACY_COUNTS:
        out[LEGACY_COUNTS[plural]] = _one()
    return out


# --- scopes --------------------------------------------------------------------------------------
def scope_selectors(quota: Obj) -> list[tuple[str, str, list[str]]]:
    spec = quota.get("spec") or {}
    out: list[tuple[str, str, list[str]]] = [(str(s), "Exists", []) for s in spec.get("scopes") or []]
    for expr in (spec.get("scopeSelector") or {}).get("matchExpressions") or []:
        if isinstance(expr, dict):
            out.append((str(expr.get("scopeName", "")), str(expr.get("operator", "")),
                        [str(v) for v in expr.get("values") or []]))
    return out


def is_best_effort(spec: Obj) -> bool:
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or []:
            for lst in _resources(c):
                if any(k in ("cpu", "memory") and v.value != 0 for k, v in lst.items()):
                    return False
    return True


def _uses_cross_namespace_affinity(spec: Obj) -> bool:
    affinity = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        a = affinity.get(kind) or {}
        terms: list[Any] = list(a.get("requiredDuringSchedulingIgnoredDuringExecution") or [])
        terms += [t.get("podAffinityTerm") or {} for t in a.get("preferredDuringSchedulingIgnoredDuringExecution") or []]
        for t in terms:
            if isinstance(t, dict) and (t.get("namespaces") or t.get("namespaceSelector") is not None):
                return True
    return False


def pod_matches_scope(scope: str, operator: str, values: list[str], pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    if scope in ("Terminating", "NotTerminating"):
        ads = spec.get("activeDeadlineSeconds")
        terminating = isinstance(ads, int) and ads >= 0
        return terminating if scope == "Terminating" else not terminating
    if scope in ("BestEffort", "NotBestEffort"):
        best = is_best_effort(spec)
        return best if scope == "BestEffort" else not best
    if scope == "PriorityClass":
        name = spec.get("priorityClassName") or ""
        if operator == "Exists":
            return bool(name)
        if operator == "In":
            return name in values
        if operator == "NotIn":
            return name not in values
        return False  # the label set always has the key, so DoesNotExist never matches
    if scope == "CrossNamespacePodAffinity":
        return _uses_cross_namespace_affinity(spec)
    return False


def quota_matches(quota: Obj, group: str, plural: str, obj: Obj) -> bool:
    hard = list(parse_list((quota.get("status") or {}).get("hard")))
    if not matching_resources(group, plural, hard):
        return False
    for scope, op, values in scope_selectors(quota):
        if evaluator_kind(group, plural) != "pods" or not pod_matches_scope(scope, op, values, obj):
            return False
    return True


def pod_constraints(required: list[str], pod: Obj) -> str | None:
    """The containers missing a request or limit that a quota on cpu/memory requires."""
    wanted = sorted(set(required) & set(POD_VALIDATION_SET))
    if not wanted:
        return None
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for kind in ("containers", "initContainers"):
        for c in spec.get(kind) or []:
            have = set(_container_compute(*_resources(c)))
            for name in wanted:
                if name not in have:
                    missing.setdefault(name, set()).add(str(c.get("name", "")))
    if not missing:
        return None
    return "must specify " + "; ".join(f"{k} for: {','.join(sorted(v))}" for k, v in sorted(missing.items()))


# --- the check -----------------------------------------------------------------------------------
def check_request(quotas: list[Obj], group: str, plural: str, operation: str, obj: Obj,
                  old: Obj | None) -> dict[str, ResourceList] | str:
    """Admit one write against the namespace's quotas (sorted by name). Returns the new
    `status.used` of every quota the write changes, or the reason it is refused."""
    if not handles(group, plural, operation):
        return {}
    interesting: list[Obj] = []
    for quota in quotas:
        if not quota_matches(quota, group, plural, obj):
            continue
        status = quota.get("status") or {}
        hard_names = list(parse_list(status.get("hard")))
        restricted = matching_resources(group, plural, hard_names)
        name = quota["metadata"]["name"]
        if evaluator_kind(group, plural) == "pods" and (problem := pod_constraints(restricted, obj)):
            return f"failed quota: {name}: {problem}"
        used = status.get("used") or {}
        if any(r not in used for r in restricted):
            return f"status unknown for quota: {name}, resources: {','.join(sorted(restricted))}"
        interesting.append(quota)
    if not interesting:
        return {}
    delta = usage(group, plural, obj)
    negative = sorted(k for k, v in delta.items() if v.value < 0)
    if negative:
        return f"quota usage is negative for resource(s): {','.join(negative)}"
    if operation == UPDATE and old is not None and (old.get("metadata") or {}).get("resourceVersion"):
        delta = sub_lists_non_negative(delta, usage(group, plural, old))
    delta = {k: v for k, v in delta.items() if v.value != 0}
    if not delta:
        return {}
    out: dict[str, ResourceList] = {}
    for quota in interesting:
        status = quota.get("status") or {}
        hard = parse_list(status.get("hard"))
        used = parse_list(status.get("used"))
        requested = mask(delta, set(hard))
        new_used = add_lists(used, requested)
        exceeded = sorted(k for k in requested if new_used[k].value > hard[k].value)
        if exceeded:
            return (f"exceeded quota: {quota['metadata']['name']}, requested: {pretty(mask(requested, exceeded))}, "
                    f"used: {pretty(mask(used, exceeded))}, limited: {pretty(mask(hard, exceeded))}")
        out[quota["metadata"]["name"]] = new_used
    return out


def calculate_usage(quota: Obj, hard: ResourceList, objects: dict[tuple[str, str], list[Obj]]) -> ResourceList:
    """A quota's usage from every object in its namespace (`objects` by (group, plural))."""
    scoped = bool(scope_selectors(quota))
    total: ResourceList = {k: Quantity(Fraction(0)) for k in hard}
    for (group, plural), items in objects.items():
        tracked = matching_resources(group, plural, list(hard))
        if not tracked:
            continue
        if scoped and evaluator_kind(group, plural) != "pods":
            continue
        for obj in items:
            if scoped and not all(pod_matches_scope(s, op, v, obj) for s, op, v in scope_selectors(quota)):
                continue
            total = add_lists(total, mask(usage(group, plural, obj), tracked))
    return total
