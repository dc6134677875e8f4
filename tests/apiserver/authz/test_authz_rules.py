"""RBAC rule matching and coverage tables (apiserver/authz/rules.py)."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes, exact_field_requirements
from kybernetes.apiserver.authz.rules import compact, compact_string, covers, rule_allows

U = UserInfo("alice", ("system:authenticated",))


def res(verb: str, resource: str, group: str = "", sub: str = "", name: str = "", ns: str = "") -> Attributes:
    return Attributes(U, verb, True, group=group, resource=resource, subresource=sub, name=name, namespace=ns)


def url(verb: str, path: str) -> Attributes:
    return Attributes(U, verb, False, path=path)


R = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}

ALLOWS = [
    ("exact", R, res("get", "pods"), True),
    ("other verb", R, res("delete", "pods"), False),
    ("other group", R, res("get", "pods", "apps"), False),
    ("subresource needs its own entry", R, res("get", "pods", sub="log"), False),
    (
        "pods/log",
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        res("get", "pods", sub="log"),
        True,
    ),
    (
        "*/log",
        {"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]},
        res("get", "pods", sub="log"),
        True,
    ),
    (
        "*/log not the parent",
        {"apiGroups": [""], "resources": ["*/log"], "verbs": ["get"]},
        res("get", "pods"),
        False,
    ),
    (
        "star everything",
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
        res("patch", "x", "y", "z"),
        True,
    ),
    ("resourceNames hit", {**R, "resourceNames": ["a"]}, res("get", "pods", name="a"), True),
    ("resourceNames miss", {**R, "resourceNames": ["a"]}, res("get", "pods", name="b"), False),
    ("resourceNames and a list", {**R, "resourceNames": ["a"]}, res("list", "pods"), False),
    ("url exact", {"nonResourceURLs": ["/healthz"], "verbs": ["get"]}, url("get", "/healthz"), True),
    ("url prefix", {"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}, url("get", "/apis/apps/v1"), True),
    (
        "url prefix not the bare path",
        {"nonResourceURLs": ["/apis/*"], "verbs": ["get"]},
        url("get", "/apis"),
        False,
    ),
    ("url star", {"nonResourceURLs": ["*"], "verbs": ["*"]}, url("post", "/anything"), True),
    ("resource rule not a url", R, url("get", "/api"), False),
    ("url rule not a resource", {"nonResourceURLs": ["*"], "verbs": ["*"]}, res("get", "pods"), False),
]


@pytest.mark.parametrize(("rule", "attrs", "want"), [a[1:] for a in ALLOWS], ids=[a[0] for a in ALLOWS])
def test_rule_allows(rule: dict[str, Any], attrs: Attributes, want: bool) -> None:
    assert rule_allows(attrs, rule) is want


COVERS = [
    ("same", [R], [R], True),
    ("fewer verbs", [R], [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}], True),
    ("more verbs", [R], [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "delete"]}], False),
    ("star verb", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}], [R], True),
    (
        "star resource covers subresource",
        [{"apiGroups": [""], "resources": ["*"], "verbs": ["get"]}],
        [{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}],
        True,
    ),
    (
        "*/status",
        [{"apiGroups": [""], "resources": ["*/status"], "verbs": ["get"]}],
        [{"apiGroups": [""], "resources": ["pods/status"], "verbs": ["get"]}],
        True,
    ),
    ("named owner does not cover all names", [{**R, "resourceNames": ["a"]}], [R], False),
    ("unnamed owner covers a name", [R], [{**R, "resourceNames": ["a"]}], True),
    (
        "requested star verb needs star",
        [R],
        [{"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}],
        False,
    ),
    (
        "url prefix",
        [{"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}],
        [{"nonResourceURLs": ["/apis/apps"], "verbs": ["get"]}],
        True,
    ),
    (
        "url elsewhere",
        [{"nonResourceURLs": ["/apis/*"], "verbs": ["get"]}],
        [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}],
        False,
    ),
]


@pytest.mark.parametrize(("owner", "wanted", "want"), [c[1:] for c in COVERS], ids=[c[0] for c in COVERS])
def test_covers(owner: list[dict[str, Any]], wanted: list[dict[str, Any]], want: bool) -> None:
    assert covers(owner, wanted)[0] is want


def test_missing_rules_compact_as_upstream_prints_them() -> None:
    _, missing = covers(
        [R], [{"apiGroups": ["", "apps"], "resources": ["pods", "deployments"], "verbs": ["get", "delete"]}]
    )
    lines = sorted(compact_string(r) for r in compact(missing))
    assert lines == [
        '{APIGroups:[""], Resources:["deployments"], Verbs:["get" "delete"]}',
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}',
        '{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "delete"]}',
        '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete"]}',
    ]
    named = compact_string(
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["s"], "verbs": ["get"]}
    )
    assert named == '{APIGroups:[""], Resources:["secrets"], ResourceNames:["s"], Verbs:["get"]}'
    assert (
        compact_string({"nonResourceURLs": ["/x"], "verbs": ["get"]})
        == '{NonResourceURLs:["/x"], Verbs:["get"]}'
    )


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", ()),
        ("metadata.name=a", (("metadata.name", "a"),)),
        ("a==b,c!=d", (("a", "b"),)),
        ("spec.nodeName=n1, metadata.namespace=x", (("spec.nodeName", "n1"), ("metadata.namespace", "x"))),
    ],
    ids=["empty", "one", "double-equals-and-not-equals", "two"],
)
def test_exact_field_requirements(text: str, want: tuple[tuple[str, str], ...]) -> None:
    assert exact_field_requirements(text) == want
