"""The kinds the dashboard shows, and where each lives in the REST API.

Why: list pages, detail pages and actions are generic over a kind; this table says, for each URL
slug (the plural), the API path prefix, whether it is namespaced, which menu section it belongs to
and which actions it offers. Lists are fetched as server-side Tables, so the columns are exactly
the ones `kubectl get` prints without the dashboard repeating the printers.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True, slots=True)
class Kind:
    slug: str  # the resource's plural, also the dashboard's URL segment
    kind: str
    api_version: str  # "v1", "apps/v1", ...
    namespaced: bool
    section: str
    scalable: bool = False  # has a /scale subresource
    restartable: bool = False  # `kubectl rollout restart` applies
    selects_pods: bool = False  # spec.selector picks the object's pods

    @property
    def title(self) -> str:
        """The plural for menus and headings: "Deployments", "Ingresses"."""
        return self.kind + ("es" if self.kind.endswith("s") else "s")

    @property
    def prefix(self) -> str:
        return "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"

    def path(self, *, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The REST path of the collection (all namespaces when `namespace` is empty) or an object."""
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(self.slug)
        if name:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


KINDS: dict[str, Kind] = {
    k.slug: k
    for k in (
        Kind(
            "deployments",
            "Deployment",
            "apps/v1",
            True,
            "Workloads",
            scalable=True,
            restartable=True,
            selects_pods=True,
        ),
        Kind("replicasets", "ReplicaSet", "apps/v1", True, "Workloads", scalable=True, selects_pods=True),
        Kind(
            "statefulsets",
            "StatefulSet",
            "apps/v1",
            True,
            "Workloads",
            scalable=True,
            restartable=True,
            selects_pods=True,
        ),
        Kind("daemonsets", "DaemonSet", "apps/v1", True, "Workloads", restartable=True, selects_pods=True),
        Kind("jobs", "Job", "batch/v1", True, "Workloads", selects_pods=True),
        Kind("cronjobs", "CronJob", "batch/v1", True, "Workloads"),
        Kind("pods", "Pod", "v1", True, "Workloads"),
        Kind("services", "Service", "v1", True, "Network"),
        Kind("ingresses", "Ingress", "networking.k8s.io/v1", True, "Network"),
        Kind("configmaps", "ConfigMap", "v1", True, "Config"),
        Kind("secrets", "Secret", "v1", True, "Config"),
        Kind("persistentvolumeclaims", "PersistentVolumeClaim", "v1", True, "Storage"),
        Kind("persistentvolumes", "PersistentVolume", "v1", False, "Storage"),
        Kind("events", "Event", "v1", True, "Cluster"),
        Kind("namespaces", "Namespace", "v1", False, "Cluster"),
        Kind("nodes", "Node", "v1", False, "Cluster"),
    )
}
WORKLOADS = [k for k in KINDS.values() if k.section == "Workloads"]
SECTIONS = ("Workloads", "Network", "Config", "Storage", "Cluster")

# The media type kubectl asks for to get server-printed columns.
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
# The `ns` query value meaning "all namespaces" (an underscore is never part of a namespace name;
# an absent `ns` means "default", as for kubectl).
ALL_NAMESPACES = "_all"


def ns_query(namespace: str) -> str:
    """The `ns` query value for a namespace ("" = all namespaces)."""
    return namespace or ALL_NAMESPACES
