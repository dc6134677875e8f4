"""CIDR allocation tables: lowest free /24, occupy/release, exhaustion, foreign ranges."""

from __future__ import annotations

import pytest

from kybernetes.controllers.nodeipam import CIDRSet, node_cidrs


def test_allocates_lowest_free_and_reuses_released() -> None:
    s = CIDRSet("10.42.0.0/16", 24)
    assert [s.allocate() for _ in range(3)] == ["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"]
    s.release("10.42.1.0/24")
    assert s.allocate() == "10.42.1.0/24"
    assert s.allocate() == "10.42.3.0/24"


def test_occupied_subnets_are_never_handed_out() -> None:
    s = CIDRSet("10.42.0.0/16", 24)
    assert s.occupy("10.42.0.0/24")
    assert s.occupy("10.42.2.0/24")
    assert [s.allocate(), s.allocate()] == ["10.42.1.0/24", "10.42.3.0/24"]


@pytest.mark.parametrize("cidr", ["10.43.0.0/24", "10.42.0.0/25", "fd00::/64", "garbage"],
                         ids=["other-range", "other-size", "ipv6", "garbage"])
def test_foreign_cidrs_are_not_ours(cidr: str) -> None:
    assert not CIDRSet().occupy(cidr)


def test_exhaustion() -> None:
    s = CIDRSet("10.42.0.0/23", 24)
    assert s.allocate() == "10.42.0.0/24"
    assert s.allocate() == "10.42.1.0/24"
    assert s.allocate() is None
    assert s.used == 2


@pytest.mark.parametrize(("spec", "want"), [
    ({}, []),
    ({"podCIDR": "10.42.3.0/24"}, ["10.42.3.0/24"]),
    ({"podCIDR": "10.42.3.0/24", "podCIDRs": ["10.42.3.0/24", "fd00::/64"]}, ["10.42.3.0/24", "fd00::/64"]),
], ids=["none", "single", "dual"])
def test_node_cidrs(spec: dict[str, object], want: list[str]) -> None:
    assert node_cidrs({"spec": spec}) == want
