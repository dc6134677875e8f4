"""LoadBalancer Services on bare metal: publish the nodes' addresses as the load balancer.

Every node's proxy makes a LoadBalancer Service reachable on the IPs listed in its
``status.loadBalancer.ingress`` (and on its node port). With no cloud, this module is the
"cloud": it writes ``ingress = [{"ip": <node InternalIP>} ...]`` for every Ready node, sorted, and
clears it when a Service stops being a LoadBalancer. Services with ``spec.loadBalancerClass`` belong
to another implementation and are left alone.

Only one writer may run in a cluster, or two writers with different views of the nodes would fight.
So this is a controller for the (leader-elected) controller manager, not part of the per-node
proxy: `LoadBalancerStatusController(client).start()` there, or call `update_lb_status` from
any single place that already holds a leader lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kybernetes.client.errors import APIError, is_conflict, is_not_found
from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient, resource
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.util.tasks import cancel_and_wait

log = logging.getLogger("kyb.controllers.servicelb")

SERVICES = resource("v1", "services", namespaced=True)
NODES = resource("v1", "nodes", namespaced=False)


def node_addresses(nodes: Iterable[Mapping[str, Any]]) -> list[str]:
    """IPv4 InternalIP addresses of Ready, schedulable-or-not nodes, sorted numerically."""
    out: set[str] = set()
    for node in nodes:
        status = node.get("status") or {}
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        if not ready:
            continue
        for addr in status.get("addresses") or []:
            if addr.get("type") == "InternalIP":
                with contextlib.suppress(ValueError):
                    if ipaddress.ip_address(addr.get("address") or "").version == 4:
                        out.add(addr["address"])
    return sorted(out, key=ipaddress.IPv4Address)


def desired_ingress(service: Mapping[str, Any], addresses: list[str]) -> list[dict[str, str]] | None:
    """The ingress list this writer wants on `service`, or None when the Service is not its business."""
    spec = service.get("spec") or {}
    current = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    if spec.get("loadBalancerClass"):
        return None
    if spec.get("type") != "LoadBalancer":
        return [] if current else None  # was a LoadBalancer: withdraw the addresses we published
    return [{"ip": a} for a in addresses]


def _needs_write(service: Mapping[str, Any], want: list[dict[str, str]]) -> bool:
    current = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [{"ip": i.get("ip")} for i in current] != want or any(len(i) != 1 for i in current)


async def update_lb_status(client: APIClient, services: Iterable[Mapping[str, Any]],
                           nodes: Iterable[Mapping[str, Any]]) -> int:
    """Write status.loadBalancer.ingress where it differs from the nodes' addresses; returns writes."""
    addresses = node_addresses(nodes)
    writes = 0
    for svc in services:
        want = desired_ingress(svc, addresses)
        if want is None or not _needs_write(svc, want):
            continue
        meta = svc.get("metadata") or {}
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion")},
                "status": {"loadBalancer": {"ingress": want or None}}}  # null removes the list
        try:
            await client.patch(SERVICES, meta["name"], body, namespace=meta.get("namespace") or "default",
                               subresource="status")
            writes += 1
        except APIError as exc:
            if not (is_conflict(exc) or is_not_found(exc)):  # a newer version will come by the informer
                raise
    return writes


class LoadBalancerStatusController:
    """Keeps every LoadBalancer Service's ingress equal to the Ready nodes' addresses."""

    def __init__(self, client: APIClient, *, min_interval: float = 0.2) -> None:
        self.client = client
        self.min_interval = min_interval
        self.services = Informer(client, SERVICES)
        self.nodes = Informer(client, NODES)
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.writes = 0
        for inf in (self.services, self.nodes):
            inf.add_handlers(on_add=lambda _o: self._dirty.set(), on_update=lambda _o, _n: self._dirty.set(),
                             on_delete=lambda _o: self._dirty.set())

    async def start(self) -> None:
        self.services.start()
        self.nodes.start()
        await self.services.wait_synced()
        await self.nodes.wait_synced()
        self._dirty.set()
        self._task = asyncio.create_task(self._loop(), name="kyb-lb-status")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        await self.services.stop()
        await self.nodes.stop()

    async def _loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                self.writes += await update_lb_status(self.client, self.services.store.list(), self.nodes.store.list())
            except Exception as exc:  # retried on the next event or after the pause below
                log.warning("load balancer status: %s", exc)
                self._dirty.set()
            await asyncio.sleep(self.min_interval)


class _ServiceLBLoop:
    """The controller manager's view: run until cancelled (one writer, under leader election)."""

    def __init__(self, client: APIClient) -> None:
        self.controller = LoadBalancerStatusController(client)

    async def run(self) -> None:
        await self.controller.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.controller.stop()


@register("service-lb")
def new_service_lb_controller(ctx: ControllerContext) -> _ServiceLBLoop:
    return _ServiceLBLoop(ctx.client)
