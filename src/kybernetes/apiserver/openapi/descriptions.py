"""One-line descriptions of the served kinds, shown by ``kubectl explain <kind>``.

Used when a kind's message declares no description of its own.
"""

from __future__ import annotations

KIND_DESCRIPTIONS: dict[str, str] = {
    "Namespace": "A Namespace scopes names: most objects live in exactly one namespace.",
    "Pod": "A Pod is a group of containers that run together on one node and share its network and volumes.",
    "Binding": "A Binding assigns a pod to a node; the scheduler creates one per scheduled pod.",
    "Service": "A Service gives a set of pods, chosen by a label selector, one stable address and name.",
    "Endpoints": "Endpoints lists the addresses and ports that implement a Service.",
    "ConfigMap": "A ConfigMap holds configuration data as string or binary values for pods to consume.",
    "Secret": "A Secret holds sensitive data, such as passwords, tokens or keys, for pods to consume.",
    "ServiceAccount": "A ServiceAccount is an identity for processes that run in pods.",
    "Event": "An Event reports something that happened to an object in the cluster.",
    "Node": "A Node is a machine that runs pods; its status reports capacity and health.",
    "ReplicationController": "A ReplicationController keeps a number of copies of a pod template running (ReplicaSets replace it).",
    "LimitRange": "A LimitRange sets default and allowed resource amounts for objects in a namespace.",
    "ResourceQuota": "A ResourceQuota caps the total resources that objects in a namespace may use.",
    "PersistentVolume": "A PersistentVolume is a piece of storage provisioned for the cluster.",
    "PersistentVolumeClaim": "A PersistentVolumeClaim is a request for storage that a pod can mount.",
    "PodTemplate": "A PodTemplate holds a pod template for reuse.",
    "Deployment": "A Deployment declares the desired state of a set of identical pods and rolls out changes to them.",
    "ReplicaSet": "A ReplicaSet keeps a number of copies of a pod template running.",
    "StatefulSet": "A StatefulSet runs pods with stable names and storage, created and updated in order.",
    "DaemonSet": "A DaemonSet runs one copy of a pod on every eligible node.",
    "ControllerRevision": "A ControllerRevision records an immutable snapshot of a controller's state, for rollbacks.",
    "Job": "A Job runs pods until a number of them complete successfully.",
    "CronJob": "A CronJob creates Jobs on a repeating schedule.",
    "HorizontalPodAutoscaler": "A HorizontalPodAutoscaler scales a workload's replicas to follow observed metrics.",
    "Ingress": "An Ingress routes external HTTP traffic to Services by host and path.",
    "IngressClass": "An IngressClass names an ingress controller and its configuration.",
    "NetworkPolicy": "A NetworkPolicy says which traffic may reach and leave a set of pods.",
    "PodDisruptionBudget": "A PodDisruptionBudget limits how many pods of a set voluntary disruptions may take down at once.",
    "Lease": "A Lease is a time-limited claim, used for leader election and node heartbeats.",
    "EndpointSlice": "An EndpointSlice lists a subset of the endpoints that implement a Service.",
    "PriorityClass": "A PriorityClass maps a name to a pod scheduling priority.",
    "StorageClass": "A StorageClass describes a kind of storage that volumes can be provisioned from.",
    "Role": "A Role grants permissions on resources within one namespace.",
    "RoleBinding": "A RoleBinding grants the permissions of a Role or ClusterRole to subjects within one namespace.",
    "ClusterRole": "A ClusterRole grants permissions across the cluster or, through RoleBindings, in namespaces.",
    "ClusterRoleBinding": "A ClusterRoleBinding grants the permissions of a ClusterRole to subjects cluster-wide.",
    "Scale": "Scale is the desired and observed replica count of a scalable resource.",
    "Eviction": "An Eviction asks to evict a pod, subject to its PodDisruptionBudgets.",
    "DeleteOptions": "DeleteOptions may accompany a delete request.",
    "Status": "Status is the result of a request that returns no object, such as an error.",
}


def list_description(kind: str) -> str:
    return f"A list of {kind} objects."
