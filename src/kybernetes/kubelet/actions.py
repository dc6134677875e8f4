"""What to do next for one pod: compare its spec with what the runtime reports, produce a plan.

The agent's sync loop calls ``compute_pod_actions`` and executes the plan through CRI: kill the
pod (every container, then every sandbox), create a sandbox, kill single containers, start
containers in the listed order. The planner follows upstream's computePodActions:

  1. No sandbox, more than one ready sandbox, the newest not ready, or (outside the host network)
     without an IP → kill everything and create a new sandbox (attempt = newest + 1) — unless the
     pod has already run to completion (restartPolicy Never after a first sandbox, or every regular
     container done and none to restart), in which case nothing is started again.
  2. In a fresh sandbox, init containers restart from the first one.
  3. Init containers run one at a time, in order; a restartable init container
     (``restartPolicy: Always``, a sidecar) counts as done once it is started (its startup probe
     succeeded, if it has one) and keeps running beside everything after it. A failed regular init
     container is retried unless the pod's restartPolicy is Never, which kills the pod.
  4. After initialisation, each regular container that is not running is started again if the
     restartPolicy says so (Always; OnFailure after a non-zero exit; Never: not at all). A running
     container whose spec hash changed is killed and started again, whatever the policy; one that
     failed its liveness or startup probe is killed and restarted per the policy.
  5. When nothing is left running or to start, the pod is killed (sidecars included).
  6. A container restarting after an exit waits out its crash-loop back-off; it is then listed in
     ``backoff_waiting`` with reason CrashLoopBackOff instead of being started.
  7. An ephemeral container (``kubectl debug``) is started once in the current sandbox, even while
     init containers still run, and never again once the runtime has any instance of it; it does
     not keep the pod alive (rule 5) and is not started in a sandbox about to be created.

``compute_pod_actions`` only reads the back-off; after executing the plan the agent calls
``PodActions.record_backoff`` so the next failure waits longer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet.backoff import CrashLoopBackoff, go_duration
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    SandboxState,
)

Obj = dict[str, Any]
ProbeResult = Callable[[str], "bool | None"]  # by container id: True success, False failure, None unknown

CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"


@dataclass(frozen=True)
class ContainerStart:
    name: str
    init: bool
    attempt: int
    # Set when this start retries an exited instance: the executor records it in the back-off.
    backoff_key: str | None = None
    failed_at: float | None = None


@dataclass
class PodActions:
    kill_pod: bool = False
    create_sandbox: bool = False
    sandbox_attempt: int = 0
    sandbox_id: str = ""  # the sandbox to run containers in (empty when one is to be created)
    containers_to_start: list[ContainerStart] = field(default_factory=list)
    containers_to_kill: dict[str, str] = field(default_factory=dict)  # container id → why
    next_init_container: str | None = None
    backoff_waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    ephemeral_to_start: list[str] = field(default_factory=list)  # names, in spec order (rule 7)

    def record_backoff(self, backoff: CrashLoopBackoff, now: float) -> None:
        """Note every planned restart-after-exit in the back-off (call once the plan ran)."""
        for start in self.containers_to_start:
            if start.backoff_key is not None:
                backoff.record_failure(start.backoff_key, now, since=start.failed_at)


def container_spec_hash(container: Mapping[str, Any]) -> str:
    """A stable digest of a container spec: a different hash means the container must restart."""
    blob = json.dumps(container, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def backoff_key(pod: Mapping[str, Any], container: Mapping[str, Any], spec_hash: str) -> str:
    """Crash-loop key: pod identity, container name and spec (a new spec starts afresh)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace')}_{meta.get('uid')}_{container.get('name')}_{spec_hash}"


