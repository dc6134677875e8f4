"""The kubelet's events: texts, references, which events a sync plan announces, node conditions.

Pure pieces are table-driven; ``KubeletEvents`` is driven with a list-backed recorder and a fake
clock; one test writes through the real ``EventRecorder`` to check what lands in the API.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kybernetes.client.events import EventRecorder
from kybernetes.kubelet import events as ev
from kybernetes.kubelet.actions import PodActions
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)

POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "u-1", "resourceVersion": "7"},
    "spec": {
        "containers": [{"name": "app"}, {"name": "side"}],
        "initContainers": [{"name": "setup"}],
        "ephemeralContainers": [{"name": "debugger"}],
    },
}


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], str, str, str]] = []

    def event(self, obj: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((dict(obj), type_, reason, message))

    def reasons(self) -> list[tuple[str, str]]:
        return [(r, m) for _o, _t, r, m in self.events]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("seconds", "want"),
    [
        pytest.param(0, "0s", id="zero"),
        pytest.param(0.0004, "0s", id="below-a-millisecond"),
        pytest.param(0.313, "313ms", id="milliseconds"),
        pytest.param(0.7969, "796ms", id="truncated-not-rounded"),
        pytest.param(1, "1s", id="one-second"),
        pytest.param(1.594, "1.594s", id="fractional-seconds"),
        pytest.param(7.2, "7.2s", id="trailing-zeros-trimmed"),
        pytest.param(62.5, "1m2.5s", id="minutes"),
        pytest.param(3600.001, "1h0m0.001s", id="hours"),
    ],
)
def test_go_duration(seconds: float, want: str) -> None:
    assert ev.go_duration(seconds) == want


@pytest.mark.parametrize(
    ("got", "want"),
    [
        pytest.param(ev.pulling_message("busybox:1.36"), 'Pulling image "busybox:1.36"', id="pulling"),
        pytest.param(
            ev.pulled_message("busybox", 1.661, 1.6619, 4269694),
            'Successfully pulled image "busybox" in 1.661s (1.661s including waiting). Image size: 4269694 bytes.',
            id="pulled",
        ),
        pytest.param(
            ev.present_message("busybox:1.36"),
            'Container image "busybox:1.36" already present on machine',
            id="present",
        ),
        pytest.param(
            ev.pull_failed_message("x:1", "rpc error: code = NotFound desc = nope"),
            'Failed to pull image "x:1": rpc error: code = NotFound desc = nope',
            id="pull-failed",
        ),
        pytest.param(ev.pull_backoff_message("x:1"), 'Back-off pulling image "x:1"', id="pull-back-off"),
        pytest.param(
            ev.never_pull_message("x:1"),
            'Container image "x:1" is not present with pull policy of Never',
            id="never-pull",
        ),
        pytest.param(
            ev.crash_backoff_message(POD, "app"),
            "Back-off restarting failed container app in pod web_ns(u-1)",
            id="crash-back-off",
        ),
        pytest.param(ev.stopping_message("app"), "Stopping container app", id="stopping"),
        pytest.param(
            ev.probe_kill_message(POD, "app", "Liveness"),
            "Container app failed liveness probe, will be restarted",
            id="liveness-restart",
        ),
        pytest.param(
            ev.probe_kill_message({"spec": {"restartPolicy": "Never"}}, "app", "Startup"),
            "Container app failed startup probe",
            id="startup-never",
        ),
        pytest.param(
            ev.node_status_message("n1", "NodeReady"), "Node n1 status is now: NodeReady", id="node-status"
        ),
    ],
)
def test_messages(got: str, want: str) -> None:
    assert got == want


@pytest.mark.parametrize(
    ("name", "want"),
    [
        pytest.param("app", "spec.containers{app}", id="container"),
        pytest.param("setup", "spec.initContainers{setup}", id="init"),
        pytest.param("debugger", "spec.ephemeralContainers{debugger}", id="ephemeral"),
        pytest.param("ghost", "spec.containers{ghost}", id="unknown-defaults-to-containers"),
    ],
)
def test_container_field_path(name: str, want: str) -> None:
    assert ev.container_field_path(POD, name) == want


def test_references() -> None:
    assert ev.pod_ref(POD) == {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": "ns",
        "name": "web",
        "uid": "u-1",
        "resourceVersion": "7",
    }
    assert ev.container_ref(POD, "setup")["fieldPath"] == "spec.initContainers{setup}"
    assert ev.node_ref("n1") == {
        "kind": "Node",
        "name": "n1",
        "uid": "n1",
    }  # the kubelet's node UID is its name


@pytest.mark.parametrize(
    ("reason", "message", "want"),
    [
        pytest.param("ErrImagePull", "rpc error: ...", "Error: ErrImagePull", id="pull-error-names-reason"),
        pytest.param(
            "ImagePullBackOff", 'Back-off pulling image "x"', "Error: ImagePullBackOff", id="pull-back-off"
        ),
        pytest.param("ErrImageNeverPull", "...", "Error: ErrImageNeverPull", id="never-pull"),
        pytest.param(
            "CreateContainerConfigError",
            'configmap "cfg" not found',
            'Error: configmap "cfg" not found',
            id="config-error-names-cause",
        ),
        pytest.param("RunContainerError", "exec: not found", "Error: exec: not found", id="run-error"),
    ],
)
def test_start_failure_event(reason: str, message: str, want: str) -> None:
    assert ev.start_failure_event("app", reason, message) == ev.PlannedEvent("Warning", "Failed", want, "app")


def test_post_start_failure_has_its_own_events() -> None:
    assert ev.start_failure_event("app", "PostStartHookError", "boom") is None


def container(cid: str, name: str, state: ContainerState, attempt: int = 0) -> RuntimeContainer:
    return RuntimeContainer(id=cid, name=name, attempt=attempt, state=state, sandbox_id="s1")


def runtime(*containers: RuntimeContainer, sandboxes: int = 1) -> RuntimePod:
    sbs = [RuntimeSandbox(f"s{i}", SandboxState.NOTREADY, i, 0.0) for i in range(sandboxes)]
    return RuntimePod("u-1", "web", "ns", sandboxes=sbs, containers=list(containers))


KILLING_APP = ev.PlannedEvent("Normal", "Killing", "Stopping container app", "app")
BACKOFF_APP = ev.PlannedEvent(
    "Warning", "BackOff", "Back-off restarting failed container app in pod web_ns(u-1)", "app"
)
SANDBOX_CHANGED = ev.PlannedEvent(
    "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created."
)


@pytest.mark.parametrize(
    ("rt", "actions", "want"),
    [
        pytest.param(None, PodActions(kill_pod=True, create_sandbox=True), [], id="first-sandbox-is-silent"),
        pytest.param(
            runtime(
                container("c1", "app", ContainerState.RUNNING), container("c0", "side", ContainerState.EXITED)
            ),
            PodActions(kill_pod=True, create_sandbox=True, sandbox_attempt=1),
            [SANDBOX_CHANGED, KILLING_APP],
            id="sandbox-changed-kills-running-only",
        ),
        pytest.param(
            runtime(container("c1", "app", ContainerState.RUNNING)),
            PodActions(kill_pod=True),
            [KILLING_APP],
            id="pod-kill-without-new-sandbox",
        ),
        pytest.param(
            runtime(container("c1", "app", ContainerState.RUNNING)),
            PodActions(containers_to_kill={"c1": "Container app definition changed, will be restarted"}),
            [
                ev.PlannedEvent(
                    "Normal", "Killing", "Container app definition changed, will be restarted", "app"
                )
            ],
            id="container-kill-with-planner-reason",
        ),
        pytest.param(
            runtime(container("c1", "app", ContainerState.EXITED)),
            PodActions(backoff_waiting={"app": ("CrashLoopBackOff", "back-off 10s ...")}),
            [BACKOFF_APP],
            id="crash-loop-back-off",
        ),
        pytest.param(
            runtime(), PodActions(containers_to_kill={"gone": "x"}), [], id="unknown-container-id-ignored"
        ),
    ],
)
def test_sync_plan_events(rt: RuntimePod | None, actions: PodActions, want: list[ev.PlannedEvent]) -> None:
    assert ev.sync_plan_events(POD, rt, actions) == want


def cond(kind: str, status: str) -> dict[str, str]:
    return {"type": kind, "status": status}


FINE = [
    cond("MemoryPressure", "False"),
    cond("DiskPressure", "False"),
    cond("PIDPressure", "False"),
    cond("Ready", "True"),
]


@pytest.mark.parametrize(
    ("old", "new", "want"),
    [
        pytest.param(
            None,
            FINE,
            ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"],
            id="registration-announces-every-condition",
        ),
        pytest.param(FINE, FINE, [], id="heartbeat-is-silent"),
        pytest.param(
            FINE, [cond("MemoryPressure", "True"), *FINE[1:]], ["NodeHasInsufficientMemory"], id="pressure"
        ),
        pytest.param(FINE, [*FINE[:3], cond("Ready", "False")], ["NodeNotReady"], id="not-ready"),
        pytest.param([*FINE[:3], cond("Ready", "Unknown")], FINE, ["NodeReady"], id="back-from-unknown"),
        pytest.param(
            [],
            [cond("DiskPressure", "True"), cond("PIDPressure", "True"), cond("Custom", "True")],
            ["NodeHasDiskPressure", "NodeHasInsufficientPID"],
            id="other-types-ignored",
        ),
    ],
)
def test_node_condition_events(
    old: list[dict[str, str]] | None, new: list[dict[str, str]], want: list[str]
) -> None:
    got = ev.node_condition_events("n1", old, new)
    assert [r for _t, r, _m in got] == want
    assert all(t == "Normal" and m == f"Node n1 status is now: {r}" for t, r, m in got)


def test_emitter_refs_and_throttle() -> None:
    sink, clock = Sink(), Clock()
    events = ev.KubeletEvents(sink, "n1", clock=clock)
    events.container(POD, "setup", "Normal", "Started", "Started container setup")
    events.node("Normal", "Starting", "Starting kubelet.")
    assert sink.events[0][0]["fieldPath"] == "spec.initContainers{setup}"
    assert sink.events[1][0] == {"kind": "Node", "name": "n1", "uid": "n1"}
    back_off = [BACKOFF_APP]
    events.planned(POD, back_off)
    events.planned(POD, back_off)  # a sync 2 s later: upstream's worker would not have retried yet
    clock.now += ev.REPEAT_INTERVAL
    events.planned(POD, back_off)
    assert [r for r, _m in sink.reasons()].count("BackOff") == 2
    events.planned(POD, [KILLING_APP, KILLING_APP])  # not a retry loop: every kill is told
    assert [r for r, _m in sink.reasons()].count("Killing") == 2
    events.forget_pod("u-1")
    events.planned(POD, back_off)
    assert [r for r, _m in sink.reasons()].count("BackOff") == 3


def test_emitter_never_raises_and_may_have_no_sink() -> None:
    class Broken:
        def event(self, *_: Any) -> None:
            raise RuntimeError("no loop")

    ev.KubeletEvents(Broken(), "n1").node("Normal", "Starting", "Starting kubelet.")
    ev.KubeletEvents(None).pod(POD, "Warning", "FailedMount", "x")


class FakeEventsAPI:
    """Enough of APIClient for EventRecorder: create and patch of core/v1 Events."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []

    async def create(self, _res: Any, body: dict[str, Any], *, namespace: str) -> dict[str, Any]:
        self.calls.append("create")
        self.stored[body["metadata"]["name"]] = body
        return body

    async def patch(
        self, _res: Any, name: str, patch: dict[str, Any], *, namespace: str, patch_type: str = ""
    ) -> dict[str, Any]:
        self.calls.append("patch")
        self.stored[name] = {**self.stored[name], **patch}
        return self.stored[name]


