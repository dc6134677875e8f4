"""``metrics.k8s.io/v1beta1`` objects, lists and Tables from usage (pure).

Shapes (k8s.io/metrics types, as metrics-server writes them):

- NodeMetrics: ``metadata{name, labels, creationTimestamp}``, ``timestamp``, ``window`` (a Go
  duration string such as ``"15.004s"``), ``usage{cpu, memory}``.
- PodMetrics: ``metadata{name, namespace, labels, creationTimestamp}``, ``timestamp``,
  ``window``, ``containers[{name, usage{cpu, memory}}]``.
- CPU is a nano-scaled quantity (``12345678n``), memory a binary one (``2048Ki``).
- ``creationTimestamp`` is the time of the request: metrics are computed, not stored; labels are
  the node's or pod's, so label selectors mean what they mean for nodes and pods.
- A Table (``kubectl get nodes.metrics.k8s.io``) has the columns Name, cpu, memory, Window; a
  pod's row adds up its containers.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from kybernetes.machinery.quantity import BINARY_SI, DECIMAL_SI, Quantity, parse_quantity
from kybernetes.metrics.summary import PodUsage, Usage, cpu_quantity, memory_quantity
from kybernetes.util.goduration import format_go_duration
from kybernetes.util.times import rfc3339

Obj = dict[str, Any]

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"


def _window(seconds: float) -> str:
    return format_go_duration(round(seconds * 1000) * 1_000_000)  # millisecond precision


def _usage(nano_cores: int, memory: int) -> Obj:
    return {"cpu": cpu_quantity(nano_cores), "memory": memory_quantity(memory)}


def _meta(source: Obj, now: float, *, namespaced: bool) -> Obj:
    src = source.get("metadata") or {}
    meta: Obj = {"name": src.get("name", "")}
    if namespaced:
        meta["namespace"] = src.get("namespace", "")
    meta["creationTimestamp"] = rfc3339(now)
    if src.get("labels"):
        meta["labels"] = dict(src["labels"])
    return meta


def node_metrics(node: Obj, usage: Usage, now: float) -> Obj:
    return {
        "kind": "NodeMetrics",
        "apiVersion": API_VERSION,
        "metadata": _meta(node, now, namespaced=False),
        "timestamp": rfc3339(usage.timestamp),
        "window": _window(usage.window),
        "usage": _usage(usage.nano_cores, usage.memory),
    }


def _container_order(pod: Obj) -> dict[str, int]:
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in (spec.get("containers") or []) if isinstance(c, dict)]
    return {str(n): i for i, n in enumerate(names)}


def pod_metrics(pod: Obj, usage: PodUsage, now: float) -> Obj:
    """A PodMetrics; containers in the pod spec's order (any others after them)."""
    order = _container_order(pod)
    containers = sorted(usage.containers, key=lambda c: (order.get(c[0], len(order)), c[0]))
    return {
        "kind": "PodMetrics",
        "apiVersion": API_VERSION,
        "metadata": _meta(pod, now, namespaced=True),
        "timestamp": rfc3339(usage.timestamp),
        "window": _window(usage.window),
        "containers": [{"name": name, "usage": _usage(u.nano_cores, u.memory)} for name, u in containers],
    }


def metrics_list(kind: str, items: list[Obj]) -> Obj:
    return {"kind": f"{kind}List", "apiVersion": API_VERSION, "metadata": {}, "items": items}


COLUMNS = [
    {
        "name": "Name",
        "type": "string",
        "format": "name",
        "description": "Name of the resource",
        "priority": 0,
    },
    {"name": "cpu", "type": "string", "format": "quantity", "description": "", "priority": 0},
    {"name": "memory", "type": "string", "format": "quantity", "description": "", "priority": 0},
    {"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0},
]


def _row_usage(obj: Obj) -> tuple[str, str]:
    if "usage" in obj:
        return str(obj["usage"]["cpu"]), str(obj["usage"]["memory"])
    cpu = sum((parse_quantity(c["usage"]["cpu"]).value for c in obj["containers"]), start=Fraction(0))
    mem = sum((parse_quantity(c["usage"]["memory"]).value for c in obj["containers"]), start=Fraction(0))
    return str(Quantity(cpu, DECIMAL_SI)), str(Quantity(mem, BINARY_SI))


def metrics_table(items: list[Obj], *, include_object: str = "Metadata") -> Obj:
    """The ``meta.k8s.io/v1`` Table of NodeMetrics or PodMetrics items."""
    rows = []
    for obj in items:
        cpu, memory = _row_usage(obj)
        row: Obj = {"cells": [obj["metadata"]["name"], cpu, memory, obj["window"]]}
        if include_object == "Object":
            row["object"] = obj
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": dict(obj["metadata"]),
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {},
        "columnDefinitions": COLUMNS,
        "rows": rows,
    }
