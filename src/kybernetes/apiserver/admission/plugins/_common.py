"""Helpers the built-in admission plugins share: upstream's Forbidden error shape, walking a
pod's containers, resource lists of quantities, and the cache keys plugins read.

Plugins get objects as plain dicts; nothing here mutates its inputs unless it says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from kybernetes.apiserver.admission import Attributes, Obj
from kybernetes.machinery import errors
from kybernetes.machinery.quantity import DECIMAL_SI, Quantity, parse_quantity

ResourceList = dict[str, Quantity]


# --- errors ------------------------------------------------------------------------------------
def object_name(attrs: Attributes) -> str:
    """The name upstream's admission.NewForbidden reports: the object's name, else its
    generateName, else the request's name, else "Unknown"."""
    obj = attrs.obj if attrs.obj is not None else attrs.old
    if isinstance(obj, dict):
        meta = obj.get("metadata") or {}
        if meta.get("name"):
            return str(meta["name"])
        if meta.get("generateName"):
            return str(meta["generateName"])
    return attrs.name or "Unknown"


def forbidden_error(resource: str, group: str, name: str, reason: str) -> errors.StatusError:
    """apierrors.NewForbidden: `<resource>[.<group>] "<name>" is forbidden: <reason>`."""
    qualified = f"{resource}.{group}" if group else resource
    message = f'{qualified} "{name}" is forbidden: {reason}' if name else f"{qualified} is forbidden: {reason}"
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return errors.StatusError(403, "Forbidden", message, details)


def forbidden(attrs: Attributes, reason: str) -> errors.StatusError:
    """admission.NewForbidden for the request in `attrs`."""
    return forbidden_error(attrs.resource.plural, attrs.resource.group, object_name(attrs), reason)


def aggregate(messages: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several in brackets,
    duplicates dropped."""
    seen: list[str] = []
    for m in messages:
        if m not in seen:
            seen.append(m)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]"


def is_resource(attrs: Attributes, group: str, plural: str) -> bool:
    return attrs.resource.group == group and attrs.resource.plural == plural


# --- pods --------------------------------------------------------------------------------------
CONTAINER_KINDS = ("initContainers", "containers", "ephemeralContainers")


def containers(spec: Obj, kinds: tuple[str, ...] = CONTAINER_KINDS) -> Iterator[Obj]:
    """Every container of a pod spec, init containers first (upstream's VisitContainers order)."""
    for kind in kinds:
        for c in spec.get(kind) or []:
            if isinstance(c, dict):
                yield c


def pod_template_spec(obj: Obj, kind: str) -> Obj | None:
    """The pod spec inside a workload object (None when the kind has no pod template)."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "CronJob":
        job = spec.get("jobTemplate") or {}
        spec = job.get("spec") if isinstance(job, dict) else None
        if not isinstance(spec, dict):
            return None
    template = spec.get("template") if kind != "PodTemplate" else obj.get("template")
    if not isinstance(template, dict):
        return None
    return template


WORKLOAD_KINDS = {("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
                  ("apps", "DaemonSet"), ("batch", "Job"), ("batch", "CronJob"),
                  ("", "ReplicationController"), ("", "PodTemplate")}


# --- resource lists ----------------------------------------------------------------------------
def parse_list(raw: Any) -> ResourceList:
    """A resource list from an object (unparsable values are skipped: validation rejects them)."""
    out: ResourceList = {}
    if not isinstance(raw, dict):
        return out
    for k, v in raw.items():
        try:
            out[str(k)] = parse_quantity(str(v))
        except ValueError:
            continue
    return out


def qty(value: Fraction | int, fmt: str = DECIMAL_SI) -> Quantity:
    return Quantity(Fraction(value), fmt)


def qadd(a: Quantity, b: Quantity) -> Quantity:
    """Quantity.Add: the sum keeps the receiver's format unless the receiver is zero."""
    fmt = b.format if a.value == 0 else a.format
    return Quantity(a.value + b.value, fmt)


def qsub(a: Quantity, b: Quantity) -> Quantity:
    fmt = b.format if a.value == 0 else a.format
    return Quantity(a.value - b.value, fmt)


def add_lists(a: ResourceList, b: ResourceList) -> ResourceList:
    """quota.Add: every key of either list, summed where both have it."""
    out = dict(a)
    for k, v in b.items():
        out[k] = qadd(out[k], v) if k in out else v
    return out


def sub_lists_non_negative(a: ResourceList, b: ResourceList) -> ResourceList:
    """quota.SubtractWithNonNegativeResult."""
    out: ResourceList = {}
    for k, v in a.items():
        d = qsub(v, b[k]) if k in b else v
        out[k] = d if d.value > 0 else Quantity(Fraction(0), v.format)
    for k, v in b.items():
        if k not in out:
            out[k] = Quantity(Fraction(0), v.format)
    return out


def max_lists(a: ResourceList, b: ResourceList) -> ResourceList:
    out = dict(a)
    for k, v in b.items():
        if k not in out or v.value > out[k].value:
            out[k] = v
    return out


def mask(a: ResourceList, names: set[str] | list[str]) -> ResourceList:
    keep = set(names)
    return {k: v for k, v in a.items() if k in keep}


def render_list(items: ResourceList) -> dict[str, str]:
    return {k: str(items[k]) for k in sorted(items)}


def pretty(items: ResourceList) -> str:
    """prettyPrint of a resource list: sorted `name=value` joined by commas."""
    return ",".join(f"{k}={items[k]}" for k in sorted(items))