async def test_repeats_are_counted_in_one_core_v1_event() -> None:
    api = FakeEventsAPI()
    recorder = EventRecorder(api, "kubelet", host="n1")  # type: ignore[arg-type]
    clock = Clock()
    events = ev.KubeletEvents(recorder, "n1", clock=clock)
    for _ in range(3):
        events.planned(POD, [BACKOFF_APP])
        clock.now += ev.REPEAT_INTERVAL
    await recorder.flush()
    await recorder.close()
    assert api.calls == ["create", "patch", "patch"]
    (stored,) = api.stored.values()
    assert stored["count"] == 3 and stored["reason"] == "BackOff" and stored["type"] == "Warning"
    assert stored["source"] == {"component": "kubelet", "host": "n1"}
    assert stored["reportingComponent"] == "kubelet" and stored["reportingInstance"] == "n1"
    assert stored["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert stored["metadata"]["namespace"] == "ns"


async def test_slow_api_never_blocks_the_caller() -> None:
    class SlowAPI(FakeEventsAPI):
        async def create(self, _res: Any, body: dict[str, Any], *, namespace: str) -> dict[str, Any]:
            await asyncio.sleep(3600)
            return body

    recorder = EventRecorder(SlowAPI(), "kubelet", host="n1")  # type: ignore[arg-type]
    events = ev.KubeletEvents(recorder, "n1")
    loop = asyncio.get_running_loop()
    began = loop.time()
    for i in range(1500):  # more than the recorder's queue holds: the rest are dropped and counted
        events.pod(POD, "Normal", "Pulled", f"m{i}")
    assert loop.time() - began < 1.0
    assert recorder.dropped > 0
    task = recorder._task
    assert task is not None
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
