"""The service-account controller: every active namespace has a ServiceAccount named ``default``.

Pods that name no service account run as ``default`` (the ServiceAccount admission plugin fills it
in and refuses pods whose account is missing), so it must exist in every namespace: created when a
namespace appears, recreated when someone deletes it. Terminating namespaces are left alone (the
API server would refuse new content there anyway).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import Controller, ResourceLike, is_already_exists, is_forbidden, is_not_found
from kybernetes.client.store import index_by_namespace
from kybernetes.controllers.manager import ControllerContext, register

NAMESPACES: ResourceLike = lookup("", "v1", "namespaces")  # type: ignore[assignment]
SERVICE_ACCOUNTS: ResourceLike = lookup("", "v1", "serviceaccounts")  # type: ignore[assignment]
DEFAULT_NAME = "default"


def namespace_active(ns: Mapping[str, Any] | None) -> bool:
    if ns is None or (ns.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return bool((ns.get("status") or {}).get("phase", "Active") != "Terminating")


def default_service_account(namespace: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEFAULT_NAME, "namespace": namespace}}


class ServiceAccountController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.accounts = ctx.informers.informer(SERVICE_ACCOUNTS, indexers={"namespace": index_by_namespace})
        self.controller = Controller("serviceaccount", self.sync, workers=2)
        self.namespaces.add_handlers(on_add=self.controller.enqueue,
                                     on_update=lambda _o, n: self.controller.enqueue(n))
        self.accounts.add_handlers(on_delete=self._account_deleted)

    def _account_deleted(self, sa: dict[str, Any]) -> None:
        meta = sa.get("metadata") or {}
        if meta.get("name") == DEFAULT_NAME and meta.get("namespace"):
            self.controller.queue.add(str(meta["namespace"]))

    async def sync(self, namespace: str) -> None:
        if not namespace_active(self.namespaces.store.get(namespace)):
            return
        if self.accounts.store.get(f"{namespace}/{DEFAULT_NAME}") is not None:
            return
        try:
            await self.client.create(SERVICE_ACCOUNTS, default_service_account(namespace), namespace=namespace)
        except Exception as e:
            # already there (our cache lags), or the namespace went / started terminating
            if not (is_already_exists(e) or is_not_found(e) or is_forbidden(e)):
                raise

    async def run(self) -> None:
        await self.controller.run()


@register("serviceaccount")
def new_serviceaccount_controller(ctx: ControllerContext) -> ServiceAccountController:
    return ServiceAccountController(ctx)
