"""Endpoints subsets from a Service and its pods (pure decisions)."""

from __future__ import annotations

from typing import Any

import pytest
from endpoint_objects import pod, svc

from kybernetes.controllers import endpoints as epc

Obj = dict[str, Any]


def ips(subsets: list[Obj], field: str = "addresses") -> list[str]:
    return [a["ip"] for s in subsets for a in s.get(field) or []]


@pytest.mark.parametrize(("pods", "ready", "not_ready"), [
    pytest.param([pod("a"), pod("b", "10.42.0.2")], ["10.42.0.1", "10.42.0.2"], [], id="ready-pods"),
    pytest.param([pod("a", ready=False)], [], ["10.42.0.1"], id="not-ready"),
    pytest.param([pod("a", ip="")], [], [], id="no-ip-yet"),
    pytest.param([pod("a", phase="Succeeded")], [], [], id="finished"),
    pytest.param([pod("a", deleting=True)], [], [], id="terminating-excluded"),
    pytest.param([pod("a", labels={"app": "other"})], [], [], id="not-selected"),
])
def test_subsets(pods: list[Obj], ready: list[str], not_ready: list[str]) -> None:
    subsets = epc.compute_subsets(svc(), pods)
    assert ips(subsets) == ready and ips(subsets, "notReadyAddresses") == not_ready


def test_publish_not_ready_lists_everyone_as_ready_including_terminating() -> None:
    subsets = epc.compute_subsets(svc(publish=True), [pod("a", ready=False), pod("b", "10.42.0.2", deleting=True)])
    assert ips(subsets) == ["10.42.0.1", "10.42.0.2"]


def test_named_target_port_resolved_per_pod_and_grouped_by_port_set() -> None:
    subsets = epc.compute_subsets(svc(), [pod("a", port=8080), pod("b", "10.42.0.2", port=9090),
                                          pod("c", "10.42.0.3", port=8080)])
    assert [(s["ports"][0]["port"], ips([s])) for s in subsets] == [
        (8080, ["10.42.0.1", "10.42.0.3"]), (9090, ["10.42.0.2"])]


def test_pod_without_the_named_port_is_left_out() -> None:
    p = pod("a")
    p["spec"]["containers"][0]["ports"] = []
    assert epc.compute_subsets(svc(), [p]) == []


def test_numeric_target_port_and_default_to_port() -> None:
    s = svc(ports=[{"name": "a", "port": 80, "targetPort": 8000}, {"name": "b", "port": 81}])
    subsets = epc.compute_subsets(s, [pod("a")])
    assert [(p["name"], p["port"]) for p in subsets[0]["ports"]] == [("a", 8000), ("b", 81)]


def test_headless_without_ports_and_hostname() -> None:
    s = svc(ports=[], cluster_ip="None")
    subsets = epc.compute_subsets(s, [pod("a", hostname="host-a")])
    assert subsets == [{"addresses": [{"ip": "10.42.0.1", "hostname": "host-a", "nodeName": "n1",
                                       "targetRef": {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "u-a"}}]}]
    assert epc.endpoints_labels(s) == {"service.kubernetes.io/headless": ""}


def test_desired_endpoints_no_write_when_unchanged() -> None:
    body = epc.desired_endpoints(svc(), [pod("a")], None, "T")
    assert body is not None and body["metadata"]["annotations"][epc.TRIGGER_TIME] == "T"
    assert epc.desired_endpoints(svc(), [pod("a")], body, "T2") is None
    changed = epc.desired_endpoints(svc(), [pod("a", ready=False)], body, "T3")
    assert changed is not None and ips(changed["subsets"], "notReadyAddresses") == ["10.42.0.1"]


def test_go_time_nano() -> None:
    import datetime as dt

    assert epc.go_time_nano(dt.datetime(2025, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)) == "2025-01-02T03:04:05.12Z"
    assert epc.go_time_nano(dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2025-01-02T03:04:05Z"
