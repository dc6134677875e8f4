"""HorizontalPodAutoscaler: v1 <-> v2 conversion (lossless through annotations) and v2 defaults."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kybernetes.api.conversion import (
    BEHAVIOR_ANNOTATION,
    CONDITIONS_ANNOTATION,
    CURRENT_METRICS_ANNOTATION,
    METRICS_ANNOTATION,
    hpa_v1_to_v2,
    hpa_v2_to_v1,
)
from kybernetes.api.resources import RESOURCES
from kybernetes.apiserver.strategy import strategy_for

Obj = dict[str, Any]

KUBECTL_AUTOSCALE: Obj = {"kind": "HorizontalPodAutoscaler", "apiVersion": "autoscaling/v1",
                     "metadata": {"name": "web2", "namespace": "default", "creationTimestamp": None},
                     "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"},
                              "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
                     "status": {"currentReplicas": 0, "desiredReplicas": 0}}

CPU50 = {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}
MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}
PODS_QPS = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}
OBJECT = {"type": "Object", "object": {"describedObject": {"kind": "Service", "name": "s", "apiVersion": "v1"},
                                       "metric": {"name": "m"}, "target": {"type": "Value", "value": "10"}}}
EXTERNAL = {"type": "External", "external": {"metric": {"name": "q", "selector": {"matchLabels": {"a": "b"}}},
                                             "target": {"type": "AverageValue", "averageValue": "3"}}}


def test_kubectl_autoscale_body_to_v2() -> None:
    v2 = hpa_v1_to_v2(KUBECTL_AUTOSCALE)
    assert v2["apiVersion"] == "autoscaling/v2"
    assert v2["spec"] == {"scaleTargetRef": KUBECTL_AUTOSCALE["spec"]["scaleTargetRef"], "minReplicas": 1,
                          "maxReplicas": 5, "metrics": [CPU50]}
    assert v2["status"] == {"currentReplicas": 0, "desiredReplicas": 0}
    assert "annotations" not in v2["metadata"]
    back = hpa_v2_to_v1(v2)
    assert back == KUBECTL_AUTOSCALE
    assert KUBECTL_AUTOSCALE["apiVersion"] == "autoscaling/v1"  # inputs untouched


def _v2(metrics: list[Obj], **extra: Any) -> Obj:
    spec = {"scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}, "minReplicas": 2,
            "maxReplicas": 9, "metrics": metrics}
    spec.update(extra)
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "h", "namespace": "default", "annotations": {"keep": "me"}}, "spec": spec}


@pytest.mark.parametrize("metrics", [
    pytest.param([CPU50], id="cpu-only"),
    pytest.param([MEMORY], id="memory-only"),
    pytest.param([PODS_QPS, OBJECT, EXTERNAL, CPU50], id="all-kinds-cpu-last"),
])
def test_v2_round_trips_through_v1(metrics: list[Obj]) -> None:
    v2 = _v2(metrics)
    v1 = hpa_v2_to_v1(v2)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["metadata"]["annotations"]["keep"] == "me"
    assert hpa_v1_to_v2(v1) == v2


def test_v1_annotations_carry_v2_only_fields() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Min",
                              "policies": [{"type": "Pods", "value": 4, "periodSeconds": 60}]}}
    v2 = _v2([MEMORY, CPU50], behavior=behavior)
    v2["status"] = {"currentReplicas": 2, "desiredReplicas": 3,
                    "currentMetrics": [{"type": "Resource", "resource": {
                        "name": "cpu", "current": {"averageUtilization": 70, "averageValue": "700m"}}}],
                    "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale"}]}
    v1 = hpa_v2_to_v1(v2)
    ann = v1["metadata"]["annotations"]
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert json.loads(ann[METRICS_ANNOTATION]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
    assert json.loads(ann[CURRENT_METRICS_ANNOTATION]) == [{"type": "Resource", "resource": {
        "name": "cpu", "currentAverageUtilization": 70, "currentAverageValue": "700m"}}]
    assert json.loads(ann[BEHAVIOR_ANNOTATION]) == {"ScaleDown": {"StabilizationWindowSeconds": 300,
                                                                  "SelectPolicy": "Min", "Policies": [
                                                                      {"Type": "Pods", "Value": 4,
                                                                       "PeriodSeconds": 60}]}}
    assert json.loads(ann[CONDITIONS_ANNOTATION])[0]["type"] == "AbleToScale"
    assert v1["status"]["currentCPUUtilizationPercentage"] == 70
    back = hpa_v1_to_v2(v1)
    assert back["spec"] == v2["spec"]
    assert back["status"] == v2["status"]
    assert back["metadata"]["annotations"] == {"keep": "me"}


def test_v2_strategy_defaults() -> None:
    r = next(r for r in RESOURCES if r.kind == "HorizontalPodAutoscaler" and r.version == "v2")
    s = strategy_for(r)
    hpa: Obj = {"metadata": {"name": "h"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "w"},
                                                    "maxReplicas": 3}}
    s.default(hpa)
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert "behavior" not in hpa["spec"]
    with_behavior = copy.deepcopy(hpa)
    with_behavior["spec"]["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    s.default(with_behavior)
    assert with_behavior["spec"]["behavior"] == {
        "scaleUp": {"selectPolicy": "Max", "stabilizationWindowSeconds": 0, "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]},
        "scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                      "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}}
    s.prepare_for_create(hpa)
    assert hpa["status"] == {"desiredReplicas": 0}
    assert s.validate(hpa) == []
    hpa["spec"]["minReplicas"] = 5
    assert [(c.field, c.message) for c in s.validate(hpa)] == [
        ("spec.maxReplicas", "Invalid value: 3: must be greater than or equal to `minReplicas`")]
