"""The service proxy a node agent runs: informers on Services and EndpointSlices, and a debounced
loop that renders the table's content and applies the difference.

Theory of operation. Every informer event only marks the proxy dirty. One loop task waits for
dirty, waits until `min_sync_interval` has passed since the previous sync started (so a burst of
events becomes one or two syncs), then builds the desired `Ruleset` from the informer caches (a
pure function of the objects) and applies one nft transaction (sync.py): only the difference from
the ruleset the kernel holds (a partial sync), or the whole table rewritten in place (a full sync:
the first one, the one after a failed apply, and one every `full_sync_period`). Events that
arrive during a sync mark it dirty again, so nothing is lost.

Invariants:
1. The first sync happens only after both informers listed (never program an empty ruleset over
   a good one at start).
2. A change is programmed within `min_sync_interval` + one sync's duration; a failed sync is retried
   after a backoff capped at `max_delay`. With the defaults (0.1 s, 1 s) and syncs of a few ms for
   ordinary clusters, a change is in the kernel well within a second.
3. After a failed apply the ruleset the kernel holds is unknown, so the next sync is a full one;
   a partial sync is only ever computed against a ruleset that was applied successfully.
4. UDP conntrack cleanup runs after the new rules are in place, comparing the last applied model
   with the new one.
5. `stop()` deletes the table: a stopped proxy leaves no rules behind.
6. Health-check node ports (healthcheck.py) follow each sync's model; the proxy counts as unhealthy
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
from kybernetes.proxy.render import Ruleset, build_ruleset
from kybernetes.proxy.sync import full_script, incremental_script

log = logging.getLogger("kyb.proxy")

SERVICES = resource("v1", "services", namespaced=True)
ENDPOINT_SLICES = resource("discovery.k8s.io/v1", "endpointslices", namespaced=True)


class ServiceProxy:
    """Programs this node's Service datapath. Metrics are plain attributes:

    syncs, full_syncs, partial_syncs, last_sync_kind ("full", "partial" or "noop"), sync_failures,
    last_sync_seconds (render + apply + cleanup), last_render_seconds (model, ruleset, inventory
    and script), last_nft_seconds (the nft process alone), last_sync_at (time.time()), last_error,
    rules_bytes (the last script), service_ports (in the last model), generation (events seen) and
    programmed_generation (events whose effect is in the kernel)."""

    def __init__(self, client: APIClient, *, node_name: str, node_ips: list[str], cluster_cidr: str,
                 min_sync_interval: float = 0.1, max_delay: float = 1.0, table: str = "kyb-proxy",
                 applier: NftApplier | None = None, resync_period: float = 60.0,
                 health_servers: ServiceHealthServers | None = None,
                 healthz_address: tuple[str, int] | None = None, health_timeout: float = 60.0,
                 full_sync_period: float = 900.0) -> None:
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
        self._ruleset: Ruleset | None = None  # what the kernel holds; None = unknown, sync fully
        self.full_sync_period = full_sync_period
        self._last_full = float("-inf")
        # health: per-Service health-check node ports, and optionally the proxy's own /healthz
        self.health = health_servers if health_servers is not None else ServiceHealthServers()
        self.health.proxy_healthy = self.healthy
        self.health_timeout = health_timeout
        self.pending_since: float | None = None  # monotonic time of the oldest unprogrammed event
        self.healthz = ProxyHealthServer(*healthz_address, state=self.health_state) if healthz_address else None
        # metrics
        self.syncs = 0
        self.full_syncs = 0
        self.partial_syncs = 0
        self.last_sync_kind = ""
        self.last_sync_seconds = 0.0
        self.last_render_seconds = 0.0
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
    def request_full_sync(self) -> None:
        """Make the next sync rewrite the whole table (e.g. after something else touched it)."""
        self._ruleset = None
        self.loop.kick()

    async def sync(self) -> None:
        """Build the desired ruleset from the caches and apply what differs (one nft transaction)."""
        started = time.monotonic()
        generation = self.generation
        services = self.services.store.list()
        slices = self.slices.store.list()
        node_ips, cidr = list(self.node_ips), self.cluster_cidr
        model, desired = await asyncio.to_thread(_desired, services, slices, self.node_name, node_ips, cidr)
        table = self.applier.table
        script: str | None = None
        if self._ruleset is not None and started - self._last_full < self.full_sync_period:
            script = await asyncio.to_thread(incremental_script, self._ruleset, desired, table=table)
        kind = "partial" if script is not None else "full"
        if script is None:
            inventory = await self.applier.inventory(table)
            twins = await self.applier.present_tables() - {table}
            script = await asyncio.to_thread(full_script, desired, inventory, table=table, drop_tables=sorted(twins))
        self.last_render_seconds = time.monotonic() - started
        if script:
            self._ruleset = None  # unknown until the transaction is known to have gone in
            await self.applier.apply(script, table=table)
            self.last_nft_seconds = self.applier.last_nft_seconds
        else:
            kind = "noop"
        self._ruleset = desired
        if kind == "full":
            self._last_full = started
            self.full_syncs += 1
        elif kind == "partial":
            self.partial_syncs += 1
        self.last_sync_kind = kind
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
        self.rules_bytes = len(script or "")
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


def _desired(services: list[Any], slices: list[Any], node_name: str, node_ips: list[str],
             cluster_cidr: str) -> tuple[list[ServicePort], Ruleset]:
    model = build_model(services, slices, node_name=node_name)
    return model, build_ruleset(model, node_ips=node_ips, cluster_cidr=cluster_cidr)
