"""ExceededGracePeriod after a slow eviction kill, and NodeSchedulable/NodeNotSchedulable on a cordon.

- ``kill_timeout``: 1.5 grace periods, never under 10 s;
- ``PodSyncer.kill_pod_now`` waits that long for the kill, then tells ExceededGracePeriod on the
  pod (Warning) and lets the kill finish in the background;
- ``schedulable_event`` / ``KubeletEvents.node_schedulable``: one event per flip of
  ``spec.unschedulable``, the kubelet starting out believing the node schedulable.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet import events as ev
from kybernetes.kubelet.podsync import PodSyncer, SyncContext, kill_timeout
from kybernetes.kubelet.runtime_state import ContainerState, RuntimeContainer, RuntimePod

POD = {
    "metadata": {"uid": "u1", "name": "p", "namespace": "default"},
    "spec": {"containers": [{"name": "c"}]},
}


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], str, str, str]] = []

    def event(self, obj: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((dict(obj), type_, reason, message))


@pytest.mark.parametrize(
    ("grace", "want"),
    [
        pytest.param(0, 10.0, id="hard-eviction-minimum"),
        pytest.param(6, 10.0, id="still-minimum"),
        pytest.param(30, 45.0, id="one-and-a-half"),
        pytest.param(7, 10.0, id="integer-half"),
        pytest.param(9, 13.0, id="rounds-half-down"),
    ],
)
def test_kill_timeout(grace: int, want: float) -> None:
    assert kill_timeout(grace) == want


@pytest.mark.parametrize(
    ("last", "spec", "want"),
    [
        pytest.param(False, {}, None, id="schedulable-as-believed"),
        pytest.param(False, {"unschedulable": False}, None, id="explicit-false"),
        pytest.param(
            False,
            {"unschedulable": True},
            ("Normal", "NodeNotSchedulable", "Node n1 status is now: NodeNotSchedulable"),
            id="cordoned",
        ),
        pytest.param(
            True, {}, ("Normal", "NodeSchedulable", "Node n1 status is now: NodeSchedulable"), id="uncordoned"
        ),
        pytest.param(True, {"unschedulable": True}, None, id="still-cordoned"),
    ],
)
def test_schedulable_event(last: bool, spec: dict[str, Any], want: tuple[str, str, str] | None) -> None:
    assert ev.schedulable_event("n1", last, {"spec": spec}) == want


def test_node_schedulable_tells_each_flip_once() -> None:
    sink = Sink()
    events = ev.KubeletEvents(sink, "n1")
    for spec in ({}, {"unschedulable": True}, {"unschedulable": True}, {}, {}, {"unschedulable": True}):
        events.node_schedulable({"metadata": {"name": "n1"}, "spec": spec})
    assert [(e[0]["kind"], e[0]["name"], e[2]) for e in sink.events] == [
        ("Node", "n1", "NodeNotSchedulable"),
        ("Node", "n1", "NodeSchedulable"),
        ("Node", "n1", "NodeNotSchedulable"),
    ]


class SlowCRI:
    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.stopped: list[str] = []

    async def stop_container(self, cid: str, timeout: int) -> None:
        await asyncio.sleep(self.delay)
        self.stopped.append(cid)

    async def stop_pod_sandbox(self, _: str) -> None:
        return None


class Runtime:
    pods: dict[str, RuntimePod] = {}

    def forget(self, _: str) -> None:
        return None


def make_syncer(cri: SlowCRI, sink: Sink) -> PodSyncer:
    async def nothing(*_: Any) -> None:
        return None

    ctx = SyncContext(
        cri=cri,  # type: ignore[arg-type]
        runtime=Runtime(),  # type: ignore[arg-type]
        logs_root=Path("/nonexistent"),
        pods_root=Path("/nonexistent"),
        cluster_dns=[],
        cluster_domain="cluster.local",
        host_resolv={},
        node_ip="192.0.2.1",
        node_allocatable={},
        memory_capacity=0,
        post_status=nothing,
        delete_pod=nothing,
        get_configmap=lambda *_: None,
        get_secret=lambda *_: None,
        services=lambda _: [],
        events=ev.KubeletEvents(sink, "n1"),
    )
    return PodSyncer(ctx)


RT = RuntimePod(
    uid="u1",
    name="p",
    namespace="default",
    sandboxes=[],
    containers=[
        RuntimeContainer(
            id="c-0", name="c", attempt=0, state=ContainerState.RUNNING, sandbox_id="sb1", created_at=0.0
        )
    ],
)


async def test_slow_kill_tells_exceeded_grace_period_and_finishes_in_background() -> None:
    sink, cri = Sink(), SlowCRI(0.2)
    syncer = make_syncer(cri, sink)
    assert await syncer.kill_pod_now(POD, RT, grace=0, timeout=0.05) is False
    assert [(e[0]["kind"], e[0]["name"], e[1], e[2], e[3]) for e in sink.events] == [
        (
            "Pod",
            "p",
            "Warning",
            "ExceededGracePeriod",
            "Container runtime did not kill the pod within specified grace period.",
        )
    ]
    assert "fieldPath" not in sink.events[0][0]
    await asyncio.sleep(0.3)
    assert cri.stopped == ["c-0"] and not syncer._kills


async def test_prompt_kill_tells_nothing() -> None:
    sink, cri = Sink(), SlowCRI(0.0)
    assert await make_syncer(cri, sink).kill_pod_now(POD, RT, grace=0) is True
    assert cri.stopped == ["c-0"] and sink.events == []
