"""PodSyncer.ensure_image: the waiting states a pull leaves, with upstream's texts, over time.

ErrImagePull shows the runtime's error as Go's gRPC client prints it and is held for a few
seconds (upstream's pod worker waits before the next sync); then ImagePullBackOff carries the
last error; after the back-off the pull is tried again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.kubelet import podsync
from kybernetes.kubelet.cri.errors import CRIError, NotFound
from kybernetes.kubelet.podsync import PodSyncer, SyncContext, grpc_error_text


@pytest.mark.parametrize(("code", "want"), [
    pytest.param("UNKNOWN", "rpc error: code = Unknown desc = boom", id="unknown"),
    pytest.param("NOT_FOUND", "rpc error: code = NotFound desc = boom", id="not-found"),
    pytest.param("DEADLINE_EXCEEDED", "rpc error: code = DeadlineExceeded desc = boom", id="two-words"),
])
def test_grpc_error_text(code: str, want: str) -> None:
    assert grpc_error_text(CRIError(code, "boom", "PullImage")) == want


class FakeCRI:
    def __init__(self) -> None:
        self.pulls: list[tuple[str, Any]] = []
        self.fail = True

    async def image_status(self, image: str) -> None:
        return None

    async def pull_image(self, image: str, auth: Any = None) -> str:
        self.pulls.append((image, auth))
        if self.fail:
            raise NotFound("NOT_FOUND", f'failed to pull and unpack image "{image}"', "PullImage")
        return "sha256:abc"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def time(self) -> float:
        return self.now


def syncer(cri: FakeCRI) -> PodSyncer:
    async def nothing(*_: Any) -> None:
        return None

    ctx = SyncContext(cri=cri, runtime=None, logs_root=Path("/nonexistent"), pods_root=Path("/nonexistent"),  # type: ignore[arg-type]
                      cluster_dns=[], cluster_domain="cluster.local", host_resolv={}, node_ip="127.0.0.1",
                      node_allocatable={}, memory_capacity=0, post_status=nothing, delete_pod=nothing,
                      get_configmap=lambda *_: None, get_secret=lambda *_: None, services=lambda _: [],
                      pull_credentials=lambda image, pod: ("u", "p"))
    return PodSyncer(ctx)


POD = {"metadata": {"uid": "u1", "name": "p", "namespace": "default"}, "spec": {}}


async def test_pull_failure_then_back_off_then_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr("kybernetes.kubelet.podsync.time.time", clock.time)  # podsync reads time.time()
    cri = FakeCRI()
    s = syncer(cri)
    container = {"name": "c", "image": "reg.test/nope:1"}
    error = 'rpc error: code = NotFound desc = failed to pull and unpack image "reg.test/nope:1"'

    assert await s.ensure_image(POD, container) == ("ErrImagePull", error)
    assert len(cri.pulls) == 1 and cri.pulls[0][1].username == "u" and not cri.pulls[0][1].server_address
    clock.now += 2  # within the hold: still ErrImagePull, no new pull
    assert await s.ensure_image(POD, container) == ("ErrImagePull", error)
    clock.now += podsync.PULL_ERROR_HOLD
    assert await s.ensure_image(POD, container) == (
        "ImagePullBackOff", f'Back-off pulling image "reg.test/nope:1": ErrImagePull: {error}')
    assert len(cri.pulls) == 1
    clock.now += 10  # the first back-off (10 s) is over: pull again
    cri.fail = False
    assert await s.ensure_image(POD, container) == "sha256:abc"
    assert len(cri.pulls) == 2 and not s.pull_errors


async def test_never_policy_does_not_pull() -> None:
    cri = FakeCRI()
    got = await syncer(cri).ensure_image(POD, {"name": "c", "image": "x:1", "imagePullPolicy": "Never"})
    assert got == ("ErrImageNeverPull", 'Container image "x:1" is not present with pull policy of Never')
    assert not cri.pulls
