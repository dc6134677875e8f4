"""Strategies of apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision."""

from __future__ import annotations

import re
from typing import Any

from kybernetes.apiserver.strategies import warnings_nonpod
from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategies.podspec import default_pod_template, validate_pod_template
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    FIELD_IMMUTABLE,
    forbidden,
    invalid,
    not_supported,
    render_label_selector,
    required,
    selector_is_empty,
    selector_matches,
    validate_label_selector,
    validate_nonnegative,
)

_PERCENT = re.compile(r"^[0-9]+%$")


def validate_int_or_percent(value: Any, path: str) -> list[Cause]:
    """ValidatePositiveIntOrPercent plus IsNotMoreThan100Percent."""
    if value is None:
        return []
    shown = str(value)
    if isinstance(value, str):
        if not _PERCENT.match(value):
            return [
                invalid(
                    path,
                    value,
                    "a valid percent string must be a numeric string followed by an ending '%' "
                    "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    rendered=shown,
                )
            ]
        if int(value[:-1]) > 100:
            return [invalid(path, value, "must not be greater than 100%", rendered=shown)]
        return []
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0", rendered=shown)]
    return []


def _is_zero(v: Any) -> bool:
    return v in (0, "0%", "0")


def validate_selector_and_template(s: Obj, kind: str, *, template_path: str = "spec.template") -> list[Cause]:
    """The workload rules shared by Deployment/ReplicaSet/StatefulSet/DaemonSet: a non-empty
    selector that matches the template's labels, a valid template that restarts Always."""
    causes: list[Cause] = []
    sel = s.get("selector")
    if sel is None:
        return [required("spec.selector")]
    causes.extend(validate_label_selector(sel, "spec.selector"))
    if selector_is_empty(sel):
        causes.append(
            invalid(
                "spec.selector",
                sel,
                f"empty selector is invalid for {kind}",
                rendered=render_label_selector(sel),
            )
        )
    template = s.get("template")
    if not isinstance(template, dict):
        causes.append(required(template_path))
        return causes
    labels = get(template, "metadata", "labels") or {}
    if not selector_is_empty(sel) and not selector_matches(sel, labels):
        causes.append(
            invalid(f"{template_path}.metadata.labels", labels, "`selector` does not match template `labels`")
        )
    causes.extend(validate_pod_template(template, template_path))
    rp = get(template, "spec", "restartPolicy")
    if rp and rp != "Always":
        causes.append(not_supported(f"{template_path}.spec.restartPolicy", rp, ("Always",)))
    ads = get(template, "spec", "activeDeadlineSeconds")
    if ads is not None and kind != "statefulset":
        causes.append(
            invalid(
                f"{template_path}.spec.activeDeadlineSeconds",
                ads,
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    return causes


def selector_immutable(new: Obj, old: Obj) -> list[Cause]:
    ns, os_ = get(new, "spec", "selector"), get(old, "spec", "selector")
    if ns != os_:
        return [invalid("spec.selector", ns, FIELD_IMMUTABLE, rendered=render_label_selector(ns))]
    return []


class _Workload(KindStrategy):
    has_status = True
    tracks_generation = True


@register("apps", "Deployment")
class DeploymentStrategy(_Workload):
    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.pod_name_warning(obj) + super().warnings_on_create(obj)

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if s.get("replicas") is None:
            s["replicas"] = 1
        strategy = s.setdefault("strategy", {})
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            if ru.get("maxUnavailable") is None:
                ru["maxUnavailable"] = "25%"
            if ru.get("maxSurge") is None:
                ru["maxSurge"] = "25%"
        if s.get("revisionHistoryLimit") is None:
            s["revisionHistoryLimit"] = 10
        if s.get("progressDeadlineSeconds") is None:
            s["progressDeadlineSeconds"] = 600
        default_pod_template(s.get("template"))

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = validate_nonnegative(s.get("replicas", 0), "spec.replicas")
        if s.get("selector") is None:
            return [*causes, required("spec.selector")]
        causes.extend(validate_selector_and_template(s, "deployment"))
        strategy = s.get("strategy") or {}
        typ = strategy.get("type") or ""
        if typ == "Recreate" and strategy.get("rollingUpdate") is not None:
            causes.append(
                forbidden(
                    "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"
                )
            )
        elif typ not in ("Recreate", "RollingUpdate"):
            causes.append(not_supported("spec.strategy.type", typ, ("Recreate", "RollingUpdate")))
        ru = strategy.get("rollingUpdate") or {}
        if typ == "RollingUpdate":
            mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
            causes.extend(validate_int_or_percent(mu, "spec.strategy.rollingUpdate.maxUnavailable"))
            causes.extend(validate_int_or_percent(ms, "spec.strategy.rollingUpdate.maxSurge"))
            if _is_zero(mu) and _is_zero(ms):
                causes.append(
                    invalid(
                        "spec.strategy.rollingUpdate.maxUnavailable",
                        mu,
                        "may not be 0 when `maxSurge` is 0",
                        rendered=str(mu),
                    )
                )
        mrs = s.get("minReadySeconds") or 0
        causes.extend(validate_nonnegative(mrs, "spec.minReadySeconds"))
        causes.extend(validate_nonnegative(s.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
        pds = s.get("progressDeadlineSeconds")
        if pds is not None:
            causes.extend(validate_nonnegative(pds, "spec.progressDeadlineSeconds"))
            if isinstance(pds, int) and isinstance(mrs, int) and pds <= mrs:
                causes.append(
                    invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds")
                )
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + selector_immutable(new, old)


@register("apps", "ReplicaSet")
class ReplicaSetStrategy(_Workload):
    def warnings_on_create(self, obj: Obj) -> list[str]:
        return warnings_nonpod.pod_name_warning(obj) + super().warnings_on_create(obj)

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if s.get("replicas") is None:
            s["replicas"] = 1
        default_pod_template(s.get("template"))

    def initial_status(self, obj: Obj) -> Any:
        return {"replicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = validate_nonnegative(s.get("replicas", 0), "spec.replicas")
        causes.extend(validate_nonnegative(s.get("minReadySeconds", 0), "spec.minReadySeconds"))
        causes.extend(validate_selector_and_template(s, "replicaset"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + selector_immutable(new, old)

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["status.replicas"] = str(get(obj, "status", "replicas") or 0)
        return fields


_STS_MUTABLE = (
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
)
_STS_FORBIDDEN = (
    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
)


def _with_claim_volumes(s: Obj) -> Obj:
    """The spec with a volume for each volumeClaimTemplate the template does not name itself: the
    controller gives each pod exactly those volumes, so containers may mount them."""
    template = s.get("template")
    if not isinstance(template, dict):
        return s
    pod_spec = template.get("spec")
    claims = [get(t, "metadata", "name") for t in s.get("volumeClaimTemplates") or [] if isinstance(t, dict)]
    if not isinstance(pod_spec, dict) or not claims:
        return s
    volumes = [v for v in pod_spec.get("volumes") or [] if isinstance(v, dict)]
    named = {v.get("name") for v in volumes}
    extra = [{"name": c, "persistentVolumeClaim": {"claimName": c}} for c in claims if c and c not in named]
    if not extra:
        return s
    return {**s, "template": {**template, "spec": {**pod_spec, "volumes": [*(pod_spec.get("volumes") or []), *extra]}}}


@register("apps", "StatefulSet")
class StatefulSetStrategy(_Workload):
    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if not s.get("podManagementPolicy"):
            s["podManagementPolicy"] = "OrderedReady"
        us = s.setdefault("updateStrategy", {})
        if not us.get("type"):
            us["type"] = "RollingUpdate"
        if us["type"] == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            if ru.get("partition") is None:
                ru["partition"] = 0
        pol = s.setdefault("persistentVolumeClaimRetentionPolicy", {})
        if not pol.get("whenDeleted"):
            pol["whenDeleted"] = "Retain"
        if not pol.get("whenScaled"):
            pol["whenScaled"] = "Retain"
        if s.get("replicas") is None:
            s["replicas"] = 1
        if s.get("revisionHistoryLimit") is None:
            s["revisionHistoryLimit"] = 10
        default_pod_template(s.get("template"))
        for pvc in s.get("volumeClaimTemplates") or []:
            if isinstance(pvc, dict):
                pvc.setdefault("apiVersion", "v1")
                pvc.setdefault("kind", "PersistentVolumeClaim")
                pvc.setdefault("metadata", {}).setdefault("creationTimestamp", None)
                ps = pvc.setdefault("spec", {})
                if not ps.get("volumeMode"):
                    ps["volumeMode"] = "Filesystem"
                pvc.setdefault("status", {"phase": "Pending"})

    def initial_status(self, obj: Obj) -> Any:
        return {"replicas": 0, "availableReplicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes: list[Cause] = []
        pmp = s.get("podManagementPolicy") or ""
        if not pmp:
            causes.append(required("spec.podManagementPolicy"))
        elif pmp not in ("OrderedReady", "Parallel"):
            causes.append(invalid("spec.podManagementPolicy", pmp, "must be 'OrderedReady' or 'Parallel'"))
        us = s.get("updateStrategy") or {}
        ust = us.get("type") or ""
        if not ust:
            causes.append(required("spec.updateStrategy"))
        elif ust not in ("OnDelete", "RollingUpdate"):
            causes.append(invalid("spec.updateStrategy", us, "must be 'RollingUpdate' or 'OnDelete'"))
        elif ust == "OnDelete" and us.get("rollingUpdate") is not None:
            causes.append(
                invalid(
                    "spec.updateStrategy.rollingUpdate",
                    us["rollingUpdate"],
                    "only allowed for updateStrategy 'RollingUpdate'",
                )
            )
        causes.extend(
            validate_nonnegative(
                get(us, "rollingUpdate", "partition"), "spec.updateStrategy.rollingUpdate.partition"
            )
        )
        causes.extend(validate_nonnegative(s.get("replicas", 0), "spec.replicas"))
        causes.extend(validate_nonnegative(s.get("minReadySeconds", 0), "spec.minReadySeconds"))
        causes.extend(validate_selector_and_template(_with_claim_volumes(s), "statefulset"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        ns, os_ = new.get("spec") or {}, old.get("spec") or {}
        rest_new = {k: v for k, v in ns.items() if k not in _STS_MUTABLE}
        rest_old = {k: v for k, v in os_.items() if k not in _STS_MUTABLE}
        if rest_new != rest_old:
            causes.append(forbidden("spec", _STS_FORBIDDEN))
        return causes


@register("apps", "DaemonSet")
class DaemonSetStrategy(_Workload):
    def default(self, obj: Obj) -> None:
        s = spec(obj)
        us = s.setdefault("updateStrategy", {})
        if not us.get("type"):
            us["type"] = "RollingUpdate"
        if us["type"] == "RollingUpdate":
            ru = us.setdefault("rollingUpdate", {})
            if ru.get("maxUnavailable") is None:
                ru["maxUnavailable"] = 1
            if ru.get("maxSurge") is None:
                ru["maxSurge"] = 0
        if s.get("revisionHistoryLimit") is None:
            s["revisionHistoryLimit"] = 10
        default_pod_template(s.get("template"))

    def initial_status(self, obj: Obj) -> Any:
        return {
            "currentNumberScheduled": 0,
            "desiredNumberScheduled": 0,
            "numberMisscheduled": 0,
            "numberReady": 0,
        }

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = validate_selector_and_template(s, "daemonset")
        us = s.get("updateStrategy") or {}
        typ = us.get("type") or ""
        if typ not in ("OnDelete", "RollingUpdate"):
            causes.append(not_supported("spec.updateStrategy.type", typ, ("OnDelete", "RollingUpdate")))
        if typ == "RollingUpdate":
            ru = us.get("rollingUpdate") or {}
            mu, ms = ru.get("maxUnavailable"), ru.get("maxSurge")
            causes.extend(validate_int_or_percent(mu, "spec.updateStrategy.rollingUpdate.maxUnavailable"))
            causes.extend(validate_int_or_percent(ms, "spec.updateStrategy.rollingUpdate.maxSurge"))
            if _is_zero(mu) and _is_zero(ms):
                causes.append(
                    invalid(
                        "spec.updateStrategy.rollingUpdate.maxUnavailable",
                        mu,
                        "may not be 0 when `maxSurge` is 0",
                        rendered=str(mu),
                    )
                )
        causes.extend(validate_nonnegative(s.get("minReadySeconds", 0), "spec.minReadySeconds"))
        causes.extend(validate_nonnegative(s.get("revisionHistoryLimit"), "spec.revisionHistoryLimit"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return self.validate(new) + selector_immutable(new, old)


@register("apps", "ControllerRevision")
class ControllerRevisionStrategy(KindStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        return validate_nonnegative(obj.get("revision", 0), "revision")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        if new.get("data") != old.get("data"):
            causes.append(invalid("data", new.get("data"), FIELD_IMMUTABLE))
        return causes
