"""The cluster's certificates: a CA, the apiserver's serving certificate, client certificates, kubeconfig.

Real clients decide whether they may talk to us from these files, so they must satisfy the strictest
verifier we meet: Go's crypto/x509 (kubectl, helm) insists on subjectAltNames and on the clientAuth /
serverAuth extended key usages; OpenSSL (the Python ``kubernetes`` client through urllib3, and our own
server when it checks client certificates) checks key usage and, in X509_STRICT mode, authority and
subject key identifiers. ECDSA P-256 keys are accepted by both and are cheap to generate.

Layout under ``data_dir``::

    tls/ca.crt  tls/ca.key                    cluster CA (10 years)
    tls/server.crt  tls/server.key            apiserver serving certificate (1 year)
    tls/client-admin.crt  tls/client-admin.key   CN=system:admin, O=system:masters (1 year)
    tls/sa.key  tls/sa.pub                    service-account token signing key pair (kept forever)
    kubeconfig                                admin kubeconfig with everything embedded

Assumptions: one process owns ``data_dir`` while it starts (no locking); the CA lives as long as the
data dir does, leaves are reissued when they are close to expiry, signed by another CA, or (serving
certificate only) no longer cover the names asked for. Keys and the kubeconfig are written mode 0600.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# the key types a CSR may carry (what Go's kubelet and ours generate)
CertificatePublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=365)
# Reissue leaves this long before they expire, so a cluster restarted now and then never lapses.
RENEW_BEFORE = datetime.timedelta(days=90)
# Backdate notBefore a little: a client whose clock runs behind ours must not see "not yet valid".
CLOCK_SKEW = datetime.timedelta(minutes=5)

ADMIN_USER = "system:admin"
ADMIN_GROUPS = ("system:masters",)
SERVICE_HOST_IP = "10.43.0.1"  # first address of the Service CIDR: the `kubernetes` Service
SERVICE_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True, slots=True)
class PKIPaths:
    tls_dir: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    admin_cert: Path
    admin_key: Path
    kubeconfig: Path

    @classmethod
    def under(cls, data_dir: Path) -> PKIPaths:
        tls = data_dir / "tls"
        return cls(
            tls_dir=tls,
            ca_cert=tls / "ca.crt",
            ca_key=tls / "ca.key",
            server_cert=tls / "server.crt",
            server_key=tls / "server.key",
            admin_cert=tls / "client-admin.crt",
            admin_key=tls / "client-admin.key",
            kubeconfig=data_dir / "kubeconfig",
        )


@dataclass(frozen=True, slots=True)
class CertificateAuthority:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"{key_path}: expected an ECDSA private key")
        return cls(cert, key)


# ---------------------------------------------------------------------------------------------
# Issuing (pure apart from randomness and the clock)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_to_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # "EC PRIVATE KEY" (SEC1) is what kubeadm and k3s write; Go, OpenSSL and cryptography all read it.
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attrs)


def generate_ca(common_name: str | None = None) -> CertificateAuthority:
    """A self-signed CA. The default name carries a timestamp so two clusters' CAs never share a name."""
    key = _new_key()
    now = _now()
    name = _name(common_name or f"kybernetes-ca@{int(now.timestamp())}")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(cert, key)


