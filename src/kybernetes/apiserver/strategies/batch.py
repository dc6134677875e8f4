"""Strategies of batch/v1: Job (with its generated selector) and CronJob.

A Job without ``manualSelector: true`` gets a selector on its own uid, and its pod template
gets the matching labels; the store must set ``metadata.uid`` before ``prepare_for_create``.
"""

from __future__ import annotations

import copy
from typing import Any

from kybernetes.apiserver.strategies import warnings_nonpod
from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategies.batch_policies import (
    validate_job_policies,
    validate_restart_with_failure_policy,
)
from kybernetes.apiserver.strategies.batch_status import validate_job_status_update
from kybernetes.apiserver.strategies.podspec import default_pod_template, validate_pod_template
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    FIELD_IMMUTABLE,
    invalid,
    not_supported,
    render_label_selector,
    required,
    selector_matches,
    validate_label_selector,
    validate_nonnegative,
)

UID_LABEL = "batch.kubernetes.io/controller-uid"
NAME_LABEL = "batch.kubernetes.io/job-name"
LEGACY_UID_LABEL = "controller-uid"
LEGACY_NAME_LABEL = "job-name"
_JOB_RESTART = ("OnFailure", "Never")
_MAX_INT32 = 2**31 - 1


def default_job_spec(s: Obj) -> None:
    if s.get("completions") is None and s.get("parallelism") is None:
        s["completions"] = 1
        s["parallelism"] = 1
    if s.get("parallelism") is None:
        s["parallelism"] = 1
    if s.get("backoffLimit") is None:
        s["backoffLimit"] = _MAX_INT32 if s.get("backoffLimitPerIndex") is not None else 6
    if not s.get("completionMode"):
        s["completionMode"] = "NonIndexed"
    if s.get("suspend") is None:
        s["suspend"] = False
    if not s.get("podReplacementPolicy"):
        s["podReplacementPolicy"] = (
            "Failed" if s.get("podFailurePolicy") is not None else "TerminatingOrFailed"
        )
    for rule in get(s, "podFailurePolicy", "rules") or []:
        for cond in rule.get("onPodConditions") or [] if isinstance(rule, dict) else []:
            if isinstance(cond, dict) and not cond.get("status"):
                cond["status"] = "True"
    default_pod_template(s.get("template"))


def generate_selector(job: Obj) -> None:
    """Selector on the Job's uid, and the pod template labels that make it match."""
    s = spec(job)
    if s.get("manualSelector") is True:
        return
    meta = job.get("metadata") or {}
    uid, name = meta.get("uid") or "", meta.get("name") or ""
    template = s.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    labels = tmeta.get("labels") or {}
    labels.setdefault(UID_LABEL, uid)
    labels.setdefault(NAME_LABEL, name)
    labels.setdefault(LEGACY_UID_LABEL, uid)
    labels.setdefault(LEGACY_NAME_LABEL, name)
    tmeta["labels"] = labels
    if s.get("selector") is None:
        s["selector"] = {"matchLabels": {UID_LABEL: uid}}


def _labels_from_template(job: Obj) -> None:
    labels = get(job, "spec", "template", "metadata", "labels")
    meta = job.setdefault("metadata", {})
    if labels and not meta.get("labels"):
        meta["labels"] = dict(labels)


