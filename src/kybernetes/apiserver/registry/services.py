"""ClusterIP, NodePort and healthCheckNodePort allocation for Services.

Allocations are not stored separately: the set of allocated addresses and ports is rebuilt
from the stored Services at start (so they survive restarts), then kept in memory and changed
only under one lock, before the Service write that makes them visible. A failed write releases
what it took.

A LoadBalancer Service with externalTrafficPolicy Local also gets `spec.healthCheckNodePort` from
the node-port range (the port each node's proxy answers load-balancer health checks on). As upstream:
a requested value is reserved, else one is picked; it cannot change while still needed; it is
released and cleared when the Service stops needing it; setting it on any other Service is invalid.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from typing import Any

from kybernetes.apiserver.registry.store import Hooks, Store
from kybernetes.machinery import errors
from kybernetes.machinery.errors import Cause

Obj = dict[str, Any]
DEFAULT_SERVICE_CIDR = "10.43.0.0/16"
NODE_PORT_RANGE = (30000, 32767)


class ServiceAllocator(Hooks):
    def __init__(self, service_cidr: str = DEFAULT_SERVICE_CIDR,
                 node_ports: tuple[int, int] = NODE_PORT_RANGE) -> None:
        self.network = ipaddress.ip_network(service_cidr)
        self.node_ports = node_ports
        self.ips: set[str] = set()
        self.ports: set[int] = set()
        self._lock = asyncio.Lock()

    def first_ip(self) -> str:
        return str(self.network.network_address + 1)

    def rebuild(self, services: list[Obj]) -> None:
        self.ips.clear()
        self.ports.clear()
        for svc in services:
            for ip in _cluster_ips(svc):
                self.ips.add(ip)
            for p in _all_node_ports(svc):
                self.ports.add(p)

    # --- hooks -------------------------------------------------------------------------------------
    async def before_create(self, store: Store, obj: Obj, dry_run: bool) -> None:
        async with self._lock:
            taken_ips, taken_ports = self._allocate(obj, None)
            if dry_run:
                self._release(taken_ips, taken_ports)

    async def after_create_failed(self, store: Store, obj: Obj) -> None:
        async with self._lock:
            self._release(_cluster_ips(obj), _all_node_ports(obj))

    async def before_update(self, store: Store, new: Obj, old: Obj, dry_run: bool) -> None:
        async with self._lock:
            taken_ips, taken_ports = self._allocate(new, old)
            if dry_run:
                self._release(taken_ips, taken_ports)
            else:
                gone_ports = set(_all_node_ports(old)) - set(_all_node_ports(new))
                self._release([], list(gone_ports))

    async def after_delete(self, store: Store, obj: Obj) -> None:
        async with self._lock:
            self._release(_cluster_ips(obj), _all_node_ports(obj))

    # --- allocation ---------------------------------------------------------------------------------
    def _release(self, ips: list[str], ports: list[int]) -> None:
        for ip in ips:
            self.ips.discard(ip)
        for p in ports:
            self.ports.discard(p)

    def _allocate(self, svc: Obj, old: Obj | None) -> tuple[list[str], list[int]]:
        spec = svc.setdefault("spec", {})
        name = svc.get("metadata", {}).get("name", "")
        stype = spec.get("type", "ClusterIP")
        taken_ips: list[str] = []
        taken_ports: list[int] = []
        if stype != "ExternalName":
            old_ips = _cluster_ips(old) if old else []
            if old is not None and old_ips:
                spec["clusterIP"] = old_ips[0]
                spec["clusterIPs"] = list(old_ips)
            else:
                requested = spec.get("clusterIP") or (spec.get("clusterIPs") or [""])[0]
                if requested == "None":
                    spec["clusterIP"] = "None"
                    spec["clusterIPs"] = ["None"]
                else:
                    ip = self._take_ip(requested, name)
                    taken_ips.append(ip)
                    spec["clusterIP"] = ip
                    spec["clusterIPs"] = [ip]
        else:
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if stype in ("NodePort", "LoadBalancer"):
            old_ports = set(_node_ports(old)) if old else set()
            for i, port in enumerate(spec.get("ports") or []):
                want = port.get("nodePort")
                if want and want in old_ports:
                    continue
                try:
                    taken_ports.append(self._take_port(want, i, name))
                except errors.StatusError:
                    self._release(taken_ips, taken_ports)
                    raise
                port["nodePort"] = taken_ports[-1]
        else:
            for port in spec.get("ports") or []:
                port.pop("nodePort", None)
        try:
            hc = self._health_check_port(spec, (old or {}).get("spec") or {}, name)
        except errors.StatusError:
            self._release(taken_ips, taken_ports)
            raise
        if hc:
            taken_ports.append(hc)
        return taken_ips, taken_ports

    def _health_check_port(self, spec: Obj, old_spec: Obj, name: str) -> int:
        """Settle spec.healthCheckNodePort; returns the port newly taken (0 if none)."""
        want = spec.get("healthCheckNodePort") or 0
        old_hc = (old_spec.get("healthCheckNodePort") or 0) if needs_health_check(old_spec) else 0
        if not needs_health_check(spec):
            if want and want == old_hc:
                spec.pop("healthCheckNodePort", None)  # left over from the old type/policy: dropped
                return 0
            if want:
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid", f"Invalid value: {want}: HealthCheckNodePort can only be set on "
                    "LoadBalancer service with ExternalTrafficPolicy=Local", "spec.healthCheckNodePort")])
            return 0
        if old_hc:
            if want and want != old_hc:
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid", f"Invalid value: {want}: cannot change healthCheckNodePort on "
                    "loadBalancer service with externalTraffic=Local during update", "spec.healthCheckNodePort")])
            spec["healthCheckNodePort"] = old_hc
            return 0
        lo, hi = self.node_ports
        if want:
            problem = ""
            if not isinstance(want, int) or not lo <= want <= hi:
                problem = f"provided port is not in the valid range. The range of valid ports is {lo}-{hi}"
            elif want in self.ports:
                problem = "provided port is already allocated"
            if problem:  # upstream reports these as internal errors, not as invalid input
                raise errors.internal(f"failed to allocate requested HealthCheck NodePort {want}: {problem}")
            self.ports.add(want)
            return int(want)
        try:
            port = self._take_port(None, 0, name)
        except errors.StatusError:
            raise errors.internal("failed to allocate a HealthCheck NodePort: range is full") from None
        spec["healthCheckNodePort"] = port
        return port

    def _take_ip(self, requested: str, name: str) -> str:
        if requested:
            try:
                addr = ipaddress.ip_address(requested)
            except ValueError:
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid", f'Invalid value: "{requested}": must be a valid IP address',
                    "spec.clusterIPs[0]")]) from None
            if addr not in self.network or addr in (self.network.network_address, self.network.broadcast_address):
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid",
                    f'Invalid value: ["{requested}"]: failed to allocate IP {requested}: the provided IP '
                    f"({requested}) is not in the valid range. The range of valid IPs is {self.network}",
                    "spec.clusterIPs")])
            if requested in self.ips:
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid",
                    f'Invalid value: ["{requested}"]: failed to allocate IP {requested}: provided IP is already allocated',
                    "spec.clusterIPs")])
            self.ips.add(requested)
            return requested
        size = self.network.num_addresses - 2
        if len(self.ips) >= size:
            raise errors.internal("failed to allocate a serviceIP: range is full")
        base = int(self.network.network_address)
        start = random.randrange(size)
        for off in range(size):
            candidate = str(ipaddress.ip_address(base + 1 + (start + off) % size))
            if candidate not in self.ips:
                self.ips.add(candidate)
                return candidate
        raise errors.internal("failed to allocate a serviceIP: range is full")

    def _take_port(self, want: int | None, index: int, name: str) -> int:
        lo, hi = self.node_ports
        if want:
            if not isinstance(want, int) or not lo <= want <= hi:
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid",
                    f"Invalid value: {want}: provided port is not in the valid range. The range of valid ports is {lo}-{hi}",
                    f"spec.ports[{index}].nodePort")])
            if want in self.ports:
                raise errors.invalid("Service", name, [Cause(
                    "FieldValueInvalid", f"Invalid value: {want}: provided port is already allocated",
                    f"spec.ports[{index}].nodePort")])
            self.ports.add(want)
            return want
        size = hi - lo + 1
        start = random.randrange(size)
        for off in range(size):
            p = lo + (start + off) % size
            if p not in self.ports:
                self.ports.add(p)
                return p
        raise errors.internal("failed to allocate a nodePort: range is full")


def _cluster_ips(svc: Obj | None) -> list[str]:
    if not svc:
        return []
    spec = svc.get("spec") or {}
    ips = list(spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else []))
    return [ip for ip in ips if ip and ip != "None"]


def needs_health_check(spec: Obj) -> bool:
    """A health-check node port belongs to LoadBalancer Services that keep external traffic local."""
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def _all_node_ports(svc: Obj | None) -> list[int]:
    hc = ((svc or {}).get("spec") or {}).get("healthCheckNodePort")
    return _node_ports(svc) + ([hc] if hc else [])


def _node_ports(svc: Obj | None) -> list[int]:
    if not svc:
        return []
    return [p["nodePort"] for p in (svc.get("spec") or {}).get("ports") or [] if p.get("nodePort")]
