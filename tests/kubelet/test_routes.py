"""Pod routes (host-gw): the plan from Nodes, the diff against owned routes, and the real kernel.

The kernel test runs in a network namespace of its own (kyb-m2-rt): routes with proto 250 are
added, repointed and removed there, while a route of another protocol is left alone.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from kybernetes.kubelet.routes import (
    HostGwBackend,
    RouteChanges,
    diff_routes,
    directly_connected,
    parse_owned_routes,
    plan_routes,
    route_inputs,
)


def node(name: str, cidr: str = "", ip: str = "", *, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    addresses = [{"type": "Hostname", "address": name}]
    if ip:
        addresses.insert(0, {"type": "InternalIP", "address": ip})
    return {"metadata": meta, "spec": {"podCIDR": cidr} if cidr else {}, "status": {"addresses": addresses}}


PLAN_CASES = [
    pytest.param([node("a", "10.52.0.0/24", "10.98.0.11")], "a", "", {}, id="only-self"),
    pytest.param([node("a", "10.52.0.0/24", "10.98.0.11"), node("b", "10.52.1.0/24", "10.98.0.12"),
                  node("c", "10.52.2.0/24", "10.98.0.13")], "a", "10.52.0.0/16",
                 {"10.52.1.0/24": "10.98.0.12", "10.52.2.0/24": "10.98.0.13"}, id="every-other-node"),
    pytest.param([node("b", "", "10.98.0.12")], "a", "", {}, id="no-pod-cidr-yet"),
    pytest.param([node("b", "10.52.1.0/24", "")], "a", "", {}, id="no-internal-ip"),
    pytest.param([node("b", "10.52.1.0/24", "10.98.0.12", deleting=True)], "a", "", {}, id="node-being-deleted"),
    pytest.param([node("b", "10.77.1.0/24", "10.98.0.12")], "a", "10.52.0.0/16", {}, id="outside-cluster-cidr"),
    pytest.param([node("b", "fd00:1::/64", "fd00::12")], "a", "", {}, id="ipv6-left-out"),
    pytest.param([node("b", "not-a-cidr", "10.98.0.12")], "a", "", {}, id="garbage-cidr"),
    pytest.param([node("b", "10.52.1.5/24", "10.98.0.12")], "a", "", {"10.52.1.0/24": "10.98.0.12"},
                 id="host-bits-normalised"),
]


@pytest.mark.parametrize(("nodes", "self_name", "cluster_cidr", "expected"), PLAN_CASES)
def test_plan_routes(nodes: list[dict[str, Any]], self_name: str, cluster_cidr: str, expected: dict[str, str]) -> None:
    assert plan_routes(nodes, self_name=self_name, cluster_cidr=cluster_cidr) == expected


DIFF_CASES = [
    pytest.param({}, {}, RouteChanges({}, []), id="nothing"),
    pytest.param({}, {"10.52.1.0/24": "10.98.0.12"}, RouteChanges({"10.52.1.0/24": "10.98.0.12"}, []), id="add"),
    pytest.param({"10.52.1.0/24": "10.98.0.12"}, {"10.52.1.0/24": "10.98.0.12"}, RouteChanges({}, []), id="in-step"),
    pytest.param({"10.52.1.0/24": "10.98.0.12"}, {"10.52.1.0/24": "10.98.0.14"},
                 RouteChanges({"10.52.1.0/24": "10.98.0.14"}, []), id="node-moved"),
    pytest.param({"10.52.1.0/24": "10.98.0.12", "10.52.2.0/24": "10.98.0.13"}, {"10.52.1.0/24": "10.98.0.12"},
                 RouteChanges({}, ["10.52.2.0/24"]), id="node-left"),
]


@pytest.mark.parametrize(("current", "desired", "expected"), DIFF_CASES)
def test_diff_routes(current: dict[str, str], desired: dict[str, str], expected: RouteChanges) -> None:
    assert diff_routes(current, desired) == expected
    assert bool(expected) == bool(expected.replace or expected.delete)


def test_parse_owned_routes_keeps_gateway_routes_inside_the_cluster_cidr() -> None:
    shown = json.dumps([
        {"dst": "10.52.1.0/24", "gateway": "10.98.0.12", "dev": "eth0", "protocol": "250", "flags": []},
        {"dst": "10.99.0.0/24", "gateway": "10.98.0.12", "dev": "eth0", "protocol": "250", "flags": []},
        {"dst": "default", "gateway": "10.98.0.1", "dev": "eth0", "protocol": "250", "flags": []},
        {"dst": "10.52.7.0/24", "dev": "kyb0", "protocol": "250", "flags": []},
    ])
    assert parse_owned_routes(shown, cluster_cidr="10.52.0.0/16") == {"10.52.1.0/24": "10.98.0.12"}
    assert parse_owned_routes("") == {}


def test_directly_connected_addresses() -> None:
    link = json.dumps([{"dst": "10.98.0.0/24", "dev": "eth0", "protocol": "kernel", "prefsrc": "10.98.0.11"},
                       {"dst": "10.52.0.0/24", "dev": "kyb0", "protocol": "kernel", "prefsrc": "10.52.0.1"},
                       {"dst": "172.30.0.7", "dev": "eth1", "protocol": "static"}])
    asked = ["10.98.0.12", "10.98.0.11", "198.18.0.4", "172.30.0.7", "bogus"]
    assert directly_connected(asked, link) == {"10.98.0.12", "172.30.0.7"}
    assert directly_connected(asked, "") == set()


NETNS = "kyb-m2-rt"


def _sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def netns() -> Iterator[str]:
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, check=False)
    _sh("ip", "netns", "add", NETNS)
    try:
        # a veth pair inside the namespace stands for the node's link (no dummy module on these machines)
        _sh("ip", "-n", NETNS, "link", "add", "m2rt0", "type", "veth", "peer", "name", "m2rt1")
        _sh("ip", "-n", NETNS, "addr", "add", "10.98.7.1/24", "dev", "m2rt0")
        for dev in ("m2rt0", "m2rt1"):
            _sh("ip", "-n", NETNS, "link", "set", dev, "up")
        # somebody else's route inside the cluster range: never touched
        _sh("ip", "-n", NETNS, "route", "add", "10.52.9.0/24", "via", "10.98.7.9", "proto", "static")
        yield NETNS
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, check=False)


async def test_host_gw_backend_in_a_network_namespace(netns: str) -> None:
    backend = HostGwBackend(cluster_cidr="10.52.0.0/16", netns=netns)
    assert await backend.owned() == {}
    # on the link: yes; no route at all in this namespace, or its own address: no
    assert await backend.reachable(["10.98.7.12", "198.18.0.1", "10.98.7.1"]) == {"10.98.7.12"}
    errors = await backend.apply(RouteChanges({"10.52.1.0/24": "10.98.7.12", "10.52.2.0/24": "10.98.7.13"}, []))
    assert errors == []
    assert await backend.owned() == {"10.52.1.0/24": "10.98.7.12", "10.52.2.0/24": "10.98.7.13"}
    assert await backend.apply(RouteChanges({"10.52.1.0/24": "10.98.7.14"}, ["10.52.2.0/24"])) == []
    assert await backend.owned() == {"10.52.1.0/24": "10.98.7.14"}
    listed = _sh("ip", "-n", netns, "route", "show", "proto", "250")
    assert "10.52.1.0/24 via 10.98.7.14" in listed
    assert "10.52.9.0/24 via 10.98.7.9" in _sh("ip", "-n", netns, "route", "show", "proto", "static")
    # an unreachable gateway is an error line, not an exception
    errors = await backend.apply(RouteChanges({"10.52.3.0/24": "10.200.0.1"}, []))
    assert len(errors) == 1 and "10.52.3.0/24" in errors[0]
    assert await backend.apply(RouteChanges({}, ["10.52.1.0/24", "10.52.5.0/24"])) == []
    assert await backend.owned() == {}


@pytest.mark.parametrize(("old", "new", "changed"), [
    pytest.param(node("b", "10.52.1.0/24", "10.98.0.12"), node("b", "10.52.1.0/24", "10.98.0.12"), False,
                 id="heartbeat"),
    pytest.param(node("b", "", "10.98.0.12"), node("b", "10.52.1.0/24", "10.98.0.12"), True, id="cidr-assigned"),
    pytest.param(node("b", "10.52.1.0/24", "10.98.0.12"), node("b", "10.52.1.0/24", "10.98.0.14"), True,
                 id="address-moved"),
    pytest.param(node("b", "10.52.1.0/24", "10.98.0.12"), node("b", "10.52.1.0/24", "10.98.0.12", deleting=True),
                 True, id="deleting"),
])
def test_only_route_inputs_trigger_a_sync(old: dict[str, Any], new: dict[str, Any], changed: bool) -> None:
    assert (route_inputs(old) != route_inputs(new)) is changed
