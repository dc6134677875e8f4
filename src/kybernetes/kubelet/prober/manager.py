"""Probe workers: one asyncio task per (pod, container, probe type), and the results they keep.

The agent tells the manager which pods it runs (``add_pod``/``remove_pod``) and what the runtime
says about each container (``update_container``: a new container id on every (re)start, ``None``
when it stops). Workers probe on their own schedule and keep one result per probe; the agent reads
them when it syncs a pod (``readiness``, ``started``, ``liveness_failed``) and is told through
``on_change(pod_uid)`` whenever a probe flips one, so the Ready condition and endpoints follow promptly.

Theory of operation (the upstream kubelet's worker, 1.32, re-stated):

1. A result belongs to one container id. A new id resets it to the type's initial value:
   readiness Failure, liveness Success, startup Unknown; no id (container not running) means
   not ready, not started, not failed.
2. Nothing is probed before ``initialDelaySeconds`` have passed since the container started.
3. While a startup probe exists and has not succeeded, liveness and readiness do not run; once it
   has succeeded it stops until the next container.
4. A probe outcome changes the stored result only after ``successThreshold`` consecutive successes
   or ``failureThreshold`` consecutive failures. A Warning (redirect off-host) counts as success.
   An Unknown outcome (the probe could not run) is retried up to 3 times, then thrown away.
5. A stored liveness or startup Failure puts the worker on hold until a new container id arrives:
   the agent kills and restarts the container (``liveness_failed`` is True meanwhile), probing
   the dying one again would only race with that.
6. While the pod is being deleted, liveness and startup report Success and stop, so a graceful
   shutdown is never turned into a kill.

Timing fields are whole seconds in the API; ``time_scale`` multiplies every one of them so tests
can run a "10 s" period in 50 ms. Upstream waits for the next period tick to notice a new
container or a finished startup probe; here such changes wake the worker at once (still never
probing more often than once per period per container).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet.prober.handlers import ExecSync, Outcome, ProbeResult, run_probe

log = logging.getLogger(__name__)

MAX_PROBE_RETRIES = 3
EVENT_UNHEALTHY = "Unhealthy"        # upstream event reasons
EVENT_PROBE_WARNING = "ProbeWarning"


class ProbeType(enum.Enum):
    LIVENESS = "Liveness"
    READINESS = "Readiness"
    STARTUP = "Startup"

    @property
    def field(self) -> str:
        return self.value[0].lower() + self.value[1:] + "Probe"


INITIAL_RESULT = {ProbeType.READINESS: Outcome.FAILURE, ProbeType.LIVENESS: Outcome.SUCCESS,
                  ProbeType.STARTUP: Outcome.UNKNOWN}


def _positive(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else default


@dataclass(frozen=True)
class ProbeSpec:
    """A probe's timing with the API defaults filled in (the apiserver defaults them too)."""

    probe: dict[str, Any]
    initial_delay: int = 0
    period: int = 10
    timeout: int = 1
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace_period: int | None = None

    @classmethod
    def from_probe(cls, probe: dict[str, Any]) -> ProbeSpec:
        delay = probe.get("initialDelaySeconds")
        grace = probe.get("terminationGracePeriodSeconds")
        return cls(
            probe=probe,
            initial_delay=delay if isinstance(delay, int) and delay > 0 else 0,
            period=_positive(probe.get("periodSeconds"), 10),
            timeout=_positive(probe.get("timeoutSeconds"), 1),
            success_threshold=_positive(probe.get("successThreshold"), 1),
            failure_threshold=_positive(probe.get("failureThreshold"), 3),
            termination_grace_period=grace if isinstance(grace, int) else None,
        )


@dataclass(frozen=True)
class Run:
    """The current streak of equal outcomes."""

    last: Outcome | None = None
    count: int = 0


