"""Which printer serves which resource, and the default table for kinds without one.

Printers are keyed by (group, kind) because a kind served in two groups or versions is the same
stored object: core and events.k8s.io events share the event printer. The two HPA versions share
columns but read different object shapes, so they are keyed by version too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kybernetes.api.resources import Resource
from kybernetes.apiserver.tables import admissionpolicy, certificates, cluster, core, hpa, pod, workloads
from kybernetes.apiserver.tables.format import Obj, created_at, name
from kybernetes.apiserver.tables.printer import NAME, Printer, col

_PRINTERS: dict[tuple[str, str], Printer] = {
    ("", "Pod"): pod.PRINTER,
    ("", "PodTemplate"): workloads.PODTEMPLATE,
    ("", "ReplicationController"): workloads.REPLICATIONCONTROLLER,
    ("", "Service"): core.SERVICE,
    ("", "Endpoints"): core.ENDPOINTS,
    ("", "Node"): core.NODE,
    ("", "Namespace"): core.NAMESPACE,
    ("", "ConfigMap"): core.CONFIGMAP,
    ("", "Secret"): core.SECRET,
    ("", "ServiceAccount"): core.SERVICEACCOUNT,
    ("", "Event"): core.EVENT,
    ("events.k8s.io", "Event"): core.EVENT,
    ("", "PersistentVolume"): core.PERSISTENTVOLUME,
    ("", "PersistentVolumeClaim"): core.PERSISTENTVOLUMECLAIM,
    ("", "ResourceQuota"): core.RESOURCEQUOTA,
    ("apps", "Deployment"): workloads.DEPLOYMENT,
    ("apps", "ReplicaSet"): workloads.REPLICASET,
    ("apps", "StatefulSet"): workloads.STATEFULSET,
    ("apps", "DaemonSet"): workloads.DAEMONSET,
    ("apps", "ControllerRevision"): workloads.CONTROLLERREVISION,
    ("batch", "Job"): workloads.JOB,
    ("batch", "CronJob"): workloads.CRONJOB,
    ("policy", "PodDisruptionBudget"): workloads.PDB,
    ("networking.k8s.io", "Ingress"): cluster.INGRESS,
    ("networking.k8s.io", "IngressClass"): cluster.INGRESSCLASS,
    ("networking.k8s.io", "NetworkPolicy"): cluster.NETWORKPOLICY,
    ("discovery.k8s.io", "EndpointSlice"): core.ENDPOINTSLICE,
    ("certificates.k8s.io", "CertificateSigningRequest"): certificates.CSR,
    ("coordination.k8s.io", "Lease"): cluster.LEASE,
    ("scheduling.k8s.io", "PriorityClass"): cluster.PRIORITYCLASS,
    ("storage.k8s.io", "StorageClass"): cluster.STORAGECLASS,
    ("rbac.authorization.k8s.io", "RoleBinding"): cluster.ROLEBINDING,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): cluster.CLUSTERROLEBINDING,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): admissionpolicy.POLICY,
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"): admissionpolicy.BINDING,
}


def _default_cells(obj: Obj, now: datetime) -> list[Any]:
    del now
    return [name(obj), created_at(obj)]


# Kinds without a printer (roles, limit ranges, custom resources, ...): name and creation time.
DEFAULT = Printer(
    (NAME, col("Created At", "When the object was created.", "date")),
    _default_cells,
)


def printer_for(resource: Resource) -> Printer:
    custom = getattr(resource.custom, "printer", None)
    if isinstance(custom, Printer):  # a CRD version's additionalPrinterColumns
        return custom
    if resource.group == "autoscaling" and resource.kind == "HorizontalPodAutoscaler":
        return hpa.HPA_V1 if resource.version == "v1" else hpa.HPA_V2
    return _PRINTERS.get((resource.group, resource.kind), DEFAULT)
