"""What the API server does at start and stop so that several of it can share one datastore:
reservation repair for Service allocations, and the `kubernetes` endpoints from server leases.

Kept out of apiserver/server.py so that the server only calls ``start(api)`` and ``stop(api)``.
Timings come from ``ServerConfig.extra`` (tests shorten them):
``endpoint_interval``, ``endpoint_ttl`` (seconds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kybernetes.apiserver.ha.allocations import ReservingServiceAllocator
from kybernetes.apiserver.ha.endpoints import DEFAULT_INTERVAL, DEFAULT_TTL, Address, LeaseEndpointReconciler

if TYPE_CHECKING:
    from kybernetes.apiserver.server import APIServer


def _services(api: APIServer) -> list[dict[str, Any]]:
    return [e.obj for _, e in api.cache.iter_prefix("/registry/services/")]


async def start(api: APIServer) -> None:
    from kybernetes.apiserver.server import host_ip

    if isinstance(api.allocator, ReservingServiceAllocator):
        await api.allocator.repair(_services(api))
        api.allocator.start_repair(lambda: _services(api))
    extra = api.config.extra
    me = Address(api.config.advertise_address or host_ip(), api.config.port)
    reconciler = LeaseEndpointReconciler(
        api.storage,
        api.stores,
        me,
        interval=float(extra.get("endpoint_interval", DEFAULT_INTERVAL)),
        ttl=float(extra.get("endpoint_ttl", DEFAULT_TTL)),
    )
    await reconciler.reconcile()
    reconciler.start()
    api.endpoint_reconciler = reconciler


async def stop(api: APIServer) -> None:
    reconciler = getattr(api, "endpoint_reconciler", None)
    if reconciler is not None:
        await reconciler.stop()
        api.endpoint_reconciler = None
    if isinstance(api.allocator, ReservingServiceAllocator):
        await api.allocator.stop_repair()
