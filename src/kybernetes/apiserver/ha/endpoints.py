"""The `kubernetes` Service's endpoints: every live API server, from per-server leases.

Upstream's "lease" endpoint reconciler, without key TTLs (our storage contract has none): each
server rewrites its own record ``/registry/masterleases/<ip>:<port>`` every ``interval`` seconds
(every write advances the key's revision), and each server judges liveness by its *own* monotonic
clock: a record whose revision has not changed for ``ttl`` seconds since this server first saw it
is dead (the client-go leader-election rule; clocks of different machines never need to agree).
Dead records are deleted with compare-and-swap on the revision seen, so a server that renews in
between keeps its record.

From the live set every server computes the same Endpoints ``default/kubernetes`` (one subset per
port, addresses sorted) and EndpointSlices (``kubernetes`` for the lowest port, ``kubernetes-<port>``
for others), and writes them only when they differ from what is stored: servers agree, so
concurrent rounds converge instead of fighting. A server that stops cleanly removes its record and
rewrites the endpoints without itself (upstream's RemoveEndpoints on shutdown); one that dies is
dropped between ``ttl`` and ``ttl + interval`` seconds later.

Invariants:
1. The server's own address is always in the live set it computes while it runs.
2. Endpoints and slices are written through the resource stores (validation, resourceVersions,
   watch events) and only when they change.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kybernetes.apiserver.registry.store import DeleteOptions, Store, WriteOptions
from kybernetes.machinery import errors
from kybernetes.storage.interface import KeyExistsError, KeyNotFoundError, RevisionMismatchError, Storage

log = logging.getLogger("kyb.ha.endpoints")

Obj = dict[str, Any]
PREFIX = "/registry/masterleases/"
DEFAULT_INTERVAL = 10.0  # upstream's endpoint reconciler interval
DEFAULT_TTL = 15.0  # upstream's master lease TTL
SERVICE = "kubernetes"
NAMESPACE = "default"
SKIP_MIRROR = {"endpointslice.kubernetes.io/skip-mirror": "true"}
SLICE_LABELS = {"kubernetes.io/service-name": SERVICE}


@dataclass(frozen=True, order=True, slots=True)
class Address:
    ip: str
    port: int

    @property
    def key(self) -> str:
        return f"{PREFIX}{self.ip}:{self.port}"


def _ip_sort_key(ip: str) -> tuple[int, int]:
    addr = ipaddress.ip_address(ip)
    return addr.version, int(addr)


def by_port(addresses: list[Address]) -> list[tuple[int, list[str]]]:
    """(port, sorted IPs) for each port, lowest port first."""
    ports: dict[int, set[str]] = {}
    for a in addresses:
        ports.setdefault(a.port, set()).add(a.ip)
    return [(port, sorted(ips, key=_ip_sort_key)) for port, ips in sorted(ports.items())]


def endpoints_subsets(addresses: list[Address]) -> list[Obj]:
    return [
        {
            "addresses": [{"ip": ip} for ip in ips],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }
        for port, ips in by_port(addresses)
    ]


def slice_name(port: int, lowest: int) -> str:
    return SERVICE if port == lowest else f"{SERVICE}-{port}"


def endpoint_slices(addresses: list[Address]) -> dict[str, Obj]:
    """Slice name -> the slice's content (addressType, endpoints, ports) for each port group."""
    groups = by_port(addresses)
    if not groups:
        return {}
    lowest = groups[0][0]
    out: dict[str, Obj] = {}
    for port, ips in groups:
        family = "IPv6" if ":" in ips[0] else "IPv4"
        out[slice_name(port, lowest)] = {
            "addressType": family,
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
            "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
        }
    return out


@dataclass(slots=True)
class _Seen:
    revision: int
    since: float  # our monotonic clock when this revision was first seen


def live_records(
    records: dict[str, int], seen: dict[str, _Seen], *, now: float, ttl: float
) -> tuple[list[str], list[str]]:
    """(live keys, expired keys) from the records' current revisions; updates `seen` (pure but for it)."""
    for key in list(seen):
        if key not in records:
            del seen[key]
    live: list[str] = []
    expired: list[str] = []
    for key, revision in records.items():
        s = seen.get(key)
        if s is None or s.revision != revision:
            seen[key] = s = _Seen(revision, now)
        (live if now - s.since <= ttl else expired).append(key)
    return sorted(live), sorted(expired)


