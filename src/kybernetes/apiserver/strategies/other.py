"""Strategies of the small groups: coordination, discovery, events, scheduling, storage."""

from __future__ import annotations

from kybernetes.apiserver.strategies import warnings_nonpod
from kybernetes.apiserver.strategies.base import KindStrategy, get
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    FIELD_IMMUTABLE,
    child,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
    validate_nonnegative,
)

HUGE_PRIORITY = 1_000_000_000


@register("coordination.k8s.io", "Lease")
class LeaseStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = []
        lds = s.get("leaseDurationSeconds")
        if isinstance(lds, int) and lds <= 0:
            causes.append(invalid("spec.leaseDurationSeconds", lds, "must be greater than 0"))
        causes.extend(validate_nonnegative(s.get("leaseTransitions"), "spec.leaseTransitions"))
        return causes


_ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")


@register("discovery.k8s.io", "EndpointSlice")
class EndpointSliceStrategy(KindStrategy):
    tracks_generation = True

    def default(self, obj: Obj) -> None:
        for p in obj.get("ports") or []:
            if isinstance(p, dict) and not p.get("protocol"):
                p["protocol"] = "TCP"

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        at = obj.get("addressType") or ""
        if not at:
            causes.append(required("addressType"))
        elif at not in _ADDRESS_TYPES:
            causes.append(not_supported("addressType", at, _ADDRESS_TYPES))
        for i, ep in enumerate(obj.get("endpoints") or []):
            if isinstance(ep, dict) and not ep.get("addresses"):
                causes.append(
                    required(child(index("endpoints", i), "addresses"), "must contain at least 1 address")
                )
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        if new.get("addressType") != old.get("addressType"):
            causes.append(invalid("addressType", new.get("addressType"), FIELD_IMMUTABLE))
        return causes


@register("events.k8s.io", "Event")
class EventsV1Strategy(KindStrategy):
    """events.k8s.io/v1 Events: the same field selectors as core events, from the new names."""

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        if not obj.get("eventTime"):
            causes.append(required("eventTime"))
        for f in ("reportingController", "reportingInstance", "action", "reason"):
            if not obj.get(f):
                causes.append(required(f))
        t = obj.get("type")
        if t and t not in ("Normal", "Warning"):
            causes.append(invalid("type", t, "has invalid value: " + str(t)))
        return causes

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        reg = obj.get("regarding") or {}
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath"):
            fields[f"involvedObject.{f}"] = reg.get(f) or ""
        fields["reason"] = obj.get("reason") or ""
        fields["reportingComponent"] = obj.get("reportingController") or ""
        fields["source"] = get(obj, "deprecatedSource", "component") or obj.get("reportingController") or ""
        fields["type"] = obj.get("type") or ""
        return fields


_PREEMPTION = ("Never", "PreemptLowerPriority")


@register("scheduling.k8s.io", "PriorityClass")
class PriorityClassStrategy(KindStrategy):
    def default(self, obj: Obj) -> None:
        if not obj.get("preemptionPolicy"):
            obj["preemptionPolicy"] = "PreemptLowerPriority"

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        name = get(obj, "metadata", "name") or ""
        value = obj.get("value", 0)
        if name.startswith("system-") and name not in ("system-cluster-critical", "system-node-critical"):
            causes.append(
                forbidden("metadata.name", "priority class names with 'system-' prefix are reserved")
            )
        elif (
            isinstance(value, int)
            and value > HUGE_PRIORITY
            and name not in ("system-cluster-critical", "system-node-critical")
        ):
            causes.append(
                forbidden("value", f"maximum allowed value of a user defined priority is {HUGE_PRIORITY}")
            )
        pp = obj.get("preemptionPolicy")
        if pp and pp not in _PREEMPTION:
            causes.append(not_supported("preemptionPolicy", pp, _PREEMPTION))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        if new.get("value") != old.get("value"):
            causes.append(forbidden("value", "may not be changed in an update."))
        if new.get("preemptionPolicy") != old.get("preemptionPolicy"):
            causes.append(invalid("preemptionPolicy", new.get("preemptionPolicy"), FIELD_IMMUTABLE))
        return causes


_RECLAIM = ("Delete", "Retain")
_BINDING_MODES = ("Immediate", "WaitForFirstConsumer")


@register("storage.k8s.io", "StorageClass")
class StorageClassStrategy(KindStrategy):
    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.storage_class_warnings(obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        return warnings_nonpod.storage_class_warnings(new)

    def default(self, obj: Obj) -> None:
        if not obj.get("reclaimPolicy"):
            obj["reclaimPolicy"] = "Delete"
        if not obj.get("volumeBindingMode"):
            obj["volumeBindingMode"] = "Immediate"

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        prov = obj.get("provisioner") or ""
        if not prov:
            causes.append(required("provisioner"))
        rp = obj.get("reclaimPolicy")
        if rp and rp not in _RECLAIM:
            causes.append(not_supported("reclaimPolicy", rp, _RECLAIM))
        bm = obj.get("volumeBindingMode")
        if bm and bm not in _BINDING_MODES:
            causes.append(not_supported("volumeBindingMode", bm, _BINDING_MODES))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        for f in ("parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"):
            if new.get(f) != old.get(f):
                causes.append(forbidden(f, "updates to " + f + " are forbidden."))
        return causes
