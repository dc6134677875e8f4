"""How the API server uses authorization: the hook in its request path and its start-up work.

``install`` builds the chain from ``ServerConfig.authorization_mode`` and adds the admission steps
that belong to it (NodeRestriction with the Node authorizer, escalation checks with RBAC).
``authorize_request`` runs for every request after authentication: impersonation first (the
request then acts as the impersonated user), then the authorizer; a refusal is raised as the 403
Status. ``bootstrap_policy`` writes the default roles and bindings at start.

With ``AlwaysAllow`` alone, everyone may do everything except bootstrap-token users, who stay
limited to joining (``apiserver.bootstrap``), as before authorization existed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from kybernetes.apiserver import bootstrap
from kybernetes.apiserver.admission import cel_authorizer
from kybernetes.apiserver.admission.plugins.node_restriction import NodeRestriction
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz import reconcile
from kybernetes.apiserver.authz.attributes import from_request
from kybernetes.apiserver.authz.authorizer import (
    Authorizer,
    anonymous,
    impersonate,
    parse_modes,
    wants_impersonation,
)
from kybernetes.apiserver.authz.escalation import EscalationPlugin
from kybernetes.apiserver.requestinfo import RequestInfo

if TYPE_CHECKING:
    from kybernetes.apiserver.server import APIServer


def install(server: APIServer) -> None:
    modes = parse_modes(server.config.authorization_mode)
    authorizer = Authorizer(modes, server.cache)
    server.authorizer = authorizer
    server.rest.authorizer = authorizer
    if server.admission.ctx is not None:  # CEL's `authorizer` in admission expressions asks it too
        server.admission.ctx.authorize = cel_authorizer.for_authorizer(authorizer)
    if "Node" in modes:
        # upstream's place for it: right after ServiceAccount (validation order decides which
        # refusal a node sees first)
        plugins = server.admission.plugins
        after = next((i + 1 for i, p in enumerate(plugins) if p.name == "ServiceAccount"), len(plugins))
        plugins.insert(after, NodeRestriction())
    if "RBAC" in modes:
        server.admission.plugins.append(EscalationPlugin(authorizer))


def authorize_request(
    server: APIServer, request: web.Request, user: UserInfo | None, info: RequestInfo
) -> UserInfo | None:
    """The user the request acts as (after impersonation); raises 403 when it may not proceed."""
    authorizer: Authorizer = server.authorizer
    acting = user or anonymous()
    if wants_impersonation(request.headers):
        acting = user = impersonate(authorizer, acting, request.headers)
    if authorizer.always_allow:
        bootstrap.authorize(acting, info)
        return user
    authorizer.check(from_request(acting, info, request.query))
    return user


async def bootstrap_policy(server: APIServer) -> None:
    if "RBAC" in server.authorizer.modes:
        await reconcile.ensure_default_policy(server)
