"""The agent's reactions to pod updates and probe results, without a node.

A label/annotation change re-projects the pod's volumes (downwardAPI files follow `kubectl label`);
probe failures become Warning events on the container's field path.
"""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.agent import Kubelet
from kybernetes.kubelet.metrics import KubeletMetrics


class FakeQueue:
    def __init__(self) -> None:
        self.added: list[str] = []

    def add(self, key: str) -> None:
        self.added.append(key)


class FakeRecorder:
    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], str, str, str]] = []

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.events.append((obj, type_, reason, message))


def bare_kubelet() -> tuple[Kubelet, FakeQueue, FakeRecorder]:
    k = Kubelet.__new__(Kubelet)  # only the attributes these handlers use
    queue, recorder = FakeQueue(), FakeRecorder()
    k.by_uid = {}
    k.queue = queue  # type: ignore[assignment]
    k.recorder = recorder  # type: ignore[assignment]
    k.metrics = KubeletMetrics("node")
    return k, queue, recorder


def a_pod(**meta: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u1", **meta}, "spec": {}}


@pytest.mark.parametrize(("before", "after", "refresh"), [
    pytest.param({"labels": {"a": "1"}}, {"labels": {"a": "1"}}, False, id="unchanged"),
    pytest.param({"labels": {"a": "1"}}, {"labels": {"a": "2"}}, True, id="label-changed"),
    pytest.param({}, {"labels": {"b": "1"}}, True, id="label-added"),
    pytest.param({"annotations": {"x": "1"}}, {}, True, id="annotation-removed"),
    pytest.param({"resourceVersion": "1"}, {"resourceVersion": "2"}, False, id="status-only-update"),
])
def test_metadata_change_refreshes_volumes(before: dict[str, Any], after: dict[str, Any], refresh: bool) -> None:
    k, queue, _ = bare_kubelet()
    k._on_pod(a_pod(**before))
    assert queue.added == ["u1"], "the first sight of a pod only syncs it"
    k._on_pod(a_pod(**after))
    assert ("refresh:u1" in queue.added) is refresh


def test_probe_failure_is_a_warning_event_on_the_container() -> None:
    k, _, recorder = bare_kubelet()
    k._on_pod(a_pod())
    k._probe_event("u1", "app", "Unhealthy", "Liveness probe failed: boom")
    k._probe_event("gone", "app", "Unhealthy", "ignored: the pod is unknown")
    [(ref, type_, reason, message)] = recorder.events
    assert (type_, reason, message) == ("Warning", "Unhealthy", "Liveness probe failed: boom")
    assert ref == {"kind": "Pod", "apiVersion": "v1", "namespace": "ns", "name": "p", "uid": "u1",
                   "fieldPath": "spec.containers{app}"}
