from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography import x509

from kybernetes.controllers.certificates.approver import decide
from kybernetes.controllers.certificates.signer import plan
from kybernetes.util import pki

CLIENT = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING = "kubernetes.io/kubelet-serving"
BOOT = ("system:bootstrap:abcdef", ["system:bootstrappers", "system:authenticated"])
SELF = ("system:node:n1", ["system:nodes", "system:authenticated"])
OTHER = ("system:node:n2", ["system:nodes", "system:authenticated"])
NODES = {"n1": {"metadata": {"name": "n1"}, "status": {"addresses": [
    {"type": "InternalIP", "address": "10.0.0.5"}, {"type": "Hostname", "address": "n1.local"}]}}}
KEY = pki.new_private_key()


def csr(signer: str, requester: tuple[str, list[str]], *, cn: str = "system:node:n1",
        orgs: tuple[str, ...] = ("system:nodes",), usages: tuple[str, ...] = ("digital signature", "client auth"),
        dns: tuple[str, ...] = (), ips: tuple[str, ...] = (), conditions: tuple[str, ...] = ()) -> dict[str, Any]:
    pem = pki.build_csr(KEY, cn, orgs, dns_names=dns, ip_addresses=ips)
    return {"metadata": {"name": "c", "resourceVersion": "1"},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages),
                     "username": requester[0], "groups": requester[1]},
            "status": {"conditions": [{"type": t, "status": "True"} for t in conditions]}}


SRV = ("digital signature", "server auth")
CASES = [
    ("client-from-bootstrapper", csr(CLIENT, BOOT), True),
    ("client-renewal-by-node", csr(CLIENT, SELF), True),
    ("client-for-another-node", csr(CLIENT, OTHER), False),
    ("client-not-a-node-name", csr(CLIENT, BOOT, cn="admin"), False),
    ("client-extra-org", csr(CLIENT, BOOT, orgs=("system:nodes", "system:masters")), False),
    ("client-with-sans", csr(CLIENT, BOOT, ips=("1.2.3.4",)), False),
    ("client-server-usage", csr(CLIENT, BOOT, usages=("digital signature", "client auth", "server auth")), False),
    ("already-approved", csr(CLIENT, BOOT, conditions=("Approved",)), False),
    ("denied", csr(CLIENT, BOOT, conditions=("Denied",)), False),
    ("other-signer", csr("example.com/x", BOOT), False),
    ("serving-own-names", csr(SERVING, SELF, usages=SRV, dns=("n1", "n1.local"), ips=("10.0.0.5",)), True),
    ("serving-foreign-ip", csr(SERVING, SELF, usages=SRV, dns=("n1",), ips=("10.0.0.9",)), False),
    ("serving-by-bootstrapper", csr(SERVING, BOOT, usages=SRV, ips=("10.0.0.5",)), False),
    ("serving-unknown-node", csr(SERVING, OTHER, cn="system:node:n2", usages=SRV, ips=("10.0.0.5",)), False),
    ("serving-no-sans", csr(SERVING, SELF, usages=SRV), False),
]


@pytest.mark.parametrize(("obj", "approve"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_approver(obj: dict[str, Any], approve: bool) -> None:
    assert decide(obj, NODES).approve == approve


def test_serving_request_waits_for_its_node() -> None:
    d = decide(csr(SERVING, OTHER, cn="system:node:n2", usages=SRV, ips=("10.0.0.5",)), NODES)
    assert d.wait_for_node == "n2"


@pytest.mark.parametrize(("obj", "action", "server"), [
    (csr(CLIENT, BOOT), "skip", False),
    (csr(CLIENT, BOOT, conditions=("Approved",)), "sign", False),
    (csr(SERVING, SELF, usages=SRV, ips=("10.0.0.5",), conditions=("Approved",)), "sign", True),
    (csr(CLIENT, BOOT, cn="system:admin", orgs=("system:masters",), conditions=("Approved",)), "fail", False),
    (csr(CLIENT, BOOT, conditions=("Approved", "Failed")), "skip", False),
    (csr("example.com/x", BOOT, conditions=("Approved",)), "skip", False),
], ids=["pending", "approved-client", "approved-serving", "approved-admin", "failed", "other-signer"])
def test_signer_plan(obj: dict[str, Any], action: str, server: bool) -> None:
    p = plan(obj)
    assert p.action == action
    if action == "sign":
        assert p.server == server


def test_sign_csr_keeps_key_and_names() -> None:
    ca = pki.generate_ca()
    request = pki.parse_csr(pki.build_csr(KEY, "system:node:n1", ("system:nodes",), ip_addresses=["10.0.0.5"]))
    cert = x509.load_pem_x509_certificate(pki.sign_csr(ca, request, server=True))
    assert cert.public_key() == KEY.public_key()
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=system:nodes"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert pki.ca_cert_hash(ca.cert).startswith("sha256:") and len(pki.ca_cert_hash(ca.cert)) == 71
