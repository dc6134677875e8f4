"""Conversion between autoscaling/v1 and autoscaling/v2 HorizontalPodAutoscalers.

HPAs are stored in the v2 shape and also served as v1 (``kubectl autoscale`` still writes v1).
v1 knows only a CPU utilisation target, so, as upstream does, whatever v2 can say and v1 cannot
travels in annotations on the v1 object and is lifted back out when a v1 object is written:

- ``autoscaling.alpha.kubernetes.io/metrics``: the spec metrics other than the CPU-utilisation
  one, in the v1 (v2beta1-like) MetricSpec shape;
- ``autoscaling.alpha.kubernetes.io/current-metrics``: every status current metric, same shape;
- ``autoscaling.alpha.kubernetes.io/conditions``: status conditions;
- ``autoscaling.alpha.kubernetes.io/behavior``: spec.behavior (upstream writes it with Go field
  names: ``{"ScaleUp":{"StabilizationWindowSeconds":0,...}}``).

Both functions return a new object and never mutate their argument.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

Obj = dict[str, Any]

METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior"
_ANNOTATIONS = (METRICS_ANNOTATION, CURRENT_METRICS_ANNOTATION, CONDITIONS_ANNOTATION, BEHAVIOR_ANNOTATION)

V1 = "autoscaling/v1"
V2 = "autoscaling/v2"


def _dumps(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"))


def _drop_none(d: Obj) -> Obj:
    return {k: v for k, v in d.items() if v is not None}


# --- metric specs: v2 <-> v1 (v2beta1-like) shapes --------------------------------------------


def _target_to_v1(target: Obj, value_key: str, average_key: str, utilization_key: str | None) -> Obj:
    out: Obj = {}
    if utilization_key and target.get("averageUtilization") is not None:
        out[utilization_key] = target["averageUtilization"]
    if target.get("value") is not None:
        out[value_key] = target["value"]
    if target.get("averageValue") is not None:
        out[average_key] = target["averageValue"]
    return out


def _metric_ident_to_v1(metric: Obj | None, name_key: str = "metricName", sel_key: str = "selector") -> Obj:
    metric = metric or {}
    return _drop_none({name_key: metric.get("name"), sel_key: metric.get("selector")})


def metric_spec_to_v1(m: Obj) -> Obj:
    typ = m.get("type")
    out: Obj = {"type": typ}
    if typ == "Resource" and isinstance(m.get("resource"), dict):
        r = m["resource"]
        out["resource"] = {"name": r.get("name"), **_target_to_v1(r.get("target") or {}, "targetValue",
                                                                    "targetAverageValue", "targetAverageUtilization")}
        out["resource"].pop("targetValue", None)
    elif typ == "ContainerResource" and isinstance(m.get("containerResource"), dict):
        r = m["containerResource"]
        out["containerResource"] = {"name": r.get("name"), "container": r.get("container"),
                                    **_target_to_v1(r.get("target") or {}, "targetValue", "targetAverageValue",
                                                    "targetAverageUtilization")}
        out["containerResource"].pop("targetValue", None)
    elif typ == "Pods" and isinstance(m.get("pods"), dict):
        p = m["pods"]
        t = p.get("target") or {}
        out["pods"] = {**_metric_ident_to_v1(p.get("metric")), **_drop_none({"targetAverageValue": t.get("averageValue")})}
    elif typ == "Object" and isinstance(m.get("object"), dict):
        o = m["object"]
        t = o.get("target") or {}
        out["object"] = _drop_none({"target": o.get("describedObject"), **_metric_ident_to_v1(o.get("metric")),
                                    "targetValue": t.get("value"), "averageValue": t.get("averageValue")})
    elif typ == "External" and isinstance(m.get("external"), dict):
        e = m["external"]
        t = e.get("target") or {}
        out["external"] = _drop_none({**_metric_ident_to_v1(e.get("metric"), sel_key="metricSelector"),
                                      "targetValue": t.get("value"), "targetAverageValue": t.get("averageValue")})
    return out


def _target_from_v1(src: Obj, value_key: str | None, average_key: str, utilization_key: str | None) -> Obj:
    if utilization_key and src.get(utilization_key) is not None:
        return {"type": "Utilization", "averageUtilization": src[utilization_key]}
    if src.get(average_key) is not None:
        return {"type": "AverageValue", "averageValue": src[average_key]}
    if value_key and src.get(value_key) is not None:
        return {"type": "Value", "value": src[value_key]}
    return {}


def _ident_from_v1(src: Obj, sel_key: str = "selector") -> Obj:
    return _drop_none({"name": src.get("metricName"), "selector": src.get(sel_key)})


def metric_spec_from_v1(m: Obj) -> Obj:
    typ = m.get("type")
    out: Obj = {"type": typ}
    if typ == "Resource" and isinstance(m.get("resource"), dict):
        r = m["resource"]
        out["resource"] = {"name": r.get("name"),
                           "target": _target_from_v1(r, None, "targetAverageValue", "targetAverageUtilization")}
    elif typ == "ContainerResource" and isinstance(m.get("containerResource"), dict):
        r = m["containerResource"]
        out["containerResource"] = {"name": r.get("name"), "container": r.get("container"),
                                    "target": _target_from_v1(r, None, "targetAverageValue", "targetAverageUtilization")}
    elif typ == "Pods" and isinstance(m.get("pods"), dict):
        p = m["pods"]
        out["pods"] = {"metric": _ident_from_v1(p), "target": _target_from_v1(p, None, "targetAverageValue", None)}
    elif typ == "Object" and isinstance(m.get("object"), dict):
        o = m["object"]
        out["object"] = _drop_none({"describedObject": o.get("target"), "metric": _ident_from_v1(o),
                                    "target": _target_from_v1(o, "targetValue", "averageValue", None)})
    elif typ == "External" and isinstance(m.get("external"), dict):
        e = m["external"]
        out["external"] = {"metric": _ident_from_v1(e, "metricSelector"),
                           "target": _target_from_v1(e, "targetValue", "targetAverageValue", None)}
    return out


# --- metric statuses ------------------------------------------------------------------------


def _current_to_v1(cur: Obj, value_key: str, average_key: str, utilization_key: str | None) -> Obj:
    out: Obj = {}
    if utilization_key and cur.get("averageUtilization") is not None:
        out[utilization_key] = cur["averageUtilization"]
    if cur.get("value") is not None:
        out[value_key] = cur["value"]
    if cur.get("averageValue") is not None:
        out[average_key] = cur["averageValue"]
    return out


def metric_status_to_v1(m: Obj) -> Obj:
    typ = m.get("type")
    out: Obj = {"type": typ}
    if typ == "Resource" and isinstance(m.get("resource"), dict):
        r = m["resource"]
        out["resource"] = {"name": r.get("name"), **_current_to_v1(r.get("current") or {}, "currentValue",
                                                                    "currentAverageValue", "currentAverageUtilization")}
        out["resource"].pop("currentValue", None)
    elif typ == "ContainerResource" and isinstance(m.get("containerResource"), dict):
        r = m["containerResource"]
        out["containerResource"] = {"name": r.get("name"), "container": r.get("container"),
                                    **_current_to_v1(r.get("current") or {}, "currentValue", "currentAverageValue",
                                                     "currentAverageUtilization")}
        out["containerResource"].pop("currentValue", None)
    elif typ == "Pods" and isinstance(m.get("pods"), dict):
        p = m["pods"]
        c = p.get("current") or {}
        out["pods"] = {**_metric_ident_to_v1(p.get("metric")),
                       **_drop_none({"currentAverageValue": c.get("averageValue")})}
    elif typ == "Object" and isinstance(m.get("object"), dict):
        o = m["object"]
        c = o.get("current") or {}
        out["object"] = _drop_none({"target": o.get("describedObject"), **_metric_ident_to_v1(o.get("metric")),
                                    "currentValue": c.get("value"), "averageValue": c.get("averageValue")})
    elif typ == "External" and isinstance(m.get("external"), dict):
        e = m["external"]
        c = e.get("current") or {}
        out["external"] = _drop_none({**_metric_ident_to_v1(e.get("metric"), sel_key="metricSelector"),
                                      "currentValue": c.get("value"), "currentAverageValue": c.get("averageValue")})
    return out


def _current_from_v1(src: Obj, value_key: str | None, average_key: str, utilization_key: str | None) -> Obj:
    out: Obj = {}
    if utilization_key and src.get(utilization_key) is not None:
        out["averageUtilization"] = src[utilization_key]
    if src.get(average_key) is not None:
        out["averageValue"] = src[average_key]
    if value_key and src.get(value_key) is not None:
        out["value"] = src[value_key]
    return out


def metric_status_from_v1(m: Obj) -> Obj:
    typ = m.get("type")
    out: Obj = {"type": typ}
    if typ == "Resource" and isinstance(m.get("resource"), dict):
        r = m["resource"]
        out["resource"] = {"name": r.get("name"),
                           "current": _current_from_v1(r, None, "currentAverageValue", "currentAverageUtilization")}
    elif typ == "ContainerResource" and isinstance(m.get("containerResource"), dict):
        r = m["containerResource"]
        out["containerResource"] = {"name": r.get("name"), "container": r.get("container"),
                                    "current": _current_from_v1(r, None, "currentAverageValue",
                                                                "currentAverageUtilization")}
    elif typ == "Pods" and isinstance(m.get("pods"), dict):
        p = m["pods"]
        out["pods"] = {"metric": _ident_from_v1(p), "current": _current_from_v1(p, None, "currentAverageValue", None)}
    elif typ == "Object" and isinstance(m.get("object"), dict):
        o = m["object"]
        out["object"] = _drop_none({"describedObject": o.get("target"), "metric": _ident_from_v1(o),
                                    "current": _current_from_v1(o, "currentValue", "averageValue", None)})
    elif typ == "External" and isinstance(m.get("external"), dict):
        e = m["external"]
        out["external"] = {"metric": _ident_from_v1(e, "metricSelector"),
                           "current": _current_from_v1(e, "currentValue", "currentAverageValue", None)}
    return out


# --- behavior: JSON field names <-> Go field names ----------------------------------------------


def _go_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {k[:1].upper() + k[1:]: _go_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_go_keys(x) for x in v]
    return v


def _json_keys(v: Any) -> Any:
    if isinstance(v, dict):
        return {k[:1].lower() + k[1:]: _json_keys(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_json_keys(x) for x in v]
    return v


# --- the objects ------------------------------------------------------------------------------


def _is_cpu_utilization(m: Obj) -> bool:
    r = m.get("resource") if m.get("type") == "Resource" else None
    return isinstance(r, dict) and r.get("name") == "cpu" and (r.get("target") or {}).get("averageUtilization") is not None


def hpa_v2_to_v1(obj: Obj) -> Obj:
    """The stored (v2) HPA as autoscaling/v1 serves it."""
    src = copy.deepcopy(obj)
    out: Obj = {"apiVersion": V1, "kind": src.get("kind", "HorizontalPodAutoscaler")}
    meta = src.get("metadata") or {}
    spec = src.get("spec") or {}
    status = src.get("status")
    metrics = spec.get("metrics") or []

    v1spec: Obj = {"scaleTargetRef": spec.get("scaleTargetRef", {})}
    if spec.get("minReplicas") is not None:
        v1spec["minReplicas"] = spec["minReplicas"]
    v1spec["maxReplicas"] = spec.get("maxReplicas", 0)
    for m in metrics:
        if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu":
            util = ((m["resource"].get("target")) or {}).get("averageUtilization")
            if util is not None:
                v1spec["targetCPUUtilizationPercentage"] = util
            break

    annotations = dict(meta.get("annotations") or {})
    other = [metric_spec_to_v1(m) for m in metrics if not _is_cpu_utilization(m)]
    if other:
        annotations[METRICS_ANNOTATION] = _dumps(other)
    current = (status or {}).get("currentMetrics") or []
    if current:
        annotations[CURRENT_METRICS_ANNOTATION] = _dumps([metric_status_to_v1(m) for m in current])
    if spec.get("behavior") is not None:
        annotations[BEHAVIOR_ANNOTATION] = _dumps(_go_keys(spec["behavior"]))
    conditions = (status or {}).get("conditions") or []
    if conditions:
        annotations[CONDITIONS_ANNOTATION] = _dumps(conditions)
    if annotations:
        meta["annotations"] = annotations

    out["metadata"] = meta
    out["spec"] = v1spec
    if status is not None:
        v1status: Obj = {}
        for f in ("observedGeneration", "lastScaleTime"):
            if status.get(f) is not None:
                v1status[f] = status[f]
        v1status["currentReplicas"] = status.get("currentReplicas", 0)
        v1status["desiredReplicas"] = status.get("desiredReplicas", 0)
        for m in current:
            r = m.get("resource") if m.get("type") == "Resource" else None
            if isinstance(r, dict) and r.get("name") == "cpu":
                util = (r.get("current") or {}).get("averageUtilization")
                if util is not None:
                    v1status["currentCPUUtilizationPercentage"] = util
        out["status"] = v1status
    return out


def hpa_v1_to_v2(obj: Obj) -> Obj:
    """An autoscaling/v1 HPA in the stored (v2) shape; the annotations above are consumed."""
    src = copy.deepcopy(obj)
    out: Obj = {"apiVersion": V2, "kind": src.get("kind", "HorizontalPodAutoscaler")}
    meta = src.get("metadata") or {}
    spec = src.get("spec") or {}
    status = src.get("status")
    annotations = dict(meta.get("annotations") or {})

    v2spec: Obj = {"scaleTargetRef": spec.get("scaleTargetRef", {})}
    if spec.get("minReplicas") is not None:
        v2spec["minReplicas"] = spec["minReplicas"]
    v2spec["maxReplicas"] = spec.get("maxReplicas", 0)
    metrics: list[Obj] = []
    raw = annotations.get(METRICS_ANNOTATION)
    if raw:
        with contextlib.suppress(ValueError):
            metrics.extend(metric_spec_from_v1(m) for m in json.loads(raw) if isinstance(m, dict))
    cpu = spec.get("targetCPUUtilizationPercentage")
    if cpu is not None:
        metrics.append({"type": "Resource",
                        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu}}})
    if metrics:
        v2spec["metrics"] = metrics
    raw = annotations.get(BEHAVIOR_ANNOTATION)
    if raw:
        with contextlib.suppress(ValueError):
            v2spec["behavior"] = _json_keys(json.loads(raw))

    v2status: Obj | None = None
    if status is not None:
        v2status = {}
        for f in ("observedGeneration", "lastScaleTime", "currentReplicas"):
            if status.get(f) is not None:
                v2status[f] = status[f]
        v2status["desiredReplicas"] = status.get("desiredReplicas", 0)
        current: list[Obj] = []
        if status.get("currentCPUUtilizationPercentage") is not None:
            current = [{"type": "Resource", "resource": {
                "name": "cpu", "current": {"averageUtilization": status["currentCPUUtilizationPercentage"]}}}]
        raw = annotations.get(CURRENT_METRICS_ANNOTATION)
        if raw:
            with contextlib.suppress(ValueError):
                current = [metric_status_from_v1(m) for m in json.loads(raw) if isinstance(m, dict)]
        if current:
            v2status["currentMetrics"] = current
        raw = annotations.get(CONDITIONS_ANNOTATION)
        if raw:
            with contextlib.suppress(ValueError):
                v2status["conditions"] = json.loads(raw)
    for a in _ANNOTATIONS:
        annotations.pop(a, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    out["spec"] = v2spec
    if v2status is not None:
        out["status"] = v2status
    return out
