"""The authorizer chain the API server asks, upstream's 403 wording, and impersonation.

``--authorization-mode`` names the chain: ``Node,RBAC`` (the default), ``RBAC``, ``Node``,
``AlwaysAllow`` or ``AlwaysDeny``. Members of ``system:masters`` are always allowed, before the
chain (upstream's privileged-group authorizer). Each authorizer answers allow or no opinion with
a reason; the first allow wins, and when none allows, the reasons (joined by newlines) follow the
denial: ``<resource> "<name>" is forbidden: User "<u>" cannot <verb> resource "<r>" in API group
"<g>" in the namespace "<ns>"[: <reasons>]``.

Impersonation (``Impersonate-User``, ``Impersonate-Group``, ``Impersonate-Uid``,
``Impersonate-Extra-<key>``) needs the ``impersonate`` verb on users / serviceaccounts / groups /
uids / userextras; the request then runs as the impersonated user.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from kybernetes.apiserver.authn import AUTHENTICATED_GROUP, UserInfo
from kybernetes.apiserver.authz import policy
from kybernetes.apiserver.authz.attributes import Attributes
from kybernetes.apiserver.authz.node import CachePodSource, NodeAuthorizer, node_identity
from kybernetes.apiserver.authz.rbac import CacheRoleSource, RBACAuthorizer
from kybernetes.apiserver.authz.rules import Rule
from kybernetes.machinery import errors, satoken

MASTERS_GROUP = "system:masters"
ANONYMOUS_USER = "system:anonymous"
UNAUTHENTICATED_GROUP = "system:unauthenticated"
MODES = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC")
DEFAULT_MODE = "Node,RBAC"
ALL_RULES: list[Rule] = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
ALL_URLS: list[Rule] = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]


class Member(Protocol):
    def authorize(self, attrs: Attributes) -> tuple[str, str]: ...


class AlwaysAllow:
    def authorize(self, attrs: Attributes) -> tuple[str, str]:
        del attrs
        return "allow", ""


class AlwaysDeny:
    def authorize(self, attrs: Attributes) -> tuple[str, str]:
        del attrs
        return "deny", "Everything is forbidden."


def parse_modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    if not modes:
        raise ValueError("at least one authorization mode must be given")
    for m in modes:
        if m not in MODES:
            raise ValueError(f"unknown authorization mode {m!r} (known: {', '.join(MODES)})")
    if len(set(modes)) != len(modes):
        raise ValueError(f"authorization modes may not repeat: {text!r}")
    return modes


def anonymous() -> UserInfo:
    return UserInfo(ANONYMOUS_USER, (UNAUTHENTICATED_GROUP,))


class Authorizer:
    def __init__(self, modes: list[str], cache: Any) -> None:
        self.modes = modes
        self.rbac = RBACAuthorizer(CacheRoleSource(cache)) if "RBAC" in modes else None
        self.node = NodeAuthorizer(CachePodSource(cache), policy.NODE_RULES) if "Node" in modes else None
        members: list[Member] = []
        for m in modes:
            if m == "AlwaysAllow":
                members.append(AlwaysAllow())
            elif m == "AlwaysDeny":
                members.append(AlwaysDeny())
            elif m == "Node" and self.node is not None:
                members.append(self.node)
            elif m == "RBAC" and self.rbac is not None:
                members.append(self.rbac)
        self.members = members

    @property
    def always_allow(self) -> bool:
        return self.modes == ["AlwaysAllow"]

    def authorize(self, attrs: Attributes) -> tuple[bool, str]:
        if MASTERS_GROUP in attrs.user.groups:
            return True, ""
        reasons: list[str] = []
        for member in self.members:
            decision, reason = member.authorize(attrs)
            if decision == "allow":
                return True, reason
            if reason:
                reasons.append(reason)
            if decision == "deny":
                return False, reason
        return False, "\n".join(reasons)

    def check(self, attrs: Attributes) -> None:
        """Raise upstream's 403 unless allowed."""
        allowed, reason = self.authorize(attrs)
        if not allowed:
            raise forbidden(attrs, reason)

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[Rule], bool, str]:
        """(resource rules, non-resource rules, incomplete, evaluation error) for SelfSubjectRulesReview."""
        if MASTERS_GROUP in user.groups or "AlwaysAllow" in self.modes:
            return list(ALL_RULES), list(ALL_URLS), False, ""
        resource_rules: list[Rule] = []
        url_rules: list[Rule] = []
        incomplete = False
        problems: list[str] = []
        for m in self.modes:
            if m == "Node" and node_identity(user)[1]:
                incomplete = True
                problems.append("node authorizer does not support user rule resolution")
            elif m == "RBAC" and self.rbac is not None:
                rules, errs = self.rbac.rules_for(user, namespace)
                for r in rules:
                    if r.get("resources"):
                        resource_rules.append(
                            {
                                k: r[k]
                                for k in ("verbs", "apiGroups", "resources", "resourceNames")
                                if r.get(k)
                            }
                        )
                    if r.get("nonResourceURLs"):
                        url_rules.append(
                            {"verbs": r.get("verbs") or [], "nonResourceURLs": r["nonResourceURLs"]}
                        )
                problems.extend(errs)
        error = ", ".join(problems)
        if len(problems) > 1:
            error = "[" + error + "]"
        return resource_rules, url_rules, incomplete, error


