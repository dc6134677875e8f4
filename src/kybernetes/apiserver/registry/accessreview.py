"""authorization.k8s.io/v1 reviews: ask the authorizer a question, answered and never stored.

- SubjectAccessReview: may spec.user / spec.groups do this? (``kubectl auth can-i --as`` uses the
  self review with impersonation instead; webhooks and add-ons use this one.)
- LocalSubjectAccessReview: the same, confined to the namespace of the request's path.
- SelfSubjectAccessReview: may I? (``kubectl auth can-i``).
- SelfSubjectRulesReview: what may I do in spec.namespace? (``kubectl auth can-i --list``).

Invalid specs are 422 with upstream's field paths and texts. The answer is the request object
with ``status`` filled in, 201 Created, as upstream.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes, exact_field_requirements
from kybernetes.apiserver.authz.authorizer import Authorizer
from kybernetes.machinery import errors

Obj = dict[str, Any]
GROUP = "authorization.k8s.io"
KINDS = {
    "subjectaccessreviews": "SubjectAccessReview",
    "localsubjectaccessreviews": "LocalSubjectAccessReview",
    "selfsubjectaccessreviews": "SelfSubjectAccessReview",
    "selfsubjectrulesreviews": "SelfSubjectRulesReview",
}


def _invalid(kind: str, field: str, value: Any, message: str) -> errors.StatusError:
    shown = "null" if value is None else value
    return errors.invalid(
        kind,
        "",
        [errors.Cause("FieldValueInvalid", f"Invalid value: {_go_value(shown)}: {message}", field)],
        GROUP,
    )


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}:{v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def attributes_of(spec: Obj, user: UserInfo) -> Attributes:
    """The authorizer's question from a review spec (resourceAttributes or nonResourceAttributes)."""
    ra = spec.get("resourceAttributes")
    if isinstance(ra, dict):
        selector = (ra.get("fieldSelector") or {}).get("rawSelector") or ""
        return Attributes(
            user,
            str(ra.get("verb") or ""),
            True,
            group=str(ra.get("group") or ""),
            version=str(ra.get("version") or ""),
            resource=str(ra.get("resource") or ""),
            subresource=str(ra.get("subresource") or ""),
            namespace=str(ra.get("namespace") or ""),
            name=str(ra.get("name") or ""),
            field_equals=exact_field_requirements(str(selector)),
        )
    nra = spec.get("nonResourceAttributes") or {}
    return Attributes(user, str(nra.get("verb") or ""), False, path=str(nra.get("path") or ""))


def _check_one_of(kind: str, spec: Obj) -> None:
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(ra, dict) and isinstance(nra, dict):
        raise _invalid(
            kind,
            "spec.nonResourceAttributes",
            nra,
            "cannot be specified in combination with resourceAttributes",
        )
    if not isinstance(ra, dict) and not isinstance(nra, dict):
        raise _invalid(
            kind,
            "spec.resourceAttributes",
            None,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )


def _status(allowed: bool, reason: str) -> Obj:
    status: Obj = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return status


def review(plural: str, body: Obj, requester: UserInfo, namespace: str, authorizer: Authorizer) -> Obj:
    """The answered review for a create of `plural` (body already decoded and schema-checked)."""
    kind = KINDS[plural]
    spec = body.get("spec")
    if not isinstance(spec, dict):
        spec = body["spec"] = {}
    out: Obj = {**body, "apiVersion": f"{GROUP}/v1", "kind": kind}
    out.setdefault("metadata", {})
    if plural == "selfsubjectrulesreviews":
        rules, urls, incomplete, error = authorizer.rules_for(requester, str(spec.get("namespace") or ""))
        status: Obj = {"resourceRules": rules, "nonResourceRules": urls, "incomplete": incomplete}
        if error:
            status["evaluationError"] = error
        out["status"] = status
        return out
    _check_one_of(kind, spec)
    if plural == "selfsubjectaccessreviews":
        subject = requester
    else:
        user, groups = str(spec.get("user") or ""), [str(g) for g in spec.get("groups") or []]
        if not user and not groups:
            raise _invalid(kind, "spec.user", user, "at least one of user or group must be specified")
        extra = {str(k): tuple(str(x) for x in v or []) for k, v in (spec.get("extra") or {}).items()}
        subject = UserInfo(user, tuple(groups), str(spec.get("uid") or ""), extra)
    if plural == "localsubjectaccessreviews":
        ra = spec.get("resourceAttributes")
        if not isinstance(ra, dict):
            raise _invalid(
                kind,
                "spec.nonResourceAttributes",
                spec.get("nonResourceAttributes"),
                "disallowed on this kind of request",
            )
        if (ra.get("namespace") or "") != namespace:
            raise errors.bad_request(f"spec.resourceAttributes.namespace must match namespace: {namespace}")
        out["metadata"] = {**out["metadata"], "namespace": namespace}
    allowed, reason = authorizer.authorize(attributes_of(spec, subject))
    out["status"] = _status(allowed, reason)
    return out
