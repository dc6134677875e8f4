"""Service-account tokens with the real kubectl: `create token`, then act as the account."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e
PORT = 18700


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-satoken")), port=PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def token_kubeconfig(kyb: KybServer, token: str, name: str) -> Path:
    """A kubeconfig with only the token: no client certificate that would win over it."""
    path = kyb.data_dir / f"{name}.kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "c", "cluster": {"server": kyb.url,
                                               "certificate-authority": str(kyb.data_dir / "tls" / "ca.crt")}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "u"}}]}))
    return path


def wait_default_account(kyb: KybServer) -> None:
    deadline = time.monotonic() + 20
    while kyb.kubectl("get", "sa", "default", check=False).returncode != 0:
        assert time.monotonic() < deadline, "no default service account"
        time.sleep(0.2)


def test_create_token_then_use_it(kyb: KybServer) -> None:
    wait_default_account(kyb)
    token = kyb.kubectl("create", "token", "default").stdout.strip()
    assert token.startswith("eyJ")
    cfg = str(token_kubeconfig(kyb, token, "default"))
    # authorization is on (RBAC): the account may read pods once bound to a role that allows it
    kyb.kubectl("create", "rolebinding", "default-view", "--clusterrole=view", "--serviceaccount=default:default")
    got = kyb.kubectl("get", "pods", env={"KUBECONFIG": cfg}, check=False)
    assert got.returncode == 0, got.stderr
    who = kyb.kubectl("auth", "whoami", "-o", "json", env={"KUBECONFIG": cfg})
    info = json.loads(who.stdout)["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:default:default"
    assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]
    # the same token on the command line (`--token`), with no kubeconfig user at all
    plain = token_kubeconfig(kyb, "", "plain")
    table = kyb.kubectl("auth", "whoami", "--token", token, env={"KUBECONFIG": str(plain)})
    assert "system:serviceaccount:default:default" in table.stdout


def test_token_options_and_bad_tokens(kyb: KybServer) -> None:
    wait_default_account(kyb)
    kyb.kubectl("create", "serviceaccount", "robot")
    token = kyb.kubectl("create", "token", "robot", "--duration", "15m", "--audience", "https://kubernetes.default.svc.cluster.local",
                        "--audience", "vault").stdout.strip()
    cfg = str(token_kubeconfig(kyb, token, "robot"))
    who = json.loads(kyb.kubectl("auth", "whoami", "-o", "json", env={"KUBECONFIG": cfg}).stdout)
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:robot"
    short = kyb.kubectl("create", "token", "robot", "--duration", "1m", check=False)
    assert short.returncode != 0 and "may not specify a duration less than 10 minutes" in short.stderr
    vault_only = kyb.kubectl("create", "token", "robot", "--audience", "vault").stdout.strip()
    denied = kyb.kubectl("get", "pods", env={"KUBECONFIG": str(token_kubeconfig(kyb, vault_only, "v"))}, check=False)
    assert denied.returncode != 0 and "Unauthorized" in denied.stderr
    kyb.kubectl("delete", "serviceaccount", "robot")
    gone = kyb.kubectl("get", "pods", env={"KUBECONFIG": cfg}, check=False)
    assert gone.returncode != 0 and "Unauthorized" in gone.stderr


def test_discovery_lists_the_authentication_group(kyb: KybServer) -> None:
    out = kyb.kubectl("api-resources", "--api-group=authentication.k8s.io", "-o", "wide").stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(rows) == {"selfsubjectreviews", "tokenreviews"}
    assert rows["selfsubjectreviews"][1:5] == ["authentication.k8s.io/v1", "false", "SelfSubjectReview", "create"]
    assert "authentication.k8s.io/v1" in kyb.kubectl("api-versions").stdout.split()


def test_legacy_token_secret(kyb: KybServer) -> None:
    import base64

    kyb.kubectl("create", "serviceaccount", "legacy")
    kyb.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "legacy-token", "annotations": {"kubernetes.io/service-account.name": "legacy"}}}))
    deadline = time.monotonic() + 20
    while True:
        secret = json.loads(kyb.kubectl("get", "secret", "legacy-token", "-o", "json").stdout)
        if (secret.get("data") or {}).get("token"):
            break
        assert time.monotonic() < deadline, secret
        time.sleep(0.2)
    assert set(secret["data"]) == {"token", "ca.crt", "namespace"}
    assert base64.b64decode(secret["data"]["namespace"]) == b"default"
    token = base64.b64decode(secret["data"]["token"]).decode()
    cfg = str(token_kubeconfig(kyb, token, "legacy"))
    who = json.loads(kyb.kubectl("auth", "whoami", "-o", "json", env={"KUBECONFIG": cfg}).stdout)
    assert who["status"]["userInfo"]["username"] == "system:serviceaccount:default:legacy"
    kyb.kubectl("delete", "secret", "legacy-token")
    gone = kyb.kubectl("get", "pods", env={"KUBECONFIG": cfg}, check=False)
    assert gone.returncode != 0 and "Unauthorized" in gone.stderr
    # deleting the account deletes its token secrets
    kyb.kubectl("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {"name": "legacy-token2", "annotations": {"kubernetes.io/service-account.name": "legacy"}}}))
    kyb.kubectl("delete", "serviceaccount", "legacy")
    deadline = time.monotonic() + 20
    while kyb.kubectl("get", "secret", "legacy-token2", check=False).returncode == 0:
        assert time.monotonic() < deadline, "orphaned token secret kept"
        time.sleep(0.2)
