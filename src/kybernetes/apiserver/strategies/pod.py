"""The Pod strategy: defaults, initial status (Pending + QoS class), and the update rule that
makes a running pod's spec immutable except for images, deadlines, tolerations and gates."""

from __future__ import annotations

import copy
import json
from typing import Any

from kybernetes.apiserver.strategies.base import KindStrategy, get
from kybernetes.apiserver.strategies.podspec import default_pod, pod_qos_class, validate_pod_spec
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import child, forbidden, index, invalid, required

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _go_field(name: str) -> str:
    return name[:1].upper() + name[1:]


def spec_diff(old: Obj, new: Obj) -> str:
    """A short, cmp.Diff-like description of what differs between two pod specs."""
    lines = ["  core.PodSpec{"]
    for k in sorted(set(old) | set(new)):
        if old.get(k) != new.get(k):
            if k in old:
                lines.append(f"-\t{_go_field(k)}: {json.dumps(old[k], sort_keys=True, separators=(',', ':'))},")
            if k in new:
                lines.append(f"+\t{_go_field(k)}: {json.dumps(new[k], sort_keys=True, separators=(',', ':'))},")
    lines.append("  }")
    return "\n".join(lines)


def validate_pod_spec_update(new: Obj, old: Obj) -> list[Cause]:
    """Upstream's ValidatePodUpdate rule for spec: only the listed fields may change."""
    causes: list[Cause] = []
    if len(new.get("containers") or []) != len(old.get("containers") or []):
        causes.append(forbidden("spec.containers", "pod updates may not add or remove containers"))
    munged = copy.deepcopy(new)
    for key in ("containers", "initContainers"):
        old_cs = old.get(key) or []
        for i, c in enumerate(munged.get(key) or []):
            if not isinstance(c, dict):
                continue
            if not c.get("image"):
                causes.append(required(child(index(f"spec.{key}", i), "image")))
            if i < len(old_cs) and isinstance(old_cs[i], dict):
                if "image" in old_cs[i]:
                    c["image"] = old_cs[i]["image"]
                else:
                    c.pop("image", None)
    new_ads, old_ads = new.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    if old_ads is not None and new_ads is None:
        causes.append(invalid("spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"))
    elif old_ads is not None and isinstance(new_ads, int) and new_ads > old_ads:
        causes.append(invalid("spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value"))
    _restore(munged, old, "activeDeadlineSeconds")
    old_tol = old.get("tolerations") or []
    if all(t in (new.get("tolerations") or []) for t in old_tol):
        _restore(munged, old, "tolerations")
    old_tgps = old.get("terminationGracePeriodSeconds")
    if isinstance(old_tgps, int) and old_tgps < 0 and new.get("terminationGracePeriodSeconds") == 1:
        _restore(munged, old, "terminationGracePeriodSeconds")
    if all(g in (old.get("schedulingGates") or []) for g in new.get("schedulingGates") or []):
        _restore(munged, old, "schedulingGates")
    _restore(munged, old, "ephemeralContainers")  # changed through its own subresource
    if munged != old:
        causes.append(forbidden("spec", POD_UPDATE_FORBIDDEN + "\n" + spec_diff(old, munged)))
    return causes


def _restore(munged: Obj, old: Obj, field: str) -> None:
    if field in old:
        munged[field] = copy.deepcopy(old[field])
    else:
        munged.pop(field, None)


@register("", "Pod")
class PodStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        default_pod(obj)

    def initial_status(self, obj: Obj) -> Any:
        return {"phase": "Pending", "qosClass": pod_qos_class(obj.get("spec") or {})}

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_pod_spec(obj.get("spec") or {}, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + validate_pod_spec_update(new.get("spec") or {}, old.get("spec") or {})

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        s = obj.get("spec") or {}
        fields["spec.nodeName"] = s.get("nodeName") or ""
        fields["spec.restartPolicy"] = s.get("restartPolicy") or ""
        fields["spec.schedulerName"] = s.get("schedulerName") or ""
        fields["spec.serviceAccountName"] = s.get("serviceAccountName") or ""
        fields["spec.hostNetwork"] = "true" if s.get("hostNetwork") else "false"
        fields["status.phase"] = get(obj, "status", "phase") or ""
        ips = get(obj, "status", "podIPs") or []
        first = ips[0].get("ip") if ips and isinstance(ips[0], dict) else None
        fields["status.podIP"] = first or get(obj, "status", "podIP") or ""
        fields["status.nominatedNodeName"] = get(obj, "status", "nominatedNodeName") or ""
        return fields
