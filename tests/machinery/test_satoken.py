"""Service-account JWTs: signing, verification and claim checks (pure), and the live checks."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from kybernetes.machinery import satoken
from kybernetes.machinery.satoken import Ref, TokenError

KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
NOW = 1_800_000_000
ISS = satoken.DEFAULT_ISSUER
SA = Ref("build-bot", "sa-uid")
POD = Ref("web-0", "pod-uid")
NODE = Ref("node-1", "node-uid")


def claims(**over: Any) -> dict[str, Any]:
    c = satoken.bound_claims(issuer=ISS, audiences=[ISS], namespace="ci", account=SA, now=NOW,
                             expiration_seconds=3600, pod=POD, node=NODE, jti="j-1")
    c.update(over)
    return c


def b64json(part: str) -> Any:
    return orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_bound_claims_have_upstreams_shape() -> None:
    c = claims()
    assert c == {"aud": [ISS], "exp": NOW + 3600, "iat": NOW, "nbf": NOW, "iss": ISS, "jti": "j-1",
                 "sub": "system:serviceaccount:ci:build-bot",
                 "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "build-bot", "uid": "sa-uid"},
                                   "pod": {"name": "web-0", "uid": "pod-uid"},
                                   "node": {"name": "node-1", "uid": "node-uid"}}}


def test_sign_then_verify_round_trips_and_header_names_es256() -> None:
    token = satoken.sign(claims(), KEY)
    assert satoken.looks_like_jwt(token)
    header = b64json(token.split(".")[0])
    assert header == {"alg": "ES256", "kid": satoken.key_id(KEY.public_key())}
    assert satoken.verify(token, KEY.public_key()) == claims()


def _tamper_payload(token: str) -> str:
    h, _, s = token.split(".")
    forged = base64.urlsafe_b64encode(orjson.dumps(claims(sub="system:serviceaccount:ci:admin"))).rstrip(b"=")
    return f"{h}.{forged.decode()}.{s}"


@pytest.mark.parametrize("make", [
    pytest.param(lambda: satoken.sign(claims(), OTHER_KEY), id="signed-by-another-key"),
    pytest.param(lambda: _tamper_payload(satoken.sign(claims(), KEY)), id="payload-changed"),
    pytest.param(lambda: "a.b", id="two-parts"),
    pytest.param(lambda: "eyJhbGciOiJub25lIn0.e30.", id="alg-none"),
    pytest.param(lambda: satoken.sign(claims(), KEY)[:-4], id="truncated-signature"),
])
def test_verify_rejects(make: Any) -> None:
    with pytest.raises(TokenError):
        satoken.verify(make(), KEY.public_key())


@pytest.mark.parametrize(("over", "now", "why"), [
    pytest.param({}, NOW + 3600 + 61, "expired", id="expired"),
    pytest.param({}, NOW - 61, "not valid yet", id="before-nbf"),
    pytest.param({"iss": "https://elsewhere"}, NOW, "issuer", id="foreign-issuer"),
    pytest.param({"aud": ["vault"]}, NOW, "audiences", id="other-audience"),
    pytest.param({"sub": "system:serviceaccount:ci:admin"}, NOW, "subject", id="subject-mismatch"),
    pytest.param({"kubernetes.io": {"namespace": "ci"}}, NOW, "no service account", id="no-account"),
    pytest.param({"exp": "soon"}, NOW, "lacks exp", id="exp-not-int"),
])
def test_check_claims_rejects(over: dict[str, Any], now: int, why: str) -> None:
    with pytest.raises(TokenError, match=why):
        satoken.check_claims(claims(**over), issuers=(ISS,), audiences=(ISS,), now=now)


def test_check_claims_within_leeway_and_string_audience() -> None:
    subject = satoken.check_claims(claims(aud=ISS), issuers=(ISS,), audiences=(ISS,), now=NOW + 3600 + 30)
    assert subject == satoken.Subject("ci", SA, pod=POD, node=NODE, jti="j-1")


def test_user_of_a_pod_bound_token() -> None:
    subject = satoken.check_claims(claims(), issuers=(ISS,), audiences=(ISS,), now=NOW)
    name, uid, groups, extra = satoken.user_for(subject)
    assert name == "system:serviceaccount:ci:build-bot" and uid == "sa-uid"
    assert groups == ("system:serviceaccounts", "system:serviceaccounts:ci")
    assert extra == {satoken.EXTRA_POD_NAME: ("web-0",), satoken.EXTRA_POD_UID: ("pod-uid",),
                     satoken.EXTRA_NODE_NAME: ("node-1",), satoken.EXTRA_NODE_UID: ("node-uid",),
                     satoken.EXTRA_CREDENTIAL_ID: ("JTI=j-1",)}


def test_legacy_claims_are_accepted_without_audience_or_expiry() -> None:
    c = satoken.legacy_claims(namespace="ci", account=SA, secret_name="build-bot-token")
    subject = satoken.check_claims(c, issuers=(ISS,), audiences=(ISS,), now=NOW)
    assert subject.legacy and subject.secret == Ref("build-bot-token", "") and subject.account == SA


class World:
    """The live objects a checker sees: (kind, namespace, name) → uid."""

    def __init__(self) -> None:
        self.objects = {("ServiceAccount", "ci", "build-bot"): "sa-uid", ("Pod", "ci", "web-0"): "pod-uid"}
        self.now = float(NOW)

    def lookup(self, kind: str, ns: str, name: str) -> str | None:
        return self.objects.get((kind, ns, name))


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def tokens(world: World) -> satoken.ServiceAccountTokens:
    return satoken.ServiceAccountTokens(KEY, world.lookup, clock=lambda: world.now)


def test_authenticate_live_token(tokens: satoken.ServiceAccountTokens) -> None:
    assert tokens.authenticate(tokens.issue(claims())).pod == POD


@pytest.mark.parametrize(("change", "why"), [
    pytest.param(lambda w: w.objects.pop(("Pod", "ci", "web-0")), "has been deleted", id="pod-deleted"),
    pytest.param(lambda w: w.objects.update({("Pod", "ci", "web-0"): "new-uid"}), "does not match",
                 id="pod-recreated"),
    pytest.param(lambda w: w.objects.pop(("ServiceAccount", "ci", "build-bot")), "has been deleted",
                 id="account-deleted"),
    pytest.param(lambda w: w.objects.update({("ServiceAccount", "ci", "build-bot"): "x"}), "does not match",
                 id="account-recreated"),
    pytest.param(lambda w: setattr(w, "now", w.now + 3600 + 120), "expired", id="clock-passed-expiry"),
])
def test_authenticate_stops_when(tokens: satoken.ServiceAccountTokens, world: World, change: Any, why: str) -> None:
    token = tokens.issue(claims())
    change(world)
    with pytest.raises(TokenError, match=why):
        tokens.authenticate(token)


def test_legacy_token_dies_with_its_secret(tokens: satoken.ServiceAccountTokens, world: World) -> None:
    token = tokens.issue(satoken.legacy_claims(namespace="ci", account=SA, secret_name="tok"))
    with pytest.raises(TokenError, match="secret"):
        tokens.authenticate(token)
    world.objects[("Secret", "ci", "tok")] = "s-uid"
    assert tokens.authenticate(token).legacy