def _issue_leaf(
    ca: CertificateAuthority,
    subject: x509.Name,
    *,
    usage: x509.ObjectIdentifier,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    validity: datetime.timedelta = LEAF_VALIDITY,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _new_key()
    cert = _sign_leaf(ca, subject, key.public_key(), usage=usage, dns_names=dns_names, ip_addresses=ip_addresses,
                      validity=validity)
    return cert, key


def _sign_leaf(
    ca: CertificateAuthority,
    subject: x509.Name,
    public_key: CertificatePublicKey,
    *,
    usage: x509.ObjectIdentifier,
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    validity: datetime.timedelta = LEAF_VALIDITY,
    backdate: datetime.timedelta = CLOCK_SKEW,
) -> x509.Certificate:
    """A leaf certificate for `public_key` (ours or a CSR's), signed by the CA."""
    now = _now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca.cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - backdate)
        .not_valid_after(min(now + validity, ca.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def issue_serving_cert(
    ca: CertificateAuthority, *, common_name: str, dns_names: Sequence[str], ip_addresses: Sequence[str]
) -> tuple[bytes, bytes]:
    """A TLS server certificate for the given names; returns (cert_pem, key_pem)."""
    cert, key = _issue_leaf(
        ca,
        _name(common_name),
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        dns_names=dns_names,
        ip_addresses=ip_addresses,
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_to_pem(key)


def issue_client_cert(
    ca: CertificateAuthority, common_name: str, organizations: Sequence[str] = ()
) -> tuple[bytes, bytes]:
    """A TLS client certificate: CN becomes the user name, each O a group. Returns (cert_pem, key_pem)."""
    cert, key = _issue_leaf(ca, _name(common_name, organizations), usage=ExtendedKeyUsageOID.CLIENT_AUTH)
    return cert.public_bytes(serialization.Encoding.PEM), key_to_pem(key)


# ---------------------------------------------------------------------------------------------
# Deciding whether a stored certificate still serves (pure)


def missing_sans(cert: x509.Certificate, dns_names: Iterable[str], ip_addresses: Iterable[str]) -> list[str]:
    """The requested names the certificate does not cover, in request order (DNS compared case-blind)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        have_dns: set[str] = set()
        have_ips: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    else:
        have_dns = {d.lower() for d in san.get_values_for_type(x509.DNSName)}
        have_ips = {
            ip
            for ip in san.get_values_for_type(x509.IPAddress)
            if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address)
        }
    missing = [d for d in dns_names if d.lower() not in have_dns]
    missing += [ip for ip in ip_addresses if ipaddress.ip_address(ip) not in have_ips]
    return missing


def renewal_reason(
    cert: x509.Certificate,
    ca_cert: x509.Certificate,
    *,
    now: datetime.datetime,
    dns_names: Iterable[str] = (),
    ip_addresses: Iterable[str] = (),
) -> str | None:
    """Why ``cert`` must be reissued, or None if it is still good."""
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "not signed by the current CA"
    if cert.not_valid_after_utc - now < RENEW_BEFORE:
        return f"expires {cert.not_valid_after_utc.isoformat()}"
    missing = missing_sans(cert, dns_names, ip_addresses)
    if missing:
        return "does not cover " + ", ".join(missing)
    return None


# ---------------------------------------------------------------------------------------------
# Server names


def parse_fib_trie_local(text: str) -> list[str]:
    """IPv4 addresses assigned to this host, from /proc/net/fib_trie: each `|-- A` followed by `/32 host LOCAL`."""
    found: list[str] = []
    last = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|--"):
            last = stripped[3:].strip()
        elif stripped.startswith("/32 host LOCAL") and last and last not in found:
            found.append(last)
    return found


def parse_if_inet6(text: str) -> list[str]:
    """Global-scope IPv6 addresses from /proc/net/if_inet6 (fields: address, index, prefix, scope, flags, name)."""
    found: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or len(fields[0]) != 32 or int(fields[3], 16) != 0:
            continue
        addr = str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
        if addr not in found:
            found.append(addr)
    return found


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def host_ips() -> list[str]:
    """This machine's interface addresses, minus loopback and link-local ones."""
    candidates = parse_fib_trie_local(_read("/proc/net/fib_trie")) + parse_if_inet6(
        _read("/proc/net/if_inet6")
    )
    out: list[str] = []
    for text in candidates:
        ip = ipaddress.ip_address(text)
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or text in out:
            continue
        out.append(text)
    return out


def default_server_sans() -> tuple[list[str], list[str]]:
    """(dns_names, ip_addresses) for the apiserver certificate: loopback, the Service names and IP, host IPs."""
    ips = ["127.0.0.1", SERVICE_HOST_IP]
    ips += [ip for ip in host_ips() if ip not in ips]
    return list(SERVICE_DNS_NAMES), ips


# ---------------------------------------------------------------------------------------------
# Files


def write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Write via a temp file and rename, so a crash never leaves half a key behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_if_changed(path: Path, data: bytes, *, mode: int) -> None:
    try:
        if path.read_bytes() == data:
            os.chmod(path, mode)
            return
    except OSError:
        pass
    write_atomic(path, data, mode=mode)


def kubeconfig_dict(
    *,
    server: str,
    ca_pem: bytes,
    cert_pem: bytes,
    key_pem: bytes,
    user: str = "admin",
    cluster: str = "kybernetes",
    context: str = "default",
) -> dict[str, object]:
    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {"name": cluster, "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)}}
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)},
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user}}],
        "current-context": context,
    }


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_pem: bytes,
    cert_pem: bytes,
    key_pem: bytes,
    user: str = "admin",
    cluster: str = "kybernetes",
    context: str = "default",
) -> None:
    """Write a self-contained kubeconfig (mode 0600: it holds a private key); untouched if unchanged."""
    doc = kubeconfig_dict(
        server=server,
        ca_pem=ca_pem,
        cert_pem=cert_pem,
        key_pem=key_pem,
        user=user,
        cluster=cluster,
        context=context,
    )
    _write_if_changed(path, yaml.safe_dump(doc, sort_keys=False).encode(), mode=0o600)


