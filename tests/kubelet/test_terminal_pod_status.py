"""A pod whose phase is already final (evicted, failed) still gets its container states reported.

The eviction marks the pod Failed/Evicted and kills its containers; the sync of a terminal pod
then posts the status once more so `kubectl get pod -o yaml` shows every container terminated
with its real exit code, or ContainerStatusUnknown when the runtime lost it, while the phase,
reason and message the eviction set stay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet.podsync import PodSyncer, SyncContext, all_terminated
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)
from kybernetes.kubelet.status import generate_pod_status, rfc3339

T0 = 1_700_000_000.0
R, X = ContainerState.RUNNING, ContainerState.EXITED
RUNNING_STATE = {"running": {"startedAt": rfc3339(T0)}}
EVICTED = {
    "phase": "Failed",
    "reason": "Evicted",
    "message": "The node was low on resource: memory. ",
    "containerStatuses": [
        {
            "name": "a",
            "state": RUNNING_STATE,
            "lastState": {},
            "ready": True,
            "restartCount": 0,
            "image": "img-a",
            "imageID": "sha256:a",
            "containerID": "containerd://a-0",
        }
    ],
}


def make_pod(
    status: dict[str, Any], containers: tuple[str, ...] = ("a",), policy: str = "Always"
) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "u1"},
        "spec": {
            "restartPolicy": policy,
            "containers": [{"name": n, "image": f"img-{n}"} for n in containers],
        },
        "status": status,
    }


def ctr(name: str, state: ContainerState, exit_code: int | None = None) -> RuntimeContainer:
    return RuntimeContainer(
        id=f"{name}-0",
        name=name,
        attempt=0,
        state=state,
        sandbox_id="sb1",
        image=f"img-{name}",
        image_ref=f"sha256:{name}",
        created_at=T0,
        started_at=T0 + 1,
        finished_at=T0 + 5 if state == X else None,
        exit_code=exit_code if state == X else None,
    )


def runtime_pod(*containers: RuntimeContainer, sandbox: SandboxState = SandboxState.NOTREADY) -> RuntimePod:
    sb = RuntimeSandbox(id="sb1", state=sandbox, attempt=0, created_at=T0, ip="10.164.0.5")
    return RuntimePod(uid="u1", name="web", namespace="default", sandboxes=[sb], containers=list(containers))


def gen(pod: dict[str, Any], rt: RuntimePod | None, *, terminal: bool = True) -> dict[str, Any]:
    return generate_pod_status(
        pod,
        rt,
        now=T0 + 60,
        probe_ready=lambda _: None,
        probe_started=lambda _: None,
        waiting={},
        host_ip="192.0.2.1",
        host_ips=["192.0.2.1"],
        pod_is_terminal=terminal,
    )


def state(status: dict[str, Any], name: str = "a") -> dict[str, Any]:
    return dict(next(s for s in status["containerStatuses"] if s["name"] == name)["state"])


@pytest.mark.parametrize(
    ("rt", "want_state"),
    [
        pytest.param(
            runtime_pod(ctr("a", X, 137)),
            {
                "terminated": {
                    "exitCode": 137,
                    "reason": "Error",
                    "startedAt": rfc3339(T0 + 1),
                    "finishedAt": rfc3339(T0 + 5),
                    "containerID": "containerd://a-0",
                }
            },
            id="killed-real-exit-code",
        ),
        pytest.param(
            runtime_pod(ctr("a", X, 0)),
            {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": rfc3339(T0 + 1),
                    "finishedAt": rfc3339(T0 + 5),
                    "containerID": "containerd://a-0",
                }
            },
            id="exited-zero-phase-stays-failed",
        ),
        pytest.param(
            None,
            {
                "terminated": {
                    "exitCode": 137,
                    "reason": "ContainerStatusUnknown",
                    "startedAt": None,
                    "finishedAt": None,
                    "message": "The container could not be located when the pod was terminated",
                }
            },
            id="runtime-lost-it",
        ),
    ],
)
def test_evicted_pod_containers_terminated(rt: RuntimePod | None, want_state: dict[str, Any]) -> None:
    st = gen(make_pod(EVICTED), rt)
    assert state(st) == want_state
    assert (st["phase"], st["reason"], st["message"]) == ("Failed", "Evicted", EVICTED["message"])
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready.get("reason")) == ("False", "PodFailed")


def test_terminal_phase_never_changes() -> None:
    succeeded = {**EVICTED, "phase": "Succeeded", "reason": "", "message": ""}
    assert gen(make_pod(succeeded, policy="Never"), runtime_pod(ctr("a", X, 1)))["phase"] == "Succeeded"


def test_never_started_containers_stay_waiting() -> None:
    """A pod that failed before any app container ran (e.g. rejected) shows no invented exits."""
    pod = make_pod(
        {
            "phase": "Failed",
            "reason": "OutOfcpu",
            "containerStatuses": [
                {
                    "name": "a",
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                    "lastState": {},
                    "restartCount": 0,
                }
            ],
        }
    )
    assert "waiting" in state(gen(pod, None))


@pytest.mark.parametrize(
    ("status", "want"),
    [
        pytest.param({}, True, id="no-statuses"),
        pytest.param(EVICTED, False, id="running-shown"),
        pytest.param(
            {"containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0}}}]}, True, id="done"
        ),
        pytest.param(
            {"initContainerStatuses": [{"name": "i", "state": {"waiting": {}}}]}, False, id="init-waiting"
        ),
    ],
)
def test_all_terminated(status: dict[str, Any], want: bool) -> None:
    assert all_terminated(make_pod(status)) is want


# --- the sync of a terminal pod, with a fake runtime ---------------------------------------------


class FakeRuntime:
    def __init__(self, pod: RuntimePod | None) -> None:
        self.pods = {"u1": pod} if pod is not None else {}

    async def relist(self) -> dict[str, RuntimePod]:
        return dict(self.pods)

    def forget(self, _: str) -> None:
        return None


class FakeCRI:
    def __init__(self, runtime: FakeRuntime) -> None:
        self.runtime = runtime
        self.stopped: list[tuple[str, int]] = []

    async def stop_container(self, cid: str, timeout: int) -> None:
        self.stopped.append((cid, timeout))
        rt = self.runtime.pods["u1"]
        self.runtime.pods["u1"] = runtime_pod(
            *[ctr(c.name, X, 137) if c.id == cid else c for c in rt.containers]
        )

    async def stop_pod_sandbox(self, _: str) -> None:
        return None


def make_syncer(runtime: FakeRuntime, posted: list[dict[str, Any]]) -> tuple[PodSyncer, FakeCRI]:
    async def post(_: Any, status: dict[str, Any]) -> None:
        posted.append(status)

    async def nothing(*_: Any) -> None:
        return None

    cri = FakeCRI(runtime)
    ctx = SyncContext(
        cri=cri,  # type: ignore[arg-type]
        runtime=runtime,  # type: ignore[arg-type]
        logs_root=Path("/nonexistent"),
        pods_root=Path("/nonexistent"),
        cluster_dns=[],
        cluster_domain="cluster.local",
        host_resolv={},
        node_ip="192.0.2.1",
        node_allocatable={},
        memory_capacity=0,
        post_status=post,
        delete_pod=nothing,
        get_configmap=lambda *_: None,
        get_secret=lambda *_: None,
        services=lambda _: [],
    )
    return PodSyncer(ctx), cri


async def test_sync_of_evicted_pod_kills_then_reports_terminated() -> None:
    runtime = FakeRuntime(runtime_pod(ctr("a", R), sandbox=SandboxState.READY))
    posted: list[dict[str, Any]] = []
    syncer, cri = make_syncer(runtime, posted)
    pod = make_pod(EVICTED)
    assert await syncer.sync(pod, runtime.pods["u1"]) is None
    assert cri.stopped == [("a-0", 30)]
    assert len(posted) == 1
    assert state(posted[0])["terminated"]["exitCode"] == 137
    assert (posted[0]["phase"], posted[0]["reason"]) == ("Failed", "Evicted")
    # the echo of that status changes nothing more
    await syncer.sync(make_pod(posted[0]), runtime.pods["u1"])
    assert len(posted) == 1


async def test_sync_of_finished_pod_with_nothing_to_tell_posts_nothing() -> None:
    done = {
        "phase": "Succeeded",
        "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0}}}],
    }
    posted: list[dict[str, Any]] = []
    syncer, _ = make_syncer(FakeRuntime(None), posted)
    await syncer.sync(make_pod(done), None)
    assert posted == []
