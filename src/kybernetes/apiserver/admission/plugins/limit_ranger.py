"""LimitRanger: a namespace's LimitRanges default and bound the resources of pods and claims.

Mutating (pods on create): containers and init containers that lack a request or limit get the
`defaultRequest` / `default` of every `Container` item, and the pod is annotated with what was
set (``kubernetes.io/limit-ranger``). Validating: `min`, `max` and `maxLimitRequestRatio` of
`Container` items per container, of `Pod` items on the pod's totals (init containers count as
the maximum they need at once, restartable sidecars add up), and of `PersistentVolumeClaim`
items on the claim's storage request. Messages follow upstream's texts; several violations are
reported together as upstream aggregates them.

A LimitRange item of type Container is read with upstream's API defaults applied (a missing
`default` falls back to `max`, a missing `defaultRequest` to `default`, then to `min`), so the
plugin behaves the same whether or not the stored LimitRange was defaulted.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any

from kybernetes.apiserver.admission import CREATE, UPDATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import (
    ResourceList,
    add_lists,
    aggregate,
    forbidden,
    is_resource,
    max_lists,
    parse_list,
)
from kybernetes.machinery.quantity import Quantity

ANNOTATION = "kubernetes.io/limit-ranger"


def effective_item(item: Obj) -> Obj:
    """A LimitRange item with upstream's defaults for Container items applied."""
    if item.get("type") != "Container":
        return item
    out = copy.deepcopy(item)
    default = out.setdefault("default", {}) or {}
    out["default"] = default
    request = out.setdefault("defaultRequest", {}) or {}
    out["defaultRequest"] = request
    for k, v in (out.get("max") or {}).items():
        default.setdefault(k, v)
    for k, v in default.items():
        request.setdefault(k, v)
    for k, v in (out.get("min") or {}).items():
        request.setdefault(k, v)
    return out


def items_of(limit_range: Obj) -> list[Obj]:
    spec = limit_range.get("spec") or {}
    return [effective_item(i) for i in spec.get("limits") or [] if isinstance(i, dict)]


