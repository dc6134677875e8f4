"""The Node authorizer's decisions and NodeRestriction's refusals, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.resources import lookup
from kybernetes.apiserver import admission
from kybernetes.apiserver.admission.plugins.node_restriction import NodeRestriction, node_refusal, pod_refusal
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz.attributes import Attributes
from kybernetes.apiserver.authz.node import NodeAuthorizer, node_identity
from kybernetes.apiserver.authz.policy import NODE_RULES
from kybernetes.machinery import errors

N1 = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))


def pod(name: str, node: str, ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": node, **spec}}


PODS = [
    pod(
        "mine",
        "n1",
        serviceAccountName="robot",
        imagePullSecrets=[{"name": "pull"}],
        volumes=[
            {"name": "s", "secret": {"secretName": "s1"}},
            {"name": "p", "projected": {"sources": [{"configMap": {"name": "kube-root-ca.crt"}}]}},
            {"name": "c", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}},
        ],
        containers=[
            {
                "name": "c",
                "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "k"}}}],
                "envFrom": [{"configMapRef": {"name": "settings"}}],
            }
        ],
    ),
    pod("theirs", "n2", volumes=[{"name": "s", "secret": {"secretName": "s2"}}]),
]
CLAIMS = {("default", "data"): {"spec": {"volumeName": "pv-data"}}}


class Source:
    def pods(self, namespace: str | None) -> list[dict[str, Any]]:
        return [p for p in PODS if namespace is None or p["metadata"]["namespace"] == namespace]

    def claim(self, namespace: str, name: str) -> dict[str, Any] | None:
        return CLAIMS.get((namespace, name))


def req(
    verb: str,
    resource: str,
    name: str = "",
    ns: str = "default",
    sub: str = "",
    group: str = "",
    fields: tuple[tuple[str, str], ...] = (),
) -> Attributes:
    return Attributes(
        N1,
        verb,
        True,
        group=group,
        resource=resource,
        subresource=sub,
        namespace=ns,
        name=name,
        field_equals=fields,
    )


NO_REL = "no relationship found between node 'n1' and this object"
CASES = [
    ("secret of its pod", req("get", "secrets", "s1"), ("allow", "")),
    ("env secret", req("get", "secrets", "env-secret"), ("allow", "")),
    ("image pull secret", req("get", "secrets", "pull"), ("allow", "")),
    ("secret of another node's pod", req("get", "secrets", "s2"), ("", NO_REL)),
    ("unknown secret", req("get", "secrets", "nope"), ("", NO_REL)),
    ("watch one secret by name", req("watch", "secrets", "s1"), ("allow", "")),
    ("list all secrets", req("list", "secrets"), ("", "No Object name found")),
    ("write a secret", req("update", "secrets", "s1"), ("", "can only read resources of this type")),
    ("projected configmap", req("get", "configmaps", "kube-root-ca.crt"), ("allow", "")),
    ("envFrom configmap", req("list", "configmaps", "settings"), ("allow", "")),
    ("claim", req("get", "persistentvolumeclaims", "data"), ("allow", "")),
    ("ephemeral claim", req("get", "persistentvolumeclaims", "mine-scratch"), ("allow", "")),
    ("claim status update", req("patch", "persistentvolumeclaims", "data", sub="status"), ("allow", "")),
    (
        "claim list",
        req("list", "persistentvolumeclaims"),
        ("", "can only get individual resources of this type"),
    ),
    ("bound volume", req("get", "persistentvolumes", "pv-data", ns=""), ("allow", "")),
    ("other volume", req("get", "persistentvolumes", "pv-x", ns=""), ("", NO_REL)),
    ("token for its pod's account", req("create", "serviceaccounts", "robot", sub="token"), ("allow", "")),
    ("token for another account", req("create", "serviceaccounts", "default", sub="token"), ("", NO_REL)),
    (
        "read a service account",
        req("get", "serviceaccounts", "robot"),
        ("", "can only create tokens for individual service accounts"),
    ),
    (
        "own lease",
        req("update", "leases", "n1", ns="kube-node-lease", group="coordination.k8s.io"),
        ("allow", ""),
    ),
    (
        "other lease",
        req("update", "leases", "n2", ns="kube-node-lease", group="coordination.k8s.io"),
        ("", "can only access node lease with the same name as the requesting node"),
    ),
    (
        "lease elsewhere",
        req("get", "leases", "n1", ns="default", group="coordination.k8s.io"),
        ("", 'can only access leases in the "kube-node-lease" system namespace'),
    ),
    ("own node", req("get", "nodes", "n1", ns=""), ("allow", "")),
    (
        "other node",
        req("get", "nodes", "n2", ns=""),
        ("", "node 'n1' cannot read 'n2', only its own Node object"),
    ),
    (
        "all nodes",
        req("list", "nodes", ns=""),
        ("", "node 'n1' cannot read all nodes, only its own Node object"),
    ),
    ("patch a node (NodeRestriction decides)", req("patch", "nodes", "n2", ns=""), ("allow", "")),
    ("node status", req("patch", "nodes", "n1", ns="", sub="status"), ("allow", "")),
    (
        "its pods by field selector",
        req("watch", "pods", ns="", fields=(("spec.nodeName", "n1"),)),
        ("allow", ""),
    ),
    (
        "another node's pods by field selector",
        req("list", "pods", ns="", fields=(("spec.nodeName", "n2"),)),
        ("", "can only list/watch pods with spec.nodeName field selector"),
    ),
    ("get its pod", req("get", "pods", "mine"), ("allow", "")),
    ("get another node's pod", req("get", "pods", "theirs"), ("", NO_REL)),
    ("pod status", req("patch", "pods", "theirs", sub="status"), ("allow", "")),
    ("create a mirror pod", req("create", "pods"), ("allow", "")),
    ("exec into a pod", req("create", "pods", "mine", sub="exec"), ("", "")),
    ("services from node rules", req("list", "services"), ("allow", "")),
    ("events from node rules", req("create", "events"), ("allow", "")),
    ("deployments", req("list", "deployments", group="apps"), ("", "")),
]


@pytest.mark.parametrize(("attrs", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_node_authorizer(attrs: Attributes, want: tuple[str, str]) -> None:
    assert NodeAuthorizer(Source(), NODE_RULES).authorize(attrs) == want


@pytest.mark.parametrize(
    ("user", "want"),
    [
        (N1, ("n1", True)),
        (UserInfo("system:node:n1", ()), ("", False)),
        (UserInfo("alice", ("system:nodes",)), ("", False)),
        (UserInfo("system:node:", ("system:nodes",)), ("", True)),
    ],
    ids=["node", "no group", "no prefix", "empty name"],
)
def test_node_identity(user: UserInfo, want: tuple[str, bool]) -> None:
    assert node_identity(user) == want


def test_non_nodes_get_no_opinion() -> None:
    alice = Attributes(UserInfo("alice", ()), "get", True, resource="secrets", namespace="default", name="s1")
    assert NodeAuthorizer(Source(), NODE_RULES).authorize(alice) == ("", "")


MIRROR = {
    "metadata": {"name": "m", "annotations": {"kubernetes.io/config.mirror": "x"}},
    "spec": {"nodeName": "n1"},
}
POD_CASES = [
    ("mirror pod", admission.CREATE, "", MIRROR, None, ""),
    (
        "not a mirror pod",
        admission.CREATE,
        "",
        {"metadata": {}, "spec": {"nodeName": "n1"}},
        None,
        'pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
    ),
    (
        "mirror pod elsewhere",
        admission.CREATE,
        "",
        {**MIRROR, "spec": {"nodeName": "n2"}},
        None,
        'node "n1" can only create pods with spec.nodeName set to itself',
    ),
    (
        "mirror pod with a secret",
        admission.CREATE,
        "",
        {**MIRROR, "spec": {"nodeName": "n1", "volumes": [{"name": "s", "secret": {"secretName": "x"}}]}},
        None,
        'node "n1" can not create pods that reference secrets',
    ),
    ("delete own", admission.DELETE, "", None, pod("p", "n1"), ""),
    (
        "delete other",
        admission.DELETE,
        "",
        None,
        pod("p", "n2"),
        'node "n1" can only delete pods with spec.nodeName set to itself',
    ),
    (
        "status of other",
        admission.UPDATE,
        "status",
        pod("p", "n2"),
        pod("p", "n2"),
        'node "n1" can only update pod status for pods with spec.nodeName set to itself',
    ),
    ("status of own", admission.UPDATE, "status", pod("p", "n1"), pod("p", "n1"), ""),
]


@pytest.mark.parametrize(
    ("op", "sub", "obj", "old", "want"), [c[1:] for c in POD_CASES], ids=[c[0] for c in POD_CASES]
)
def test_pod_refusal(op: str, sub: str, obj: Any, old: Any, want: str) -> None:
    assert pod_refusal("n1", op, sub, obj, old) == want


def node_obj(**labels: str) -> dict[str, Any]:
    return {"metadata": {"name": "n1", "labels": labels}}


NODE_CASES = [
    ("create own", admission.CREATE, "n1", node_obj(a="b"), None, ""),
    (
        "create other",
        admission.CREATE,
        "n2",
        node_obj(),
        None,
        'node "n1" is not allowed to modify node "n2"',
    ),
    (
        "restricted label at create",
        admission.CREATE,
        "n1",
        node_obj(**{"node-restriction.kubernetes.io/x": "y"}),
        None,
        'node "n1" is not allowed to set the following labels: node-restriction.kubernetes.io/x',
    ),
    (
        "restricted subdomain label",
        admission.CREATE,
        "n1",
        node_obj(**{"a.node-restriction.kubernetes.io/x": "y"}),
        None,
        'node "n1" is not allowed to set the following labels: a.node-restriction.kubernetes.io/x',
    ),
    (
        "remove restricted label",
        admission.UPDATE,
        "n1",
        node_obj(),
        node_obj(**{"node-restriction.kubernetes.io/x": "y"}),
        'node "n1" is not allowed to modify labels: node-restriction.kubernetes.io/x',
    ),
    (
        "keep restricted label",
        admission.UPDATE,
        "n1",
        node_obj(**{"node-restriction.kubernetes.io/x": "y", "a": "c"}),
        node_obj(**{"node-restriction.kubernetes.io/x": "y"}),
        "",
    ),
    ("delete", admission.DELETE, "n1", None, node_obj(), 'node "n1" is not allowed to delete nodes'),
]


@pytest.mark.parametrize(
    ("op", "name", "obj", "old", "want"), [c[1:] for c in NODE_CASES], ids=[c[0] for c in NODE_CASES]
)
def test_node_refusal(op: str, name: str, obj: Any, old: Any, want: str) -> None:
    assert node_refusal("n1", op, name, obj, old) == want


async def test_node_restriction_plugin_status() -> None:
    res = lookup("", "v1", "pods")
    assert res is not None
    attrs = admission.Attributes(res, admission.DELETE, "default", "p", None, pod("p", "n2"), user=N1)
    with pytest.raises(errors.StatusError) as e:
        await NodeRestriction().validate(attrs, None)  # type: ignore[arg-type]
    assert e.value.code == 403
    assert e.value.message == (
        'pods "p" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself'
    )
    others = admission.Attributes(
        res, admission.DELETE, "default", "p", None, pod("p", "n2"), user=UserInfo("alice", ())
    )
    await NodeRestriction().validate(others, None)  # type: ignore[arg-type]
