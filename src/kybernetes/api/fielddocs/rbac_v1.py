"""Descriptions of rbac/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.rbac.v1."

_META = "Standard object metadata: name, namespace, labels, annotations and so on."
_RULES = "The permissions granted; access is allowed when any rule allows it."
_SUBJECTS = "The users, groups and service accounts that get the role's permissions."
_ROLE_REF = (
    "The Role or ClusterRole whose permissions are granted. Immutable: make a new binding to change it."
)

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "Role": (
        "A Role grants a set of permissions on resources within one namespace.",
        {"metadata": _META, "rules": _RULES},
    ),
    P + "ClusterRole": (
        "A ClusterRole grants a set of permissions, cluster-wide through ClusterRoleBindings or per namespace through RoleBindings.",
        {
            "metadata": _META,
            "rules": _RULES + " Filled by the controller when aggregationRule is set.",
            "aggregationRule": "Selects other ClusterRoles whose rules are copied into this one.",
        },
    ),
    P + "RoleBinding": (
        "A RoleBinding grants the permissions of a Role or ClusterRole to subjects, within the binding's namespace.",
        {"metadata": _META, "subjects": _SUBJECTS, "roleRef": _ROLE_REF},
    ),
    P + "ClusterRoleBinding": (
        "A ClusterRoleBinding grants the permissions of a ClusterRole to subjects in every namespace.",
        {
            "metadata": _META,
            "subjects": _SUBJECTS,
            "roleRef": "The ClusterRole whose permissions are granted. Immutable.",
        },
    ),
    P + "PolicyRule": (
        "One permission: verbs allowed on resources (or on non-resource URLs).",
        {
            "verbs": "The allowed verbs, such as get, list, watch, create, update, patch, delete; * allows all.",
            "apiGroups": "The API groups of the resources; an empty string is the core group and * is every group.",
            "resources": "The resources, such as pods or deployments, or a subresource such as pods/log; * is every resource.",
            "resourceNames": "Only objects with these names; empty means any. Requests without a name, such as create, do not match.",
            "nonResourceURLs": "URL paths such as /healthz, for ClusterRoles bound cluster-wide; a trailing * matches a prefix.",
        },
    ),
    P + "Subject": (
        "Who a binding grants permissions to: a user, a group or a service account.",
        {
            "kind": "User, Group or ServiceAccount.",
            "apiGroup": "rbac.authorization.k8s.io for User and Group; empty for ServiceAccount.",
            "name": "The name of the user, group or service account.",
            "namespace": "The namespace of the service account; unset for users and groups.",
        },
    ),
    P + "RoleRef": (
        "The role a binding refers to.",
        {
            "apiGroup": "The API group of the role: rbac.authorization.k8s.io.",
            "kind": "Role or ClusterRole.",
            "name": "The name of the role.",
        },
    ),
    P + "AggregationRule": (
        "How a ClusterRole collects the rules of other ClusterRoles.",
        {
            "clusterRoleSelectors": "Label selectors; the rules of every ClusterRole matching any of them are copied in.",
        },
    ),
}
