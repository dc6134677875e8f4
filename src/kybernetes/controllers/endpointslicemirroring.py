"""The EndpointSlice mirroring controller: slices for Services whose Endpoints are written by hand.

A Service without a selector gets no endpoints from the EndpointSlice controller; a user (or an
operator) writes its core/v1 Endpoints instead. Proxies and DNS read EndpointSlices only, so this
loop mirrors such Endpoints into slices labelled ``endpointslice.kubernetes.io/managed-by:
endpointslicemirroring-controller.k8s.io`` and ``kubernetes.io/service-name``, owned (controller
reference) by the Endpoints object. ``addresses`` become ready endpoints, ``notReadyAddresses``
not-ready ones; each subset's ports go with its addresses. Endpoints labelled
``endpointslice.kubernetes.io/skip-mirror: "true"`` (the API server's own ``kubernetes``
Endpoints) and Endpoints of Services with a selector are not mirrored; their mirrored slices, if any,
are removed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from kybernetes.client import Controller
from kybernetes.client.store import split_key
from kybernetes.controllers.endpoints import ENDPOINTS, SERVICES, go_time_nano
from kybernetes.controllers.endpointslice import (
    ENDPOINT_SLICES,
    MANAGED_BY_LABEL,
    SERVICE_INDEX,
    SERVICE_NAME_LABEL,
    GroupKey,
    SliceOwner,
    SlicePlan,
    execute_plan,
    index_by_service,
    plan_slices,
    ports_key,
)
from kybernetes.controllers.manager import ControllerContext, register

Obj = dict[str, Any]
MIRROR_CONTROLLER = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
# labels of an Endpoints object that are not carried over to its slices
_NOT_MIRRORED = frozenset({SKIP_MIRROR_LABEL, MANAGED_BY_LABEL, SERVICE_NAME_LABEL})


def should_mirror(endpoints: Mapping[str, Any] | None, service: Mapping[str, Any] | None) -> bool:
    if endpoints is None or service is None:
        return False
    if ((endpoints.get("metadata") or {}).get("labels") or {}).get(SKIP_MIRROR_LABEL) == "true":
        return False
    if (service.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return not (service.get("spec") or {}).get("selector")


def address_type_of(ip: str) -> str:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return ""


def mirror_groups(endpoints: Mapping[str, Any]) -> dict[GroupKey, tuple[list[Obj], list[Obj]]]:
    groups: dict[GroupKey, tuple[list[Obj], list[Obj]]] = {}
    for subset in endpoints.get("subsets") or []:
        ports = sorted(({"name": p.get("name") or "", "port": int(p.get("port") or 0),
                         "protocol": p.get("protocol") or "TCP",
                         **({"appProtocol": p["appProtocol"]} if p.get("appProtocol") else {})}
                        for p in subset.get("ports") or []),
                       key=lambda p: (p["name"], p["port"], p["protocol"]))
        for ready, addrs in ((True, subset.get("addresses") or []), (False, subset.get("notReadyAddresses") or [])):
            for a in addrs:
                ip = str(a.get("ip") or "")
                at = address_type_of(ip)
                if not at:
                    continue
                ep: Obj = {"addresses": [ip], "conditions": {"ready": ready}}
                for k in ("hostname", "nodeName", "targetRef"):
                    if a.get(k):
                        ep[k] = a[k]
                groups.setdefault((at, ports_key(ports)), (ports, []))[1].append(ep)
    for _, eps in groups.values():
        eps.sort(key=lambda e: e["addresses"][0])
    return groups


def mirror_owner(endpoints: Mapping[str, Any]) -> SliceOwner:
    meta = endpoints.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k not in _NOT_MIRRORED}
    labels[SERVICE_NAME_LABEL] = str(meta.get("name") or "")
    labels[MANAGED_BY_LABEL] = MIRROR_CONTROLLER
    owner = {"apiVersion": "v1", "kind": "Endpoints", "name": meta.get("name"), "uid": meta.get("uid"),
             "controller": True, "blockOwnerDeletion": True}
    return SliceOwner(str(meta.get("namespace") or ""), f"{meta.get('name')}-", labels, owner)


class EndpointSliceMirroringController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer(SERVICES)
        self.endpoints = ctx.informers.informer(ENDPOINTS)
        self.slices = ctx.informers.informer(ENDPOINT_SLICES, indexers={SERVICE_INDEX: index_by_service})
        self.controller = Controller("endpointslicemirroring", self.sync, workers=2)
        self.services.add_handlers(self.controller.handlers())
        self.endpoints.add_handlers(self.controller.handlers())
        self.slices.add_handlers(on_update=lambda _o, n: self._slice_changed(n), on_delete=self._slice_changed)

    def _slice_changed(self, s: Obj) -> None:
        if ((s.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MIRROR_CONTROLLER:
            for key in index_by_service(s):
                self.controller.queue.add(key)

    async def sync(self, key: str) -> None:
        ns, _ = split_key(key)
        endpoints = self.endpoints.store.get(key)
        existing = [s for s in self.slices.store.by_index(SERVICE_INDEX, key)
                    if ((s.get("metadata") or {}).get("labels") or {}).get(MANAGED_BY_LABEL) == MIRROR_CONTROLLER]
        if endpoints is not None and should_mirror(endpoints, self.services.store.get(key)):
            plan = plan_slices(mirror_owner(endpoints), existing, mirror_groups(endpoints), now=go_time_nano())
        else:
            plan = SlicePlan(delete=[dict(s) for s in existing])
        if not plan.empty:
            await execute_plan(self.client, plan, ns)

    async def run(self) -> None:
        await self.controller.run()


@register("endpointslicemirroring")
def new_endpointslicemirroring_controller(ctx: ControllerContext) -> EndpointSliceMirroringController:
    return EndpointSliceMirroringController(ctx)
