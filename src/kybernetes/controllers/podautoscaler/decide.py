"""One sync's decision, after the target's scale was read: the new size, why, and the status.

Pure apart from the HPA's `History`, which it updates as upstream does (a recommendation per
sync, a scale event per change the caller reports back through `record_rescale`). The order:

1. The scale was read: AbleToScale=True SucceededGetScale.
2. A target at 0 replicas (with minReplicas > 0) is left alone: scaling is disabled.
3. A target outside [minReplicas, maxReplicas] is brought to the nearest bound, without metrics.
4. Otherwise the metrics' verdict (`evaluate.evaluate_metrics`) gives a count, which
   stabilization and rate limits (`behavior`) turn into the new size. No verdict: nothing changes
   and the sync reports the failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.controllers.podautoscaler import behavior as beh
from kybernetes.controllers.podautoscaler.conditions import (
    ABLE_TO_SCALE,
    SCALING_ACTIVE,
    SCALING_LIMITED,
    rebuild_status,
    set_condition,
)
from kybernetes.controllers.podautoscaler.evaluate import Event, MetricsVerdict

Obj = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Bounds:
    """What step 2/3 says before any metric is read."""

    needs_metrics: bool
    desired: int = 0
    rescale: bool = True
    reason: str = ""


def min_replicas(hpa: Mapping[str, Any]) -> int:
    value = (hpa.get("spec") or {}).get("minReplicas")
    return value if isinstance(value, int) else 1


def max_replicas(hpa: Mapping[str, Any]) -> int:
    value = (hpa.get("spec") or {}).get("maxReplicas")
    return value if isinstance(value, int) else 1


def bounds(hpa: Mapping[str, Any], current: int) -> Bounds:
    lo, hi = min_replicas(hpa), max_replicas(hpa)
    if current == 0 and lo != 0:
        return Bounds(False, 0, rescale=False)
    if current > hi:
        return Bounds(False, hi, reason="Current number of replicas above Spec.MaxReplicas")
    if current < lo:
        return Bounds(False, lo, reason="Current number of replicas below Spec.MinReplicas")
    return Bounds(True)


@dataclass(slots=True)
class Plan:
    status: Obj  # the working status: conditions so far (counts are filled by `final_status`)
    desired: int
    rescale: bool
    reason: str = ""
    statuses: list[Obj] | None = None  # currentMetrics
    error: str = ""  # reported after the sync (a failed metric among working ones)
    failed: bool = False  # no verdict: write counts and metrics only, keep desiredReplicas
    events: list[Event] = field(default_factory=list)


def plan_sync(
    hpa: Mapping[str, Any],
    *,
    current: int,
    pre: Bounds,
    verdict: MetricsVerdict | None,
    history: beh.History,
    now: float,
    now_text: str,
    downscale_window: float = beh.DEFAULT_DOWNSCALE_STABILIZATION,
) -> Plan:
    status: Obj = dict(hpa.get("status") or {})
    status["conditions"] = [dict(c) for c in status.get("conditions") or [] if isinstance(c, dict)]
    set_condition(
        status,
        ABLE_TO_SCALE,
        True,
        "SucceededGetScale",
        "the HPA controller was able to get the target's current scale",
        now=now_text,
    )
    beh.record_initial(history, current, now)
    if not pre.needs_metrics:
        if not pre.rescale:
            set_condition(
                status,
                SCALING_ACTIVE,
                False,
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
                now=now_text,
            )
        return Plan(status, pre.desired, pre.rescale, pre.reason)
    assert verdict is not None
    ok, reason, message = verdict.active
    set_condition(status, SCALING_ACTIVE, ok, reason, message, now=now_text)
    if verdict.replicas is None:
        events = [*verdict.events, ("Warning", "FailedComputeMetricsReplicas", verdict.error)]
        return Plan(
            status,
            int(status.get("desiredReplicas") or 0),
            False,
            statuses=verdict.statuses,
            error=verdict.error,
            failed=True,
            events=events,
        )
    desired, rescale_metric = 0, ""
    if verdict.replicas > desired:
        desired, rescale_metric = verdict.replicas, verdict.metric
    why = ""
    if desired > current:
        why = f"{rescale_metric} above target"
    if desired < current:
        why = "All metrics below target"
    lo, hi = min_replicas(hpa), max_replicas(hpa)
    spec_behavior = (hpa.get("spec") or {}).get("behavior")
    if isinstance(spec_behavior, Mapping):
        norm = beh.normalize_with_behavior(
            history,
            spec_behavior,
            current=current,
            desired=desired,
            min_replicas=lo,
            max_replicas=hi,
            now=now,
            default_down_window=downscale_window,
        )
    else:
        norm = beh.normalize_legacy(
            history,
            current=current,
            desired=desired,
            min_replicas=lo,
            max_replicas=hi,
            now=now,
            window=downscale_window,
        )
    set_condition(status, ABLE_TO_SCALE, True, *norm.able, now=now_text)
    set_condition(status, SCALING_LIMITED, norm.limited, *norm.limit, now=now_text)
    return Plan(
        status,
        norm.replicas,
        norm.replicas != current,
        why,
        statuses=verdict.statuses,
        error=verdict.error,
        events=list(verdict.events),
    )


def record_rescale(
    plan: Plan,
    hpa: Mapping[str, Any],
    history: beh.History,
    *,
    current: int,
    now: float,
    now_text: str,
    error: str | None,
) -> list[Event]:
    """The scale write's outcome into the plan's status and the history; the events to record."""
    if error is not None:
        set_condition(
            plan.status,
            ABLE_TO_SCALE,
            False,
            "FailedUpdateScale",
            f"the HPA controller was unable to update the target scale: {error}",
            now=now_text,
        )
        plan.failed = True
        return [
            ("Warning", "FailedRescale", f"New size: {plan.desired}; reason: {plan.reason}; error: {error}")
        ]
    set_condition(
        plan.status,
        ABLE_TO_SCALE,
        True,
        "SucceededRescale",
        f"the HPA controller was able to update the target scale to {plan.desired}",
        now=now_text,
    )
    spec_behavior = (hpa.get("spec") or {}).get("behavior")
    beh.store_scale_event(
        history,
        spec_behavior if isinstance(spec_behavior, Mapping) else None,
        previous=current,
        new=plan.desired,
        now=now,
    )
    return [("Normal", "SuccessfulRescale", f"New size: {plan.desired}; reason: {plan.reason}")]


def final_status(hpa: Mapping[str, Any], plan: Plan, *, current: int, scaled_at: str | None) -> Obj:
    """The status to write: upstream rebuilds it from the counts, the metrics and the conditions."""
    working = {**hpa, "status": plan.status}
    desired = int(plan.status.get("desiredReplicas") or 0) if plan.failed else plan.desired
    return rebuild_status(
        working,
        current=current,
        desired=desired,
        metrics=plan.statuses,
        scaled_at=None if plan.failed else scaled_at,
    )
