"""Node bootstrap in the API server: bootstrap-token authentication, the bootstrappers' limits, and
the requester's identity stamped into CertificateSigningRequests.

A joining node has only a bootstrap token (``machinery.bootstraptoken``). With it, it may do one
thing: ask for its client certificate through a CertificateSigningRequest, then continue as
``system:node:<name>`` with that certificate. The pieces here:

- ``BootstrapTokenAuthenticator``: ``Authorization: Bearer <id>.<secret>`` checked against the
  Secret ``kube-system/bootstrap-token-<id>`` in the watch cache (synchronous, like every
  authenticator), answering ``system:bootstrap:<id>`` in ``system:bootstrappers`` (+ extra groups).
- ``authorize``: the server otherwise allows everything; a request from ``system:bootstrappers``
  gets only what upstream's RBAC roles give that group (system:node-bootstrapper: create, get,
  list and watch CSRs; system:discovery / public-info-viewer; reading kube-public's cluster-info and
  kube-root-ca.crt; reviewing itself). Anything else is 403 with upstream's message.
- ``CSRRequesterPlugin``: an admission plugin that writes the requester's name, uid, groups and
  extra into spec of a new CSR (clients cannot choose them; approvers decide on them).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kybernetes.apiserver import admission, authn
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.machinery import bootstraptoken, errors

if TYPE_CHECKING:
    from kybernetes.apiserver.cache import WatchCache
    from kybernetes.apiserver.server import APIServer

CSR_GROUP = "certificates.k8s.io"
CSR_RESOURCE = "certificatesigningrequests"
# public ConfigMaps a joining node reads: kubeadm's cluster-info, and the CA bundle it pins by hash
PUBLIC_CONFIGMAPS = (("kube-public", "cluster-info"), ("kube-public", "kube-root-ca.crt"))
# non-resource paths every authenticated user may read (system:discovery, system:public-info-viewer)
DISCOVERY_PREFIXES = ("/api", "/apis", "/openapi", "/version", "/healthz", "/livez", "/readyz")


class BootstrapTokenAuthenticator:
    def __init__(self, cache: WatchCache, clock: Any = None) -> None:
        self.cache = cache
        self.clock = clock or (lambda: datetime.now(UTC))

    def __call__(self, request: web.Request) -> authn.UserInfo | None:
        token = authn.bearer_token(request)
        if token is None:
            return None
        return self.user_of_token(token)

    def user_of_token(self, token: str) -> authn.UserInfo | None:
        parsed = bootstraptoken.parse_token(token)
        if parsed is None:
            return None
        entry = self.cache.get(f"/registry/secrets/{bootstraptoken.NAMESPACE}/{bootstraptoken.secret_name(parsed.id)}")
        found = bootstraptoken.authenticate(token, entry.obj if entry else None, self.clock())
        if found is None:
            return None
        return authn.UserInfo(found[0], found[1])


def bootstrapper_allowed(info: RequestInfo) -> bool:
    """What system:bootstrappers may do (upstream's default RBAC for the group, and no more)."""
    if not info.is_resource_request:
        return info.verb in ("get", "head") and any(
            info.path == p or info.path.startswith(p + "/") for p in DISCOVERY_PREFIXES)
    if (info.group, info.resource) == (CSR_GROUP, CSR_RESOURCE):
        return not info.subresource and info.verb in ("create", "get", "list", "watch")
    if (info.group, info.resource) == ("", "configmaps"):
        return (info.namespace, info.name) in PUBLIC_CONFIGMAPS and info.verb == "get"
    if (info.group, info.resource) == ("authentication.k8s.io", "selfsubjectreviews"):
        return info.verb == "create"
    return False


def forbidden_error(user: authn.UserInfo, info: RequestInfo) -> errors.StatusError:
    """403 worded as upstream's authorizer denial."""
    who = f'User "{user.name}"'
    if not info.is_resource_request:
        return errors.StatusError(403, "Forbidden", f'forbidden: {who} cannot {info.verb} path "{info.path}"', {})
    resource = f"{info.resource}/{info.subresource}" if info.subresource else info.resource
    group_resource = f"{info.resource}.{info.group}" if info.group else info.resource
    scope = f'in the namespace "{info.namespace}"' if info.namespace else "at the cluster scope"
    target = f'{group_resource} "{info.name}"' if info.name else group_resource
    message = (f'{target} is forbidden: {who} cannot {info.verb} resource "{resource}" '
               f'in API group "{info.group}" {scope}')
    details: dict[str, Any] = {"group": info.group, "kind": info.resource}
    if info.name:
        details["name"] = info.name
    return errors.StatusError(403, "Forbidden", message, details)


def authorize(user: authn.UserInfo | None, info: RequestInfo) -> None:
    """Raise 403 when `user` may not make the request; everyone else is allowed for now."""
    if user is None or bootstraptoken.GROUP not in user.groups:
        return
    if not bootstrapper_allowed(info):
        raise forbidden_error(user, info)


class CSRRequesterPlugin(admission.Plugin):
    name = "CertificateSigningRequestRequester"
    mutating = True

    async def admit(self, attrs: admission.Attributes, ctx: admission.AdmissionContext) -> None:
        del ctx
        if (attrs.operation != admission.CREATE or attrs.obj is None or attrs.subresource
                or (attrs.group, attrs.resource.plural) != (CSR_GROUP, CSR_RESOURCE)):
            return
        stamp_requester(attrs.obj, attrs.user)


def stamp_requester(csr: dict[str, Any], user: authn.UserInfo | None) -> None:
    spec = csr.get("spec")
    if not isinstance(spec, dict):
        spec = csr["spec"] = {}
    for k in ("username", "uid", "groups", "extra"):
        spec.pop(k, None)
    if user is None:
        return
    spec["username"] = user.name
    if user.uid:
        spec["uid"] = user.uid
    if user.groups:
        spec["groups"] = list(user.groups)
    if user.extra:
        spec["extra"] = {k: list(v) for k, v in user.extra.items()}


def install(server: APIServer) -> None:
    """Add bootstrap-token authentication and CSR requester stamping to a server being built."""
    server.authenticators = (*server.authenticators, BootstrapTokenAuthenticator(server.cache))
    server.admission.plugins.append(CSRRequesterPlugin())