def record_outcome(run: Run, outcome: Outcome, spec: ProbeSpec) -> tuple[Run, Outcome | None]:
    """Count one outcome into the streak; return the result to store, or None to keep the old one."""
    if outcome is Outcome.UNKNOWN:
        return run, None
    value = Outcome.FAILURE if outcome is Outcome.FAILURE else Outcome.SUCCESS
    count = run.count + 1 if run.last is value else 1
    threshold = spec.failure_threshold if value is Outcome.FAILURE else spec.success_threshold
    return Run(value, count), (value if count >= threshold else None)


@dataclass(frozen=True)
class ProbeFailure:
    """Why the agent should restart a container: the probe that failed and its last output."""

    probe_type: ProbeType
    output: str
    termination_grace_period: int | None   # the probe's own override of the pod's grace period

    def message(self, container_name: str) -> str:
        return f"Container {container_name} failed {self.probe_type.value.lower()} probe, will be restarted"


@dataclass
class _Container:
    spec: dict[str, Any]
    container_id: str | None = None
    started_at: float | None = None

    @property
    def running(self) -> bool:
        return self.container_id is not None and self.started_at is not None


@dataclass
class _Worker:
    uid: str
    name: str
    kind: ProbeType
    spec: ProbeSpec
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    result: Outcome | None = None
    run: Run = Run()
    on_hold: bool = False
    next_due: float = 0.0      # loop time before which this container is not probed again
    last_output: str = ""


@dataclass
class _Pod:
    pod: dict[str, Any]
    containers: dict[str, _Container]
    workers: dict[tuple[str, ProbeType], _Worker] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    pod_ip: str = ""


def _probed_containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """Regular containers and restartable init containers (sidecars): the ones probes apply to."""
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    return [*sidecars, *(spec.get("containers") or [])]


