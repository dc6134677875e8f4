"""Storage object in-use protection: a claim is not removed while a pod uses it, nor a volume while
it is bound (upstream's pvc-protection and pv-protection controllers).

Every live claim carries the finalizer ``kubernetes.io/pvc-protection`` and every live volume
``kubernetes.io/pv-protection``: the StorageObjectInUseProtection admission plugin adds them when
the object is created, and this controller adds them to objects written without it. A deleted claim
keeps its finalizer — and so stays Terminating, as kubectl shows — while a pod scheduled to a node
names it (a ``persistentVolumeClaim`` volume, or the generic ephemeral volume that made it); a
deleted volume keeps its finalizer while it is Bound. Before a finalizer is dropped the pods are
listed from the API, not the cache, so a pod created a moment ago still counts.

Why it matters here: deleting a claim releases its volume, and a local-path volume's directory is
then removed by its node; without protection that could happen under a running container.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, Informer, is_not_found, split_key
from kybernetes.client.rest import ResourceLike
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.pvcprotection")

PVS: ResourceLike = lookup("", "v1", "persistentvolumes")  # type: ignore[assignment]
PVCS: ResourceLike = lookup("", "v1", "persistentvolumeclaims")  # type: ignore[assignment]
PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
PVC_FINALIZER = "kubernetes.io/pvc-protection"
PV_FINALIZER = "kubernetes.io/pv-protection"
Obj = dict[str, Any]


def claims_of_pod(pod: Mapping[str, Any]) -> list[str]:
    """Names of the claims a pod uses (its persistentVolumeClaim volumes and ephemeral ones)."""
    name = (pod.get("metadata") or {}).get("name", "")
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or ():
        if v.get("persistentVolumeClaim"):
            out.append(str(v["persistentVolumeClaim"].get("claimName") or ""))
        elif v.get("ephemeral") is not None:
            out.append(f"{name}-{v.get('name', '')}")
    return out


def pod_uses_claim(pod: Mapping[str, Any], claim_name: str) -> bool:
    """Only scheduled pods count: the node refuses to start a pod whose claim is being deleted."""
    return bool((pod.get("spec") or {}).get("nodeName")) and claim_name in claims_of_pod(pod)


def finalizer_change(obj: Mapping[str, Any], finalizer: str, in_use: bool) -> list[str] | None:
    """The object's new finalizer list, or None when it stays as it is."""
    meta = obj.get("metadata") or {}
    current = list(meta.get("finalizers") or [])
    if meta.get("deletionTimestamp"):
        if finalizer in current and not in_use:
            return [f for f in current if f != finalizer]
        return None
    return None if finalizer in current else [*current, finalizer]


class StorageProtection:
    def __init__(self, client: APIClient, *, claims: Informer, volumes: Informer, pods: Informer) -> None:
        self.client = client
        self.claims = claims
        self.volumes = volumes
        self.pods = pods
        self.claim_loop = Controller("pvc-protection", self.sync_claim)
        self.volume_loop = Controller("pv-protection", self.sync_volume)
        claims.add_handlers(self.claim_loop.handlers())
        volumes.add_handlers(self.volume_loop.handlers())
        pods.add_handlers(on_update=lambda _o, n: self._pod_changed(n), on_delete=self._pod_changed)

    def _pod_changed(self, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace", "")
        for name in claims_of_pod(pod):
            key = f"{ns}/{name}"
            claim = self.claims.store.get(key)
            if claim is not None and (claim.get("metadata") or {}).get("deletionTimestamp"):
                self.claim_loop.queue.add(key)

    async def run(self) -> None:
        await asyncio.gather(self.claim_loop.run(), self.volume_loop.run())

    async def sync_claim(self, key: str) -> None:
        claim = self.claims.store.get(key)
        if claim is None:
            return
        ns, name = split_key(key)
        deleting = bool((claim.get("metadata") or {}).get("deletionTimestamp"))
        in_use = False
        if deleting:
            in_use = any(
                pod_uses_claim(p, name)
                for p in self.pods.store.list()
                if (p.get("metadata") or {}).get("namespace") == ns
            )
            if not in_use:  # the cache may not show a pod created a moment ago: ask the API
                pods = (await self.client.list(PODS, namespace=ns))["items"]
                in_use = any(pod_uses_claim(p, name) for p in pods)
        await self._apply(PVCS, claim, finalizer_change(claim, PVC_FINALIZER, in_use))

    async def sync_volume(self, key: str) -> None:
        pv = self.volumes.store.get(key)
        if pv is None:
            return
        in_use = (pv.get("status") or {}).get("phase") == "Bound"
        await self._apply(PVS, pv, finalizer_change(pv, PV_FINALIZER, in_use))

    async def _apply(self, res: ResourceLike, obj: Obj, finalizers: list[str] | None) -> None:
        if finalizers is None:
            return
        new = copy.deepcopy(obj)
        new["metadata"]["finalizers"] = finalizers
        try:
            await self.client.update(res, new)
        except Exception as e:
            if not is_not_found(e):
                raise  # a conflict means a newer object exists: the retry reads it


@register("storage-object-in-use-protection")
def _factory(ctx: ControllerContext) -> StorageProtection:
    return StorageProtection(
        ctx.client,
        claims=ctx.informers.informer(PVCS),
        volumes=ctx.informers.informer(PVS),
        pods=ctx.informers.informer(PODS),
    )
