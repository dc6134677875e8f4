"""Authorization end to end with real kubectl: RBAC on by default, the Node authorizer, reviews,
impersonation, escalation checks and NodeRestriction (apiserver/authz, docs/security.md)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.util import pki

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-rbac")))  # Node,RBAC: the default
    server.start()
    try:
        yield server
    finally:
        server.stop()


def user_kubeconfig(kyb: KybServer, name: str, groups: tuple[str, ...] = ()) -> Path:
    """A kubeconfig with a client certificate for `name` (CN) in `groups` (O), signed by the cluster CA."""
    tls = kyb.data_dir / "tls"
    ca = pki.CertificateAuthority.load(tls / "ca.crt", tls / "ca.key")
    cert, key = pki.issue_client_cert(ca, name, groups)
    path = kyb.data_dir / f"kubeconfig-{name.replace(':', '-')}"
    pki.write_kubeconfig(
        path, server=kyb.url, ca_pem=(tls / "ca.crt").read_bytes(), cert_pem=cert, key_pem=key, user=name
    )
    return path


def as_user(
    kyb: KybServer, config: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return kyb.kubectl(*args, input=input, check=False, env={"KUBECONFIG": str(config)})


def test_user_forbidden_then_allowed_by_rolebinding(kyb: KybServer) -> None:
    alice = user_kubeconfig(kyb, "alice")
    denied = as_user(kyb, alice, "get", "pods", "-n", "default")
    assert denied.returncode != 0
    assert (
        'Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" '
        'in API group "" in the namespace "default"'
    ) in denied.stderr
    cluster_scope = as_user(kyb, alice, "get", "nodes")
    assert (
        'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope'
        in cluster_scope.stderr
    )
    kyb.kubectl("create", "rolebinding", "alice-view", "--clusterrole=view", "--user=alice", "-n", "default")
    allowed = as_user(kyb, alice, "get", "pods", "-n", "default")
    assert allowed.returncode == 0, allowed.stderr
    # view does not reach other namespaces, secrets or writes
    assert as_user(kyb, alice, "get", "pods", "-n", "kube-system").returncode != 0
    assert as_user(kyb, alice, "get", "secrets", "-n", "default").returncode != 0
    write = as_user(kyb, alice, "create", "configmap", "c1", "-n", "default")
    assert 'cannot create resource "configmaps"' in write.stderr
    # discovery and version are open to every authenticated user
    assert as_user(kyb, alice, "api-resources", "--api-group=apps").returncode == 0


def test_can_i(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "cani")
    kyb.kubectl("create", "rolebinding", "bob-edit", "--clusterrole=edit", "--user=bob", "-n", "cani")
    bob = user_kubeconfig(kyb, "bob")
    yes = as_user(kyb, bob, "auth", "can-i", "create", "deployments", "-n", "cani")
    assert (yes.returncode, yes.stdout.strip()) == (0, "yes")
    no = as_user(kyb, bob, "auth", "can-i", "create", "deployments", "-n", "default")
    assert (no.returncode, no.stdout.strip()) == (1, "no")
    # the admin asks on bob's behalf (impersonation)
    as_bob = kyb.kubectl("auth", "can-i", "delete", "pods", "-n", "cani", "--as=bob", check=False)
    assert as_bob.stdout.strip() == "yes"
    assert kyb.kubectl("auth", "can-i", "get", "nodes", "--as=bob", check=False).stdout.strip() == "no"
    listing = as_user(kyb, bob, "auth", "can-i", "--list", "-n", "cani")
    assert listing.returncode == 0, listing.stderr
    assert "deployments.apps" in listing.stdout
    assert "selfsubjectaccessreviews.authorization.k8s.io" in listing.stdout
    # bob may not impersonate anyone
    imp = as_user(kyb, bob, "get", "pods", "-n", "cani", "--as=alice")
    assert (
        'users "alice" is forbidden: User "bob" cannot impersonate resource "users" in API group "" '
        "at the cluster scope"
    ) in imp.stderr
    # SubjectAccessReview through the API (what webhooks and add-ons ask)
    sar = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "bob",
            "resourceAttributes": {"namespace": "cani", "verb": "list", "resource": "pods"},
        },
    }
    out = kyb.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(sar))
    assert json.loads(out.stdout)["status"]["allowed"] is True


def test_service_account_token_limited_by_rbac(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "satest")
    kyb.kubectl("create", "serviceaccount", "robot", "-n", "satest")
    token = kyb.kubectl("create", "token", "robot", "-n", "satest").stdout.strip()
    args = [
        "--token",
        token,
        "--kubeconfig",
        "/dev/null",
        "--server",
        kyb.url,
        "--certificate-authority",
        str(kyb.data_dir / "tls" / "ca.crt"),
    ]
    denied = kyb.kubectl("get", "configmaps", "-n", "satest", *args, check=False, env={"KUBECONFIG": ""})
    assert (
        'User "system:serviceaccount:satest:robot" cannot list resource "configmaps" in API group "" '
        'in the namespace "satest"'
    ) in denied.stderr
    kyb.kubectl("create", "role", "cm-reader", "--verb=get,list", "--resource=configmaps", "-n", "satest")
    kyb.kubectl(
        "create",
        "rolebinding",
        "robot-cm",
        "--role=cm-reader",
        "--serviceaccount=satest:robot",
        "-n",
        "satest",
    )
    allowed = kyb.kubectl("get", "configmaps", "-n", "satest", *args, check=False, env={"KUBECONFIG": ""})
    assert allowed.returncode == 0, allowed.stderr
    assert (
        kyb.kubectl("get", "secrets", "-n", "satest", *args, check=False, env={"KUBECONFIG": ""}).returncode
        != 0
    )


def test_escalation_refused(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "esc")
    kyb.kubectl("create", "rolebinding", "carol-admin", "--clusterrole=admin", "--user=carol", "-n", "esc")
    carol = user_kubeconfig(kyb, "carol")
    # admin in the namespace: may create roles it holds ...
    ok = as_user(kyb, carol, "create", "role", "pod-reader", "--verb=get", "--resource=pods", "-n", "esc")
    assert ok.returncode == 0, ok.stderr
    # ... but not grant what it does not hold (nodes are cluster-scoped; admin has no escalate)
    refused = as_user(
        kyb,
        carol,
        "create",
        "clusterrolebinding",
        "carol-admin",
        "--clusterrole=cluster-admin",
        "--user=carol",
    )
    assert refused.returncode != 0
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "too-much", "namespace": "esc"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "escalate"]},
            {
                "apiGroups": ["certificates.k8s.io"],
                "resources": ["certificatesigningrequests"],
                "verbs": ["approve"],
            },
        ],
    }
    esc = as_user(kyb, carol, "create", "-f", "-", input=json.dumps(role))
    assert (
        'roles.rbac.authorization.k8s.io "too-much" is forbidden: user "carol" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
        '{APIGroups:[""], Resources:["pods"], Verbs:["escalate"]}\n'
        '{APIGroups:["certificates.k8s.io"], Resources:["certificatesigningrequests"], Verbs:["approve"]}'
    ) in esc.stderr
    bind = as_user(
        kyb,
        carol,
        "create",
        "rolebinding",
        "carol-cm",
        "--clusterrole=cluster-admin",
        "--user=carol",
        "-n",
        "esc",
    )
    assert 'rolebindings.rbac.authorization.k8s.io "carol-cm" is forbidden: user "carol"' in bind.stderr


def test_node_reads_only_what_its_pods_use(kyb: KybServer) -> None:
    kyb.kubectl("create", "namespace", "nodesec")
    kyb.kubectl("create", "secret", "generic", "mine", "--from-literal=a=b", "-n", "nodesec")
    kyb.kubectl("create", "secret", "generic", "theirs", "--from-literal=a=b", "-n", "nodesec")
    for node in ("n1", "n2"):
        kyb.kubectl(
            "create",
            "-f",
            "-",
            input=json.dumps({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}),
        )
    for pod, node, secret in (("p1", "n1", "mine"), ("p2", "n2", "theirs")):
        kyb.kubectl(
            "create",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {"name": pod, "namespace": "nodesec"},
                    "spec": {
                        "nodeName": node,
                        "containers": [{"name": "c", "image": "busybox:1.36"}],
                        "volumes": [{"name": "s", "secret": {"secretName": secret}}],
                    },
                }
            ),
        )
    n1 = user_kubeconfig(kyb, "system:node:n1", ("system:nodes",))
    assert as_user(kyb, n1, "get", "secret", "mine", "-n", "nodesec").returncode == 0
    theirs = as_user(kyb, n1, "get", "secret", "theirs", "-n", "nodesec")
    assert (
        'secrets "theirs" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" '
        "in the namespace \"nodesec\": no relationship found between node 'n1' and this object"
    ) in theirs.stderr
    assert as_user(kyb, n1, "get", "secrets", "-n", "nodesec").returncode != 0
    # its own Node, not another's; pods only through its field selector
    assert as_user(kyb, n1, "get", "node", "n1").returncode == 0
    other = as_user(kyb, n1, "label", "node", "n2", "x=y")
    assert 'node "n1" is not allowed to modify node "n2"' in other.stderr
    own = as_user(kyb, n1, "label", "node", "n1", "node-restriction.kubernetes.io/x=y")
    assert "is not allowed to modify labels: node-restriction.kubernetes.io/x" in own.stderr
    assert as_user(kyb, n1, "get", "pods", "-A", "--field-selector", "spec.nodeName=n1").returncode == 0
    # NodeRestriction: a node deletes only its own pods
    gone = as_user(kyb, n1, "delete", "pod", "p2", "-n", "nodesec", "--wait=false")
    assert 'node "n1" can only delete pods with spec.nodeName set to itself' in gone.stderr


def test_authorization_objects_and_policy(kyb: KybServer) -> None:
    roles = kyb.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for name in (
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
        "system:discovery",
        "system:node-bootstrapper",
        "system:kube-scheduler",
        "system:node-proxier",
    ):
        assert f"clusterrole.rbac.authorization.k8s.io/{name}" in roles
    # aggregated by the controller manager: view holds the aggregate-to-view rules
    view = json.loads(kyb.kubectl("get", "clusterrole", "view", "-o", "json").stdout)
    assert any("pods" in (r.get("resources") or []) for r in view.get("rules") or [])
