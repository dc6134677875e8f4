"""The garbage-collection pause policy: freeze after each full collection, thaw at most once per
interval, log long pauses — with fake clock and fake freeze/unfreeze (the test process's own
collector is left alone)."""

from __future__ import annotations

import logging

import pytest

from kybernetes.util.gcpauses import PausePolicy, after_full_collection


@pytest.mark.parametrize(
    ("now", "last_thaw", "interval", "expected"),
    [
        pytest.param(100.0, 0.0, 600.0, "freeze", id="soon-after-thaw"),
        pytest.param(599.9, 0.0, 600.0, "freeze", id="just-before-interval"),
        pytest.param(600.0, 0.0, 600.0, "thaw", id="interval-reached"),
        pytest.param(5000.0, 600.0, 600.0, "thaw", id="long-after"),
    ],
)
def test_after_full_collection(now: float, last_thaw: float, interval: float, expected: str) -> None:
    assert after_full_collection(now, last_thaw, interval) == expected


class FakeCollector:
    def __init__(self) -> None:
        self.now = 1000.0
        self.calls: list[str] = []

    def policy(self, interval: float = 600.0) -> PausePolicy:
        return PausePolicy(
            thaw_interval=interval,
            clock=lambda: self.now,
            freeze=lambda: self.calls.append("freeze"),
            unfreeze=lambda: self.calls.append("unfreeze"),
        )


def test_young_collections_are_ignored() -> None:
    fake = FakeCollector()
    policy = fake.policy()
    for generation in (0, 1):
        policy("start", {"generation": generation})
        policy("stop", {"generation": generation})
    assert fake.calls == []


def test_full_collections_freeze_then_thaw_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeCollector()
    policy = fake.policy(interval=600.0)
    steps = [(10.0, 0.01), (300.0, 0.2), (400.0, 0.01), (10.0, 0.01)]  # (time before, pause)
    with caplog.at_level(logging.WARNING, logger="kyb.server"):
        for before, pause in steps:
            fake.now += before
            policy("start", {"generation": 2})
            fake.now += pause
            policy("stop", {"generation": 2})
    # the third collection ends 710.22 s after the policy started: the heap is thawed once
    assert fake.calls == ["freeze", "freeze", "unfreeze", "freeze"]
    assert policy.pauses == 1
    assert [r.getMessage() for r in caplog.records] == ["garbage collection paused the server for 200 ms"]
