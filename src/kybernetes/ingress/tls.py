"""TLS for the HTTPS listener: which certificate a client's SNI name gets, and the SSL contexts.

Why: each Ingress may list `spec.tls[]` entries, hosts plus a `kubernetes.io/tls` Secret in the
Ingress's namespace. One listener serves them all, so the server name of the TLS handshake picks
the certificate (an `ssl.SSLContext` per Secret, swapped in from the SNI callback). Clients that
send no name, or a name no entry covers, get a self-signed certificate made at start-up, as other
controllers do. Choosing is pure (`tls_entries`, `secret_for`); `CertificateStore` holds contexts
keyed by Secret and resourceVersion, so a changed Secret takes effect on the next handshake.
"""

from __future__ import annotations

import datetime
import logging
import os
import ssl
import tempfile
from base64 import b64decode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kybernetes.ingress.routes import host_matches

log = logging.getLogger("kyb.ingress")

Obj = Mapping[str, Any]
DEFAULT_CERT_NAME = "Kybernetes Ingress Default Certificate"


@dataclass(frozen=True, slots=True)
class TLSEntry:
    host: str  # exact or *.suffix
    secret: str  # namespace/name


def tls_entries(handled: Iterable[Obj]) -> list[TLSEntry]:
    """(host, Secret) pairs of the handled Ingresses, oldest Ingress first. An entry without hosts
    covers the hosts of its Ingress's rules."""
    out: list[TLSEntry] = []
    for ing in handled:
        ns = str(ing["metadata"].get("namespace") or "default")
        spec = ing.get("spec") or {}
        rule_hosts = [str(r["host"]) for r in spec.get("rules") or [] if r.get("host")]
        for t in spec.get("tls") or []:
            if not t.get("secretName"):
                continue
            for host in t.get("hosts") or rule_hosts:
                out.append(TLSEntry(str(host).lower(), f"{ns}/{t['secretName']}"))
    return out


def secret_for(server_name: str, entries: Iterable[TLSEntry]) -> str | None:
    """The Secret for an SNI name: an exact host first, then a wildcard; None for the default."""
    entries = list(entries)
    name = server_name.lower()
    for e in entries:
        if e.host == name:
            return e.secret
    for e in entries:
        if e.host.startswith("*.") and host_matches(e.host, name):
            return e.secret
    return None


def key_pair(secret: Obj) -> tuple[bytes, bytes] | None:
    """The PEM certificate chain and key of a TLS Secret, or None when it has none."""
    data = secret.get("data") or {}
    try:
        cert, key = b64decode(data.get("tls.crt") or ""), b64decode(data.get("tls.key") or "")
    except ValueError:
        return None
    return (cert, key) if cert and key else None


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context for one certificate (ssl loads chains only from files)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="kyb-ingress-tls-") as d:
        cert_path, key_path = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        with open(cert_path, "wb") as f:
            f.write(cert_pem)
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


def self_signed(common_name: str = DEFAULT_CERT_NAME, hosts: Iterable[str] = ()) -> tuple[bytes, bytes]:
    """A fresh self-signed certificate and key (PEM), valid for a year."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=365))
    )
    sans = [x509.DNSName(h) for h in hosts]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


class CertificateStore:
    """SSL contexts for the Secrets in use and the SNI callback that picks among them."""

    def __init__(self) -> None:
        self.default = server_context(*self_signed())
        self.default.sni_callback = self._on_sni
        self._entries: list[TLSEntry] = []
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._loaded: dict[str, tuple[str, ssl.SSLContext | None]] = {}  # secret -> (resourceVersion, ctx)

    def update(self, entries: list[TLSEntry], secrets: Mapping[str, Obj]) -> None:
        """Take the current entries and Secrets (by namespace/name); load what changed."""
        contexts: dict[str, ssl.SSLContext] = {}
        loaded: dict[str, tuple[str, ssl.SSLContext | None]] = {}
        for key in {e.secret for e in entries}:
            secret = secrets.get(key)
            if secret is None:
                continue
            rv = str((secret.get("metadata") or {}).get("resourceVersion") or "")
            cached = self._loaded.get(key)
            if cached is not None and cached[0] == rv:
                ctx = cached[1]
            else:
                ctx = None
                pair = key_pair(secret)
                if pair is None:
                    log.warning("Secret %s has no tls.crt/tls.key; the default certificate is served", key)
                else:
                    try:
                        ctx = server_context(*pair)
                    except (ssl.SSLError, OSError) as e:
                        log.warning(
                            "Secret %s holds no usable certificate (%s); the default is served", key, e
                        )
            loaded[key] = (rv, ctx)
            if ctx is not None:
                contexts[key] = ctx
        self._entries, self._contexts, self._loaded = entries, contexts, loaded

    def context_for(self, server_name: str | None) -> ssl.SSLContext:
        key = secret_for(server_name, self._entries) if server_name else None
        return self._contexts.get(key, self.default) if key else self.default

    def _on_sni(self, sslobj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        ctx = self.context_for(server_name)
        if ctx is not self.default:
            sslobj.context = ctx
