"""The kubelet's Events: what `kubectl describe pod` and `kubectl describe node` show from the node.

Why a module of its own: the pod sync, the image puller, the volume set-up and the node status
loop each notice something worth telling the user; the reasons, message texts, involved-object
references and the "do not repeat yourself" rules live here once, and the executors call thin
helpers. Deciding which events a sync produces is pure (``sync_plan_events``,
``node_condition_events``, the message builders) and tested table-driven; ``KubeletEvents``
only hands finished events to an injected recorder (``client.events.EventRecorder`` in the
agent, a list in tests).

Upstream facts (kubelet 1.32, core/v1 Events through client-go's recorder, source component
``kubelet``, host = node name; reportingController/Instance are the same):

- Container events refer to the pod with ``fieldPath`` ``spec.containers{name}`` (or
  ``spec.initContainers{name}``, ``spec.ephemeralContainers{name}``); pod events have none.
- Node events refer to ``{kind: Node, name: <node>, uid: <node>}`` (the kubelet uses the node
  name as UID; `kubectl describe node` looks up both) and land in the ``default`` namespace.
- Image: Pulling ``Pulling image "x"``; Pulled ``Successfully pulled image "x" in 1.2s (1.3s
  including waiting). Image size: N bytes.`` or ``Container image "x" already present on
  machine``; Failed ``Failed to pull image "x": <err>``; BackOff (Normal) ``Back-off pulling image
  "x"``; ErrImageNeverPull; each failure is followed by Failed ``Error: <waiting reason>``.
- Container: Created ``Created container: app`` (the colon arrived in 1.32), Started ``Started
  container app``, Failed ``Error: <message>``, Killing ``Stopping container app`` or the
  planner's reason (``Container app failed liveness probe, will be restarted``), BackOff
  (Warning) ``Back-off restarting failed container app in pod name_ns(uid)``.
- Pod: SandboxChanged ``Pod sandbox changed, it will be killed and re-created.``,
  FailedCreatePodSandBox ``Failed to create pod sandbox: <err>``, FailedKillPod ``error killing
  pod: <err>``, FailedMount ``MountVolume.SetUp failed for volume "v" : <err>``, Evicted.
- Node: Starting ``Starting kubelet.``, NodeAllocatableEnforced, condition changes as ``Node n
  status is now: NodeHasSufficientMemory`` (NodeReady, NodeNotReady, ...), Rebooted,
  EvictionThresholdMet ``Attempting to reclaim memory``. RegisteredNode is the node controller's.
  ``spec.unschedulable`` flipping (cordon/uncordon), as seen on a status tick, gives
  NodeNotSchedulable / NodeSchedulable with the same ``status is now`` text; the kubelet starts
  believing the node schedulable, so a node cordoned before it started says so once.
- Pod, Warning ExceededGracePeriod ``Container runtime did not kill the pod within specified
  grace period.`` when an eviction's kill did not finish within 1.5 grace periods (min 10 s).

Repeats: the recorder already counts identical events (count/lastTimestamp) and rate-limits per
object. Our pod syncs run more often than upstream's pod worker retries (every 2 s and on each
status echo rather than every 10 s), so events of a retry loop (back-offs, failed mounts, start
errors) are passed on at most once per ``REPEAT_INTERVAL`` per identical event; otherwise one
stuck pod would spend its whole event budget in a minute.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kybernetes.kubelet.runtime_state import ContainerState, RuntimePod
from kybernetes.util.goduration import format_go_duration

log = logging.getLogger("kyb.kubelet.events")
Obj = dict[str, Any]

NORMAL = "Normal"
WARNING = "Warning"

# reasons (upstream's pkg/kubelet/events names)
PULLING = "Pulling"
PULLED = "Pulled"
FAILED = "Failed"
BACK_OFF = "BackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INSPECT_FAILED = "InspectFailed"
CREATED = "Created"
STARTED = "Started"
KILLING = "Killing"
EXCEEDED_GRACE_PERIOD = "ExceededGracePeriod"
SANDBOX_CHANGED = "SandboxChanged"
FAILED_CREATE_POD_SANDBOX = "FailedCreatePodSandBox"
FAILED_KILL_POD = "FailedKillPod"
FAILED_MOUNT = "FailedMount"
FAILED_POST_START_HOOK = "FailedPostStartHook"
FAILED_PRE_STOP_HOOK = "FailedPreStopHook"
EVICTED = "Evicted"
STARTING = "Starting"
NODE_ALLOCATABLE_ENFORCED = "NodeAllocatableEnforced"
REBOOTED = "Rebooted"
EVICTION_THRESHOLD_MET = "EvictionThresholdMet"
NODE_SCHEDULABLE = "NodeSchedulable"
NODE_NOT_SCHEDULABLE = "NodeNotSchedulable"

# after an eviction's kill outlived one and a half grace periods (at least 10 s)
EXCEEDED_GRACE_PERIOD_MESSAGE = "Container runtime did not kill the pod within specified grace period."

REPEAT_INTERVAL = 10.0  # upstream's pod worker back-off between failed syncs
REPEAT_CACHE = 4096

# waiting reasons whose Failed event names the reason itself ("Error: ErrImagePull")
IMAGE_WAITING_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
)

# condition type -> (event when the condition is False, event when True)
_PRESSURE_EVENTS = {
    "MemoryPressure": ("NodeHasSufficientMemory", "NodeHasInsufficientMemory"),
    "DiskPressure": ("NodeHasNoDiskPressure", "NodeHasDiskPressure"),
    "PIDPressure": ("NodeHasSufficientPID", "NodeHasInsufficientPID"),
}


class EventSink(Protocol):
    """What the kubelet needs of a recorder (``client.events.EventRecorder`` fits)."""

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, message: str) -> None: ...


@dataclass(frozen=True)
class PlannedEvent:
    """One event about a pod: on a container of it when ``container`` is set."""

    type: str
    reason: str
    message: str
    container: str | None = None


# --- references -------------------------------------------------------------------------------------


def container_field_path(pod: Mapping[str, Any], name: str) -> str:
    spec = pod.get("spec") or {}
    for key in ("containers", "initContainers", "ephemeralContainers"):
        if any(c.get("name") == name for c in spec.get(key) or []):
            return f"spec.{key}{{{name}}}"
    return f"spec.containers{{{name}}}"


def pod_ref(pod: Mapping[str, Any]) -> Obj:
    meta = pod.get("metadata") or {}
    ref = {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": meta.get("namespace", ""),
        "name": meta.get("name", ""),
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    return {k: v for k, v in ref.items() if v}


def container_ref(pod: Mapping[str, Any], name: str) -> Obj:
    return {**pod_ref(pod), "fieldPath": container_field_path(pod, name)}


def node_ref(node_name: str) -> Obj:
    return {"kind": "Node", "name": node_name, "uid": node_name}


# --- message texts ----------------------------------------------------------------------------------


def go_duration(seconds: float) -> str:
    """A non-negative duration truncated to milliseconds, as Go's time.Duration prints it:
    ``0s``, ``796ms``, ``1.594s``, ``1m2.5s``, ``1h0m0.001s``."""
    return format_go_duration(max(int(seconds * 1000), 0) * 1_000_000)


def pulling_message(image: str) -> str:
    return f'Pulling image "{image}"'


def pulled_message(image: str, pull_seconds: float, total_seconds: float, size: int) -> str:
    return (
        f'Successfully pulled image "{image}" in {go_duration(pull_seconds)} '
        f"({go_duration(total_seconds)} including waiting). Image size: {size} bytes."
    )


def present_message(image: str) -> str:
    return f'Container image "{image}" already present on machine'


def pull_failed_message(image: str, error: str) -> str:
    return f'Failed to pull image "{image}": {error}'


def pull_backoff_message(image: str) -> str:
    return f'Back-off pulling image "{image}"'


def never_pull_message(image: str) -> str:
    return f'Container image "{image}" is not present with pull policy of Never'


def format_pod(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name', '')}_{meta.get('namespace', '')}({meta.get('uid', '')})"


def crash_backoff_message(pod: Mapping[str, Any], name: str) -> str:
    return f"Back-off restarting failed container {name} in pod {format_pod(pod)}"


def stopping_message(name: str) -> str:
    return f"Stopping container {name}"


def probe_kill_message(pod: Mapping[str, Any], name: str, probe: str) -> str:
    """The Killing text after a failed liveness/startup probe (``probe`` "Liveness"/"Startup")."""
    message = f"Container {name} failed {probe.lower()} probe"
    if str((pod.get("spec") or {}).get("restartPolicy") or "Always") != "Never":
        message += ", will be restarted"
    return message


def node_status_message(node_name: str, event: str) -> str:
    return f"Node {node_name} status is now: {event}"


# --- which events ------------------------------------------------------------------------------------


def start_failure_event(name: str, reason: str, message: str) -> PlannedEvent | None:
    """The ``Failed`` event after a container could not be started (None: hooks have their own)."""
    if reason == "PostStartHookError":
        return None
    detail = reason if reason in IMAGE_WAITING_REASONS else message
    return PlannedEvent(WARNING, FAILED, f"Error: {detail}", name)


def running_containers(rt: RuntimePod | None) -> list[str]:
    """Names of the running containers (what a pod kill stops, one Killing event each)."""
    if rt is None:
        return []
    seen: list[str] = []
    for c in rt.containers:
        if c.state == ContainerState.RUNNING and c.name not in seen:
            seen.append(c.name)
    return seen


def kill_pod_events(rt: RuntimePod | None) -> list[PlannedEvent]:
    return [PlannedEvent(NORMAL, KILLING, stopping_message(n), n) for n in running_containers(rt)]


def sync_plan_events(pod: Mapping[str, Any], rt: RuntimePod | None, actions: Any) -> list[PlannedEvent]:
    """Events the plan of one sync (``actions.PodActions``) announces before it is carried out."""
    out: list[PlannedEvent] = []
    if actions.kill_pod:
        if actions.create_sandbox and rt is not None and rt.sandboxes:
            out.append(
                PlannedEvent(
                    NORMAL, SANDBOX_CHANGED, "Pod sandbox changed, it will be killed and re-created."
                )
            )
        out += kill_pod_events(rt)
    else:
        names = {c.id: c.name for c in (rt.containers if rt is not None else [])}
        for cid, why in actions.containers_to_kill.items():
            name = names.get(cid)
            if name is not None:
                out.append(PlannedEvent(NORMAL, KILLING, why or stopping_message(name), name))
    for name in actions.backoff_waiting:
        out.append(PlannedEvent(WARNING, BACK_OFF, crash_backoff_message(pod, name), name))
    return out


def mount_failure_events(failures: Mapping[str, str]) -> list[PlannedEvent]:
    return [
        PlannedEvent(WARNING, FAILED_MOUNT, f'MountVolume.SetUp failed for volume "{volume}" : {error}')
        for volume, error in failures.items()
    ]


def node_condition_events(
    node_name: str, old: Iterable[Mapping[str, Any]] | None, new: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str, str]]:
    """(type, reason, message) for every node condition that is new or changed its status."""
    before = {c.get("type"): c.get("status") for c in old or []}
    out = []
    for c in new:
        kind, status = c.get("type"), c.get("status")
        if before.get(kind) == status:
            continue
        if kind == "Ready":
            event = "NodeReady" if status == "True" else "NodeNotReady"
        elif kind in _PRESSURE_EVENTS:
            event = _PRESSURE_EVENTS[str(kind)][1 if status == "True" else 0]
        else:
            continue
        out.append((NORMAL, event, node_status_message(node_name, event)))
    return out


def schedulable_event(
    node_name: str, last_unschedulable: bool, node: Mapping[str, Any]
) -> tuple[str, str, str] | None:
    """(type, reason, message) when the node's ``spec.unschedulable`` differs from what was last seen."""
    unschedulable = bool((node.get("spec") or {}).get("unschedulable"))
    if unschedulable == last_unschedulable:
        return None
    event = NODE_NOT_SCHEDULABLE if unschedulable else NODE_SCHEDULABLE
    return (NORMAL, event, node_status_message(node_name, event))


