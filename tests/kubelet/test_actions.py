"""compute_pod_actions: sandbox (re)creation, init order, sidecars, restart policies, hashes,
probes and crash-loop back-off."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.actions import (
    ContainerStart,
    PodActions,
    backoff_key,
    compute_pod_actions,
    container_spec_hash,
    is_pod_terminal,
    should_container_be_restarted,
)
from kybernetes.kubelet.backoff import CrashLoopBackoff
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)

NOW = 10_000.0
R, X, C, U = ContainerState.RUNNING, ContainerState.EXITED, ContainerState.CREATED, ContainerState.UNKNOWN


def spec_hash(c: dict[str, Any]) -> str:
    return "h-" + str(c.get("image"))


def make_pod(containers: list[str], init: list[str] | None = None, *, policy: str = "Always",
             sidecars: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": policy,
                            "containers": [{"name": n, "image": "img"} for n in containers]}
    if init:
        spec["initContainers"] = [
            {"name": n, "image": "img", **({"restartPolicy": "Always"} if n in sidecars else {})} for n in init]
    spec.update(extra)
    return {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": spec}


def ctr(name: str, state: ContainerState, attempt: int = 0, exit_code: int | None = None, *,
        finished: float | None = None, hash_: str = "h-img", reason: str = "", sandbox: str = "sb1") -> RuntimeContainer:
    if state == X and exit_code is None:
        exit_code = 0
    return RuntimeContainer(
        id=f"{name}-{attempt}", name=name, attempt=attempt, state=state, sandbox_id=sandbox,
        started_at=NOW - 100, finished_at=(finished if finished is not None else NOW - 50) if state == X else None,
        exit_code=exit_code, reason=reason, spec_hash=hash_)


def sb(state: SandboxState = SandboxState.READY, attempt: int = 0, ip: str = "10.42.0.5",
       id_: str = "sb1") -> RuntimeSandbox:
    return RuntimeSandbox(id=id_, state=state, attempt=attempt, created_at=NOW - 200, ip=ip)


def rt(*containers: RuntimeContainer, sandboxes: list[RuntimeSandbox] | None = None) -> RuntimePod:
    return RuntimePod(uid="u1", name="web", namespace="default",
                      sandboxes=[sb()] if sandboxes is None else sandboxes, containers=list(containers))


def plan(pod: dict[str, Any], r: RuntimePod | None, backoff: CrashLoopBackoff | None = None,
         **kw: Any) -> PodActions:
    return compute_pod_actions(pod, r, now=NOW, backoff=backoff or CrashLoopBackoff(), spec_hash=spec_hash, **kw)


def starts(a: PodActions) -> list[tuple[str, bool, int]]:
    return [(s.name, s.init, s.attempt) for s in a.containers_to_start]


# --- rows: (pod, runtime pod, kill_pod, create_sandbox, sandbox_attempt, starts, kills) -------------

CASES: list[tuple[str, dict[str, Any], RuntimePod | None, bool, bool, int, list[tuple[str, bool, int]], set[str]]] = [
    ("new-pod", make_pod(["a", "b"]), None, True, True, 0, [("a", False, 0), ("b", False, 0)], set()),
    ("new-pod-with-init", make_pod(["a"], ["i1", "i2"]), None, True, True, 0, [("i1", True, 0)], set()),
    ("all-running", make_pod(["a", "b"]), rt(ctr("a", R), ctr("b", R)), False, False, 0, [], set()),
    ("sandbox-died", make_pod(["a"]), rt(ctr("a", X, 0, 0), sandboxes=[sb(SandboxState.NOTREADY, 2)]),
     True, True, 3, [("a", False, 1)], set()),
    ("sandbox-without-ip", make_pod(["a"]), rt(ctr("a", R), sandboxes=[sb(ip="")]), True, True, 1,
     [("a", False, 1)], set()),
    ("host-network-needs-no-ip", make_pod(["a"], hostNetwork=True), rt(ctr("a", R), sandboxes=[sb(ip="")]),
     False, False, 0, [], set()),
    ("two-ready-sandboxes", make_pod(["a"]), rt(ctr("a", R), sandboxes=[sb(id_="sb2", attempt=1), sb()]),
     True, True, 2, [("a", False, 1)], set()),
    ("never-sandbox-gone-after-run", make_pod(["a"], policy="Never"),
     rt(ctr("a", X, 0, 1), sandboxes=[sb(SandboxState.NOTREADY)]), True, False, 1, [], set()),
    ("never-sandbox-gone-before-any-container", make_pod(["a"], policy="Never"),
     rt(sandboxes=[sb(SandboxState.NOTREADY)]), True, True, 1, [("a", False, 0)], set()),
    ("onfailure-sandbox-gone-all-succeeded", make_pod(["a"], policy="OnFailure"),
     rt(ctr("a", X, 0, 0), sandboxes=[sb(SandboxState.NOTREADY)]), True, False, 1, [], set()),
    ("onfailure-sandbox-gone-one-failed", make_pod(["a", "b"], policy="OnFailure"),
     rt(ctr("a", X, 0, 0), ctr("b", X, 0, 2), sandboxes=[sb(SandboxState.NOTREADY)]), True, True, 1,
     [("b", False, 1)], set()),
    ("always-restarts-success", make_pod(["a"]), rt(ctr("a", X, 3, 0)), False, False, 0, [("a", False, 4)], set()),
    ("onfailure-keeps-success", make_pod(["a", "b"], policy="OnFailure"), rt(ctr("a", X, 0, 0), ctr("b", R)),
     False, False, 0, [], set()),
    ("onfailure-all-succeeded-kills-pod", make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 0, 0)),
     True, False, 0, [], set()),
    ("onfailure-restarts-failure", make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 1, 1)),
     False, False, 0, [("a", False, 2)], set()),
    ("never-does-not-restart", make_pod(["a", "b"], policy="Never"), rt(ctr("a", X, 0, 1), ctr("b", R)),
     False, False, 0, [], set()),
    ("never-all-exited-kills-pod", make_pod(["a"], policy="Never"), rt(ctr("a", X, 0, 1)), True, False, 0, [], set()),
    ("created-is-restarted", make_pod(["a"], policy="Never"), rt(ctr("a", C)), False, False, 0,
     [("a", False, 1)], set()),
    ("unknown-is-killed-and-restarted", make_pod(["a"]), rt(ctr("a", U)), False, False, 0, [("a", False, 1)],
     {"a-0"}),
    ("spec-changed-restarts-even-never", make_pod(["a"], policy="Never"), rt(ctr("a", R, hash_="h-old")),
     False, False, 0, [("a", False, 1)], {"a-0"}),
    ("unknown-hash-is-kept", make_pod(["a"]), rt(ctr("a", R, hash_="")), False, False, 0, [], set()),
    ("init-first-runs", make_pod(["a"], ["i1", "i2"]), rt(), False, False, 0, [("i1", True, 0)], set()),
    ("init-running-waits", make_pod(["a"], ["i1", "i2"]), rt(ctr("i1", R)), False, False, 0, [], set()),
    ("init-next-after-success", make_pod(["a"], ["i1", "i2"]), rt(ctr("i1", X, 0, 0)), False, False, 0,
     [("i2", True, 0)], set()),
    ("init-done-starts-app", make_pod(["a", "b"], ["i1", "i2"]), rt(ctr("i1", X, 0, 0), ctr("i2", X, 0, 0)),
     False, False, 0, [("a", False, 0), ("b", False, 0)], set()),
    ("init-failed-retried", make_pod(["a"], ["i1"]), rt(ctr("i1", X, 0, 1)), False, False, 0, [("i1", True, 1)],
     set()),
    ("init-failed-never-kills-pod", make_pod(["a"], ["i1"], policy="Never"), rt(ctr("i1", X, 0, 1)),
     True, False, 0, [], set()),
    ("init-oomkilled-is-failure", make_pod(["a"], ["i1"], policy="Never"), rt(ctr("i1", X, 0, 0, reason="OOMKilled")),
     True, False, 0, [], set()),
    ("init-gone-after-app-started", make_pod(["a"], ["i1"]), rt(ctr("a", R)), False, False, 0, [], set()),
    ("sidecar-started-then-next", make_pod(["a"], ["s", "i"], sidecars=("s",)), rt(ctr("s", R)), False, False, 0,
     [("i", True, 0)], set()),
    ("sidecar-last-then-app", make_pod(["a"], ["i", "s"], sidecars=("s",)), rt(ctr("i", X, 0, 0), ctr("s", R)),
     False, False, 0, [("a", False, 0)], set()),
    ("sidecar-restarted-after-exit", make_pod(["a"], ["s"], sidecars=("s",), policy="Never"),
     rt(ctr("s", X, 0, 0), ctr("a", R)), False, False, 0, [("s", True, 1)], set()),
    ("sidecar-does-not-keep-pod-alive", make_pod(["a"], ["s"], sidecars=("s",), policy="Never"),
     rt(ctr("s", R), ctr("a", X, 0, 0)), True, False, 0, [], set()),
    ("sidecar-spec-changed", make_pod(["a"], ["s"], sidecars=("s",)), rt(ctr("s", R, hash_="old"), ctr("a", R)),
     False, False, 0, [("s", True, 1)], {"s-0"}),
]


@pytest.mark.parametrize(("pod", "r", "kill", "create", "attempt", "want_starts", "kills"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_compute_pod_actions(pod: dict[str, Any], r: RuntimePod | None, kill: bool, create: bool, attempt: int,
                             want_starts: list[tuple[str, bool, int]], kills: set[str]) -> None:
    a = plan(pod, r)
    assert (a.kill_pod, a.create_sandbox) == (kill, create)
    if create:
        assert a.sandbox_attempt == attempt
    assert starts(a) == want_starts
    assert set(a.containers_to_kill) == kills
    assert a.next_init_container == next((s[0] for s in want_starts if s[1]), None)


def test_reuses_current_sandbox() -> None:
    a = plan(make_pod(["a"]), rt(ctr("a", X, 0, 1)))
    assert a.sandbox_id == "sb1" and not a.create_sandbox


def test_kill_messages() -> None:
    a = plan(make_pod(["a", "b"]), rt(ctr("a", R, hash_="h-old"), ctr("b", R)),
             liveness=lambda cid: False if cid == "b-0" else None)
    assert a.containers_to_kill == {"a-0": "Container a definition changed, will be restarted",
                                    "b-0": "Container b failed liveness probe, will be restarted"}
    a = plan(make_pod(["a"], policy="Never"), rt(ctr("a", R)), startup=lambda cid: False)
    assert a.containers_to_kill == {"a-0": "Container a failed startup probe"}
    assert a.kill_pod and starts(a) == []


def test_sidecar_waits_for_startup_probe() -> None:
    pod = make_pod(["a"], ["s", "i"], sidecars=("s",))
    pod["spec"]["initContainers"][0]["startupProbe"] = {"exec": {"command": ["true"]}}
    r = rt(ctr("s", R))
    assert starts(plan(pod, r, startup=lambda cid: None)) == []
    assert starts(plan(pod, r, startup=lambda cid: True)) == [("i", True, 0)]
    failed = plan(pod, r, startup=lambda cid: False)
    assert starts(failed) == [("s", True, 1)] and set(failed.containers_to_kill) == {"s-0"}


def test_deleted_or_terminal_pod_is_only_killed() -> None:
    pod = make_pod(["a"])
    pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    a = plan(pod, rt(ctr("a", R)))
    assert a.kill_pod and starts(a) == [] and not a.create_sandbox
    pod = make_pod(["a"])
    pod["status"] = {"phase": "Succeeded"}
    assert plan(pod, None).kill_pod


def test_crash_loop_backoff_flow() -> None:
    pod = make_pod(["a"])
    key = backoff_key(pod, pod["spec"]["containers"][0], "h-img")
    b = CrashLoopBackoff()
    # First crash: restart at once; recording arms 10 s.
    a = compute_pod_actions(pod, rt(ctr("a", X, 0, 1, finished=NOW - 1)), now=NOW, backoff=b, spec_hash=spec_hash)
    assert starts(a) == [("a", False, 1)] and a.containers_to_start[0].backoff_key == key
    a.record_backoff(b, NOW)
    # Second crash 3 s later: wait 10 s, reported as CrashLoopBackOff.
    crashed = rt(ctr("a", X, 1, 1, finished=NOW + 3))
    a = compute_pod_actions(pod, crashed, now=NOW + 4, backoff=b, spec_hash=spec_hash)
    assert starts(a) == [] and not a.kill_pod
    assert a.backoff_waiting == {"a": ("CrashLoopBackOff", "back-off 10s restarting failed container=a pod=web_default(u1)")}
    # After the delay it restarts and the next delay doubles.
    a = compute_pod_actions(pod, crashed, now=NOW + 14, backoff=b, spec_hash=spec_hash)
    assert starts(a) == [("a", False, 2)]
    a.record_backoff(b, NOW + 14)
    a = compute_pod_actions(pod, rt(ctr("a", X, 2, 1, finished=NOW + 15)), now=NOW + 16, backoff=b, spec_hash=spec_hash)
    assert a.backoff_waiting["a"][1].startswith("back-off 20s ")
    # A new spec (new hash) starts afresh.
    a = compute_pod_actions(pod, rt(ctr("a", X, 2, 1, finished=NOW + 15)), now=NOW + 16, backoff=b,
                            spec_hash=lambda c: "other")
    assert starts(a) == [("a", False, 3)]


def test_init_container_backoff() -> None:
    pod = make_pod(["a"], ["i1"])
    b = CrashLoopBackoff()
    b.record_failure(backoff_key(pod, pod["spec"]["initContainers"][0], "h-img"), NOW - 5, since=NOW - 6)
    a = plan(pod, rt(ctr("i1", X, 1, 1, finished=NOW - 2)), backoff=b)
    assert starts(a) == [] and a.backoff_waiting["i1"][0] == "CrashLoopBackOff"


@pytest.mark.parametrize(("policy", "exit_code", "state", "want"), [
    ("Always", 0, X, True), ("Always", 1, X, True), ("OnFailure", 0, X, False), ("OnFailure", 2, X, True),
    ("Never", 1, X, False), ("Never", None, C, True), ("Never", None, U, True), ("Always", None, R, False),
], ids=["always-ok", "always-fail", "onfailure-ok", "onfailure-fail", "never", "created", "unknown", "running"])
def test_should_container_be_restarted(policy: str, exit_code: int | None, state: ContainerState, want: bool) -> None:
    pod = make_pod(["a"], policy=policy)
    assert should_container_be_restarted(pod, pod["spec"]["containers"][0], rt(ctr("a", state, 0, exit_code))) is want


@pytest.mark.parametrize(("pod", "r", "want"), [
    (make_pod(["a"]), rt(ctr("a", X, 0, 0)), False),
    (make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 0, 0)), True),
    (make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 0, 1)), False),
    (make_pod(["a", "b"], policy="Never"), rt(ctr("a", X, 0, 1), ctr("b", R)), False),
    (make_pod(["a", "b"], policy="Never"), rt(ctr("a", X, 0, 1), ctr("b", X, 0, 0)), True),
    (make_pod(["a"], ["i"], policy="Never"), rt(ctr("i", X, 0, 1)), True),
    (make_pod(["a"], ["i"]), rt(ctr("i", X, 0, 1)), False),
    (make_pod(["a"]), None, False),
    ({**make_pod(["a"]), "status": {"phase": "Failed"}}, None, True),
], ids=["always-never-terminal", "onfailure-success", "onfailure-failure", "never-one-running", "never-all-done",
        "never-init-failed", "always-init-failed", "no-runtime", "api-says-failed"])
def test_is_pod_terminal(pod: dict[str, Any], r: RuntimePod | None, want: bool) -> None:
    assert is_pod_terminal(pod, r) is want


def test_container_spec_hash_is_stable_and_sensitive() -> None:
    a = {"name": "a", "image": "busybox:1", "env": [{"name": "X", "value": "1"}]}
    assert container_spec_hash(a) == container_spec_hash(dict(reversed(list(a.items()))))
    assert container_spec_hash(a) != container_spec_hash({**a, "image": "busybox:2"})
    assert ContainerStart("a", False, 0).backoff_key is None
