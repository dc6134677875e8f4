"""The pod's ``status`` as the kubelet reports it, computed from the spec, the previous status and
what the runtime reports (upstream's generateAPIPodStatus with the status manager's merge).

Theory of operation:
  1. Each spec container starts from a default waiting state (ContainerCreating, or
     PodInitializing when the pod has init containers); a previous status that was terminated is
     kept whole (its instance may have been garbage-collected); otherwise the previous restart
     count and last state carry over.
  2. The newest runtime instance of a name gives ``state`` (running / waiting for a created one /
     terminated); the one before it gives ``lastState``. ``restartCount`` is the instance's attempt.
  3. A container that will be started again and has a recorded reason (``waiting``: back-off,
     config or image errors) shows ``waiting{reason, message}``, its terminated state moving to
     ``lastState``. Succeeded init containers are never shown waiting again.
  4. Phase follows upstream's getPhase, and a terminal phase (in the previous status) never changes.
  5. ``started``: running and (no startup probe, or it succeeded). ``ready``: started, running and
     (no readiness probe, or it succeeded); a regular init container is ready once it exited 0.
  6. Conditions owned by the kubelet are recomputed (PodReadyToStartContainers, Initialized, Ready,
     ContainersReady, PodScheduled); others are kept. ``lastTransitionTime`` stays when the status
     of a condition did not change. ``startTime`` stays once set.
  7. For a terminal pod whose containers were stopped (``pod_is_terminal``) every app container
     shows ``terminated``: its real exit from the runtime, else ContainerStatusUnknown (137).

Times are RFC 3339 in UTC with whole seconds. App container statuses are sorted by name (as
upstream does); init container statuses follow the spec order, and so do ephemeral container
statuses, which are built like init containers' (rules 1-3) but are never ready, have no
``started`` and take no part in the phase or the conditions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kybernetes.kubelet.actions import is_restartable_init, sandbox_changed, should_container_be_restarted
from kybernetes.kubelet.qos import qos_class
from kybernetes.kubelet.runtime_state import ContainerState, RuntimeContainer, RuntimePod, SandboxState

Obj = dict[str, Any]
ProbeByName = Callable[[str], "bool | None"]

CONTAINER_CREATING = "ContainerCreating"
POD_INITIALIZING = "PodInitializing"
STATUS_UNKNOWN = "ContainerStatusUnknown"
KUBELET_CONDITIONS = ("PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers")
RUNTIME_PREFIX = "containerd://"


def rfc3339(t: float | None) -> str | None:
    return None if t is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def _names(items: Sequence[str]) -> str:
    """A Go-printed string slice: ``[a b]``."""
    return "[" + " ".join(items) + "]"


# --- container statuses ---------------------------------------------------------------------------


def _terminated_reason(c: RuntimeContainer) -> str:
    if c.reason:
        return c.reason
    return "Completed" if c.exit_code == 0 else "Error"


def _convert(c: RuntimeContainer, old: Obj | None, spec_image: str) -> Obj:
    cid = RUNTIME_PREFIX + c.id
    status: Obj = {"name": c.name, "state": {}, "lastState": {}, "ready": False, "restartCount": c.attempt,
                   "image": c.image or spec_image, "imageID": c.image_ref, "containerID": cid}
    if c.state == ContainerState.RUNNING:
        status["state"] = {"running": {"startedAt": rfc3339(c.started_at if c.started_at is not None else c.created_at)}}
    elif c.state == ContainerState.EXITED:
        term: Obj = {"exitCode": c.exit_code or 0, "reason": _terminated_reason(c),
                     "startedAt": rfc3339(c.started_at), "finishedAt": rfc3339(c.finished_at), "containerID": cid}
        if c.message:
            term["message"] = c.message
        status["state"] = {"terminated": term}
    elif c.state == ContainerState.UNKNOWN and old is not None and "running" in (old.get("state") or {}):
        # It was running and the runtime lost it: it ended, we just do not know how.
        status["state"] = {"terminated": {
            "exitCode": 137, "reason": STATUS_UNKNOWN, "startedAt": None, "finishedAt": None,
            "message": "The container could not be located when the pod was terminated"}}
        status["restartCount"] = int(old.get("restartCount") or 0) + 1
    else:
        status["state"] = {"waiting": {}}
    return status


def container_statuses(
    pod: Mapping[str, Any],
    rt: RuntimePod | None,
    containers: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]],
    waiting: Mapping[str, tuple[str, str]],
    *,
    is_init: bool,
) -> list[Obj]:
    """Statuses for one list of spec containers (rules 1-3), without ready/started."""
    has_init = bool((pod.get("spec") or {}).get("initContainers"))
    default_reason = POD_INITIALIZING if has_init else CONTAINER_CREATING
    old_by_name = {str(s.get("name")): dict(s) for s in previous}
    statuses: dict[str, Obj] = {}
    for c in containers:
        name = str(c.get("name"))
        st: Obj = {"name": name, "state": {"waiting": {"reason": default_reason}}, "lastState": {}, "ready": False,
                   "restartCount": 0, "image": c.get("image") or "", "imageID": ""}
        old = old_by_name.get(name)
        if old is not None:
            if "terminated" in (old.get("state") or {}):
                st = dict(old)
            else:
                st["restartCount"] = old.get("restartCount") or 0
                st["lastState"] = old.get("lastState") or {}
        statuses[name] = st

    instances = sorted(rt.containers if rt else [], key=lambda x: (x.attempt, x.created_at), reverse=True)
    present = {x.name for x in instances}
    deleting = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
    for c in containers:
        name = str(c.get("name"))
        old = old_by_name.get(name)
        if name in present or old is None or "running" not in (old.get("state") or {}):
            continue
        st = statuses[name]
        if (st["state"].get("waiting") or {}).get("reason") != default_reason or "terminated" in st["lastState"]:
            continue
        # It was running and vanished from the runtime: show it stopped, not back to Pending.
        st["lastState"] = {"terminated": {
            "exitCode": 137, "reason": STATUS_UNKNOWN, "startedAt": None, "finishedAt": None,
            "message": "The container could not be located when the pod was deleted.  The container used to be Running"}}
        if not deleting:
            st["restartCount"] = int(st.get("restartCount") or 0) + 1

    seen: dict[str, int] = {}
    spec_images = {str(c.get("name")): str(c.get("image") or "") for c in containers}
    for inst in instances:
        if inst.name not in statuses or seen.get(inst.name, 0) >= 2:
            continue
        converted = _convert(inst, old_by_name.get(inst.name), spec_images[inst.name])
        if seen.get(inst.name, 0) == 0:
            statuses[inst.name] = converted
        else:
            statuses[inst.name]["lastState"] = converted["state"]
        seen[inst.name] = seen.get(inst.name, 0) + 1

    for c in containers:
        name = str(c.get("name"))
        latest = rt.latest(name) if rt else None
        if is_init and latest is not None and latest.state == ContainerState.EXITED and latest.exit_code == 0:
            continue
        if name not in waiting or not should_container_be_restarted(pod, c, rt):
            continue
        st = statuses[name]
        if "terminated" in st["state"]:
            st["lastState"] = st["state"]
        reason, message = waiting[name]
        st["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}

    if is_init:
        return [statuses[str(c.get("name"))] for c in containers]
    return [statuses[k] for k in sorted(statuses)]


def _terminate_unlocated(spec: Mapping[str, Any], statuses: list[Obj]) -> None:
    """Rule 7: once a terminal pod's containers were stopped, an app container the runtime cannot
    show as exited (it was removed or lost) is reported terminated with an unknown exit, so
    nothing of a finished pod looks running or about to run (upstream's TerminatePod)."""
    if not _regular_started(spec, statuses) and not any("terminated" in (s.get("lastState") or {}) for s in statuses):
        return  # never got as far as its app containers: their waiting state tells the truth
    for st in statuses:
        if "terminated" not in st["state"]:
            st["state"] = {"terminated": {
                "exitCode": 137, "reason": STATUS_UNKNOWN, "startedAt": None, "finishedAt": None,
                "message": "The container could not be located when the pod was terminated"}}


def _set_probes(
    specs: Sequence[Mapping[str, Any]], statuses: list[Obj], ready: ProbeByName, started: ProbeByName, *, is_init: bool
) -> None:
    """Rule 5."""
    by_name = {str(c.get("name")): c for c in specs}
    for st in statuses:
        spec = by_name.get(st["name"]) or {}
        running = "running" in st["state"]
        has_started = running and (spec.get("startupProbe") is None or started(st["name"]) is True)
        st["started"] = has_started
        if is_init and not is_restartable_init(spec):
            term = st["state"].get("terminated")
            st["ready"] = bool(term) and term.get("exitCode") == 0
            continue
        st["ready"] = has_started and (spec.get("readinessProbe") is None or ready(st["name"]) is True)


# --- phase and conditions -------------------------------------------------------------------------


def _regular_started(spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]]) -> bool:
    names = {c.get("name") for c in spec.get("containers") or []}
    return any(s["name"] in names and ("running" in s["state"] or "terminated" in s["state"]) for s in statuses)


