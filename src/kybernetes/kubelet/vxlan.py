"""Pod network across nodes on different L3 networks: a VXLAN overlay (`--network-backend vxlan`).

Why: host-gw (routes.py) routes a node's pod range via that node's address, which works only
when every node is directly connected (one L2 segment). Across routers, the pod packet must
travel inside a packet addressed to the node itself. This is the layout flannel's ``vxlan``
backend uses, which needs no learning, no multicast and no daemon answering kernel misses:

* one ``vxlan`` device per node (``kyb.vxlan``; flannel calls it ``flannel.1``): VNI 1, UDP port
  8472 (the Linux default, not IANA's 4789), ``local`` = the node address, bound to the
  interface that carries it, learning off, MTU = that interface's MTU - 50 (the outer IPv4, UDP,
  VXLAN and Ethernet headers). Its own address is the first address (``.0``) of this node's pod
  range, as a /32: the VTEP IP, the source of host-to-pod traffic;
* its MAC, the VTEP MAC, is published on the Node as the annotation ``kybernetes.io/vxlan-vtep-mac``
  (flannel: ``flannel.alpha.coreos.com/backend-data`` = ``{"VtepMAC": ...}``; one plain value is
  enough here, as the VNI is cluster-wide and the node address is its InternalIP). A node without
  the annotation has no VTEP yet, so no one sends to it;
* per other node: a route ``<podCIDR> via <its VTEP IP> dev kyb.vxlan onlink``, a permanent
  neighbour ``<its VTEP IP> -> <its VTEP MAC>`` and an FDB entry ``<its VTEP MAC> -> dst <its
  InternalIP>``: route, then ARP, then "which node owns that MAC" — three table lookups, no miss.

The VTEP MAC is derived from the VTEP IP (``0e:6b:`` + its four bytes; locally administered), so
a recreated device keeps its MAC and peers never need to relearn it.

Decide, then do. ``plan_vxlan`` turns the Node list into the wanted device and ``Fabric`` (routes,
neighbours, FDB); ``diff_fabric`` and ``device_commands``/``fabric_commands`` turn the difference
with what the kernel shows into `ip`/`bridge` commands (the `ip` tool, as routes.py). The executor
only runs them; ``VxlanManager`` keeps the kernel equal to the plan with the same ``SyncLoop`` as
host-gw. Everything on the device is this node's, so a node that left loses its three entries at
the next sync, and `kyb node-reset` deletes the device (and so all of it).

Limits: IPv4 only, as the pod network; one vxlan node per network namespace (two devices with one
VNI and port would collide).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient
from kybernetes.client.syncloop import SyncLoop
from kybernetes.kubelet.routes import DEBOUNCE, NODES, RESYNC_PERIOD, ROUTE_PROTO, node_internal_ip

log = logging.getLogger("kyb.vxlan")
Obj = dict[str, Any]

BACKENDS = ("host-gw", "vxlan")
VNI = 1
VXLAN_PORT = 8472
ENCAP_OVERHEAD = 50  # outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14)
VTEP_MAC_ANNOTATION = "kybernetes.io/vxlan-vtep-mac"
DEFAULT_DEVICE = "kyb.vxlan"
MAC_PREFIX = "0e:6b"  # 0x0e: unicast, locally administered
ZERO_MAC = "00:00:00:00:00:00"


def device_name(bridge: str = "kyb0") -> str:
    """The node with the default bridge gets ``kyb.vxlan``; another bridge (another node sharing
    this network namespace) gets its own name, at most 15 characters."""
    return DEFAULT_DEVICE if bridge == "kyb0" else f"{bridge[:12]}.vx"


def pod_mtu(underlay_mtu: int) -> int:
    return underlay_mtu - ENCAP_OVERHEAD


def vtep_ip(pod_cidr: str) -> str:
    return str(ipaddress.ip_network(pod_cidr, strict=False).network_address)


def vtep_mac(vtep_address: str) -> str:
    raw = ipaddress.IPv4Address(vtep_address).packed
    return ":".join([MAC_PREFIX, *(f"{b:02x}" for b in raw)])


def normal_mac(text: str) -> str:
    """A unicast MAC in lower-case colon form, or "" for anything else (garbage annotations)."""
    parts = text.strip().lower().replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) == 2 and all(c in "0123456789abcdef" for c in p) for p in parts):
        return ""
    mac = ":".join(parts)
    return "" if mac == ZERO_MAC or int(parts[0], 16) & 1 else mac


# ---- the plan ----


@dataclass(frozen=True, slots=True)
class Underlay:
    """The interface that carries the node address (the outer packets leave through it)."""

    device: str
    address: str
    mtu: int


@dataclass(frozen=True, slots=True)
class VxlanDevice:
    name: str
    local: str  # the node address: source of the outer packets
    underlay: str
    mtu: int
    mac: str
    address: str  # the VTEP IP (.0 of the pod range), as a /32
    vni: int = VNI
    port: int = VXLAN_PORT


@dataclass(frozen=True, slots=True)
class Fabric:
    routes: Mapping[str, str] = field(default_factory=dict)  # remote pod CIDR -> its VTEP IP
    neighbours: Mapping[str, str] = field(default_factory=dict)  # remote VTEP IP -> its VTEP MAC
    fdb: Mapping[str, str] = field(default_factory=dict)  # remote VTEP MAC -> its node address


@dataclass(frozen=True, slots=True)
class VxlanPlan:
    device: VxlanDevice | None  # None until this node has a pod range
    fabric: Fabric


def plan_device(pod_cidr: str, underlay: Underlay, *, bridge: str = "kyb0") -> VxlanDevice:
    vtep = vtep_ip(pod_cidr)
    return VxlanDevice(
        name=device_name(bridge),
        local=underlay.address,
        underlay=underlay.device,
        mtu=pod_mtu(underlay.mtu),
        mac=vtep_mac(vtep),
        address=vtep,
    )


def plan_vxlan(
    nodes: Iterable[Obj], *, self_name: str, underlay: Underlay, cluster_cidr: str = "", bridge: str = "kyb0"
) -> VxlanPlan:
    """The device this node needs and one route, neighbour and FDB entry per other node that has
    a pod range (IPv4, inside the cluster CIDR), an InternalIP and a VTEP MAC. Nodes are taken by
    name, so when two claim one MAC (a broken annotation) the first keeps it."""
    within = ipaddress.ip_network(cluster_cidr, strict=False) if cluster_cidr else None
    routes: dict[str, str] = {}
    neighbours: dict[str, str] = {}
    fdb: dict[str, str] = {}
    device: VxlanDevice | None = None
    for node in sorted(nodes, key=lambda n: str((n.get("metadata") or {}).get("name") or "")):
        meta = node.get("metadata") or {}
        cidr = str((node.get("spec") or {}).get("podCIDR") or "")
        try:
            net = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            continue
        if net.version != 4 or (within is not None and not net.subnet_of(within)):  # type: ignore[arg-type]
            continue
        if meta.get("name") == self_name:
            device = plan_device(str(net), underlay, bridge=bridge)
            continue
        mac = normal_mac(str((meta.get("annotations") or {}).get(VTEP_MAC_ANNOTATION) or ""))
        address = node_internal_ip(node)
        if meta.get("deletionTimestamp") or not mac or mac in fdb or not _is_ipv4(address):
            continue
        if address == underlay.address:
            continue  # a stale Node object claiming this machine's address
        vtep = str(net.network_address)
        routes[str(net)] = vtep
        neighbours[vtep] = mac
        fdb[mac] = address
    if device is None:
        return VxlanPlan(device=None, fabric=Fabric())
    return VxlanPlan(device=device, fabric=Fabric(routes=routes, neighbours=neighbours, fdb=fdb))


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def node_inputs(node: Obj) -> tuple[str, str, bool, str]:
    """What of a Node the plan reads: heartbeats change none of it and need no sync."""
    meta = node.get("metadata") or {}
    return (
        str((node.get("spec") or {}).get("podCIDR") or ""),
        node_internal_ip(node),
        bool(meta.get("deletionTimestamp")),
        str((meta.get("annotations") or {}).get(VTEP_MAC_ANNOTATION) or ""),
    )


# ---- what the kernel shows ----


def find_underlay(addr_json: str, node_ip: str) -> Underlay | None:
    """From `ip -j -4 addr show`: the interface holding the node address, with its MTU."""
    for link in json.loads(addr_json or "[]"):
        for info in link.get("addr_info") or []:
            if info.get("local") == node_ip and link.get("ifname"):
                return Underlay(device=str(link["ifname"]), address=node_ip, mtu=int(link.get("mtu") or 1500))
    return None


def parse_device(link_json: str) -> Obj | None:
    """From `ip -d -j link show dev NAME`: the settings that matter, or None if it is no vxlan."""
    links = json.loads(link_json or "[]")
    if not links:
        return None
    link = links[0]
    info = link.get("linkinfo") or {}
    if info.get("info_kind") != "vxlan":
        return None
    data = info.get("info_data") or {}
    return {
        "vni": data.get("id"),
        "port": data.get("port"),
        "local": data.get("local", ""),
        "underlay": data.get("link", ""),
        "learning": bool(data.get("learning")),
        "mac": str(link.get("address") or "").lower(),
        "mtu": link.get("mtu"),
        "up": "UP" in (link.get("flags") or []),
    }


def parse_addresses(addr_json: str) -> list[str]:
    """From `ip -j -4 addr show dev NAME`: its addresses as ADDR/LEN."""
    out = []
    for link in json.loads(addr_json or "[]"):
        for info in link.get("addr_info") or []:
            if info.get("family") == "inet" and info.get("local"):
                out.append(f"{info['local']}/{info.get('prefixlen', 32)}")
    return out


def parse_fabric(routes_json: str, neigh_json: str, fdb_json: str) -> Fabric:
    """The device's routes (`ip -j -4 route show dev D proto 250`), permanent neighbours
    (`ip -j -4 neigh show dev D nud permanent`) and FDB entries with a remote (`bridge -j fdb show dev D`)."""
    routes = {}
    for entry in json.loads(routes_json or "[]"):
        dst, gateway = str(entry.get("dst") or ""), str(entry.get("gateway") or "")
        if dst and gateway and dst != "default":
            routes[str(ipaddress.ip_network(dst, strict=False))] = gateway
    neighbours = {
        str(e["dst"]): str(e["lladdr"]).lower()
        for e in json.loads(neigh_json or "[]")
        if e.get("dst") and e.get("lladdr")
    }
    fdb = {
        str(e["mac"]).lower(): str(e["dst"])
        for e in json.loads(fdb_json or "[]")
        if e.get("mac") and e.get("dst") and str(e["mac"]).lower() != ZERO_MAC
    }
    return Fabric(routes=routes, neighbours=neighbours, fdb=fdb)


# ---- the difference, as commands ----


@dataclass(frozen=True, slots=True)
class MapChanges:
    replace: dict[str, str]  # key -> wanted value
    delete: dict[str, str]  # key -> value it had (an FDB delete names its remote)

    def __bool__(self) -> bool:
        return bool(self.replace or self.delete)


@dataclass(frozen=True, slots=True)
class FabricChanges:
    routes: MapChanges
    neighbours: MapChanges
    fdb: MapChanges

    def __bool__(self) -> bool:
        return bool(self.routes or self.neighbours or self.fdb)


def diff_map(current: Mapping[str, str], desired: Mapping[str, str]) -> MapChanges:
    return MapChanges(
        replace={k: v for k, v in sorted(desired.items()) if current.get(k) != v},
        delete={k: v for k, v in sorted(current.items()) if k not in desired},
    )


def diff_fabric(current: Fabric, desired: Fabric) -> FabricChanges:
    return FabricChanges(
        routes=diff_map(current.routes, desired.routes),
        neighbours=diff_map(current.neighbours, desired.neighbours),
        fdb=diff_map(current.fdb, desired.fdb),
    )


def device_commands(current: Obj | None, addresses: list[str], want: VxlanDevice) -> list[list[str]]:
    """Create the device, or recreate it when what cannot change in place differs; then MTU, up
    and its single /32 address. Empty when all is as wanted."""
    cmds: list[list[str]] = []
    fixed = {
        "vni": want.vni,
        "port": want.port,
        "local": want.local,
        "underlay": want.underlay,
        "learning": False,
        "mac": want.mac,
    }
    if current is not None and any(current.get(k) != v for k, v in fixed.items()):
        cmds.append(["ip", "link", "del", want.name])
        current, addresses = None, []
    if current is None:
        cmds.append(
            [
                "ip",
                "link",
                "add",
                want.name,
                "address",
                want.mac,
                "mtu",
                str(want.mtu),
                "type",
                "vxlan",
                "id",
                str(want.vni),
                "local",
                want.local,
                "dev",
                want.underlay,
                "dstport",
                str(want.port),
                "nolearning",
            ]
        )
    elif current.get("mtu") != want.mtu:
        cmds.append(["ip", "link", "set", want.name, "mtu", str(want.mtu)])
    if current is None or not current.get("up"):
        cmds.append(["ip", "link", "set", want.name, "up"])
    wanted = f"{want.address}/32"
    cmds += [["ip", "addr", "del", a, "dev", want.name] for a in addresses if a != wanted]
    if wanted not in addresses:
        cmds.append(["ip", "addr", "add", wanted, "dev", want.name])
    return cmds


def fabric_commands(changes: FabricChanges, device: str, *, proto: int = ROUTE_PROTO) -> list[list[str]]:
    """Routes go first and come last: a route whose neighbour is not there yet would make the
    kernel ARP into the tunnel (as flannel orders it)."""
    cmds = [
        ["ip", "route", "del", cidr, "via", via, "dev", device, "proto", str(proto)]
        for cidr, via in changes.routes.delete.items()
    ]
    cmds += [["ip", "neigh", "del", ip, "dev", device] for ip in changes.neighbours.delete]
    cmds += [
        ["bridge", "fdb", "del", mac, "dev", device, "dst", dst, "self"]
        for mac, dst in changes.fdb.delete.items()
    ]
    cmds += [
        ["ip", "neigh", "replace", ip, "lladdr", mac, "dev", device, "nud", "permanent"]
        for ip, mac in changes.neighbours.replace.items()
    ]
    cmds += [
        ["bridge", "fdb", "replace", mac, "dev", device, "dst", dst, "self", "permanent"]
        for mac, dst in changes.fdb.replace.items()
    ]
    cmds += [
        ["ip", "route", "replace", cidr, "via", via, "dev", device, "onlink", "proto", str(proto)]
        for cidr, via in changes.routes.replace.items()
    ]
    return cmds


# ---- the executor ----


async def _run(argv: list[str], netns: str = "") -> tuple[int, str, str]:
    ns = ["-n", netns] if netns else []  # both `ip` and `bridge` take -n NETNS
    proc = await asyncio.create_subprocess_exec(
        argv[0], *ns, *argv[1:], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace").strip()


async def read_underlay(node_ip: str, *, netns: str = "") -> Underlay:
    code, out, err = await _run(["ip", "-j", "-4", "addr", "show"], netns)
    if code != 0:
        raise RuntimeError(f"ip addr show: {err}")
    found = find_underlay(out, node_ip)
    if found is None:
        raise RuntimeError(f"the vxlan backend needs the node address {node_ip} on an interface of this node")
    return found


class VxlanBackend:
    """Reads and programs one vxlan device (in a named network namespace for tests)."""

    def __init__(self, device: str = DEFAULT_DEVICE, *, netns: str = "", proto: int = ROUTE_PROTO) -> None:
        self.device = device
        self.netns = netns
        self.proto = proto

    async def _show(self, *argv: str) -> str:
        code, out, err = await _run(list(argv), self.netns)
        if code != 0:
            raise RuntimeError(f"{' '.join(argv[:4])}: {err}")
        return out

    async def read_device(self) -> tuple[Obj | None, list[str]]:
        code, out, _ = await _run(["ip", "-d", "-j", "link", "show", "dev", self.device], self.netns)
        if code != 0:  # no such device
            return None, []
        return parse_device(out), parse_addresses(
            await self._show("ip", "-j", "-4", "addr", "show", "dev", self.device)
        )

    async def read_fabric(self) -> Fabric:
        d = self.device
        return parse_fabric(
            await self._show("ip", "-j", "-4", "route", "show", "dev", d, "proto", str(self.proto)),
            await self._show("ip", "-j", "-4", "neigh", "show", "dev", d, "nud", "permanent"),
            await self._show("bridge", "-j", "fdb", "show", "dev", d),
        )

    async def run(self, cmds: list[list[str]]) -> list[str]:
        errors = []
        for argv in cmds:
            code, _, err = await _run(argv, self.netns)
            if code != 0 and not (argv[2] == "del" and ("No such" in err or "Cannot find" in err)):
                errors.append(f"{' '.join(argv)}: {err}")
        return errors

    async def apply(self, plan: VxlanPlan) -> tuple[FabricChanges | None, list[str]]:
        """Make the kernel match the plan; returns what changed in the fabric and the errors."""
        if plan.device is None:
            return None, []
        assert plan.device.name == self.device
        current, addresses = await self.read_device()
        errors = await self.run(device_commands(current, addresses, plan.device))
        if errors:
            return None, errors
        changes = diff_fabric(await self.read_fabric(), plan.fabric)
        return changes, await self.run(fabric_commands(changes, self.device, proto=self.proto))


def remove_vxlan_device(bridge: str = "kyb0") -> bool:
    """`kyb node-reset`: delete this node's vxlan device (its routes, neighbours and FDB go with
    it); only a device of kind vxlan, never another interface of that name."""
    name = device_name(bridge)
    shown = subprocess.run(
        ["ip", "-d", "-j", "link", "show", "dev", name], capture_output=True, text=True, check=False
    )
    if shown.returncode != 0 or parse_device(shown.stdout) is None:
        return False
    return subprocess.run(["ip", "link", "del", name], capture_output=True, check=False).returncode == 0


# ---- the manager ----


class VxlanManager:
    """Keeps the vxlan device and its fabric equal to the plan, from a Node informer, and this
    node's VTEP MAC on its Node (the agent runs one instead of the host-gw RouteManager)."""

    def __init__(
        self,
        client: APIClient,
        *,
        node_name: str,
        node_ip: str,
        pod_cidr: str,
        cluster_cidr: str = "",
        bridge: str = "kyb0",
        netns: str = "",
        debounce: float = DEBOUNCE,
        resync: float = RESYNC_PERIOD,
    ) -> None:
        self.client = client
        self.node_name = node_name
        self.node_ip = node_ip
        self.pod_cidr = pod_cidr
        self.cluster_cidr = cluster_cidr
        self.bridge = bridge
        self.netns = netns
        self.backend = VxlanBackend(device_name(bridge), netns=netns)
        self.nodes = Informer(client, NODES)
        self.loop = SyncLoop(
            self.sync, name="kubelet-vxlan", min_interval=debounce, max_delay=resync, resync_period=resync
        )
        self.underlay: Underlay | None = None
        self.syncs = 0

    @property
    def mac(self) -> str:
        return vtep_mac(vtep_ip(self.pod_cidr))

    async def start(self) -> None:
        self.underlay = await read_underlay(self.node_ip, netns=self.netns)
        self.nodes.add_handlers(
            on_add=lambda _n: self.loop.kick(),
            on_update=self._node_updated,
            on_delete=lambda _n: self.loop.kick(),
        )
        self.nodes.start()
        await self.nodes.wait_synced(30)
        self.loop.kick()
        self.loop.start()

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if node_inputs(old) != node_inputs(new):
            self.loop.kick()

    async def stop(self) -> None:
        """The device stays: pods keep talking while the agent restarts (node-reset removes it)."""
        await self.loop.stop()
        await self.nodes.stop()

    async def sync(self) -> FabricChanges | None:
        assert self.underlay is not None
        nodes = self.nodes.store.list()
        plan = plan_vxlan(
            nodes,
            self_name=self.node_name,
            underlay=self.underlay,
            cluster_cidr=self.cluster_cidr,
            bridge=self.bridge,
        )
        changes, errors = await self.backend.apply(plan)
        self.syncs += 1
        for line in errors:
            log.warning("%s", line)
        if plan.device is not None and not errors:
            await self._publish_mac(nodes, plan.device.mac)  # only once the VTEP can receive
        if changes:
            log.info(
                "vxlan peers: %d routes, %d neighbours, %d fdb set; %d nodes left",
                len(changes.routes.replace),
                len(changes.neighbours.replace),
                len(changes.fdb.replace),
                len(changes.routes.delete),
            )
        return changes

    async def _publish_mac(self, nodes: list[Obj], mac: str) -> None:
        mine = next((n for n in nodes if (n.get("metadata") or {}).get("name") == self.node_name), None)
        if mine is not None and ((mine["metadata"].get("annotations") or {}).get(VTEP_MAC_ANNOTATION) == mac):
            return
        await self.client.patch(
            NODES, self.node_name, {"metadata": {"annotations": {VTEP_MAC_ANNOTATION: mac}}}
        )
        log.info("published VTEP MAC %s on node %s", mac, self.node_name)
