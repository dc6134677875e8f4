"""The token cleaner: deletes bootstrap-token Secrets (kube-system, type bootstrap.kubernetes.io/token)
once their expiration has passed, so an expired token cannot be revived by a clock change and does
not linger in listings. A Secret not yet expired is looked at again when it expires.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kybernetes.api.resources import lookup
from kybernetes.client import Controller, ResourceLike, is_conflict, is_not_found
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery import bootstraptoken

SECRETS: ResourceLike = lookup("", "v1", "secrets")  # type: ignore[assignment]


def seconds_until_expiry(secret: dict[str, object], now: datetime) -> float | None:
    """0 when the token Secret should go now, the wait until it should, or None (not a token or no expiry)."""
    if secret.get("type") != bootstraptoken.SECRET_TYPE:
        return None
    if bootstraptoken.is_expired(secret, now):
        return 0.0
    exp = bootstraptoken.expiration(secret)
    return None if exp is None else max(0.0, (exp - now).total_seconds())


class TokenCleaner:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.secrets = ctx.informers.informer(SECRETS, namespace=bootstraptoken.NAMESPACE)
        self.controller = Controller("tokencleaner", self.sync, workers=1)
        self.secrets.add_handlers(on_add=self.controller.enqueue, on_update=lambda _o, n: self.controller.enqueue(n))

    async def sync(self, key: str) -> None:
        secret = self.secrets.store.get(key)
        if secret is None:
            return
        wait = seconds_until_expiry(secret, datetime.now(UTC))
        if wait is None:
            return
        if wait > 0:
            self.controller.queue.add_after(key, wait + 0.5)
            return
        meta = secret["metadata"]
        try:
            await self.client.delete(SECRETS, meta["name"], namespace=meta["namespace"])
        except Exception as e:
            if is_not_found(e):
                return
            if is_conflict(e):
                raise
            raise

    async def run(self) -> None:
        await self.controller.run()


@register("tokencleaner")
def new_token_cleaner(ctx: ControllerContext) -> TokenCleaner:
    return TokenCleaner(ctx)