class ProbeManager:
    """Runs the probes of the pods on this node. Call every method from the event loop's thread."""

    def __init__(self, *, exec_sync: ExecSync, on_change: Callable[[str], None],
                 on_event: Callable[[str, str, str, str], None] | None = None,
                 clock: Callable[[], float] = time.time, time_scale: float = 1.0) -> None:
        """``on_change(pod_uid)`` runs (soon, not re-entrantly) after any result of the pod flips.
        ``on_event(pod_uid, container_name, reason, message)`` reports probe failures and warnings
        as upstream's ``Unhealthy``/``ProbeWarning`` events. ``clock`` is wall time, the scale of
        ``started_at``."""
        self._exec_sync = exec_sync
        self._on_change = on_change
        self._on_event = on_event
        self._clock = clock
        self._scale = time_scale
        self._pods: dict[str, _Pod] = {}

    # -- what the agent tells us ----------------------------------------------------------------

    def add_pod(self, pod: dict[str, Any]) -> None:
        """Start workers for the pod's probes; called again, refresh the pod (IP, deletion)."""
        uid = str((pod.get("metadata") or {}).get("uid", ""))
        entry = self._pods.get(uid)
        if entry is not None:
            entry.pod = pod
            self._wake_all(entry)
            return
        containers = {str(c.get("name", "")): _Container(c) for c in _probed_containers(pod)}
        entry = _Pod(pod, containers)
        self._pods[uid] = entry
        loop = asyncio.get_running_loop()
        for name, container in containers.items():
            for kind in ProbeType:
                probe = container.spec.get(kind.field)
                if not isinstance(probe, dict):
                    continue
                worker = _Worker(uid, name, kind, ProbeSpec.from_probe(probe))
                entry.workers[(name, kind)] = worker
                entry.tasks.append(loop.create_task(self._run(worker), name=f"probe {uid}/{name}/{kind.value}"))

    def remove_pod(self, uid: str) -> None:
        """Stop the pod's workers and forget its results."""
        entry = self._pods.pop(uid, None)
        if entry is not None:
            for task in entry.tasks:
                task.cancel()

    def update_container(self, pod_uid: str, container_name: str, container_id: str | None,
                         started_at: float | None) -> None:
        """The runtime's view of one container: its id and start time (Unix seconds), or None
        for either when it is not running. A new id resets the container's results."""
        entry = self._pods.get(pod_uid)
        container = entry.containers.get(container_name) if entry else None
        if entry is None or container is None:
            return
        if container.container_id != container_id:
            for worker in self._workers_of(entry, container_name):
                worker.run = Run()
                worker.on_hold = False
                worker.next_due = 0.0
                # Silent: the agent made this change and syncs the pod anyway.
                self._store(worker, INITIAL_RESULT[worker.kind] if container_id else None, notify=False)
        container.container_id = container_id
        container.started_at = started_at
        for worker in self._workers_of(entry, container_name):
            worker.wake.set()

    def set_pod_ip(self, uid: str, ip: str) -> None:
        """The sandbox IP, for probes without a host, until the pod's status carries it."""
        entry = self._pods.get(uid)
        if entry is not None:
            entry.pod_ip = ip

    async def close(self) -> None:
        """Stop every worker and wait until they have ended."""
        tasks = [t for entry in self._pods.values() for t in entry.tasks]
        self._pods.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- what the agent reads -----------------------------------------------------------------

    def readiness(self, uid: str, name: str) -> bool | None:
        """None: the container has no readiness probe. Otherwise ready only when running, started
        and the readiness result is Success."""
        entry, container, worker = self._lookup(uid, name, ProbeType.READINESS)
        if entry is None or container is None or worker is None:
            return None
        return container.running and self._started(entry, name) and worker.result is Outcome.SUCCESS

    def started(self, uid: str, name: str) -> bool | None:
        """None: the container has no startup probe (it counts as started once running)."""
        entry, container, worker = self._lookup(uid, name, ProbeType.STARTUP)
        if entry is None or container is None or worker is None:
            return None
        return container.running and worker.result is Outcome.SUCCESS

    def liveness_failed(self, uid: str, name: str) -> bool:
        """True once the running container failed its liveness (or startup) probe past the
        threshold: the agent should kill and restart it, then report the new id."""
        return self.probe_failure(uid, name) is not None

    def probe_failure(self, uid: str, name: str) -> ProbeFailure | None:
        """The failed liveness/startup probe behind ``liveness_failed``, for events and grace."""
        entry = self._pods.get(uid)
        container = entry.containers.get(name) if entry else None
        if entry is None or container is None or not container.running:
            return None
        for kind in (ProbeType.STARTUP, ProbeType.LIVENESS):
            worker = entry.workers.get((name, kind))
            if worker is not None and worker.result is Outcome.FAILURE:
                return ProbeFailure(kind, worker.last_output, worker.spec.termination_grace_period)
        return None

    def probe_termination_grace_period(self, uid: str, name: str, probe_type: ProbeType) -> int | None:
        """A probe's ``terminationGracePeriodSeconds``, exposed as is (the manager ignores it)."""
        _entry, _container, worker = self._lookup(uid, name, probe_type)
        return worker.spec.termination_grace_period if worker else None

    def active_tasks(self) -> int:
        """Worker tasks still running, for tests and metrics."""
        return sum(1 for entry in self._pods.values() for t in entry.tasks if not t.done())

    # -- internals ------------------------------------------------------------------------------

    def _lookup(self, uid: str, name: str, kind: ProbeType
                ) -> tuple[_Pod | None, _Container | None, _Worker | None]:
        entry = self._pods.get(uid)
        if entry is None:
            return None, None, None
        return entry, entry.containers.get(name), entry.workers.get((name, kind))

    @staticmethod
    def _workers_of(entry: _Pod, name: str) -> list[_Worker]:
        return [w for (n, _k), w in entry.workers.items() if n == name]

    def _wake_all(self, entry: _Pod) -> None:
        for worker in entry.workers.values():
            worker.wake.set()

    def _started(self, entry: _Pod, name: str) -> bool:
        startup = entry.workers.get((name, ProbeType.STARTUP))
        return startup is None or startup.result is Outcome.SUCCESS

    def _store(self, worker: _Worker, value: Outcome | None, *, notify: bool = True) -> None:
        if worker.result is value:
            return
        worker.result = value
        if notify:
            asyncio.get_running_loop().call_soon(self._notify, worker.uid)
        if worker.kind is ProbeType.STARTUP and value is Outcome.SUCCESS:
            entry = self._pods.get(worker.uid)
            if entry is not None:   # liveness and readiness were waiting for this
                for other in self._workers_of(entry, worker.name):
                    other.wake.set()

    def _notify(self, uid: str) -> None:
        if uid in self._pods:
            try:
                self._on_change(uid)
            except Exception:
                log.exception("probe on_change callback failed for pod %s", uid)

    def _event(self, worker: _Worker, reason: str, message: str) -> None:
        if self._on_event is not None:
            try:
                self._on_event(worker.uid, worker.name, reason, message)
            except Exception:
                log.exception("probe event callback failed")

    async def _run(self, worker: _Worker) -> None:
        while True:
            worker.wake.clear()
            try:
                delay = await self._tick(worker)
            except Exception:
                log.exception("probe worker %s/%s/%s failed", worker.uid, worker.name, worker.kind.value)
                delay = worker.spec.period * self._scale
            if delay is None:
                await worker.wake.wait()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(worker.wake.wait(), delay)

    async def _tick(self, worker: _Worker) -> float | None:
        """Probe if due; return how long to sleep before looking again (None: until woken)."""
        entry = self._pods.get(worker.uid)
        if entry is None:
            return None
        container = entry.containers[worker.name]
        if not container.running or worker.on_hold:
            return None
        assert container.started_at is not None
        if (entry.pod.get("metadata") or {}).get("deletionTimestamp") and \
                worker.kind in (ProbeType.LIVENESS, ProbeType.STARTUP):
            self._store(worker, Outcome.SUCCESS)
            return None
        delay_left = worker.spec.initial_delay * self._scale - (self._clock() - container.started_at)
        if delay_left > 0:
            return delay_left
        started = self._started(entry, worker.name)
        if (worker.kind is ProbeType.STARTUP) == started:
            return None   # startup is done, or the others wait for it
        loop = asyncio.get_running_loop()
        if loop.time() < worker.next_due:
            return worker.next_due - loop.time()
        worker.next_due = loop.time() + worker.spec.period * self._scale
        container_id = container.container_id
        assert container_id is not None
        result = await self._probe(worker, entry, container, container_id)
        if self._pods.get(worker.uid) is not entry or container.container_id != container_id:
            return 0.0   # the container changed while we probed: this result is stale
        self._count(worker, result)
        return max(worker.next_due - loop.time(), 0.0)

    async def _probe(self, worker: _Worker, entry: _Pod, container: _Container, container_id: str) -> ProbeResult:
        status = entry.pod.get("status") or {}
        pod_ip = str(status.get("podIP") or entry.pod_ip)
        result = ProbeResult(Outcome.UNKNOWN)
        for _attempt in range(MAX_PROBE_RETRIES):
            result = await run_probe(worker.spec.probe, container=container.spec, container_id=container_id,
                                     pod_ip=pod_ip, exec_sync=self._exec_sync,
                                     timeout=worker.spec.timeout * self._scale)
            if result.outcome is not Outcome.UNKNOWN:
                break
        return result

    def _count(self, worker: _Worker, result: ProbeResult) -> None:
        kind = worker.kind.value
        if result.outcome is Outcome.FAILURE:
            worker.last_output = result.output
            self._event(worker, EVENT_UNHEALTHY, f"{kind} probe failed: {result.output}")
        elif result.outcome is Outcome.WARNING:
            self._event(worker, EVENT_PROBE_WARNING, f"{kind} probe warning: {result.output}")
        elif result.outcome is Outcome.UNKNOWN:
            self._event(worker, EVENT_UNHEALTHY, f"{kind} probe errored: {result.output}")
        worker.run, stored = record_outcome(worker.run, result.outcome, worker.spec)
        if stored is None:
            return
        self._store(worker, stored)
        if stored is Outcome.FAILURE and worker.kind in (ProbeType.LIVENESS, ProbeType.STARTUP):
            worker.on_hold = True
            worker.run = Run(worker.run.last, 0)