def format_pod(pod: Mapping[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace')}({meta.get('uid')})"


def is_restartable_init(container: Mapping[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def _restart_policy(pod: Mapping[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("restartPolicy") or "Always")


def _containers(pod: Mapping[str, Any], kind: str) -> list[Obj]:
    return list((pod.get("spec") or {}).get(kind) or [])


def should_container_be_restarted(pod: Mapping[str, Any], container: Mapping[str, Any], rt: RuntimePod | None) -> bool:
    """Whether a container that is not running should be (re)started (upstream's
    ShouldContainerBeRestarted; sidecars always restart)."""
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    latest = rt.latest(str(container.get("name"))) if rt else None
    if latest is None:
        return True
    if latest.state == ContainerState.RUNNING:
        return False
    if latest.state in (ContainerState.UNKNOWN, ContainerState.CREATED) or is_restartable_init(container):
        return True
    policy = _restart_policy(pod)
    if policy == "Never":
        return False
    return not (policy == "OnFailure" and latest.exit_code == 0)


def _init_failed(c: RuntimeContainer) -> bool:
    return (
        "OOMKilled" in c.reason
        or (c.state == ContainerState.EXITED and c.exit_code not in (0, None))
        or c.state == ContainerState.UNKNOWN
    )


def is_pod_terminal(pod: Mapping[str, Any], rt: RuntimePod | None) -> bool:
    """Whether the pod has finished for good: the API says Succeeded/Failed, a regular init
    container failed under restartPolicy Never, or every regular container has exited and none
    will be restarted. (Matches the phases ``status.get_phase`` computes.)"""
    if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return True
    if rt is None:
        return False
    never = _restart_policy(pod) == "Never"
    for c in _containers(pod, "initContainers"):
        latest = rt.latest(str(c.get("name")))
        if never and not is_restartable_init(c) and latest is not None and _init_failed(latest):
            return True
    regular = _containers(pod, "containers")
    for c in regular:
        latest = rt.latest(str(c.get("name")))
        if latest is None or latest.state != ContainerState.EXITED:
            return False
        if should_container_be_restarted(pod, c, rt):
            return False
    return bool(regular)


def sandbox_changed(pod: Mapping[str, Any], rt: RuntimePod | None) -> tuple[bool, int, str]:
    """(needs a new sandbox, attempt for it, id of the newest sandbox) — rule 1."""
    if rt is None or not rt.sandboxes:
        return True, 0, ""
    newest = rt.sandboxes[0]
    ready = sum(1 for s in rt.sandboxes if s.state == SandboxState.READY)
    if ready > 1 or newest.state != SandboxState.READY:
        return True, newest.attempt + 1, newest.id
    host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
    if not host_network and not newest.ip:
        return True, newest.attempt + 1, newest.id
    return False, newest.attempt, newest.id


class _Planner:
    def __init__(
        self,
        pod: Mapping[str, Any],
        rt: RuntimePod | None,
        now: float,
        backoff: CrashLoopBackoff,
        spec_hash: Callable[[dict[str, Any]], str],
        liveness: ProbeResult | None,
        startup: ProbeResult | None,
    ) -> None:
        self.pod, self.rt, self.now, self.backoff, self.spec_hash = pod, rt, now, backoff, spec_hash
        self.liveness = liveness or (lambda _cid: None)
        self.startup = startup or (lambda _cid: None)
        self.actions = PodActions()

    def latest(self, c: Mapping[str, Any]) -> RuntimeContainer | None:
        return self.rt.latest(str(c.get("name"))) if self.rt else None

    def start(self, c: Obj, *, init: bool) -> None:
        """Plan a start unless the container is backing off after a crash (rule 6)."""
        name = str(c.get("name"))
        latest = self.latest(c)
        attempt = latest.attempt + 1 if latest else 0
        exited = None
        if self.rt:
            done = [x for x in self.rt.containers if x.name == name and x.state == ContainerState.EXITED]
            exited = max(done, key=lambda x: x.attempt) if done else None
        if exited is None:
            self.actions.containers_to_start.append(ContainerStart(name, init, attempt))
            return
        key = backoff_key(self.pod, c, self.spec_hash(c))
        failed_at = exited.finished_at if exited.finished_at is not None else self.now
        if self.backoff.in_backoff(key, self.now, since=failed_at) is not None:
            delay = go_duration(self.backoff.delay(key) or self.backoff.initial)
            self.actions.backoff_waiting[name] = (
                CRASH_LOOP_BACK_OFF,
                f"back-off {delay} restarting failed container={name} pod={format_pod(self.pod)}",
            )
            return
        self.actions.containers_to_start.append(ContainerStart(name, init, attempt, key, failed_at))

    def kill(self, c: RuntimeContainer, why: str) -> None:
        self.actions.containers_to_kill[c.id] = why

    def changed(self, c: Obj, running: RuntimeContainer) -> bool:
        return bool(running.spec_hash) and running.spec_hash != self.spec_hash(c)

    def init_containers(self) -> bool:
        """Rule 3; returns whether the pod is initialised (regular containers may run)."""
        inits = _containers(self.pod, "initContainers")
        if not inits:
            return True
        initialized = any(
            (s := self.latest(c)) is not None and s.state in (ContainerState.CREATED, ContainerState.RUNNING)
            for c in _containers(self.pod, "containers")
        )
        previously = initialized
        restart_on_failure = _restart_policy(self.pod) != "Never"
        to_start: list[int] = []
        for i in range(len(inits) - 1, -1, -1):
            c = inits[i]
            name = c.get("name")
            status = self.latest(c)
            sidecar = is_restartable_init(c)
            if status is None:
                if previously and sidecar:
                    to_start.append(i)
                continue
            if previously and not sidecar:
                continue
            if status.state == ContainerState.CREATED:
                to_start.append(i)
            elif status.state == ContainerState.RUNNING:
                if sidecar:
                    if c.get("startupProbe") is not None:
                        result = self.startup(status.id)
                        if result is False:
                            self.kill(status, f"Init container {name} failed startup probe")
                            to_start.append(i)
                        if result is not True:
                            previously = True
                            continue
                    if i == len(inits) - 1:
                        initialized = True
                    elif not previously:
                        to_start.append(i + 1)
                    if self.changed(c, status):
                        self.kill(status, f"Init container {name} definition changed")
                        to_start.append(i)
                    elif c.get("livenessProbe") is not None and self.liveness(status.id) is False:
                        self.kill(status, f"Init container {name} failed liveness probe")
                        to_start.append(i)
            elif status.state == ContainerState.EXITED:
                if sidecar:
                    to_start.append(i)
                elif _init_failed(status):
                    if not restart_on_failure:
                        self.actions.kill_pod = True
                        return False
                    to_start.append(i)
                elif i == len(inits) - 1:
                    initialized = True
                else:
                    to_start.append(i + 1)
            else:  # unknown
                if not sidecar and not restart_on_failure:
                    self.actions.kill_pod = True
                    return False
                self.kill(status, f'Init container is in "{status.state.value}" state, try killing it before restart')
                to_start.append(i)
            previously = True
        if not previously:
            to_start.append(0)
        for i in sorted(set(to_start)):
            self.start(inits[i], init=True)
        return initialized

    def regular_containers(self) -> None:
        """Rules 4 and 5."""
        keep = planned = 0
        restart_on_failure = _restart_policy(self.pod) != "Never"
        for c in _containers(self.pod, "containers"):
            name = c.get("name")
            status = self.latest(c)
            if status is None or status.state != ContainerState.RUNNING:
                if should_container_be_restarted(self.pod, c, self.rt):
                    if status is not None and status.state == ContainerState.UNKNOWN:
                        self.kill(status, f'Container is in "{status.state.value}" state, try killing it before restart')
                    self.start(c, init=False)
                    planned += 1
                continue
            restart = restart_on_failure
            if self.changed(c, status):
                message, restart = f"Container {name} definition changed", True
            elif self.liveness(status.id) is False:
                message = f"Container {name} failed liveness probe"
            elif self.startup(status.id) is False:
                message = f"Container {name} failed startup probe"
            else:
                keep += 1
                continue
            if restart:
                message += ", will be restarted"
                self.start(c, init=False)
                planned += 1
            self.kill(status, message)
        if keep == 0 and planned == 0:
            # Nothing regular left to run: stop the pod, and do not let sidecars keep it alive.
            self.actions.kill_pod = True
            self.actions.containers_to_start = []
            self.actions.backoff_waiting = {}


def compute_pod_actions(
    pod: Mapping[str, Any],
    rt: RuntimePod | None,
    *,
    now: float,
    backoff: CrashLoopBackoff,
    spec_hash: Callable[[dict[str, Any]], str] = container_spec_hash,
    liveness: ProbeResult | None = None,
    startup: ProbeResult | None = None,
) -> PodActions:
    """The plan for one pod (see the module docstring). ``liveness``/``startup`` give the latest
    probe result per container id (None while unknown)."""
    p = _Planner(pod, rt, now, backoff, spec_hash, liveness, startup)
    actions = p.actions
    if (pod.get("metadata") or {}).get("deletionTimestamp") or (pod.get("status") or {}).get("phase") in (
        "Succeeded", "Failed"):
        actions.kill_pod = True
        return actions
    create, attempt, sandbox_id = sandbox_changed(pod, rt)
    actions.kill_pod = actions.create_sandbox = create
    actions.sandbox_attempt = attempt
    if create:
        policy = _restart_policy(pod)
        if policy == "Never" and attempt != 0 and rt is not None and rt.containers:
            actions.create_sandbox = False
            return actions
        regular = [
            c for c in _containers(pod, "containers")
            if not (policy == "OnFailure" and (s := p.latest(c)) is not None
                    and s.state != ContainerState.RUNNING and s.exit_code == 0)
        ]
        created = (ContainerState.CREATED, ContainerState.RUNNING, ContainerState.EXITED)
        if not regular and any((s := p.latest(c)) is not None and s.state in created
                               for c in _containers(pod, "containers")):
            actions.create_sandbox = False
            return actions
        inits = _containers(pod, "initContainers")
        if inits:
            p.start(inits[0], init=True)
        else:
            for c in regular:
                p.start(c, init=False)
        _set_next_init(actions)
        return actions
    actions.sandbox_id = sandbox_id
    actions.ephemeral_to_start = ephemeral_to_start(pod, rt)
    initialized = p.init_containers()
    if actions.kill_pod or not initialized:
        if actions.kill_pod:
            actions.ephemeral_to_start = []
        _set_next_init(actions)
        return actions
    p.regular_containers()
    if actions.kill_pod:
        actions.ephemeral_to_start = []
    _set_next_init(actions)
    return actions


def ephemeral_to_start(pod: Mapping[str, Any], rt: RuntimePod | None) -> list[str]:
    """Rule 7: the ephemeral containers the runtime has never had an instance of."""
    return [
        str(c.get("name")) for c in _containers(pod, "ephemeralContainers")
        if isinstance(c, dict) and c.get("name") and (rt is None or rt.latest(str(c.get("name"))) is None)
    ]


def _set_next_init(actions: PodActions) -> None:
    for s in actions.containers_to_start:
        if s.init:
            actions.next_init_container = s.name
            return