def get_phase(pod: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]], *, pod_is_terminal: bool = False) -> str:
    """Upstream's getPhase over all container statuses (init and regular)."""
    spec = pod.get("spec") or {}
    by_name = {s["name"]: s for s in statuses}
    policy = spec.get("restartPolicy") or "Always"
    pending_init = failed_init = 0
    unknown = running = waiting = stopped = succeeded = 0
    for c in spec.get("initContainers") or []:
        st = by_name.get(c.get("name"))
        state = (st or {}).get("state") or {}
        last = (st or {}).get("lastState") or {}
        if is_restartable_init(c):
            if st is None:
                unknown += 1
            elif "running" in state:
                if not st.get("started"):
                    pending_init += 1
                running += 1
            elif "waiting" in state and "terminated" not in last:
                pending_init += 1
                waiting += 1
            elif not state:
                pending_init += 1
                unknown += 1
            continue
        if st is None or "running" in state or not state:
            pending_init += 1
        elif "terminated" in state:
            failed_init += state["terminated"].get("exitCode") != 0
        elif "terminated" in last:
            failed_init += last["terminated"].get("exitCode") != 0
        else:
            pending_init += 1
    for c in spec.get("containers") or []:
        st = by_name.get(c.get("name"))
        state = (st or {}).get("state") or {}
        if st is None or not state:
            unknown += 1
        elif "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"].get("exitCode") == 0
        elif "terminated" in ((st or {}).get("lastState") or {}):
            stopped += 1
        else:
            waiting += 1
    if failed_init and policy == "Never":
        return "Failed"
    if (pending_init and not _regular_started(spec, statuses)) or waiting:
        return "Pending"
    if running and not unknown:
        return "Running"
    if not running and stopped and not unknown:
        if pod_is_terminal and not _is_static(pod):
            return "Succeeded" if stopped == succeeded else "Failed"
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _is_static(pod: Mapping[str, Any]) -> bool:
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    return bool(ann.get("kubernetes.io/config.source", "api") != "api")


