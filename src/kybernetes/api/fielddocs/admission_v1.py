"""Descriptions of admission/v1 types (what admission webhooks receive and answer) and their
fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.admission.v1."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "AdmissionReview": (
        "An AdmissionReview carries a request to an admission webhook and, back, the webhook's response.",
        {
            "request": "The request under review; set when the server calls the webhook.",
            "response": "The webhook's verdict; set by the webhook in its reply.",
        },
    ),
    P + "AdmissionRequest": (
        "The API request an admission webhook is asked to judge.",
        {
            "uid": "An id for this review; the response must echo it.",
            "kind": "The group, version and kind of the object as sent to the webhook, such as apps/v1 Deployment.",
            "resource": "The group, version and resource being accessed, such as apps/v1 deployments.",
            "subResource": "The subresource being accessed, such as status or scale; empty for the main resource.",
            "requestKind": "The kind of the object as the client sent it, when conversion changed it.",
            "requestResource": "The resource as the client called it, when it differs from resource.",
            "requestSubResource": "The subresource as the client called it.",
            "name": "The name of the object; may be empty on create when the server generates it.",
            "namespace": "The namespace of the object, if it has one.",
            "operation": "The operation: CREATE, UPDATE, DELETE or CONNECT.",
            "userInfo": "The user who made the request.",
            "object": "The object after the request (for CREATE and UPDATE).",
            "oldObject": "The object before the request (for UPDATE and DELETE).",
            "dryRun": "Whether the request is a dry run; webhooks with side effects must not act on it.",
            "options": "The operation's options, such as CreateOptions or DeleteOptions.",
        },
    ),
    P + "AdmissionResponse": (
        "A webhook's verdict on an admission request.",
        {
            "uid": "The uid of the request this answers.",
            "allowed": "Whether the request may go ahead.",
            "status": "Why the request was refused: message and HTTP code shown to the client.",
            "patch": "For mutating webhooks: changes to the object, as a base64-encoded JSON patch.",
            "patchType": "The form of patch: JSONPatch.",
            "auditAnnotations": "Key/value pairs added, prefixed with the webhook's name, to the audit record.",
            "warnings": "Warnings returned to the client, such as deprecation notices.",
        },
    ),
}
