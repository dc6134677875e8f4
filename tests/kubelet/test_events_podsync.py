"""PodSyncer's image step tells what it did as upstream's image manager does, with a fake CRI.

Present image → Pulled "already present"; a pull → Pulling then Pulled with the size; a failed
pull → Pulling then Failed; during the back-off → BackOff (Normal) with the image only; pull
policy Never → ErrImageNeverPull.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kybernetes.kubelet import podsync
from kybernetes.kubelet.cri.errors import NotFound
from kybernetes.kubelet.events import KubeletEvents
from kybernetes.kubelet.podsync import PodSyncer, SyncContext

POD = {
    "metadata": {"uid": "u1", "name": "p", "namespace": "default"},
    "spec": {"containers": [{"name": "c", "image": "x"}]},
}


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, str]] = []

    def event(self, obj: Any, type_: str, reason: str, message: str) -> None:
        self.events.append((obj.get("fieldPath", ""), type_, reason, message))


class FakeCRI:
    def __init__(self, *, present: bool = False, fail: bool = False) -> None:
        self.present = present
        self.fail = fail

    async def image_status(self, image: str) -> Any:
        if self.present:
            return SimpleNamespace(id="sha256:abc", size=4269694)
        return None

    async def pull_image(self, image: str, auth: Any = None) -> str:
        if self.fail:
            raise NotFound("NOT_FOUND", f'failed to pull and unpack image "{image}"', "PullImage")
        self.present = True
        return "sha256:abc"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


def syncer(cri: FakeCRI, sink: Sink, clock: Clock) -> PodSyncer:
    async def nothing(*_: Any) -> None:
        return None

    ctx = SyncContext(
        cri=cri,  # type: ignore[arg-type]
        runtime=None,  # type: ignore[arg-type]
        logs_root=Path("/nonexistent"),
        pods_root=Path("/nonexistent"),
        cluster_dns=[],
        cluster_domain="cluster.local",
        host_resolv={},
        node_ip="127.0.0.1",
        node_allocatable={},
        memory_capacity=0,
        post_status=nothing,
        delete_pod=nothing,
        get_configmap=lambda *_: None,
        get_secret=lambda *_: None,
        services=lambda _: [],
        events=KubeletEvents(sink, "n1", clock=clock.time),
    )
    return PodSyncer(ctx)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr("kybernetes.kubelet.podsync.time.time", c.time)
    return c


@pytest.mark.parametrize(
    ("container", "present", "want"),
    [
        pytest.param(
            {"name": "c", "image": "busybox:1.36"},
            True,
            [("Normal", "Pulled", 'Container image "busybox:1.36" already present on machine')],
            id="already-present",
        ),
        pytest.param(
            {"name": "c", "image": "busybox:1.36", "imagePullPolicy": "Never"},
            False,
            [
                (
                    "Warning",
                    "ErrImageNeverPull",
                    'Container image "busybox:1.36" is not present with pull policy of Never',
                )
            ],
            id="never-pull",
        ),
    ],
)
async def test_no_pull(
    clock: Clock, container: dict[str, Any], present: bool, want: list[tuple[str, str, str]]
) -> None:
    sink = Sink()
    await syncer(FakeCRI(present=present), sink, clock).ensure_image(POD, container)
    assert [e[1:] for e in sink.events] == want
    assert all(e[0] == "spec.containers{c}" for e in sink.events)


async def test_pull_reports_duration_and_size(clock: Clock) -> None:
    sink = Sink()
    await syncer(FakeCRI(), sink, clock).ensure_image(
        POD, {"name": "c", "image": "busybox:1.36", "imagePullPolicy": "Always"}
    )
    (pulling, pulled) = sink.events
    assert pulling[1:] == ("Normal", "Pulling", 'Pulling image "busybox:1.36"')
    assert pulled[2] == "Pulled"
    assert pulled[3].startswith('Successfully pulled image "busybox:1.36" in ')
    assert "including waiting). Image size: 4269694 bytes." in pulled[3]


async def test_failed_pull_then_back_off(clock: Clock) -> None:
    sink = Sink()
    s = syncer(FakeCRI(fail=True), sink, clock)
    c = {"name": "c", "image": "kybernetes.local/nope:1"}
    await s.ensure_image(POD, c)
    assert [e[2] for e in sink.events] == ["Pulling", "Failed"]
    assert sink.events[1][3] == (
        'Failed to pull image "kybernetes.local/nope:1": rpc error: code = NotFound '
        'desc = failed to pull and unpack image "kybernetes.local/nope:1"'
    )
    clock.now += podsync.PULL_ERROR_HOLD + 0.1
    await s.ensure_image(POD, c)
    assert sink.events[-1][1:] == ("Normal", "BackOff", 'Back-off pulling image "kybernetes.local/nope:1"')
