"""The default RBAC policy every cluster starts with (upstream's bootstrap policy), as data.

Roles and bindings are written at server start when missing and reconciled when present (missing
rules and subjects are added; an object annotated ``rbac.authorization.kubernetes.io/autoupdate:
"false"`` is left as the administrator made it). The user-facing roles ``view``, ``edit`` and
``admin`` are aggregated: their rules come from the ``system:aggregate-to-*`` roles (and any
ClusterRole labelled ``rbac.authorization.k8s.io/aggregate-to-<role>: "true"``) through the
controller manager's clusterrole-aggregation loop.

Which identities are bound (see docs/security.md):
- group system:masters: cluster-admin (the admin kubeconfig; every in-process component uses it);
- group system:authenticated: system:basic-user, system:discovery, system:public-info-viewer
  (the last also for system:unauthenticated);
- group system:nodes (joined kubelets; the Node authorizer grants their node-scoped rights):
  kyb:node-network (kube-proxy's reads plus what the agent's network policy and pod-route loops
  list), kyb:node-local-path (reading PersistentVolumes for the local-path volume collector) and the
  CSR self-renewal role;
- group system:bootstrappers (bootstrap tokens): system:node-bootstrapper, the node-client CSR
  role, and reading the public cluster-info and CA ConfigMaps in kube-public;
- user system:anonymous: reading kube-public/cluster-info only (token-based discovery);
- upstream's component users (system:kube-controller-manager, system:kube-scheduler,
  system:kube-proxy) and service accounts (kube-system/kube-dns), for components run with their
  own credentials.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
RBAC_V1 = "rbac.authorization.k8s.io/v1"
AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"
BOOTSTRAPPING_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}
AGGREGATE_TO = "rbac.authorization.k8s.io/aggregate-to-"
READ = ["get", "list", "watch"]
WRITE = ["create", "delete", "deletecollection", "patch", "update"]
EVENT_WRITE = ["create", "patch", "update"]


def rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> Obj:
    out: Obj = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    if names:
        out["resourceNames"] = names
    return out


def urls(paths: list[str], verbs: list[str]) -> Obj:
    return {"nonResourceURLs": paths, "verbs": verbs}


def cluster_role(
    name: str, rules: list[Obj], *, labels: dict[str, str] | None = None, aggregate_from: str = ""
) -> Obj:
    role: Obj = {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRole",
        "metadata": {
            "name": name,
            "labels": {**BOOTSTRAPPING_LABEL, **(labels or {})},
            "annotations": {AUTOUPDATE: "true"},
        },
        "rules": rules,
    }
    if aggregate_from:
        role["aggregationRule"] = {
            "clusterRoleSelectors": [{"matchLabels": {AGGREGATE_TO + aggregate_from: "true"}}]
        }
    return role


def subject(kind: str, name: str, namespace: str = "") -> Obj:
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"kind": kind, "apiGroup": "rbac.authorization.k8s.io", "name": name}


def cluster_role_binding(name: str, role: str, subjects: list[Obj]) -> Obj:
    return {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": dict(BOOTSTRAPPING_LABEL), "annotations": {AUTOUPDATE: "true"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


# --- what the Node authorizer allows every node (upstream's system:node role) ------------------------
NODE_RULES: list[Obj] = [
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["localsubjectaccessreviews", "subjectaccessreviews"], ["create"]),
    rule([""], ["services"], READ),
    rule([""], ["nodes"], ["create", *READ]),
    rule([""], ["nodes/status"], ["patch", "update"]),
    rule([""], ["nodes"], ["patch", "update"]),
    rule([""], ["events"], EVENT_WRITE),
    rule([""], ["pods"], READ),
    rule([""], ["pods"], ["create", "delete"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["pods/eviction"], ["create"]),
    rule([""], ["configmaps", "secrets"], READ),
    rule([""], ["persistentvolumeclaims", "persistentvolumes"], ["get"]),
    rule([""], ["endpoints"], ["get"]),
    rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", *READ]),
    rule(["coordination.k8s.io"], ["leases"], ["create", "delete", "get", "patch", "update"]),
    rule(["storage.k8s.io"], ["volumeattachments"], ["get"]),
    rule([""], ["serviceaccounts/token"], ["create"]),
    rule([""], ["persistentvolumeclaims/status"], ["get", "patch", "update"]),
    rule(["storage.k8s.io"], ["csidrivers"], READ),
    rule(["storage.k8s.io"], ["csinodes"], ["create", "delete", "get", "patch", "update"]),
    rule(["node.k8s.io"], ["runtimeclasses"], READ),
    urls(["/kyb/logs/v1/ingest"], ["post"]),  # the node's log shipper (docs/logging.md)
]

DISCOVERY_URLS = [
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/openapi",
    "/openapi/*",
    "/readyz",
    "/version",
    "/version/",
]
PUBLIC_INFO_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

_VIEW_RULES = [
    rule(
        [""],
        [
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "serviceaccounts",
            "services",
            "services/status",
        ],
        READ,
    ),
    rule(
        [""],
        [
            "bindings",
            "events",
            "limitranges",
            "namespaces/status",
            "pods/log",
            "pods/status",
            "replicationcontrollers/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
        READ,
    ),
    rule([""], ["namespaces"], READ),
    rule(["discovery.k8s.io"], ["endpointslices"], READ),
    rule(
        ["apps"],
        [
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
        READ,
    ),
    rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ),
    rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
    rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
    rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
]

_EDIT_RULES = [
    rule(
        [""],
        ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
        READ,
    ),
    rule([""], ["serviceaccounts"], ["impersonate"]),
    rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], WRITE),
    rule([""], ["pods/eviction"], ["create"]),
    rule(
        [""],
        [
            "configmaps",
            "events",
            "persistentvolumeclaims",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
        WRITE,
    ),
    rule([""], ["serviceaccounts/token"], ["create"]),
    rule(
        ["apps"],
        [
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
        WRITE,
    ),
    rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
    rule(["batch"], ["cronjobs", "jobs"], WRITE),
    rule(["policy"], ["poddisruptionbudgets"], WRITE),
    rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], WRITE),
    rule(["coordination.k8s.io"], ["leases"], [*WRITE, "get", "list", "watch"]),
]

_ADMIN_RULES = [
    rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]),
    rule(["rbac.authorization.k8s.io"], ["rolebindings", "roles"], [*WRITE, *READ]),
]

_CONTROLLER_MANAGER_RULES = [
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
    rule(["coordination.k8s.io"], ["leases"], ["create"]),
    rule(["coordination.k8s.io"], ["leases"], ["get", "update"], ["kube-controller-manager"]),
    rule([""], ["secrets", "serviceaccounts"], ["create"]),
    rule([""], ["secrets"], ["delete"]),
    rule([""], ["configmaps", "namespaces", "secrets", "serviceaccounts"], ["get"]),
    rule([""], ["secrets", "serviceaccounts"], ["update"]),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    rule(["*"], ["*"], ["list", "watch"]),
    rule([""], ["serviceaccounts/token"], ["create"]),
]

_SCHEDULER_RULES = [
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
    rule(["coordination.k8s.io"], ["leases"], ["create"]),
    rule(["coordination.k8s.io"], ["leases"], ["get", "update"], ["kube-scheduler"]),
    rule([""], ["nodes"], READ),
    rule([""], ["pods"], ["delete", *READ]),
    rule([""], ["bindings", "pods/binding"], ["create"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["replicationcontrollers", "services"], READ),
    rule(["apps", "extensions"], ["replicasets"], READ),
    rule(["apps"], ["statefulsets"], READ),
    rule(["policy"], ["poddisruptionbudgets"], READ),
    rule([""], ["persistentvolumeclaims", "persistentvolumes"], READ),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    rule(["storage.k8s.io"], ["csinodes"], READ),
    rule([""], ["namespaces"], READ),
    rule(["storage.k8s.io"], ["csidrivers"], READ),
    rule(["storage.k8s.io"], ["csistoragecapacities"], READ),
]

_PROXIER_RULES = [
    rule([""], ["endpoints", "services"], ["list", "watch"]),
    rule([""], ["nodes"], READ),
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
    rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
]

# What the node agent's own network loops read besides kube-proxy's share: network policies with the
# pods and namespaces they select (netpol), and every Node's pod CIDR (host-gw routes).
_NODE_NETWORK_RULES = [
    *_PROXIER_RULES,
    rule([""], ["pods", "namespaces"], ["list", "watch"]),
    rule(["networking.k8s.io"], ["networkpolicies"], ["list", "watch"]),
]


def _signer_approver(signer: str) -> Obj:
    return cluster_role(
        f"system:certificates.k8s.io:{signer.split('/', 1)[1]}-approver",
        [rule(["certificates.k8s.io"], ["signers"], ["approve"], [signer])],
    )


CLUSTER_ROLES: list[Obj] = [
    cluster_role("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
    cluster_role("admin", [], aggregate_from="admin"),
    cluster_role("edit", [], labels={AGGREGATE_TO + "admin": "true"}, aggregate_from="edit"),
    cluster_role("view", [], labels={AGGREGATE_TO + "edit": "true"}, aggregate_from="view"),
    cluster_role("system:aggregate-to-admin", _ADMIN_RULES, labels={AGGREGATE_TO + "admin": "true"}),
    cluster_role("system:aggregate-to-edit", _EDIT_RULES, labels={AGGREGATE_TO + "edit": "true"}),
    cluster_role("system:aggregate-to-view", _VIEW_RULES, labels={AGGREGATE_TO + "view": "true"}),
    cluster_role(
        "system:basic-user",
        [
            rule(
                ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]
            ),
            rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"]),
        ],
    ),
    cluster_role("system:discovery", [urls(DISCOVERY_URLS, ["get"])]),
    cluster_role("system:public-info-viewer", [urls(PUBLIC_INFO_URLS, ["get"])]),
    cluster_role(
        "system:monitoring",
        [
            urls(
                [
                    "/healthz",
                    "/healthz/*",
                    "/livez",
                    "/livez/*",
                    "/metrics",
                    "/metrics/slis",
                    "/readyz",
                    "/readyz/*",
                ],
                ["get"],
            )
        ],
    ),
    cluster_role(
        "system:auth-delegator",
        [
            rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
            rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
        ],
    ),
    cluster_role(
        "system:service-account-issuer-discovery",
        [urls(["/.well-known/openid-configuration", "/openid/v1/jwks"], ["get"])],
    ),
    cluster_role("system:node", NODE_RULES),
    cluster_role(
        "system:node-bootstrapper",
        [rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", *READ])],
    ),
    cluster_role("system:node-proxier", _PROXIER_RULES),
    cluster_role("system:kube-controller-manager", _CONTROLLER_MANAGER_RULES),
    cluster_role("system:kube-scheduler", _SCHEDULER_RULES),
    cluster_role("system:kube-dns", [rule([""], ["endpoints", "services"], ["list", "watch"])]),
    cluster_role(
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        [rule(["certificates.k8s.io"], ["certificatesigningrequests/nodeclient"], ["create"])],
    ),
    cluster_role(
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        [rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"], ["create"])],
    ),
    _signer_approver("kubernetes.io/kube-apiserver-client"),
    _signer_approver("kubernetes.io/kube-apiserver-client-kubelet"),
    _signer_approver("kubernetes.io/kubelet-serving"),
    _signer_approver("kubernetes.io/legacy-unknown"),
    cluster_role("kyb:node-network", _NODE_NETWORK_RULES),
    # metrics.k8s.io is served by the API server itself; metrics-server's role, aggregated into view
    cluster_role(
        "system:aggregated-metrics-reader",
        [rule(["metrics.k8s.io"], ["pods", "nodes"], READ)],
        labels={AGGREGATE_TO + "view": "true", AGGREGATE_TO + "edit": "true", AGGREGATE_TO + "admin": "true"},
    ),
    # the agent's local-path volume collector: which PersistentVolumes still exist
    cluster_role("kyb:node-local-path", [rule([""], ["persistentvolumes"], READ)]),
]

CLUSTER_ROLE_BINDINGS: list[Obj] = [
    cluster_role_binding("cluster-admin", "cluster-admin", [subject("Group", "system:masters")]),
    cluster_role_binding(
        "system:basic-user", "system:basic-user", [subject("Group", "system:authenticated")]
    ),
    cluster_role_binding("system:discovery", "system:discovery", [subject("Group", "system:authenticated")]),
    cluster_role_binding(
        "system:public-info-viewer",
        "system:public-info-viewer",
        [subject("Group", "system:authenticated"), subject("Group", "system:unauthenticated")],
    ),
    cluster_role_binding("system:monitoring", "system:monitoring", [subject("Group", "system:monitoring")]),
    cluster_role_binding(
        "system:service-account-issuer-discovery",
        "system:service-account-issuer-discovery",
        [subject("Group", "system:serviceaccounts")],
    ),
    cluster_role_binding(
        "system:kube-controller-manager",
        "system:kube-controller-manager",
        [subject("User", "system:kube-controller-manager")],
    ),
    cluster_role_binding(
        "system:kube-scheduler", "system:kube-scheduler", [subject("User", "system:kube-scheduler")]
    ),
    cluster_role_binding(
        "system:node-proxier", "system:node-proxier", [subject("User", "system:kube-proxy")]
    ),
    cluster_role_binding(
        "system:kube-dns", "system:kube-dns", [subject("ServiceAccount", "kube-dns", "kube-system")]
    ),
    cluster_role_binding(
        "kyb:node-bootstrapper", "system:node-bootstrapper", [subject("Group", "system:bootstrappers")]
    ),
    cluster_role_binding(
        "kyb:node-autoapprove-bootstrap",
        "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        [subject("Group", "system:bootstrappers")],
    ),
    cluster_role_binding(
        "kyb:node-autoapprove-certificate-rotation",
        "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        [subject("Group", "system:nodes")],
    ),
    cluster_role_binding("kyb:node-network", "kyb:node-network", [subject("Group", "system:nodes")]),
    cluster_role_binding("kyb:node-local-path", "kyb:node-local-path", [subject("Group", "system:nodes")]),
]

# Namespaced: a joining node reads the public cluster-info and the CA bundle it pins.
ROLES: list[Obj] = [
    {
        "apiVersion": RBAC_V1,
        "kind": "Role",
        "metadata": {
            "name": "kyb:bootstrap-signer-clusterinfo",
            "namespace": "kube-public",
            "labels": dict(BOOTSTRAPPING_LABEL),
            "annotations": {AUTOUPDATE: "true"},
        },
        "rules": [rule([""], ["configmaps"], ["get"], ["cluster-info", "kube-root-ca.crt"])],
    },
    # token-based discovery reads cluster-info before it trusts anything: without credentials
    # (kubeadm's kube-public Role for system:anonymous; authn lets only this one read through)
    {
        "apiVersion": RBAC_V1,
        "kind": "Role",
        "metadata": {
            "name": "kyb:cluster-info-anonymous",
            "namespace": "kube-public",
            "labels": dict(BOOTSTRAPPING_LABEL),
            "annotations": {AUTOUPDATE: "true"},
        },
        "rules": [rule([""], ["configmaps"], ["get"], ["cluster-info"])],
    },
]
ROLE_BINDINGS: list[Obj] = [
    {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding",
        "metadata": {
            "name": "kyb:bootstrap-signer-clusterinfo",
            "namespace": "kube-public",
            "labels": dict(BOOTSTRAPPING_LABEL),
            "annotations": {AUTOUPDATE: "true"},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "kyb:bootstrap-signer-clusterinfo",
        },
        "subjects": [subject("Group", "system:bootstrappers")],
    },
    {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding",
        "metadata": {
            "name": "kyb:cluster-info-anonymous",
            "namespace": "kube-public",
            "labels": dict(BOOTSTRAPPING_LABEL),
            "annotations": {AUTOUPDATE: "true"},
        },
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "kyb:cluster-info-anonymous"},
        "subjects": [subject("User", "system:anonymous")],
    },
]
