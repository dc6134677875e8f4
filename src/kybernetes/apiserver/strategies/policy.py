"""PodDisruptionBudget (policy/v1)."""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.apps import validate_int_or_percent
from kybernetes.apiserver.strategies.base import KindStrategy
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import invalid, not_supported, validate_label_selector

_EVICTION_POLICIES = ("AlwaysAllow", "IfHealthyBudget")


@register("policy", "PodDisruptionBudget")
class PodDisruptionBudgetStrategy(KindStrategy):
    has_status = True
    tracks_generation = True

    def initial_status(self, obj: Obj) -> Any:
        return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes: list[Cause] = []
        if s.get("minAvailable") is not None and s.get("maxUnavailable") is not None:
            causes.append(invalid("spec", s, "minAvailable and maxUnavailable cannot be both set"))
        for f in ("minAvailable", "maxUnavailable"):
            causes.extend(validate_int_or_percent(s.get(f), f"spec.{f}"))
        causes.extend(validate_label_selector(s.get("selector"), "spec.selector"))
        uhpep = s.get("unhealthyPodEvictionPolicy")
        if uhpep and uhpep not in _EVICTION_POLICIES:
            causes.append(not_supported("spec.unhealthyPodEvictionPolicy", uhpep, _EVICTION_POLICIES))
        return causes

