"""Choosing a certificate by SNI name, and loading Secrets into SSL contexts."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kybernetes.ingress.tls import CertificateStore, TLSEntry, key_pair, secret_for, self_signed, tls_entries

from .objects import ingress, rule


def with_tls(ing: dict[str, Any], *entries: dict[str, Any]) -> dict[str, Any]:
    ing["spec"]["tls"] = list(entries)
    return ing


INGRESSES = [
    with_tls(
        ingress(
            "a",
            rules=[rule("a.com", ("/", "Prefix", "s")), rule("b.com", ("/", "Prefix", "s"))],
            namespace="one",
        ),
        {"hosts": ["A.com"], "secretName": "a-cert"},
        {"secretName": "rules-cert"},
        {"hosts": ["x.com"]},
    ),
    with_tls(ingress("w", namespace="two"), {"hosts": ["*.wild.com", "a.com"], "secretName": "wild"}),
]


def test_tls_entries_in_order_and_hostless_entries_cover_rule_hosts() -> None:
    assert tls_entries(INGRESSES) == [
        TLSEntry("a.com", "one/a-cert"),
        TLSEntry("a.com", "one/rules-cert"),
        TLSEntry("b.com", "one/rules-cert"),
        TLSEntry("*.wild.com", "two/wild"),
        TLSEntry("a.com", "two/wild"),
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("a.com", "one/a-cert", id="exact-first-entry-wins"),
        pytest.param("B.COM", "one/rules-cert", id="case-insensitive"),
        pytest.param("x.wild.com", "two/wild", id="wildcard"),
        pytest.param("y.x.wild.com", None, id="wildcard-one-label"),
        pytest.param("c.com", None, id="unknown"),
    ],
)
def test_secret_for(name: str, expected: str | None) -> None:
    assert secret_for(name, tls_entries(INGRESSES)) == expected


def secret(cert: bytes, key: bytes, rv: str = "1") -> dict[str, Any]:
    return {
        "metadata": {"resourceVersion": rv},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
    }


def test_store_loads_changes_and_falls_back_to_default() -> None:
    store = CertificateStore()
    entries = [TLSEntry("a.com", "ns/a"), TLSEntry("b.com", "ns/broken"), TLSEntry("c.com", "ns/missing")]
    good = secret(*self_signed("a.com"))
    store.update(
        entries, {"ns/a": good, "ns/broken": {"metadata": {}, "data": {"tls.crt": "bm90IGEgY2VydA=="}}}
    )
    first = store.context_for("a.com")
    assert first is not store.default
    assert store.context_for("b.com") is store.default  # no key in the Secret
    assert store.context_for("c.com") is store.default  # no such Secret
    assert store.context_for(None) is store.default
    store.update(entries, {"ns/a": good})
    assert store.context_for("a.com") is first  # same resourceVersion: not reloaded
    store.update(entries, {"ns/a": secret(*self_signed("a.com"), rv="2")})
    assert store.context_for("a.com") is not first
    garbage = secret(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", b"junk", rv="3")
    store.update(entries, {"ns/a": garbage})
    assert store.context_for("a.com") is store.default  # unusable certificate: default, no crash


def test_key_pair_needs_both_halves() -> None:
    assert key_pair({"data": {"tls.crt": "YQ=="}}) is None
    assert key_pair({"data": {"tls.crt": "YQ==", "tls.key": "Yg=="}}) == (b"a", b"b")
    assert key_pair({"data": {"tls.crt": "!!", "tls.key": "Yg=="}}) is None
