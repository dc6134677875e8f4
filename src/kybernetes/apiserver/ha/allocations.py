"""ClusterIP and NodePort allocation that stays unique when several API servers allocate at once.

``ServiceAllocator`` (registry/services.py) keeps the taken values in this process's memory, which
is exact for one server and wrong for two: both may hand out the same address. Upstream keeps a
bitmap in etcd and changes it with compare-and-swap; here (as upstream's newer IPAddress objects
do) every taken value is one key that only one writer can create::

    /registry/kyb-ranges/serviceips/<ip>         {"owner": "<namespace>/<name>"}
    /registry/kyb-ranges/servicenodeports/<port>

Theory of operation. The in-memory sets remain a fast hint; the keys are the truth.
1. Under the allocator's lock, values are picked from memory as before, then reserved by creating
   their keys. A key that exists means another server took the value: it stays marked in memory,
   this round is undone (our keys deleted, the spec restored) and allocation runs again, so a
   random pick moves on and an explicitly requested value fails as "already allocated".
2. A requested value that memory calls taken but whose key is gone was freed by another server:
   it is forgotten before allocating (memory only learns of others' allocations by clashes).
3. Deleting a Service (through any server) deletes its keys; a failed create deletes the keys it
   made.
4. Repair (at start and every ``repair_interval``): memory is reset to the keys, Services without
   keys get them (clusters from before this module, or a crash between key and Service), and keys
   that no Service has held for ``leak_grace`` seconds of this server's own observation are
   deleted with compare-and-swap (a key is created a moment before its Service is written, so
   young keys are never judged).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from kybernetes.apiserver.registry.services import (
    NODE_PORT_RANGE,
    ServiceAllocator,
    _all_node_ports,
    _cluster_ips,
)
from kybernetes.apiserver.registry.store import Store
from kybernetes.machinery import errors
from kybernetes.storage.interface import KeyExistsError, KeyNotFoundError, RevisionMismatchError, Storage

log = logging.getLogger("kyb.ha.allocations")

Obj = dict[str, Any]
IP_PREFIX = "/registry/kyb-ranges/serviceips/"
PORT_PREFIX = "/registry/kyb-ranges/servicenodeports/"
MAX_ATTEMPTS = 16
DEFAULT_REPAIR_INTERVAL = 180.0
DEFAULT_LEAK_GRACE = 600.0


def ip_key(ip: str) -> str:
    return IP_PREFIX + ip


def port_key(port: int) -> str:
    return f"{PORT_PREFIX}{port}"


def keys_of(ips: Iterable[str], ports: Iterable[int]) -> list[str]:
    return [ip_key(ip) for ip in ips] + [port_key(p) for p in ports]


def owner_of(svc: Obj) -> str:
    meta = svc.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def requested_values(svc: Obj) -> tuple[list[str], list[int]]:
    """The clusterIP and node ports a Service asks for by value."""
    spec = svc.get("spec") or {}
    ips = [
        ip
        for ip in [spec.get("clusterIP"), *(spec.get("clusterIPs") or [])]
        if isinstance(ip, str) and ip and ip != "None"
    ]
    ports = [p.get("nodePort") for p in spec.get("ports") or [] if isinstance(p, dict)]
    hc = spec.get("healthCheckNodePort")
    return ips, [p for p in [*ports, hc] if isinstance(p, int) and p]


class ReservingServiceAllocator(ServiceAllocator):
    def __init__(
        self,
        storage: Storage,
        service_cidr: str,
        node_ports: tuple[int, int] = NODE_PORT_RANGE,
        *,
        repair_interval: float = DEFAULT_REPAIR_INTERVAL,
        leak_grace: float = DEFAULT_LEAK_GRACE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(service_cidr, node_ports)
        self.storage = storage
        self.repair_interval = repair_interval
        self.leak_grace = leak_grace
        self.clock = clock
        self._orphans: dict[str, tuple[int, float]] = {}  # key -> (revision, first seen without a Service)
        self._task: asyncio.Task[None] | None = None

    # --- reservation keys ---------------------------------------------------------------------------
    async def _reserve(self, ips: list[str], ports: list[int], owner: str) -> tuple[list[str], list[int]]:
        """Create the keys; on a clash delete the ones made here. Returns the clashing values."""
        value = orjson.dumps({"owner": owner})
        made: list[str] = []
        clash_ips = []
        clash_ports = []
        for ip in ips:
            try:
                await self.storage.create(ip_key(ip), value)
                made.append(ip_key(ip))
            except KeyExistsError:
                clash_ips.append(ip)
        for port in ports:
            try:
                await self.storage.create(port_key(port), value)
                made.append(port_key(port))
            except KeyExistsError:
                clash_ports.append(port)
        if clash_ips or clash_ports:
            await self._delete_keys(made)
        return clash_ips, clash_ports

    async def _delete_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            with contextlib.suppress(KeyNotFoundError):
                await self.storage.delete(key)

    async def _forget_freed_requests(self, svc: Obj) -> None:
        ips, ports = requested_values(svc)
        for ip in ips:
            if ip in self.ips and await self.storage.get(ip_key(ip)) is None:
                self.ips.discard(ip)
        for port in ports:
            if port in self.ports and await self.storage.get(port_key(port)) is None:
                self.ports.discard(port)

    async def _allocate_reserved(self, svc: Obj, old: Obj | None, dry_run: bool) -> None:
        await self._forget_freed_requests(svc)
        for _attempt in range(MAX_ATTEMPTS):
            saved = copy.deepcopy(svc.get("spec"))
            ips, ports = self._allocate(svc, old)
            if dry_run:
                self._release(ips, ports)
                return
            clash_ips, clash_ports = await self._reserve(ips, ports, owner_of(svc))
            if not clash_ips and not clash_ports:
                return
            log.info(
                "service %s: %s already taken by another server; allocating again",
                owner_of(svc),
                ", ".join([*clash_ips, *map(str, clash_ports)]),
            )
            self._release(
                [ip for ip in ips if ip not in clash_ips], [p for p in ports if p not in clash_ports]
            )
            svc["spec"] = saved
        raise errors.internal(
            "failed to allocate a service IP or node port: every pick was taken concurrently"
        )

    # --- hooks ---------------------------------------------------------------------------------------
    async def before_create(self, store: Store, obj: Obj, dry_run: bool) -> None:
        async with self._lock:
            await self._allocate_reserved(obj, None, dry_run)

    async def after_create_failed(self, store: Store, obj: Obj) -> None:
        async with self._lock:
            ips, ports = _cluster_ips(obj), _all_node_ports(obj)
            self._release(ips, ports)
            await self._delete_keys(keys_of(ips, ports))

    async def before_update(self, store: Store, new: Obj, old: Obj, dry_run: bool) -> None:
        async with self._lock:
            await self._allocate_reserved(new, old, dry_run)
            if dry_run:
                return
            gone_ips = set(_cluster_ips(old)) - set(_cluster_ips(new))
            gone_ports = set(_all_node_ports(old)) - set(_all_node_ports(new))
            self._release(list(gone_ips), list(gone_ports))
            await self._delete_keys(keys_of(gone_ips, gone_ports))

    async def after_delete(self, store: Store, obj: Obj) -> None:
        async with self._lock:
            ips, ports = _cluster_ips(obj), _all_node_ports(obj)
            self._release(ips, ports)
            await self._delete_keys(keys_of(ips, ports))

    # --- repair --------------------------------------------------------------------------------------
    async def repair(self, services: list[Obj]) -> None:
        """Step 4 of the theory: keys for every Service, memory from the keys, leaks removed."""
        held: dict[str, str] = {}
        for svc in services:
            for key in keys_of(_cluster_ips(svc), _all_node_ports(svc)):
                held[key] = owner_of(svc)
        async with self._lock:
            listed = {
                kv.key: kv.mod_revision
                for prefix in (IP_PREFIX, PORT_PREFIX)
                for kv in (await self.storage.list(prefix)).items
            }
            for key, owner in held.items():
                if key not in listed:
                    with contextlib.suppress(KeyExistsError):
                        await self.storage.create(key, orjson.dumps({"owner": owner}))
                        listed[key] = 0
            now = self.clock()
            for key in list(self._orphans):
                if key not in listed or key in held:
                    del self._orphans[key]
            for key, revision in list(listed.items()):
                if key in held or revision == 0:
                    continue
                seen = self._orphans.get(key)
                if seen is None or seen[0] != revision:
                    self._orphans[key] = (revision, now)
                elif now - seen[1] > self.leak_grace:
                    with contextlib.suppress(KeyNotFoundError, RevisionMismatchError):
                        await self.storage.delete(key, expected_revision=revision)
                        log.info("released %s: no Service has held it for %.0fs", key, now - seen[1])
                    del self._orphans[key]
                    del listed[key]
            self.ips = {k.removeprefix(IP_PREFIX) for k in listed if k.startswith(IP_PREFIX)}
            self.ports = {
                int(k.removeprefix(PORT_PREFIX))
                for k in listed
                if k.startswith(PORT_PREFIX) and k.removeprefix(PORT_PREFIX).isdigit()
            }

    def start_repair(self, services: Callable[[], list[Obj]]) -> None:
        async def loop() -> None:
            while True:
                await asyncio.sleep(self.repair_interval)
                try:
                    await self.repair(services())
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("repairing service allocations failed")

        self._task = asyncio.create_task(loop(), name="service-allocation-repair")

    async def stop_repair(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