def address_of(key: str) -> Address | None:
    ip, sep, port = key.removeprefix(PREFIX).rpartition(":")
    try:
        ipaddress.ip_address(ip)
        return Address(ip, int(port)) if sep else None
    except ValueError:
        return None


class LeaseEndpointReconciler:
    def __init__(
        self,
        storage: Storage,
        stores: dict[tuple[str, str], Store],
        me: Address,
        *,
        interval: float = DEFAULT_INTERVAL,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.storage = storage
        self.stores = stores
        self.me = me
        self.interval = interval
        self.ttl = ttl
        self.clock = clock
        self._seen: dict[str, _Seen] = {}
        self._task: asyncio.Task[None] | None = None
        self._opts = WriteOptions(field_manager="kube-apiserver")

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="endpoint-reconciler")

    async def stop(self) -> None:
        """Stop renewing; remove our record and ourselves from the endpoints."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        with contextlib.suppress(KeyNotFoundError, Exception):
            await self.storage.delete(self.me.key)
        with contextlib.suppress(Exception):
            await self.reconcile(renew=False)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "reconciling the kubernetes endpoints failed; next round in %.0fs", self.interval
                )

    # --- one round -------------------------------------------------------------------------------
    async def renew(self) -> None:
        value = orjson.dumps(
            {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": f"{self.me.ip}:{self.me.port}"},
                "subsets": endpoints_subsets([self.me]),
            }
        )
        try:
            await self.storage.update(self.me.key, value, expected_revision=0)
        except KeyNotFoundError:
            with contextlib.suppress(KeyExistsError):
                await self.storage.create(self.me.key, value)

    async def reconcile(self, *, renew: bool = True) -> list[Address]:
        """Renew our record, drop expired ones, write the endpoints; the live addresses."""
        if renew:
            await self.renew()
        listed = await self.storage.list(PREFIX)
        records = {kv.key: kv.mod_revision for kv in listed.items}
        live, expired = live_records(records, self._seen, now=self.clock(), ttl=self.ttl)
        for key in expired:
            with contextlib.suppress(KeyNotFoundError, RevisionMismatchError):
                await self.storage.delete(key, expected_revision=records[key])
                log.info(
                    "API server %s stopped renewing its lease; removed from the endpoints",
                    key.removeprefix(PREFIX),
                )
        addresses = {a for a in map(address_of, live) if a is not None}
        if renew:
            addresses.add(self.me)
        else:
            addresses.discard(self.me)
        ordered = sorted(addresses)
        await self._write_endpoints(ordered)
        await self._write_slices(ordered)
        return ordered

    async def _write_endpoints(self, addresses: list[Address]) -> None:
        store = self.stores[("", "endpoints")]
        subsets = endpoints_subsets(addresses)
        current = store.cache.get(store.key(NAMESPACE, SERVICE))
        if (
            current is not None
            and (current.obj.get("subsets") or []) == subsets
            and (current.obj["metadata"].get("labels") or {}).items() >= SKIP_MIRROR.items()
        ):
            return
        ep: Obj = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": SERVICE, "namespace": NAMESPACE, "labels": dict(SKIP_MIRROR)},
        }
        if subsets:
            ep["subsets"] = subsets
        with contextlib.suppress(errors.StatusError):  # a concurrent writer: the next round settles it
            await store.update(NAMESPACE, SERVICE, ep, opts=self._opts)

    async def _write_slices(self, addresses: list[Address]) -> None:
        store = self.stores.get(("discovery.k8s.io", "endpointslices"))
        if store is None:
            return
        wanted = endpoint_slices(addresses)
        prefix = store.key(NAMESPACE, SERVICE)
        existing = {
            key.rsplit("/", 1)[1]: entry.obj
            for key, entry in store.cache.iter_prefix(prefix)
            if (
                entry.labels.get("kubernetes.io/service-name") == SERVICE
                and "endpointslice.kubernetes.io/managed-by" not in entry.labels
            )
        }
        for name, content in wanted.items():
            cur = existing.get(name)
            if cur is not None and all(cur.get(k) == v for k, v in content.items()):
                continue
            obj: Obj = {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {"name": name, "namespace": NAMESPACE, "labels": dict(SLICE_LABELS)},
                **content,
            }
            with contextlib.suppress(errors.StatusError):
                await store.update(NAMESPACE, name, obj, opts=self._opts)
        for name in existing.keys() - wanted.keys():
            with contextlib.suppress(errors.StatusError):
                await store.delete(NAMESPACE, name, DeleteOptions())
