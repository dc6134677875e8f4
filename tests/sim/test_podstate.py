"""The simulated kubelet's pod decisions: (pod, now, behaviour) -> PodPlan, table-driven."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kybernetes.sim.podstate import PodPlan, container_id, effective_behaviour, plan_pod
from kybernetes.sim.profile import PodBehaviour
from kybernetes.util.times import rfc3339

T0 = 1_800_000_000.0
HOST = "198.18.0.7"
IP = "10.42.3.9"


def pod(*, status: dict[str, Any] | None = None, restart: str = "Always", deleting: float | None = None,
        grace: int = 30, annotations: dict[str, str] | None = None, init: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "ns", "uid": "u-1", "resourceVersion": "5"}
    if annotations:
        meta["annotations"] = annotations
    if deleting is not None:
        meta["deletionTimestamp"] = rfc3339(deleting + grace)
        meta["deletionGracePeriodSeconds"] = grace
    spec: dict[str, Any] = {"nodeName": "n", "restartPolicy": restart,
                            "containers": [{"name": "a", "image": "img:1"}, {"name": "b", "image": "img:2"}]}
    if init:
        spec["initContainers"] = [{"name": "setup", "image": "init:1"},
                                  {"name": "proxy", "image": "side:1", "restartPolicy": "Always"}]
    return {"metadata": meta, "spec": spec,
            "status": status if status is not None else {"phase": "Pending", "qosClass": "BestEffort"}}


def running(since: float = T0, restarts: int = 0) -> dict[str, Any]:
    p = pod()
    st = plan_pod(p, since, PodBehaviour(), host_ip=HOST, pod_ip=IP).status
    assert st is not None
    for cs in st["containerStatuses"]:
        cs["restartCount"] = restarts
    return st


def cond(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c.get("reason", "")) for c in status["conditions"]}


def test_first_sight_goes_running() -> None:
    plan = plan_pod(pod(), T0, PodBehaviour(), host_ip=HOST, pod_ip=IP)
    st = plan.status
    assert st is not None and plan.recheck_at is None and not plan.delete_uid
    assert st["phase"] == "Running" and st["qosClass"] == "BestEffort"
    assert (st["hostIP"], st["podIP"], st["podIPs"], st["hostIPs"]) == (HOST, IP, [{"ip": IP}], [{"ip": HOST}])
    assert st["startTime"] == rfc3339(T0)
    assert cond(st) == {t: ("True", "") for t in ("PodReadyToStartContainers", "Initialized", "Ready",
                                                   "ContainersReady", "PodScheduled")}
    a, b = st["containerStatuses"]
    assert a == {"name": "a", "image": "img:1", "imageID": "sim://img:1", "containerID": container_id("u-1", "a", 0),
                 "ready": True, "started": True, "restartCount": 0, "lastState": {},
                 "state": {"running": {"startedAt": rfc3339(T0)}}}
    assert b["containerID"].startswith("sim://") and b["containerID"] != a["containerID"]


def test_same_input_same_plan() -> None:
    p = pod()
    assert plan_pod(p, T0, PodBehaviour(), host_ip=HOST, pod_ip=IP) == plan_pod(
        copy.deepcopy(p), T0, PodBehaviour(), host_ip=HOST, pod_ip=IP)


def test_keeps_scheduler_condition_time_and_foreign_conditions() -> None:
    p = pod(status={"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"},
        {"type": "example.com/gate", "status": "False"}]})
    st = plan_pod(p, T0, PodBehaviour(), host_ip=HOST, pod_ip=IP).status
    assert st is not None
    by_type = {c["type"]: c for c in st["conditions"]}
    assert by_type["PodScheduled"]["lastTransitionTime"] == "2020-01-01T00:00:00Z"
    assert by_type["example.com/gate"] == {"type": "example.com/gate", "status": "False"}


def test_init_containers() -> None:
    st = plan_pod(pod(init=True), T0, PodBehaviour(), host_ip=HOST, pod_ip=IP).status
    assert st is not None
    setup, proxy = st["initContainerStatuses"]
    assert setup["state"]["terminated"]["reason"] == "Completed" and setup["ready"] is True
    assert proxy["state"] == {"running": {"startedAt": rfc3339(T0)}} and proxy["started"] is True


PENDING = {"phase": "Pending", "startTime": rfc3339(T0), "qosClass": "Burstable"}
SLOW = PodBehaviour(startup_delay=5)
JOB = PodBehaviour(complete_after=10)
FAILING = PodBehaviour(complete_after=10, exit_code=1)


@pytest.mark.parametrize("p, now, behaviour, expect", [
    pytest.param(pod(), T0 + 0.4, SLOW, {"phase": "Pending", "recheck": T0 + 6}, id="startup-delay-pending"),
    pytest.param(pod(status=PENDING), T0 + 3, SLOW, {"recheck": T0 + 5}, id="still-starting"),
    pytest.param(pod(status=PENDING), T0 + 5, SLOW, {"phase": "Running"}, id="started-after-delay"),
    pytest.param(pod(status=running()), T0 + 99, PodBehaviour(), {}, id="running-forever-idle"),
    pytest.param(pod(status=running(), restart="Never"), T0 + 4, JOB, {"recheck": T0 + 10}, id="job-not-yet"),
    pytest.param(pod(status=running(), restart="Never"), T0 + 10, JOB, {"phase": "Succeeded", "exit": (0, "Completed")},
                 id="never-exit-0-succeeds"),
    pytest.param(pod(status=running(), restart="Never"), T0 + 10, FAILING, {"phase": "Failed", "exit": (1, "Error")},
                 id="never-exit-1-fails"),
    pytest.param(pod(status=running(), restart="OnFailure"), T0 + 12, JOB, {"phase": "Succeeded", "exit": (0, "Completed")},
                 id="onfailure-exit-0-succeeds"),
    pytest.param(pod(status=running(), restart="OnFailure"), T0 + 12, FAILING,
                 {"phase": "Running", "restarts": 1, "recheck": T0 + 22}, id="onfailure-exit-1-restarts"),
    pytest.param(pod(status=running(), restart="Always"), T0 + 10, JOB,
                 {"phase": "Running", "restarts": 1, "recheck": T0 + 20}, id="always-restarts"),
    pytest.param(pod(status={**running(), "phase": "Succeeded"}), T0 + 50, JOB, {}, id="terminal-idle"),
    pytest.param(pod(status=running(), deleting=T0), T0 + 0.5, PodBehaviour(stop_time=1),
                 {"recheck": T0 + 1}, id="deleting-stopping"),
    pytest.param(pod(status=running(), deleting=T0), T0 + 1, PodBehaviour(stop_time=1), {"delete": "u-1"},
                 id="deleting-stopped"),
    pytest.param(pod(status=running(), deleting=T0, grace=2), T0 + 2, PodBehaviour(stop_time=60),
                 {"delete": "u-1"}, id="grace-caps-stop-time"),
    pytest.param(pod(status={**running(), "phase": "Failed"}, deleting=T0), T0, PodBehaviour(stop_time=60),
                 {"delete": "u-1"}, id="terminal-deleted-at-once"),
    pytest.param(pod(annotations={"sim.kybernetes.io/complete-after": "3s", "sim.kybernetes.io/exit-code": "2"},
                     status=running(), restart="Never"), T0 + 3, PodBehaviour(),
                 {"phase": "Failed", "exit": (2, "Error")}, id="annotations-override"),
])
def test_transitions(p: dict[str, Any], now: float, behaviour: PodBehaviour, expect: dict[str, Any]) -> None:
    plan = plan_pod(p, now, behaviour, host_ip=HOST, pod_ip=IP)
    if not expect:
        assert plan == PodPlan() and plan.idle
        return
    assert plan.recheck_at == expect.get("recheck")
    assert plan.delete_uid == expect.get("delete", "")
    if "phase" not in expect:
        assert plan.status is None
        return
    st = plan.status
    assert st is not None and st["phase"] == expect["phase"]
    if "exit" in expect:
        code, reason = expect["exit"]
        for cs in st["containerStatuses"]:
            term = cs["state"]["terminated"]
            assert (term["exitCode"], term["reason"]) == (code, reason)
            assert term["finishedAt"] == rfc3339(now) and term["startedAt"] == rfc3339(T0)
            assert cs["ready"] is False
        ready = cond(st)["Ready"]
        assert ready == ("False", "PodCompleted" if code == 0 else "ContainersNotReady")
    if "restarts" in expect:
        for cs in st["containerStatuses"]:
            assert cs["restartCount"] == expect["restarts"]
            assert cs["lastState"]["terminated"]["startedAt"] == rfc3339(T0)
            assert cs["state"] == {"running": {"startedAt": rfc3339(now)}}
            assert cs["containerID"] == container_id("u-1", cs["name"], expect["restarts"])
    if expect["phase"] == "Pending":
        assert cond(st)["Ready"] == ("False", "ContainersNotReady")
        assert all(cs["state"] == {"waiting": {"reason": "ContainerCreating"}} for cs in st["containerStatuses"])
        assert "podIP" not in st


@pytest.mark.parametrize("annotations, field, value", [
    pytest.param({"sim.kybernetes.io/startup-delay": "2s"}, "startup_delay", 2.0, id="startup-delay"),
    pytest.param({"sim.kybernetes.io/complete-after": "never"}, "complete_after", None, id="never-completes"),
    pytest.param({"sim.kybernetes.io/stop-time": "100ms"}, "stop_time", 0.1, id="stop-time"),
    pytest.param({"sim.kybernetes.io/exit-code": "999"}, "exit_code", 255, id="exit-code-clamped"),
    pytest.param({"sim.kybernetes.io/stop-time": "later"}, "stop_time", 1.0, id="malformed-ignored"),
])
def test_annotation_overrides(annotations: dict[str, str], field: str, value: Any) -> None:
    base = PodBehaviour(complete_after=5)
    assert getattr(effective_behaviour(base, annotations), field) == value
