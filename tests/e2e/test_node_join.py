"""Node join over the API: bootstrap tokens, CertificateSigningRequests, the bootstrappers' limits.

`kyb server` (API only) driven by `kyb token` and real kubectl: a token authenticates as
system:bootstrap:<id>, may create and read CSRs but nothing else (403), a kubelet client CSR it
creates is approved and signed automatically, and the certificate logs in as system:node:<name>.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from kybernetes.testing.cluster import KybServer
from kybernetes.util import pki

pytestmark = [pytest.mark.e2e]
PORT = 18601


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    data = Path("/tmp/kyb-m1/api")
    subprocess.run(["rm", "-rf", str(data)], check=True)
    server = KybServer(data, port=PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def kyb_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kybernetes.cli.main", *args], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ))


def create_token(kyb: KybServer, *extra: str) -> tuple[str, str]:
    out = kyb_cli("token", "create", "--data-dir", str(kyb.data_dir), *extra)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    return lines[0], lines[1]


def token_kubectl(kyb: KybServer, token: str, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return kyb.kubectl("--kubeconfig", "/dev/null", "--server", kyb.url, "--token", token,
                       "--certificate-authority", str(kyb.data_dir / "tls" / "ca.crt"), *args, input=input,
                       check=False)


def csr_manifest(name: str, signer: str, usages: list[str], cn: str, orgs: tuple[str, ...] = ("system:nodes",),
                 **names: list[str]) -> str:
    key = pki.new_private_key()
    pem = pki.build_csr(key, cn, orgs, dns_names=names.get("dns", []), ip_addresses=names.get("ips", []))
    return json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                       "metadata": {"name": name},
                       "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": usages,
                                "username": "forged", "groups": ["system:masters"]}})


def wait_for(check, timeout: float = 20.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_token_create_list_delete(kyb: KybServer) -> None:
    token, join = create_token(kyb, "--ttl", "2h")
    token_id = token.split(".")[0]
    ca = x509.load_pem_x509_certificate((kyb.data_dir / "tls" / "ca.crt").read_bytes())
    assert join == f"kyb agent --server {kyb.url} --token {token} --ca-cert-hash {pki.ca_cert_hash(ca)}"
    secret = json.loads(kyb.kubectl("get", "secret", "-n", "kube-system", f"bootstrap-token-{token_id}",
                                    "-o", "json").stdout)
    assert secret["type"] == "bootstrap.kubernetes.io/token"
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data["token-id"] == token_id and data["token-secret"] == token.split(".")[1]
    assert data["usage-bootstrap-authentication"] == "true" and data["usage-bootstrap-signing"] == "true"
    assert data["auth-extra-groups"] == "system:bootstrappers:kybernetes:default-node-token"
    assert data["expiration"].endswith("Z")
    listed = kyb_cli("token", "list", "--data-dir", str(kyb.data_dir))
    assert listed.returncode == 0 and token in listed.stdout and "authentication,signing" in listed.stdout
    deleted = kyb_cli("token", "delete", "--data-dir", str(kyb.data_dir), token_id)
    assert deleted.returncode == 0, deleted.stderr
    assert kyb.kubectl("get", "secret", "-n", "kube-system", f"bootstrap-token-{token_id}",
                       check=False).returncode != 0
    # a deleted token no longer authenticates
    assert "Unauthorized" in token_kubectl(kyb, token, "get", "csr").stderr


def test_expired_token_is_refused_and_cleaned(kyb: KybServer) -> None:
    token, _ = create_token(kyb, "--ttl", "2s")
    assert token_kubectl(kyb, token, "get", "csr").returncode == 0
    token_id = token.split(".")[0]
    wait_for(lambda: kyb.kubectl("get", "secret", "-n", "kube-system", f"bootstrap-token-{token_id}",
                                 check=False).returncode != 0, what="the token cleaner")
    assert "Unauthorized" in token_kubectl(kyb, token, "get", "csr").stderr


def test_bootstrapper_may_only_use_csrs(kyb: KybServer) -> None:
    token, _ = create_token(kyb)
    token_id = token.split(".")[0]
    who = json.loads(token_kubectl(kyb, token, "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == f"system:bootstrap:{token_id}"
    assert set(who["status"]["userInfo"]["groups"]) == {
        "system:bootstrappers", "system:bootstrappers:kybernetes:default-node-token", "system:authenticated"}
    pods = token_kubectl(kyb, token, "get", "pods")
    assert pods.returncode != 0
    assert (f'pods is forbidden: User "system:bootstrap:{token_id}" cannot list resource "pods" in API group "" '
            'in the namespace "default"') in pods.stderr
    nodes = token_kubectl(kyb, token, "get", "nodes")
    assert "at the cluster scope" in nodes.stderr
    assert token_kubectl(kyb, token, "get", "csr").returncode == 0


def test_kubelet_client_csr_is_approved_signed_and_logs_in(kyb: KybServer) -> None:
    token, _ = create_token(kyb)
    key = pki.new_private_key()
    pem = pki.build_csr(key, "system:node:joiner", ("system:nodes",))
    manifest = json.dumps({"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
                           "metadata": {"name": "node-csr-joiner"},
                           "spec": {"request": base64.b64encode(pem).decode(),
                                    "signerName": "kubernetes.io/kube-apiserver-client-kubelet",
                                    "usages": ["digital signature", "client auth"],
                                    "username": "forged", "groups": ["system:masters"]}})
    created = token_kubectl(kyb, token, "create", "-f", "-", input=manifest)
    assert created.returncode == 0, created.stderr

    def issued() -> bool:
        out = kyb.kubectl("get", "csr", "node-csr-joiner", "-o", "json").stdout
        return bool(json.loads(out).get("status", {}).get("certificate"))

    wait_for(issued, what="the CSR signed")
    csr = json.loads(kyb.kubectl("get", "csr", "node-csr-joiner", "-o", "json").stdout)
    assert csr["spec"]["username"] == f"system:bootstrap:{token.split('.')[0]}"
    assert "system:masters" not in csr["spec"]["groups"]
    approved = [c for c in csr["status"]["conditions"] if c["type"] == "Approved"]
    assert approved and approved[0]["reason"] == "AutoApproved"
    table = kyb.kubectl("get", "csr", "node-csr-joiner").stdout
    assert "kubernetes.io/kube-apiserver-client-kubelet" in table and "Approved,Issued" in table
    cert_pem = base64.b64decode(csr["status"]["certificate"])
    kubeconfig = kyb.data_dir / "joiner.kubeconfig"
    pki.write_kubeconfig(kubeconfig, server=kyb.url, ca_pem=(kyb.data_dir / "tls" / "ca.crt").read_bytes(),
                         cert_pem=cert_pem, key_pem=pki.key_to_pem(key), user="joiner")
    who = json.loads(kyb.kubectl("--kubeconfig", str(kubeconfig), "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == "system:node:joiner"
    assert "system:nodes" in who["status"]["userInfo"]["groups"]


def test_foreign_csrs_stay_pending(kyb: KybServer) -> None:
    token, _ = create_token(kyb)
    # a bootstrapper asking for a serving certificate, and for someone else's name: never approved
    serving = csr_manifest("serving-by-bootstrapper", "kubernetes.io/kubelet-serving",
                           ["digital signature", "server auth"], "system:node:joiner", ips=["10.1.2.3"])
    admin = csr_manifest("admin-by-bootstrapper", "kubernetes.io/kube-apiserver-client-kubelet",
                         ["digital signature", "client auth"], "system:admin", ("system:masters",))
    for m in (serving, admin):
        out = token_kubectl(kyb, token, "create", "-f", "-", input=m)
        assert out.returncode == 0, out.stderr
    time.sleep(2)
    table = kyb.kubectl("get", "csr").stdout
    for name in ("serving-by-bootstrapper", "admin-by-bootstrapper"):
        line = next(ln for ln in table.splitlines() if ln.startswith(name))
        assert line.rstrip().endswith("Pending"), line
    # an administrator approves with kubectl; the signer refuses a subject that is not a node's
    kyb.kubectl("certificate", "approve", "admin-by-bootstrapper")
    wait_for(lambda: "Failed" in kyb.kubectl("get", "csr", "admin-by-bootstrapper").stdout, what="Failed")
    csr = json.loads(kyb.kubectl("get", "csr", "admin-by-bootstrapper", "-o", "json").stdout)
    assert "certificate" not in csr["status"]
    failed = [c for c in csr["status"]["conditions"] if c["type"] == "Failed"]
    assert failed[0]["reason"] == "SignerValidationFailure"


def test_invalid_csr_is_rejected(kyb: KybServer) -> None:
    bad = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "bad"},
           "spec": {"request": base64.b64encode(b"not a csr").decode(), "signerName": "example.com/x",
                    "usages": ["client auth"]}}
    out = kyb.kubectl("create", "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode != 0 and "spec.request" in out.stderr
    assert yaml.safe_load(kyb.kubectl("api-resources", "--api-group=certificates.k8s.io", "-o", "name").stdout)


def test_ca_fetched_and_pinned_by_hash(kyb: KybServer) -> None:
    import asyncio

    from kybernetes.kubelet.bootstrap import BootstrapError, ensure_kubelet_kubeconfig, fetch_pinned_ca

    token, join = create_token(kyb)
    pin = join.split("--ca-cert-hash ")[1]
    ca_pem = (kyb.data_dir / "tls" / "ca.crt").read_bytes()
    wait_for(lambda: kyb.kubectl("get", "cm", "-n", "kube-public", "kube-root-ca.crt", check=False).returncode == 0,
             what="kube-public/kube-root-ca.crt")
    assert asyncio.run(fetch_pinned_ca(kyb.url, token, pin)) == ca_pem
    with pytest.raises(BootstrapError, match="does not match"):
        asyncio.run(fetch_pinned_ca(kyb.url, token, "sha256:" + "0" * 64))
    node_dir = kyb.data_dir / "pinned-node"
    path = asyncio.run(ensure_kubelet_kubeconfig(node_dir, server=kyb.url, token=token, node_name="pinned",
                                                 ca_cert_hash=pin, timeout=30))
    who = json.loads(kyb.kubectl("--kubeconfig", str(path), "auth", "whoami", "-o", "json").stdout)
    assert who["status"]["userInfo"]["username"] == "system:node:pinned"
    # a second start reuses the kubeconfig: no token, no new CSR
    assert asyncio.run(ensure_kubelet_kubeconfig(node_dir, server="", token="", node_name="pinned")) == path
