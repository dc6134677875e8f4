"""Descriptions of autoscaling/v2 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.autoscaling.v2."

_RESOURCE_NAME = "The resource the metric is about, such as cpu or memory."
_CONTAINER = "The container, in each pod, whose usage is measured."
_METRIC = "The name of the metric and an optional label selector that narrows it."
_TARGET = "The value the autoscaler aims for."
_CURRENT = "The current value of the metric."
_TYPE = "Which kind of metric source is set: Object, Pods, Resource, ContainerResource or External."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "HorizontalPodAutoscaler": (
        "A HorizontalPodAutoscaler changes a workload's replica count to keep metrics, such as CPU usage, near targets.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "What to scale, between which bounds, on which metrics, and how fast.",
            "status": "The last observed metrics and scaling decisions. Read-only.",
        },
    ),
    P + "HorizontalPodAutoscalerSpec": (
        "The desired behaviour of an autoscaler.",
        {
            "scaleTargetRef": "The workload to scale, such as a Deployment; it must have the scale subresource.",
            "minReplicas": "The fewest replicas the autoscaler may set. Default 1.",
            "maxReplicas": "The most replicas the autoscaler may set; not below minReplicas.",
            "metrics": "The metrics to scale on; the largest replica count any of them asks for wins. Default: 80% average CPU usage.",
            "behavior": "How fast to scale up and down. Default: the controller's standard rates.",
        },
    ),
    P + "HorizontalPodAutoscalerBehavior": (
        "Rate limits for scaling up and down.",
        {
            "scaleUp": "Rules for scaling up. Default: no stabilization window; every 15 seconds at most double, or add 4 pods if that is more.",
            "scaleDown": "Rules for scaling down. Default: a 300-second stabilization window; down to minReplicas at once.",
        },
    ),
    P + "HPAScalingRules": (
        "Rules that limit how fast an autoscaler scales in one direction.",
        {
            "stabilizationWindowSeconds": "Seconds of past recommendations to consider, so replicas do not flap; 0 to 3600. Default 0 up, 300 down.",
            "selectPolicy": "Which policy applies when several do: Max (the largest change), Min or Disabled (no scaling this way). Default Max.",
            "policies": "Limits on the change allowed within a period; see selectPolicy for how they combine.",
        },
    ),
    P + "HPAScalingPolicy": (
        "A limit on how much the replica count may change within a period.",
        {
            "type": "Pods (a number of pods) or Percent (a percentage of the current replicas).",
            "value": "How many pods, or what percentage, may be added or removed in one period. Above 0.",
            "periodSeconds": "The length of the period, in seconds; 1 to 1800.",
        },
    ),
    P + "HorizontalPodAutoscalerStatus": (
        "The observed state of an autoscaler.",
        {
            "observedGeneration": "The generation of the spec this status reflects.",
            "lastScaleTime": "When the autoscaler last changed the replica count.",
            "currentReplicas": "The replica count the target had when last observed.",
            "desiredReplicas": "The replica count the autoscaler last asked for.",
            "currentMetrics": "The last observed value of each metric.",
            "conditions": "The latest observations: AbleToScale, ScalingActive and ScalingLimited.",
        },
    ),
    P + "HorizontalPodAutoscalerCondition": (
        "One aspect of an autoscaler's state at a point in time.",
        {
            "type": "The condition's type: ScalingActive, AbleToScale or ScalingLimited.",
            "status": "Whether the condition holds: True, False or Unknown.",
            "lastTransitionTime": "When the condition last changed from one status to another.",
            "reason": "A short CamelCase word saying why the condition last changed.",
            "message": "A human-readable explanation of the last change.",
        },
    ),
    P + "CrossVersionObjectReference": (
        "A reference to an object, by API version, kind and name, in the same namespace.",
        {
            "apiVersion": "The API version of the object, such as apps/v1.",
            "kind": "The kind of the object, such as Deployment.",
            "name": "The name of the object.",
        },
    ),
    P + "MetricSpec": (
        "One metric an autoscaler scales on, and its target. Set the field named by type.",
        {
            "type": _TYPE,
            "object": "A metric describing one object in the namespace, such as requests per second of an Ingress.",
            "pods": "A metric averaged over the target's pods, such as transactions per second.",
            "resource": "A resource metric (cpu or memory) averaged over the target's pods, as known from their requests.",
            "containerResource": "A resource metric of one container, averaged over the target's pods.",
            "external": "A metric from outside the cluster, such as a queue length.",
        },
    ),
    P + "MetricStatus": (
        "The current value of one metric an autoscaler scales on.",
        {
            "type": _TYPE,
            "object": "The current value of an Object metric.",
            "pods": "The current value of a Pods metric.",
            "resource": "The current value of a Resource metric.",
            "containerResource": "The current value of a ContainerResource metric.",
            "external": "The current value of an External metric.",
        },
    ),
    P + "MetricTarget": (
        "The value an autoscaler aims for on one metric.",
        {
            "type": "Which field holds the target: Utilization, Value or AverageValue.",
            "value": "The wanted value of the metric, as a quantity.",
            "averageValue": "The wanted value of the metric per pod, as a quantity.",
            "averageUtilization": "The wanted average usage, as a percentage of the pods' requests. Resource metrics only.",
        },
    ),
    P + "MetricValueStatus": (
        "The current value of one metric.",
        {
            "value": "The current value of the metric, as a quantity.",
            "averageValue": "The current value of the metric per pod, as a quantity.",
            "averageUtilization": "The current average usage, as a percentage of the pods' requests.",
        },
    ),
    P + "MetricIdentifier": (
        "The name of a metric and the labels that narrow it.",
        {
            "name": "The name of the metric.",
            "selector": "A label selector passed to the metrics server to narrow the query; unset means the name alone.",
        },
    ),
    P + "ResourceMetricSource": (
        "A target for a resource metric averaged over the target's pods.",
        {"name": _RESOURCE_NAME, "target": _TARGET},
    ),
    P + "ResourceMetricStatus": (
        "The current value of a resource metric averaged over the target's pods.",
        {"name": _RESOURCE_NAME, "current": _CURRENT},
    ),
    P + "ContainerResourceMetricSource": (
        "A target for a resource metric of one container, averaged over the target's pods.",
        {"name": _RESOURCE_NAME, "target": _TARGET, "container": _CONTAINER},
    ),
    P + "ContainerResourceMetricStatus": (
        "The current value of a resource metric of one container, averaged over the target's pods.",
        {"name": _RESOURCE_NAME, "current": _CURRENT, "container": _CONTAINER},
    ),
    P + "PodsMetricSource": (
        "A target for a custom metric averaged over the target's pods. Only AverageValue targets are allowed.",
        {"metric": _METRIC, "target": _TARGET},
    ),
    P + "PodsMetricStatus": (
        "The current value of a custom metric averaged over the target's pods.",
        {"metric": _METRIC, "current": _CURRENT},
    ),
    P + "ObjectMetricSource": (
        "A target for a metric that describes one object.",
        {
            "describedObject": "The object the metric describes.",
            "target": _TARGET,
            "metric": _METRIC,
        },
    ),
    P + "ObjectMetricStatus": (
        "The current value of a metric that describes one object.",
        {
            "metric": _METRIC,
            "current": _CURRENT,
            "describedObject": "The object the metric describes.",
        },
    ),
    P + "ExternalMetricSource": (
        "A target for a metric from outside the cluster.",
        {"metric": _METRIC, "target": _TARGET},
    ),
    P + "ExternalMetricStatus": (
        "The current value of a metric from outside the cluster.",
        {"metric": _METRIC, "current": _CURRENT},
    ),
}
