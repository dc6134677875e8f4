"""Container GC decisions: which dead containers and sandboxes go (table tests)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.containergc import (
    ContainerGCPolicy,
    PodFate,
    containers_to_remove,
    pod_fate,
    sandboxes_to_remove,
)
from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)

NOW = 10_000.0
EXITED, RUNNING, CREATED, UNKNOWN = (
    ContainerState.EXITED,
    ContainerState.RUNNING,
    ContainerState.CREATED,
    ContainerState.UNKNOWN,
)


def c(
    name: str,
    attempt: int,
    state: ContainerState = EXITED,
    *,
    age: float = 100.0,
    sandbox: str = "sb0",
    uid: str = "u1",
) -> RuntimeContainer:
    return RuntimeContainer(
        id=f"{uid}-{name}-{attempt}",
        name=name,
        attempt=attempt,
        state=state,
        sandbox_id=sandbox,
        created_at=NOW - age + attempt,
    )


def sb(id_: str, attempt: int, ready: bool = False) -> RuntimeSandbox:
    return RuntimeSandbox(
        id=id_,
        state=SandboxState.READY if ready else SandboxState.NOTREADY,
        attempt=attempt,
        created_at=NOW - 1000 + attempt,
    )


def rpod(
    uid: str, containers: list[RuntimeContainer], sandboxes: list[RuntimeSandbox] | None = None
) -> RuntimePod:
    return RuntimePod(
        uid=uid,
        name=uid,
        namespace="default",
        containers=containers,
        sandboxes=sandboxes if sandboxes is not None else [sb("sb0", 0, ready=True)],
    )


KEEP_ALL = PodFate(content_removable=lambda uid: False, runtime_removable=lambda uid: False)


def fate(content: set[str] = frozenset(), runtime: set[str] = frozenset()) -> PodFate:  # type: ignore[assignment]
    return PodFate(content_removable=lambda uid: uid in content, runtime_removable=lambda uid: uid in runtime)


CONTAINER_CASES: list[Any] = [
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("app", 1), c("app", 2), c("app", 3, RUNNING)])},
        KEEP_ALL,
        ContainerGCPolicy(),
        False,
        ["u1-app-0", "u1-app-1"],
        id="crashloop-keeps-newest-dead-and-running",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("app", 1), c("app", 2)])},
        KEEP_ALL,
        ContainerGCPolicy(),
        False,
        ["u1-app-0", "u1-app-1"],
        id="waiting-in-backoff-keeps-the-last-exited",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("side", 0), c("side", 1)])},
        KEEP_ALL,
        ContainerGCPolicy(),
        False,
        ["u1-side-0"],
        id="units-are-per-container-name",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("app", 1, age=2)])},
        KEEP_ALL,
        ContainerGCPolicy(min_age=60),
        False,
        [],
        id="younger-than-min-age-is-not-evictable",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("app", 1, RUNNING)])},
        fate(content={"u1"}),
        ContainerGCPolicy(),
        False,
        ["u1-app-0"],
        id="content-removable-pod-loses-all-dead-never-running",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0)])},
        fate(runtime={"u1"}),
        ContainerGCPolicy(),
        False,
        [],
        id="finished-pod-keeps-its-last-container-periodically",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0)])},
        fate(runtime={"u1"}),
        ContainerGCPolicy(),
        True,
        ["u1-app-0"],
        id="finished-pod-loses-all-under-disk-pressure",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("app", 1, CREATED)])},
        KEEP_ALL,
        ContainerGCPolicy(),
        False,
        ["u1-app-0"],
        id="created-counts-as-dead-and-newest-is-kept",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0), c("app", 1), c("app", 2)])},
        KEEP_ALL,
        ContainerGCPolicy(max_per_pod_container=-1),
        False,
        [],
        id="negative-per-container-is-no-limit",
    ),
    pytest.param(
        {
            "u1": rpod("u1", [c("a", 0), c("a", 1), c("b", 0)]),
            "u2": rpod("u2", [c("a", 0, uid="u2"), c("a", 1, uid="u2")]),
        },
        KEEP_ALL,
        ContainerGCPolicy(max_per_pod_container=-1, max_containers=3),
        False,
        ["u1-a-0", "u2-a-0"],
        id="max-containers-leaves-an-equal-share",
    ),
    pytest.param(
        {
            "u1": rpod("u1", [c("a", 0, age=500), c("b", 0, age=100)]),
            "u2": rpod("u2", [c("a", 0, age=300, uid="u2")]),
        },
        KEEP_ALL,
        ContainerGCPolicy(max_per_pod_container=-1, max_containers=1),
        False,
        ["u1-a-0", "u2-a-0"],
        id="then-oldest-overall-goes",
    ),
    pytest.param(
        {"u1": rpod("u1", [c("app", 0, UNKNOWN), c("app", 1)])},
        KEEP_ALL,
        ContainerGCPolicy(),
        False,
        ["u1-app-0"],
        id="unknown-state-is-evictable",
    ),
]


@pytest.mark.parametrize(("pods", "fate_", "policy", "evict_terminated", "removed"), CONTAINER_CASES)
def test_containers_to_remove(
    pods: dict[str, RuntimePod],
    fate_: PodFate,
    policy: ContainerGCPolicy,
    evict_terminated: bool,
    removed: list[str],
) -> None:
    got = containers_to_remove(pods, fate_, policy=policy, now=NOW, evict_terminated=evict_terminated)
    assert sorted(x.id for x in got) == sorted(removed)


def test_oldest_of_a_unit_is_removed_first() -> None:
    pods = {"u1": rpod("u1", [c("app", i) for i in range(4)])}
    got = containers_to_remove(pods, fate(content={"u1"}), policy=ContainerGCPolicy(), now=NOW)
    assert [x.attempt for x in got] == [0, 1, 2, 3]


SANDBOX_CASES: list[Any] = [
    pytest.param(
        rpod("u1", [], [sb("new", 1, ready=True), sb("old", 0)]),
        KEEP_ALL,
        ["old"],
        id="replaced-sandbox-goes",
    ),
    pytest.param(
        rpod("u1", [], [sb("new", 1), sb("old", 0)]),
        KEEP_ALL,
        ["old"],
        id="live-pod-keeps-its-newest-even-when-stopped",
    ),
    pytest.param(
        rpod("u1", [c("app", 0, sandbox="old")], [sb("new", 1, ready=True), sb("old", 0)]),
        KEEP_ALL,
        [],
        id="sandbox-holding-a-container-is-active",
    ),
    pytest.param(
        rpod("u1", [], [sb("a", 1), sb("b", 0)]),
        fate(content={"u1"}),
        ["b", "a"],
        id="gone-pod-loses-every-stopped-sandbox",
    ),
    pytest.param(
        rpod("u1", [], [sb("a", 1, ready=True)]),
        fate(content={"u1"}),
        [],
        id="ready-sandbox-is-never-removed",
    ),
    pytest.param(
        rpod("u1", [], [sb("a", 0)]), fate(runtime={"u1"}), [], id="finished-pod-keeps-newest-periodically"
    ),
]


@pytest.mark.parametrize(("pod", "fate_", "removed"), SANDBOX_CASES)
def test_sandboxes_to_remove(pod: RuntimePod, fate_: PodFate, removed: list[str]) -> None:
    assert sandboxes_to_remove({pod.uid: pod}, fate_) == removed


def test_finished_pod_sandbox_goes_under_disk_pressure() -> None:
    pod = rpod("u1", [], [sb("a", 0)])
    assert sandboxes_to_remove({"u1": pod}, fate(runtime={"u1"}), evict_terminated=True) == ["a"]


def api_pod(uid: str, *, phase: str = "Running", reason: str = "", deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"uid": uid, "name": uid, "namespace": "default"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase, **({"reason": reason} if reason else {})}}


FATE_CASES: list[Any] = [
    pytest.param({}, [c("app", 0)], True, True, id="unknown-pod"),
    pytest.param({"u1": api_pod("u1")}, [c("app", 0)], False, False, id="live-pod"),
    pytest.param(
        {"u1": api_pod("u1", phase="Failed", reason="Evicted")},
        [c("app", 0)],
        True,
        True,
        id="evicted-and-stopped",
    ),
    pytest.param(
        {"u1": api_pod("u1", phase="Failed", reason="Evicted")},
        [c("app", 0, RUNNING)],
        False,
        False,
        id="evicted-but-still-running",
    ),
    pytest.param({"u1": api_pod("u1", deleting=True)}, [c("app", 0)], True, False, id="deleted-and-stopped"),
    pytest.param({"u1": api_pod("u1", phase="Succeeded")}, [c("app", 0)], False, True, id="finished"),
]


@pytest.mark.parametrize(("known", "containers", "content", "runtime"), FATE_CASES)
def test_pod_fate(
    known: dict[str, Any], containers: list[RuntimeContainer], content: bool, runtime: bool
) -> None:
    f = pod_fate(known, {"u1": rpod("u1", containers)})
    assert (f.content_removable("u1"), f.runtime_removable("u1")) == (content, runtime)
