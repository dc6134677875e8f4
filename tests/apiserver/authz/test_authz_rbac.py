"""The RBAC authorizer over bindings, the chain's 403 text, impersonation, escalation checks,
policy reconciliation and ClusterRole aggregation."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import CIMultiDict

from kybernetes.api.resources import lookup
from kybernetes.apiserver import admission
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz import policy
from kybernetes.apiserver.authz.attributes import Attributes
from kybernetes.apiserver.authz.authorizer import Authorizer, forbidden, impersonate, parse_modes
from kybernetes.apiserver.authz.escalation import EscalationPlugin
from kybernetes.apiserver.authz.rbac import RBACAuthorizer
from kybernetes.apiserver.authz.reconcile import reconcile_binding, reconcile_role
from kybernetes.controllers.clusterroleaggregation import aggregated_rules
from kybernetes.machinery import errors

Obj = dict[str, Any]
ALICE = UserInfo("alice", ("devs", "system:authenticated"))


def role(name: str, *rules: Obj, ns: str = "", labels: Obj | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": labels or {}}
    if ns:
        meta["namespace"] = ns
    return {"metadata": meta, "rules": list(rules)}


def binding(name: str, kind: str, ref: str, *subjects: Obj, ns: str = "") -> Obj:
    meta: Obj = {"name": name}
    if ns:
        meta["namespace"] = ns
    return {
        "metadata": meta,
        "roleRef": {"kind": kind, "name": ref, "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": list(subjects),
    }


READ_PODS = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
ALL = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}


class Roles:
    def __init__(self) -> None:
        self.roles: dict[tuple[str, str], Obj] = {("team", "reader"): role("reader", READ_PODS, ns="team")}
        self.cluster_roles: dict[str, Obj] = {
            "admin-ish": role("admin-ish", ALL),
            "pod-reader": role("pod-reader", READ_PODS),
        }
        self.bindings: dict[str, list[Obj]] = {
            "team": [
                binding("b1", "Role", "reader", {"kind": "User", "name": "alice"}, ns="team"),
                binding("b2", "Role", "missing", {"kind": "Group", "name": "devs"}, ns="team"),
                binding(
                    "b3", "ClusterRole", "pod-reader", {"kind": "ServiceAccount", "name": "robot"}, ns="team"
                ),
            ]
        }
        self.cluster_bindings: list[Obj] = [
            binding("ops", "ClusterRole", "admin-ish", {"kind": "Group", "name": "ops"}),
        ]

    def role(self, namespace: str, name: str) -> Obj | None:
        return self.roles.get((namespace, name))

    def cluster_role(self, name: str) -> Obj | None:
        return self.cluster_roles.get(name)

    def role_bindings(self, namespace: str) -> list[Obj]:
        return self.bindings.get(namespace, [])

    def cluster_role_bindings(self) -> list[Obj]:
        return self.cluster_bindings


def ask(user: UserInfo, verb: str, resource: str, ns: str = "", name: str = "") -> Attributes:
    return Attributes(user, verb, True, resource=resource, namespace=ns, name=name)


ROBOT = UserInfo("system:serviceaccount:team:robot", ("system:serviceaccounts",))
RBAC_CASES = [
    (
        "user in namespace",
        ask(ALICE, "list", "pods", "team"),
        ("allow", 'RBAC: allowed by RoleBinding "team/b1" of Role "reader" to User "alice"'),
    ),
    ("user elsewhere", ask(ALICE, "list", "pods", "other"), ("", "")),
    (
        "missing role shows as a reason",
        ask(ALICE, "delete", "pods", "team"),
        ("", 'RBAC: role.rbac.authorization.k8s.io "missing" not found'),
    ),
    (
        "service account, namespace from the binding",
        ask(ROBOT, "get", "pods", "team"),
        (
            "allow",
            'RBAC: allowed by RoleBinding "team/b3" of ClusterRole "pod-reader" to ServiceAccount "team/robot"',
        ),
    ),
    (
        "group cluster-wide",
        ask(UserInfo("bob", ("ops",)), "delete", "nodes"),
        ("allow", 'RBAC: allowed by ClusterRoleBinding "ops" of ClusterRole "admin-ish" to Group "ops"'),
    ),
]


@pytest.mark.parametrize(("attrs", "want"), [c[1:] for c in RBAC_CASES], ids=[c[0] for c in RBAC_CASES])
def test_rbac_authorizer(attrs: Attributes, want: tuple[str, str]) -> None:
    assert RBACAuthorizer(Roles()).authorize(attrs) == want


def chain(modes: str = "RBAC") -> Authorizer:
    a = Authorizer(parse_modes(modes), cache=None)
    a.rbac = RBACAuthorizer(Roles())
    a.members = [a.rbac]
    return a


def test_masters_always_allowed_and_modes_parse() -> None:
    assert chain().authorize(ask(UserInfo("root", ("system:masters",)), "delete", "anything"))[0] is True
    for bad in ("", "RBAC,RBAC", "ABAC"):
        with pytest.raises(ValueError):
            parse_modes(bad)


@pytest.mark.parametrize(
    ("attrs", "reason", "message"),
    [
        (
            ask(ALICE, "list", "pods", "default"),
            "",
            'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
        ),
        (
            Attributes(ALICE, "get", True, group="apps", resource="deployments", name="web"),
            "",
            'deployments.apps "web" is forbidden: User "alice" cannot get resource "deployments" in API group "apps" '
            "at the cluster scope",
        ),
        (
            Attributes(ALICE, "get", True, resource="pods", subresource="log", namespace="x", name="p"),
            "RBAC: boom",
            'pods "p" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "x": '
            "RBAC: boom",
        ),
        (
            Attributes(ALICE, "get", False, path="/metrics"),
            "",
            'forbidden: User "alice" cannot get path "/metrics"',
        ),
    ],
    ids=["namespaced list", "cluster get", "subresource with reason", "non-resource"],
)
def test_forbidden_text(attrs: Attributes, reason: str, message: str) -> None:
    err = forbidden(attrs, reason)
    assert (err.code, err.reason, err.message) == (403, "Forbidden", message)


def test_impersonation() -> None:
    a = chain()
    admin = UserInfo("root", ("system:masters",))
    sa = impersonate(a, admin, CIMultiDict({"Impersonate-User": "system:serviceaccount:team:robot"}))
    assert sa.groups == ("system:serviceaccounts", "system:serviceaccounts:team", "system:authenticated")
    grouped = impersonate(
        a,
        admin,
        CIMultiDict([("Impersonate-User", "x"), ("Impersonate-Group", "g1"), ("Impersonate-Group", "g2")]),
    )
    assert grouped.groups == ("g1", "g2", "system:authenticated")
    with pytest.raises(errors.StatusError) as e:
        impersonate(a, ALICE, CIMultiDict({"Impersonate-User": "bob"}))
    assert e.value.message == (
        'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API '
        'group "" at the cluster scope'
    )
    with pytest.raises(errors.StatusError) as e:
        impersonate(a, admin, CIMultiDict({"Impersonate-Group": "g"}))
    assert e.value.code == 400


async def run_escalation(
    user: UserInfo, plural: str, obj: Obj, ns: str = "team", old: Obj | None = None
) -> None:
    res = lookup("rbac.authorization.k8s.io", "v1", plural)
    assert res is not None
    op = admission.UPDATE if old is not None else admission.CREATE
    attrs = admission.Attributes(res, op, ns, obj["metadata"]["name"], obj, old, user=user)
    await EscalationPlugin(chain()).validate(attrs, None)  # type: ignore[arg-type]


async def test_role_within_held_rights_is_fine() -> None:
    await run_escalation(
        ALICE, "roles", role("r", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, ns="team")
    )


async def test_role_escalation_refused_with_upstream_text() -> None:
    with pytest.raises(errors.StatusError) as e:
        await run_escalation(
            ALICE,
            "roles",
            role(
                "r",
                {"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "delete"]},
                ns="team",
            ),
        )
    assert e.value.code == 403
    assert e.value.message == (
        'roles.rbac.authorization.k8s.io "r" is forbidden: user "alice" (groups=["devs" "system:authenticated"]) '
        "is attempting to grant RBAC permissions not currently held:\n"
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n'
        '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}; resolution errors: '
        '[role.rbac.authorization.k8s.io "missing" not found]'
    )


async def test_binding_needs_the_roles_rights_or_bind() -> None:
    ok = binding("x", "ClusterRole", "pod-reader", {"kind": "User", "name": "bob"}, ns="team")
    await run_escalation(ALICE, "rolebindings", ok)
    too_much = binding("y", "ClusterRole", "admin-ish", {"kind": "User", "name": "bob"}, ns="team")
    with pytest.raises(errors.StatusError) as e:
        await run_escalation(ALICE, "rolebindings", too_much)
    assert e.value.message.startswith('rolebindings.rbac.authorization.k8s.io "y" is forbidden: user "alice"')
    missing = binding("z", "ClusterRole", "nope", {"kind": "User", "name": "bob"}, ns="team")
    with pytest.raises(errors.StatusError) as e:
        await run_escalation(ALICE, "rolebindings", missing)
    assert e.value.code == 404
    ops = UserInfo("carol", ("ops",))  # holds * everywhere: may bind anything
    await run_escalation(
        ops,
        "clusterrolebindings",
        binding("w", "ClusterRole", "admin-ish", {"kind": "User", "name": "bob"}),
        ns="",
    )


def test_reconcile_role_adds_missing_rules_and_respects_autoupdate_false() -> None:
    desired = policy.cluster_role("r", [READ_PODS, ALL])
    current = {"metadata": {"name": "r", "labels": {"mine": "x"}}, "rules": [READ_PODS]}
    updated = reconcile_role(current, desired)
    assert updated is not None and updated["rules"] == [READ_PODS, ALL]
    assert updated["metadata"]["labels"]["mine"] == "x"
    assert reconcile_role(updated, desired) is None
    frozen = {"metadata": {"name": "r", "annotations": {policy.AUTOUPDATE: "false"}}, "rules": []}
    assert reconcile_role(frozen, desired) is None


def test_reconcile_binding() -> None:
    desired = policy.cluster_role_binding("b", "view", [policy.subject("Group", "g")])
    current = {
        "metadata": {"name": "b"},
        "roleRef": desired["roleRef"],
        "subjects": [{"kind": "User", "name": "u"}],
    }
    updated = reconcile_binding(current, desired)
    assert updated is not None and len(updated["subjects"]) == 2
    moved = {**current, "roleRef": {**desired["roleRef"], "name": "edit"}}
    recreate = reconcile_binding(moved, desired)
    assert recreate is not None and recreate["recreate"] is True


def test_aggregation_unions_matching_roles_by_name() -> None:
    view = policy.cluster_role("view", [], aggregate_from="view")
    a = role(
        "b-extra",
        {"apiGroups": ["x"], "resources": ["y"], "verbs": ["get"]},
        labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"},
    )
    b = role("a-base", READ_PODS, labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"})
    dup = role("c-dup", READ_PODS, labels={"rbac.authorization.k8s.io/aggregate-to-view": "true"})
    other = role("z", ALL)
    assert aggregated_rules(view, [view, a, b, dup, other]) == [READ_PODS, a["rules"][0]]


def test_default_policy_is_self_consistent() -> None:
    names = {r["metadata"]["name"] for r in policy.CLUSTER_ROLES}
    for b in policy.CLUSTER_ROLE_BINDINGS:
        assert b["roleRef"]["name"] in names, b["metadata"]["name"]
    assert len(names) == len(policy.CLUSTER_ROLES)


async def test_aggregation_rule_takes_full_authority() -> None:
    agg = {**role("agg"), "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"a": "b"}}]}}
    with pytest.raises(errors.StatusError) as e:
        await run_escalation(ALICE, "clusterroles", agg, ns="")
    assert e.value.message == (
        'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin '
        "privileges to use the aggregationRule"
    )
