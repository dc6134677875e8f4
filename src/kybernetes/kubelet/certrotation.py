"""Certificate rotation while the agent runs: the node's client and serving certificates renew themselves.

A joined node's certificates come from CSRs (``kubelet.bootstrap``) and last as long as the signer
says (one year by default; ``$KYB_CLUSTER_SIGNING_DURATION`` shortens it). As upstream's kubelet
certificate manager, each certificate is renewed at a jittered moment between 70 % and 90 % of its
validity (``rotation_deadline``), so that nodes joined together do not all ask at once and a
renewal has the last tenth of the lifetime to go wrong and be retried (``retry_delay``).

One rotation: a new key, a CSR for the same identity asked with the node's current credentials
(client: kubernetes.io/kube-apiserver-client-kubelet, CN=system:node:<name>, O=system:nodes;
serving: kubernetes.io/kubelet-serving with the node's name and address), the wait for approval
and signing, then the swap. Invariants of the swap:

1. the files are replaced by rename (a crash leaves the old or the new certificate, never half);
2. the client certificate reaches the API client (``APIClient.use_client_certificate``): new
   connections present it and the old ones are closed soon after, watches reconnect under it;
3. the serving certificate is loaded into the kubelet server's live TLS context, so every new
   connection from the API server gets it; connections already open keep the one they began with.

Only certificates the node got through CSRs rotate: a server-local node (admin credentials, serving
certificate made with the CA key) has nothing to ask for.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from cryptography import x509

from kybernetes.kubelet import bootstrap
from kybernetes.util import pki

if TYPE_CHECKING:
    from kybernetes.kubelet.agent import Kubelet

log = logging.getLogger(__name__)

ROTATE_FROM = 0.7  # of the validity span, the earliest rotation moment
ROTATE_SPREAD = 0.2  # ... plus up to this much more (jitter)
RETRY_FIRST = 2.0  # seconds after a failed rotation
RETRY_MAX = 60.0

Clock = Callable[[], datetime.datetime]


def rotation_deadline(
    not_before: datetime.datetime, not_after: datetime.datetime, *, jitter: float
) -> datetime.datetime:
    """When to rotate: notBefore + (70 % + jitter * 20 %) of the validity (jitter in [0, 1))."""
    return not_before + (not_after - not_before) * (ROTATE_FROM + ROTATE_SPREAD * jitter)


def seconds_until_rotation(cert_pem: bytes | None, *, now: datetime.datetime, jitter: float) -> float:
    """How long the certificate may still be used before rotating; 0 for none or an unreadable one."""
    if not cert_pem:
        return 0.0
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return 0.0
    deadline = rotation_deadline(cert.not_valid_before_utc, cert.not_valid_after_utc, jitter=jitter)
    return max(0.0, (deadline - now).total_seconds())


def retry_delay(failures: int) -> float:
    """Doubling waits after consecutive failures: 2 s, 4 s, ... at most a minute."""
    return float(min(RETRY_MAX, RETRY_FIRST * 2 ** max(0, failures - 1)))


def serial_of(cert_pem: bytes | None) -> int | None:
    try:
        return x509.load_pem_x509_certificate(cert_pem).serial_number if cert_pem else None
    except ValueError:
        return None


class Rotator:
    """One certificate's rotation loop: ``current`` reads it, ``renew`` gets a new (cert, key) pair,
    ``install`` puts the pair in place (invariants 1-3)."""

    def __init__(
        self,
        name: str,
        *,
        current: Callable[[], bytes | None],
        renew: Callable[[], Awaitable[tuple[bytes, bytes]]],
        install: Callable[[bytes, bytes], None],
        clock: Clock = lambda: datetime.datetime.now(datetime.UTC),
        jitter: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.current, self.renew, self.install = current, renew, install
        self.clock, self.jitter, self.sleep = clock, jitter, sleep
        self.rotations = 0
        self.failures = 0

    async def rotate_once(self) -> bool:
        """Wait for the deadline of the current certificate, then rotate it; False if that failed."""
        await self.sleep(seconds_until_rotation(self.current(), now=self.clock(), jitter=self.jitter()))
        try:
            cert_pem, key_pem = await self.renew()
            self.install(cert_pem, key_pem)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            self.failures += 1
            log.warning("rotating the %s certificate failed (%s); retrying", self.name, e)
            await self.sleep(retry_delay(self.failures))
            return False
        self.failures = 0
        self.rotations += 1
        log.info("rotated the %s certificate (serial %x)", self.name, serial_of(cert_pem) or 0)
        return True

    async def run(self) -> None:
        while True:
            await self.rotate_once()


# --- the agent's two certificates -----------------------------------------------------------------


def with_client_certificate(kubeconfig: dict[str, Any], cert_pem: bytes, key_pem: bytes) -> dict[str, Any]:
    """The kubeconfig with its (first) user's certificate and key replaced; the rest unchanged."""
    users = [dict(u) for u in kubeconfig.get("users") or []]
    if not users:
        raise ValueError("the kubeconfig has no user to give the certificate to")
    user = dict(users[0].get("user") or {})
    user["client-certificate-data"] = base64.b64encode(cert_pem).decode()
    user["client-key-data"] = base64.b64encode(key_pem).decode()
    user.pop("client-certificate", None)
    user.pop("client-key", None)
    users[0] = {**users[0], "user": user}
    return {**kubeconfig, "users": users}


