"""Descriptions of authentication/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.authentication.v1."

_META = "Standard object metadata; not stored, since reviews and token requests are never persisted."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "TokenReview": (
        "A TokenReview asks the server to authenticate a bearer token and say who it belongs to. Not stored.",
        {
            "metadata": _META,
            "spec": "The token to check.",
            "status": "Whether the token is valid and, if so, the user it stands for. Set by the server.",
        },
    ),
    P + "TokenReviewSpec": (
        "The token a TokenReview checks.",
        {
            "token": "The bearer token to authenticate.",
            "audiences": "Audiences the token must be valid for; empty means the server's own audiences.",
        },
    ),
    P + "TokenReviewStatus": (
        "The result of a TokenReview.",
        {
            "authenticated": "Whether the token was recognised and is valid.",
            "user": "The user the token belongs to.",
            "audiences": "The audiences, of those asked for, that the token is valid for.",
            "error": "Why the token could not be checked, if it could not.",
        },
    ),
    P + "UserInfo": (
        "What authentication knows about a user.",
        {
            "username": "The user's name, such as jane or system:serviceaccount:default:builder.",
            "uid": "A value that identifies the user across name changes.",
            "groups": "The groups the user belongs to, such as system:authenticated.",
            "extra": "Other attributes the authenticator provided, as lists of strings by key.",
        },
    ),
    P + "TokenRequest": (
        "A TokenRequest asks for a short-lived token for a service account (its token subresource). Not stored.",
        {
            "metadata": _META,
            "spec": "The audiences, lifetime and bound object of the token.",
            "status": "The issued token and when it expires. Set by the server.",
        },
    ),
    P + "TokenRequestSpec": (
        "What token is asked for.",
        {
            "audiences": "The audiences the token is meant for; those checking it must be one of them. Default: the API server's own audiences.",
            "expirationSeconds": "How long the token should be valid, in seconds; at least 600. The server may shorten it. Default 3600.",
            "boundObjectRef": "An object (Pod, Secret or Node) the token is tied to; it stops being valid once that object is gone.",
        },
    ),
    P + "TokenRequestStatus": (
        "The token issued for a TokenRequest.",
        {
            "token": "The signed token.",
            "expirationTimestamp": "When the token expires.",
        },
    ),
    P + "BoundObjectReference": (
        "The object a service account token is tied to.",
        {
            "apiVersion": "The API version of the object: v1.",
            "kind": "The kind of the object: Pod, Secret or Node.",
            "name": "The name of the object.",
            "uid": "The uid of the object; the token is only valid while an object with this uid exists.",
        },
    ),
    P + "SelfSubjectReview": (
        "A SelfSubjectReview returns what the server knows about the user who makes the request (kubectl auth whoami).",
        {
            "metadata": _META,
            "status": "The requesting user's attributes. Set by the server.",
        },
    ),
    P + "SelfSubjectReviewStatus": (
        "The result of a SelfSubjectReview.",
        {
            "userInfo": "The requesting user's name, uid, groups and extra attributes.",
        },
    ),
}
