"""Service-account tokens: JWTs the API server signs and later accepts as bearer tokens.

A pod talks to the API server as its service account by presenting a token the server itself
issued (TokenRequest, `kubectl create token`, the kubelet's projected `token` file). Tokens are
compact JWS (RFC 7515) signed ES256 with the cluster's service-account key (tls/sa.key); the
server verifies them with the public half, so nothing per token is stored.

Claims (upstream's shape, so other tools read them): ``iss``, ``sub`` =
``system:serviceaccount:<ns>:<name>``, ``aud``, ``exp``/``iat``/``nbf``, ``jti``, and the private
``kubernetes.io`` claim with the namespace, the account {name, uid} and, when the token is bound,
the pod or secret {name, uid} (plus the pod's node {name, uid}). Legacy secret tokens (issuer
``kubernetes/serviceaccount``) carry flat ``kubernetes.io/serviceaccount/...`` claims instead.

Pure functions decide (``bound_claims``, ``check_claims``, ``user_for``); ``ServiceAccountTokens``
holds the key and asks a lookup whether the account and the bound object still exist — a token
bound to a deleted pod stops working at once, because every check reads the live watch cache.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LEGACY_ISSUER = "kubernetes/serviceaccount"
USER_PREFIX = "system:serviceaccount:"
ALL_GROUP = "system:serviceaccounts"
MIN_EXPIRATION = 600  # ten minutes
MAX_EXPIRATION = 1 << 32
DEFAULT_EXPIRATION = 3600

# UserInfo.extra keys upstream sets for bound tokens (`kubectl auth whoami` prints them).
EXTRA_POD_NAME = "authentication.kubernetes.io/pod-name"
EXTRA_POD_UID = "authentication.kubernetes.io/pod-uid"
EXTRA_NODE_NAME = "authentication.kubernetes.io/node-name"
EXTRA_NODE_UID = "authentication.kubernetes.io/node-uid"
EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"

Obj = dict[str, Any]


class TokenError(Exception):
    """The token is not one of ours, or no longer valid; the message says why (for logs)."""


# --- JWS (ES256) ---------------------------------------------------------------------------------

def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as e:
        raise TokenError("malformed base64 in token") from e


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """A stable id for the key (the header's ``kid``): hash of its DER SubjectPublicKeyInfo."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return _b64(digest.finalize())


def sign(claims: Mapping[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    """A compact JWS of `claims`, ES256 (the signature is r‖s, 32 bytes each, as RFC 7518 says)."""
    header = {"alg": "ES256", "kid": key_id(key.public_key())}
    signing_input = f"{_b64(orjson.dumps(header))}.{_b64(orjson.dumps(dict(claims)))}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def verify(token: str, public_key: ec.EllipticCurvePublicKey) -> Obj:
    """The claims of a JWS signed by `public_key`; TokenError if it is not."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("not a compact JWS")
    try:
        header = orjson.loads(_unb64(parts[0]))
    except orjson.JSONDecodeError as e:
        raise TokenError("malformed token header") from e
    if not isinstance(header, dict) or header.get("alg") != "ES256":
        raise TokenError("unsupported signing algorithm")
    sig = _unb64(parts[2])
    if len(sig) != 64:
        raise TokenError("malformed signature")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        public_key.verify(der, f"{parts[0]}.{parts[1]}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as e:
        raise TokenError("invalid signature") from e
    try:
        claims = orjson.loads(_unb64(parts[1]))
    except orjson.JSONDecodeError as e:
        raise TokenError("malformed token claims") from e
    if not isinstance(claims, dict):
        raise TokenError("malformed token claims")
    return claims


# --- claims --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Ref:
    """A named object with its UID (account, pod, secret, node)."""

    name: str
    uid: str


def bound_claims(*, issuer: str, audiences: list[str], namespace: str, account: Ref, now: int,
                 expiration_seconds: int, pod: Ref | None = None, secret: Ref | None = None,
                 node: Ref | None = None, jti: str = "") -> Obj:
    """The claims of a TokenRequest token (issued at `now`, Unix seconds)."""
    k8s: Obj = {"namespace": namespace, "serviceaccount": {"name": account.name, "uid": account.uid}}
    for key, ref in (("pod", pod), ("secret", secret), ("node", node)):
        if ref is not None:
            k8s[key] = {"name": ref.name, "uid": ref.uid}
    return {"aud": list(audiences), "exp": now + expiration_seconds, "iat": now, "iss": issuer,
            "jti": jti or str(uuid.uuid4()), "kubernetes.io": k8s, "nbf": now,
            "sub": f"{USER_PREFIX}{namespace}:{account.name}"}


def legacy_claims(*, namespace: str, account: Ref, secret_name: str) -> Obj:
    """The claims of a legacy secret token (no expiry; valid while the secret exists)."""
    return {"iss": LEGACY_ISSUER, "kubernetes.io/serviceaccount/namespace": namespace,
            "kubernetes.io/serviceaccount/secret.name": secret_name,
            "kubernetes.io/serviceaccount/service-account.name": account.name,
            "kubernetes.io/serviceaccount/service-account.uid": account.uid,
            "sub": f"{USER_PREFIX}{namespace}:{account.name}"}


@dataclass(frozen=True, slots=True)
class Subject:
    """What a valid token claims: the account, and what it is bound to (checked against the API)."""

    namespace: str
    account: Ref
    pod: Ref | None = None
    secret: Ref | None = None
    node: Ref | None = None
    jti: str = ""
    legacy: bool = False


def _ref(value: Any) -> Ref | None:
    if not isinstance(value, dict):
        return None
    return Ref(str(value.get("name", "")), str(value.get("uid", "")))


def check_claims(claims: Mapping[str, Any], *, issuers: tuple[str, ...], audiences: tuple[str, ...],
                 now: int, leeway: int = 60) -> Subject:
    """Validate time, issuer and audience; the Subject the claims name. TokenError if invalid.

    Bound tokens must name one of `audiences` (the API server's own); legacy tokens have no
    audience. `leeway` absorbs clock skew between issuer and checker, as upstream allows.
    """
    iss = claims.get("iss")
    if iss == LEGACY_ISSUER:
        ns = claims.get("kubernetes.io/serviceaccount/namespace")
        name = claims.get("kubernetes.io/serviceaccount/service-account.name")
        secret = claims.get("kubernetes.io/serviceaccount/secret.name")
        if not (isinstance(ns, str) and isinstance(name, str) and isinstance(secret, str) and ns and name and secret):
            raise TokenError("legacy token lacks its service account claims")
        uid = str(claims.get("kubernetes.io/serviceaccount/service-account.uid", ""))
        return Subject(ns, Ref(name, uid), secret=Ref(secret, ""), legacy=True)
    if iss not in issuers:
        raise TokenError("token issuer is not this cluster's")
    aud = claims.get("aud")
    token_audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if not any(a in audiences for a in token_audiences):
        raise TokenError("token audiences are invalid for this server")
    for field in ("exp", "nbf", "iat"):
        if not isinstance(claims.get(field), int):
            raise TokenError(f"token lacks {field}")
    if now > claims["exp"] + leeway:
        raise TokenError("token has expired")
    if now < claims["nbf"] - leeway:
        raise TokenError("token is not valid yet")
    k8s = claims.get("kubernetes.io")
    if not isinstance(k8s, dict) or not isinstance(k8s.get("namespace"), str):
        raise TokenError("token lacks the kubernetes.io claim")
    account = _ref(k8s.get("serviceaccount"))
    if account is None or not account.name:
        raise TokenError("token names no service account")
    if claims.get("sub") != f"{USER_PREFIX}{k8s['namespace']}:{account.name}":
        raise TokenError("token subject does not match its service account")
    return Subject(k8s["namespace"], account, pod=_ref(k8s.get("pod")), secret=_ref(k8s.get("secret")),
                   node=_ref(k8s.get("node")), jti=str(claims.get("jti", "")))


def username(namespace: str, name: str) -> str:
    return f"{USER_PREFIX}{namespace}:{name}"


def user_for(subject: Subject) -> tuple[str, str, tuple[str, ...], dict[str, tuple[str, ...]]]:
    """(name, uid, groups, extra) of the user a token authenticates as."""
    groups = (ALL_GROUP, f"{ALL_GROUP}:{subject.namespace}")
    extra: dict[str, tuple[str, ...]] = {}
    if subject.pod is not None:
        extra[EXTRA_POD_NAME] = (subject.pod.name,)
        extra[EXTRA_POD_UID] = (subject.pod.uid,)
    if subject.node is not None:
        extra[EXTRA_NODE_NAME] = (subject.node.name,)
        extra[EXTRA_NODE_UID] = (subject.node.uid,)
    if subject.jti:
        extra[EXTRA_CREDENTIAL_ID] = (f"JTI={subject.jti}",)
    return username(subject.namespace, subject.account.name), subject.account.uid, groups, extra


# --- the key and the live checks ---------------------------------------------------------------

# (kind, namespace, name) → the object's metadata.uid, or None when it does not exist.
UIDLookup = Callable[[str, str, str], str | None]


def load_or_generate_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The signing key at `path` (PEM); a fresh in-memory one when the file does not exist
    (in-process test servers without PKI: their tokens die with them)."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        return ec.generate_private_key(ec.SECP256R1())
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: the service-account key must be an EC P-256 key")
    return key


class ServiceAccountTokens:
    """Issues and checks this cluster's service-account tokens."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, lookup_uid: UIDLookup, *,
                 issuer: str = DEFAULT_ISSUER, clock: Callable[[], float] | None = None) -> None:
        import time

        self.key = key
        self.public_key = key.public_key()
        self.issuer = issuer
        self.audiences = (issuer,)
        self._lookup = lookup_uid
        self._clock = clock or time.time

    def now(self) -> int:
        return int(self._clock())

    def issue(self, claims: Mapping[str, Any]) -> str:
        return sign(claims, self.key)

    def authenticate(self, token: str) -> Subject:
        """The Subject of a valid token whose account and bound object still exist, else TokenError."""
        subject = check_claims(verify(token, self.public_key), issuers=(self.issuer,), audiences=self.audiences,
                               now=self.now())
        ns = subject.namespace
        sa_uid = self._lookup("ServiceAccount", ns, subject.account.name)
        if sa_uid is None:
            raise TokenError(f'service account "{ns}/{subject.account.name}" has been deleted')
        if subject.account.uid and sa_uid != subject.account.uid:
            raise TokenError(f'service account UID ({sa_uid}) does not match claim ({subject.account.uid})')
        for kind, ref in (("Pod", subject.pod), ("Secret", subject.secret)):
            if ref is None:
                continue
            uid = self._lookup(kind, ns, ref.name)
            if uid is None:
                raise TokenError(f'{kind.lower()} "{ns}/{ref.name}" the token is bound to has been deleted')
            if ref.uid and uid != ref.uid:
                raise TokenError(f"{kind.lower()} UID ({uid}) does not match claim ({ref.uid})")
        return subject
