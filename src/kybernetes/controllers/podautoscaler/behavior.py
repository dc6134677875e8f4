"""From the count the metrics ask for to the count the autoscaler sets: stabilization and rate limits.

The metrics' answer is noisy, so it is not applied directly. Each HPA keeps a `History` in the
controller's memory (as upstream; a restarted controller starts afresh):

- *recommendations*: every raw answer with its time. Stabilization picks, for a scale down, the
  highest answer within the scale-down window (default 300 s) and, for a scale up, the lowest
  within the scale-up window (default 0 s), so the count follows only a sustained change.
- *scale events*: every change the autoscaler made, by direction. A rate policy (Pods: add or
  remove at most N pods, Percent: at most N% of the count at the start of the period, each per
  periodSeconds) limits the next change by what was already done within its period; selectPolicy
  Max takes the most permissive policy, Min the least, Disabled forbids that direction.

Without ``spec.behavior`` upstream's older rules apply: scale-down stabilization over the
controller's window and a scale-up limit of max(2 x current, 4) per sync.

Outdated entries are reused rather than appended, so each list stays as long as the number of
syncs within its longest window. All functions take ``now`` (epoch seconds); they mutate only the
`History` they are given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_DOWNSCALE_STABILIZATION = (
    300.0  # seconds (upstream --horizontal-pod-autoscaler-downscale-stabilization)
)
LEGACY_SCALE_UP_FACTOR = 2.0
LEGACY_SCALE_UP_MINIMUM = 4.0

ABLE_STABLE = ("ReadyForNewScale", "recommended size matches current size")
UP_STABILIZED = (
    "ScaleUpStabilized",
    "recent recommendations were lower than current one, applying the lowest recent recommendation",
)
DOWN_STABILIZED = (
    "ScaleDownStabilized",
    "recent recommendations were higher than current one, applying the highest recent recommendation",
)
WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
UP_LIMIT = ("ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate")
DOWN_LIMIT = ("ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")


@dataclass(slots=True)
class Recommendation:
    replicas: int
    at: float


@dataclass(slots=True)
class ScaleEvent:
    change: int  # pods added (scale-up list) or removed (scale-down list), never negative
    at: float
    outdated: bool = False


@dataclass(slots=True)
class History:
    recommendations: list[Recommendation] = field(default_factory=list)
    up: list[ScaleEvent] = field(default_factory=list)
    down: list[ScaleEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Normalized:
    replicas: int
    able: tuple[str, str]  # AbleToScale (True) reason and message
    limited: bool  # ScalingLimited status
    limit: tuple[str, str]  # ScalingLimited reason and message


def scaling_rules(behavior: Mapping[str, Any] | None, *, up: bool) -> dict[str, Any]:
    """The scaleUp/scaleDown rules with the API's defaults filled in (the API server defaults them
    already; this keeps an object written before that, or by hand, from breaking the loop)."""
    raw = (behavior or {}).get("scaleUp" if up else "scaleDown")
    rules: dict[str, Any] = dict(raw) if isinstance(raw, Mapping) else {}
    if rules.get("selectPolicy") is None:
        rules["selectPolicy"] = "Max"
    if up and rules.get("stabilizationWindowSeconds") is None:
        rules["stabilizationWindowSeconds"] = 0
    if rules.get("policies") is None:
        rules["policies"] = (
            [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ]
            if up
            else [{"type": "Percent", "value": 100, "periodSeconds": 15}]
        )
    return rules


def record_initial(history: History, current: int, now: float) -> None:
    """The first sync remembers the current count, so a fresh HPA does not scale down at once."""
    if not history.recommendations:
        history.recommendations.append(Recommendation(current, now))


def _record(history: History, replicas: int, now: float, old_index: int | None) -> None:
    if old_index is not None:
        history.recommendations[old_index] = Recommendation(replicas, now)
    else:
        history.recommendations.append(Recommendation(replicas, now))


# --- without spec.behavior -------------------------------------------------------------------------
def stabilize_legacy(history: History, desired: int, now: float, window: float) -> int:
    best = desired
    old_index: int | None = None
    cutoff = now - window
    for i, rec in enumerate(history.recommendations):
        if rec.at < cutoff:
            old_index = i
        elif rec.replicas > best:
            best = rec.replicas
    _record(history, desired, now, old_index)
    return best


def legacy_scale_up_limit(current: int) -> int:
    return int(max(LEGACY_SCALE_UP_FACTOR * current, LEGACY_SCALE_UP_MINIMUM))


def normalize_legacy(
    history: History,
    *,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    now: float,
    window: float = DEFAULT_DOWNSCALE_STABILIZATION,
) -> Normalized:
    stabilized = stabilize_legacy(history, desired, now, window)
    able = DOWN_STABILIZED if stabilized != desired else ABLE_STABLE
    limit_up = legacy_scale_up_limit(current)
    if max_replicas > limit_up:
        ceiling, over = limit_up, UP_LIMIT
    else:
        ceiling, over = max_replicas, TOO_MANY
    if stabilized < min_replicas:
        out, limit = min_replicas, TOO_FEW
    elif stabilized > ceiling:
        out, limit = ceiling, over
    else:
        out, limit = stabilized, WITHIN_RANGE
    return Normalized(out, able, out != stabilized, limit)


# --- with spec.behavior ----------------------------------------------------------------------------
def stabilize_with_behavior(
    history: History, *, current: int, desired: int, up_window: float, down_window: float, now: float
) -> tuple[int, tuple[str, str]]:
    up_rec = down_rec = desired
    up_cutoff, down_cutoff = now - up_window, now - down_window
    old_index: int | None = None
    for i, rec in enumerate(history.recommendations):
        if rec.at > up_cutoff:
            up_rec = min(rec.replicas, up_rec)
        if rec.at > down_cutoff:
            down_rec = max(rec.replicas, down_rec)
        if rec.at < up_cutoff and rec.at < down_cutoff:
            old_index = i
    out = min(max(current, up_rec), down_rec)
    _record(history, desired, now, old_index)
    return out, (UP_STABILIZED if desired >= current else DOWN_STABILIZED)


def _changed_within(period: float, events: list[ScaleEvent], now: float) -> int:
    cutoff = now - period
    return sum(e.change for e in events if e.at > cutoff)


def scale_up_limit(
    current: int, up: list[ScaleEvent], down: list[ScaleEvent], rules: Mapping[str, Any], now: float
) -> int:
    """The highest count the policies allow now."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    proposals = []
    for p in rules.get("policies") or []:
        period = float(p.get("periodSeconds") or 0)
        start = current - _changed_within(period, up, now) + _changed_within(period, down, now)
        value = int(p.get("value") or 0)
        if p.get("type") == "Pods":
            proposals.append(start + value)
        elif p.get("type") == "Percent":
            # rounded up, or a small count could never grow
            proposals.append(math.ceil(start * (1 + value / 100)))
    if not proposals:
        return current
    return min(proposals) if select == "Min" else max(proposals)


