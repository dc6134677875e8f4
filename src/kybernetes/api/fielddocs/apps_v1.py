"""Descriptions of apps/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.apps.v1."

_CONDITION_STATUS = "Whether the condition holds: True, False or Unknown."
_CONDITION_REASON = "A short CamelCase word saying why the condition last changed."
_CONDITION_MESSAGE = "A human-readable explanation of the last change."
_TRANSITION = "When the condition last changed from one status to another."
_SELECTOR = (
    "Which pods this object owns. It must match the template's labels and cannot change after creation."
)
_MIN_READY = "How long, in seconds, a new pod must be ready without any container crashing before it counts as available. Default 0."
_HISTORY = "How many old revisions to keep for rollback. Default 10."
_COLLISIONS = "A counter the controller bumps when the hash of a new revision clashes with an existing name."
_OBSERVED = "The generation of the spec that this status reflects."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "Deployment": (
        "A Deployment keeps a set of identical pods running and replaces them gradually when its template changes.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "The desired state: how many pods, from which template, and how to roll out changes.",
            "status": "The observed state of the rollout, written by the controller. Read-only.",
        },
    ),
    P + "DeploymentSpec": (
        "The desired state of a Deployment.",
        {
            "replicas": "How many pods to run. Default 1; omit it when an autoscaler manages the count.",
            "selector": _SELECTOR,
            "template": "The pod template new pods are made from. Any change to it starts a new rollout.",
            "strategy": "How old pods are replaced by new ones when the template changes.",
            "minReadySeconds": _MIN_READY,
            "revisionHistoryLimit": "How many old ReplicaSets to keep so the Deployment can be rolled back. Default 10.",
            "paused": "When true, template changes do not start a rollout until the Deployment is resumed.",
            "progressDeadlineSeconds": "Seconds a rollout may go without progress before it is reported as failed (Progressing=False). Default 600.",
        },
    ),
    P + "DeploymentStrategy": (
        "How a Deployment replaces old pods with new ones.",
        {
            "type": "Recreate (stop every old pod first) or RollingUpdate (replace them gradually). Default RollingUpdate.",
            "rollingUpdate": "Limits for a RollingUpdate: how far the pod count may go above or below the desired number.",
        },
    ),
    P + "RollingUpdateDeployment": (
        "Limits that pace a Deployment's rolling update.",
        {
            "maxUnavailable": "How many pods may be unavailable during the update: a number or a percentage of replicas (rounded down). Default 25%.",
            "maxSurge": "How many pods may exist above the desired count during the update: a number or a percentage (rounded up). Default 25%.",
        },
    ),
    P + "DeploymentStatus": (
        "The observed state of a Deployment.",
        {
            "observedGeneration": _OBSERVED,
            "replicas": "How many pods the Deployment's ReplicaSets currently have, old and new.",
            "updatedReplicas": "How many pods already run the current template.",
            "readyReplicas": "How many pods are ready.",
            "availableReplicas": "How many pods have been ready for at least minReadySeconds.",
            "unavailableReplicas": "How many more pods are needed before every desired pod is available.",
            "conditions": "The latest observations: Available, Progressing and ReplicaFailure.",
            "collisionCount": _COLLISIONS,
        },
    ),
    P + "DeploymentCondition": (
        "One aspect of a Deployment's state at a point in time.",
        {
            "type": "The condition's type: Available, Progressing or ReplicaFailure.",
            "status": _CONDITION_STATUS,
            "lastUpdateTime": "When the controller last updated this condition.",
            "lastTransitionTime": _TRANSITION,
            "reason": _CONDITION_REASON,
            "message": _CONDITION_MESSAGE,
        },
    ),
    P + "ReplicaSet": (
        "A ReplicaSet keeps a given number of pods from one template running; Deployments manage them.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "The desired state: how many pods and from which template.",
            "status": "The observed state, written by the controller. Read-only.",
        },
    ),
    P + "ReplicaSetSpec": (
        "The desired state of a ReplicaSet.",
        {
            "replicas": "How many pods to run. Default 1.",
            "minReadySeconds": _MIN_READY,
            "selector": _SELECTOR,
            "template": "The pod template missing pods are created from. Changing it does not touch running pods.",
        },
    ),
    P + "ReplicaSetStatus": (
        "The observed state of a ReplicaSet.",
        {
            "replicas": "How many pods the ReplicaSet currently has.",
            "fullyLabeledReplicas": "How many pods carry all the labels of the pod template.",
            "readyReplicas": "How many pods are ready.",
            "availableReplicas": "How many pods have been ready for at least minReadySeconds.",
            "observedGeneration": _OBSERVED,
            "conditions": "The latest observations, such as ReplicaFailure.",
        },
    ),
    P + "ReplicaSetCondition": (
        "One aspect of a ReplicaSet's state at a point in time.",
        {
            "type": "The condition's type, such as ReplicaFailure.",
            "status": _CONDITION_STATUS,
            "lastTransitionTime": _TRANSITION,
            "reason": _CONDITION_REASON,
            "message": _CONDITION_MESSAGE,
        },
    ),
    P + "StatefulSet": (
        "A StatefulSet runs pods with stable names, network identities and volumes, created and updated in order.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "The desired state: the pods, their volumes and how updates proceed.",
            "status": "The observed state, written by the controller. Read-only.",
        },
    ),
    P + "StatefulSetSpec": (
        "The desired state of a StatefulSet.",
        {
            "replicas": "How many pods to run; they are named <set name>-0, -1 and so on. Default 1.",
            "selector": _SELECTOR,
            "template": "The pod template every pod is made from; each pod also gets its own volume claims.",
            "volumeClaimTemplates": "PersistentVolumeClaims made once per pod (named <claim>-<pod>) and mounted into it.",
            "serviceName": "The headless Service that gives each pod a DNS name of the form <pod>.<service>.",
            "podManagementPolicy": "OrderedReady (start and stop pods one at a time, in order) or Parallel. Default OrderedReady.",
            "updateStrategy": "How pods are replaced when the template changes.",
            "revisionHistoryLimit": _HISTORY,
            "minReadySeconds": _MIN_READY,
            "persistentVolumeClaimRetentionPolicy": "Whether the claims made from volumeClaimTemplates are kept or deleted when pods go away.",
            "ordinals": "Which number the first pod's ordinal starts from.",
        },
    ),
    P + "StatefulSetUpdateStrategy": (
        "How a StatefulSet replaces pods when its template changes.",
        {
            "type": "RollingUpdate (replace pods in reverse ordinal order) or OnDelete (only when you delete them). Default RollingUpdate.",
            "rollingUpdate": "Settings for a RollingUpdate, such as the partition.",
        },
    ),
    P + "RollingUpdateStatefulSetStrategy": (
        "Settings for a StatefulSet's rolling update.",
        {
            "partition": "Only pods with an ordinal at or above this number are updated; lower ones keep the old revision. Default 0.",
            "maxUnavailable": "How many pods may be unavailable during the update: a number or a percentage. Default 1 (needs the MaxUnavailableStatefulSet feature).",
        },
    ),
    P + "StatefulSetPersistentVolumeClaimRetentionPolicy": (
        "What happens to claims made from volumeClaimTemplates when the StatefulSet is deleted or scaled down.",
        {
            "whenDeleted": "Retain or Delete the claims when the StatefulSet is deleted. Default Retain.",
            "whenScaled": "Retain or Delete the claims of pods removed by a scale-down. Default Retain.",
        },
    ),
    P + "StatefulSetOrdinals": (
        "How a StatefulSet numbers its pods.",
        {
            "start": "The ordinal of the first pod; pods are numbered start to start+replicas-1. Default 0.",
        },
    ),
    P + "StatefulSetStatus": (
        "The observed state of a StatefulSet.",
        {
            "observedGeneration": _OBSERVED,
            "replicas": "How many pods the StatefulSet currently has.",
            "readyReplicas": "How many pods are ready.",
            "currentReplicas": "How many pods run the revision named by currentRevision.",
            "updatedReplicas": "How many pods run the revision named by updateRevision.",
            "currentRevision": "The ControllerRevision of the pods from before the current update.",
            "updateRevision": "The ControllerRevision that pods are being updated to.",
            "collisionCount": _COLLISIONS,
            "conditions": "The latest observations of the StatefulSet's state.",
            "availableReplicas": "How many pods have been ready for at least minReadySeconds.",
        },
    ),
    P + "StatefulSetCondition": (
        "One aspect of a StatefulSet's state at a point in time.",
        {
            "type": "The condition's type.",
            "status": _CONDITION_STATUS,
            "lastTransitionTime": _TRANSITION,
            "reason": _CONDITION_REASON,
            "message": _CONDITION_MESSAGE,
        },
    ),
    P + "DaemonSet": (
        "A DaemonSet runs one copy of a pod on each node that its template can be scheduled to.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "spec": "The desired state: the pod template and how updates proceed.",
            "status": "The observed state, written by the controller. Read-only.",
        },
    ),
    P + "DaemonSetSpec": (
        "The desired state of a DaemonSet.",
        {
            "selector": _SELECTOR,
            "template": "The pod template run on each eligible node; its nodeSelector and affinity narrow the nodes.",
            "updateStrategy": "How pods are replaced when the template changes.",
            "minReadySeconds": _MIN_READY,
            "revisionHistoryLimit": _HISTORY,
        },
    ),
    P + "DaemonSetUpdateStrategy": (
        "How a DaemonSet replaces pods when its template changes.",
        {
            "type": "RollingUpdate (replace pods node by node) or OnDelete (only when you delete them). Default RollingUpdate.",
            "rollingUpdate": "Limits for a RollingUpdate.",
        },
    ),
    P + "RollingUpdateDaemonSet": (
        "Limits that pace a DaemonSet's rolling update.",
        {
            "maxUnavailable": "How many nodes may lack an available pod during the update: a number or a percentage of nodes. Default 1.",
            "maxSurge": "How many nodes may briefly run both the old and the new pod: a number or a percentage. Default 0.",
        },
    ),
    P + "DaemonSetStatus": (
        "The observed state of a DaemonSet.",
        {
            "currentNumberScheduled": "How many nodes run at least one of the DaemonSet's pods and should.",
            "numberMisscheduled": "How many nodes run one of the DaemonSet's pods but should not.",
            "desiredNumberScheduled": "How many nodes should run the DaemonSet's pod.",
            "numberReady": "How many nodes have a ready pod of the DaemonSet.",
            "observedGeneration": _OBSERVED,
            "updatedNumberScheduled": "How many nodes run a pod from the current template.",
            "numberAvailable": "How many nodes have a pod that has been ready for at least minReadySeconds.",
            "numberUnavailable": "How many nodes should run an available pod but do not.",
            "collisionCount": _COLLISIONS,
            "conditions": "The latest observations of the DaemonSet's state.",
        },
    ),
    P + "DaemonSetCondition": (
        "One aspect of a DaemonSet's state at a point in time.",
        {
            "type": "The condition's type.",
            "status": _CONDITION_STATUS,
            "lastTransitionTime": _TRANSITION,
            "reason": _CONDITION_REASON,
            "message": _CONDITION_MESSAGE,
        },
    ),
    P + "ControllerRevision": (
        "An immutable snapshot of a StatefulSet's or DaemonSet's template, kept so it can be rolled back to.",
        {
            "metadata": "Standard object metadata: name, namespace, labels, annotations and so on.",
            "data": "The recorded state, as an embedded object (a patch holding the pod template).",
            "revision": "The revision number of this snapshot; higher numbers are newer.",
        },
    ),
}
