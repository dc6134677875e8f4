"""Descriptions of authorization/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.authorization.v1."

_META = "Standard object metadata; not stored, since reviews are never persisted."
_RESOURCE = "The resource request to check. Set this or nonResourceAttributes."
_NON_RESOURCE = "The request to a non-resource URL to check. Set this or resourceAttributes."
_RAW = "The selector as written in a request, such as app=web. Set this or requirements."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "SubjectAccessReview": (
        "A SubjectAccessReview asks whether a given user may perform an action (what webhooks and proxies use). Not stored.",
        {
            "metadata": _META,
            "spec": "The user and the action to check.",
            "status": "Whether the action is allowed. Set by the server.",
        },
    ),
    P + "LocalSubjectAccessReview": (
        "A SubjectAccessReview limited to one namespace, so namespace admins may be allowed to create it. Not stored.",
        {
            "metadata": _META + " Its namespace must match resourceAttributes.namespace.",
            "spec": "The user and the action to check, in this namespace.",
            "status": "Whether the action is allowed. Set by the server.",
        },
    ),
    P + "SelfSubjectAccessReview": (
        "A SelfSubjectAccessReview asks whether the requesting user may perform an action (kubectl auth can-i). Not stored.",
        {
            "metadata": _META,
            "spec": "The action to check for the requesting user.",
            "status": "Whether the action is allowed. Set by the server.",
        },
    ),
    P + "SelfSubjectRulesReview": (
        "A SelfSubjectRulesReview lists what the requesting user may do in a namespace (kubectl auth can-i --list). Not stored.",
        {
            "metadata": _META,
            "spec": "The namespace to list the rules of.",
            "status": "The rules that apply. Set by the server.",
        },
    ),
    P + "SubjectAccessReviewSpec": (
        "The user and the action a SubjectAccessReview checks.",
        {
            "resourceAttributes": _RESOURCE,
            "nonResourceAttributes": _NON_RESOURCE,
            "user": "The user to check for. Set this, groups or both.",
            "groups": "The groups to check for.",
            "extra": "Extra attributes of the user, as lists of strings by key, for authorizers that use them.",
            "uid": "The uid of the user to check for.",
        },
    ),
    P + "SelfSubjectAccessReviewSpec": (
        "The action a SelfSubjectAccessReview checks. Set exactly one field.",
        {
            "resourceAttributes": _RESOURCE,
            "nonResourceAttributes": _NON_RESOURCE,
        },
    ),
    P + "SelfSubjectRulesReviewSpec": (
        "What a SelfSubjectRulesReview lists.",
        {
            "namespace": "The namespace to list the rules of.",
        },
    ),
    P + "SubjectAccessReviewStatus": (
        "The answer to an access review.",
        {
            "allowed": "Whether the action is allowed.",
            "denied": "Whether an authorizer explicitly denied the action, so that no other one was asked.",
            "reason": "Why the action is allowed or not, when an authorizer said.",
            "evaluationError": "A problem met while checking; the answer may still be valid.",
        },
    ),
    P + "SubjectRulesReviewStatus": (
        "The rules that apply to a user in a namespace. The list may be incomplete.",
        {
            "resourceRules": "What the user may do on resources.",
            "nonResourceRules": "What the user may do on non-resource URLs.",
            "incomplete": "True when some authorizer cannot list its rules, so more may be allowed than listed.",
            "evaluationError": "A problem met while listing the rules.",
        },
    ),
    P + "ResourceAttributes": (
        "A request on a resource, as authorization sees it.",
        {
            "namespace": "The namespace of the request; empty for cluster-scoped resources or across all namespaces.",
            "verb": "The verb, such as get, list, watch, create, update, patch or delete; * means all.",
            "group": "The API group of the resource; empty for the core group and * for all.",
            "version": "The API version of the resource; * means all.",
            "resource": "The resource, such as pods; * means all.",
            "subresource": "The subresource, such as log or scale; empty for none.",
            "name": "The name of the object; empty for list, watch and create, or for any name.",
            "fieldSelector": "The field selector of a list or watch request, for authorizers that check it.",
            "labelSelector": "The label selector of a list or watch request, for authorizers that check it.",
        },
    ),
    P + "NonResourceAttributes": (
        "A request to a URL that is not a resource, such as /healthz.",
        {
            "path": "The URL path.",
            "verb": "The HTTP verb in lower case, such as get.",
        },
    ),
    P + "FieldSelectorAttributes": (
        "The field selector of a request being authorized.",
        {
            "rawSelector": "The selector as written in a request, such as spec.nodeName=n1. Set this or requirements.",
            "requirements": "The selector as parsed requirements. Set this or rawSelector.",
        },
    ),
    P + "LabelSelectorAttributes": (
        "The label selector of a request being authorized.",
        {
            "rawSelector": _RAW,
            "requirements": "The selector as parsed requirements. Set this or rawSelector.",
        },
    ),
    P + "ResourceRule": (
        "What a user may do on resources. Rules may overlap.",
        {
            "verbs": "The allowed verbs; * means all.",
            "apiGroups": "The API groups of the resources; * means all.",
            "resources": "The resources, such as pods or pods/log; * means all.",
            "resourceNames": "Only these object names; empty means any.",
        },
    ),
    P + "NonResourceRule": (
        "What a user may do on non-resource URLs.",
        {
            "verbs": "The allowed HTTP verbs in lower case; * means all.",
            "nonResourceURLs": "The URL paths; a trailing * matches a prefix.",
        },
    ),
}
