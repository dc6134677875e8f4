"""Crash-loop / image-pull back-off: doubling, cap, reset after a long good run, Go durations."""

from __future__ import annotations

import pytest

from kybernetes.kubelet.backoff import CrashLoopBackoff, go_duration


@pytest.mark.parametrize(("seconds", "want"), [
    (0, "0s"), (10, "10s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s"), (3725, "1h2m5s"),
], ids=["zero", "10s", "40s", "80s", "160s", "cap", "hours"])
def test_go_duration(seconds: float, want: str) -> None:
    assert go_duration(seconds) == want


def test_doubling_up_to_the_cap() -> None:
    b = CrashLoopBackoff()
    t = 1000.0
    delays = []
    for _ in range(8):
        # The container crashes 1 s after each (re)start; the next restart waits out the delay.
        left = b.in_backoff("k", t, since=t)
        t += left or 0
        delays.append(b.record_failure("k", t, since=t - (left or 0)))
        t += 1
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]


@pytest.mark.parametrize(("elapsed", "want"), [
    (0.0, 10.0), (4.0, 6.0), (9.5, 0.5), (10.0, None), (30.0, None),
], ids=["just-failed", "partway", "almost", "exactly-over", "long-over"])
def test_seconds_left(elapsed: float, want: float | None) -> None:
    b = CrashLoopBackoff()
    b.record_failure("k", 100.0)   # first crash: restarted at once, 10 s armed
    assert b.in_backoff("k", 150.0 + elapsed, since=150.0) == want  # second crash at 150


def test_unknown_key_is_never_in_backoff() -> None:
    assert CrashLoopBackoff().in_backoff("nope", 5.0) is None


@pytest.mark.parametrize(("ran_for", "next_delay", "waits"), [
    (30.0, 80.0, True), (599.0, 80.0, True), (601.0, 10.0, False), (3600.0, 10.0, False),
], ids=["short-run", "just-under-10m", "just-over-10m", "an-hour"])
def test_reset_after_a_long_successful_run(ran_for: float, next_delay: float, waits: bool) -> None:
    b = CrashLoopBackoff()
    b.record_failure("k", 0.0)               # crash 1: restart at once, 10 s armed
    b.record_failure("k", 20.0, since=10.0)  # crash 2: 20 s armed
    b.record_failure("k", 50.0, since=30.0)  # crash 3: 40 s armed, restarted at 50
    crashed = 50.0 + ran_for
    assert (b.in_backoff("k", crashed, since=crashed) is not None) == waits
    assert b.record_failure("k", crashed + 40, since=crashed) == next_delay


def test_image_pull_style_since_last_record() -> None:
    b = CrashLoopBackoff()
    assert b.record_failure("img", 0.0) == 10
    assert b.in_backoff("img", 3.0) == 7.0
    assert b.in_backoff("img", 10.0) is None
    assert b.record_failure("img", 10.5) == 20
    assert b.in_backoff("img", 20.5) == 10.0
    assert b.delay("img") == 20


def test_forget_and_gc() -> None:
    b = CrashLoopBackoff(initial=1, cap=4)
    b.record_failure("a", 0.0)
    b.record_failure("b", 5.0)
    b.forget("a")
    assert b.in_backoff("a", 0.5) is None and len(b) == 1
    b.gc(now=5.0 + 8.0 + 0.1)  # reset_after = 2 * cap
    assert len(b) == 0
