"""Node IPAM: each Node gets its own pod subnet (``spec.podCIDR``/``podCIDRs``), as upstream's range allocator.

The cluster CIDR (10.42.0.0/16 by default) is cut into /24s. A Node without a podCIDR gets the
lowest free one; a Node's deletion frees its subnet. Before allocating anything the loop marks the
subnets of every existing Node as used (its informer has synced by then), so a restarted
controller never hands out a subnet twice. ``spec.podCIDR`` is immutable once set, so an
allocation is only ever written once; the allocator remembers what it wrote until the cache shows
it, so a stale cache does not make it allocate a second subnet to the same Node.

Options (``ctx.options["nodeipam"]``): ``cluster_cidr``, ``node_mask_size``.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, EventRecorder, Informer, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.nodeipam")

NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]
CLUSTER_CIDR = "10.42.0.0/16"
NODE_MASK_SIZE = 24
COMPONENT = "node-ipam-controller"

Obj = dict[str, Any]


class CIDRSet:
    """The subnets of one cluster CIDR, each free or used (upstream's cidrset)."""

    def __init__(self, cluster_cidr: str = CLUSTER_CIDR, mask: int = NODE_MASK_SIZE) -> None:
        self.network = ipaddress.ip_network(cluster_cidr)
        if mask < self.network.prefixlen:
            raise ValueError(f"node mask /{mask} is larger than the cluster CIDR {cluster_cidr}")
        self.mask = mask
        self.size = 2 ** (mask - self.network.prefixlen)
        self._used: set[int] = set()

    def _index(self, cidr: str) -> int | None:
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return None
        if net.version != self.network.version or net.prefixlen != self.mask or not net.subnet_of(self.network):  # type: ignore[arg-type]
            return None
        return (int(net.network_address) - int(self.network.network_address)) >> (net.max_prefixlen - self.mask)

    def _cidr(self, index: int) -> str:
        base = int(self.network.network_address) + (index << (self.network.max_prefixlen - self.mask))
        return f"{ipaddress.ip_address(base)}/{self.mask}"

    def occupy(self, cidr: str) -> bool:
        """Mark a subnet used; False when it is not one of this set's subnets."""
        i = self._index(cidr)
        if i is None:
            return False
        self._used.add(i)
        return True

    def release(self, cidr: str) -> None:
        i = self._index(cidr)
        if i is not None:
            self._used.discard(i)

    def allocate(self) -> str | None:
        """The lowest free subnet (now used), or None when all are taken."""
        for i in range(self.size):
            if i not in self._used:
                self._used.add(i)
                return self._cidr(i)
        return None

    @property
    def used(self) -> int:
        return len(self._used)


def node_cidrs(node: Obj) -> list[str]:
    spec = node.get("spec") or {}
    cidrs = list(spec.get("podCIDRs") or [])
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    return cidrs


class NodeIPAM:
    def __init__(self, client: APIClient, nodes: Informer, recorder: EventRecorder, *,
                 cluster_cidr: str = CLUSTER_CIDR, mask: int = NODE_MASK_SIZE) -> None:
        self.client = client
        self.nodes = nodes
        self.recorder = recorder
        self.cidrs = CIDRSet(cluster_cidr, mask)
        self.assigned: dict[str, str] = {}  # node name -> subnet we own for it (written or being written)
        self.controller = Controller("nodeipam", self.sync, workers=1)
        nodes.add_handlers(on_add=self.controller.enqueue, on_update=lambda _o, n: self.controller.enqueue(n),
                           on_delete=self._deleted)

    def _deleted(self, node: Obj) -> None:
        name = str((node.get("metadata") or {}).get("name") or "")
        self.controller.queue.add(name)

    async def run(self) -> None:
        for node in self.nodes.store.list():  # the informer has synced: claim every existing subnet first
            for cidr in node_cidrs(node):
                if self.cidrs.occupy(cidr):
                    self.assigned[node["metadata"]["name"]] = cidr
        await self.controller.run()

    async def sync(self, name: str) -> None:
        node = self.nodes.store.get(name)
        if node is None:
            cidr = self.assigned.pop(name, None)
            if cidr is not None:
                self.cidrs.release(cidr)
            return
        existing = node_cidrs(node)
        if existing:
            for cidr in existing:
                self.cidrs.occupy(cidr)
            mine = self.assigned.get(name)
            if mine is not None and mine not in existing:
                self.cidrs.release(mine)
            if existing:
                self.assigned[name] = existing[0]
            return
        cidr = self.assigned.get(name)
        if cidr is None:
            cidr = self.cidrs.allocate()
            if cidr is None:
                self.recorder.event(node, "Normal", "CIDRNotAvailable", f"Node {name} status is now: CIDRNotAvailable")
                return
            self.assigned[name] = cidr
        try:
            await self.client.patch(NODES, name, {"spec": {"podCIDR": cidr, "podCIDRs": [cidr]}})
        except Exception as e:
            if is_not_found(e):
                self.cidrs.release(self.assigned.pop(name, cidr))
                return
            # Keep the subnet reserved for this node and retry: the write may have landed.
            raise
        log.info("node %s: podCIDR %s", name, cidr)


@register("nodeipam")
def _factory(ctx: ControllerContext) -> NodeIPAM:
    opts = ctx.options.get("nodeipam") or {}
    nodes = ctx.informers.informer(NODES)
    return NodeIPAM(ctx.client, nodes, ctx.recorder(COMPONENT), cluster_cidr=opts.get("cluster_cidr", CLUSTER_CIDR),
                    mask=int(opts.get("node_mask_size", NODE_MASK_SIZE)))
