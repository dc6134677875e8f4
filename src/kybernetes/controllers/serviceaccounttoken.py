"""The token controller: fills legacy service-account token Secrets, and deletes orphaned ones.

A Secret of type ``kubernetes.io/service-account-token`` annotated
``kubernetes.io/service-account.name: <account>`` is a request for a long-lived token (before
TokenRequest, every account had one; some tools still create them by hand). The controller puts
``token`` (a JWT signed with the service-account key, issuer ``kubernetes/serviceaccount``,
valid while the Secret exists), ``ca.crt`` and ``namespace`` into it and records the account's
UID in ``kubernetes.io/service-account.uid``. A Secret whose account is gone (or was recreated
with another UID) is deleted, as upstream does.

The signing key is the API server's (``tls/sa.key``): option ``private_key_file`` of this loop,
else ``$KYB_SERVICE_ACCOUNT_KEY_FILE``. Without a key the loop does nothing.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import Controller, ResourceLike, is_conflict, is_not_found
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.controllers.rootcacert import cluster_ca

SECRETS: ResourceLike = lookup("", "v1", "secrets")  # type: ignore[assignment]
SERVICE_ACCOUNTS: ResourceLike = lookup("", "v1", "serviceaccounts")  # type: ignore[assignment]
TOKEN_TYPE = "kubernetes.io/service-account-token"
NAME_ANNOTATION = "kubernetes.io/service-account.name"
UID_ANNOTATION = "kubernetes.io/service-account.uid"
KEY_ENV = "KYB_SERVICE_ACCOUNT_KEY_FILE"

Obj = dict[str, Any]
# (namespace, account name, account uid, secret name) → a signed legacy token
SignLegacy = Callable[[str, str, str, str], str]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def plan(secret: Mapping[str, Any], account: Mapping[str, Any] | None, ca: str,
         sign: SignLegacy) -> tuple[str, Obj | None]:
    """("delete", None), ("update", new secret), or ("keep", None) for one token Secret."""
    meta = secret.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    if account is None:
        return "delete", None
    uid = str((account.get("metadata") or {}).get("uid", ""))
    if annotations.get(UID_ANNOTATION) and annotations[UID_ANNOTATION] != uid:
        return "delete", None
    data = dict(secret.get("data") or {})
    want = {"namespace": _b64(str(meta.get("namespace", "")))}
    if ca:
        want["ca.crt"] = _b64(ca)
    missing = {k: v for k, v in want.items() if data.get(k) != v}
    if data.get("token") and not missing and annotations.get(UID_ANNOTATION) == uid:
        return "keep", None
    if not data.get("token"):
        data["token"] = _b64(sign(str(meta.get("namespace", "")), str(annotations[NAME_ANNOTATION]), uid,
                                  str(meta.get("name", ""))))
    data.update(missing)
    new = dict(secret)
    new["data"] = data
    new["metadata"] = {**meta, "annotations": {**annotations, UID_ANNOTATION: uid}}
    return "update", new


def is_token_secret(secret: Mapping[str, Any]) -> bool:
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    return secret.get("type") == TOKEN_TYPE and bool(annotations.get(NAME_ANNOTATION))


def legacy_signer(key_file: Path) -> SignLegacy:
    from kybernetes.machinery.satoken import Ref, legacy_claims, load_or_generate_key, sign

    if not key_file.exists():
        raise FileNotFoundError(key_file)
    key = load_or_generate_key(key_file)

    def sign_legacy(namespace: str, name: str, uid: str, secret_name: str) -> str:
        return sign(legacy_claims(namespace=namespace, account=Ref(name, uid), secret_name=secret_name), key)
    return sign_legacy


class TokenController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        opts = ctx.options.get("serviceaccount-token") or {}
        key_file = opts.get("private_key_file") or os.environ.get(KEY_ENV, "")
        self.sign: SignLegacy | None = None
        if key_file and Path(key_file).exists():
            self.sign = legacy_signer(Path(key_file))
        self.ca = cluster_ca(ctx.client)
        self.secrets = ctx.informers.informer(SECRETS)
        self.accounts = ctx.informers.informer(SERVICE_ACCOUNTS)
        self.controller = Controller("serviceaccount-token", self.sync, workers=2)
        self.secrets.add_handlers(on_add=self._secret, on_update=lambda _o, n: self._secret(n))
        self.accounts.add_handlers(on_delete=self._account_gone,
                                   on_update=lambda o, n: self._account_gone(n) if
                                   o["metadata"].get("uid") != n["metadata"].get("uid") else None,
                                   on_add=self._account_gone)

    def _secret(self, secret: Obj) -> None:
        if is_token_secret(secret):
            self.controller.enqueue(secret)

    def _account_gone(self, account: Obj) -> None:
        """An account changed or went: look again at the token Secrets that name it."""
        meta = account.get("metadata") or {}
        for secret in self.secrets.store.list():
            smeta = secret.get("metadata") or {}
            if (is_token_secret(secret) and smeta.get("namespace") == meta.get("namespace")
                    and (smeta.get("annotations") or {}).get(NAME_ANNOTATION) == meta.get("name")):
                self.controller.enqueue(secret)

    async def sync(self, key: str) -> None:
        if self.sign is None:
            return
        secret = self.secrets.store.get(key)
        if secret is None or not is_token_secret(secret):
            return
        ns, name = str(secret["metadata"]["namespace"]), str(secret["metadata"]["name"])
        account_name = secret["metadata"]["annotations"][NAME_ANNOTATION]
        account = self.accounts.store.get(f"{ns}/{account_name}")
        if account is None:
            try:  # the cache may lag behind a fresh account: ask before deleting a Secret
                account = await self.client.get(SERVICE_ACCOUNTS, account_name, namespace=ns)
            except Exception as e:
                if not is_not_found(e):
                    raise
        action, new = plan(secret, account, self.ca, self.sign)
        try:
            if action == "delete":
                await self.client.delete(SECRETS, name, namespace=ns)
            elif action == "update" and new is not None:
                await self.client.update(SECRETS, new, namespace=ns)
        except Exception as e:
            if is_conflict(e):
                raise  # retry with a fresher cache
            if not is_not_found(e):
                raise

    async def run(self) -> None:
        await self.controller.run()


@register("serviceaccount-token")
def new_token_controller(ctx: ControllerContext) -> TokenController:
    return TokenController(ctx)
