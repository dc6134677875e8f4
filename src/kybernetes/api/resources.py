"""The resources the API server serves: names, scope and subresources, declared once.

Discovery, routing, storage keys, `kubectl get all` (categories) and OpenAPI paths are all
derived from this table. Schemas live in ``kybernetes.api.schemas``; a resource points at its
top-level message by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, slots=True)
class Subresource:
    name: str  # "status", "scale", "binding", ...
    kind: str  # responseKind kind
    group: str = ""  # responseKind group ("" means the parent's group)
    version: str = ""  # responseKind version ("" means the parent's version)
    verbs: tuple[str, ...] = ("get", "patch", "update")


@dataclass(frozen=True, slots=True)
class Resource:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    schema: str  # message name of the top-level object
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[Subresource, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    # The group/version objects are kept in, when another version serves the same objects
    # (autoscaling/v1 HPAs are stored as autoscaling/v2).
    storage_version: str = ""
    list_kind: str = field(default="")
    # Custom resources (CRDs): their storage key prefix (/registry/<group>/<plural>/), and what
    # the apiserver attached to serve the version (schema, printer columns, scale paths); both
    # unset for built-ins.
    storage_prefix: str = ""
    custom: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def stored_version(self) -> str:
        return self.storage_version or self.version

    @property
    def kind_list(self) -> str:
        return self.list_kind or f"{self.kind}List"

    def key_prefix(self) -> str:
        """Storage key prefix: /registry/<resource>/ as upstream keeps built-ins in etcd.

        Versions of one group share objects (both HPA versions read one stored form).
        events.k8s.io events are kept apart from core events until conversion between the two
        shapes exists (docs/roadmap.md).
        """
        if self.storage_prefix:
            return self.storage_prefix
        if self.group == "events.k8s.io":
            return "/registry/events.k8s.io/events/"
        return f"/registry/{self.plural}/"

    def subresource(self, name: str) -> Subresource | None:
        for s in self.subresources:
            if s.name == name:
                return s
        return None


def _status(kind: str) -> Subresource:
    return Subresource("status", kind)


def _scale() -> Subresource:
    return Subresource("scale", "Scale", group="autoscaling", version="v1")


CORE = "io.k8s.api.core.v1."
APPS = "io.k8s.api.apps.v1."

RESOURCES: tuple[Resource, ...] = (
    # core/v1
    Resource("", "v1", "Namespace", "namespaces", "namespace", False, CORE + "Namespace",
             short_names=("ns",), subresources=(_status("Namespace"), Subresource("finalize", "Namespace", verbs=("update",)))),
    Resource("", "v1", "Pod", "pods", "pod", True, CORE + "Pod", short_names=("po",), categories=("all",),
             subresources=(
                 _status("Pod"),
                 Subresource("binding", "Binding", verbs=("create",)),
                 Subresource("eviction", "Eviction", group="policy", version="v1", verbs=("create",)),
                 Subresource("log", "Pod", verbs=("get",)),
                 Subresource("exec", "PodExecOptions", verbs=("create", "get")),
                 Subresource("attach", "PodAttachOptions", verbs=("create", "get")),
                 Subresource("portforward", "PodPortForwardOptions", verbs=("create", "get")),
                 Subresource("ephemeralcontainers", "Pod"),
             )),
    Resource("", "v1", "Binding", "bindings", "binding", True, CORE + "Binding", verbs=("create",)),
    Resource("", "v1", "Service", "services", "service", True, CORE + "Service", short_names=("svc",),
             categories=("all",), subresources=(_status("Service"),),
             verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")),
    Resource("", "v1", "Endpoints", "endpoints", "endpoints", True, CORE + "Endpoints", short_names=("ep",),
             list_kind="EndpointsList"),
    Resource("", "v1", "ConfigMap", "configmaps", "configmap", True, CORE + "ConfigMap", short_names=("cm",)),
    Resource("", "v1", "Secret", "secrets", "secret", True, CORE + "Secret"),
    Resource("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", True, CORE + "ServiceAccount",
             short_names=("sa",), subresources=(
                 Subresource("token", "TokenRequest", group="authentication.k8s.io", version="v1", verbs=("create",)),)),
    Resource("", "v1", "Event", "events", "event", True, CORE + "Event", short_names=("ev",)),
    Resource("", "v1", "Node", "nodes", "node", False, CORE + "Node", short_names=("no",),
             subresources=(_status("Node"), Subresource("proxy", "NodeProxyOptions",
                                                        verbs=("create", "delete", "get", "patch", "update")))),
    Resource("", "v1", "ReplicationController", "replicationcontrollers", "replicationcontroller", True,
             CORE + "ReplicationController", short_names=("rc",), categories=("all",),
             subresources=(_scale(), _status("ReplicationController"))),
    Resource("", "v1", "LimitRange", "limitranges", "limitrange", True, CORE + "LimitRange", short_names=("limits",)),
    Resource("", "v1", "ResourceQuota", "resourcequotas", "resourcequota", True, CORE + "ResourceQuota",
             short_names=("quota",), subresources=(_status("ResourceQuota"),)),
    Resource("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", False,
             CORE + "PersistentVolume", short_names=("pv",), subresources=(_status("PersistentVolume"),)),
    Resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", True,
             CORE + "PersistentVolumeClaim", short_names=("pvc",), subresources=(_status("PersistentVolumeClaim"),)),
    Resource("", "v1", "PodTemplate", "podtemplates", "podtemplate", True, CORE + "PodTemplate"),
    # apps/v1
    Resource("apps", "v1", "Deployment", "deployments", "deployment", True, APPS + "Deployment",
             short_names=("deploy",), categories=("all",), subresources=(_scale(), _status("Deployment"))),
    Resource("apps", "v1", "ReplicaSet", "replicasets", "replicaset", True, APPS + "ReplicaSet",
             short_names=("rs",), categories=("all",), subresources=(_scale(), _status("ReplicaSet"))),
    Resource("apps", "v1", "StatefulSet", "statefulsets", "statefulset", True, APPS + "StatefulSet",
             short_names=("sts",), categories=("all",), subresources=(_scale(), _status("StatefulSet"))),
    Resource("apps", "v1", "DaemonSet", "daemonsets", "daemonset", True, APPS + "DaemonSet",
             short_names=("ds",), categories=("all",), subresources=(_status("DaemonSet"),)),
    Resource("apps", "v1", "ControllerRevision", "controllerrevisions", "controllerrevision", True,
             APPS + "ControllerRevision"),
    # batch/v1
    Resource("batch", "v1", "Job", "jobs", "job", True, "io.k8s.api.batch.v1.Job", categories=("all",),
             subresources=(_status("Job"),)),
    Resource("batch", "v1", "CronJob", "cronjobs", "cronjob", True, "io.k8s.api.batch.v1.CronJob",
             short_names=("cj",), categories=("all",), subresources=(_status("CronJob"),)),
    # autoscaling: one stored form (v2), served as v2 (preferred) and v1
    Resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
             "horizontalpodautoscaler", True, "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
             short_names=("hpa",), categories=("all",), subresources=(_status("HorizontalPodAutoscaler"),)),
    Resource("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers",
             "horizontalpodautoscaler", True, "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
             short_names=("hpa",), categories=("all",), subresources=(_status("HorizontalPodAutoscaler"),),
             storage_version="v2"),
    # networking.k8s.io/v1
    Resource("networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", True,
             "io.k8s.api.networking.v1.Ingress", short_names=("ing",), subresources=(_status("Ingress"),)),
    Resource("networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", False,
             "io.k8s.api.networking.v1.IngressClass"),
    Resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", True,
             "io.k8s.api.networking.v1.NetworkPolicy", short_names=("netpol",)),
    # authentication.k8s.io/v1: create-only reviews, answered from the request and never stored
    Resource("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", "selfsubjectreview", False,
             "io.k8s.api.authentication.v1.SelfSubjectReview", verbs=("create",)),
    Resource("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", "tokenreview", False,
             "io.k8s.api.authentication.v1.TokenReview", verbs=("create",)),
    # authorization.k8s.io/v1: questions to the authorizer (apiserver/registry/accessreview.py)
    Resource("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
             "localsubjectaccessreview", True, "io.k8s.api.authorization.v1.LocalSubjectAccessReview",
             verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
             "selfsubjectaccessreview", False, "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
             verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
             "selfsubjectrulesreview", False, "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
             verbs=("create",)),
    Resource("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", "subjectaccessreview",
             False, "io.k8s.api.authorization.v1.SubjectAccessReview", verbs=("create",)),
    # policy/v1
    Resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", "poddisruptionbudget", True,
             "io.k8s.api.policy.v1.PodDisruptionBudget", short_names=("pdb",),
             subresources=(_status("PodDisruptionBudget"),)),
    # certificates.k8s.io/v1
    Resource("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests",
             "certificatesigningrequest", False, "io.k8s.api.certificates.v1.CertificateSigningRequest",
             short_names=("csr",), subresources=(_status("CertificateSigningRequest"),
                                                 Subresource("approval", "CertificateSigningRequest"))),
    # coordination.k8s.io/v1
    Resource("coordination.k8s.io", "v1", "Lease", "leases", "lease", True, "io.k8s.api.coordination.v1.Lease"),
    # discovery.k8s.io/v1
    Resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", True,
             "io.k8s.api.discovery.v1.EndpointSlice"),
    # events.k8s.io/v1 (the same objects as core/v1 events)
    Resource("events.k8s.io", "v1", "Event", "events", "event", True, "io.k8s.api.events.v1.Event",
             short_names=("ev",)),
    # scheduling.k8s.io/v1
    Resource("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", "priorityclass", False,
             "io.k8s.api.scheduling.v1.PriorityClass", short_names=("pc",)),
    # storage.k8s.io/v1
    Resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", False,
             "io.k8s.api.storage.v1.StorageClass", short_names=("sc",)),
    # rbac.authorization.k8s.io/v1
    Resource("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", True, "io.k8s.api.rbac.v1.Role"),
    Resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", True,
             "io.k8s.api.rbac.v1.RoleBinding"),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", False,
             "io.k8s.api.rbac.v1.ClusterRole"),
    Resource("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
             "clusterrolebinding", False, "io.k8s.api.rbac.v1.ClusterRoleBinding"),
    # admissionregistration.k8s.io/v1
    Resource("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations",
             "mutatingwebhookconfiguration", False, "io.k8s.api.admissionregistration.v1.MutatingWebhookConfiguration",
             categories=("api-extensions",)),
    Resource("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration",
             "validatingwebhookconfigurations", "validatingwebhookconfiguration", False,
             "io.k8s.api.admissionregistration.v1.ValidatingWebhookConfiguration", categories=("api-extensions",)),
    Resource("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies",
             "validatingadmissionpolicy", False, "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicy",
             categories=("api-extensions",), subresources=(_status("ValidatingAdmissionPolicy"),)),
    Resource("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding",
             "validatingadmissionpolicybindings", "validatingadmissionpolicybinding", False,
             "io.k8s.api.admissionregistration.v1.ValidatingAdmissionPolicyBinding", categories=("api-extensions",)),
    # apiextensions.k8s.io/v1
    Resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions",
             "customresourcedefinition", False,
             "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
             short_names=("crd", "crds"), categories=("api-extensions",),
             subresources=(_status("CustomResourceDefinition"),),
             storage_prefix="/registry/apiextensions.k8s.io/customresourcedefinitions/"),
)

# Group order in discovery (/apis), as upstream lists them. Versions within a group are listed
# preferred first.
GROUP_ORDER = (
    "",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "scheduling.k8s.io",
)
PREFERRED_VERSION = {"autoscaling": "v2"}


def by_group_version() -> dict[tuple[str, str], list[Resource]]:
    out: dict[tuple[str, str], list[Resource]] = {}
    for r in RESOURCES:
        out.setdefault((r.group, r.version), []).append(r)
    return out


def lookup(group: str, version: str, plural: str) -> Resource | None:
    for r in RESOURCES:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


class ResourceTable:
    """The resources one API server serves: the built-ins plus those added while it runs
    (custom resources), each set of added resources owned by a name (the CRD's).

    Built-ins win a conflict: a dynamic resource never hides one. ``generation`` changes on
    every change so that derived documents (discovery, OpenAPI) know when to rebuild.
    """

    def __init__(self, builtins: tuple[Resource, ...] = RESOURCES) -> None:
        self._builtins = builtins
        self._owned: dict[str, tuple[Resource, ...]] = {}
        self._index: dict[tuple[str, str, str], Resource] = {}
        self._all: tuple[Resource, ...] = builtins
        self.generation = 0
        self._rebuild()

    def _rebuild(self) -> None:
        dynamic = [r for owner in sorted(self._owned) for r in self._owned[owner]]
        builtin_keys = {(r.group, r.version, r.plural) for r in self._builtins}
        dynamic = [r for r in dynamic if (r.group, r.version, r.plural) not in builtin_keys]
        self._all = self._builtins + tuple(dynamic)
        self._index = {}
        for r in self._all:
            self._index.setdefault((r.group, r.version, r.plural), r)
        self.generation += 1

    def set(self, owner: str, resources: Iterable[Resource]) -> None:
        """Serve exactly `resources` for `owner` (replacing what it had)."""
        new = tuple(resources)
        if self._owned.get(owner) == new and all(
                a.custom is b.custom for a, b in zip(self._owned.get(owner, ()), new, strict=True)):
            return
        if new:
            self._owned[owner] = new
        else:
            self._owned.pop(owner, None)
        self._rebuild()

    def remove(self, owner: str) -> None:
        if owner in self._owned:
            del self._owned[owner]
            self._rebuild()

    def owned(self, owner: str) -> tuple[Resource, ...]:
        return self._owned.get(owner, ())

    def all(self) -> tuple[Resource, ...]:
        return self._all

    def lookup(self, group: str, version: str, plural: str) -> Resource | None:
        return self._index.get((group, version, plural))
