"""Token-based discovery: the detached JWS, the bootstrap signer's decisions, the joining side's checks,
and the cluster-info the API server publishes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kybernetes.apiserver.clusterinfo import desired_configmap
from kybernetes.controllers.bootstrapsigner import next_expiry
from kybernetes.kubelet.bootstrap import trusted_ca
from kybernetes.machinery import bootstraptoken as bt
from kybernetes.machinery import clusterinfo as ci
from kybernetes.util import pki

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOKEN = bt.Token("abcdef", "0123456789abcdef")
OTHER = bt.Token("zyxwvu", "fedcba9876543210")
CA = pki.generate_ca()
CA_PEM = CA.cert_pem
KUBECONFIG = ci.cluster_kubeconfig("https://10.0.0.1:6443", CA_PEM)


def secret(token: bt.Token = TOKEN, **overrides: Any) -> dict[str, Any]:
    s = bt.token_secret(token, now=NOW, ttl=timedelta(hours=1))
    data = bt.secret_data(s)
    for k, v in overrides.items():
        key = k.replace("_", "-")
        if v is None:
            data.pop(key, None)
        else:
            data[key] = v
    s["data"] = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return s


def signed(content: str = KUBECONFIG, *tokens: bt.Token) -> dict[str, Any]:
    data = {ci.KUBECONFIG_KEY: content}
    for t in tokens or (TOKEN,):
        data[ci.SIGNATURE_PREFIX + t.id] = ci.detached_signature(content, t.id, t.secret)
    return {"metadata": {"name": ci.NAME, "namespace": ci.NAMESPACE}, "data": data}


# --- the JWS ----------------------------------------------------------------------------------------


def test_signature_has_the_detached_compact_form() -> None:
    sig = ci.detached_signature("some content", "abcdef", "0123456789abcdef")
    header, payload, mac = sig.split(".")
    assert payload == ""
    assert base64.urlsafe_b64decode(header + "==") == b'{"alg":"HS256","kid":"abcdef"}'
    assert len(base64.urlsafe_b64decode(mac + "=")) == 32 and "=" not in sig


def test_signature_matches_a_known_value() -> None:
    # a fixed vector (this implementation was checked against the upstream algorithm's published
    # vectors: HS256, secret zero-padded to 32 bytes, header {"alg":"HS256","kid":id})
    assert ci.detached_signature("kybernetes cluster-info", "kyb001", "s3cr3t") == (
        "eyJhbGciOiJIUzI1NiIsImtpZCI6Imt5YjAwMSJ9..criN0olZ6PqeHuBtX6jAknuyb6Ei5dsBLbj-Oee1a0g"
    )
    assert ci.detached_signature("", "x", "") != ci.detached_signature("", "y", "")


@pytest.mark.parametrize(
    ("signature_of", "content", "token", "valid"),
    [
        pytest.param(("c", TOKEN), "c", TOKEN, True, id="same-content-same-token"),
        pytest.param(("c", TOKEN), "c tampered", TOKEN, False, id="tampered-payload"),
        pytest.param(("c", TOKEN), "c", bt.Token(TOKEN.id, "0000000000000000"), False, id="wrong-secret"),
        pytest.param(("c", TOKEN), "c", bt.Token("aaaaaa", TOKEN.secret), False, id="wrong-token-id"),
        pytest.param(("c", OTHER), "c", TOKEN, False, id="another-tokens-signature"),
        pytest.param(("", TOKEN), "", TOKEN, True, id="empty-content"),
    ],
)
def test_signature_verification(
    signature_of: tuple[str, bt.Token], content: str, token: bt.Token, valid: bool
) -> None:
    text, signer = signature_of
    sig = ci.detached_signature(text, signer.id, signer.secret)
    assert ci.signature_is_valid(sig, content, token.id, token.secret) is valid


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda s: s + "x", id="appended"),
        pytest.param(lambda s: s.replace("..", ".e30."), id="attached-payload"),
        pytest.param(lambda s: "", id="empty"),
        pytest.param(lambda s: s.split("..")[0] + "..", id="no-mac"),
    ],
)
def test_mangled_signatures_are_refused(mangle: Any) -> None:
    sig = ci.detached_signature("c", TOKEN.id, TOKEN.secret)
    assert not ci.signature_is_valid(mangle(sig), "c", TOKEN.id, TOKEN.secret)


# --- the signer's decisions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("s", "signs"),
    [
        pytest.param(secret(), True, id="default-token"),
        pytest.param(secret(usage_bootstrap_signing=None), False, id="no-signing-usage"),
        pytest.param(secret(usage_bootstrap_signing="false"), False, id="signing-false"),
        pytest.param(secret(expiration="2026-05-01T11:00:00Z"), False, id="expired"),
        pytest.param(secret(expiration="garbage"), False, id="unreadable-expiration"),
        pytest.param(secret(expiration=None), True, id="never-expires"),
        pytest.param(secret(token_id="qqqqqq"), False, id="id-not-the-names"),
        pytest.param(secret(token_secret=None), False, id="no-secret"),
        pytest.param({**secret(), "type": "Opaque"}, False, id="wrong-type"),
    ],
)
def test_which_tokens_sign(s: dict[str, Any], signs: bool) -> None:
    assert (ci.signing_token(s, NOW) is not None) is signs


def test_signer_adds_signatures_for_each_signing_token() -> None:
    data = ci.signed_data({ci.KUBECONFIG_KEY: KUBECONFIG}, [secret(), secret(OTHER)], NOW)
    assert data == signed(KUBECONFIG, TOKEN, OTHER)["data"]


def test_signer_leaves_a_correctly_signed_map_alone() -> None:
    assert ci.signed_data(signed()["data"], [secret()], NOW) is None


def test_signer_drops_signatures_of_gone_or_expired_tokens() -> None:
    data = ci.signed_data(signed(KUBECONFIG, TOKEN, OTHER)["data"], [secret()], NOW + timedelta(minutes=1))
    assert data == signed(KUBECONFIG, TOKEN)["data"]
    expired = ci.signed_data(signed()["data"], [secret()], NOW + timedelta(hours=2))
    assert expired == {ci.KUBECONFIG_KEY: KUBECONFIG}


def test_signer_resigns_an_edited_kubeconfig_and_keeps_other_keys() -> None:
    stale = {**signed()["data"], ci.KUBECONFIG_KEY: KUBECONFIG + "# edited\n", "note": "kept"}
    data = ci.signed_data(stale, [secret()], NOW)
    assert data is not None and data["note"] == "kept"
    assert data[ci.SIGNATURE_PREFIX + TOKEN.id] == ci.detached_signature(
        KUBECONFIG + "# edited\n", TOKEN.id, TOKEN.secret
    )


def test_signer_needs_a_kubeconfig() -> None:
    assert ci.signed_data({"other": "x"}, [secret()], NOW) is None


def test_signer_looks_again_when_the_first_signing_token_expires() -> None:
    assert next_expiry([secret(), secret(usage_bootstrap_signing=None)], NOW) == 3600.0
    assert next_expiry([secret(expiration=None)], NOW) is None


# --- the joining side ---------------------------------------------------------------------------------


def test_trusted_ca_with_and_without_a_pin() -> None:
    pin = pki.ca_cert_hash(CA.cert)
    assert trusted_ca(signed(), TOKEN, pin) == (CA_PEM, KUBECONFIG)
    assert trusted_ca(signed(), TOKEN, pin.upper().replace("SHA256", "sha256"))[0] == CA_PEM
    assert trusted_ca(signed(), TOKEN, "")[0] == CA_PEM


@pytest.mark.parametrize(
    ("cm", "token", "pin", "message"),
    [
        pytest.param(
            {
                **signed(),
                "data": {
                    **signed()["data"],
                    ci.KUBECONFIG_KEY: ci.cluster_kubeconfig("https://evil:6443", pki.generate_ca().cert_pem),
                },
            },
            TOKEN,
            "",
            "failed to verify JWS signature",
            id="tampered-kubeconfig-old-signature",
        ),
        pytest.param(
            signed(),
            bt.Token(TOKEN.id, "0000000000000000"),
            "",
            "failed to verify JWS signature",
            id="wrong-token-secret",
        ),
        pytest.param(
            signed(KUBECONFIG, OTHER),
            TOKEN,
            "",
            "token id 'abcdef' is invalid for this cluster",
            id="missing-signature",
        ),
        pytest.param({"data": {}}, TOKEN, "", "there is no kubeconfig key", id="no-kubeconfig"),
        pytest.param({}, TOKEN, "", "there is no kubeconfig key", id="no-data"),
        pytest.param(signed(), TOKEN, "sha256:" + "0" * 64, "does not match --ca-cert-hash", id="wrong-pin"),
        pytest.param(signed("clusters: []\n"), TOKEN, "", "single cluster", id="no-cluster"),
    ],
)
def test_untrusted_cluster_info_is_refused(
    cm: dict[str, Any], token: bt.Token, pin: str, message: str
) -> None:
    with pytest.raises(ci.DiscoveryError, match=message):
        trusted_ca(cm, token, pin)


# --- what the API server publishes -------------------------------------------------------------------


def test_published_kubeconfig_round_trips() -> None:
    assert ci.published_ca(KUBECONFIG) == CA_PEM
    assert ci.published_server(KUBECONFIG) == "https://10.0.0.1:6443"
    assert ci.published_ca("not: [yaml") is None


def test_publisher_creates_keeps_and_corrects() -> None:
    created = desired_configmap(None, server="https://10.0.0.1:6443", ca_pem=CA_PEM)
    assert created == ci.configmap(KUBECONFIG)
    # the same CA (an administrator may have edited the server address): left alone
    edited = signed(ci.cluster_kubeconfig("https://lb.example:6443", CA_PEM))
    assert desired_configmap(edited, server="https://10.0.0.1:6443", ca_pem=CA_PEM) is None
    # another CA: the kubeconfig is replaced and the stale signatures go
    new_ca = pki.generate_ca().cert_pem
    fixed = desired_configmap(signed(), server="https://10.0.0.1:6443", ca_pem=new_ca)
    assert fixed is not None and fixed["data"] == {
        ci.KUBECONFIG_KEY: ci.cluster_kubeconfig("https://10.0.0.1:6443", new_ca)
    }
    assert fixed["metadata"] == signed()["metadata"]


def test_token_usages() -> None:
    assert bt.parse_usages("signing,authentication") == ("signing", "authentication")
    data = bt.secret_data(bt.token_secret(TOKEN, now=NOW, usages=("authentication",)))
    assert data.get("usage-bootstrap-authentication") == "true" and "usage-bootstrap-signing" not in data
    with pytest.raises(ValueError, match="invalid bootstrap token usage string: bogus"):
        bt.parse_usages("signing,bogus")
