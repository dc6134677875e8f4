"""No one grants what they do not hold: upstream's RBAC escalation checks, as an admission step.

- Creating or updating a Role or ClusterRole needs every permission it lists, held in that
  namespace (cluster-wide for a ClusterRole), unless the user may ``escalate`` that role.
- Creating or updating a RoleBinding or ClusterRoleBinding needs every permission of the role it
  references, unless the user may ``bind`` that role.
- Members of system:masters (the API server's own loopback identity included) skip both checks;
  writes the server makes itself (no user) are not checked.

The refusal is upstream's 403: ``roles.rbac.authorization.k8s.io "r" is forbidden: user "alice"
(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:``
followed by one compacted rule per line.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver import admission
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes
from kybernetes.apiserver.authz.authorizer import MASTERS_GROUP, Authorizer
from kybernetes.apiserver.authz.rbac import RBAC_GROUP, RBACAuthorizer, aggregate_errors, role_reference_rules
from kybernetes.apiserver.authz.rules import Rule, compact, compact_string, covers, go_quoted_list
from kybernetes.machinery import errors

Obj = dict[str, Any]
ROLE_KINDS = {"roles": "Role", "clusterroles": "ClusterRole"}
BINDING_KINDS = {"rolebindings", "clusterrolebindings"}
FULL_AUTHORITY: list[Rule] = [
    {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
    {"nonResourceURLs": ["*"], "verbs": ["*"]},
]


def escalation_message(user: UserInfo, missing: list[Rule], resolution_errors: list[str]) -> str:
    lines = sorted({compact_string(r) for r in compact(missing)})
    msg = (
        f'user "{user.name}" (groups={go_quoted_list(list(user.groups))}) is attempting to grant RBAC '
        f"permissions not currently held:\n" + "\n".join(lines)
    )
    if resolution_errors:
        msg += f"; resolution errors: [{aggregate_errors(resolution_errors)}]"
    return msg


def confirm_no_escalation(rbac: RBACAuthorizer, user: UserInfo, namespace: str, wanted: list[Rule]) -> str:
    """ "" when the user holds every wanted permission in `namespace`, else the refusal's text."""
    held, problems = rbac.rules_for(user, namespace)
    ok, missing = covers(held, wanted)
    return "" if ok else escalation_message(user, missing, problems)


def _rules(obj: Obj | None) -> list[Rule]:
    return [r for r in (obj or {}).get("rules") or [] if isinstance(r, dict)]


class EscalationPlugin(admission.Plugin):
    name = "RBACEscalation"
    validating = True

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer

    async def validate(self, attrs: admission.Attributes, ctx: admission.AdmissionContext) -> None:
        del ctx
        rbac = self.authorizer.rbac
        user = attrs.user
        if (
            rbac is None
            or user is None
            or attrs.group != RBAC_GROUP
            or attrs.subresource
            or attrs.obj is None
            or attrs.operation not in (admission.CREATE, admission.UPDATE)
            or MASTERS_GROUP in user.groups
        ):
            return
        plural = attrs.resource.plural
        name = str((attrs.obj.get("metadata") or {}).get("name") or attrs.name)
        if plural in ROLE_KINDS:
            self._check_role(rbac, user, attrs, plural, name)
        elif plural in BINDING_KINDS:
            self._check_binding(rbac, user, attrs, plural, name)

    def _allowed(self, user: UserInfo, verb: str, resource: str, namespace: str, name: str) -> bool:
        return self.authorizer.authorize(
            Attributes(user, verb, True, group=RBAC_GROUP, resource=resource, namespace=namespace, name=name)
        )[0]

    def _check_role(
        self, rbac: RBACAuthorizer, user: UserInfo, attrs: admission.Attributes, plural: str, name: str
    ) -> None:
        assert attrs.obj is not None
        if (
            attrs.old is not None
            and _rules(attrs.old) == _rules(attrs.obj)
            and attrs.old.get("aggregationRule") == attrs.obj.get("aggregationRule")
        ):
            return  # nothing granted changes (metadata, owner references, finalizers)
        if self._allowed(user, "escalate", plural, attrs.namespace, name):
            return
        refusal = confirm_no_escalation(rbac, user, attrs.namespace, _rules(attrs.obj))
        if refusal:
            raise _forbidden(plural, name, refusal)
        # an aggregationRule can gather any rule there is: it takes holding every permission
        aggregating = plural == "clusterroles" and (
            attrs.obj.get("aggregationRule") or (attrs.old or {}).get("aggregationRule")
        )
        if aggregating and confirm_no_escalation(rbac, user, "", FULL_AUTHORITY):
            raise _forbidden(plural, name, "must have cluster-admin privileges to use the aggregationRule")

    def _check_binding(
        self, rbac: RBACAuthorizer, user: UserInfo, attrs: admission.Attributes, plural: str, name: str
    ) -> None:
        assert attrs.obj is not None
        ref = attrs.obj.get("roleRef") or {}
        if (
            attrs.old is not None
            and attrs.old.get("roleRef") == ref
            and _subjects_unchanged(attrs.old, attrs.obj)
        ):
            return  # nothing granted changes
        role_plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
        if self._allowed(user, "bind", role_plural, attrs.namespace, str(ref.get("name") or "")):
            return
        try:
            wanted = role_reference_rules(rbac.source, ref, attrs.namespace)
        except LookupError:
            raise errors.not_found(role_plural, str(ref.get("name") or ""), RBAC_GROUP) from None
        refusal = confirm_no_escalation(rbac, user, attrs.namespace, wanted)
        if refusal:
            raise _forbidden(plural, name, refusal)


def _subjects_unchanged(old: Obj, new: Obj) -> bool:
    return bool(old.get("subjects") == new.get("subjects"))


def _forbidden(plural: str, name: str, message: str) -> errors.StatusError:
    return errors.StatusError(
        403,
        "Forbidden",
        f'{plural}.{RBAC_GROUP} "{name}" is forbidden: {message}',
        {"name": name, "group": RBAC_GROUP, "kind": plural},
    )