def forbidden_message(attrs: Attributes) -> str:
    who = f'User "{attrs.user.name}"'
    if not attrs.is_resource_request:
        return f'{who} cannot {attrs.verb} path "{attrs.path}"'
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    return f'{who} cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" {scope}'


def forbidden(attrs: Attributes, reason: str = "") -> errors.StatusError:
    """403 as upstream's authorization filter writes it (NewForbidden of the group-resource)."""
    message = forbidden_message(attrs)
    if reason:
        message = f"{message}: {reason}"
    if not attrs.is_resource_request:
        return errors.StatusError(403, "Forbidden", f"forbidden: {message}", {})
    group_resource = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    target = f'{group_resource} "{attrs.name}"' if attrs.name else group_resource
    details: dict[str, Any] = {"group": attrs.group, "kind": attrs.resource}
    if attrs.name:
        details["name"] = attrs.name
    return errors.StatusError(403, "Forbidden", f"{target} is forbidden: {message}", details)


# --- impersonation -----------------------------------------------------------------------------------------
IMPERSONATE_USER = "Impersonate-User"
IMPERSONATE_GROUP = "Impersonate-Group"
IMPERSONATE_UID = "Impersonate-Uid"
IMPERSONATE_EXTRA = "impersonate-extra-"


def wants_impersonation(headers: Mapping[str, str]) -> bool:
    return any(k.lower().startswith("impersonate-") for k in headers)


def impersonate(authorizer: Authorizer, actor: UserInfo, headers: Any) -> UserInfo:
    """The user the request acts as; 403 when `actor` may not impersonate one of the parts.

    `headers` is a multi-dict (``getall``) as aiohttp gives it.
    """
    name = headers.get(IMPERSONATE_USER, "")
    groups: list[str] = list(headers.getall(IMPERSONATE_GROUP, []))
    uid = headers.get(IMPERSONATE_UID, "")
    extra: dict[str, list[str]] = {}
    for key, value in headers.items():
        if key.lower().startswith(IMPERSONATE_EXTRA):
            extra.setdefault(key[len(IMPERSONATE_EXTRA) :].lower(), []).append(value)
    if not name:
        raise errors.bad_request(
            "requested impersonation of groups, uid or extra without impersonating a user"
        )
    checks: list[Attributes] = []
    sa = service_account_of(name)
    if sa is not None:
        checks.append(
            Attributes(actor, "impersonate", True, resource="serviceaccounts", namespace=sa[0], name=sa[1])
        )
    else:
        checks.append(Attributes(actor, "impersonate", True, resource="users", name=name))
    checks += [Attributes(actor, "impersonate", True, resource="groups", name=g) for g in groups]
    if uid:
        checks.append(
            Attributes(actor, "impersonate", True, group="authentication.k8s.io", resource="uids", name=uid)
        )
    for key, values in extra.items():
        checks += [
            Attributes(
                actor,
                "impersonate",
                True,
                group="authentication.k8s.io",
                resource="userextras",
                subresource=key,
                name=v,
            )
            for v in values
        ]
    for attrs in checks:
        allowed, reason = authorizer.authorize(attrs)
        if not allowed:
            raise forbidden(attrs, reason)
    if sa is not None and not groups:
        groups = [satoken.ALL_GROUP, f"{satoken.ALL_GROUP}:{sa[0]}"]
    if name == ANONYMOUS_USER:
        if UNAUTHENTICATED_GROUP not in groups:
            groups.append(UNAUTHENTICATED_GROUP)
    elif AUTHENTICATED_GROUP not in groups:
        groups.append(AUTHENTICATED_GROUP)
    return UserInfo(name, tuple(groups), uid, {k: tuple(v) for k, v in extra.items()})


def service_account_of(name: str) -> tuple[str, str] | None:
    if not name.startswith(satoken.USER_PREFIX):
        return None
    ns, sep, account = name[len(satoken.USER_PREFIX) :].partition(":")
    if not sep or not ns or not account or ":" in account:
        return None
    return ns, account
