"""HorizontalPodAutoscaler, kept in the autoscaling/v2 shape whichever version is served.

The store converts a v1 request body with ``api.conversion.hpa_v1_to_v2`` before calling this
strategy, so every method here sees v2 objects.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import child, index, invalid, not_supported, required

DEFAULT_CPU_UTILIZATION = 80
_METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")


def _scaling_rules(rules: Any, *, up: bool) -> Obj:
    out: Obj = dict(rules) if isinstance(rules, dict) else {}
    if out.get("selectPolicy") is None:
        out["selectPolicy"] = "Max"
    if up and out.get("stabilizationWindowSeconds") is None:
        out["stabilizationWindowSeconds"] = 0
    if out.get("policies") is None:
        if up:
            out["policies"] = [{"type": "Pods", "value": 4, "periodSeconds": 15},
                               {"type": "Percent", "value": 100, "periodSeconds": 15}]
        else:
            out["policies"] = [{"type": "Percent", "value": 100, "periodSeconds": 15}]
    return out


def default_hpa(obj: Obj) -> None:
    s = spec(obj)
    if s.get("minReplicas") is None:
        s["minReplicas"] = 1
    if not s.get("metrics"):
        s["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
    behavior = s.get("behavior")
    if isinstance(behavior, dict):
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), up=True)
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), up=False)


@register("autoscaling", "HorizontalPodAutoscaler")
class HorizontalPodAutoscalerStrategy(KindStrategy):
    has_status = True

    def default(self, obj: Obj) -> None:
        default_hpa(obj)

    def initial_status(self, obj: Obj) -> Any:
        return {"desiredReplicas": 0}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes: list[Cause] = []
        ref = s.get("scaleTargetRef") or {}
        if not ref.get("kind"):
            causes.append(required("spec.scaleTargetRef.kind"))
        if not ref.get("name"):
            causes.append(required("spec.scaleTargetRef.name"))
        mn, mx = s.get("minReplicas"), s.get("maxReplicas")
        if isinstance(mn, int) and mn < 1:
            causes.append(invalid("spec.minReplicas", mn, "must be greater than or equal to 1"))
        if not isinstance(mx, int) or mx < 1:
            causes.append(invalid("spec.maxReplicas", mx, "must be greater than 0"))
        elif isinstance(mn, int) and mx < mn:
            causes.append(invalid("spec.maxReplicas", mx, "must be greater than or equal to `minReplicas`"))
        for i, m in enumerate(s.get("metrics") or []):
            p = index("spec.metrics", i)
            typ = m.get("type") or ""
            if not typ:
                causes.append(required(child(p, "type"), "must specify a metric source type"))
            elif typ not in _METRIC_TYPES:
                causes.append(not_supported(child(p, "type"), typ, _METRIC_TYPES))
            util = get(m, "resource", "target", "averageUtilization")
            if isinstance(util, int) and util <= 0:
                causes.append(invalid(child(p, "resource", "target", "averageUtilization"), util,
                                      "must be greater than 0"))
        return causes
