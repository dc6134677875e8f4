"""The service proxy a node agent runs: informers on Services and EndpointSlices, and a debounced
loop that renders the whole table and applies it.

Theory of operation. Every informer event only marks the proxy dirty. One loop task waits for
dirty, waits until `min_sync_interval` has passed since the previous sync started (so a burst of
events becomes one or two syncs), then renders from the informer caches and applies the script in
one nft transaction. Events that arrive during a sync mark it dirty again, so nothing is lost.

Invariants:
1. The first sync happens only after both informers listed (never program an empty ruleset over
   a good one at start).
2. A change is programmed within `min_sync_interval` + one sync's duration; a failed sync is retried
   after a backoff capped at `max_delay`. With the defaults (0.1 s, 1 s) and syncs of a few ms for
   ordinary clusters, a change is in the kernel well within a second.
3. UDP conntrack cleanup runs after the new rules are in place, comparing the last applied model
   with the new one.
4. `stop()` deletes the table: a stopped proxy leaves no rules behind.
5. Health-check node ports (healthcheck.py) follow each sync's model; the proxy counts as unhealthy
   when an event has waited longer than `health_timeout` to be programmed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient, resource
from kybernetes.client.syncloop import SyncLoop
from kybernetes.proxy.apply import NftApplier
from kybernetes.proxy.healthcheck import ProxyHealthServer, ServiceHealthServers, desired_health_ports
from kybernetes.proxy.model import ServicePort, build_model, stale_udp_flows
from kybernetes.proxy.render import render_model

log = logging.getLogger("kyb.proxy")

SERVICES = resource("v1", "services", namespaced=True)
ENDPOINT_SLICES = resource("discovery.k8s.io/v1", "endpointslices", namespaced=True)


class ServiceProxy:
    """Programs this node's Service datapath. Metrics are plain attributes:

    syncs, sync_failures, last_sync_seconds (render + apply + cleanup), last_render_seconds (model,
    affinity read-back and text), last_affinity_read_seconds, last_nft_seconds (the nft process alone), last_sync_at (time.time()), last_error, rules_bytes,
    service_ports (in the last model), generation (events seen) and programmed_generation
    (events whose effect is in the kernel)."""

    def __init__(self, client: APIClient, *, node_name: str, node_ips: list[str], cluster_cidr: str,
                 min_sync_interval: float = 0.1, max_delay: float = 1.0, table: str = "kyb-proxy",
                 applier: NftApplier | None = None, resync_period: float = 60.0,
                 health_servers: ServiceHealthServers | None = None,
                 healthz_address: tuple[str, int] | None = None, health_timeout: float = 60.0) -> None:
        self.client = client
        self.node_name = node_name
        self.node_ips = list(node_ips)
        self.cluster_cidr = cluster_cidr
        self.applier = applier or NftApplier(table)
        self.services = Informer(client, SERVICES)
        self.slices = Informer(client, ENDPOINT_SLICES)
        for inf in (self.services, self.slices):
            inf.add_handlers(on_add=self._on_event, on_update=self._on_update, on_delete=self._on_event)
        self.loop = SyncLoop(self.sync, name="kyb-proxy-sync", min_interval=min_sync_interval,
                             max_delay=max_delay, resync_period=resync_period)
        self._model: list[ServicePort] = []
        # health: per-Service health-check node ports, and optionally the proxy's own /healthz
        self.health = health_servers if health_servers is not None else ServiceHealthServers()
        self.health.proxy_healthy = self.healthy
        self.health_timeout = health_timeout
        self.pending_since: float | None = None  # monotonic time of the oldest unprogrammed event
        self.healthz = ProxyHealthServer(*healthz_address, state=self.health_state) if healthz_address else None
        # metrics
        self.syncs = 0
        self.last_sync_seconds = 0.0
        self.last_render_seconds = 0.0
        self.last_affinity_read_seconds = 0.0
        self.last_nft_seconds = 0.0
        self.last_sync_at = 0.0
        self.rules_bytes = 0
        self.service_ports = 0
        self.generation = 0
        self.programmed_generation = 0

    # --- events ---------------------------------------------------------------------------------
    def _on_event(self, _obj: Any) -> None:
        self.generation += 1
        if self.pending_since is None:
            self.pending_since = time.monotonic()
        self.loop.kick()

    def _on_update(self, old: Any, new: Any) -> None:
        if old is not new:  # resyncs hand the same object twice: nothing changed
            self._on_event(new)

    def set_node_ips(self, node_ips: list[str]) -> None:
        """The node's addresses changed (node ports and LB IPs listen there)."""
        if list(node_ips) != self.node_ips:
            self.node_ips = list(node_ips)
            self._on_event(None)

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self, timeout: float = 30.0) -> None:
        """Start the informers, program the first full ruleset, then keep it current."""
        self.services.start()
        self.slices.start()
        for inf in (self.services, self.slices):
            if not await inf.wait_synced(timeout):
                raise TimeoutError(f"proxy: {inf.resource.plural} did not sync in {timeout}s")
        await self.loop.sync_now()
        self.loop.start()
        if self.healthz is not None:
            try:
                await self.healthz.start()
            except OSError as exc:  # the datapath matters more than its health answer
                log.warning("proxy healthz on %s:%d: %s", self.healthz.host, self.healthz.port, exc)

    async def stop(self, *, keep_rules: bool = False) -> None:
        """Stop syncing; the rules go too unless `keep_rules` (a restarting node agent keeps
        Services working while it is away, as kube-proxy does)."""
        await self.loop.stop()
        await self.services.stop()
        await self.slices.stop()
        await self.health.close()
        if self.healthz is not None:
            await self.healthz.stop()
        if not keep_rules:
            await self.applier.delete()

    @property
    def sync_failures(self) -> int:
        return self.loop.failures

    @property
    def last_error(self) -> str:
        return self.loop.last_error

    # --- one sync ---------------------------------------------------------------------------------
    async def sync(self) -> None:
        """Render everything from the caches and apply it (one nft transaction)."""
        started = time.monotonic()
        generation = self.generation
        services = self.services.store.list()
        slices = self.slices.store.list()
        node_ips, cidr = list(self.node_ips), self.cluster_cidr
        model = await asyncio.to_thread(build_model, services, slices, node_name=self.node_name)
        t_aff = time.monotonic()
        affinity = await self.applier.affinity_state() if any(sp.affinity_timeout for sp in model) else {}
        self.last_affinity_read_seconds = time.monotonic() - t_aff
        table, live = await self.applier.target()
        script = await asyncio.to_thread(render_model, model, node_ips=node_ips, cluster_cidr=cidr, table=table,
                                         affinity_state=affinity, replace_table=live)
        self.last_render_seconds = time.monotonic() - started
        await self.applier.apply(script, table=table)
        self.last_nft_seconds = self.applier.last_nft_seconds
        stale = stale_udp_flows(self._model, model)
        if stale:
            await self.applier.clear_conntrack(stale)
        self._model = model
        try:
            await self.health.sync(desired_health_ports(model, node_name=self.node_name))
        except Exception as exc:  # health listeners must never fail the datapath sync
            log.warning("proxy health check ports: %s", exc)
        self.pending_since = None if self.generation == generation else started
        self.syncs += 1
        self.rules_bytes = len(script)
        self.service_ports = len(model)
        self.programmed_generation = generation
        self.loop.last_error = ""
        self.last_sync_at = time.time()
        self.last_sync_seconds = time.monotonic() - started
        log.debug("proxy sync %d: %d service ports, %.1f ms", self.syncs, len(model), self.last_sync_seconds * 1000)

    def healthy(self) -> bool:
        """False while an event has waited longer than `health_timeout` to reach the kernel."""
        return self.pending_since is None or time.monotonic() - self.pending_since < self.health_timeout

    def health_state(self) -> tuple[bool, float]:
        """(healthy, wall time of the last successful sync) for the proxy's /healthz."""
        return self.healthy(), self.last_sync_at

    async def wait_programmed(self, generation: int | None = None, timeout: float = 5.0) -> bool:
        """Wait until events up to `generation` (default: all seen so far) are in the kernel."""
        target = self.generation if generation is None else generation
        deadline = time.monotonic() + timeout
        while self.programmed_generation < target:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True