def _cond(type_: str, status: bool, reason: str = "", message: str = "") -> Obj:
    c: Obj = {"type": type_, "status": "True" if status else "False"}
    if reason:
        c["reason"] = reason
    if message:
        c["message"] = message
    return c


def initialized_condition(spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]], phase: str) -> Obj:
    by_name = {s["name"]: s for s in statuses}
    unknown: list[str] = []
    incomplete: list[str] = []
    for c in spec.get("initContainers") or []:
        st = by_name.get(c.get("name"))
        if st is None:
            unknown.append(str(c.get("name")))
        elif is_restartable_init(c):
            if not st.get("started"):
                incomplete.append(str(c.get("name")))
        elif (st["state"].get("terminated") or {"exitCode": None}).get("exitCode") != 0:
            incomplete.append(str(c.get("name")))
    if phase == "Succeeded" and not unknown:
        return _cond("Initialized", True, "PodCompleted")
    if _regular_started(spec, statuses):
        return _cond("Initialized", True)
    parts = []
    if unknown:
        parts.append(f"containers with unknown status: {_names(unknown)}")
    if incomplete:
        parts.append(f"containers with incomplete status: {_names(incomplete)}")
    if parts:
        return _cond("Initialized", False, "ContainersNotInitialized", ", ".join(parts))
    return _cond("Initialized", True)


def containers_ready_condition(spec: Mapping[str, Any], statuses: Sequence[Mapping[str, Any]], phase: str) -> Obj:
    by_name = {s["name"]: s for s in statuses}
    unknown: list[str] = []
    unready: list[str] = []
    wanted = [c for c in spec.get("initContainers") or [] if is_restartable_init(c)] + list(spec.get("containers") or [])
    for c in wanted:
        st = by_name.get(c.get("name"))
        if st is None:
            unknown.append(str(c.get("name")))
        elif not st.get("ready"):
            unready.append(str(c.get("name")))
    if phase == "Succeeded" and not unknown:
        return _cond("ContainersReady", False, "PodCompleted")
    if phase == "Failed":
        return _cond("ContainersReady", False, "PodFailed")
    parts = []
    if unknown:
        parts.append(f"containers with unknown status: {_names(unknown)}")
    if unready:
        parts.append(f"containers with unready status: {_names(unready)}")
    if parts:
        return _cond("ContainersReady", False, "ContainersNotReady", ", ".join(parts))
    return _cond("ContainersReady", True)


