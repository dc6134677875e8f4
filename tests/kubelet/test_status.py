"""generate_pod_status: phase, conditions, container statuses, readiness, times."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.runtime_state import (
    ContainerState,
    RuntimeContainer,
    RuntimePod,
    RuntimeSandbox,
    SandboxState,
)
from kybernetes.kubelet.status import generate_pod_status, get_phase, rfc3339

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
NOW = T0 + 600
R, X, C, U = ContainerState.RUNNING, ContainerState.EXITED, ContainerState.CREATED, ContainerState.UNKNOWN


def make_pod(containers: list[str], init: list[str] | None = None, *, policy: str = "Always",
             sidecars: tuple[str, ...] = (), status: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {"restartPolicy": policy, "containers": [{"name": n, "image": f"img-{n}"} for n in containers]}
    if init:
        s["initContainers"] = [{"name": n, "image": f"img-{n}", **({"restartPolicy": "Always"} if n in sidecars else {})}
                               for n in init]
    s.update(spec)
    p: dict[str, Any] = {"metadata": {"name": "web", "namespace": "default", "uid": "u1"}, "spec": s}
    if status is not None:
        p["status"] = status
    return p


def ctr(name: str, state: ContainerState, attempt: int = 0, exit_code: int | None = None, *, reason: str = "",
        message: str = "") -> RuntimeContainer:
    exited = state == X
    return RuntimeContainer(
        id=f"{name}-{attempt}", name=name, attempt=attempt, state=state, sandbox_id="sb1", image=f"img-{name}",
        image_ref=f"sha256:{name}", created_at=T0 + attempt * 10, started_at=T0 + attempt * 10 + 1,
        finished_at=T0 + attempt * 10 + 5 if exited else None, exit_code=(exit_code or 0) if exited else None,
        reason=reason, message=message)


def rt(*containers: RuntimeContainer, ready: bool = True, ip: str = "10.42.0.5") -> RuntimePod:
    sb = RuntimeSandbox(id="sb1", state=SandboxState.READY if ready else SandboxState.NOTREADY, attempt=0,
                        created_at=T0, ip=ip, additional_ips=("fd00::5",) if ip else ())
    return RuntimePod(uid="u1", name="web", namespace="default", sandboxes=[sb], containers=list(containers))


def gen(pod: dict[str, Any], r: RuntimePod | None, *, ready: dict[str, bool] | None = None,
        started: dict[str, bool] | None = None, waiting: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    return generate_pod_status(
        pod, r, now=NOW, probe_ready=(ready or {}).get, probe_started=(started or {}).get, waiting=waiting or {},
        host_ip="192.0.2.1", host_ips=["192.0.2.1"])


def conds(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c.get("reason", ""), c.get("message", "")) for c in status["conditions"]}


def cs(status: dict[str, Any], name: str, init: bool = False) -> dict[str, Any]:
    key = "initContainerStatuses" if init else "containerStatuses"
    return next(s for s in status[key] if s["name"] == name)


def test_rfc3339() -> None:
    assert rfc3339(T0) == "2023-11-14T22:13:20Z"
    assert rfc3339(None) is None


def test_new_pod_nothing_running() -> None:
    st = gen(make_pod(["b", "a"]), None)
    assert st["phase"] == "Pending"
    assert conds(st) == {
        "PodReadyToStartContainers": ("False", "", ""),
        "Initialized": ("True", "", ""),
        "Ready": ("False", "ContainersNotReady", "containers with unready status: [b a]"),
        "ContainersReady": ("False", "ContainersNotReady", "containers with unready status: [b a]"),
        "PodScheduled": ("True", "", ""),
    }
    assert [c["type"] for c in st["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert [s["name"] for s in st["containerStatuses"]] == ["a", "b"]  # sorted by name, as upstream
    assert cs(st, "a") == {"name": "a", "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
                           "ready": False, "started": False, "restartCount": 0, "image": "img-a", "imageID": ""}
    assert st["startTime"] == rfc3339(NOW) and st["qosClass"] == "BestEffort"
    assert st["hostIP"] == "192.0.2.1" and st["hostIPs"] == [{"ip": "192.0.2.1"}]
    assert "podIP" not in st and "initContainerStatuses" not in st


def test_init_containers_pending() -> None:
    st = gen(make_pod(["a"], ["i1", "i2"]), rt(ctr("i1", R)))
    assert st["phase"] == "Pending"
    assert [s["name"] for s in st["initContainerStatuses"]] == ["i1", "i2"]
    assert cs(st, "i1", True)["state"]["running"] == {"startedAt": rfc3339(T0 + 1)}
    assert cs(st, "i2", True)["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert cs(st, "a")["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert conds(st)["Initialized"] == ("False", "ContainersNotInitialized", "containers with incomplete status: [i1 i2]")
    assert conds(st)["PodReadyToStartContainers"] == ("True", "", "")


def test_running_and_ready() -> None:
    st = gen(make_pod(["a"], ["i"]), rt(ctr("i", X, 0, 0), ctr("a", R, 2)))
    assert st["phase"] == "Running"
    assert all(v[0] == "True" for v in conds(st).values())
    a = cs(st, "a")
    assert a == {"name": "a", "state": {"running": {"startedAt": rfc3339(T0 + 21)}}, "lastState": {}, "ready": True,
                 "started": True, "restartCount": 2, "image": "img-a", "imageID": "sha256:a",
                 "containerID": "containerd://a-2"}
    i = cs(st, "i", True)
    assert i["ready"] is True and i["started"] is False
    assert i["state"]["terminated"] == {"exitCode": 0, "reason": "Completed", "startedAt": rfc3339(T0 + 1),
                                       "finishedAt": rfc3339(T0 + 5), "containerID": "containerd://i-0"}
    assert st["podIP"] == "10.42.0.5" and st["podIPs"] == [{"ip": "10.42.0.5"}, {"ip": "fd00::5"}]


@pytest.mark.parametrize(("probes", "ready", "started", "want_ready", "want_started"), [
    ({}, {}, {}, True, True),
    ({"readinessProbe": {}}, {}, {}, False, True),
    ({"readinessProbe": {}}, {"a": False}, {}, False, True),
    ({"readinessProbe": {}}, {"a": True}, {}, True, True),
    ({"startupProbe": {}}, {}, {}, False, False),
    ({"startupProbe": {}}, {}, {"a": True}, True, True),
    ({"startupProbe": {}, "readinessProbe": {}}, {"a": True}, {"a": False}, False, False),
], ids=["no-probes", "readiness-unknown", "readiness-failed", "readiness-ok", "startup-unknown", "startup-ok",
        "ready-but-not-started"])
def test_readiness_and_started(probes: dict[str, Any], ready: dict[str, bool], started: dict[str, bool],
                               want_ready: bool, want_started: bool) -> None:
    pod = make_pod(["a"])
    pod["spec"]["containers"][0].update(probes)
    a = cs(gen(pod, rt(ctr("a", R)), ready=ready, started=started), "a")
    assert (a["ready"], a["started"]) == (want_ready, want_started)


PHASES: list[tuple[str, dict[str, Any], RuntimePod | None, str]] = [
    ("no-runtime", make_pod(["a"]), None, "Pending"),
    ("created-is-waiting", make_pod(["a"]), rt(ctr("a", C)), "Pending"),
    ("running", make_pod(["a", "b"]), rt(ctr("a", R), ctr("b", X, 0, 1)), "Running"),
    ("one-unknown", make_pod(["a", "b"]), rt(ctr("a", R)), "Pending"),
    ("always-all-exited-restarting", make_pod(["a"]), rt(ctr("a", X, 0, 0)), "Running"),
    ("onfailure-success", make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 0, 0)), "Succeeded"),
    ("onfailure-failure-restarting", make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 0, 1)), "Running"),
    ("never-success", make_pod(["a", "b"], policy="Never"), rt(ctr("a", X, 0, 0), ctr("b", X, 0, 0)), "Succeeded"),
    ("never-one-failed", make_pod(["a", "b"], policy="Never"), rt(ctr("a", X, 0, 0), ctr("b", X, 0, 3)), "Failed"),
    ("init-failed-never", make_pod(["a"], ["i"], policy="Never"), rt(ctr("i", X, 0, 1)), "Failed"),
    ("init-failed-onfailure", make_pod(["a"], ["i"], policy="OnFailure"), rt(ctr("i", X, 0, 1)), "Pending"),
    ("sidecar-running-app-not-started", make_pod(["a"], ["s"], sidecars=("s",)), rt(ctr("s", R)), "Pending"),
    ("sidecar-and-app-running", make_pod(["a"], ["s"], sidecars=("s",)), rt(ctr("s", R), ctr("a", R)), "Running"),
    ("sidecar-running-app-done-never", make_pod(["a"], ["s"], sidecars=("s",), policy="Never"),
     rt(ctr("s", R), ctr("a", X, 0, 0)), "Running"),
    ("sidecar-exited-app-done-never", make_pod(["a"], ["s"], sidecars=("s",), policy="Never"),
     rt(ctr("s", X, 0, 137), ctr("a", X, 0, 0)), "Succeeded"),
]


@pytest.mark.parametrize(("pod", "r", "phase"), [c[1:] for c in PHASES], ids=[c[0] for c in PHASES])
def test_phase(pod: dict[str, Any], r: RuntimePod | None, phase: str) -> None:
    assert gen(pod, r)["phase"] == phase


def test_phase_when_pod_is_terminal_ignores_policy() -> None:
    statuses = [{"name": "a", "state": {"terminated": {"exitCode": 0}}, "lastState": {}}]
    assert get_phase(make_pod(["a"]), statuses) == "Running"
    assert get_phase(make_pod(["a"]), statuses, pod_is_terminal=True) == "Succeeded"


def test_completed_pod_conditions() -> None:
    st = gen(make_pod(["a"], ["i"], policy="OnFailure"), rt(ctr("i", X, 0, 0), ctr("a", X, 0, 0), ready=False))
    assert st["phase"] == "Succeeded"
    c = conds(st)
    assert c["Initialized"] == ("True", "PodCompleted", "")
    assert c["Ready"] == ("False", "PodCompleted", "") and c["ContainersReady"] == ("False", "PodCompleted", "")
    assert c["PodReadyToStartContainers"] == ("False", "", "")


def test_failed_pod_conditions_and_error_reason() -> None:
    st = gen(make_pod(["a"], policy="Never"), rt(ctr("a", X, 0, 2, message="boom")))
    assert st["phase"] == "Failed"
    assert conds(st)["ContainersReady"] == ("False", "PodFailed", "")
    term = cs(st, "a")["state"]["terminated"]
    assert (term["exitCode"], term["reason"], term["message"]) == (2, "Error", "boom")


def test_restart_count_and_last_state() -> None:
    st = gen(make_pod(["a"]), rt(ctr("a", X, 0, 1), ctr("a", X, 1, 137, reason="OOMKilled"), ctr("a", R, 2)))
    a = cs(st, "a")
    assert a["restartCount"] == 2 and "running" in a["state"]
    assert a["lastState"]["terminated"]["reason"] == "OOMKilled"
    assert a["lastState"]["terminated"]["containerID"] == "containerd://a-1"


def test_crash_loop_waiting_moves_terminated_to_last_state() -> None:
    msg = "back-off 10s restarting failed container=a pod=web_default(u1)"
    st = gen(make_pod(["a"]), rt(ctr("a", X, 0, 1), ctr("a", X, 1, 1)), waiting={"a": ("CrashLoopBackOff", msg)})
    a = cs(st, "a")
    assert a["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": msg}}
    assert a["lastState"]["terminated"]["containerID"] == "containerd://a-1"
    assert a["restartCount"] == 1 and st["phase"] == "Running"


def test_waiting_reason_not_applied_when_no_restart() -> None:
    st = gen(make_pod(["a"], policy="OnFailure"), rt(ctr("a", X, 0, 0)), waiting={"a": ("CrashLoopBackOff", "x")})
    assert "terminated" in cs(st, "a")["state"]
    st = gen(make_pod(["a"], ["i"]), rt(ctr("i", X, 0, 0)), waiting={"i": ("CrashLoopBackOff", "x")})
    assert "terminated" in cs(st, "i", True)["state"]


def test_init_crash_loop() -> None:
    st = gen(make_pod(["a"], ["i"]), rt(ctr("i", X, 0, 1), ctr("i", X, 1, 1)), waiting={"i": ("CrashLoopBackOff", "m")})
    i = cs(st, "i", True)
    assert i["state"]["waiting"]["reason"] == "CrashLoopBackOff" and i["restartCount"] == 1
    assert st["phase"] == "Pending"
    assert conds(st)["Initialized"] == ("False", "ContainersNotInitialized", "containers with incomplete status: [i]")


def test_config_error_before_first_start() -> None:
    st = gen(make_pod(["a"]), rt(), waiting={"a": ("CreateContainerConfigError", 'configmap "x" not found')})
    assert cs(st, "a")["state"] == {"waiting": {"reason": "CreateContainerConfigError",
                                                "message": 'configmap "x" not found'}}


def test_transition_times_and_start_time_are_kept() -> None:
    earlier = rfc3339(T0)
    disruption = {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI"}
    old: dict[str, Any] = {"phase": "Running", "startTime": earlier, "conditions": [
        {"type": "Ready", "status": "True", "lastTransitionTime": earlier},
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": earlier},
        {"type": "ContainersReady", "status": "False", "lastTransitionTime": earlier}, disruption]}
    st = gen(make_pod(["a"], status=old), rt(ctr("a", R)))
    times = {c["type"]: c["lastTransitionTime"] for c in st["conditions"] if c["type"] != "DisruptionTarget"}
    assert times == {"Ready": earlier, "PodScheduled": earlier, "ContainersReady": rfc3339(NOW),
                     "Initialized": rfc3339(NOW), "PodReadyToStartContainers": rfc3339(NOW)}
    assert st["conditions"][0] == disruption  # not ours: kept as is, first
    assert st["startTime"] == earlier


def test_terminal_phase_is_sticky_and_old_terminated_status_kept() -> None:
    old_a = {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}, "lastState": {},
             "ready": False, "restartCount": 0, "image": "img-a", "imageID": "sha256:a", "containerID": "containerd://a-0"}
    old = {"phase": "Succeeded", "reason": "Done", "containerStatuses": [old_a], "podIP": "10.42.0.5",
           "podIPs": [{"ip": "10.42.0.5"}]}
    st = gen(make_pod(["a"], status=old), None)
    assert st["phase"] == "Succeeded" and st["reason"] == "Done"
    assert cs(st, "a")["state"] == old_a["state"]
    assert st["podIP"] == "10.42.0.5"


def test_vanished_running_container() -> None:
    old = {"phase": "Running", "containerStatuses": [
        {"name": "a", "state": {"running": {"startedAt": rfc3339(T0)}}, "lastState": {}, "restartCount": 3}]}
    st = gen(make_pod(["a"], status=old), rt())
    a = cs(st, "a")
    assert a["lastState"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert a["lastState"]["terminated"]["exitCode"] == 137
    assert a["restartCount"] == 4
    assert st["phase"] == "Running"  # stopped, not back to Pending
    st = gen(make_pod(["a"], status=old), rt(ctr("a", U, 3)))
    assert cs(st, "a")["state"]["terminated"]["reason"] == "ContainerStatusUnknown"
    assert cs(st, "a")["restartCount"] == 4


def test_sidecar_initialized_once_started_and_counts_for_readiness() -> None:
    pod = make_pod(["a"], ["s"], sidecars=("s",))
    pod["spec"]["initContainers"][0]["readinessProbe"] = {}
    st = gen(pod, rt(ctr("s", R), ctr("a", R)), ready={"s": False})
    assert conds(st)["Initialized"][0] == "True"
    assert conds(st)["ContainersReady"] == ("False", "ContainersNotReady", "containers with unready status: [s]")
    st = gen(pod, rt(ctr("s", R), ctr("a", R)), ready={"s": True})
    assert conds(st)["Ready"][0] == "True"


def test_readiness_gates() -> None:
    gates = [{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}]
    old = {"conditions": [{"type": "example.com/lb", "status": "False"}]}
    st = gen(make_pod(["a"], readinessGates=gates, status=old), rt(ctr("a", R)))
    assert conds(st)["Ready"] == ("False", "ReadinessGatesNotReady",
                                  'the status of pod readiness gate "example.com/lb" is not "True", but False, '
                                  'corresponding condition of pod readiness gate "example.com/dns" does not exist.')
    assert conds(st)["ContainersReady"][0] == "True"


def test_host_network_pod_ip_and_qos() -> None:
    pod = make_pod(["a"], hostNetwork=True)
    pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "1"}}
    st = gen(pod, rt(ctr("a", R), ip=""))
    assert st["podIP"] == "192.0.2.1" and st["podIPs"] == [{"ip": "192.0.2.1"}]
    assert conds(st)["PodReadyToStartContainers"][0] == "True"
    assert st["qosClass"] == "Burstable"