# --- the emitter ----------------------------------------------------------------------------------------


class KubeletEvents:
    """Hands the kubelet's events to a recorder; never blocks, never raises (events are advisory)."""

    def __init__(
        self,
        sink: EventSink | None,
        node_name: str = "",
        *,
        clock: Callable[[], float] = time.monotonic,
        repeat_interval: float = REPEAT_INTERVAL,
    ) -> None:
        self.sink = sink
        self.node_name = node_name
        self.clock = clock
        self.repeat_interval = repeat_interval
        self._last: OrderedDict[tuple[str, ...], float] = OrderedDict()
        self.last_unschedulable = False  # upstream's kubelet starts out believing the node schedulable

    def _send(self, ref: Mapping[str, Any], type_: str, reason: str, message: str) -> None:
        if self.sink is None:
            return
        try:
            self.sink.event(ref, type_, reason, message)
        except Exception:  # a recorder problem must never fail a pod sync
            log.exception("recording event %s failed", reason)

    def _fresh(self, key: tuple[str, ...]) -> bool:
        """False when the same event went out less than ``repeat_interval`` ago."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.repeat_interval:
            return False
        self._last[key] = now
        self._last.move_to_end(key)
        while len(self._last) > REPEAT_CACHE:
            self._last.popitem(last=False)
        return True

    def pod(
        self,
        pod: Mapping[str, Any],
        type_: str,
        reason: str,
        message: str,
        *,
        container: str | None = None,
        throttle: bool = False,
    ) -> None:
        ref = container_ref(pod, container) if container else pod_ref(pod)
        if throttle:
            meta = pod.get("metadata") or {}
            if not self._fresh((str(meta.get("uid", "")), container or "", reason, message)):
                return
        self._send(ref, type_, reason, message)

    def container(
        self,
        pod: Mapping[str, Any],
        name: str,
        type_: str,
        reason: str,
        message: str,
        *,
        throttle: bool = False,
    ) -> None:
        self.pod(pod, type_, reason, message, container=name, throttle=throttle)

    def planned(
        self, pod: Mapping[str, Any], events: Iterable[PlannedEvent], *, throttle: bool = False
    ) -> None:
        for e in events:
            self.pod(
                pod,
                e.type,
                e.reason,
                e.message,
                container=e.container,
                throttle=throttle or e.reason in (BACK_OFF, FAILED, FAILED_MOUNT),
            )

    def node(self, type_: str, reason: str, message: str) -> None:
        self._send(node_ref(self.node_name), type_, reason, message)

    def node_conditions(
        self, old: Iterable[Mapping[str, Any]] | None, new: Iterable[Mapping[str, Any]]
    ) -> None:
        for type_, reason, message in node_condition_events(self.node_name, old, new):
            self.node(type_, reason, message)

    def node_schedulable(self, node: Mapping[str, Any]) -> None:
        """Tell a cordon or uncordon of the node (its ``spec.unschedulable`` changed since last seen)."""
        found = schedulable_event(self.node_name, self.last_unschedulable, node)
        if found is not None:
            self.last_unschedulable = not self.last_unschedulable
            self.node(*found)

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._last if k[0] == uid]:
            del self._last[key]
