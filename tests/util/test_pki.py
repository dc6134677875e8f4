"""Cluster PKI: names a certificate covers, when it is reissued, what lands on disk."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import ssl
import stat
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kybernetes.util import pki

DNS = ["localhost", "kubernetes", "kubernetes.default"]
IPS = ["127.0.0.1", "10.43.0.1"]
URL = "https://127.0.0.1:6443"


@pytest.fixture(scope="module")
def ca() -> pki.CertificateAuthority:
    return pki.generate_ca()


def _cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def _serving(ca: pki.CertificateAuthority, dns: list[str], ips: list[str]) -> x509.Certificate:
    return _cert(pki.issue_serving_cert(ca, common_name="s", dns_names=dns, ip_addresses=ips)[0])


@pytest.mark.parametrize(
    ("dns", "ips", "want"),
    [
        pytest.param(DNS, IPS, [], id="all-covered"),
        pytest.param(["LocalHost"], [], [], id="dns-case-blind"),
        pytest.param(["kubernetes.default.svc"], [], ["kubernetes.default.svc"], id="new-dns-name"),
        pytest.param([], ["192.0.2.7"], ["192.0.2.7"], id="new-ip"),
        pytest.param([], ["::1"], ["::1"], id="new-ipv6"),
        pytest.param(["a", "localhost"], ["10.43.0.1", "10.0.0.1"], ["a", "10.0.0.1"], id="order-kept"),
    ],
)
def test_missing_sans(ca: pki.CertificateAuthority, dns: list[str], ips: list[str], want: list[str]) -> None:
    assert pki.missing_sans(_serving(ca, DNS, IPS), dns, ips) == want


def test_missing_sans_without_san_extension(ca: pki.CertificateAuthority) -> None:
    client = _cert(pki.issue_client_cert(ca, "u")[0])
    assert pki.missing_sans(client, ["x"], ["127.0.0.1"]) == ["x", "127.0.0.1"]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@pytest.mark.parametrize(
    ("case", "want_prefix"),
    [
        pytest.param("fresh", None, id="fresh-is-good"),
        pytest.param("other-ca", "not signed by the current CA", id="other-ca"),
        pytest.param("near-expiry", "expires ", id="near-expiry"),
        pytest.param("new-name", "does not cover 192.0.2.9", id="new-name"),
    ],
)
def test_renewal_reason(ca: pki.CertificateAuthority, case: str, want_prefix: str | None) -> None:
    cert = _serving(ca, DNS, IPS)
    now = _now()
    ips = list(IPS)
    if case == "other-ca":
        cert = _serving(pki.generate_ca(), DNS, IPS)
    elif case == "near-expiry":
        now = now + pki.LEAF_VALIDITY - datetime.timedelta(days=30)
    elif case == "new-name":
        ips.append("192.0.2.9")
    got = pki.renewal_reason(cert, ca.cert, now=now, dns_names=DNS, ip_addresses=ips)
    if want_prefix is None:
        assert got is None
    else:
        assert got is not None and got.startswith(want_prefix)


FIB_TRIE = """\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
Local:
           |-- 192.0.2.2
              /32 host LOCAL
           |-- 10.42.0.1
              /32 host LOCAL
