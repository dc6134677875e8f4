"""authorization.k8s.io reviews answered from the authorizer (apiserver/registry/accessreview.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.authorizer import Authorizer, parse_modes
from kybernetes.apiserver.authz.rbac import RBACAuthorizer
from kybernetes.apiserver.registry.accessreview import review
from kybernetes.machinery import errors

ALICE = UserInfo("alice", ("system:authenticated",))
ROOT = UserInfo("root", ("system:masters",))


class OneBinding:
    """alice may list pods in namespace "team"."""

    def role(self, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def cluster_role(self, name: str) -> dict[str, Any] | None:
        rules = [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
        return {"metadata": {"name": name}, "rules": rules} if name == "lister" else None

    def role_bindings(self, namespace: str) -> list[dict[str, Any]]:
        if namespace != "team":
            return []
        return [
            {
                "metadata": {"name": "b", "namespace": "team"},
                "roleRef": {"kind": "ClusterRole", "name": "lister"},
                "subjects": [{"kind": "User", "name": "alice"}],
            }
        ]

    def cluster_role_bindings(self) -> list[dict[str, Any]]:
        return []


def authorizer() -> Authorizer:
    a = Authorizer(parse_modes("RBAC"), cache=None)
    a.rbac = RBACAuthorizer(OneBinding())
    a.members = [a.rbac]
    return a


def pods(ns: str, verb: str = "list") -> dict[str, Any]:
    return {"resourceAttributes": {"namespace": ns, "verb": verb, "resource": "pods"}}


def test_self_review() -> None:
    got = review("selfsubjectaccessreviews", {"spec": pods("team")}, ALICE, "", authorizer())
    assert got["kind"] == "SelfSubjectAccessReview"
    assert got["status"] == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "team/b" of ClusterRole "lister" to User "alice"',
    }
    assert review("selfsubjectaccessreviews", {"spec": pods("x")}, ALICE, "", authorizer())["status"] == {
        "allowed": False
    }


def test_subject_review_asks_about_spec_user() -> None:
    got = review("subjectaccessreviews", {"spec": {"user": "alice", **pods("team")}}, ROOT, "", authorizer())
    assert got["status"]["allowed"] is True


@pytest.mark.parametrize(
    ("plural", "spec", "ns", "code", "text"),
    [
        ("subjectaccessreviews", pods("team"), "", 422, "spec.user: Invalid value"),
        (
            "subjectaccessreviews",
            {"user": "a"},
            "",
            422,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        ),
        (
            "subjectaccessreviews",
            {"user": "a", **pods("t"), "nonResourceAttributes": {"path": "/x", "verb": "get"}},
            "",
            422,
            "cannot be specified in combination with resourceAttributes",
        ),
        (
            "localsubjectaccessreviews",
            {"user": "a", **pods("other")},
            "team",
            400,
            "spec.resourceAttributes.namespace must match namespace: team",
        ),
    ],
    ids=["no user", "no attributes", "both attributes", "local namespace mismatch"],
)
def test_invalid_reviews(plural: str, spec: dict[str, Any], ns: str, code: int, text: str) -> None:
    with pytest.raises(errors.StatusError) as e:
        review(plural, {"spec": spec}, ROOT, ns, authorizer())
    assert e.value.code == code and text in e.value.message


def test_rules_review() -> None:
    mine = review("selfsubjectrulesreviews", {"spec": {"namespace": "team"}}, ALICE, "", authorizer())[
        "status"
    ]
    assert mine == {
        "resourceRules": [{"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}],
        "nonResourceRules": [],
        "incomplete": False,
    }
    root = review("selfsubjectrulesreviews", {"spec": {"namespace": "team"}}, ROOT, "", authorizer())[
        "status"
    ]
    assert root["resourceRules"] == [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    node = UserInfo("system:node:n1", ("system:nodes",))
    a = Authorizer(parse_modes("Node,RBAC"), cache=None)
    a.rbac = RBACAuthorizer(OneBinding())
    status = review("selfsubjectrulesreviews", {"spec": {"namespace": "team"}}, node, "", a)["status"]
    assert status["incomplete"] is True
    assert status["evaluationError"] == "node authorizer does not support user rule resolution"
