"""Pod network across nodes: each other node's pod range routed via that node (host-gw).

Why: every pod has its own IP, reachable from every node without NAT. The CNI bridge only knows
its own node's /24; for the rest of the cluster CIDR, this node needs one route per other node:
``<node's spec.podCIDR> via <node's InternalIP>``. That is the whole "host-gw" backend, and it
works when all nodes share one L2 network (one switch, one bridge, one subnet), as the nodes of
`kyb dev cluster` do.

Pluggable backend. ``plan_routes`` decides *what* must be reachable (pod CIDR -> node address);
a ``RouteBackend`` decides *how*. ``HostGwBackend`` programs plain kernel routes. Nodes that are
not on one L2 network use the VXLAN overlay instead (kubelet/vxlan.py: a ``vxlan`` device, one
route, neighbour and FDB entry per peer); it needs more of each Node than CIDR and address (the
peer's VTEP MAC), so it has a manager of its own on the same SyncLoop, and the agent picks one of
the two by ``--network-backend``.

Ownership. The routes this node programs carry a protocol number of their own
(``proto 250``, ``ROUTE_PROTO``) and lie inside the cluster CIDR; the manager lists only those, so it
never touches a route somebody else made, and removes a route when its node leaves the cluster.

Invariants:
1. After a sync, the owned routes equal ``plan_routes(nodes)`` restricted to on-link gateways.
2. A node without a podCIDR or an InternalIP, and this node itself, have no route.
3. Syncs are debounced (a burst of Node updates makes one sync) and repeated every
   ``RESYNC_PERIOD`` seconds, so a route removed by hand comes back. Node updates that change
   neither podCIDR, InternalIP nor deletion (heartbeats) trigger nothing, and a sync costs two `ip`
   calls plus one per changed route, whatever the number of nodes (simulated clusters have many).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient, resource
from kybernetes.client.syncloop import SyncLoop

log = logging.getLogger("kyb.routes")
Obj = dict[str, Any]

NODES = resource("v1", "nodes")
ROUTE_PROTO = 250       # the `proto` of every route kybernetes programs (rt_protos: 0-255, unassigned here)
DEBOUNCE = 0.2
RESYNC_PERIOD = 30.0


def node_internal_ip(node: Obj) -> str:
    for addr in (node.get("status") or {}).get("addresses") or []:
        if addr.get("type") == "InternalIP" and addr.get("address"):
            return str(addr["address"])
    return ""


def plan_routes(nodes: Iterable[Obj], *, self_name: str, cluster_cidr: str = "") -> dict[str, str]:
    """{pod CIDR: via address} for every other node that has both (IPv4 only, as the pod network).
    With ``cluster_cidr``, ranges outside it are left out (they are not this cluster's pods)."""
    within = ipaddress.ip_network(cluster_cidr, strict=False) if cluster_cidr else None
    out: dict[str, str] = {}
    for node in nodes:
        meta = node.get("metadata") or {}
        if meta.get("name") == self_name or meta.get("deletionTimestamp"):
            continue
        spec = node.get("spec") or {}
        cidr = str(spec.get("podCIDR") or "")
        via = node_internal_ip(node)
        if not cidr or not via:
            continue
        try:
            net = ipaddress.ip_network(cidr, strict=False)
            gateway = ipaddress.ip_address(via)
        except ValueError:
            continue
        if net.version != 4 or gateway.version != 4:
            continue
        if within is not None and not net.subnet_of(within):  # type: ignore[arg-type]
            continue
        out[str(net)] = str(gateway)
    return out


@dataclass(frozen=True, slots=True)
class RouteChanges:
    replace: dict[str, str]     # cidr -> via: routes to add or repoint
    delete: list[str]           # cidrs whose node left

    def __bool__(self) -> bool:
        return bool(self.replace or self.delete)


def diff_routes(current: Mapping[str, str], desired: Mapping[str, str]) -> RouteChanges:
    replace = {cidr: via for cidr, via in sorted(desired.items()) if current.get(cidr) != via}
    return RouteChanges(replace=replace, delete=sorted(set(current) - set(desired)))


def parse_owned_routes(ip_json: str, *, cluster_cidr: str = "") -> dict[str, str]:
    """`ip -j route show proto 250` -> {cidr: via}; only gateway routes inside the cluster CIDR."""
    within = ipaddress.ip_network(cluster_cidr, strict=False) if cluster_cidr else None
    out: dict[str, str] = {}
    for entry in json.loads(ip_json or "[]"):
        dst, via = str(entry.get("dst") or ""), str(entry.get("gateway") or "")
        if not dst or not via or dst == "default":
            continue
        try:
            net = ipaddress.ip_network(dst, strict=False)
        except ValueError:
            continue
        if within is not None and (net.version != within.version or not net.subnet_of(within)):  # type: ignore[arg-type]
            continue
        out[str(net)] = via
    return out


def directly_connected(addresses: Iterable[str], link_routes_json: str) -> set[str]:
    """The addresses that lie on a directly connected network (`ip -j -4 route show scope link`),
    minus this machine's own; host-gw can use only those as next hops."""
    entries = json.loads(link_routes_json or "[]")
    nets = []
    own = set()
    for entry in entries:
        with contextlib.suppress(ValueError, KeyError):
            nets.append(ipaddress.ip_network(str(entry["dst"]), strict=False))
        if entry.get("prefsrc"):
            own.add(str(entry["prefsrc"]))
    out = set()
    for text in addresses:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            continue
        if text not in own and any(addr in net for net in nets):
            out.add(text)
    return out


def route_inputs(node: Obj) -> tuple[str, str, bool]:
    """What of a Node the plan reads: a change elsewhere (heartbeats, status) needs no sync."""
    meta = node.get("metadata") or {}
    return str((node.get("spec") or {}).get("podCIDR") or ""), node_internal_ip(node), bool(meta.get("deletionTimestamp"))


class RouteBackend(Protocol):
    """How the pod CIDRs of other nodes are made reachable (host-gw today, VXLAN later)."""

    async def owned(self) -> dict[str, str]: ...          # cidr -> via, the routes this backend made
    async def reachable(self, addresses: Iterable[str]) -> set[str]: ...  # the node addresses it can serve
    async def apply(self, changes: RouteChanges) -> list[str]: ...  # returns errors, one line each


async def _ip(*args: str, netns: str = "") -> tuple[int, str, str]:
    ns = ["-n", netns] if netns else []  # `ip -n` only switches the network namespace: fine for ip itself
    proc = await asyncio.create_subprocess_exec("ip", *ns, *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace").strip()


class HostGwBackend:
    """Plain kernel routes `CIDR via NODE_IP proto 250` (every node on one L2 network)."""

    def __init__(self, *, cluster_cidr: str = "", proto: int = ROUTE_PROTO, netns: str = "") -> None:
        self.cluster_cidr = cluster_cidr
        self.proto = proto
        self.netns = netns      # a named network namespace (tests); default: the agent's own

    async def owned(self) -> dict[str, str]:
        code, out, err = await _ip("-j", "-4", "route", "show", "proto", str(self.proto), netns=self.netns)
        if code != 0:
            raise RuntimeError(f"ip route show: {err}")
        return parse_owned_routes(out, cluster_cidr=self.cluster_cidr)

    async def reachable(self, addresses: Iterable[str]) -> set[str]:
        """host-gw needs each node directly connected (one `ip` call, whatever the node count)."""
        code, out, err = await _ip("-j", "-4", "route", "show", "scope", "link", netns=self.netns)
        if code != 0:
            raise RuntimeError(f"ip route show scope link: {err}")
        return directly_connected(addresses, out)

    async def apply(self, changes: RouteChanges) -> list[str]:
        errors = []
        for cidr in changes.delete:
            code, _, err = await _ip("route", "del", cidr, "proto", str(self.proto), netns=self.netns)
            if code != 0 and "No such process" not in err:
                errors.append(f"ip route del {cidr}: {err}")
        for cidr, via in changes.replace.items():
            code, _, err = await _ip("route", "replace", cidr, "via", via, "proto", str(self.proto),
                                     netns=self.netns)
            if code != 0:
                errors.append(f"ip route replace {cidr} via {via}: {err}")
        return errors


class RouteManager:
    """Keeps the owned routes equal to the plan, from a Node informer (the agent runs one)."""

    def __init__(self, client: APIClient, *, node_name: str, cluster_cidr: str = "",
                 backend: RouteBackend | None = None, debounce: float = DEBOUNCE,
                 resync: float = RESYNC_PERIOD) -> None:
        self.node_name = node_name
        self.cluster_cidr = cluster_cidr
        self.backend: RouteBackend = backend or HostGwBackend(cluster_cidr=cluster_cidr)
        self.nodes = Informer(client, NODES)
        self.loop = SyncLoop(self.sync, name="kubelet-routes", min_interval=debounce, max_delay=resync,
                             resync_period=resync)
        self._unreachable: set[str] = set()
        self.syncs = 0

    async def start(self) -> None:
        self.nodes.add_handlers(on_add=lambda _n: self.loop.kick(), on_update=self._node_updated,
                                on_delete=lambda _n: self.loop.kick())
        self.nodes.start()
        await self.nodes.wait_synced(30)
        self.loop.kick()
        self.loop.start()

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if route_inputs(old) != route_inputs(new):  # heartbeats (status every 10 s) change nothing here
            self.loop.kick()

    async def stop(self) -> None:
        """Routes stay: a restarted agent adopts them (teardown or the next sync removes stale ones)."""
        await self.loop.stop()
        await self.nodes.stop()

    async def sync(self) -> RouteChanges:
        desired = plan_routes(self.nodes.store.list(), self_name=self.node_name, cluster_cidr=self.cluster_cidr)
        reachable = await self.backend.reachable(set(desired.values())) if desired else set()
        for cidr, via in list(desired.items()):
            if via not in reachable:
                if via not in self._unreachable:
                    log.info("node address %s (pod CIDR %s) is not on this node's network: host-gw cannot "
                             "route to it", via, cidr)
                    self._unreachable.add(via)
                del desired[cidr]
        changes = diff_routes(await self.backend.owned(), desired)
        self.syncs += 1
        if changes:
            for line in await self.backend.apply(changes):
                log.warning("%s", line)
            log.info("pod routes: %d set, %d removed", len(changes.replace), len(changes.delete))
        return changes
