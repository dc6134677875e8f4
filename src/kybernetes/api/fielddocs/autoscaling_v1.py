"""Descriptions of autoscaling/v1 types and their fields, for OpenAPI and `kubectl explain`.

autoscaling/v1 carries the CPU-only HorizontalPodAutoscaler, the Scale subresource, and the
older metric types that v1 objects keep in annotations.
"""

from __future__ import annotations

P = "io.k8s.api.autoscaling.v1."

_META = "Standard object metadata: name, namespace, labels, annotations and so on."
_RESOURCE_NAME = "The resource the metric is about, such as cpu or memory."
_CONTAINER = "The container, in each pod, whose usage is measured."
_UTILIZATION_TARGET = "The wanted average usage, as a percentage of the pods' requests for the resource."
_UTILIZATION_NOW = "The current average usage, as a percentage of the pods' requests for the resource."
_AVERAGE_TARGET = "The wanted average value per pod, as a quantity."
_AVERAGE_NOW = "The current average value per pod, as a quantity."
_METRIC_NAME = "The name of the metric."
_SELECTOR = "A label selector that narrows the metric query; unset means the metric name alone."
_TYPE = "Which kind of metric source is set: Object, Pods, Resource, ContainerResource or External."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "HorizontalPodAutoscaler": (
        "A HorizontalPodAutoscaler changes a workload's replica count to keep average CPU usage near a target.",
        {
            "metadata": _META,
            "spec": "What to scale, between which bounds, and the CPU target.",
            "status": "The last observed usage and scaling decisions. Read-only.",
        },
    ),
    P + "HorizontalPodAutoscalerSpec": (
        "The desired behaviour of an autoscaler.",
        {
            "scaleTargetRef": "The workload to scale, such as a Deployment; it must have the scale subresource.",
            "minReplicas": "The fewest replicas the autoscaler may set. Default 1.",
            "maxReplicas": "The most replicas the autoscaler may set; not below minReplicas.",
            "targetCPUUtilizationPercentage": "The wanted average CPU usage, as a percentage of the pods' CPU requests. Default: the controller's (80).",
        },
    ),
    P + "HorizontalPodAutoscalerStatus": (
        "The observed state of an autoscaler.",
        {
            "observedGeneration": "The generation of the spec this status reflects.",
            "lastScaleTime": "When the autoscaler last changed the replica count.",
            "currentReplicas": "The replica count the target had when last observed.",
            "desiredReplicas": "The replica count the autoscaler last asked for.",
            "currentCPUUtilizationPercentage": "The current average CPU usage, as a percentage of the pods' CPU requests.",
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
    P + "Scale": (
        "The Scale subresource: the desired and observed replica count of a scalable object.",
        {
            "metadata": _META,
            "spec": "The desired replica count.",
            "status": "The observed replica count and the selector of the pods. Read-only.",
        },
    ),
    P + "ScaleSpec": (
        "The desired size of a scalable object.",
        {
            "replicas": "The desired number of replicas.",
        },
    ),
    P + "ScaleStatus": (
        "The observed size of a scalable object.",
        {
            "replicas": "The number of replicas observed.",
            "selector": "The label query, in string form such as app=web, that finds the object's pods.",
        },
    ),
    P + "MetricSpec": (
        "One metric an autoscaler scales on, and its target. Set the field named by type.",
        {
            "type": _TYPE,
            "object": "A metric describing one object in the namespace, such as requests per second of an Ingress.",
            "pods": "A metric averaged over the target's pods, such as transactions per second.",
            "resource": "A resource metric (cpu or memory) averaged over the target's pods.",
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
    P + "ResourceMetricSource": (
        "A target for a resource metric averaged over the target's pods.",
        {
            "name": _RESOURCE_NAME,
            "targetAverageUtilization": _UTILIZATION_TARGET,
            "targetAverageValue": _AVERAGE_TARGET,
        },
    ),
    P + "ResourceMetricStatus": (
        "The current value of a resource metric averaged over the target's pods.",
        {
            "name": _RESOURCE_NAME,
            "currentAverageUtilization": _UTILIZATION_NOW,
            "currentAverageValue": _AVERAGE_NOW,
        },
    ),
    P + "ContainerResourceMetricSource": (
        "A target for a resource metric of one container, averaged over the target's pods.",
        {
            "name": _RESOURCE_NAME,
            "targetAverageUtilization": _UTILIZATION_TARGET,
            "targetAverageValue": _AVERAGE_TARGET,
            "container": _CONTAINER,
        },
    ),
    P + "ContainerResourceMetricStatus": (
        "The current value of a resource metric of one container, averaged over the target's pods.",
        {
            "name": _RESOURCE_NAME,
            "currentAverageUtilization": _UTILIZATION_NOW,
            "currentAverageValue": _AVERAGE_NOW,
            "container": _CONTAINER,
        },
    ),
    P + "PodsMetricSource": (
        "A target for a custom metric averaged over the target's pods.",
        {
            "metricName": _METRIC_NAME,
            "targetAverageValue": _AVERAGE_TARGET,
            "selector": _SELECTOR,
        },
    ),
    P + "PodsMetricStatus": (
        "The current value of a custom metric averaged over the target's pods.",
        {
            "metricName": _METRIC_NAME,
            "currentAverageValue": _AVERAGE_NOW,
            "selector": _SELECTOR,
        },
    ),
    P + "ObjectMetricSource": (
        "A target for a metric that describes one object.",
        {
            "target": "The object the metric describes.",
            "metricName": _METRIC_NAME,
            "targetValue": "The wanted value of the metric, as a quantity.",
            "selector": _SELECTOR,
            "averageValue": "The wanted value of the metric divided by the number of pods, as a quantity.",
        },
    ),
    P + "ObjectMetricStatus": (
        "The current value of a metric that describes one object.",
        {
            "target": "The object the metric describes.",
            "metricName": _METRIC_NAME,
            "currentValue": "The current value of the metric, as a quantity.",
            "selector": _SELECTOR,
            "averageValue": "The current value of the metric divided by the number of pods, as a quantity.",
        },
    ),
    P + "ExternalMetricSource": (
        "A target for a metric from outside the cluster.",
        {
            "metricName": _METRIC_NAME,
            "metricSelector": _SELECTOR,
            "targetValue": "The wanted total value of the metric, as a quantity.",
            "targetAverageValue": "The wanted value of the metric per pod, as a quantity.",
        },
    ),
    P + "ExternalMetricStatus": (
        "The current value of a metric from outside the cluster.",
        {
            "metricName": _METRIC_NAME,
            "metricSelector": _SELECTOR,
            "currentValue": "The current total value of the metric, as a quantity.",
            "currentAverageValue": "The current value of the metric per pod, as a quantity.",
        },
    ),
}