"""

IF_INET6 = """\
fe8000000000000000fc00fffe000001 04 40 20 80     eth0
fd000000000000000000000000000002 04 40 00 82     eth0
00000000000000000000000000000001 01 80 10 80       lo
"""


@pytest.mark.parametrize(
    ("parse", "text", "want"),
    [
        pytest.param(
            pki.parse_fib_trie_local, FIB_TRIE, ["127.0.0.1", "192.0.2.2", "10.42.0.1"], id="fib-trie"
        ),
        pytest.param(pki.parse_fib_trie_local, "", [], id="fib-trie-empty"),
        pytest.param(pki.parse_if_inet6, IF_INET6, ["fd00::2"], id="if-inet6-global-only"),
        pytest.param(pki.parse_if_inet6, "garbage\n", [], id="if-inet6-garbage"),
    ],
)
def test_parse_host_addresses(parse: object, text: str, want: list[str]) -> None:
    assert callable(parse)
    assert parse(text) == want


def test_default_server_sans() -> None:
    dns, ips = pki.default_server_sans()
    assert dns == [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
    ]
    assert ips[:2] == ["127.0.0.1", "10.43.0.1"]
    assert len(set(ips)) == len(ips)
    for ip in ips[2:]:
        parsed = ipaddress.ip_address(ip)
        assert not parsed.is_loopback and not parsed.is_link_local


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ensure_pki_first_start(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    assert paths == pki.PKIPaths.under(tmp_path)
    assert paths.tls_dir == tmp_path / "tls"
    for key in (paths.ca_key, paths.server_key, paths.admin_key, paths.kubeconfig):
        assert _mode(key) == 0o600, key

    ca_cert = _cert(paths.ca_cert.read_bytes())
    assert ca_cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca_cert.not_valid_after_utc - ca_cert.not_valid_before_utc > datetime.timedelta(days=3649)
    assert isinstance(ca_cert.public_key(), ec.EllipticCurvePublicKey)

    server = _cert(paths.server_cert.read_bytes())
    assert pki.missing_sans(server, DNS, IPS) == []
    server.verify_directly_issued_by(ca_cert)
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]

    admin = _cert(paths.admin_cert.read_bytes())
    assert [a.value for a in admin.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == ["system:admin"]
    assert [a.value for a in admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == [
        "system:masters"
    ]
    admin.verify_directly_issued_by(ca_cert)

    cfg = yaml.safe_load(paths.kubeconfig.read_text())
    assert cfg["current-context"] == "default"
    assert cfg["contexts"] == [{"name": "default", "context": {"cluster": "kybernetes", "user": "admin"}}]
    cluster = cfg["clusters"][0]["cluster"]
    assert cluster["server"] == URL
    assert base64.b64decode(cluster["certificate-authority-data"]) == paths.ca_cert.read_bytes()
    user = cfg["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]) == paths.admin_cert.read_bytes()
    assert base64.b64decode(user["client-key-data"]) == paths.admin_key.read_bytes()


def _snapshot(paths: pki.PKIPaths) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (*paths.tls_dir.iterdir(), paths.kubeconfig)}


def test_ensure_pki_is_idempotent(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    before = _snapshot(paths)
    mtime = paths.kubeconfig.stat().st_mtime_ns
    pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    assert _snapshot(paths) == before
    assert paths.kubeconfig.stat().st_mtime_ns == mtime
    # A subset of the names is still covered: nothing changes either.
    pki.ensure_pki(tmp_path, server_sans_dns=DNS[:1], server_sans_ip=IPS[:1], server_url=URL)
    assert _snapshot(paths) == before


def test_ensure_pki_reissues_serving_cert_for_new_names(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    before = _snapshot(paths)
    pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=[*IPS, "192.0.2.50"], server_url=URL)
    after = _snapshot(paths)
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"server.crt", "server.key"}
    assert pki.missing_sans(_cert(after["server.crt"]), DNS, [*IPS, "192.0.2.50"]) == []


def test_ensure_pki_new_server_url_rewrites_only_kubeconfig(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    before = _snapshot(paths)
    pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url="https://127.0.0.1:7443")
    after = _snapshot(paths)
    assert {name for name in before if before[name] != after[name]} == {"kubeconfig"}
    assert yaml.safe_load(after["kubeconfig"])["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:7443"


def test_ensure_pki_lost_ca_key_reissues_everything(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    before = _snapshot(paths)
    paths.ca_key.unlink()
    pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    after = _snapshot(paths)
    # the service-account key does not depend on the CA: tokens already issued stay valid
    assert all(before[name] != after[name] for name in before if not name.startswith("sa."))
    assert before["sa.key"] == after["sa.key"]
    ca_cert = _cert(after["ca.crt"])
    _cert(after["server.crt"]).verify_directly_issued_by(ca_cert)
    _cert(after["client-admin.crt"]).verify_directly_issued_by(ca_cert)


def test_issue_client_cert(ca: pki.CertificateAuthority) -> None:
    cert_pem, key_pem = pki.issue_client_cert(ca, "system:node:n1", ["system:nodes", "extra"])
    cert = _cert(cert_pem)
    assert cert.subject.rfc4514_string() == "CN=system:node:n1,O=extra,O=system:nodes"
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH
    ]
    assert b"PRIVATE KEY" in key_pem


def test_server_ssl_context(tmp_path: Path) -> None:
    paths = pki.ensure_pki(tmp_path, server_sans_dns=DNS, server_sans_ip=IPS, server_url=URL)
    ctx = pki.server_ssl_context(paths)
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert len(ctx.get_ca_certs()) == 1