def scale_down_limit(
    current: int, up: list[ScaleEvent], down: list[ScaleEvent], rules: Mapping[str, Any], now: float
) -> int:
    """The lowest count the policies allow now."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    proposals = []
    for p in rules.get("policies") or []:
        period = float(p.get("periodSeconds") or 0)
        start = current - _changed_within(period, up, now) + _changed_within(period, down, now)
        value = int(p.get("value") or 0)
        if p.get("type") == "Pods":
            proposals.append(start - value)
        elif p.get("type") == "Percent":
            proposals.append(int(start * (1 - value / 100)))
    if not proposals:
        return current
    return max(proposals) if select == "Min" else min(proposals)


def _limit_rate(
    history: History,
    *,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    up_rules: Mapping[str, Any],
    down_rules: Mapping[str, Any],
    now: float,
) -> tuple[int, tuple[str, str]]:
    if desired > current:
        limit = max(scale_up_limit(current, history.up, history.down, up_rules, now), current)
        if max_replicas > limit:
            ceiling, reason = limit, UP_LIMIT
        else:
            ceiling, reason = max_replicas, TOO_MANY
        if desired > ceiling:
            return ceiling, reason
    elif desired < current:
        limit = min(scale_down_limit(current, history.up, history.down, down_rules, now), current)
        if min_replicas < limit:
            floor, reason = limit, DOWN_LIMIT
        else:
            floor, reason = min_replicas, TOO_FEW
        if desired < floor:
            return floor, reason
    return desired, WITHIN_RANGE


def normalize_with_behavior(
    history: History,
    behavior: Mapping[str, Any],
    *,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    now: float,
    default_down_window: float = DEFAULT_DOWNSCALE_STABILIZATION,
) -> Normalized:
    up_rules = scaling_rules(behavior, up=True)
    down_rules = scaling_rules(behavior, up=False)
    down_window = down_rules.get("stabilizationWindowSeconds")
    stabilized, stabilized_reason = stabilize_with_behavior(
        history,
        current=current,
        desired=desired,
        up_window=float(up_rules["stabilizationWindowSeconds"]),
        down_window=float(default_down_window if down_window is None else down_window),
        now=now,
    )
    able = stabilized_reason if stabilized != desired else ABLE_STABLE
    out, limit = _limit_rate(
        history,
        current=current,
        desired=stabilized,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        up_rules=up_rules,
        down_rules=down_rules,
        now=now,
    )
    return Normalized(out, able, out != stabilized, limit)


def _longest_period(rules: Mapping[str, Any]) -> float:
    return max((float(p.get("periodSeconds") or 0) for p in rules.get("policies") or []), default=0.0)


def store_scale_event(
    history: History, behavior: Mapping[str, Any] | None, *, previous: int, new: int, now: float
) -> None:
    """Remember a change the autoscaler made (only HPAs with a behavior use them)."""
    if behavior is None:
        return
    up = new > previous
    events = history.up if up else history.down
    cutoff = now - _longest_period(scaling_rules(behavior, up=up))
    old_index: int | None = None
    for i, e in enumerate(events):
        if e.at < cutoff:
            e.outdated = True
        if e.outdated:
            old_index = i
    event = ScaleEvent(abs(new - previous), now)
    if old_index is not None:
        events[old_index] = event
    else:
        events.append(event)
