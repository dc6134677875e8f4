"""The horizontal pod autoscaler row, for both served versions.

TARGETS lists up to two metrics as "<current>/<target>" ("cpu: 40%/80%", "<unknown>/10 (avg)");
more are summarised as " + N more...". autoscaling/v2 objects carry ``spec.metrics`` and
``status.currentMetrics``; autoscaling/v1 objects carry only a CPU utilisation target. Objects
are stored as v2, where an HPA without metrics is defaulted to 80% CPU, so a v1 object without a
CPU target prints that default, as upstream does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.apiserver.tables.format import (
    NONE,
    UNKNOWN,
    Obj,
    age,
    as_dict,
    as_int,
    as_list,
    dig,
    name,
    quantity,
)
from kybernetes.apiserver.tables.printer import AGE, NAME, Printer, col

_MAX_SHOWN = 2
_DEFAULT_CPU_UTILIZATION = 80


def _q(value: Any) -> str:
    # A nil quantity pointer prints as "<nil>" upstream.
    return "<nil>" if value is None else quantity(value)


def _value_or_average(spec_src: Obj, status_src: Obj | None) -> str:
    target = as_dict(spec_src.get("target"))
    current_src = as_dict(status_src.get("current")) if status_src is not None else None
    if target.get("averageValue") is not None:
        current = UNKNOWN
        if current_src is not None and current_src.get("averageValue") is not None:
            current = quantity(current_src["averageValue"])
        return f"{current}/{quantity(target['averageValue'])} (avg)"
    current = UNKNOWN
    if current_src is not None:
        current = quantity(current_src.get("value"))
    return f"{current}/{_q(target.get('value'))}"


def _resource(spec_src: Obj, status_src: Obj | None) -> str:
    resource_name = str(spec_src.get("name", ""))
    target = as_dict(spec_src.get("target"))
    current_src = as_dict(status_src.get("current")) if status_src is not None else None
    if target.get("averageValue") is not None:
        current = UNKNOWN
        if current_src is not None:
            current = quantity(current_src.get("averageValue"))
        return f"{resource_name}: {current}/{quantity(target['averageValue'])}"
    current = UNKNOWN
    if current_src is not None and current_src.get("averageUtilization") is not None:
        current = f"{as_int(current_src['averageUtilization'])}%"
    want = "<auto>"
    if target.get("averageUtilization") is not None:
        want = f"{as_int(target['averageUtilization'])}%"
    return f"{resource_name}: {current}/{want}"


def format_metrics(specs: list[Any], statuses: list[Any]) -> str:
    if not specs:
        return NONE
    parts: list[str] = []
    for i, raw in enumerate(specs):
        spec = as_dict(raw)
        mtype = spec.get("type")
        status = as_dict(statuses[i]) if i < len(statuses) else {}

        def source(key: str, spec: Obj = spec, status: Obj = status) -> tuple[Obj, Obj | None]:
            src = status.get(key)
            return as_dict(spec.get(key)), (src if isinstance(src, dict) else None)

        if mtype == "External":
            parts.append(_value_or_average(*source("external")))
        elif mtype == "Pods":
            spec_src, status_src = source("pods")
            current = UNKNOWN
            if status_src is not None:
                current = quantity(dig(status_src, "current", "averageValue"))
            parts.append(f"{current}/{quantity(dig(spec_src, 'target', 'averageValue'))}")
        elif mtype == "Object":
            parts.append(_value_or_average(*source("object")))
        elif mtype == "Resource":
            parts.append(_resource(*source("resource")))
        elif mtype == "ContainerResource":
            parts.append(_resource(*source("containerResource")))
        else:
            parts.append("<unknown type>")
    shown = ", ".join(parts[:_MAX_SHOWN])
    if len(parts) > _MAX_SHOWN:
        return f"{shown} + {len(parts) - _MAX_SHOWN} more..."
    return shown


def _v1_metrics(spec: Obj, status: Obj) -> str:
    target = spec.get("targetCPUUtilizationPercentage")
    if target is None:
        target = _DEFAULT_CPU_UTILIZATION
    metric = {"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": target}}}
    current = status.get("currentCPUUtilizationPercentage")
    statuses: list[Any] = []
    if current is not None:
        statuses = [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": current}}}]
    return format_metrics([metric], statuses)


def targets(obj: Obj, *, v1: bool) -> str:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    if v1 and "metrics" not in spec:
        return _v1_metrics(spec, status)
    return format_metrics(as_list(spec.get("metrics")), as_list(status.get("currentMetrics")))


def _cells(obj: Obj, now: datetime, *, v1: bool) -> list[Any]:
    spec, status = as_dict(obj.get("spec")), as_dict(obj.get("status"))
    ref = as_dict(spec.get("scaleTargetRef"))
    min_pods = "<unset>" if spec.get("minReplicas") is None else str(as_int(spec["minReplicas"]))
    return [
        name(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        targets(obj, v1=v1),
        min_pods,
        as_int(spec.get("maxReplicas")),
        as_int(status.get("currentReplicas")),
        age(obj, now),
    ]


_COLUMNS = (
    NAME,
    col("Reference", "The scaled object, as kind/name."),
    col("Targets", "Current and target values of the metrics."),
    col("MinPods", "Lowest replica count the autoscaler sets."),
    col("MaxPods", "Highest replica count the autoscaler sets."),
    col("Replicas", "Replica count last observed."),
    AGE,
)

HPA_V2 = Printer(_COLUMNS, lambda obj, now: _cells(obj, now, v1=False))
HPA_V1 = Printer(_COLUMNS, lambda obj, now: _cells(obj, now, v1=True))