def client_rotator(kubelet: Kubelet, kubeconfig: Path) -> Rotator:
    common_name = f"system:node:{kubelet.node_name}"

    async def renew() -> tuple[bytes, bytes]:
        key = pki.new_private_key()
        cert = await bootstrap.request_certificate(
            kubelet.client,
            key,
            signer=bootstrap.CLIENT_SIGNER,
            usages=("digital signature", "client auth"),
            common_name=common_name,
            organizations=("system:nodes",),
        )
        return cert, pki.key_to_pem(key)

    def install(cert_pem: bytes, key_pem: bytes) -> None:
        doc = yaml.safe_load(kubeconfig.read_text())
        pki.write_atomic(
            kubeconfig, yaml.safe_dump(with_client_certificate(doc, cert_pem, key_pem)).encode(), mode=0o600
        )
        kubelet.client.use_client_certificate(cert_pem, key_pem)

    return Rotator(
        "client",
        current=lambda: kubelet.client.config.client_cert_data,
        renew=renew,
        install=install,
    )


def serving_rotator(kubelet: Kubelet) -> Rotator:
    tls = kubelet.settings.data_dir / "tls"
    cert_path, key_path = tls / "kubelet.crt", tls / "kubelet.key"

    def current() -> bytes | None:
        try:
            return cert_path.read_bytes()
        except OSError:
            return None

    async def renew() -> tuple[bytes, bytes]:
        key = pki.new_private_key()
        cert = await bootstrap.request_certificate(
            kubelet.client,
            key,
            signer=bootstrap.SERVING_SIGNER,
            usages=("digital signature", "server auth"),
            common_name=f"system:node:{kubelet.node_name}",
            organizations=("system:nodes",),
            dns_names=[kubelet.node_name],
            ip_addresses=[kubelet.node_ip],
        )
        return cert, pki.key_to_pem(key)

    def install(cert_pem: bytes, key_pem: bytes) -> None:
        pki.write_atomic(key_path, key_pem, mode=0o600)
        pki.write_atomic(cert_path, cert_pem, mode=0o644)
        kubelet.server.ssl_context.load_cert_chain(str(cert_path), str(key_path))

    return Rotator("serving", current=current, renew=renew, install=install)


def start_cert_rotation(kubelet: Kubelet) -> list[asyncio.Task[None]]:
    """Rotation loops for the certificates this node got through CSRs (see the module docstring)."""
    tasks = []
    kubeconfig = kubelet.settings.data_dir / bootstrap.KUBECONFIG_NAME
    in_use = kubelet.client.config.client_cert_data
    if in_use is not None and bootstrap.kubeconfig_client_cert(kubeconfig) == in_use:
        tasks.append(
            asyncio.create_task(client_rotator(kubelet, kubeconfig).run(), name="kubelet-client-cert")
        )
    if kubelet.settings.ca_key is None and kubelet.server is not None:
        tasks.append(asyncio.create_task(serving_rotator(kubelet).run(), name="kubelet-serving-cert"))
    return tasks
