"""The server's authorizer behind CEL's ``authorizer`` variable in admission expressions.

Webhook matchConditions and ValidatingAdmissionPolicy expressions may ask whether the requesting
user (or a service account, through ``authorizer.serviceAccount``) may do something else. The CEL
library (``kybernetes.cel.authz``) phrases the question as its own ``Attributes`` with the user as
an AdmissionRequest ``userInfo`` dict; ``for_authorizer`` answers it with the API server's
authorizer chain (``apiserver.authz.authorizer.Authorizer``, system:masters included), so a
check answers exactly as a request by that user would be authorized.

Mapping, as upstream's library reads its authorizer: an allowed request is ``Allow``, anything
else ``NoOpinion`` with the chain's reason (the chain does not tell an explicit deny apart, and
CEL can only see ``allowed()``, ``reason()``, ``errored()`` and ``error()``); an authorizer that
raises makes an errored decision (``cel.authz.decide`` catches it). Field selectors keep their
equality requirements, as for SubjectAccessReviews; label selectors are not used by any of our
authorizers and are dropped. A request the server makes itself has no user (empty ``userInfo``)
and is allowed everything, as upstream's loopback identity in system:masters would be.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes, exact_field_requirements
from kybernetes.cel import authz as cel_authz


class ServerAuthorizer(Protocol):
    def authorize(self, attrs: Attributes) -> tuple[bool, str]: ...


def user_from_info(info: Mapping[str, Any]) -> UserInfo:
    """An authn.UserInfo from the AdmissionRequest ``userInfo`` shape."""
    extra = info.get("extra") if isinstance(info.get("extra"), Mapping) else {}
    assert isinstance(extra, Mapping)
    return UserInfo(
        name=str(info.get("username") or ""),
        groups=tuple(str(g) for g in info.get("groups") or ()),
        uid=str(info.get("uid") or ""),
        extra={str(k): tuple(str(x) for x in (v or ())) for k, v in extra.items()},
    )


def server_attributes(attributes: cel_authz.Attributes) -> Attributes:
    """The authorizer's question for one CEL check."""
    user = user_from_info(attributes.user)
    if not attributes.resource_request:
        return Attributes(user, attributes.verb, False, path=attributes.path)
    return Attributes(
        user,
        attributes.verb,
        True,
        group=attributes.api_group,
        version=attributes.api_version,
        resource=attributes.resource,
        subresource=attributes.subresource,
        namespace=attributes.namespace,
        name=attributes.name,
        field_equals=exact_field_requirements(attributes.field_selector),
    )


def for_authorizer(authorizer: ServerAuthorizer) -> cel_authz.AuthorizeFn:
    """A ``cel.authz.AuthorizeFn`` that asks `authorizer`."""

    def authorize(user_info: cel_authz.UserInfo, attributes: cel_authz.Attributes) -> tuple[str, str]:
        if not user_info.get("username"):
            return cel_authz.ALLOW, ""  # the server's own write
        allowed, reason = authorizer.authorize(server_attributes(attributes))
        return (cel_authz.ALLOW if allowed else cel_authz.NO_OPINION), reason

    return authorize


def authorize_fn(authorize: cel_authz.AuthorizeFn | None) -> cel_authz.AuthorizeFn:
    """What an admission plugin passes to CEL: the context's authorizer, or allow-all without one."""
    return authorize if authorize is not None else cel_authz.allow_all
