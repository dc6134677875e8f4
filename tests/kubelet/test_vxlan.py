"""The VXLAN backend decided without a kernel: the plan from Nodes, the kernel's JSON read back,
the difference and the exact `ip`/`bridge` commands (kybernetes.kubelet.vxlan)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kybernetes.kubelet.vxlan import (
    VTEP_MAC_ANNOTATION,
    Fabric,
    FabricChanges,
    MapChanges,
    Underlay,
    VxlanDevice,
    device_commands,
    device_name,
    diff_fabric,
    fabric_commands,
    find_underlay,
    node_inputs,
    normal_mac,
    parse_addresses,
    parse_device,
    parse_fabric,
    plan_vxlan,
    pod_mtu,
    vtep_mac,
)

UNDERLAY = Underlay(device="eth0", address="192.168.159.11", mtu=1500)
MAC_B = "0e:6b:0a:9f:02:00"
MAC_C = "0e:6b:0a:9f:03:00"


def node(name: str, cidr: str = "", ip: str = "", mac: str = "", *, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if mac:
        meta["annotations"] = {VTEP_MAC_ANNOTATION: mac}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    addresses = [{"type": "Hostname", "address": name}]
    if ip:
        addresses.insert(0, {"type": "InternalIP", "address": ip})
    return {"metadata": meta, "spec": {"podCIDR": cidr} if cidr else {}, "status": {"addresses": addresses}}


SELF = node("a", "10.159.1.0/24", "192.168.159.11", vtep_mac("10.159.1.0"))
B = node("b", "10.159.2.0/24", "192.168.160.12", MAC_B)
C = node("c", "10.159.3.0/24", "192.168.160.13", MAC_C)
FULL_B = Fabric(
    routes={"10.159.2.0/24": "10.159.2.0"}, neighbours={"10.159.2.0": MAC_B}, fdb={MAC_B: "192.168.160.12"}
)

PLAN_CASES = [
    pytest.param([SELF], Fabric(), id="alone"),
    pytest.param([SELF, B], FULL_B, id="one-peer-route-neighbour-fdb"),
    pytest.param(
        [C, SELF, B],
        Fabric(
            routes={"10.159.2.0/24": "10.159.2.0", "10.159.3.0/24": "10.159.3.0"},
            neighbours={"10.159.2.0": MAC_B, "10.159.3.0": MAC_C},
            fdb={MAC_B: "192.168.160.12", MAC_C: "192.168.160.13"},
        ),
        id="two-peers",
    ),
    pytest.param([SELF, node("b", "10.159.2.0/24", "192.168.160.12")], Fabric(), id="peer-without-vtep-yet"),
    pytest.param([SELF, node("b", "10.159.2.0/24", "192.168.160.12", "garbage")], Fabric(), id="garbage-mac"),
    pytest.param(
        [SELF, node("b", "10.159.2.0/24", "192.168.160.12", "01:00:5e:00:00:01")],
        Fabric(),
        id="multicast-mac",
    ),
    pytest.param([SELF, node("b", "", "192.168.160.12", MAC_B)], Fabric(), id="peer-without-pod-cidr"),
    pytest.param([SELF, node("b", "10.159.2.0/24", "", MAC_B)], Fabric(), id="peer-without-internal-ip"),
    pytest.param(
        [SELF, node("b", "10.159.2.0/24", "192.168.160.12", MAC_B, deleting=True)],
        Fabric(),
        id="peer-leaving",
    ),
    pytest.param(
        [SELF, node("b", "10.77.2.0/24", "192.168.160.12", MAC_B)], Fabric(), id="outside-cluster-cidr"
    ),
    pytest.param([SELF, node("b", "fd00:2::/64", "fd00::12", MAC_B)], Fabric(), id="ipv6-left-out"),
    pytest.param(
        [SELF, node("b", "10.159.2.0/24", "192.168.159.11", MAC_B)], Fabric(), id="peer-claims-our-address"
    ),
    pytest.param(
        [SELF, node("b", "10.159.2.9/24", "192.168.160.12", MAC_B.upper().replace(":", "-"))],
        FULL_B,
        id="host-bits-and-mac-spelling-normalised",
    ),
    pytest.param(
        [SELF, B, node("c", "10.159.3.0/24", "192.168.160.13", MAC_B)], FULL_B, id="duplicate-mac-first-wins"
    ),
]


@pytest.mark.parametrize(("nodes", "expected"), PLAN_CASES)
def test_plan_vxlan(nodes: list[dict[str, Any]], expected: Fabric) -> None:
    plan = plan_vxlan(nodes, self_name="a", underlay=UNDERLAY, cluster_cidr="10.159.0.0/16")
    assert plan.device == VxlanDevice(
        name="kyb.vxlan",
        local="192.168.159.11",
        underlay="eth0",
        mtu=1450,
        mac="0e:6b:0a:9f:01:00",
        address="10.159.1.0",
        vni=1,
        port=8472,
    )
    assert plan.fabric == expected


def test_no_device_before_this_node_has_a_pod_range() -> None:
    plan = plan_vxlan([node("a", "", "192.168.159.11"), B], self_name="a", underlay=UNDERLAY)
    assert plan.device is None and plan.fabric == Fabric()


@pytest.mark.parametrize(
    ("bridge", "name"), [("kyb0", "kyb.vxlan"), ("kybm2", "kybm2.vx"), ("averylongbridge", "averylongbri.vx")]
)
def test_device_name_fits_an_interface_name(bridge: str, name: str) -> None:
    assert device_name(bridge) == name and len(name) <= 15


@pytest.mark.parametrize(
    ("text", "mac"),
    [
        ("0E:6B:0A:9F:02:00", "0e:6b:0a:9f:02:00"),
        ("", ""),
        ("0e:6b:0a", ""),
        ("00:00:00:00:00:00", ""),
        ("zz:6b:0a:9f:02:00", ""),
        ("03:00:00:00:00:01", ""),
    ],
)
def test_normal_mac(text: str, mac: str) -> None:
    assert normal_mac(text) == mac


def test_mtu_and_mac_derivation() -> None:
    assert pod_mtu(1500) == 1450 and pod_mtu(9000) == 8950
    assert vtep_mac("10.42.7.0") == "0e:6b:0a:2a:07:00"


@pytest.mark.parametrize(
    ("old", "new", "changed"),
    [
        pytest.param(
            B, {**B, "status": {**B["status"], "conditions": [{"type": "Ready"}]}}, False, id="heartbeat"
        ),
        pytest.param(B, node("b", "10.159.2.0/24", "192.168.160.12", MAC_C), True, id="new-vtep-mac"),
        pytest.param(B, node("b", "10.159.2.0/24", "192.168.160.99", MAC_B), True, id="new-address"),
        pytest.param(
            B, node("b", "10.159.2.0/24", "192.168.160.12", MAC_B, deleting=True), True, id="deleting"
        ),
    ],
)
def test_only_plan_inputs_trigger_a_sync(old: dict[str, Any], new: dict[str, Any], changed: bool) -> None:
    assert (node_inputs(old) != node_inputs(new)) is changed


# ---- what the kernel shows (shapes as iproute2 6.1 prints them) ----

ADDRS = json.dumps(
    [
        {
            "ifname": "lo",
            "mtu": 65536,
            "addr_info": [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8}],
        },
        {
            "ifname": "eth0",
            "mtu": 1400,
            "addr_info": [{"family": "inet", "local": "192.168.159.11", "prefixlen": 24}],
        },
    ]
)
LINK = json.dumps(
    [
        {
            "ifname": "kyb.vxlan",
            "flags": ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"],
            "mtu": 1450,
            "address": "0e:6b:0a:9f:01:00",
            "linkinfo": {
                "info_kind": "vxlan",
                "info_data": {
                    "id": 1,
                    "local": "192.168.159.11",
                    "link": "eth0",
                    "port": 8472,
                    "learning": False,
                },
            },
        }
    ]
)


def test_find_underlay_is_the_interface_with_the_node_address() -> None:
    assert find_underlay(ADDRS, "192.168.159.11") == Underlay("eth0", "192.168.159.11", 1400)
    assert find_underlay(ADDRS, "192.168.160.12") is None


def test_parse_device_and_addresses() -> None:
    assert parse_device(LINK) == {
        "vni": 1,
        "port": 8472,
        "local": "192.168.159.11",
        "underlay": "eth0",
        "learning": False,
        "mac": "0e:6b:0a:9f:01:00",
        "mtu": 1450,
        "up": True,
    }
    assert parse_device(json.dumps([{"ifname": "kyb.vxlan", "linkinfo": {"info_kind": "bridge"}}])) is None
    assert parse_device("[]") is None
    assert parse_addresses(
        json.dumps([{"addr_info": [{"family": "inet", "local": "10.159.1.0", "prefixlen": 32}]}])
    ) == ["10.159.1.0/32"]


def test_parse_fabric() -> None:
    routes = json.dumps(
        [{"dst": "10.159.2.0/24", "gateway": "10.159.2.0", "flags": ["onlink"]}, {"dst": "default"}]
    )
    neigh = json.dumps([{"dst": "10.159.2.0", "lladdr": "0E:6B:0A:9F:02:00", "state": ["PERMANENT"]}])
    fdb = json.dumps(
        [
            {"mac": MAC_B, "dst": "192.168.160.12", "flags": ["self"], "state": "permanent"},
            {"mac": "00:00:00:00:00:00", "dst": "239.1.1.1"},
            {"mac": "0e:6b:0a:9f:01:00", "flags": ["self"]},
        ]
    )
    assert parse_fabric(routes, neigh, fdb) == FULL_B


# ---- difference and commands ----

WANT = VxlanDevice(
    name="kyb.vxlan",
    local="192.168.159.11",
    underlay="eth0",
    mtu=1450,
    mac="0e:6b:0a:9f:01:00",
    address="10.159.1.0",
)
CREATE = [
    "ip",
    "link",
    "add",
    "kyb.vxlan",
    "address",
    "0e:6b:0a:9f:01:00",
    "mtu",
    "1450",
    "type",
    "vxlan",
    "id",
    "1",
    "local",
    "192.168.159.11",
    "dev",
    "eth0",
    "dstport",
    "8472",
    "nolearning",
]
UP = ["ip", "link", "set", "kyb.vxlan", "up"]
ADDR = ["ip", "addr", "add", "10.159.1.0/32", "dev", "kyb.vxlan"]
AS_WANTED = parse_device(LINK)
assert AS_WANTED is not None

DEVICE_CASES = [
    pytest.param(None, [], [CREATE, UP, ADDR], id="missing-created"),
    pytest.param(AS_WANTED, ["10.159.1.0/32"], [], id="as-wanted-nothing"),
    pytest.param(
        {**AS_WANTED, "mtu": 1500},
        ["10.159.1.0/32"],
        [["ip", "link", "set", "kyb.vxlan", "mtu", "1450"]],
        id="mtu-set-in-place",
    ),
    pytest.param({**AS_WANTED, "up": False}, ["10.159.1.0/32"], [UP], id="down-brought-up"),
    pytest.param(
        AS_WANTED,
        ["10.159.7.0/32"],
        [["ip", "addr", "del", "10.159.7.0/32", "dev", "kyb.vxlan"], ADDR],
        id="old-pod-range-address-replaced",
    ),
    pytest.param(
        {**AS_WANTED, "port": 4789},
        ["10.159.1.0/32"],
        [["ip", "link", "del", "kyb.vxlan"], CREATE, UP, ADDR],
        id="other-port-recreated",
    ),
    pytest.param(
        {**AS_WANTED, "local": "192.168.159.99"},
        [],
        [["ip", "link", "del", "kyb.vxlan"], CREATE, UP, ADDR],
        id="other-local-address-recreated",
    ),
    pytest.param(
        {**AS_WANTED, "learning": True},
        [],
        [["ip", "link", "del", "kyb.vxlan"], CREATE, UP, ADDR],
        id="learning-recreated",
    ),
]


@pytest.mark.parametrize(("current", "addresses", "expected"), DEVICE_CASES)
def test_device_commands(
    current: dict[str, Any] | None, addresses: list[str], expected: list[list[str]]
) -> None:
    assert device_commands(current, addresses, WANT) == expected


def test_diff_and_commands_add_then_remove_a_peer() -> None:
    added = diff_fabric(Fabric(), FULL_B)
    assert fabric_commands(added, "kyb.vxlan") == [
        ["ip", "neigh", "replace", "10.159.2.0", "lladdr", MAC_B, "dev", "kyb.vxlan", "nud", "permanent"],
        ["bridge", "fdb", "replace", MAC_B, "dev", "kyb.vxlan", "dst", "192.168.160.12", "self", "permanent"],
        [
            "ip",
            "route",
            "replace",
            "10.159.2.0/24",
            "via",
            "10.159.2.0",
            "dev",
            "kyb.vxlan",
            "onlink",
            "proto",
            "250",
        ],
    ]
    assert not diff_fabric(FULL_B, FULL_B)
    removed = diff_fabric(FULL_B, Fabric())
    assert fabric_commands(removed, "kyb.vxlan") == [
        ["ip", "route", "del", "10.159.2.0/24", "via", "10.159.2.0", "dev", "kyb.vxlan", "proto", "250"],
        ["ip", "neigh", "del", "10.159.2.0", "dev", "kyb.vxlan"],
        ["bridge", "fdb", "del", MAC_B, "dev", "kyb.vxlan", "dst", "192.168.160.12", "self"],
    ]


def test_a_peer_that_moved_is_repointed_not_removed() -> None:
    moved = Fabric(routes=FULL_B.routes, neighbours=FULL_B.neighbours, fdb={MAC_B: "192.168.160.99"})
    assert diff_fabric(FULL_B, moved) == FabricChanges(
        routes=MapChanges({}, {}),
        neighbours=MapChanges({}, {}),
        fdb=MapChanges({MAC_B: "192.168.160.99"}, {}),
    )


@pytest.mark.parametrize(
    ("mtu", "expected"),
    [pytest.param(0, None, id="host-gw-default"), pytest.param(1450, 1450, id="vxlan-underlay-minus-50")],
)
def test_cni_conflist_carries_the_pod_mtu(mtu: int, expected: int | None) -> None:
    from pathlib import Path

    from kybernetes.kubelet.containerd import ContainerdSettings, render_cni_conflist

    conf = render_cni_conflist(
        ContainerdSettings(root_dir=Path("/nonexistent"), node_name="a", pod_cidr="10.159.1.0/24", mtu=mtu)
    )
    assert conf["plugins"][0].get("mtu") == expected
