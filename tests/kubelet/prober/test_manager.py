"""ProbeManager: thresholds, initial delay, startup gating, restarts, on_change and cancellation.

Probes here are exec probes answered by a scripted fake ExecSync, which also snapshots what the
manager reports at the moment each probe starts: the snapshot before probe i is the state after
i-1 results, so threshold tests do not depend on timing. ``time_scale`` makes a 1 s period 40 ms.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from kybernetes.kubelet.prober.handlers import Outcome
from kybernetes.kubelet.prober.manager import ProbeManager, ProbeSpec, ProbeType, Run, record_outcome

from .servers import HTTP_PORT, http_servers

SCALE = 0.04
UID = "pod-1"


@dataclass
class Call:
    kind: str
    container_id: str
    at: float
    readiness: bool | None
    started: bool | None
    liveness_failed: bool


@dataclass
class ScriptedExec:
    """Exit codes per probe kind (the command's 2nd word); the last code repeats forever."""

    scripts: dict[str, list[int]]
    calls: list[Call] = field(default_factory=list)
    manager: ProbeManager | None = None

    async def __call__(self, container_id: str, cmd: list[str], timeout: float) -> tuple[int, bytes, bytes]:
        kind = cmd[1]
        m = self.manager
        assert m is not None
        self.calls.append(Call(kind, container_id, time.monotonic(), m.readiness(UID, "app"),
                               m.started(UID, "app"), m.liveness_failed(UID, "app")))
        script = self.scripts[kind]
        code = script.pop(0) if len(script) > 1 else script[0]
        return code, f"{kind} says {code}".encode(), b""

    def of(self, kind: str) -> list[Call]:
        return [c for c in self.calls if c.kind == kind]


def exec_probe(kind: str, **timing: int) -> dict[str, Any]:
    return {"exec": {"command": ["check", kind]}, "periodSeconds": 1, **timing}


def pod(**probes: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"uid": UID, "name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "app", **probes}, {"name": "plain"}]},
            "status": {"podIP": "127.0.0.1"}}


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    manager: ProbeManager
    fake: ScriptedExec
    changes: list[str]
    events: list[tuple[str, str, str, str]]

    def start(self, container_id: str = "c1", started_at: float | None = None) -> None:
        self.manager.update_container(UID, "app", container_id, time.time() if started_at is None else started_at)


@pytest.fixture
async def make() -> AsyncIterator[Callable[..., Harness]]:
    managers: list[ProbeManager] = []

    def build(scripts: dict[str, list[int]], the_pod: dict[str, Any]) -> Harness:
        fake = ScriptedExec(scripts)
        changes: list[str] = []
        events: list[tuple[str, str, str, str]] = []
        manager = ProbeManager(exec_sync=fake, on_change=changes.append,
                               on_event=lambda *e: events.append(e), time_scale=SCALE)
        fake.manager = manager
        managers.append(manager)
        manager.add_pod(the_pod)
        return Harness(manager, fake, changes, events)

    yield build
    for m in managers:
        await m.close()


# -- pure parts -------------------------------------------------------------------------------

SPEC = ProbeSpec(probe={}, success_threshold=2, failure_threshold=3)
S, F, U, W = Outcome.SUCCESS, Outcome.FAILURE, Outcome.UNKNOWN, Outcome.WARNING
RECORD_CASES = [
    ("first-failure-below-threshold", Run(), F, Run(F, 1), None),
    ("third-failure-stores", Run(F, 2), F, Run(F, 3), F),
    ("failures-past-threshold-keep-storing", Run(F, 5), F, Run(F, 6), F),
    ("success-breaks-failure-run", Run(F, 2), S, Run(S, 1), None),
    ("second-success-stores", Run(S, 1), S, Run(S, 2), S),
    ("warning-counts-as-success", Run(S, 1), W, Run(S, 2), S),
    ("unknown-is-thrown-away", Run(F, 2), U, Run(F, 2), None),
]


@pytest.mark.parametrize(("run", "outcome", "new_run", "stored"), [c[1:] for c in RECORD_CASES],
                         ids=[c[0] for c in RECORD_CASES])
def test_record_outcome(run: Run, outcome: Outcome, new_run: Run, stored: Outcome | None) -> None:
    assert record_outcome(run, outcome, SPEC) == (new_run, stored)


SPEC_CASES = [
    ("defaults", {}, ProbeSpec(probe={})),
    ("given", {"initialDelaySeconds": 5, "periodSeconds": 2, "timeoutSeconds": 3, "successThreshold": 2,
               "failureThreshold": 4, "terminationGracePeriodSeconds": 7},
     ProbeSpec(probe={}, initial_delay=5, period=2, timeout=3, success_threshold=2, failure_threshold=4,
               termination_grace_period=7)),
    ("zeros-mean-defaults", {"periodSeconds": 0, "timeoutSeconds": 0, "failureThreshold": 0}, ProbeSpec(probe={})),
]


@pytest.mark.parametrize(("probe", "expected"), [c[1:] for c in SPEC_CASES], ids=[c[0] for c in SPEC_CASES])
def test_probe_spec_defaults(probe: dict[str, Any], expected: ProbeSpec) -> None:
    spec = ProbeSpec.from_probe(probe)
    assert spec == ProbeSpec(**{**expected.__dict__, "probe": probe})


def test_probe_type_fields() -> None:
    assert [k.field for k in ProbeType] == ["livenessProbe", "readinessProbe", "startupProbe"]


# -- readiness --------------------------------------------------------------------------------

async def test_no_probes_means_none(make: Callable[..., Harness]) -> None:
    h = make({}, pod())
    h.start()
    assert h.manager.readiness(UID, "plain") is None
    assert h.manager.started(UID, "plain") is None
    assert h.manager.liveness_failed(UID, "plain") is False
    assert h.manager.readiness("other-pod", "app") is None
    assert h.manager.active_tasks() == 0


async def test_readiness_thresholds_and_on_change(make: Callable[..., Harness]) -> None:
    h = make({"ready": [0, 1, 1, 1, 0]}, pod(readinessProbe=exec_probe("ready", failureThreshold=3)))
    assert h.manager.readiness(UID, "app") is False     # has a probe, no container yet
    h.start()
    await until(lambda: len(h.fake.of("ready")) >= 6)
    assert [c.readiness for c in h.fake.of("ready")[:6]] == [False, True, True, True, False, True]
    assert h.changes[:3] == [UID, UID, UID]             # True, False, True again
    assert ("pod-1", "app", "Unhealthy", "Readiness probe failed: ready says 1") in h.events


async def test_readiness_success_threshold(make: Callable[..., Harness]) -> None:
    h = make({"ready": [0]}, pod(readinessProbe=exec_probe("ready", successThreshold=2)))
    h.start()
    await until(lambda: len(h.fake.of("ready")) >= 3)
    assert [c.readiness for c in h.fake.of("ready")[:3]] == [False, False, True]


async def test_period_is_respected(make: Callable[..., Harness]) -> None:
    h = make({"ready": [0]}, pod(readinessProbe=exec_probe("ready", periodSeconds=5)))   # 200 ms
    h.start()
    await until(lambda: len(h.fake.of("ready")) >= 3)
    times = [c.at for c in h.fake.of("ready")]
    assert all(b - a >= 5 * SCALE * 0.9 for a, b in itertools.pairwise(times))


async def test_container_stop_makes_unready_and_stops_probing(make: Callable[..., Harness]) -> None:
    h = make({"ready": [0]}, pod(readinessProbe=exec_probe("ready")))
    h.start()
    await until(lambda: h.manager.readiness(UID, "app") is True)
    h.manager.update_container(UID, "app", None, None)
    assert h.manager.readiness(UID, "app") is False
    count = len(h.fake.calls)
    await asyncio.sleep(5 * SCALE)
    assert len(h.fake.calls) == count


# -- initial delay ----------------------------------------------------------------------------

async def test_initial_delay_counts_from_container_start(make: Callable[..., Harness]) -> None:
    h = make({"ready": [0]}, pod(readinessProbe=exec_probe("ready", initialDelaySeconds=10)))   # 400 ms
    started = time.time()
    t0 = time.monotonic()
    h.start(started_at=started)
    await until(lambda: len(h.fake.calls) >= 1)
    assert h.fake.calls[0].at - t0 >= 10 * SCALE * 0.95


async def test_initial_delay_already_passed(make: Callable[..., Harness]) -> None:
    h = make({"ready": [0]}, pod(readinessProbe=exec_probe("ready", initialDelaySeconds=10)))
    t0 = time.monotonic()
    h.start(started_at=time.time() - 60)   # e.g. the agent restarted long after the container
    await until(lambda: len(h.fake.calls) >= 1)
    assert h.fake.calls[0].at - t0 < 10 * SCALE


# -- liveness ---------------------------------------------------------------------------------

async def test_liveness_failure_holds_until_new_container(make: Callable[..., Harness]) -> None:
    h = make({"live": [1, 1, 1, 0]}, pod(livenessProbe=exec_probe("live", failureThreshold=3,
                                                                  terminationGracePeriodSeconds=4)))
    h.start("c1")
    assert h.manager.liveness_failed(UID, "app") is False
    await until(lambda: h.manager.liveness_failed(UID, "app"))
    assert [c.liveness_failed for c in h.fake.calls] == [False, False, False]
    failure = h.manager.probe_failure(UID, "app")
    assert failure is not None and failure.probe_type is ProbeType.LIVENESS
    assert failure.output == "live says 1" and failure.termination_grace_period == 4
    assert failure.message("app") == "Container app failed liveness probe, will be restarted"
    assert h.changes == [UID]
    await asyncio.sleep(5 * SCALE)
    assert len(h.fake.calls) == 3                      # on hold: the dying container is left alone
    h.start("c2")                                      # the agent restarted it
    assert h.manager.liveness_failed(UID, "app") is False
    await until(lambda: len(h.fake.calls) >= 5)
    assert {c.container_id for c in h.fake.calls[3:]} == {"c2"}
    assert h.manager.liveness_failed(UID, "app") is False


# -- startup ----------------------------------------------------------------------------------

async def test_startup_gates_liveness_and_readiness(make: Callable[..., Harness]) -> None:
    h = make({"startup": [1, 1, 0], "live": [0], "ready": [0]},
             pod(startupProbe=exec_probe("startup", failureThreshold=5),
                 livenessProbe=exec_probe("live"), readinessProbe=exec_probe("ready")))
    h.start()
    assert h.manager.started(UID, "app") is False
    await until(lambda: h.manager.readiness(UID, "app") is True)
    startup_calls = h.fake.of("startup")
    assert len(startup_calls) == 3                     # stops once it succeeded
    assert [c.started for c in startup_calls] == [False, False, False]
    success_at = startup_calls[-1].at
    assert all(c.at > success_at for c in h.fake.of("live") + h.fake.of("ready"))
    assert all(c.started for c in h.fake.of("live") + h.fake.of("ready"))
    assert h.manager.started(UID, "app") is True
    await asyncio.sleep(4 * SCALE)
    assert len(h.fake.of("startup")) == 3
    h.start("c2")                                      # a new container starts over
    assert h.manager.started(UID, "app") is False
    assert h.manager.readiness(UID, "app") is False
    await until(lambda: len(h.fake.of("startup")) == 4)


async def test_startup_failure_asks_for_restart(make: Callable[..., Harness]) -> None:
    h = make({"startup": [1], "live": [0]},
             pod(startupProbe=exec_probe("startup", failureThreshold=2), livenessProbe=exec_probe("live")))
    h.start()
    await until(lambda: h.manager.liveness_failed(UID, "app"))
    failure = h.manager.probe_failure(UID, "app")
    assert failure is not None and failure.probe_type is ProbeType.STARTUP
    assert h.fake.of("live") == []
    assert h.manager.started(UID, "app") is False


# -- pod lifecycle ----------------------------------------------------------------------------

async def test_deleting_pod_quiets_liveness(make: Callable[..., Harness]) -> None:
    the_pod = pod(livenessProbe=exec_probe("live", failureThreshold=1), readinessProbe=exec_probe("ready"))
    h = make({"live": [0], "ready": [0]}, the_pod)
    h.start()
    await until(lambda: len(h.fake.of("live")) >= 1)
    h.fake.scripts["live"] = [1]
    h.manager.add_pod({**the_pod, "metadata": {**the_pod["metadata"], "deletionTimestamp": "2025-01-01T00:00:00Z"}})
    await asyncio.sleep(0)
    count = len(h.fake.of("live"))
    await asyncio.sleep(4 * SCALE)
    assert len(h.fake.of("live")) == count
    assert h.manager.liveness_failed(UID, "app") is False
    assert len(h.fake.of("ready")) > 1                 # readiness goes on during shutdown


async def test_remove_pod_cancels_workers(make: Callable[..., Harness]) -> None:
    h = make({"live": [0], "ready": [0]}, pod(livenessProbe=exec_probe("live"), readinessProbe=exec_probe("ready")))
    assert h.manager.active_tasks() == 2
    h.start()
    await until(lambda: len(h.fake.calls) >= 2)
    h.manager.remove_pod(UID)
    await asyncio.sleep(0)
    assert h.manager.active_tasks() == 0
    count = len(h.fake.calls)
    await asyncio.sleep(4 * SCALE)
    assert len(h.fake.calls) == count
    assert h.manager.readiness(UID, "app") is None


async def test_sidecar_init_container_is_probed(make: Callable[..., Harness]) -> None:
    the_pod = pod()
    the_pod["spec"]["initContainers"] = [
        {"name": "side", "restartPolicy": "Always", "readinessProbe": exec_probe("ready")},
        {"name": "setup", "readinessProbe": exec_probe("never")}]
    h = make({"ready": [0]}, the_pod)
    assert h.manager.active_tasks() == 1
    h.manager.update_container(UID, "side", "s1", time.time())
    await until(lambda: h.manager.readiness(UID, "side") is True)
    assert h.manager.readiness(UID, "setup") is None


async def test_http_readiness_uses_pod_ip() -> None:
    changes: list[str] = []
    the_pod = pod(readinessProbe={"httpGet": {"path": "/ok", "port": HTTP_PORT}, "periodSeconds": 1})
    the_pod["status"] = {}
    async with http_servers():
        manager = ProbeManager(exec_sync=ScriptedExec({}), on_change=changes.append, time_scale=SCALE)
        try:
            manager.add_pod(the_pod)
            manager.set_pod_ip(UID, "127.0.0.1")
            manager.update_container(UID, "app", "c1", time.time())
            await until(lambda: manager.readiness(UID, "app") is True)
            assert changes == [UID]
        finally:
            await manager.close()
