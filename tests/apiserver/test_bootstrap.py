from __future__ import annotations

import pytest

from kybernetes.apiserver import bootstrap
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.requestinfo import parse_request
from kybernetes.machinery.errors import StatusError

BOOT = UserInfo("system:bootstrap:abcdef", ("system:bootstrappers", "system:authenticated"))
NODE = UserInfo("system:node:n1", ("system:nodes", "system:authenticated"))
CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("POST", CSRS, True),
    ("GET", CSRS, True),
    ("GET", CSRS + "/csr-1", True),
    ("PUT", CSRS + "/csr-1/approval", False),
    ("DELETE", CSRS + "/csr-1", False),
    ("GET", "/api/v1/namespaces/default/pods", False),
    ("GET", "/api/v1/nodes", False),
    ("GET", "/api/v1/namespaces/kube-public/configmaps/kube-root-ca.crt", True),
    ("GET", "/api/v1/namespaces/kube-system/configmaps/kube-root-ca.crt", False),
    ("GET", "/apis", True),
    ("GET", "/metrics", False),
], ids=["create-csr", "list-csr", "get-csr", "approve", "delete-csr", "list-pods", "list-nodes",
        "public-ca", "system-ca", "discovery", "metrics"])
def test_bootstrapper_table(method: str, path: str, allowed: bool) -> None:
    info = parse_request(method, path, watch_param=False)
    assert bootstrap.bootstrapper_allowed(info) == allowed
    if allowed:
        bootstrap.authorize(BOOT, info)
    else:
        with pytest.raises(StatusError) as e:
            bootstrap.authorize(BOOT, info)
        assert e.value.code == 403
    bootstrap.authorize(NODE, info)  # everyone else: allowed (no RBAC yet)


def test_forbidden_messages() -> None:
    pods = bootstrap.forbidden_error(BOOT, parse_request("GET", "/api/v1/namespaces/default/pods", watch_param=False))
    assert pods.message == ('pods is forbidden: User "system:bootstrap:abcdef" cannot list resource "pods" '
                            'in API group "" in the namespace "default"')
    dep = bootstrap.forbidden_error(BOOT, parse_request("GET", "/apis/apps/v1/deployments/x", watch_param=False))
    assert dep.message.startswith('deployments.apps "x" is forbidden') and "at the cluster scope" in dep.message
    path = bootstrap.forbidden_error(BOOT, parse_request("GET", "/metrics", watch_param=False))
    assert path.message == 'forbidden: User "system:bootstrap:abcdef" cannot get path "/metrics"'


def test_stamp_requester_overrides_the_body() -> None:
    csr = {"spec": {"username": "forged", "groups": ["system:masters"], "request": "x"}}
    bootstrap.stamp_requester(csr, BOOT)
    assert csr["spec"] == {"request": "x", "username": BOOT.name, "groups": list(BOOT.groups)}