def validate_job_spec(s: Obj, path: str, *, selector_required: bool) -> list[Cause]:
    causes: list[Cause] = []
    for f in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        causes.extend(validate_nonnegative(s.get(f), f"{path}.{f}"))
    mode = s.get("completionMode")
    if mode is not None:
        if mode not in ("NonIndexed", "Indexed"):
            causes.append(not_supported(f"{path}.completionMode", mode, ("NonIndexed", "Indexed")))
        elif mode == "Indexed" and s.get("completions") is None:
            causes.append(required(f"{path}.completions", "when completion mode is Indexed"))
    causes.extend(validate_job_policies(s, path))
    sel = s.get("selector")
    if sel is None:
        if selector_required:
            causes.append(required(f"{path}.selector"))
    else:
        causes.extend(validate_label_selector(sel, f"{path}.selector"))
    template = s.get("template")
    if not isinstance(template, dict):
        causes.append(required(f"{path}.template"))
        return causes
    labels = get(template, "metadata", "labels") or {}
    if sel is not None and not selector_matches(sel, labels):
        causes.append(
            invalid(f"{path}.template.metadata.labels", labels, "`selector` does not match template `labels`")
        )
    causes.extend(validate_pod_template(template, f"{path}.template"))
    rp = get(template, "spec", "restartPolicy")
    if rp in ("Always", "", None):
        # Pod defaulting turns an omitted policy into Always, so upstream reports both as missing.
        causes.append(required(f"{path}.template.spec.restartPolicy", 'valid values: "OnFailure", "Never"'))
    elif rp not in _JOB_RESTART:
        causes.append(not_supported(f"{path}.template.spec.restartPolicy", rp, _JOB_RESTART))
    causes.extend(validate_restart_with_failure_policy(s, path))
    return causes


