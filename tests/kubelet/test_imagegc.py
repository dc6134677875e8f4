"""Image GC decisions: when to free, how much, and which images (table tests)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.imagegc import (
    Image,
    ImageGCPolicy,
    ImageRecord,
    ImageRecords,
    bytes_to_free,
    free_space_failed_message,
    images_in_use,
    images_to_free,
    images_too_old,
)

GB = 1 << 30


@pytest.mark.parametrize(
    ("capacity", "available", "policy", "amount"),
    [
        pytest.param(100 * GB, 50 * GB, ImageGCPolicy(), 0, id="half-full-nothing"),
        pytest.param(100 * GB, 16 * GB, ImageGCPolicy(), 0, id="84-percent-below-high"),
        pytest.param(100 * GB, 15 * GB, ImageGCPolicy(), 5 * GB, id="85-percent-frees-down-to-80"),
        pytest.param(100 * GB, 5 * GB, ImageGCPolicy(), 15 * GB, id="95-percent"),
        pytest.param(
            100 * GB,
            5 * GB,
            ImageGCPolicy(high_threshold_percent=100, low_threshold_percent=80),
            0,
            id="high-100-turns-gc-off",
        ),
        pytest.param(
            100 * GB,
            90 * GB,
            ImageGCPolicy(high_threshold_percent=1, low_threshold_percent=0),
            10 * GB,
            id="forced-low-thresholds-free-everything-used",
        ),
        pytest.param(0, 0, ImageGCPolicy(), 0, id="zero-capacity"),
    ],
)
def test_bytes_to_free(capacity: int, available: int, policy: ImageGCPolicy, amount: int) -> None:
    assert bytes_to_free(capacity, available, policy) == amount


def rec(first: float, last: float = 0.0, size: int = GB, pinned: bool = False) -> ImageRecord:
    return ImageRecord(first_detected=first, last_used=last, size=size, pinned=pinned)


NOW = 10_000.0
FREE_CASES: list[Any] = [
    pytest.param(
        {"a": rec(0, 500), "b": rec(0, 100), "c": rec(0, 900)},
        set(),
        2 * GB,
        ["b", "a"],
        id="least-recently-used-first-until-enough",
    ),
    pytest.param(
        {"a": rec(10, 100), "b": rec(5, 100)}, set(), 5 * GB, ["b", "a"], id="ties-by-first-detected"
    ),
    pytest.param({"a": rec(0), "b": rec(0)}, {"a"}, 5 * GB, ["b"], id="in-use-is-kept"),
    pytest.param({"a": rec(0, pinned=True), "b": rec(0)}, set(), 5 * GB, ["b"], id="pinned-is-kept"),
    pytest.param(
        {"a": rec(NOW - 60), "b": rec(0)}, set(), 5 * GB, ["b"], id="younger-than-min-age-is-skipped"
    ),
    pytest.param({"pause": rec(0), "b": rec(0)}, set(), 5 * GB, ["b"], id="protected-pause-is-kept"),
    pytest.param({"a": rec(0)}, set(), 0, [], id="nothing-to-free"),
]


@pytest.mark.parametrize(("records", "in_use", "amount", "order"), FREE_CASES)
def test_images_to_free(
    records: dict[str, ImageRecord], in_use: set[str], amount: int, order: list[str]
) -> None:
    assert images_to_free(records, in_use, amount=amount, now=NOW, min_age=120, protected={"pause"}) == order


def test_images_too_old_waits_for_the_agent_to_have_run_max_age() -> None:
    records = {"a": rec(0, 100), "b": rec(0, NOW - 10), "used": rec(0, 0)}
    assert images_too_old(records, {"used"}, now=NOW, started=NOW - 100, max_age=600) == []
    assert images_too_old(records, {"used"}, now=NOW, started=0, max_age=600) == ["a"]
    assert images_too_old(records, set(), now=NOW, started=0, max_age=0) == []


def test_records_track_first_detected_and_last_used() -> None:
    r = ImageRecords()
    r.detect([Image("a", size=5), Image("b", size=7)], {"a"}, now=100)
    r.detect([Image("a", size=5), Image("b", size=7)], set(), now=200)
    assert (r.records["a"].first_detected, r.records["a"].last_used) == (100, 100)
    assert (r.records["b"].first_detected, r.records["b"].last_used) == (100, 0)
    r.detect([Image("b", size=7, pinned=True)], set(), now=300)
    assert list(r.records) == ["b"] and r.records["b"].pinned


def test_images_in_use_match_any_name() -> None:
    images = [
        Image("sha256:1", ("docker.io/library/busybox:1.36", "docker.io/library/busybox@sha256:d")),
        Image("sha256:2", ("kybernetes.local/gc-test:1",)),
        Image("sha256:3", ()),
    ]
    used = images_in_use(images, {"docker.io/library/busybox@sha256:d", "sha256:3", ""})
    assert used == {"sha256:1", "sha256:3"}


@pytest.mark.parametrize(
    ("policy", "problem"),
    [
        pytest.param(ImageGCPolicy(), "", id="defaults-valid"),
        pytest.param(
            ImageGCPolicy(high_threshold_percent=101), "must be between 0 and 100", id="high-over-100"
        ),
        pytest.param(
            ImageGCPolicy(high_threshold_percent=80, low_threshold_percent=80),
            "must be less than",
            id="low-not-below-high",
        ),
        pytest.param(
            ImageGCPolicy(max_age=60), "imageMaximumGCAge must be greater", id="max-age-below-min-age"
        ),
    ],
)
def test_policy_validation(policy: ImageGCPolicy, problem: str) -> None:
    problems = policy.validate()
    assert (problem in " ".join(problems)) if problem else problems == []


def test_free_space_failed_message_is_upstreams() -> None:
    assert free_space_failed_message(10, 3) == (
        "Failed to garbage collect required amount of images. Attempted to free 10 bytes, "
        "but only found 3 bytes eligible to free."
    )
