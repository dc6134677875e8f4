"""Joining a cluster with a bootstrap token: the node's own client and serving certificates via CSRs.

`kyb agent --server URL --token T` starts with nothing but the token. ``ensure_kubelet_kubeconfig``:

1. reuses DATA/kubelet.kubeconfig when its client certificate is this node's
   (CN=system:node:<name>) and valid for at least another hour;
2. otherwise makes a key, posts a CertificateSigningRequest for signer
   kubernetes.io/kube-apiserver-client-kubelet (O=system:nodes, CN=system:node:<name>) as
   system:bootstrap:<id>, waits for status.certificate, and writes the kubeconfig (server, CA,
   certificate, key). From then on the token is not used again.

The CA is the --ca-file, or is discovered with the token (kubeadm's token-based discovery,
``discover_cluster_ca``): kube-public/cluster-info is read without credentials and without verifying
the server, its kubeconfig is believed only when the ConfigMap carries a ``jws-kubeconfig-<id>``
signature that this token's secret reproduces (``machinery.clusterinfo``; the bootstrap signer
controller writes them), then its CA must match --ca-cert-hash (kubeadm's
``sha256:<hex of the SubjectPublicKeyInfo>``) when one is given, and finally cluster-info is read
again over TLS verified with that CA and must say the same. The token itself is sent only once
the server is verified.

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
from typing import Any

import aiohttp
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from kybernetes.client.config import ClientConfig
from kybernetes.client.errors import APIError
from kybernetes.client.rest import APIClient, resource
from kybernetes.machinery import bootstraptoken, clusterinfo
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
    return (
        cns == [common_name]
        and cert.not_valid_before_utc <= now
        and cert.not_valid_after_utc - now >= MIN_REMAINING
    )


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


async def request_certificate(
    client: APIClient,
    key: ec.EllipticCurvePrivateKey,
    *,
    signer: str,
    usages: Sequence[str],
    common_name: str,
    organizations: Sequence[str],
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    timeout: float = 300.0,
    poll: float = 0.5,
) -> bytes:
    """Post a CSR for `key` and wait for its certificate (PEM). BootstrapError when refused or late."""
    pem = pki.build_csr(key, common_name, organizations, dns_names=dns_names, ip_addresses=ip_addresses)
    body = {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"generateName": "csr-"},
        "spec": {"request": base64.b64encode(pem).decode(), "signerName": signer, "usages": list(usages)},
    }
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


DISCOVERY_TIMEOUT = 60.0


async def _read_cluster_info(server: str, ca_pem: bytes | None) -> dict[str, Any]:
    """cluster-info as system:anonymous: over unverified TLS when `ca_pem` is None."""
    cfg = (
        ClientConfig(server=server, ca_data=ca_pem)
        if ca_pem is not None
        else ClientConfig(server=server, insecure_skip_tls_verify=True)
    )
    async with APIClient(cfg, user_agent="kyb-agent-bootstrap/0.1") as client:
        return await client.get(CONFIGMAPS, clusterinfo.NAME, namespace=clusterinfo.NAMESPACE)


def trusted_ca(cm: dict[str, Any], token: bootstraptoken.Token, ca_cert_hash: str) -> tuple[bytes, str]:
    """(CA PEM, kubeconfig text) of a cluster-info ConfigMap signed by `token` whose CA has the pin
    (when one is given). Pure; raises DiscoveryError saying why it cannot be trusted."""
    content = clusterinfo.verified_kubeconfig(cm, token)
    ca_pem = clusterinfo.published_ca(content)
    if ca_pem is None:
        raise clusterinfo.DiscoveryError(
            f"expected the kubeconfig file in the {clusterinfo.NAME} configmap to have a single cluster with a CA"
        )
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
    except ValueError as e:
        raise clusterinfo.DiscoveryError(
            f"failed to parse cluster CA from the {clusterinfo.NAME} ConfigMap: {e}"
        ) from None
    if ca_cert_hash and pki.ca_cert_hash(ca) != ca_cert_hash.lower():
        raise clusterinfo.DiscoveryError(
            f"cluster CA found in {clusterinfo.NAME} ConfigMap is invalid: the server's CA does not match "
            f"--ca-cert-hash {ca_cert_hash} (it is {pki.ca_cert_hash(ca)})"
        )
    return ca_pem, content


def _retryable(error: Exception) -> bool:
    """Worth asking again: the server is not reachable yet, or has not signed for a new token yet."""
    if isinstance(error, clusterinfo.DiscoveryError):
        return "is invalid for this cluster" in str(error)
    return isinstance(error, APIError | aiohttp.ClientError | OSError | TimeoutError)


async def discover_cluster_ca(
    server: str, token: str, ca_cert_hash: str = "", *, timeout: float = DISCOVERY_TIMEOUT, poll: float = 1.0
) -> bytes:
    """The cluster CA (PEM) by token-based discovery (see the module docstring). BootstrapError when
    cluster-info cannot be trusted; transient failures are retried for `timeout` seconds."""
    parsed = bootstraptoken.parse_token(token)
    if parsed is None:
        raise BootstrapError("the token does not have the form [a-z0-9]{6}.[a-z0-9]{16}")
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            ca_pem, content = trusted_ca(await _read_cluster_info(server, None), parsed, ca_cert_hash)
            again = await _read_cluster_info(server, ca_pem)
            if (again.get("data") or {}).get(clusterinfo.KUBECONFIG_KEY) != content:
                raise clusterinfo.DiscoveryError(
                    f"the {clusterinfo.NAME} ConfigMap read over verified TLS differs from the signed one"
                )
            break
        except Exception as e:
            if not _retryable(e) or asyncio.get_running_loop().time() > deadline:
                raise BootstrapError(f"discovery failed: {e}") from None
            log.info("cluster-info discovery not done yet (%s); retrying", e)
            await asyncio.sleep(poll)
    if not ca_cert_hash:
        log.warning(
            "cluster-info signature and contents are valid and no CA pinning was given (--ca-cert-hash): "
            "trusting the CA of %s because the token signed it",
            server,
        )
    return ca_pem


async def fetch_pinned_ca(server: str, token: str, ca_cert_hash: str) -> bytes:
    """The cluster CA discovered with the token and checked against the pin (discover_cluster_ca)."""
    return await discover_cluster_ca(server, token, ca_cert_hash)


async def ensure_kubelet_kubeconfig(
    data_dir: Path,
    *,
    server: str,
    token: str,
    node_name: str,
    ca_file: Path | None = None,
    ca_cert_hash: str = "",
    timeout: float = 300.0,
) -> Path:
    """DATA/kubelet.kubeconfig with this node's own client certificate (see the module docstring)."""
    path = data_dir / KUBECONFIG_NAME
    common_name = f"system:node:{node_name}"
    existing = kubeconfig_client_cert(path)
    if existing is not None and cert_is_usable(
        existing, common_name=common_name, now=datetime.datetime.now(datetime.UTC)
    ):
        return path
    if not server or not token:
        raise BootstrapError(f"{path} is missing or expired: --server and --token are needed to join")
    if ca_file is not None:
        ca_pem = ca_file.read_bytes()
    else:
        ca_pem = await discover_cluster_ca(server, token, ca_cert_hash)
    key = pki.new_private_key()
    cfg = ClientConfig(server=server, ca_data=ca_pem, token=token)
    async with APIClient(cfg, user_agent="kyb-agent-bootstrap/0.1") as client:
        cert_pem = await request_certificate(
            client,
            key,
            signer=CLIENT_SIGNER,
            usages=("digital signature", "client auth"),
            common_name=common_name,
            organizations=("system:nodes",),
            timeout=timeout,
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "ca.crt").write_bytes(ca_pem)
    pki.write_kubeconfig(
        path, server=server, ca_pem=ca_pem, cert_pem=cert_pem, key_pem=pki.key_to_pem(key), user=common_name
    )
    log.info("joined as %s; credentials in %s", common_name, path)
    return path