# --- mutation ----------------------------------------------------------------------------------
def apply_defaults(pod: Obj, limit_range: Obj) -> None:
    """Set the Container defaults of one LimitRange on the pod (mutates `pod`)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for item in items_of(limit_range):
        if item.get("type") == "Container":
            requests.update(item.get("defaultRequest") or {})
            limits.update(item.get("default") or {})
    spec = pod.get("spec") or {}
    notes: list[str] = []
    for kind, label in (("containers", "container"), ("initContainers", "init container")):
        for c in spec.get(kind) or []:
            if isinstance(c, dict):
                notes.extend(_merge_container(c, requests, limits, label))
    if notes:
        meta = pod.setdefault("metadata", {})
        annotations = meta.get("annotations")
        if not isinstance(annotations, dict):
            annotations = meta["annotations"] = {}
        annotations[ANNOTATION] = "LimitRanger plugin set: " + "; ".join(notes)


def _merge_container(c: Obj, requests: dict[str, Any], limits: dict[str, Any], label: str) -> list[str]:
    res = c.get("resources")
    if not isinstance(res, dict):
        res = c["resources"] = {}
    set_limits = [k for k in limits if k not in (res.get("limits") or {})]
    set_requests = [k for k in requests if k not in (res.get("requests") or {})]
    if set_limits:
        current = res["limits"] if isinstance(res.get("limits"), dict) else {}
        res["limits"] = {**current, **{k: limits[k] for k in set_limits}}
    if set_requests:
        current = res["requests"] if isinstance(res.get("requests"), dict) else {}
        res["requests"] = {**current, **{k: requests[k] for k in set_requests}}
    notes = []
    name = c.get("name", "")
    if set_requests:
        notes.append(f"{', '.join(sorted(set_requests))} request for {label} {name}")
    if set_limits:
        notes.append(f"{', '.join(sorted(set_limits))} limit for {label} {name}")
    return notes


# --- constraints -------------------------------------------------------------------------------
def min_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    req = request.get(name)
    lim = limit.get(name)
    if req is None:
        return f"minimum {name} usage per {kind} is {enforced}.  No request is specified"
    if enforced.value > req.value:
        return f"minimum {name} usage per {kind} is {enforced}, but request is {req}"
    if lim is not None and enforced.value > lim.value:
        return f"minimum {name} usage per {kind} is {enforced}, but limit is {lim}"
    return None


def max_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    req = request.get(name)
    lim = limit.get(name)
    if lim is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No limit is specified"
    if lim.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but limit is {lim}"
    if req is not None and req.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def max_request_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList) -> str | None:
    req = request.get(name)
    if req is None:
        return f"maximum {name} usage per {kind} is {enforced}.  No request is specified"
    if req.value > enforced.value:
        return f"maximum {name} usage per {kind} is {enforced}, but request is {req}"
    return None


def ratio_text(value: Fraction) -> str:
    """The ratio as upstream prints it: six decimals, rounded half to even."""
    scaled = round(value * 10**6)
    whole, frac = divmod(abs(scaled), 10**6)
    return f"{'-' if scaled < 0 else ''}{whole}.{frac:06d}"


def ratio_constraint(kind: str, name: str, enforced: Quantity, request: ResourceList, limit: ResourceList) -> str | None:
    req = request.get(name)
    lim = limit.get(name)
    if req is None or req.value == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, "
                "but no request is specified or request is 0")
    if lim is None or lim.value == 0:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, "
                "but no limit is specified or limit is 0")
    if abs(lim.value) > abs(req.value) * enforced.value:
        return (f"{name} max limit to request ratio per {kind} is {enforced}, "
                f"but provided ratio is {ratio_text(abs(lim.value) / abs(req.value))}")
    return None


def _check_item(item: Obj, kind: str, request: ResourceList, limit: ResourceList) -> list[str]:
    out: list[str] = []
    for name, enforced in parse_list(item.get("min")).items():
        if (m := min_constraint(kind, name, enforced, request, limit)) is not None:
            out.append(m)
    for name, enforced in parse_list(item.get("max")).items():
        if (m := max_constraint(kind, name, enforced, request, limit)) is not None:
            out.append(m)
    for name, enforced in parse_list(item.get("maxLimitRequestRatio")).items():
        if (m := ratio_constraint(kind, name, enforced, request, limit)) is not None:
            out.append(m)
    return out


def _container_lists(c: Obj) -> tuple[ResourceList, ResourceList]:
    res = c.get("resources") or {}
    return parse_list(res.get("requests")), parse_list(res.get("limits"))


def pod_totals(spec: Obj, which: str) -> ResourceList:
    """The pod's requests or limits: containers and restartable init containers add up; an
    ordinary init container needs its own amount plus the sidecars started before it."""
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        total = add_lists(total, _container_lists(c)[0 if which == "requests" else 1])
    sidecars: ResourceList = {}
    init_peak: ResourceList = {}
    for c in spec.get("initContainers") or []:
        amount = _container_lists(c)[0 if which == "requests" else 1]
        if c.get("restartPolicy") == "Always":
            total = add_lists(total, amount)
            sidecars = add_lists(sidecars, amount)
            need = sidecars
        else:
            need = add_lists(amount, sidecars)
        init_peak = max_lists(init_peak, need)
    return max_lists(total, init_peak)


def pod_violations(pod: Obj, limit_range: Obj) -> list[str]:
    spec = pod.get("spec") or {}
    out: list[str] = []
    for item in items_of(limit_range):
        kind = item.get("type")
        if kind == "Container":
            for key in ("containers", "initContainers"):
                for c in spec.get(key) or []:
                    if isinstance(c, dict):
                        out.extend(_check_item(item, "Container", *_container_lists(c)))
        elif kind == "Pod":
            out.extend(_check_item(item, "Pod", pod_totals(spec, "requests"), pod_totals(spec, "limits")))
    return out


def claim_violations(claim: Obj, old: Obj | None, limit_range: Obj) -> list[str]:
    requests = parse_list(((claim.get("spec") or {}).get("resources") or {}).get("requests"))
    old_requests = parse_list((((old or {}).get("spec") or {}).get("resources") or {}).get("requests"))
    out: list[str] = []
    for item in items_of(limit_range):
        if item.get("type") != "PersistentVolumeClaim":
            continue
        for name, enforced in parse_list(item.get("min")).items():
            if name in requests and name in old_requests and requests[name] == old_requests[name]:
                continue  # a stored request stays valid
            if (m := min_constraint("PersistentVolumeClaim", name, enforced, requests, {})) is not None:
                out.append(m)
        for name, enforced in parse_list(item.get("max")).items():
            if name in requests and name in old_requests and requests[name] == old_requests[name]:
                continue
            if (m := max_request_constraint("PersistentVolumeClaim", name, enforced, requests)) is not None:
                out.append(m)
    return out


class LimitRanger(Plugin):
    name = "LimitRanger"
    mutating = True
    validating = True

    @staticmethod
    def _applies(attrs: Attributes) -> bool:
        if attrs.subresource or attrs.obj is None:
            return False
        if is_resource(attrs, "", "pods"):
            return attrs.operation == CREATE
        return is_resource(attrs, "", "persistentvolumeclaims") and attrs.operation in (CREATE, UPDATE)

    @staticmethod
    def _ranges(attrs: Attributes, ctx: AdmissionContext) -> list[Obj]:
        if attrs.old is not None and (attrs.old.get("metadata") or {}).get("deletionTimestamp"):
            return []  # objects on their way out are left alone
        return ctx.list(f"/registry/limitranges/{attrs.namespace}/")

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if not self._applies(attrs) or not is_resource(attrs, "", "pods"):
            return
        assert attrs.obj is not None
        for lr in self._ranges(attrs, ctx):
            apply_defaults(attrs.obj, lr)

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if not self._applies(attrs):
            return
        assert attrs.obj is not None
        for lr in self._ranges(attrs, ctx):
            if is_resource(attrs, "", "pods"):
                problems = pod_violations(attrs.obj, lr)
            else:
                problems = claim_violations(attrs.obj, attrs.old, lr)
            if problems:
                raise forbidden(attrs, aggregate(problems))
