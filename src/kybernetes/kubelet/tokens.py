"""Service-account tokens for pods' projected volumes, asked from the API and kept fresh.

A ``serviceAccountToken`` projection (the ``kube-api-access-*`` volume the ServiceAccount
admission plugin adds) becomes a file holding a TokenRequest token bound to the pod: the API
server signs it for the pod's account, with the projection's audience and lifetime (at least
600 s; admission asks for 3607). The kubelet must replace the file before the token expires.

Theory of operation. ``TokenManager.get(pod, projection)`` answers from a cache keyed by
(namespace, account, audience, lifetime, pod UID) unless the cached token ``requires_refresh``:
80 % of its lifetime has passed, or it is older than 24 h, as upstream's kubelet does. The agent
re-projects token volumes every minute, so a token is renewed within a minute of turning 80 %
old — long before it expires. ``forget_pod`` drops a deleted pod's tokens.

Invariants:
1. A returned token was valid when returned and has at least 20 % of its lifetime left.
2. The cache never serves one pod's token to another (the pod UID is part of the key).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
# (namespace, service account, TokenRequest body) → the TokenRequest the API answered
RequestToken = Callable[[str, str, Obj], Awaitable[Obj]]

DEFAULT_EXPIRATION = 3600  # the projection's default, as upstream defaults it
MAX_AGE = 24 * 3600
REFRESH_FRACTION = 0.8


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    issued: float  # Unix seconds, the kubelet's clock
    expires: float  # Unix seconds, from status.expirationTimestamp


def requires_refresh(t: IssuedToken, now: float) -> bool:
    """Renew after 80 % of the lifetime, or after 24 h, whichever comes first."""
    lifetime = t.expires - t.issued
    return now >= t.issued + REFRESH_FRACTION * lifetime or now >= t.issued + MAX_AGE


def token_request_body(pod: Mapping[str, Any], projection: Mapping[str, Any]) -> Obj:
    """The TokenRequest the kubelet sends for one projection: bound to the pod."""
    meta = pod.get("metadata") or {}
    seconds = projection.get("expirationSeconds")
    spec: Obj = {"audiences": [projection["audience"]] if projection.get("audience") else [],
                 "expirationSeconds": int(seconds) if seconds is not None else DEFAULT_EXPIRATION,
                 "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": meta.get("name", ""),
                                    "uid": meta.get("uid", "")}}
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


def _parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class TokenManager:
    def __init__(self, request_token: RequestToken, *, clock: Callable[[], float] = time.time) -> None:
        self._request = request_token
        self._clock = clock
        self._cache: dict[tuple[str, str, str, int, str], IssuedToken] = {}

    async def get(self, pod: Mapping[str, Any], projection: Mapping[str, Any]) -> str:
        meta = pod.get("metadata") or {}
        ns = str(meta.get("namespace", ""))
        account = str((pod.get("spec") or {}).get("serviceAccountName") or "default")
        body = token_request_body(pod, projection)
        spec = body["spec"]
        key = (ns, account, ",".join(spec["audiences"]), spec["expirationSeconds"], str(meta.get("uid", "")))
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and not requires_refresh(cached, now):
            return cached.token
        answer = await self._request(ns, account, body)
        status = answer.get("status") or {}
        token = str(status.get("token", ""))
        if not token:
            raise RuntimeError(f"the API returned no token for service account {ns}/{account}")
        expires = _parse_time(str(status["expirationTimestamp"])) if status.get("expirationTimestamp") \
            else now + spec["expirationSeconds"]
        self._cache[key] = IssuedToken(token, now, expires)
        return token

    def cached_pods(self) -> set[str]:
        return {k[4] for k in self._cache}

    def forget_pod(self, uid: str) -> None:
        for key in [k for k in self._cache if k[4] == uid]:
            del self._cache[key]


def has_token_projection(pod: Mapping[str, Any]) -> bool:
    """Whether the pod mounts a projected service-account token (and so needs refreshes)."""
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        projected = volume.get("projected")
        if projected and any(s.get("serviceAccountToken") is not None for s in projected.get("sources") or ()):
            return True
    return False
