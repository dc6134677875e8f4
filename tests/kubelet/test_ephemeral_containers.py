"""Ephemeral containers on the node: planned once and never again, the target's PID namespace in
the CRI config, and ``status.ephemeralContainerStatuses``."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.actions import compute_pod_actions
from kybernetes.kubelet.backoff import CrashLoopBackoff
from kybernetes.kubelet.criconfig import container_config
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)
from kybernetes.kubelet.status import generate_pod_status

NOW = 10_000.0
R, X = ContainerState.RUNNING, ContainerState.EXITED


def make_pod(
    *ephemeral: str, policy: str = "Always", init: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": policy,
        "containers": [{"name": "app", "image": "busybox:1.36"}],
        "ephemeralContainers": [
            {"name": n, "image": "busybox:1.36", "targetContainerName": "app"} for n in ephemeral
        ],
        **extra,
    }
    if init:
        spec["initContainers"] = [{"name": n, "image": "busybox:1.36"} for n in init]
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": spec}


def ctr(name: str, state: ContainerState, exit_code: int | None = None) -> RuntimeContainer:
    return RuntimeContainer(
        id=f"{name}-id",
        name=name,
        attempt=0,
        state=state,
        sandbox_id="sb1",
        started_at=NOW - 100,
        finished_at=NOW - 50 if state == X else None,
        exit_code=exit_code if state == X else None,
        spec_hash="",
        image="busybox:1.36",
    )


def runtime(*containers: RuntimeContainer, sandbox: SandboxState = SandboxState.READY) -> RuntimePod:
    return RuntimePod(
        uid="u1",
        name="web",
        namespace="default",
        sandboxes=[RuntimeSandbox(id="sb1", state=sandbox, attempt=0, created_at=NOW - 200, ip="10.163.0.5")],
        containers=list(containers),
    )


PLAN_CASES = [
    ("new-one-started", make_pod("dbg"), runtime(ctr("app", R)), ["dbg"]),
    ("spec-order", make_pod("b", "a"), runtime(ctr("app", R)), ["b", "a"]),
    ("running-left-alone", make_pod("dbg"), runtime(ctr("app", R), ctr("dbg", R)), []),
    ("exited-never-restarted", make_pod("dbg"), runtime(ctr("app", R), ctr("dbg", X, 1)), []),
    ("exited-ok-never-restarted", make_pod("dbg"), runtime(ctr("app", R), ctr("dbg", X, 0)), []),
    ("only-the-new-one", make_pod("old", "new"), runtime(ctr("app", R), ctr("old", X, 0)), ["new"]),
    ("while-init-runs", make_pod("dbg", init=("setup",)), runtime(ctr("setup", R)), ["dbg"]),
    ("not-in-a-sandbox-to-create", make_pod("dbg"), None, []),
    ("not-in-a-dead-sandbox", make_pod("dbg"), runtime(ctr("app", R), sandbox=SandboxState.NOTREADY), []),
    ("not-when-the-pod-is-done", make_pod("dbg", policy="Never"), runtime(ctr("app", X, 0)), []),
]


@pytest.mark.parametrize(("case", "pod", "rt", "expected"), PLAN_CASES, ids=[c[0] for c in PLAN_CASES])
def test_plan(case: str, pod: dict[str, Any], rt: RuntimePod | None, expected: list[str]) -> None:
    del case
    actions = compute_pod_actions(pod, rt, now=NOW, backoff=CrashLoopBackoff())
    assert actions.ephemeral_to_start == expected
    # an ephemeral container never shows up among the regular starts, nor keeps the pod alive
    assert all(s.name not in {"dbg", "a", "b", "old", "new"} for s in actions.containers_to_start)


def test_an_ephemeral_container_does_not_keep_a_finished_pod_alive() -> None:
    actions = compute_pod_actions(
        make_pod("dbg", policy="Never"),
        runtime(ctr("app", X, 0), ctr("dbg", R)),
        now=NOW,
        backoff=CrashLoopBackoff(),
    )
    assert actions.kill_pod


def config_for(pod: dict[str, Any], target_id: str) -> dict[str, Any]:
    c = pod["spec"]["ephemeralContainers"][0]
    return container_config(
        pod,
        c,
        attempt=0,
        image_ref="sha256:x",
        command=["sh"],
        args=[],
        env=[],
        mounts=[],
        resources={},
        target_id=target_id,
    )


NS_CASES = [
    ("target", {}, "app-id", {"network": 0, "pid": 3, "ipc": 0, "target_id": "app-id"}),
    ("no-target", {}, "", {"network": 0, "pid": 1, "ipc": 0}),
    (
        "shared-pid-namespace-wins",
        {"shareProcessNamespace": True},
        "app-id",
        {"network": 0, "pid": 0, "ipc": 0},
    ),
    ("host-pid-wins", {"hostPID": True}, "app-id", {"network": 0, "pid": 2, "ipc": 0}),
]


@pytest.mark.parametrize(("case", "extra", "target", "expected"), NS_CASES, ids=[c[0] for c in NS_CASES])
def test_namespace_options(case: str, extra: dict[str, Any], target: str, expected: dict[str, Any]) -> None:
    del case
    config = config_for(make_pod("dbg", **extra), target)
    assert config["linux"]["security_context"]["namespace_options"] == expected


def test_target_namespace_fits_the_cri_message() -> None:
    from kybernetes.kubelet.cri import api_pb2 as pb
    from kybernetes.kubelet.criconfig import to_proto

    msg = to_proto(config_for(make_pod("dbg"), "abc"), pb.ContainerConfig())
    ns = msg.linux.security_context.namespace_options
    assert ns.pid == pb.TARGET and ns.target_id == "abc"


def status_of(
    pod: dict[str, Any], rt: RuntimePod | None, waiting: dict[str, tuple[str, str]] | None = None
) -> dict[str, Any]:
    return generate_pod_status(
        pod,
        rt,
        now=NOW,
        probe_ready=lambda n: None,
        probe_started=lambda n: None,
        waiting=waiting or {},
        host_ip="10.0.0.1",
        host_ips=["10.0.0.1"],
    )


def test_statuses_follow_the_runtime() -> None:
    pod = make_pod("dbg", "later")
    st = status_of(pod, runtime(ctr("app", R), ctr("dbg", R)))
    eph = st["ephemeralContainerStatuses"]
    assert [s["name"] for s in eph] == ["dbg", "later"]
    assert "running" in eph[0]["state"] and eph[0]["ready"] is False and "started" not in eph[0]
    assert eph[0]["containerID"] == "containerd://dbg-id" and eph[0]["image"] == "busybox:1.36"
    assert eph[1]["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert st["phase"] == "Running" and [s["name"] for s in st["containerStatuses"]] == ["app"]
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"  # ephemeral containers do not count


def test_terminated_and_failed_to_start() -> None:
    st = status_of(
        make_pod("dbg", "bad"),
        runtime(ctr("app", R), ctr("dbg", X, 0)),
        waiting={"bad": ("ErrImagePull", "no such image")},
    )
    done, bad = st["ephemeralContainerStatuses"]
    assert (
        done["state"]["terminated"]["exitCode"] == 0 and done["state"]["terminated"]["reason"] == "Completed"
    )
    assert bad["state"] == {"waiting": {"reason": "ErrImagePull", "message": "no such image"}}


def test_no_ephemeral_containers_no_field() -> None:
    assert "ephemeralContainerStatuses" not in status_of(make_pod(), runtime(ctr("app", R)))
