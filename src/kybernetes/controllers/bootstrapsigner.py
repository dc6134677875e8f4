"""The bootstrap signer: keeps ``kube-public/cluster-info`` signed by every bootstrap token that may sign.

A joining node trusts the cluster CA in cluster-info only when the ConfigMap carries a signature
made with its token (``machinery.clusterinfo``). This loop recomputes the ``jws-kubeconfig-<id>``
keys whenever cluster-info or a bootstrap-token Secret in kube-system changes: a new token adds
its signature, an expired, deleted or non-signing one loses it, an edited kubeconfig is signed
afresh (an administrator who edits cluster-info is trusted, as upstream). There is one work item,
the ConfigMap's key, so events from both informers collapse into one write. A token that has not
expired yet is looked at again when it does (the token cleaner may be slower, or disabled).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import Controller, ResourceLike, is_not_found
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery import bootstraptoken, clusterinfo

log = logging.getLogger(__name__)

SECRETS: ResourceLike = lookup("", "v1", "secrets")  # type: ignore[assignment]
CONFIGMAPS: ResourceLike = lookup("", "v1", "configmaps")  # type: ignore[assignment]
KEY = f"{clusterinfo.NAMESPACE}/{clusterinfo.NAME}"


def next_expiry(secrets: list[dict[str, Any]], now: datetime) -> float | None:
    """Seconds until the first signing token expires (its signature must go then), or None."""
    waits = []
    for s in secrets:
        exp = bootstraptoken.expiration(s)
        if exp is not None and exp > now and clusterinfo.signing_token(s, now) is not None:
            waits.append((exp - now).total_seconds())
    return min(waits) if waits else None


class BootstrapSigner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.secrets = ctx.informers.informer(SECRETS, namespace=bootstraptoken.NAMESPACE)
        self.configmaps = ctx.informers.informer(
            CONFIGMAPS, namespace=clusterinfo.NAMESPACE, field_selector=f"metadata.name={clusterinfo.NAME}"
        )
        self.controller = Controller("bootstrap-signer", self.sync, workers=1)
        poke = self._poke
        self.secrets.add_handlers(on_add=poke, on_update=lambda _o, n: poke(n), on_delete=poke)
        self.configmaps.add_handlers(
            on_add=self._poke_if_cluster_info, on_update=lambda _o, n: self._poke_if_cluster_info(n)
        )

    def _poke(self, _obj: object) -> None:
        self.controller.queue.add(KEY)

    def _poke_if_cluster_info(self, cm: dict[str, Any]) -> None:
        if (cm.get("metadata") or {}).get("name") == clusterinfo.NAME:
            self.controller.queue.add(KEY)

    async def sync(self, key: str) -> None:
        cm = self.configmaps.store.get(key)
        if cm is None:
            return
        now = datetime.now(UTC)
        secrets = [s for s in self.secrets.store.list() if s.get("type") == bootstraptoken.SECRET_TYPE]
        wait = next_expiry(secrets, now)
        if wait is not None:
            self.controller.queue.add_after(key, wait + 0.5)
        data = clusterinfo.signed_data(cm.get("data") or {}, secrets, now)
        if data is None:
            return
        body = {**cm, "data": data}
        try:
            await self.client.update(CONFIGMAPS, body, namespace=clusterinfo.NAMESPACE)
            log.info(
                "signed %s for %d token(s)",
                key,
                sum(1 for k in data if k.startswith(clusterinfo.SIGNATURE_PREFIX)),
            )
        except Exception as e:
            if is_not_found(e):
                return
            raise  # a conflict too: requeued, and the informer brings the newer object

    async def run(self) -> None:
        await self.controller.run()


@register("bootstrapsigner")
def new_bootstrap_signer(ctx: ControllerContext) -> BootstrapSigner:
    return BootstrapSigner(ctx)
