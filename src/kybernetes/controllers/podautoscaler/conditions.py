"""The HPA's three conditions and its status block, edited as upstream's controller edits them.

AbleToScale says whether the target's scale could be read and written (and whether stabilization
held the count), ScalingActive whether a replica count could be computed from the metrics, and
ScalingLimited whether min/max or a rate policy clipped it. A condition keeps its place in the
list; its lastTransitionTime changes only when its status does.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

ABLE_TO_SCALE = "AbleToScale"
SCALING_ACTIVE = "ScalingActive"
SCALING_LIMITED = "ScalingLimited"


def set_condition(status: Obj, type_: str, value: bool, reason: str, message: str, *, now: str) -> None:
    conditions: list[Obj] = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    current = next((c for c in conditions if c.get("type") == type_), None)
    text = "True" if value else "False"
    if current is None:
        current = {"type": type_}
        conditions.append(current)
    if current.get("status") != text:
        current["lastTransitionTime"] = now
    current["status"] = text
    current["reason"] = reason
    current["message"] = message
    status["conditions"] = conditions


def get_condition(status: Obj, type_: str) -> Obj | None:
    return next(
        (c for c in status.get("conditions") or [] if isinstance(c, dict) and c.get("type") == type_), None
    )


def unable_to_compute(reason: str, error: str) -> tuple[str, str]:
    """ScalingActive=False's reason and message when a metric failed."""
    return reason, f"the HPA was unable to compute the replica count: {error}"


def rebuild_status(
    hpa: Obj, *, current: int, desired: int, metrics: list[Obj] | None, scaled_at: str | None
) -> Obj:
    """The status upstream writes after a sync: counts and metrics replaced, conditions and the
    last scale time carried over (the time renewed when the sync rescaled)."""
    old: Obj = hpa.get("status") or {}
    status: Obj = {"currentReplicas": current, "desiredReplicas": desired}
    last = scaled_at or old.get("lastScaleTime")
    if last:
        status["lastScaleTime"] = last
    if metrics:
        status["currentMetrics"] = metrics
    if old.get("conditions"):
        status["conditions"] = old["conditions"]
    generation = (hpa.get("metadata") or {}).get("generation")
    if generation is not None:
        status["observedGeneration"] = generation
    return status
