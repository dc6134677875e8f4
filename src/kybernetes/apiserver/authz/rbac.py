"""The RBAC authorizer: rules reached from bindings whose subjects include the user.

Roles and bindings are read from the API server's own watch cache on every request (no copy to
keep in step): first every ClusterRoleBinding, then, for a namespaced request, the RoleBindings of
that namespace. A binding applies to a user when a subject names the user, one of the user's
groups, or the user's service account (``system:serviceaccount:<ns>:<name>``; a RoleBinding's
ServiceAccount subject without a namespace means the binding's own). A binding whose role does not
exist contributes an error instead of rules; errors only show when nothing allowed the request,
as the ``RBAC: ...`` part of the denial (upstream's aggregate: one error as is, several in
``[a, b]``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes
from kybernetes.apiserver.authz.rules import Rule, rule_allows
from kybernetes.machinery import satoken

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"


class RoleSource(Protocol):
    def role(self, namespace: str, name: str) -> Obj | None: ...
    def cluster_role(self, name: str) -> Obj | None: ...
    def role_bindings(self, namespace: str) -> list[Obj]: ...
    def cluster_role_bindings(self) -> list[Obj]: ...


class CacheRoleSource:
    """Roles and bindings from the watch cache (keys /registry/<plural>/[<ns>/]<name>).

    Every request of a user outside system:masters reads all ClusterRoleBindings and some roles;
    decoding each from the cache's JSON every time cost more than the rest of authorization.
    So decoded objects are kept per cache entry (entries are immutable: a change replaces the
    entry, and the stale decoding with it). The objects handed out are shared: read only.
    """

    MAX_DECODED = 4096  # past this many kept decodings (roles come and go), start afresh

    def __init__(self, cache: Any) -> None:
        self.cache = cache
        self._decoded: dict[str, tuple[Any, Obj]] = {}  # key -> (cache entry, its object)

    def _obj(self, key: str, entry: Any) -> Obj:
        kept = self._decoded.get(key)
        if kept is not None and kept[0] is entry:
            return kept[1]
        if len(self._decoded) >= self.MAX_DECODED:
            self._decoded.clear()
        obj: Obj = entry.obj
        self._decoded[key] = (entry, obj)
        return obj

    def _get(self, key: str) -> Obj | None:
        entry = self.cache.get(key)
        return self._obj(key, entry) if entry is not None else None

    def role(self, namespace: str, name: str) -> Obj | None:
        return self._get(f"/registry/roles/{namespace}/{name}")

    def cluster_role(self, name: str) -> Obj | None:
        return self._get(f"/registry/clusterroles/{name}")

    def role_bindings(self, namespace: str) -> list[Obj]:
        return [self._obj(k, e) for k, e in self.cache.iter_prefix(f"/registry/rolebindings/{namespace}/")]

    def cluster_role_bindings(self) -> list[Obj]:
        return [self._obj(k, e) for k, e in self.cache.iter_prefix("/registry/clusterrolebindings/")]


def subject_applies(subject: Obj, user: UserInfo, binding_namespace: str) -> bool:
    kind = subject.get("kind")
    name = subject.get("name")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        if not namespace:
            return False
        return user.name == f"{satoken.USER_PREFIX}{namespace}:{name}"
    return False


def binding_applies(binding: Obj, user: UserInfo, binding_namespace: str) -> bool:
    return any(
        isinstance(s, dict) and subject_applies(s, user, binding_namespace)
        for s in binding.get("subjects") or []
    )


def role_reference_rules(source: RoleSource, role_ref: Obj, binding_namespace: str) -> list[Rule]:
    """The rules a roleRef points at; raises LookupError with upstream's not-found text."""
    kind, name = role_ref.get("kind"), str(role_ref.get("name") or "")
    if kind == "ClusterRole":
        role = source.cluster_role(name)
        if role is None:
            raise LookupError(f'clusterrole.{RBAC_GROUP} "{name}" not found')
    elif kind == "Role" and binding_namespace:
        role = source.role(binding_namespace, name)
        if role is None:
            raise LookupError(f'role.{RBAC_GROUP} "{name}" not found')
    else:
        raise LookupError(f"unsupported role reference kind: {kind!r}")
    return [r for r in role.get("rules") or [] if isinstance(r, dict)]


def describe_subject(subject: Obj, binding_namespace: str) -> str:
    kind, name = subject.get("kind", ""), subject.get("name", "")
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return f'{kind} "{ns}/{name}"'
    return f'{kind} "{name}"'


Visit = Callable[[str, Rule | None, str | None], bool]


def visit_rules(
    source: RoleSource, user: UserInfo, namespace: str
) -> Iterator[tuple[str, Rule | None, str | None]]:
    """(source description, rule, error) for every rule that applies to `user` in `namespace`."""
    for binding in source.cluster_role_bindings():
        yield from _binding_rules(source, binding, user, "", "ClusterRoleBinding")
    if namespace:
        for binding in source.role_bindings(namespace):
            yield from _binding_rules(source, binding, user, namespace, "RoleBinding")


def _binding_rules(
    source: RoleSource, binding: Obj, user: UserInfo, namespace: str, kind: str
) -> Iterator[tuple[str, Rule | None, str | None]]:
    if not binding_applies(binding, user, namespace):
        return
    ref = binding.get("roleRef") or {}
    try:
        rules = role_reference_rules(source, ref, namespace)
    except LookupError as e:
        yield "", None, str(e)
        return
    subject = next(
        s
        for s in binding.get("subjects") or []
        if isinstance(s, dict) and subject_applies(s, user, namespace)
    )
    meta = binding.get("metadata") or {}
    where = f"{meta.get('namespace')}/" if namespace else ""
    text = (
        f'{kind} "{where}{meta.get("name", "")}" of {ref.get("kind")} "{ref.get("name")}" '
        f"to {describe_subject(subject, namespace)}"
    )
    for rule in rules:
        yield text, rule, None


def rules_for(source: RoleSource, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
    """Every rule that applies, and the errors met while resolving them."""
    rules: list[Rule] = []
    problems: list[str] = []
    for _, rule, err in visit_rules(source, user, namespace):
        if rule is not None:
            rules.append(rule)
        if err is not None:
            problems.append(err)
    return rules, problems


def aggregate_errors(problems: list[str]) -> str:
    return problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"


class RBACAuthorizer:
    def __init__(self, source: RoleSource) -> None:
        self.source = source

    def authorize(self, attrs: Attributes) -> tuple[str, str]:
        """("allow", "RBAC: allowed by ...") or ("", reason) — RBAC never denies outright."""
        problems: list[str] = []
        for text, rule, err in visit_rules(self.source, attrs.user, attrs.namespace):
            if rule is not None and rule_allows(attrs, rule):
                return "allow", f"RBAC: allowed by {text}"
            if err is not None:
                problems.append(err)
        return "", f"RBAC: {aggregate_errors(problems)}" if problems else ""

    def rules_for(self, user: UserInfo, namespace: str) -> tuple[list[Rule], list[str]]:
        return rules_for(self.source, user, namespace)
