"""Event recording: the correlator's rules (spam, aggregation, dedup) and real writes to `kyb server`."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from kybernetes.client.events import (
    COMBINED_PREFIX,
    EVENTS,
    NORMAL,
    WARNING,
    EventCorrelator,
    EventRecorder,
    object_reference,
)
from kybernetes.client.rest import APIClient, resource

CONFIGMAPS = resource("v1", "configmaps")
POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "ns", "uid": "u1", "resourceVersion": "7"}}


def ev(message: str = "m", reason: str = "R", obj: dict[str, Any] = POD) -> dict[str, Any]:
    return {"metadata": {"name": "x.1", "namespace": "ns"}, "involvedObject": object_reference(obj),
            "type": NORMAL, "reason": reason, "message": message, "source": {"component": "c"},
            "firstTimestamp": "t0", "lastTimestamp": "t1", "count": 1}


def test_object_reference() -> None:
    assert object_reference(POD) == {"kind": "Pod", "namespace": "ns", "name": "web", "uid": "u1",
                                     "apiVersion": "v1", "resourceVersion": "7"}
    assert object_reference({"kind": "Node", "name": "n1", "namespace": ""}) == {"kind": "Node", "name": "n1"}


def test_identical_events_patch_the_first() -> None:
    c = EventCorrelator()
    first = c.correlate(ev(), 0.0)
    assert first.action == "create"
    c.written(first.key, dict(first.event, metadata={"name": "web.abc", "namespace": "ns"}))
    second = c.correlate(ev(), 1.0)
    assert second.action == "patch" and second.patch == {"count": 2, "lastTimestamp": "t1", "message": "m"}
    assert second.event["metadata"]["name"] == "web.abc" and second.event["firstTimestamp"] == "t0"
    assert c.correlate(ev(reason="Other"), 2.0).action == "create"


def test_similar_events_are_combined_from_the_tenth_message() -> None:
    c = EventCorrelator()
    decisions = [c.correlate(ev(message=f"m{i}"), float(i)) for i in range(12)]
    assert [d.action for d in decisions[:9]] == ["create"] * 9
    tenth = decisions[9]
    assert tenth.action == "create" and tenth.event["message"] == COMBINED_PREFIX + "m9"
    c.written(tenth.key, dict(tenth.event, metadata={"name": "web.comb", "namespace": "ns"}))
    eleventh = c.correlate(ev(message="m10"), 10.0)
    assert eleventh.action == "patch" and eleventh.event["metadata"]["name"] == "web.comb"
    assert eleventh.patch == {"count": 2, "lastTimestamp": "t1", "message": COMBINED_PREFIX + "m10"}
    # after the interval the count of distinct messages starts again
    assert c.correlate(ev(message="fresh"), 10.0 + 601).event["message"] == "fresh"


def test_spam_filter_drops_past_the_burst_and_refills() -> None:
    c = EventCorrelator(burst=3, qps=1.0)
    actions = [c.correlate(ev(message=f"m{i}"), 0.0).action for i in range(5)]
    assert actions == ["create", "create", "create", "drop", "drop"]
    assert c.correlate(ev(message="later"), 1.0).action == "create"
    other = dict(POD, metadata=dict(POD["metadata"], name="other", uid="u2"))  # type: ignore[arg-type]
    assert c.correlate(ev(obj=other), 0.0).action == "create", "the bucket is per object"


@pytest.fixture
def recorder(client: APIClient) -> EventRecorder:
    ticks = itertools.count()
    return EventRecorder(client, "kyb-test", host="node-1",
                         wall_clock=lambda: dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=next(ticks)))


async def test_repeats_become_one_event_with_a_count(client: APIClient, recorder: EventRecorder, ns: str) -> None:
    cm = await client.create(CONFIGMAPS, {"metadata": {"name": "cfg"}}, namespace=ns)
    for _ in range(3):
        recorder.event(cm, WARNING, "BackOff", "Back-off restarting")
    recorder.event(cm, NORMAL, "Synced", "ok")
    await recorder.flush()
    events = (await client.list(EVENTS, namespace=ns))["items"]
    by_reason = {e["reason"]: e for e in events}
    assert sorted(by_reason) == ["BackOff", "Synced"] and len(events) == 2
    backoff = by_reason["BackOff"]
    assert backoff["count"] == 3 and backoff["type"] == "Warning" and backoff["message"] == "Back-off restarting"
    assert backoff["firstTimestamp"] == "2025-01-01T00:00:00Z" and backoff["lastTimestamp"] == "2025-01-01T00:00:02Z"
    assert backoff["source"] == {"component": "kyb-test", "host": "node-1"}
    assert backoff["involvedObject"]["kind"] == "ConfigMap" and backoff["involvedObject"]["uid"] == cm["metadata"]["uid"]
    assert backoff["metadata"]["name"].startswith("cfg.")
    assert backoff["reportingComponent"] == "kyb-test" and backoff["reportingInstance"] == "node-1"
    await recorder.close()


async def test_deleted_event_is_created_again(client: APIClient, recorder: EventRecorder, ns: str) -> None:
    ref = {"kind": "ConfigMap", "namespace": ns, "name": "gone", "apiVersion": "v1"}
    first = await recorder.record(ref, NORMAL, "Tick", "tick")
    assert first is not None and first["count"] == 1
    await client.delete(EVENTS, first["metadata"]["name"], namespace=ns)
    again = await recorder.record(ref, NORMAL, "Tick", "tick")
    assert again is not None and again["count"] == 1
    third = await recorder.record(ref, NORMAL, "Tick", "tick")
    assert third is not None and third["count"] == 2 and third["metadata"]["name"] == again["metadata"]["name"]


async def test_cluster_scoped_objects_record_into_default(client: APIClient, recorder: EventRecorder) -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-x", "uid": "n-uid"}}
    written = await recorder.record(node, NORMAL, "NodeReady", "ready")
    assert written is not None and written["metadata"]["namespace"] == "default"
