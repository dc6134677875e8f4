"""Printers for the workload controllers: deployments, replica sets, stateful sets, daemon sets,
replication controllers, jobs, cron jobs, controller revisions, pod templates and PDBs.

Counts come straight from spec/status (integers, not strings, where upstream's column type is
integer); ``spec.replicas`` is defaulted to 1 on write, so a missing one is read as 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.apiserver.tables.format import (
    NONE,
    Obj,
    SelectorError,
    age,
    as_dict,
    as_int,
    as_list,
    between,
    containers_cells,
    dig,
    format_labels,
    format_selector,
    name,
    parse_time,
    selector_string,
    since,
)
from kybernetes.apiserver.tables.printer import (
    AGE,
    CONTAINERS_WIDE,
    IMAGES_WIDE,
    NAME,
    Printer,
    col,
    selector_wide,
)


def _template_containers(obj: Obj) -> tuple[str, str]:
    return containers_cells(dig(obj, "spec", "template", "spec", "containers"))


def _deployment(obj: Obj, now: datetime) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    try:
        selector = selector_string(spec.get("selector"))
    except SelectorError:
        selector = "<invalid>"
    names, images = _template_containers(obj)
    return [
        name(obj),
        f"{as_int(status.get('readyReplicas'))}/{as_int(spec.get('replicas'), 1)}",
        as_int(status.get("updatedReplicas")),
        as_int(status.get("availableReplicas")),
        age(obj, now),
        names, images, selector,
    ]


DEPLOYMENT = Printer(
    (
        NAME,
        col("Ready", "Ready pods out of desired pods."),
        col("Up-to-date", "Pods that run the current pod template."),
        col("Available", "Pods that have been ready for at least minReadySeconds."),
        AGE, CONTAINERS_WIDE, IMAGES_WIDE, selector_wide(),
    ),
    _deployment,
)


def _replicas(obj: Obj, now: datetime, selector: str) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    names, images = _template_containers(obj)
    return [
        name(obj),
        as_int(spec.get("replicas"), 1),
        as_int(status.get("replicas")),
        as_int(status.get("readyReplicas")),
        age(obj, now),
        names, images, selector,
    ]


_REPLICA_COLUMNS = (
    NAME,
    col("Desired", "Number of pods wanted.", "integer"),
    col("Current", "Number of pods that exist.", "integer"),
    col("Ready", "Number of pods that are ready.", "integer"),
    AGE, CONTAINERS_WIDE, IMAGES_WIDE, selector_wide(),
)

REPLICASET = Printer(
    _REPLICA_COLUMNS,
    lambda obj, now: _replicas(obj, now, format_selector(dig(obj, "spec", "selector"))),
)
# A replication controller's selector is a plain label map.
REPLICATIONCONTROLLER = Printer(
    _REPLICA_COLUMNS,
    lambda obj, now: _replicas(obj, now, format_labels(dig(obj, "spec", "selector"))),
)


def _statefulset(obj: Obj, now: datetime) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    names, images = _template_containers(obj)
    return [
        name(obj),
        f"{as_int(status.get('readyReplicas'))}/{as_int(spec.get('replicas'), 1)}",
        age(obj, now),
        names, images,
    ]


STATEFULSET = Printer(
    (NAME, col("Ready", "Ready pods out of desired pods."), AGE, CONTAINERS_WIDE, IMAGES_WIDE),
    _statefulset,
)


def _daemonset(obj: Obj, now: datetime) -> list[Any]:
    status = as_dict(obj.get("status"))
    names, images = _template_containers(obj)
    return [
        name(obj),
        as_int(status.get("desiredNumberScheduled")),
        as_int(status.get("currentNumberScheduled")),
        as_int(status.get("numberReady")),
        as_int(status.get("updatedNumberScheduled")),
        as_int(status.get("numberAvailable")),
        format_labels(dig(obj, "spec", "template", "spec", "nodeSelector")),
        age(obj, now),
        names, images, format_selector(dig(obj, "spec", "selector")),
    ]


DAEMONSET = Printer(
    (
        NAME,
        col("Desired", "Nodes that should run the daemon pod.", "integer"),
        col("Current", "Nodes that run at least one daemon pod.", "integer"),
        col("Ready", "Nodes whose daemon pod is ready.", "integer"),
        col("Up-to-date", "Nodes that run the current pod template.", "integer"),
        col("Available", "Nodes whose daemon pod is available.", "integer"),
        col("Node Selector", "Node labels the daemon pods are restricted to."),
        AGE, CONTAINERS_WIDE, IMAGES_WIDE, selector_wide(),
    ),
    _daemonset,
)


def _condition_true(conditions: Any, ctype: str) -> bool:
    for cond in as_list(conditions):
        if as_dict(cond).get("type") == ctype:
            return as_dict(cond).get("status") == "True"
    return False


def job_status(job: Obj) -> str:
    conditions = dig(job, "status", "conditions")
    if _condition_true(conditions, "Complete"):
        return "Complete"
    if _condition_true(conditions, "Failed"):
        return "Failed"
    if dig(job, "metadata", "deletionTimestamp"):
        return "Terminating"
    if _condition_true(conditions, "Suspended"):
        return "Suspended"
    if _condition_true(conditions, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def _job(obj: Obj, now: datetime) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    succeeded = as_int(status.get("succeeded"))
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{as_int(spec.get('completions'))}"
    elif as_int(spec.get("parallelism")) > 1:
        completions = f"{succeeded}/1 of {as_int(spec.get('parallelism'))}"
    else:
        completions = f"{succeeded}/1"
    start = parse_time(status.get("startTime"))
    end = parse_time(status.get("completionTime"))
    if start is None:
        duration = ""
    elif end is None:
        duration = since(start, now)
    else:
        duration = between(start, end)
    names, images = _template_containers(obj)
    return [
        name(obj), job_status(obj), completions, duration, age(obj, now),
        names, images, format_selector(spec.get("selector")),
    ]


JOB = Printer(
    (
        NAME,
        col("Status", "Whether the job is running, complete, failed or suspended."),
        col("Completions", "Succeeded pods out of the completions wanted."),
        col("Duration", "How long the job ran, or has been running."),
        AGE, CONTAINERS_WIDE, IMAGES_WIDE, selector_wide(),
    ),
    _job,
)


def _cronjob(obj: Obj, now: datetime) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    last = status.get("lastScheduleTime")
    suspend = spec.get("suspend")
    names, images = containers_cells(dig(spec, "jobTemplate", "spec", "template", "spec", "containers"))
    return [
        name(obj),
        str(spec.get("schedule", "")),
        str(spec["timeZone"]) if spec.get("timeZone") is not None else NONE,
        ("True" if suspend else "False") if suspend is not None else "<unset>",
        len(as_list(status.get("active"))),
        since(last, now) if last else NONE,
        age(obj, now),
        names, images, format_selector(dig(spec, "jobTemplate", "spec", "selector")),
    ]


CRONJOB = Printer(
    (
        NAME,
        col("Schedule", "The cron schedule."),
        col("Timezone", "Time zone the schedule is read in."),
        col("Suspend", "Whether new runs are suspended.", "boolean"),
        col("Active", "Jobs of this cron job that are running.", "integer"),
        col("Last Schedule", "Time since a job was last scheduled."),
        AGE, CONTAINERS_WIDE, IMAGES_WIDE, selector_wide("Label selector of the jobs' pods."),
    ),
    _cronjob,
)


def _controller_ref_name(obj: Obj) -> str:
    for ref in as_list(dig(obj, "metadata", "ownerReferences")):
        ref = as_dict(ref)
        if ref.get("controller") is True:
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.split("/", 1)[0] if "/" in api_version else ""
            kind = str(ref.get("kind", ""))
            ref_name = str(ref.get("name", ""))
            if not kind:
                return ref_name
            qualified = f"{kind}.{group}" if group else kind
            return f"{qualified.lower()}/{ref_name}"
    return NONE


CONTROLLERREVISION = Printer(
    (
        NAME,
        col("Controller", "The object that owns this revision."),
        col("Revision", "The revision number."),
        AGE,
    ),
    lambda obj, now: [name(obj), _controller_ref_name(obj), as_int(obj.get("revision")), age(obj, now)],
)


def _podtemplate(obj: Obj, now: datetime) -> list[Any]:
    del now
    names, images = containers_cells(dig(obj, "template", "spec", "containers"))
    return [name(obj), names, images, format_labels(dig(obj, "template", "metadata", "labels"))]


PODTEMPLATE = Printer(
    (
        NAME,
        col("Containers", "Names of the containers in the template."),
        col("Images", "Images of the containers in the template."),
        col("Pod Labels", "Labels of the template's pods."),
    ),
    _podtemplate,
)


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


PDB = Printer(
    (
        NAME,
        col("Min Available", "Pods that must stay available."),
        col("Max Unavailable", "Pods that may be unavailable."),
        col("Allowed Disruptions", "Pods that may be evicted right now.", "integer"),
        AGE,
    ),
    lambda obj, now: [
        name(obj),
        _int_or_string(dig(obj, "spec", "minAvailable")),
        _int_or_string(dig(obj, "spec", "maxUnavailable")),
        as_int(dig(obj, "status", "disruptionsAllowed")),
        age(obj, now),
    ],
)
