"""The serviceaccounts/token subresource (TokenRequest) and the authentication.k8s.io reviews.

``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`` with an authentication.k8s.io/v1
TokenRequest answers 201 with the same object, its ``status.token`` a signed JWT for the account
(``kubectl create token``, and the kubelet for each pod's projected token). Rules, as upstream:

1. ``spec.expirationSeconds`` defaults to 3600 and must lie in [600, 2^32] seconds.
2. Empty ``spec.audiences`` means the API server's own audiences (the issuer).
3. ``spec.boundObjectRef`` may name a Pod, a Secret or a Node (apiVersion v1) in the account's
   namespace; it must exist, match its UID when one is given, and a Pod must run as this account.
   A pod-bound token also names the pod's node. The token dies with the object it is bound to.
4. The lifetime is the one asked for; upstream's "extended expiration" of kubelet tokens
   (a year, with a warnafter claim) is not done here — the kubelet refreshes tokens instead.

Also here: SelfSubjectReview (``kubectl auth whoami``) and TokenReview, which only read the
authenticated user and the token checker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kybernetes.apiserver.registry.store import Store
from kybernetes.machinery import errors, satoken

Obj = dict[str, Any]
GROUP = "authentication.k8s.io"
API_VERSION = "authentication.k8s.io/v1"
BINDABLE = ("Pod", "Secret", "Node")
_STORE_OF = {"Pod": ("", "pods"), "Secret": ("", "secrets"), "Node": ("", "nodes"),
             "ServiceAccount": ("", "serviceaccounts")}


def _rfc3339(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate_spec(spec: Mapping[str, Any], name: str) -> int:
    """The requested lifetime in seconds (defaulted); 422 Invalid when out of bounds."""
    value = spec.get("expirationSeconds")
    seconds = satoken.DEFAULT_EXPIRATION if value is None else int(value)
    causes = []
    if seconds < satoken.MIN_EXPIRATION:
        causes.append(errors.Cause("FieldValueInvalid",
                                   f"Invalid value: {seconds}: may not specify a duration less than 10 minutes",
                                   "spec.expirationSeconds"))
    elif seconds > satoken.MAX_EXPIRATION:
        causes.append(errors.Cause("FieldValueInvalid",
                                   f"Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds",
                                   "spec.expirationSeconds"))
    if causes:
        raise errors.invalid("TokenRequest", name, causes, GROUP)
    return seconds


def _get(stores: Mapping[tuple[str, str], Store], kind: str, namespace: str, name: str) -> Obj | None:
    store = stores[_STORE_OF[kind]]
    entry = store.cache.get(store.key(namespace if kind not in ("Node",) else "", name))
    return entry.obj if entry is not None else None


def lookup_uid(stores: Mapping[tuple[str, str], Store]) -> satoken.UIDLookup:
    """The live check satoken needs: the UID of (kind, namespace, name) from the watch cache."""
    def uid(kind: str, namespace: str, name: str) -> str | None:
        obj = _get(stores, kind, namespace, name)
        return str(obj["metadata"].get("uid", "")) if obj is not None else None
    return uid


async def create_token(body: Obj, namespace: str, name: str, *, stores: Mapping[tuple[str, str], Store],
                       tokens: satoken.ServiceAccountTokens) -> Obj:
    spec = dict(body.get("spec") or {})
    seconds = validate_spec(spec, name)
    await stores[("", "serviceaccounts")].cache.wait_fresh()
    account = _get(stores, "ServiceAccount", namespace, name)
    if account is None:
        raise errors.not_found("serviceaccounts", name)
    audiences = [str(a) for a in spec.get("audiences") or []] or list(tokens.audiences)
    bound: dict[str, satoken.Ref] = {}
    ref = spec.get("boundObjectRef")
    if ref:
        kind = str(ref.get("kind", ""))
        api_version = str(ref.get("apiVersion", "") or "v1")
        if kind not in BINDABLE or api_version != "v1":
            raise errors.bad_request(
                f'cannot bind token for serviceaccount "{name}" to object of type {api_version}, Kind={kind}')
        obj = _get(stores, kind, namespace, str(ref.get("name", "")))
        if obj is None:
            raise errors.not_found(_STORE_OF[kind][1], str(ref.get("name", "")))
        uid = str(obj["metadata"].get("uid", ""))
        if ref.get("uid") and ref["uid"] != uid:
            raise errors.conflict(kind, str(ref.get("name", "")), reason=(
                f"the UID in the bound object reference ({ref['uid']}) does not match the UID in record. "
                "The object might have been deleted and then recreated"))
        bound[kind.lower()] = satoken.Ref(obj["metadata"]["name"], uid)
        if kind == "Pod":
            pod_sa = (obj.get("spec") or {}).get("serviceAccountName") or "default"
            if pod_sa != name:
                raise errors.bad_request(
                    f'cannot bind token for serviceaccount "{name}" to pod running with different serviceaccount name.')
            node_name = (obj.get("spec") or {}).get("nodeName")
            node = _get(stores, "Node", "", node_name) if node_name else None
            if node is not None:
                bound["node"] = satoken.Ref(str(node_name), str(node["metadata"].get("uid", "")))
        spec["boundObjectRef"] = {"kind": kind, "apiVersion": api_version, "name": obj["metadata"]["name"],
                                  "uid": uid}
    now = tokens.now()
    claims = satoken.bound_claims(issuer=tokens.issuer, audiences=audiences, namespace=namespace,
                                  account=satoken.Ref(name, str(account["metadata"].get("uid", ""))), now=now,
                                  expiration_seconds=seconds, pod=bound.get("pod"), secret=bound.get("secret"),
                                  node=bound.get("node"))
    spec["audiences"] = audiences
    spec["expirationSeconds"] = seconds
    meta = {"name": name, "namespace": namespace, "creationTimestamp": _rfc3339(now)}
    return {"kind": "TokenRequest", "apiVersion": API_VERSION, "metadata": meta, "spec": spec,
            "status": {"token": tokens.issue(claims), "expirationTimestamp": _rfc3339(now + seconds)}}


def user_info(user: Any) -> Obj:
    """authentication.k8s.io/v1 UserInfo of an authn.UserInfo (None = anonymous)."""
    if user is None:
        return {"username": "system:anonymous", "groups": ["system:unauthenticated"]}
    out: Obj = {"username": user.name}
    if user.uid:
        out["uid"] = user.uid
    if user.groups:
        out["groups"] = list(user.groups)
    if user.extra:
        out["extra"] = {k: list(v) for k, v in user.extra.items()}
    return out


def self_subject_review(user: Any) -> Obj:
    return {"kind": "SelfSubjectReview", "apiVersion": API_VERSION,
            "metadata": {"creationTimestamp": None}, "status": {"userInfo": user_info(user)}}


def token_review(body: Obj, tokens: satoken.ServiceAccountTokens | None, to_user: Any) -> Obj:
    """A TokenReview answered by the service-account token checker (`to_user`: Subject → UserInfo)."""
    spec = body.get("spec") or {}
    status: Obj = {"authenticated": False}
    token = str(spec.get("token", ""))
    wanted = [str(a) for a in spec.get("audiences") or []]
    if tokens is not None and token:
        try:
            subject = tokens.authenticate(token)
        except satoken.TokenError as e:
            status["error"] = f"[invalid bearer token, {e}]"
        else:
            if wanted and not any(a in tokens.audiences for a in wanted):
                status["error"] = "token audiences don't match the requested audiences"
            else:
                status = {"authenticated": True, "user": user_info(to_user(subject)),
                          "audiences": wanted or list(tokens.audiences)}
    return {"kind": "TokenReview", "apiVersion": API_VERSION,
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}
