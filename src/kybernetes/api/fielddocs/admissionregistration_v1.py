"""Descriptions of admissionregistration/v1 types (webhook configurations and validating
admission policies) and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.admissionregistration.v1."

_META = "Standard object metadata: name, labels, annotations and so on."
_NAME = "A unique, fully qualified name for the webhook, such as policy.example.com."
_CLIENT = "How to reach the webhook: a Service in the cluster or a URL."
_RULES = "Which operations on which resources are sent to the webhook; a request matching any rule is sent."
_FAILURE = "What to do when the webhook fails or cannot be reached: Ignore or Fail (reject the request). Default Fail."
_MATCH_POLICY = "Exact (only the listed versions) or Equivalent (also requests to other versions of the same objects). Default Equivalent."
_NS_SELECTOR = "Only send requests for objects in namespaces whose labels match. Default: every namespace."
_OBJ_SELECTOR = "Only send requests whose object (old or new) has matching labels. Default: every object."
_SIDE_EFFECTS = "Whether calling the webhook changes anything elsewhere: None or NoneOnDryRun. Dry-run requests only go to those."
_TIMEOUT = "Seconds to wait for the webhook, 1 to 30; on timeout failurePolicy applies. Default 10."
_REVIEW_VERSIONS = "AdmissionReview versions the webhook understands, in order of preference, such as [v1]."
_MATCH_CONDITIONS = "CEL expressions that must all be true for a request to be sent; at most 64."
_OPERATIONS = "The operations to match: CREATE, UPDATE, DELETE, CONNECT, or * for all."
_API_GROUPS = "The API groups to match; an empty string is the core group and * every group."
_API_VERSIONS = "The API versions to match; * means every version."
_RESOURCES = (
    "The resources to match, such as pods, pods/status, */scale or * (not subresources) or */* (everything)."
)
_SCOPE = "Which objects match: Cluster (cluster-scoped), Namespaced, or * for both. Default *."
_CONDITION_NAME = "A name for the condition, used in errors and metrics; unique within the list."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "MutatingWebhookConfiguration": (
        "A MutatingWebhookConfiguration registers webhooks that may change or reject objects before they are stored.",
        {
            "metadata": _META,
            "webhooks": "The webhooks, called one after another in list order (configurations in order of name).",
        },
    ),
    P + "ValidatingWebhookConfiguration": (
        "A ValidatingWebhookConfiguration registers webhooks that may reject objects before they are stored.",
        {"metadata": _META, "webhooks": "The webhooks, called in parallel."},
    ),
    P + "MutatingWebhook": (
        "One mutating admission webhook: which requests it gets and how it is called.",
        {
            "name": _NAME,
            "clientConfig": _CLIENT,
            "rules": _RULES,
            "failurePolicy": _FAILURE,
            "matchPolicy": _MATCH_POLICY,
            "namespaceSelector": _NS_SELECTOR,
            "objectSelector": _OBJ_SELECTOR,
            "sideEffects": _SIDE_EFFECTS,
            "timeoutSeconds": _TIMEOUT,
            "admissionReviewVersions": _REVIEW_VERSIONS,
            "reinvocationPolicy": "Never or IfNeeded (call the webhook again when a later mutation changed the object). Default Never.",
            "matchConditions": _MATCH_CONDITIONS,
        },
    ),
    P + "ValidatingWebhook": (
        "One validating admission webhook: which requests it gets and how it is called.",
        {
            "name": _NAME,
            "clientConfig": _CLIENT,
            "rules": _RULES,
            "failurePolicy": _FAILURE,
            "matchPolicy": _MATCH_POLICY,
            "namespaceSelector": _NS_SELECTOR,
            "objectSelector": _OBJ_SELECTOR,
            "sideEffects": _SIDE_EFFECTS,
            "timeoutSeconds": _TIMEOUT,
            "admissionReviewVersions": _REVIEW_VERSIONS,
            "matchConditions": _MATCH_CONDITIONS,
        },
    ),
    P + "WebhookClientConfig": (
        "How the server reaches a webhook, over TLS. Set url or service.",
        {
            "url": "The webhook's address, as https://host[:port]/path; no query or fragment.",
            "service": "A Service in the cluster that serves the webhook.",
            "caBundle": "PEM-encoded CA certificates that sign the webhook's serving certificate. Default: the server's trusted roots.",
        },
    ),
    P + "ServiceReference": (
        "A Service that serves a webhook.",
        {
            "namespace": "The Service's namespace.",
            "name": "The Service's name.",
            "path": "The URL path the request is sent to.",
            "port": "The Service port to call, 1 to 65535. Default 443.",
        },
    ),
    P + "RuleWithOperations": (
        "Operations on resources that a webhook is called for.",
        {
            "operations": _OPERATIONS,
            "apiGroups": _API_GROUPS,
            "apiVersions": _API_VERSIONS,
            "resources": _RESOURCES,
            "scope": _SCOPE,
        },
    ),
    P + "Rule": (
        "Resources, by API group, version and name, that a rule matches.",
        {
            "apiGroups": _API_GROUPS,
            "apiVersions": _API_VERSIONS,
            "resources": _RESOURCES,
            "scope": _SCOPE,
        },
    ),
    P + "NamedRuleWithOperations": (
        "Operations on resources, optionally narrowed to object names, that a policy matches.",
        {
            "resourceNames": "Only objects with these names; empty means any name.",
            "operations": _OPERATIONS,
            "apiGroups": _API_GROUPS,
            "apiVersions": _API_VERSIONS,
            "resources": _RESOURCES,
            "scope": _SCOPE,
        },
    ),
    P + "MatchCondition": (
        "A CEL condition on a request; it is sent on only when the condition is true.",
        {
            "name": _CONDITION_NAME,
            "expression": "A CEL expression giving a bool; it may use object, oldObject, request and authorizer.",
        },
    ),
    P + "ValidatingAdmissionPolicy": (
        "A ValidatingAdmissionPolicy checks requests with CEL expressions inside the server, without a webhook.",
        {
            "metadata": _META,
            "spec": "Which requests the policy matches and the checks it runs on them.",
            "status": "The result of type-checking the policy's expressions. Read-only.",
        },
    ),
    P + "ValidatingAdmissionPolicySpec": (
        "What a ValidatingAdmissionPolicy matches and checks. It takes effect through bindings.",
        {
            "paramKind": "The kind of the parameter objects bindings refer to. Unset means the policy takes no parameters.",
            "matchConstraints": "The requests the policy can apply to; bindings may narrow them further.",
            "validations": "CEL checks; a request is refused (per the binding's actions) when any evaluates to false.",
            "failurePolicy": "What to do when an expression cannot be evaluated or the parameter is missing: Fail or Ignore. Default Fail.",
            "auditAnnotations": "CEL expressions whose values are added to the audit record of matching requests.",
            "matchConditions": "CEL expressions that must all be true for the policy to check a request; at most 64.",
            "variables": "Named CEL expressions that validations may use as variables.<name>.",
        },
    ),
    P + "ParamKind": (
        "The kind of the objects a policy uses as parameters.",
        {
            "apiVersion": "The API version of the parameter kind, such as example.com/v1.",
            "kind": "The kind of the parameter objects, such as ConfigMap.",
        },
    ),
    P + "MatchResources": (
        "Which requests a policy or binding matches, by resource, namespace and object labels.",
        {
            "namespaceSelector": "Only match objects in namespaces whose labels match. Default: every namespace.",
            "objectSelector": "Only match requests whose object (old or new) has matching labels. Default: every object.",
            "resourceRules": "The operations and resources to match; a request matching any rule matches.",
            "excludeResourceRules": "Operations and resources to leave out, even when resourceRules match them.",
            "matchPolicy": _MATCH_POLICY,
        },
    ),
    P + "Validation": (
        "One CEL check of a validating admission policy.",
        {
            "expression": "A CEL expression that must be true; it may use object, oldObject, request, params, namespaceObject and variables.",
            "message": "The message returned when the check fails. Default: one that quotes the expression.",
            "reason": "The reason and HTTP code of the refusal: Unauthorized, Forbidden, Invalid or RequestEntityTooLarge. Default Invalid.",
            "messageExpression": "A CEL expression giving the failure message as a string; used instead of message when it works.",
        },
    ),
    P + "AuditAnnotation": (
        "A CEL expression whose value is added to the audit record of a matching request.",
        {
            "key": "The annotation key, prefixed with the policy's name in the audit record; unique within the policy.",
            "valueExpression": "A CEL expression giving a string, or null to add nothing.",
        },
    ),
    P + "Variable": (
        "A named CEL expression shared by a policy's checks.",
        {
            "name": "The variable's name; expressions use it as variables.<name>.",
            "expression": "The CEL expression that computes the variable, evaluated at most once per request.",
        },
    ),
    P + "ValidatingAdmissionPolicyStatus": (
        "The observed state of a validating admission policy.",
        {
            "observedGeneration": "The generation of the spec this status reflects.",
            "typeChecking": "Warnings found by type-checking the policy's expressions.",
            "conditions": "The latest observations of the policy's state.",
        },
    ),
    P + "TypeChecking": (
        "The result of type-checking a policy's expressions.",
        {
            "expressionWarnings": "A warning for each expression with a type problem.",
        },
    ),
    P + "ExpressionWarning": (
        "A type-checking warning about one expression.",
        {
            "fieldRef": "The path of the expression's field, such as spec.validations[0].expression.",
            "warning": "What is wrong with the expression's types.",
        },
    ),
    P + "ValidatingAdmissionPolicyBinding": (
        "A ValidatingAdmissionPolicyBinding puts a policy into effect, for some resources and with given parameters.",
        {
            "metadata": _META,
            "spec": "The policy, its parameters, what it applies to and what a failed check does.",
        },
    ),
    P + "ValidatingAdmissionPolicyBindingSpec": (
        "How a binding applies a validating admission policy.",
        {
            "policyName": "The name of the ValidatingAdmissionPolicy to apply.",
            "paramRef": "The parameter objects to pass to the policy; required when the policy has a paramKind.",
            "matchResources": "Narrows the requests the policy applies to; unset means all the policy matches.",
            "validationActions": "What a failed check does: Deny, Warn and/or Audit (Deny and Warn exclude each other).",
        },
    ),
    P + "ParamRef": (
        "Which parameter objects a binding passes to its policy.",
        {
            "name": "The name of a single parameter object. Set this or selector.",
            "namespace": "The namespace of the parameter objects; unset means the request's namespace (or cluster-scoped params).",
            "selector": "Labels of the parameter objects; the policy is checked against each match.",
            "parameterNotFoundAction": "What to do when no parameter object is found: Allow or Deny.",
        },
    ),
}
