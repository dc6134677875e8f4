"""Lease-based leader election: the pure rules, and two candidates against a real `kyb server`."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from kybernetes.client.leaderelection import (
    LEASES,
    LeaderElectionConfig,
    LeaderElector,
    held_by_other,
    micro_time,
    next_lease_spec,
)
from kybernetes.client.rest import APIClient

T0 = dt.datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
STAMP = "2025-01-02T03:04:05.678901Z"


def test_micro_time() -> None:
    assert micro_time(T0) == STAMP


@pytest.mark.parametrize(("current", "expected"), [
    pytest.param(None, {"holderIdentity": "me", "leaseDurationSeconds": 15, "acquireTime": STAMP,
                        "renewTime": STAMP, "leaseTransitions": 0}, id="create"),
    pytest.param({"holderIdentity": "me", "acquireTime": "earlier", "renewTime": "x", "leaseTransitions": 3},
                 {"holderIdentity": "me", "leaseDurationSeconds": 15, "acquireTime": "earlier",
                  "renewTime": STAMP, "leaseTransitions": 3}, id="renew-keeps-acquire-and-transitions"),
    pytest.param({"holderIdentity": "other", "acquireTime": "earlier", "leaseTransitions": 3},
                 {"holderIdentity": "me", "leaseDurationSeconds": 15, "acquireTime": STAMP,
                  "renewTime": STAMP, "leaseTransitions": 4}, id="takeover-counts-a-transition"),
    pytest.param({"holderIdentity": "", "leaseTransitions": 1},
                 {"holderIdentity": "me", "leaseDurationSeconds": 15, "acquireTime": STAMP,
                  "renewTime": STAMP, "leaseTransitions": 2}, id="released-lease"),
])
def test_next_lease_spec(current: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert next_lease_spec(current, "me", lease_duration=15.0, now=T0) == expected


@pytest.mark.parametrize(("spec", "observed_at", "now", "held"), [
    pytest.param({"holderIdentity": "other", "leaseDurationSeconds": 15}, 100.0, 114.9, True, id="fresh"),
    pytest.param({"holderIdentity": "other", "leaseDurationSeconds": 15}, 100.0, 115.0, False, id="expired"),
    pytest.param({"holderIdentity": "me", "leaseDurationSeconds": 15}, 100.0, 101.0, False, id="mine"),
    pytest.param({"holderIdentity": "", "leaseDurationSeconds": 15}, 100.0, 101.0, False, id="free"),
])
def test_held_by_other(spec: dict[str, Any], observed_at: float, now: float, held: bool) -> None:
    assert held_by_other(spec, "me", observed_at=observed_at, now=now) is held


def test_config_checks_timing() -> None:
    with pytest.raises(ValueError):
        LeaderElectionConfig("ns", "l", "me", lease_duration=10, renew_deadline=10)
    with pytest.raises(ValueError):
        LeaderElectionConfig("ns", "l", "")


class Candidate:
    def __init__(self, client: APIClient, name: str, lease: str, *, release: bool = False) -> None:
        self.events: list[str] = []
        self.leading = asyncio.Event()
        cfg = LeaderElectionConfig("default", lease, name, lease_duration=2, renew_deadline=1.5, retry_period=0.2,
                                   release_on_cancel=release)
        self.elector = LeaderElector(client, cfg, on_started_leading=self.lead,
                                     on_stopped_leading=lambda: self.events.append("stopped"),
                                     on_new_leader=lambda who: self.events.append(f"leader={who}"))
        self.task = asyncio.create_task(self.elector.run())

    async def lead(self) -> None:
        self.events.append("started")
        self.leading.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.events.append("cancelled")
            raise

    async def crash(self) -> None:
        """Stop renewing without releasing, as a killed process would."""
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_second_candidate_takes_over_after_the_lease_expires(client: APIClient) -> None:
    a = Candidate(client, "a", "expire")
    await asyncio.wait_for(a.leading.wait(), 5)
    b = Candidate(client, "b", "expire")
    await asyncio.sleep(0.7)
    assert not b.leading.is_set() and b.elector.leader == "a" and a.elector.is_leader()
    await a.crash()
    assert a.events == ["leader=a", "started", "cancelled", "stopped"]
    start = asyncio.get_running_loop().time()
    await asyncio.wait_for(b.leading.wait(), 5)
    waited = asyncio.get_running_loop().time() - start
    assert 1.0 < waited < 3.5, waited  # about one lease duration after b last saw a renew
    lease = await client.get(LEASES, "expire", namespace="default")
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1
    assert lease["spec"]["leaseDurationSeconds"] == 2 and lease["spec"]["renewTime"].endswith("Z")
    assert b.events == ["leader=a", "leader=b", "started"]
    await b.crash()


async def test_release_hands_over_at_once(client: APIClient) -> None:
    a = Candidate(client, "a", "release", release=True)
    await asyncio.wait_for(a.leading.wait(), 5)
    b = Candidate(client, "b", "release")
    await asyncio.sleep(0.3)
    await a.crash()
    start = asyncio.get_running_loop().time()
    await asyncio.wait_for(b.leading.wait(), 5)
    assert asyncio.get_running_loop().time() - start < 1.2
    await b.crash()


async def test_leader_that_cannot_renew_stops_leading(client: APIClient) -> None:
    a = Candidate(client, "a", "stolen")
    await asyncio.wait_for(a.leading.wait(), 5)
    lease = await client.get(LEASES, "stolen", namespace="default")
    lease["spec"]["holderIdentity"] = "intruder"  # someone else wrote the lease: a's renewals now fail
    await client.update(LEASES, lease)
    await asyncio.wait_for(a.task, 5)  # run() returns once leadership is lost
    assert a.events[-2:] == ["cancelled", "stopped"] and not a.elector.is_leader()
    assert "leader=intruder" in a.events
