"""Joining a cluster with a bootstrap token: the node's own client and serving certificates via CSRs.

`kyb agent --server URL --token T` starts with nothing but the token. ``ensure_kubelet_kubeconfig``:

1. reuses DATA/kubelet.kubeconfig when its client certificate is this node's
   (CN=system:node:<name>) and valid for at least another hour;
2. otherwise makes a key, posts a CertificateSigningRequest for signer
   kubernetes.io/kube-apiserver-client-kubelet (O=system:nodes, CN=system:node:<name>) as
   system:bootstrap:<id>, waits for status.certificate, and writes the kubeconfig (server, CA,
   certificate, key). From then on the token is not used again.

The CA is the --ca-file, or is read from the server (ConfigMap kube-public/kube-root-ca.crt, fetched
without verifying the server) and accepted only when its public key matches --ca-cert-hash (kubeadm's
``sha256:<hex of the SubjectPublicKeyInfo>``). Note: that one unverified request carries the token.

``request_certificate`` is shared with the kubelet's serving certificate (signer
kubernetes.io/kubelet-serving), which the node asks for with its own identity.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
from collections.abc import Sequence
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from kybernetes.client.config import ClientConfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.util import pki

log = logging.getLogger(__name__)

CSRS = resource("certificates.k8s.io/v1", "certificatesigningrequests", namespaced=False)
CONFIGMAPS = resource("v1", "configmaps", namespaced=True)
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
SERVING_SIGNER = "kubernetes.io/kubelet-serving"
KUBECONFIG_NAME = "kubelet.kubeconfig"
MIN_REMAINING = datetime.timedelta(hours=1)


class BootstrapError(Exception):
    pass


def cert_is_usable(cert_pem: bytes, *, common_name: str, now: datetime.datetime) -> bool:
    """A certificate that names `common_name` and stays valid for at least MIN_REMAINING."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return False
    cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    return cns == [common_name] and cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now >= MIN_REMAINING


def kubeconfig_client_cert(path: Path) -> bytes | None:
    try:
        doc = yaml.safe_load(path.read_text())
        return base64.b64decode(doc["users"][0]["user"]["client-certificate-data"])
    except (OSError, KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
        return None


def csr_outcome(csr: dict[str, object]) -> bytes | str | None:
    """The issued certificate (PEM), a refusal ("Denied: ..."), or None while pending."""
    status = csr.get("status")
    status = status if isinstance(status, dict) else {}
    for c in status.get("conditions") or []:
        if c.get("type") in ("Denied", "Failed") and c.get("status", "True") == "True":
            return f"{c['type']}: {c.get('reason', '')} {c.get('message', '')}".strip()
    cert = status.get("certificate")
    return base64.b64decode(str(cert)) if cert else None


async def request_certificate(client: APIClient, key: ec.EllipticCurvePrivateKey, *, signer: str,
                              usages: Sequence[str], common_name: str, organizations: Sequence[str],
                              dns_names: Sequence[str] = (), ip_addresses: Sequence[str] = (),
                              timeout: float = 300.0, poll: float = 0.5) -> bytes:
    """Post a CSR for `key` and wait for its certificate (PEM). BootstrapError when refused or late."""
    pem = pki.build_csr(key, common_name, organizations, dns_names=dns_names, ip_addresses=ip_addresses)
    body = {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest",
            "metadata": {"generateName": "csr-"},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages)}}
    created = await client.create(CSRS, body)
    name = created["metadata"]["name"]
    log.info("requested a certificate (%s) as CSR %s", signer, name)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = csr_outcome(await client.get(CSRS, name))
        if isinstance(outcome, bytes):
            return outcome
        if isinstance(outcome, str):
            raise BootstrapError(f"certificate signing request {name} was refused: {outcome}")
        if asyncio.get_running_loop().time() > deadline:
            raise BootstrapError(f"certificate signing request {name} was not approved within {timeout:.0f}s")
        await asyncio.sleep(poll)


async def fetch_pinned_ca(server: str, token: str, ca_cert_hash: str) -> bytes:
    """The cluster CA read from the server without verifying it, accepted only if it matches the pin."""
    cfg = ClientConfig(server=server, token=token, insecure_skip_tls_verify=True)
    async with APIClient(cfg, user_agent="kyb-agent-bootstrap/0.1") as client:
        cm = await client.get(CONFIGMAPS, "kube-root-ca.crt", namespace="kube-public")
    ca_pem = str((cm.get("data") or {}).get("ca.crt") or "").encode()
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise BootstrapError(f"the server's CA bundle is unreadable: {e}") from None
    if pki.ca_cert_hash(ca) != ca_cert_hash.lower():
        raise BootstrapError(f"the server's CA does not match --ca-cert-hash {ca_cert_hash} "
                             f"(it is {pki.ca_cert_hash(ca)})")
    return ca_pem


async def ensure_kubelet_kubeconfig(data_dir: Path, *, server: str, token: str, node_name: str,
                                    ca_file: Path | None = None, ca_cert_hash: str = "",
                                    timeout: float = 300.0) -> Path:
    """DATA/kubelet.kubeconfig with this node's own client certificate (see the module docstring)."""
    path = data_dir / KUBECONFIG_NAME
    common_name = f"system:node:{node_name}"
    existing = kubeconfig_client_cert(path)
    if existing is not None and cert_is_usable(existing, common_name=common_name,
                                               now=datetime.datetime.now(datetime.UTC)):
        return path
    if not server or not token:
        raise BootstrapError(f"{path} is missing or expired: --server and --token are needed to join")
    if ca_file is not None:
        ca_pem = ca_file.read_bytes()
    elif ca_cert_hash:
        ca_pem = await fetch_pinned_ca(server, token, ca_cert_hash)
    else:
        raise BootstrapError("joining needs the cluster CA: --ca-file or --ca-cert-hash")
    key = pki.new_private_key()
    cfg = ClientConfig(server=server, ca_data=ca_pem, token=token)
    async with APIClient(cfg, user_agent="kyb-agent-bootstrap/0.1") as client:
        cert_pem = await request_certificate(client, key, signer=CLIENT_SIGNER,
                                             usages=("digital signature", "client auth"),
                                             common_name=common_name, organizations=("system:nodes",),
                                             timeout=timeout)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "ca.crt").write_bytes(ca_pem)
    pki.write_kubeconfig(path, server=server, ca_pem=ca_pem, cert_pem=cert_pem, key_pem=pki.key_to_pem(key),
                         user=common_name)
    log.info("joined as %s; credentials in %s", common_name, path)
    return path