def ready_condition(spec: Mapping[str, Any], conditions: Sequence[Mapping[str, Any]], containers_ready: Obj) -> Obj:
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": "Ready"}
    by_type = {c.get("type"): c for c in conditions}
    msgs = []
    for gate in spec.get("readinessGates") or []:
        t = gate.get("conditionType")
        c = by_type.get(t)
        if c is None:
            msgs.append(f'corresponding condition of pod readiness gate "{t}" does not exist.')
        elif c.get("status") != "True":
            msgs.append(f'the status of pod readiness gate "{t}" is not "True", but {c.get("status")}')
    if msgs:
        return _cond("Ready", False, "ReadinessGatesNotReady", ", ".join(msgs))
    return _cond("Ready", True)


# --- the whole status -----------------------------------------------------------------------------


def generate_pod_status(
    pod: Mapping[str, Any],
    rt: RuntimePod | None,
    *,
    now: float,
    probe_ready: ProbeByName,
    probe_started: ProbeByName,
    waiting: Mapping[str, tuple[str, str]],
    host_ip: str,
    host_ips: Sequence[str],
    pod_is_terminal: bool = False,
) -> Obj:
    """The pod's new ``status`` object (see the module docstring)."""
    spec = pod.get("spec") or {}
    old: Obj = dict(pod.get("status") or {})
    inits = list(spec.get("initContainers") or [])
    regular = list(spec.get("containers") or [])
    init_st = container_statuses(pod, rt, inits, old.get("initContainerStatuses") or [], waiting, is_init=True)
    app_st = container_statuses(pod, rt, regular, old.get("containerStatuses") or [], waiting, is_init=False)

    if pod_is_terminal:
        _terminate_unlocated(spec, app_st)
    phase = get_phase(pod, [*app_st, *init_st], pod_is_terminal=pod_is_terminal)
    old_phase = old.get("phase")
    if old_phase in ("Succeeded", "Failed"):  # rule 4: an evicted pod stays Failed whatever its exit codes
        phase = str(old_phase)
    out: Obj = {"phase": phase}
    if phase == old_phase:
        for k in ("reason", "message"):
            if old.get(k):
                out[k] = old[k]

    _set_probes(inits, init_st, probe_ready, probe_started, is_init=True)
    _set_probes(regular, app_st, probe_ready, probe_started, is_init=False)

    all_st = [*init_st, *app_st]
    conditions = [dict(c) for c in old.get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    sandbox_needed, _, _ = sandbox_changed(pod, rt)
    conditions.append(_cond("PodReadyToStartContainers", not sandbox_needed))
    conditions.append(initialized_condition(spec, all_st, phase))
    containers_ready = containers_ready_condition(spec, all_st, phase)
    conditions.append(ready_condition(spec, conditions, containers_ready))
    conditions.append(containers_ready)
    conditions.append(_cond("PodScheduled", True))
    old_conds = {c.get("type"): c for c in old.get("conditions") or []}
    for c in conditions:
        if c["type"] not in KUBELET_CONDITIONS:
            continue
        prev = old_conds.get(c["type"])
        keep = prev is not None and prev.get("status") == c["status"] and prev.get("lastTransitionTime")
        c["lastProbeTime"] = None
        c["lastTransitionTime"] = prev["lastTransitionTime"] if keep and prev else rfc3339(now)
    out["conditions"] = conditions

    hips = list(host_ips) or ([host_ip] if host_ip else [])
    if hips:
        out["hostIP"] = hips[0]
        out["hostIPs"] = [{"ip": ip} for ip in hips]
    pod_ips = _pod_ips(rt)
    if not pod_ips and spec.get("hostNetwork"):
        pod_ips = hips[:1]
    if not pod_ips:
        # The sandbox is gone (the pod finished): the address it had stays on record.
        pod_ips = [str(p.get("ip")) for p in old.get("podIPs") or [] if p.get("ip")]
    if pod_ips:
        out["podIP"] = pod_ips[0]
        out["podIPs"] = [{"ip": ip} for ip in pod_ips]
    out["startTime"] = old.get("startTime") or rfc3339(now)
    if inits:
        out["initContainerStatuses"] = init_st
    out["containerStatuses"] = app_st
    out["qosClass"] = qos_class(pod)
    ephemeral = list(spec.get("ephemeralContainers") or [])
    if ephemeral:
        out["ephemeralContainerStatuses"] = container_statuses(
            pod, rt, ephemeral, old.get("ephemeralContainerStatuses") or [], waiting, is_init=True)
    return out


def _pod_ips(rt: RuntimePod | None) -> list[str]:
    sandbox = rt.current_sandbox() if rt else None
    if sandbox is None or sandbox.state != SandboxState.READY or not sandbox.ip:
        return []
    return [sandbox.ip, *sandbox.additional_ips]
