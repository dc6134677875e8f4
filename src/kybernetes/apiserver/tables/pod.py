"""The pod row: READY, STATUS and RESTARTS as ``kubectl get pods`` shows them.

STATUS is not a field; it is derived the way upstream's printer derives it, in this order:

1. start from ``status.reason`` or else ``status.phase``; a PodScheduled condition with reason
   SchedulingGated overrides it;
2. walk init container statuses in order: a failed or waiting one, or one still running, gives
   ``Init:<reason>`` / ``Init:ExitCode:N`` / ``Init:Signal:N`` / ``Init:i/n`` and the pod counts as
   initializing (sidecars — init containers with restartPolicy Always — that have started do not);
3. unless initializing (or the Initialized condition is already True), walk app container statuses
   from last to first, so the first container's waiting/terminated reason wins; a pod whose reason
   is "Completed" but still has a running container reads Running (Ready condition) or NotReady;
4. a pod being deleted reads Terminating (or Unknown when its node was lost), unless it already
   finished.

RESTARTS counts init restarts while initializing, else app + sidecar restarts, followed by
"(<age> ago)" of the latest ``lastState.terminated.finishedAt`` when there were restarts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.apiserver.tables.format import (
    NONE,
    Obj,
    age,
    as_dict,
    as_int,
    as_list,
    dig,
    meta,
    name,
    parse_time,
    since,
)
from kybernetes.apiserver.tables.printer import AGE, NAME, Printer, col

COLUMNS = (
    NAME,
    col("Ready", "Ready containers out of all containers of the pod."),
    col("Status", "Summary of the pod's phase and its containers' states."),
    col("Restarts", "Container restarts, and how long ago the latest one was."),
    AGE,
    col("IP", "The pod's primary IP address.", priority=1),
    col("Node", "The node the pod is bound to.", priority=1),
    col("Nominated Node", "The node preemption made room on, while the pod waits for it.", priority=1),
    col("Readiness Gates", "Readiness gate conditions that are True, out of all gates.", priority=1),
)

_SUCCEEDED = [{"type": "Completed", "status": "True", "reason": "Succeeded",
               "message": "The pod has completed successfully."}]
_FAILED = [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]


def _is_sidecar(container: Obj | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def _condition_true(status: Obj, ctype: str) -> bool:
    for cond in as_list(status.get("conditions")):
        if as_dict(cond).get("type") == ctype:
            return as_dict(cond).get("status") == "True"
    return False


def _has_ready_condition(status: Obj) -> bool:
    return any(
        as_dict(c).get("type") == "Ready" and as_dict(c).get("status") == "True"
        for c in as_list(status.get("conditions"))
    )


def _finished_at(cstatus: Obj) -> datetime | None:
    return parse_time(dig(cstatus, "lastState", "terminated", "finishedAt"))


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _terminated_reason(term: Obj, prefix: str) -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    signal = as_int(term.get("signal"))
    if signal:
        return f"{prefix}Signal:{signal}"
    return f"{prefix}ExitCode:{as_int(term.get('exitCode'))}"


def pod_summary(pod: Obj) -> tuple[str, str, int, datetime | None]:
    """(ready "n/m", status reason, restart count, time of the latest restart)."""
    spec = as_dict(pod.get("spec"))
    status = as_dict(pod.get("status"))
    phase = str(status.get("phase", ""))
    reason = str(status.get("reason") or phase)
    for cond in as_list(status.get("conditions")):
        if as_dict(cond).get("type") == "PodScheduled" and as_dict(cond).get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = [as_dict(c) for c in as_list(spec.get("initContainers"))]
    init_by_name = {str(c.get("name", "")): c for c in init_specs}
    total = len(as_list(spec.get("containers"))) + sum(1 for c in init_specs if _is_sidecar(c))
    ready = 0
    restarts = 0
    last_restart: datetime | None = None
    sidecar_restarts = 0
    last_sidecar_restart: datetime | None = None

    initializing = False
    for i, raw in enumerate(as_list(status.get("initContainerStatuses"))):
        cs = as_dict(raw)
        sidecar = _is_sidecar(init_by_name.get(str(cs.get("name", ""))))
        count = as_int(cs.get("restartCount"))
        restarts += count
        last_restart = _later(last_restart, _finished_at(cs))
        if sidecar:
            sidecar_restarts += count
            last_sidecar_restart = _later(last_sidecar_restart, _finished_at(cs))
        state = as_dict(cs.get("state"))
        term = state.get("terminated")
        waiting = state.get("waiting")
        if isinstance(term, dict) and as_int(term.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started") is True:
            if cs.get("ready"):
                ready += 1
            continue
        if isinstance(term, dict):
            reason = _terminated_reason(term, "Init:")
        elif isinstance(waiting, dict) and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + str(waiting["reason"])
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _condition_true(status, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for raw in reversed(as_list(status.get("containerStatuses"))):
            cs = as_dict(raw)
            restarts += as_int(cs.get("restartCount"))
            last_restart = _later(last_restart, _finished_at(cs))
            state = as_dict(cs.get("state"))
            waiting = state.get("waiting")
            term = state.get("terminated")
            if isinstance(waiting, dict) and waiting.get("reason"):
                reason = str(waiting["reason"])
            elif isinstance(term, dict):
                reason = _terminated_reason(term, "")
            elif cs.get("ready") and isinstance(state.get("running"), dict):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _has_ready_condition(status) else "NotReady"

    if meta(pod).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    return f"{ready}/{total}", reason, restarts, last_restart


def _cells(pod: Obj, now: datetime) -> list[Any]:
    ready, reason, restarts, last_restart = pod_summary(pod)
    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({since(last_restart, now)} ago)"

    spec = as_dict(pod.get("spec"))
    status = as_dict(pod.get("status"))
    pod_ips = as_list(status.get("podIPs"))
    ip = str(as_dict(pod_ips[0]).get("ip", "")) if pod_ips else str(status.get("podIP") or "")
    gates = as_list(spec.get("readinessGates"))
    gates_cell = NONE
    if gates:
        conditions = [as_dict(c) for c in as_list(status.get("conditions"))]
        true_count = 0
        for gate in gates:
            ctype = as_dict(gate).get("conditionType")
            for cond in conditions:
                if cond.get("type") == ctype:
                    true_count += cond.get("status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    return [
        name(pod), ready, reason, restarts_cell, age(pod, now),
        ip or NONE,
        str(spec.get("nodeName") or NONE),
        str(status.get("nominatedNodeName") or NONE),
        gates_cell,
    ]


def _conditions(pod: Obj) -> list[Obj]:
    phase = dig(pod, "status", "phase")
    if phase == "Succeeded":
        return [dict(c) for c in _SUCCEEDED]
    if phase == "Failed":
        return [dict(c) for c in _FAILED]
    return []


PRINTER = Printer(COLUMNS, _cells, _conditions)