def _load_cert(path: Path) -> x509.Certificate | None:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def _leaf_ok(cert_path: Path, key_path: Path, ca: CertificateAuthority, **names: Iterable[str]) -> bool:
    cert = _load_cert(cert_path)
    if cert is None or not key_path.exists():
        return False
    return renewal_reason(cert, ca.cert, now=_now(), **names) is None


def ensure_pki(
    data_dir: Path, *, server_sans_dns: list[str], server_sans_ip: list[str], server_url: str
) -> PKIPaths:
    """Create (first start) or reuse (later starts) the CA, serving and admin certificates and kubeconfig.

    The CA is kept whenever both its files load; a missing or broken CA means a new one, and with it
    new leaves. The serving certificate is reissued when it no longer covers the requested names.
    """
    paths = PKIPaths.under(data_dir)
    paths.tls_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.tls_dir, 0o700)

    try:
        ca = CertificateAuthority.load(paths.ca_cert, paths.ca_key)
    except (OSError, ValueError):
        ca = generate_ca()
        write_atomic(paths.ca_key, key_to_pem(ca.key), mode=0o600)
        write_atomic(paths.ca_cert, ca.cert_pem, mode=0o644)

    ensure_service_account_key(paths.tls_dir)

    if not _leaf_ok(
        paths.server_cert, paths.server_key, ca, dns_names=server_sans_dns, ip_addresses=server_sans_ip
    ):
        cert_pem, key_pem = issue_serving_cert(
            ca, common_name="kube-apiserver", dns_names=server_sans_dns, ip_addresses=server_sans_ip
        )
        write_atomic(paths.server_key, key_pem, mode=0o600)
        write_atomic(paths.server_cert, cert_pem, mode=0o644)

    if not _leaf_ok(paths.admin_cert, paths.admin_key, ca):
        cert_pem, key_pem = issue_client_cert(ca, ADMIN_USER, ADMIN_GROUPS)
        write_atomic(paths.admin_key, key_pem, mode=0o600)
        write_atomic(paths.admin_cert, cert_pem, mode=0o644)

    write_kubeconfig(
        paths.kubeconfig,
        server=server_url,
        ca_pem=paths.ca_cert.read_bytes(),
        cert_pem=paths.admin_cert.read_bytes(),
        key_pem=paths.admin_key.read_bytes(),
    )
    return paths


