"""The root-CA publisher: a ConfigMap ``kube-root-ca.crt`` with the cluster CA in every namespace.

Pods that talk to the API server (projected service-account volumes mount this ConfigMap's
``ca.crt``) verify the server with it. The CA is the one this controller manager trusts for its own
connection (its kubeconfig's certificate-authority data or file). The ConfigMap is created when
missing and put back when edited or deleted; terminating namespaces are left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import (
    APIClient,
    Controller,
    ResourceLike,
    is_already_exists,
    is_conflict,
    is_forbidden,
    is_not_found,
)
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.controllers.serviceaccount import namespace_active

NAMESPACES: ResourceLike = lookup("", "v1", "namespaces")  # type: ignore[assignment]
CONFIGMAPS: ResourceLike = lookup("", "v1", "configmaps")  # type: ignore[assignment]
NAME = "kube-root-ca.crt"
KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("The cluster's certificate authority bundle, for verifying the API server at its "
               "in-cluster addresses (the kubernetes Service IP, kubernetes.default.svc).")


def cluster_ca(client: APIClient) -> str:
    """The CA bundle (PEM) the client trusts; "" when it trusts the system store only."""
    cfg = client.config
    if cfg.ca_data:
        return cfg.ca_data.decode()
    if cfg.ca_file:
        return Path(cfg.ca_file).read_text()
    return ""


def desired_configmap(namespace: str, ca: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": NAME, "namespace": namespace,
                         "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
            "data": {KEY: ca}}


def needs_update(current: Mapping[str, Any], ca: str) -> bool:
    annotations = (current.get("metadata") or {}).get("annotations") or {}
    return current.get("data") != {KEY: ca} or annotations.get(DESCRIPTION_ANNOTATION) != DESCRIPTION


class RootCACertPublisher:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.ca = cluster_ca(ctx.client)
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.configmaps = ctx.informers.informer(CONFIGMAPS, field_selector=f"metadata.name={NAME}")
        self.controller = Controller("root-ca-cert-publisher", self.sync, workers=2)
        self.namespaces.add_handlers(on_add=self.controller.enqueue,
                                     on_update=lambda _o, n: self.controller.enqueue(n))
        self.configmaps.add_handlers(on_update=lambda _o, n: self._by_namespace(n), on_delete=self._by_namespace)

    def _by_namespace(self, cm: dict[str, Any]) -> None:
        ns = (cm.get("metadata") or {}).get("namespace")
        if ns:
            self.controller.queue.add(str(ns))

    async def sync(self, namespace: str) -> None:
        if not self.ca or not namespace_active(self.namespaces.store.get(namespace)):
            return
        current = self.configmaps.store.get(f"{namespace}/{NAME}")
        try:
            if current is None:
                await self.client.create(CONFIGMAPS, desired_configmap(namespace, self.ca), namespace=namespace)
            elif needs_update(current, self.ca):
                body = dict(current)
                body["data"] = {KEY: self.ca}
                meta = dict(current.get("metadata") or {})
                meta["annotations"] = {**(meta.get("annotations") or {}), DESCRIPTION_ANNOTATION: DESCRIPTION}
                body["metadata"] = meta
                await self.client.update(CONFIGMAPS, body, namespace=namespace)
        except Exception as e:
            if is_conflict(e) or is_already_exists(e):
                raise  # the cache is behind: retry once it has caught up
            if not (is_not_found(e) or is_forbidden(e)):
                raise

    async def run(self) -> None:
        await self.controller.run()


@register("root-ca-cert-publisher")
def new_root_ca_cert_publisher(ctx: ControllerContext) -> RootCACertPublisher:
    return RootCACertPublisher(ctx)
