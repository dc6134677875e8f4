"""Authentication: who is making this request?

The apiserver asks a chain of authenticators in order; the first that recognises the request
names the user. Each authenticator looks at one kind of credential and answers None when that
credential is absent, so new kinds (service-account JWTs, bootstrap tokens) slot into the chain
without touching the others. A request nobody recognises is unauthenticated: the server answers
401 unless the path is one of ``ANONYMOUS_PATHS`` (health and version probes).

Authenticators here:

- ``authenticate_x509``: the TLS client certificate. The TLS layer (``server_ssl_context``) has
  already verified it against the cluster CA, so its subject is trusted as is: CN is the user name
  and every O is a group.
- ``StaticTokenAuthenticator``: ``Authorization: Bearer <token>`` looked up in a fixed table.
- ``ServiceAccountTokenAuthenticator``: bearer tokens that are this cluster's service-account
  JWTs (``satoken``): user ``system:serviceaccount:<ns>:<name>``, groups
  ``system:serviceaccounts`` and ``system:serviceaccounts:<ns>``. An invalid JWT is not anyone.

Every authenticated user also gets the group ``system:authenticated``, as upstream adds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kybernetes.machinery import satoken

AUTHENTICATED_GROUP = "system:authenticated"

# Upstream grants these to everyone through the system:public-info-viewer role; with anonymous
# requests otherwise refused, they are what a load balancer or `curl -k` probe may still read.
ANONYMOUS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version", "/version/"})
# Resources a request without credentials may still ask for, as system:anonymous (authorization
# decides; the default policy allows it): kube-public/cluster-info, what a joining node discovers
# the cluster CA from (token-based discovery, machinery/clusterinfo.py).
ANONYMOUS_RESOURCES = frozenset({"/api/v1/namespaces/kube-public/configmaps/cluster-info"})


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


Authenticator = Callable[[web.Request], UserInfo | None]


def with_authenticated_group(user: UserInfo) -> UserInfo:
    if AUTHENTICATED_GROUP in user.groups:
        return user
    return UserInfo(user.name, (*user.groups, AUTHENTICATED_GROUP), user.uid, user.extra)


def user_from_subject(subject: Sequence[Sequence[tuple[str, str]]]) -> UserInfo | None:
    """UserInfo from an ``ssl.SSLSocket.getpeercert()`` subject: CN → name, each O → a group.

    The subject is a sequence of relative distinguished names, each a sequence of (type, value).
    A certificate without a CN names nobody, so it authenticates nobody.
    """
    name = ""
    groups: list[str] = []
    for rdn in subject:
        for attr, value in rdn:
            if attr == "commonName" and not name:
                name = value
            elif attr == "organizationName" and value not in groups:
                groups.append(value)
    if not name:
        return None
    return UserInfo(name=name, groups=tuple(groups))


def authenticate_x509(request: web.Request) -> UserInfo | None:
    """The user named by the verified TLS client certificate, if the connection presented one."""
    transport = request.transport
    if transport is None:
        return None
    # getpeercert() in dict form is empty unless OpenSSL verified the chain; it is what asyncio
    # reports as "peercert". With CERT_OPTIONAL an unverifiable certificate fails the handshake
    # anyway, so an empty dict here means "no certificate".
    peercert: Any = transport.get_extra_info("peercert")
    if not peercert:
        return None
    return user_from_subject(peercert.get("subject", ()))


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (scheme matched case-blind), or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class StaticTokenAuthenticator:
    """Bearer tokens from a fixed table (token → user); for tests and bootstrapping."""

    def __init__(self, tokens: Mapping[str, UserInfo]) -> None:
        self._tokens = dict(tokens)

    def __call__(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request)
        if token is None:
            return None
        return self._tokens.get(token)


class ServiceAccountTokenAuthenticator:
    """Bearer tokens signed with the cluster's service-account key (bound or legacy)."""

    def __init__(self, tokens: satoken.ServiceAccountTokens) -> None:
        self.tokens = tokens

    def __call__(self, request: web.Request) -> UserInfo | None:
        token = bearer_token(request)
        if token is None or not satoken.looks_like_jwt(token):
            return None
        return self.user_of_token(token)

    def user_of_token(self, token: str) -> UserInfo | None:
        try:
            subject = self.tokens.authenticate(token)
        except satoken.TokenError:
            return None
        return user_of_subject(subject)


def user_of_subject(subject: satoken.Subject) -> UserInfo:
    name, uid, groups, extra = satoken.user_for(subject)
    return UserInfo(name, groups, uid, extra)


DEFAULT_AUTHENTICATORS: tuple[Authenticator, ...] = (authenticate_x509,)


def authenticate_request(
    request: web.Request, authenticators: Sequence[Authenticator] = DEFAULT_AUTHENTICATORS
) -> UserInfo | None:
    """Ask each authenticator in turn; the first answer wins. None means unauthenticated."""
    for authenticator in authenticators:
        user = authenticator(request)
        if user is not None:
            return with_authenticated_group(user)
    return None


def is_anonymous_path(path: str) -> bool:
    return path in ANONYMOUS_PATHS


def is_anonymous_request(request: web.Request) -> bool:
    """A read of one of ANONYMOUS_RESOURCES that carries no credentials (a wrong token stays 401)."""
    return (request.method in ("GET", "HEAD") and request.path in ANONYMOUS_RESOURCES
            and "Authorization" not in request.headers)