def ensure_service_account_key(tls_dir: Path) -> Path:
    """tls/sa.key (and its public half tls/sa.pub), made once: every service-account token the
    cluster ever issued is checked against it, so it is never rotated here."""
    key_path, pub_path = tls_dir / "sa.key", tls_dir / "sa.pub"
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError):
        key = _new_key()
        write_atomic(key_path, key_to_pem(key), mode=0o600)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{key_path}: the service-account key must be an EC P-256 key")
    pub = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    _write_if_changed(pub_path, pub, mode=0o644)
    return key_path


# ---------------------------------------------------------------------------------------------
# TLS


def server_ssl_context(paths: PKIPaths) -> ssl.SSLContext:
    """TLS for the apiserver: our serving certificate; client certificates optional but verified.

    CERT_OPTIONAL lets a client without a certificate (a bearer-token user, or nobody) finish the
    handshake and be answered 401 by the server; a certificate that does not chain to our CA (or
    lacks clientAuth usage) fails the handshake. ALPN offers only http/1.1, since aiohttp speaks no
    HTTP/2 and Go clients would otherwise pick h2.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(paths.server_cert, paths.server_key)
    ctx.load_verify_locations(cafile=paths.ca_cert)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# ---------------------------------------------------------------------------------------------
# Certificate signing requests (node bootstrap: the node keeps its key, the cluster signs)


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return _new_key()


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an ECDSA private key")
    return key


def build_csr(key: ec.EllipticCurvePrivateKey, common_name: str, organizations: Sequence[str] = (), *,
              dns_names: Sequence[str] = (), ip_addresses: Sequence[str] = ()) -> bytes:
    """A PEM ``CERTIFICATE REQUEST`` for `key` with the given subject and subjectAltNames."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name, organizations))
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns_names]
    sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class RequestedNames:
    """What a CSR asks to be called: the subject and subjectAltNames, as plain strings."""

    common_name: str
    organizations: tuple[str, ...]
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    emails: tuple[str, ...]
    uris: tuple[str, ...]


def parse_csr(pem: bytes) -> x509.CertificateSigningRequest:
    """The one CSR in `pem`, its self-signature checked; ValueError otherwise."""
    if b"-----BEGIN CERTIFICATE REQUEST-----" not in pem:
        raise ValueError("PEM block type must be CERTIFICATE REQUEST")
    csr = x509.load_pem_x509_csr(pem)
    if not csr.is_signature_valid:
        raise ValueError("the CSR's signature does not verify")
    return csr


def requested_names(csr: x509.CertificateSigningRequest) -> RequestedNames:
    def attrs(oid: x509.ObjectIdentifier) -> tuple[str, ...]:
        return tuple(str(a.value) for a in csr.subject.get_attributes_for_oid(oid))

    try:
        san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = x509.SubjectAlternativeName([])
    cns = attrs(NameOID.COMMON_NAME)
    return RequestedNames(
        common_name=cns[0] if cns else "",
        organizations=attrs(NameOID.ORGANIZATION_NAME),
        dns_names=tuple(san.get_values_for_type(x509.DNSName)),
        ip_addresses=tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress)),
        emails=tuple(san.get_values_for_type(x509.RFC822Name)),
        uris=tuple(san.get_values_for_type(x509.UniformResourceIdentifier)),
    )


def sign_csr(ca: CertificateAuthority, csr: x509.CertificateSigningRequest, *, server: bool,
             validity: datetime.timedelta = LEAF_VALIDITY, backdate: datetime.timedelta = CLOCK_SKEW) -> bytes:
    """A PEM certificate for the CSR's key and names: serverAuth when `server`, else clientAuth."""
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError(f"unsupported public key type {type(public_key).__name__}")
    names = requested_names(csr)
    cert = _sign_leaf(ca, csr.subject, public_key,
                      usage=ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH,
                      dns_names=names.dns_names, ip_addresses=names.ip_addresses, validity=validity,
                      backdate=backdate)
    return cert.public_bytes(serialization.Encoding.PEM)


def ca_cert_hash(cert: x509.Certificate) -> str:
    """kubeadm's CA pin: ``sha256:<hex>`` of the CA certificate's DER SubjectPublicKeyInfo."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return "sha256:" + digest.finalize().hex()
