"""The Pod strategy: defaults, initial status (Pending + QoS class), the create-only rules
(no ephemeral containers, security annotations agree with fields), the update rule that makes a
running pod's spec immutable except for images, deadlines, tolerations and gates, and the
warnings a new pod gets."""

from __future__ import annotations

import copy
import json
from typing import Any

from kybernetes.apiserver.strategies import pod_ephemeral
from kybernetes.apiserver.strategies.base import KindStrategy, get
from kybernetes.apiserver.strategies.pod_warnings import pod_warnings_on_create
from kybernetes.apiserver.strategies.podspec import default_pod, pod_qos_class, validate_pod_spec
from kybernetes.apiserver.strategies.podspec_security import (
    APPARMOR_PREFIX,
    apply_apparmor_version_skew,
    validate_annotations_match_fields,
    validate_security_annotations,
)
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.apiserver.warning import add_warning
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import child, forbidden, index, invalid, required
from kybernetes.machinery.validation import key as map_key

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
                lines.append(
                    f"-\t{_go_field(k)}: {json.dumps(old[k], sort_keys=True, separators=(',', ':'))},"
                )
            if k in new:
                lines.append(
                    f"+\t{_go_field(k)}: {json.dumps(new[k], sort_keys=True, separators=(',', ':'))},"
                )
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
        causes.append(
            invalid(
                "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value"
            )
        )
    elif old_ads is not None and isinstance(new_ads, int) and new_ads > old_ads:
        causes.append(
            invalid("spec.activeDeadlineSeconds", new_ads, "must be less than or equal to previous value")
        )
    _restore(munged, old, "activeDeadlineSeconds")
    old_tol = old.get("tolerations") or []
    if all(t in (new.get("tolerations") or []) for t in old_tol):
        _restore(munged, old, "tolerations")
    old_tgps = old.get("terminationGracePeriodSeconds")
    if isinstance(old_tgps, int) and old_tgps < 0 and new.get("terminationGracePeriodSeconds") == 1:
        _restore(munged, old, "terminationGracePeriodSeconds")
    causes.extend(_only_deleted_scheduling_gates(new, old))
    _restore(munged, old, "schedulingGates")
    # (ephemeralContainers are not restored: they change only through their own subresource)
    if munged != old:
        causes.append(forbidden("spec", POD_UPDATE_FORBIDDEN + "\n" + spec_diff(old, munged)))
    return causes


def _gate_names(spec: Obj) -> list[str]:
    return [str(g.get("name") or "") for g in spec.get("schedulingGates") or [] if isinstance(g, dict)]


def _only_deleted_scheduling_gates(new: Obj, old: Obj) -> list[Cause]:
    """validateOnlyDeletedSchedulingGates: gates may be removed, never added."""
    old_names = set(_gate_names(old))
    added: dict[str, int] = {}
    for i, name in enumerate(_gate_names(new)):
        added[name] = i  # (the last index of a name, as upstream's map)
    return [
        forbidden(
            child(index("spec.schedulingGates", i), "name"),
            f"only deletion is allowed, but found new scheduling gate '{name}'",
        )
        for name, i in added.items()
        if name not in old_names
    ]


def validate_pod_create(pod: Obj) -> list[Cause]:
    """ValidatePodCreate's additions to the spec rules."""
    spec = pod.get("spec") or {}
    causes = []
    if spec.get("ephemeralContainers"):
        causes.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and spec.get("schedulingGates"):
        causes.append(forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return causes + validate_annotations_match_fields(pod)


def validate_apparmor_annotation_updates(new: Obj, old: Obj) -> list[Cause]:
    """AppArmor annotations of an existing pod may not be added, changed or removed."""
    new_a = (new.get("metadata") or {}).get("annotations") or {}
    old_a = (old.get("metadata") or {}).get("annotations") or {}
    causes = []
    for k, v in sorted(old_a.items()):
        if k.startswith(APPARMOR_PREFIX) and new_a.get(k) != v:
            causes.append(
                forbidden(map_key("metadata.annotations", k), "may not remove or update AppArmor annotations")
            )
    for k in sorted(new_a):
        if k.startswith(APPARMOR_PREFIX) and k not in old_a:
            causes.append(forbidden(map_key("metadata.annotations", k), "may not add AppArmor annotations"))
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

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        # Known only before the fields are filled in from the annotations, hence recorded now.
        for text in apply_apparmor_version_skew(obj):
            add_warning(text)

    def _validate_pod(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec") or {}
        causes = validate_security_annotations(obj.get("metadata") or {}, spec, "metadata.annotations")
        return causes + validate_pod_spec(spec, "spec") + pod_ephemeral.validate_ephemeral_containers(spec)

    def validate(self, obj: Obj) -> list[Cause]:
        return self._validate_pod(obj) + validate_pod_create(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return (
            validate_apparmor_annotation_updates(new, old)
            + self._validate_pod(new)
            + validate_pod_spec_update(new.get("spec") or {}, old.get("spec") or {})
        )

    def prepare_for_subresource_update(self, subresource: str, new: Obj, old: Obj) -> None:
        if subresource == "ephemeralcontainers":
            pod_ephemeral.prepare_ephemeral_containers_update(new, old)
        else:
            super().prepare_for_subresource_update(subresource, new, old)

    def validate_subresource_update(self, subresource: str, new: Obj, old: Obj) -> list[Cause]:
        if subresource != "ephemeralcontainers":
            return super().validate_subresource_update(subresource, new, old)
        change = pod_ephemeral.validate_ephemeral_containers_change(new, old)
        if change and change[0].field == "[]":
            return change  # a static pod: upstream says only that
        return self._validate_pod(new) + validate_apparmor_annotation_updates(new, old) + change

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return pod_warnings_on_create(obj)

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        del new, old
        return []  # as upstream: pods are written mostly by controllers, warnings cost on a hot path

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