@register("batch", "Job")
class JobStrategy(KindStrategy):
    has_status = True
    tracks_generation = True

    def warnings_on_create(self, obj: Obj) -> list[str]:
        return (
            warnings_nonpod.pod_name_warning(obj)
            + warnings_nonpod.job_spec_warnings(obj.get("spec"), "spec")
            + super().warnings_on_create(obj)
        )

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        if self.spec_of(new) == self.spec_of(old):
            return []
        return warnings_nonpod.job_spec_warnings(new.get("spec"), "spec") + super().warnings_on_update(
            new, old
        )

    def default(self, obj: Obj) -> None:
        default_job_spec(spec(obj))
        _labels_from_template(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        # Job labels defaulted from the template's follow it when the generated labels are added
        # (upstream's defaulted labels share the template's map).
        before = get(obj, "spec", "template", "metadata", "labels")
        copied = not get(obj, "metadata", "labels") or get(obj, "metadata", "labels") == before
        generate_selector(obj)
        if copied:
            obj.setdefault("metadata", {})["labels"] = dict(
                get(obj, "spec", "template", "metadata", "labels") or {}
            )

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes = validate_job_spec(s, "spec", selector_required=True)
        uid = get(obj, "metadata", "uid")
        if (
            s.get("manualSelector") is not True
            and uid
            and s.get("selector") is not None
            and get(s, "selector", "matchLabels", UID_LABEL) != uid
        ):
            causes.insert(
                0,
                invalid(
                    "spec.selector",
                    s["selector"],
                    "`selector` not auto-generated",
                    rendered=render_label_selector(s["selector"]),
                ),
            )
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        ns, os_ = new.get("spec") or {}, old.get("spec") or {}
        if ns.get("selector") != os_.get("selector"):
            causes.append(
                invalid(
                    "spec.selector",
                    ns.get("selector"),
                    FIELD_IMMUTABLE,
                    rendered=render_label_selector(ns.get("selector")),
                )
            )
        if ns.get("template") != os_.get("template") and not _template_change_allowed(new, old):
            causes.append(invalid("spec.template", ns.get("template"), FIELD_IMMUTABLE))
        if ns.get("completions") != os_.get("completions") and not (
            ns.get("completionMode") == "Indexed" and ns.get("completions") == ns.get("parallelism")
        ):
            causes.append(invalid("spec.completions", ns.get("completions"), FIELD_IMMUTABLE))
        for f in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
            if ns.get(f) != os_.get(f):
                causes.append(invalid(f"spec.{f}", ns.get(f), FIELD_IMMUTABLE))
        return causes

    def validate_status_update(self, new: Obj, old: Obj) -> list[Cause]:
        return validate_job_status_update(new, old)

    def selectable_fields(self, obj: Obj) -> dict[str, str]:
        fields = super().selectable_fields(obj)
        fields["status.successful"] = str(get(obj, "status", "succeeded") or 0)
        return fields


_SCHEDULING_DIRECTIVES = ("nodeSelector", "affinity", "tolerations", "schedulingGates")


def _template_change_allowed(new: Obj, old: Obj) -> bool:
    """A suspended Job that never started may change its pods' scheduling directives (and
    template labels/annotations)."""
    if not get(new, "spec", "suspend") or get(old, "status", "startTime"):
        return False
    nt = copy.deepcopy(get(new, "spec", "template") or {})
    ot = copy.deepcopy(get(old, "spec", "template") or {})
    for t in (nt, ot):
        t.setdefault("metadata", {}).pop("labels", None)
        t["metadata"].pop("annotations", None)
        for f in _SCHEDULING_DIRECTIVES:
            t.setdefault("spec", {}).pop(f, None)
    return bool(nt == ot)


_CONCURRENCY = ("Allow", "Forbid", "Replace")
_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def validate_schedule(schedule: str, path: str) -> list[Cause]:
    s = schedule.strip()
    if s.startswith(("TZ=", "CRON_TZ=")):
        return [invalid(path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")]
    if s.startswith("@"):
        if s in _DESCRIPTORS or s.startswith("@every "):
            return []
        return [invalid(path, schedule, f"unrecognized descriptor: {s}")]
    fields = s.split()
    if len(fields) != 5:
        return [
            invalid(path, schedule, f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
        ]
    return []


@register("batch", "CronJob")
class CronJobStrategy(KindStrategy):
    has_status = True
    tracks_generation = True

    def warnings_on_create(self, obj: Obj) -> list[str]:
        job_spec = get(obj, "spec", "jobTemplate", "spec")
        return (
            warnings_nonpod.pod_name_warning(obj)
            + warnings_nonpod.job_spec_warnings(job_spec, "spec.jobTemplate.spec")
            + super().warnings_on_create(obj)
        )

    def warnings_on_update(self, new: Obj, old: Obj) -> list[str]:
        out: list[str] = []
        if self.spec_of(new) != self.spec_of(old):
            job_spec = get(new, "spec", "jobTemplate", "spec")
            out = warnings_nonpod.job_spec_warnings(
                job_spec, "spec.jobTemplate.spec"
            ) + super().warnings_on_update(new, old)
        return out + warnings_nonpod.cron_schedule_warning(new)

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if not s.get("concurrencyPolicy"):
            s["concurrencyPolicy"] = "Allow"
        if s.get("suspend") is None:
            s["suspend"] = False
        if s.get("successfulJobsHistoryLimit") is None:
            s["successfulJobsHistoryLimit"] = 3
        if s.get("failedJobsHistoryLimit") is None:
            s["failedJobsHistoryLimit"] = 1
        jt = s.setdefault("jobTemplate", {})
        if isinstance(jt, dict):
            jt.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            default_pod_template(get(jt, "spec", "template"))

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        name = get(obj, "metadata", "name") or ""
        if len(name) > 52:
            causes.append(invalid("metadata.name", name, "must be no more than 52 characters"))
        s = obj.get("spec") or {}
        sched = s.get("schedule") or ""
        if not sched:
            causes.append(required("spec.schedule"))
        else:
            causes.extend(validate_schedule(sched, "spec.schedule"))
        cp = s.get("concurrencyPolicy") or ""
        if not cp:
            causes.append(required("spec.concurrencyPolicy"))
        elif cp not in _CONCURRENCY:
            causes.append(not_supported("spec.concurrencyPolicy", cp, _CONCURRENCY))
        for f in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
            causes.extend(validate_nonnegative(s.get(f), f"spec.{f}"))
        jt_spec = get(s, "jobTemplate", "spec")
        if not isinstance(jt_spec, dict):
            causes.append(required("spec.jobTemplate.spec"))
        else:
            causes.extend(validate_job_spec(jt_spec, "spec.jobTemplate.spec", selector_required=False))
        return causes

    def initial_status(self, obj: Obj) -> Any:
        return {}
