"""Token-based discovery: the signed ``cluster-info`` ConfigMap a joining node trusts the cluster CA by.

A new node holds only a bootstrap token ``<id>.<secret>`` (``machinery.bootstraptoken``). The
cluster publishes ``kube-public/cluster-info``, readable without credentials, whose ``kubeconfig``
key is a kubeconfig naming the API server and its CA. For every bootstrap token meant for signing
(``usage-bootstrap-signing: "true"``, not expired) the bootstrap signer adds a key
``jws-kubeconfig-<id>``: a detached JWS (RFC 7515 appendix F: ``<header>..<signature>``) of the
kubeconfig text, HS256 with the token secret as key, header ``{"alg":"HS256","kid":"<id>"}``.
Only someone who knows the secret can produce it, so a node that checks it knows the CA came from
the cluster it was given the token for, not from whoever answered the unverified TLS request.

Wire details that must match upstream's signer and verifier exactly (either side may be upstream):

1. the protected header is the compact JSON ``{"alg":"HS256","kid":"<id>"}``, base64url without
   padding; the payload part is left empty in the stored value;
2. the HMAC key is the secret's bytes zero-padded to 32 bytes when shorter (a JOSE library's
   minimum key size for HS256); a 16-character token secret therefore always gets padded;
3. the signature is checked by recomputing it, compared in constant time.

Everything here is pure; the clock is an argument.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import yaml

from kybernetes.machinery import bootstraptoken

NAMESPACE = "kube-public"
NAME = "cluster-info"
KUBECONFIG_KEY = "kubeconfig"
SIGNATURE_PREFIX = "jws-kubeconfig-"
SIGNING_USAGE = "usage-bootstrap-signing"
_MIN_KEY_BYTES = 32

Obj = dict[str, Any]


class DiscoveryError(Exception):
    """cluster-info cannot be trusted (or used): the message says why, for the person joining."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _header(token_id: str) -> str:
    # key order and the absence of spaces are part of the signed bytes (invariant 1)
    return _b64url(b'{"alg":"HS256","kid":"' + token_id.encode() + b'"}')


def detached_signature(content: str, token_id: str, token_secret: str) -> str:
    """The detached JWS of `content` under the token (``<header>..<signature>``)."""
    key = token_secret.encode().ljust(_MIN_KEY_BYTES, b"\0")
    header = _header(token_id)
    mac = hmac.new(key, f"{header}.{_b64url(content.encode())}".encode(), hashlib.sha256).digest()
    return f"{header}..{_b64url(mac)}"


def signature_is_valid(signature: str, content: str, token_id: str, token_secret: str) -> bool:
    """True when `signature` is exactly what the token would sign `content` with."""
    expected = detached_signature(content, token_id, token_secret)
    return hmac.compare_digest(signature.encode(), expected.encode())


# --- the ConfigMap -----------------------------------------------------------------------------------


def cluster_kubeconfig(server: str, ca_pem: bytes) -> str:
    """The kubeconfig text cluster-info carries: one unnamed cluster (server + CA), no users."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "",
                "cluster": {
                    "certificate-authority-data": base64.b64encode(ca_pem).decode(),
                    "server": server,
                },
            }
        ],
        "contexts": [],
        "current-context": "",
        "preferences": {},
        "users": [],
    }
    return str(yaml.safe_dump(doc, default_flow_style=False, sort_keys=False))


def configmap(kubeconfig: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "data": {KUBECONFIG_KEY: kubeconfig},
    }


def published_ca(kubeconfig: str) -> bytes | None:
    """The CA (PEM) of the single cluster in a cluster-info kubeconfig; None when there is not one."""
    try:
        doc = yaml.safe_load(kubeconfig)
        clusters = doc["clusters"]
        if not isinstance(clusters, list) or len(clusters) != 1:
            return None
        return base64.b64decode(str(clusters[0]["cluster"]["certificate-authority-data"]), validate=True)
    except (KeyError, IndexError, TypeError, ValueError, yaml.YAMLError):
        return None


def published_server(kubeconfig: str) -> str:
    try:
        return str(yaml.safe_load(kubeconfig)["clusters"][0]["cluster"]["server"])
    except (KeyError, IndexError, TypeError, yaml.YAMLError):
        return ""


# --- the signer's decision ---------------------------------------------------------------------------


def signing_token(secret: Mapping[str, Any], now: datetime) -> bootstraptoken.Token | None:
    """The token of a bootstrap-token Secret that may sign cluster-info now, else None: the type is
    right, the name's id is the data's id, a secret is present, it has not expired, and it says
    ``usage-bootstrap-signing: "true"``."""
    if secret.get("type") != bootstraptoken.SECRET_TYPE:
        return None
    name = str((secret.get("metadata") or {}).get("name") or "")
    if not name.startswith(bootstraptoken.SECRET_PREFIX):
        return None
    data = bootstraptoken.secret_data(secret)
    token_id = data.get("token-id", "")
    if not token_id or name != bootstraptoken.secret_name(token_id):
        return None
    token_secret = data.get("token-secret", "")
    if not token_secret or bootstraptoken.is_expired(secret, now):
        return None
    if data.get(SIGNING_USAGE) != "true":
        return None
    return bootstraptoken.Token(token_id, token_secret)


def signed_data(
    data: Mapping[str, str], secrets: Iterable[Mapping[str, Any]], now: datetime
) -> dict[str, str] | None:
    """The ConfigMap data with exactly one current signature per signing token, or None when `data`
    already is that (nothing to write) or has no kubeconfig to sign."""
    content = data.get(KUBECONFIG_KEY)
    if content is None:
        return None
    out = {k: v for k, v in data.items() if not k.startswith(SIGNATURE_PREFIX)}
    for secret in secrets:
        token = signing_token(secret, now)
        if token is not None and SIGNATURE_PREFIX + token.id not in out:
            out[SIGNATURE_PREFIX + token.id] = detached_signature(content, token.id, token.secret)
    return None if out == dict(data) else out


# --- the joining side --------------------------------------------------------------------------------


def verified_kubeconfig(cm: Mapping[str, Any], token: bootstraptoken.Token) -> str:
    """The kubeconfig of a cluster-info ConfigMap once its signature by `token` checks out.
    Raises DiscoveryError (worded as kubeadm's) otherwise."""
    data = cm.get("data") or {}
    content = data.get(KUBECONFIG_KEY) if isinstance(data, dict) else None
    if not isinstance(content, str) or not content:
        raise DiscoveryError(
            f"there is no {KUBECONFIG_KEY} key in the {NAME} ConfigMap. This API Server "
            "isn't set up for token bootstrapping, can't connect"
        )
    signature = data.get(SIGNATURE_PREFIX + token.id)
    if not isinstance(signature, str) or not signature:
        raise DiscoveryError(
            f"token id {token.id!r} is invalid for this cluster or it has expired. "
            'Use "kyb token create" on a server to create a new valid token'
        )
    if not signature_is_valid(signature, content, token.id, token.secret):
        raise DiscoveryError(
            "failed to verify JWS signature of received cluster info object, can't trust this API Server"
        )
    return content
