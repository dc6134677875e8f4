"""Stabilization windows, scaling policies and limits, with and without spec.behavior."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.controllers.podautoscaler.behavior import (
    DOWN_LIMIT,
    DOWN_STABILIZED,
    TOO_FEW,
    TOO_MANY,
    UP_LIMIT,
    UP_STABILIZED,
    WITHIN_RANGE,
    History,
    Recommendation,
    ScaleEvent,
    normalize_legacy,
    normalize_with_behavior,
    record_initial,
    scale_down_limit,
    scale_up_limit,
    scaling_rules,
    store_scale_event,
)

NOW = 1_000_000.0
Obj = dict[str, Any]


def recs(*pairs: tuple[int, float]) -> History:
    """A history whose recommendations are (replicas, seconds ago)."""
    return History(recommendations=[Recommendation(r, NOW - ago) for r, ago in pairs])


def rules(*policies: tuple[str, int, int], select: str = "Max", window: int | None = None) -> Obj:
    out: Obj = {
        "selectPolicy": select,
        "policies": [{"type": t, "value": v, "periodSeconds": p} for t, v, p in policies],
    }
    if window is not None:
        out["stabilizationWindowSeconds"] = window
    return out


def events(*pairs: tuple[int, float]) -> list[ScaleEvent]:
    return [ScaleEvent(change, NOW - ago) for change, ago in pairs]


# --- without behavior ---------------------------------------------------------------------------
LEGACY_CASES = [
    # (history, current, desired, min, max, want replicas, limited, limit reason, able reason)
    (recs(), 3, 5, 1, 10, 5, False, WITHIN_RANGE, "ReadyForNewScale"),
    (recs(), 1, 10, 1, 20, 4, True, UP_LIMIT, "ReadyForNewScale"),  # max(2 x 1, 4)
    (recs(), 3, 10, 1, 20, 6, True, UP_LIMIT, "ReadyForNewScale"),  # 2 x 3
    (recs(), 3, 10, 1, 5, 5, True, TOO_MANY, "ReadyForNewScale"),
    (recs(), 3, 0, 2, 10, 2, True, TOO_FEW, "ReadyForNewScale"),
    (recs((5, 100)), 5, 2, 1, 10, 5, False, WITHIN_RANGE, DOWN_STABILIZED[0]),  # within 300 s window
    (recs((5, 301)), 5, 2, 1, 10, 2, False, WITHIN_RANGE, "ReadyForNewScale"),  # outside it
    (recs((4, 100), (6, 200)), 6, 1, 1, 10, 6, False, WITHIN_RANGE, DOWN_STABILIZED[0]),
]


@pytest.mark.parametrize(
    ("history", "current", "desired", "lo", "hi", "want", "limited", "limit", "able"),
    LEGACY_CASES,
    ids=[
        "within",
        "up-limit-minimum-4",
        "up-limit-double",
        "too-many",
        "too-few",
        "down-stabilized",
        "window-passed",
        "highest-in-window",
    ],
)
def test_normalize_legacy(
    history: History,
    current: int,
    desired: int,
    lo: int,
    hi: int,
    want: int,
    limited: bool,
    limit: tuple[str, str],
    able: str,
) -> None:
    out = normalize_legacy(
        history, current=current, desired=desired, min_replicas=lo, max_replicas=hi, now=NOW
    )
    assert (out.replicas, out.limited, out.limit, out.able[0]) == (want, limited, limit, able)


def test_legacy_stabilization_reuses_an_outdated_slot() -> None:
    h = recs((5, 400), (3, 100))
    normalize_legacy(h, current=3, desired=2, min_replicas=1, max_replicas=10, now=NOW)
    assert [(r.replicas, r.at) for r in h.recommendations] == [(2, NOW), (3, NOW - 100)]


def test_record_initial_only_once() -> None:
    h = History()
    record_initial(h, 3, NOW)
    record_initial(h, 7, NOW + 1)
    assert [(r.replicas, r.at) for r in h.recommendations] == [(3, NOW)]


# --- with behavior ------------------------------------------------------------------------------
DEFAULT_BEHAVIOR: Obj = {}  # both directions take the API's defaults
FAST_DOWN: Obj = {"scaleDown": {"stabilizationWindowSeconds": 0}}

BEHAVIOR_CASES = [
    # (behavior, history, current, desired, min, max, want, limited, limit reason, able reason)
    # default scale-up: max(+4 pods, +100%) per 15 s
    (DEFAULT_BEHAVIOR, recs(), 1, 10, 1, 20, 5, True, UP_LIMIT, "ReadyForNewScale"),
    (DEFAULT_BEHAVIOR, recs(), 6, 20, 1, 30, 12, True, UP_LIMIT, "ReadyForNewScale"),
    (DEFAULT_BEHAVIOR, recs(), 6, 20, 1, 10, 10, True, TOO_MANY, "ReadyForNewScale"),
    # default scale-down: stabilized over 300 s
    (DEFAULT_BEHAVIOR, recs((5, 200)), 5, 1, 1, 10, 5, False, WITHIN_RANGE, DOWN_STABILIZED[0]),
    (DEFAULT_BEHAVIOR, recs((5, 301)), 5, 1, 1, 10, 1, False, WITHIN_RANGE, "ReadyForNewScale"),
    # a zero scale-down window acts at once, down to the minimum
    (FAST_DOWN, recs((5, 10)), 5, 1, 2, 10, 2, True, TOO_FEW, "ReadyForNewScale"),
    # scale-up window: the lowest recent recommendation wins
    (
        {"scaleUp": {"stabilizationWindowSeconds": 60}},
        recs((3, 30)),
        2,
        6,
        1,
        10,
        3,
        False,
        WITHIN_RANGE,
        UP_STABILIZED[0],
    ),
    # disabled scale down
    (
        {"scaleDown": {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}},
        recs(),
        5,
        1,
        1,
        10,
        5,
        True,
        DOWN_LIMIT,
        "ReadyForNewScale",
    ),
    # Pods policy on scale down: at most 1 pod per minute
    (
        {"scaleDown": rules(("Pods", 1, 60), window=0)},
        recs(),
        5,
        1,
        1,
        10,
        4,
        True,
        DOWN_LIMIT,
        "ReadyForNewScale",
    ),
    # Percent policy rounds up on scale up: 3 x 1.1 = 3.3 -> 4
    ({"scaleUp": rules(("Percent", 10, 60))}, recs(), 3, 10, 1, 10, 4, True, UP_LIMIT, "ReadyForNewScale"),
    # disabled scale up
    (
        {"scaleUp": rules(("Pods", 4, 15), select="Disabled")},
        recs(),
        3,
        10,
        1,
        10,
        3,
        True,
        UP_LIMIT,
        "ReadyForNewScale",
    ),
]


@pytest.mark.parametrize(
    ("behavior", "history", "current", "desired", "lo", "hi", "want", "limited", "limit", "able"),
    BEHAVIOR_CASES,
    ids=[
        "default-up-4-pods",
        "default-up-100-percent",
        "default-up-max-replicas",
        "default-down-window",
        "default-down-window-passed",
        "zero-window-to-min",
        "up-window-lowest",
        "down-disabled",
        "down-pods-policy",
        "up-percent-rounds-up",
        "up-disabled",
    ],
)
def test_normalize_with_behavior(
    behavior: Obj,
    history: History,
    current: int,
    desired: int,
    lo: int,
    hi: int,
    want: int,
    limited: bool,
    limit: tuple[str, str],
    able: str,
) -> None:
    out = normalize_with_behavior(
        history, behavior, current=current, desired=desired, min_replicas=lo, max_replicas=hi, now=NOW
    )
    assert (out.replicas, out.limited, out.limit, out.able[0]) == (want, limited, limit, able)


def test_controller_default_down_window_applies_when_unset() -> None:
    out = normalize_with_behavior(
        recs((5, 30)),
        DEFAULT_BEHAVIOR,
        current=5,
        desired=1,
        min_replicas=1,
        max_replicas=10,
        now=NOW,
        default_down_window=20,
    )
    assert out.replicas == 1


LIMIT_CASES = [
    # (up?, rules, up events, down events, current, want)
    (True, rules(("Pods", 4, 60)), events(), events(), 3, 7),
    (True, rules(("Pods", 4, 60)), events((3, 30)), events(), 6, 7),  # 3 of the 4 already added
    (True, rules(("Pods", 4, 60)), events((3, 61)), events(), 6, 10),  # that was before the period
    (True, rules(("Pods", 4, 60), ("Percent", 100, 60)), events(), events(), 6, 12),
    (True, rules(("Pods", 4, 60), ("Percent", 100, 60), select="Min"), events(), events(), 6, 10),
    (True, rules(("Pods", 2, 60)), events(), events((2, 10)), 4, 8),  # removed pods widen the start
    (False, rules(("Percent", 50, 60)), events(), events(), 10, 5),
    (False, rules(("Percent", 50, 60)), events(), events((5, 30)), 5, 5),  # half already removed
    (False, rules(("Percent", 50, 60), ("Pods", 1, 60)), events(), events(), 10, 5),
    (False, rules(("Percent", 50, 60), ("Pods", 1, 60), select="Min"), events(), events(), 10, 9),
    (False, rules(("Percent", 30, 60)), events(), events(), 5, 3),  # 5 x 0.7 = 3.5 truncated
    (False, rules(("Pods", 1, 60), select="Disabled"), events(), events(), 5, 5),
]


@pytest.mark.parametrize(
    ("up", "r", "ups", "downs", "current", "want"),
    LIMIT_CASES,
    ids=[
        "up-pods",
        "up-pods-used",
        "up-pods-expired",
        "up-max-policy",
        "up-min-policy",
        "up-after-down",
        "down-percent",
        "down-percent-used",
        "down-max-policy",
        "down-min-policy",
        "down-percent-truncates",
        "down-disabled",
    ],
)
def test_rate_limits(
    up: bool, r: Obj, ups: list[ScaleEvent], downs: list[ScaleEvent], current: int, want: int
) -> None:
    limit = scale_up_limit if up else scale_down_limit
    assert limit(current, ups, downs, r, NOW) == want


def test_store_scale_event_reuses_outdated_entries() -> None:
    h = History(up=events((2, 100), (1, 5)))
    behavior = {"scaleUp": rules(("Pods", 4, 60))}
    store_scale_event(h, behavior, previous=3, new=6, now=NOW)
    assert [(e.change, e.at) for e in h.up] == [(3, NOW), (1, NOW - 5)]
    store_scale_event(h, behavior, previous=6, new=4, now=NOW)
    assert [(e.change, e.at) for e in h.down] == [(2, NOW)]
    store_scale_event(h, None, previous=4, new=1, now=NOW)  # no behavior: nothing kept
    assert len(h.down) == 1


def test_scaling_rules_defaults() -> None:
    assert scaling_rules(None, up=True) == {
        "selectPolicy": "Max",
        "stabilizationWindowSeconds": 0,
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }
    down = scaling_rules({"scaleDown": {"stabilizationWindowSeconds": 60}}, up=False)
    assert down == {
        "selectPolicy": "Max",
        "stabilizationWindowSeconds": 60,
        "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
    }
    assert "stabilizationWindowSeconds" not in scaling_rules(
        None, up=False
    )  # the controller's window applies
