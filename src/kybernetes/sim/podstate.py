"""The simulated kubelet's decisions for one pod, as a pure function of (pod, now, behaviour).

Theory of operation. A hollow node plays no containers; it only writes the status a kubelet would
write and confirms graceful deletions. Every decision is derived from the pod object itself (its
status timestamps, its deletion timestamp and grace period), never from memory, so the simulator
can be killed and restarted at any moment and carries on where the API says the pod is.

`plan_pod` answers with a `PodPlan`: a status to write, a deletion to confirm, and/or a time to
look again. The lifecycle it walks:

  1. first sight (no status.startTime): startTime = now; with a startup delay the pod stays
     Pending with containers waiting (ContainerCreating), else it goes straight to Running;
  2. Pending with startTime: at startTime + startupDelay → Running with a pod IP, all five
     conditions True, containers running since now;
  3. Running with ``completeAfter``: at the containers' startedAt + completeAfter they exit with
     the behaviour's exit code. If the restart policy restarts them (Always; OnFailure after a
     failure) they run again with restartCount + 1 and the old run as lastState; otherwise the pod
     ends Succeeded (exit 0, reason Completed) or Failed (reason Error);
  4. deletionTimestamp set: containers "stop" at the request time (deletionTimestamp minus the
     grace period) plus min(grace, stopTime); then the deletion is confirmed (DELETE with grace 0
     and a uid precondition). A terminal pod's deletion is confirmed at once.

Invariants:
1. The same pod, time and behaviour give the same plan (container ids derive from the pod uid).
2. A plan never moves a pod backwards: terminal phases are final, Running never becomes Pending.
3. lastTransitionTime of a condition changes only when its status changes.

Per-pod annotations override the profile (so a test can steer one pod): see `ANNOTATIONS`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kybernetes.sim.profile import PodBehaviour, ProfileError, Usage, parse_duration
from kybernetes.util.times import parse_time, rfc3339

Obj = dict[str, Any]

ANNOTATION_PREFIX = "sim.kybernetes.io/"
ANNOTATIONS = ("startup-delay", "complete-after", "exit-code", "stop-time", "cpu-usage", "memory-usage")
TERMINAL = ("Succeeded", "Failed")
_IDS = uuid.UUID("0f3b2a71-9c5e-4d8a-8b61-2e7c4f9a0d15")


@dataclass(frozen=True, slots=True)
class PodPlan:
    status: Obj | None = None  # write this as the pod's status
    delete_uid: str = ""  # confirm the graceful deletion of the pod with this uid
    recheck_at: float | None = None  # epoch seconds at which to plan again

    @property
    def idle(self) -> bool:
        return self.status is None and not self.delete_uid and self.recheck_at is None


def effective_behaviour(behaviour: PodBehaviour, annotations: Mapping[str, str] | None) -> PodBehaviour:
    """The profile's behaviour with the pod's ``sim.kybernetes.io/*`` annotations applied; a
    malformed annotation is ignored (the pod is someone else's object, not our config)."""
    if not annotations:
        return behaviour
    out = behaviour
    for short in ANNOTATIONS:
        raw = annotations.get(ANNOTATION_PREFIX + short)
        if raw is None:
            continue
        try:
            if short == "startup-delay":
                out = replace(out, startup_delay=parse_duration(raw, short))
            elif short == "complete-after":
                out = replace(out, complete_after=None if raw in ("", "never") else parse_duration(raw, short))
            elif short == "exit-code":
                out = replace(out, exit_code=max(0, min(255, int(raw))))
            elif short == "stop-time":
                out = replace(out, stop_time=parse_duration(raw, short))
            elif short == "cpu-usage":
                out = replace(out, usage=Usage(cpu=raw, memory=out.usage.memory))
            elif short == "memory-usage":
                out = replace(out, usage=Usage(cpu=out.usage.cpu, memory=raw))
        except (ProfileError, ValueError):
            continue
    return out


def container_id(pod_uid: str, container: str, restart_count: int) -> str:
    return f"sim://{uuid.uuid5(_IDS, f'{pod_uid}/{container}/{restart_count}')}"


def _conditions(old: list[Obj], rows: list[tuple[str, str, str, str]], now: float) -> list[Obj]:
    """Conditions from (type, status, reason, message) rows, keeping the transition time of any
    whose status did not change."""
    prev = {c.get("type"): c for c in old}
    out = []
    for ctype, status, reason, message in rows:
        before = prev.get(ctype)
        since = before.get("lastTransitionTime") if before and before.get("status") == status else None
        c: Obj = {"type": ctype, "status": status, "lastProbeTime": None,
                  "lastTransitionTime": since or rfc3339(now)}
        if reason:
            c["reason"] = reason
        if message:
            c["message"] = message
        out.append(c)
    # conditions someone else owns (readiness gates, DisruptionTarget) are kept as they are
    ours = {r[0] for r in rows}
    out.extend(c for c in old if c.get("type") not in ours)
    return out


def _names(containers: list[Obj]) -> str:
    return "[" + " ".join(str(c.get("name", "")) for c in containers) + "]"


def _base_status(pod: Obj, now: float, host_ip: str) -> Obj:
    status: Obj = dict(pod.get("status") or {})
    status["hostIP"] = host_ip
    status["hostIPs"] = [{"ip": host_ip}]
    status.setdefault("startTime", rfc3339(now))
    return status


def _init_statuses(pod: Obj, started: str) -> list[Obj]:
    uid = str(pod["metadata"].get("uid", ""))
    out = []
    for c in (pod.get("spec") or {}).get("initContainers") or []:
        name = str(c.get("name", ""))
        image = str(c.get("image", ""))
        cid = container_id(uid, name, 0)
        st: Obj = {"name": name, "image": image, "imageID": f"sim://{image}", "containerID": cid,
                   "restartCount": 0, "lastState": {}}
        if c.get("restartPolicy") == "Always":  # a sidecar keeps running
            st.update(state={"running": {"startedAt": started}}, ready=True, started=True)
        else:
            st.update(state={"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": started,
                                            "finishedAt": started, "containerID": cid}},
                      ready=True, started=False)
        out.append(st)
    return out


def pending_status(pod: Obj, now: float, *, host_ip: str) -> Obj:
    """First sight with a startup delay: scheduled and initialised, containers being created."""
    status = _base_status(pod, now, host_ip)
    containers = (pod.get("spec") or {}).get("containers") or []
    unready = f"containers with unready status: {_names(containers)}"
    status["phase"] = "Pending"
    status["conditions"] = _conditions(status.get("conditions") or [], [
        ("PodReadyToStartContainers", "False", "", ""),
        ("Initialized", "True", "", ""),
        ("Ready", "False", "ContainersNotReady", unready),
        ("ContainersReady", "False", "ContainersNotReady", unready),
        ("PodScheduled", "True", "", ""),
    ], now)
    status["containerStatuses"] = [
        {"name": c.get("name", ""), "image": c.get("image", ""), "imageID": "", "ready": False, "started": False,
         "restartCount": 0, "lastState": {}, "state": {"waiting": {"reason": "ContainerCreating"}}}
        for c in containers]
    return status


def running_status(pod: Obj, now: float, *, host_ip: str, pod_ip: str) -> Obj:
    """Every container running since `now`, the pod Ready with an IP."""
    status = _base_status(pod, now, host_ip)
    uid = str(pod["metadata"].get("uid", ""))
    status["phase"] = "Running"
    if pod_ip:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    status["conditions"] = _conditions(status.get("conditions") or [], [
        ("PodReadyToStartContainers", "True", "", ""),
        ("Initialized", "True", "", ""),
        ("Ready", "True", "", ""),
        ("ContainersReady", "True", "", ""),
        ("PodScheduled", "True", "", ""),
    ], now)
    started = rfc3339(now)
    if (pod.get("spec") or {}).get("initContainers"):
        status["initContainerStatuses"] = _init_statuses(pod, str(status["startTime"]))
    status["containerStatuses"] = [
        {"name": c.get("name", ""), "image": c.get("image", ""), "imageID": f"sim://{c.get('image', '')}",
         "containerID": container_id(uid, str(c.get("name", "")), 0), "ready": True, "started": True,
         "restartCount": 0, "lastState": {}, "state": {"running": {"startedAt": started}}}
        for c in (pod.get("spec") or {}).get("containers") or []]
    return status


def _restarts(policy: str, exit_code: int) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def exited_status(pod: Obj, now: float, *, exit_code: int) -> Obj:
    """The containers exited with `exit_code`: restarted, or the pod finished."""
    status: Obj = dict(pod.get("status") or {})
    uid = str(pod["metadata"].get("uid", ""))
    reason = "Completed" if exit_code == 0 else "Error"
    finished = rfc3339(now)
    policy = str((pod.get("spec") or {}).get("restartPolicy") or "Always")
    restart = _restarts(policy, exit_code)
    new_cs = []
    for cs in status.get("containerStatuses") or []:
        cs = dict(cs)
        running = (cs.get("state") or {}).get("running") or {}
        terminated = {"exitCode": exit_code, "reason": reason, "startedAt": running.get("startedAt", finished),
                      "finishedAt": finished, "containerID": cs.get("containerID", "")}
        if restart:
            count = int(cs.get("restartCount") or 0) + 1
            cs.update(restartCount=count, lastState={"terminated": terminated},
                      state={"running": {"startedAt": finished}},
                      containerID=container_id(uid, str(cs.get("name", "")), count))
        else:
            cs.update(state={"terminated": terminated}, ready=False, started=False)
        new_cs.append(cs)
    status["containerStatuses"] = new_cs
    if restart:
        return status
    containers = (pod.get("spec") or {}).get("containers") or []
    if exit_code == 0:
        status["phase"] = "Succeeded"
        rows = [("PodReadyToStartContainers", "False", "", ""), ("Initialized", "True", "PodCompleted", ""),
                ("Ready", "False", "PodCompleted", ""), ("ContainersReady", "False", "PodCompleted", ""),
                ("PodScheduled", "True", "", "")]
    else:
        status["phase"] = "Failed"
        unready = f"containers with unready status: {_names(containers)}"
        rows = [("PodReadyToStartContainers", "False", "", ""), ("Initialized", "True", "", ""),
                ("Ready", "False", "ContainersNotReady", unready),
                ("ContainersReady", "False", "ContainersNotReady", unready), ("PodScheduled", "True", "", "")]
    status["conditions"] = _conditions(status.get("conditions") or [], rows, now)
    return status


def _running_since(status: Mapping[str, Any]) -> float | None:
    """When the most recently (re)started container started running."""
    times = []
    for cs in status.get("containerStatuses") or []:
        started = ((cs.get("state") or {}).get("running") or {}).get("startedAt")
        if started:
            times.append(parse_time(str(started)))
    return max(times) if times else None


def _at(t: float) -> float:
    # status times have whole seconds; never look again before the second has turned
    return float(math.ceil(t))


def plan_pod(pod: Obj, now: float, behaviour: PodBehaviour, *, host_ip: str, pod_ip: str) -> PodPlan:
    """What the kubelet of the pod's node does next (see the module docstring)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    b = effective_behaviour(behaviour, meta.get("annotations"))

    if meta.get("deletionTimestamp"):
        if phase in TERMINAL:
            return PodPlan(delete_uid=str(meta.get("uid", "")))
        grace = int(meta.get("deletionGracePeriodSeconds") or 0)
        requested = parse_time(str(meta["deletionTimestamp"])) - grace
        done = requested + min(float(grace), b.stop_time)
        if now >= done:
            return PodPlan(delete_uid=str(meta.get("uid", "")))
        return PodPlan(recheck_at=done)

    if phase in TERMINAL:
        return PodPlan()

    start = status.get("startTime")
    if not start:
        if b.startup_delay > 0:
            return PodPlan(status=pending_status(pod, now, host_ip=host_ip), recheck_at=_at(now + b.startup_delay))
        plan_status = running_status(pod, now, host_ip=host_ip, pod_ip=pod_ip)
        return _with_completion(PodPlan(status=plan_status), now, b)

    if phase == "Pending":
        ready_at = parse_time(str(start)) + b.startup_delay
        if now < ready_at:
            return PodPlan(recheck_at=_at(ready_at))
        return _with_completion(PodPlan(status=running_status(pod, now, host_ip=host_ip, pod_ip=pod_ip)), now, b)

    if phase == "Running" and b.complete_after is not None:
        since = _running_since(status)
        if since is None:
            return PodPlan()
        end = since + b.complete_after
        if now < end:
            return PodPlan(recheck_at=_at(end))
        new = exited_status(pod, now, exit_code=b.exit_code)
        return _with_completion(PodPlan(status=new), now, b)
    return PodPlan()


def _with_completion(plan: PodPlan, now: float, b: PodBehaviour) -> PodPlan:
    """A plan that (re)started containers looks again when they are due to exit."""
    if b.complete_after is None or plan.status is None or plan.status.get("phase") != "Running":
        return plan
    return replace(plan, recheck_at=_at(now + b.complete_after))
