"""The NetworkPolicy enforcer a node agent runs: informers on NetworkPolicies, Pods and Namespaces,
and a debounced loop that renders this node's whole table and applies it.

Theory of operation (the proxy's runner, same shape). Events only mark the enforcer dirty; one loop
waits for dirty, waits until `min_sync_interval` has passed since the previous sync started, then
renders from the caches and applies the script in one nft transaction. Pod updates that change
nothing policy-relevant (labels, address, node, phase, ports, host network) are ignored, so the
status churn of a busy node does not cause syncs.

Invariants:
1. The first sync happens only after all three informers listed (never enforce a partial view:
   a missing pod would be missing from peer sets, denying its traffic).
2. A change is in the kernel within `min_sync_interval` + one sync (well under a second); a failed
   sync is retried with a backoff capped at `max_delay`.
3. `stop()` deletes the table unless `keep_rules` (a restarting agent keeps policies enforced).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient, resource
from kybernetes.client.syncloop import SyncLoop
from kybernetes.netpol.render import render_policies
from kybernetes.proxy.apply import NftApplier

log = logging.getLogger("kyb.netpol")

NETWORK_POLICIES = resource("networking.k8s.io/v1", "networkpolicies", namespaced=True)
PODS = resource("v1", "pods", namespaced=True)
NAMESPACES = resource("v1", "namespaces", namespaced=False)


def pod_relevance(pod: Any) -> Any:
    """What of a pod the rendered rules depend on (equal keys: no re-render needed)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    ports = [(p.get("name"), p.get("containerPort"), p.get("protocol"))
             for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])] for p in c.get("ports") or []]
    return (meta.get("labels"), spec.get("nodeName"), spec.get("hostNetwork"), status.get("podIP"),
            status.get("podIPs"), status.get("phase") in ("Succeeded", "Failed"), ports)


class PolicyEnforcer:
    """Enforces NetworkPolicies for this node's pods. Metrics are plain attributes: syncs,
    sync_failures, last_sync_seconds, last_error, rules_bytes, generation (relevant events seen)
    and programmed_generation (events whose effect is in the kernel)."""

    def __init__(self, client: APIClient, *, node_name: str, cluster_cidr: str, table: str = "kyb-netpol",
                 applier: NftApplier | None = None, min_sync_interval: float = 0.1, max_delay: float = 1.0,
                 resync_period: float = 60.0) -> None:
        self.client = client
        self.node_name = node_name
        self.cluster_cidr = cluster_cidr
        self.table = table
        self.applier = applier or NftApplier(table)
        self.policies = Informer(client, NETWORK_POLICIES)
        self.pods = Informer(client, PODS)
        self.namespaces = Informer(client, NAMESPACES)
        self.policies.add_handlers(on_add=self._on_event, on_update=self._on_update, on_delete=self._on_event)
        self.namespaces.add_handlers(on_add=self._on_event, on_update=self._on_update, on_delete=self._on_event)
        self.pods.add_handlers(on_add=self._on_event, on_update=self._on_pod_update, on_delete=self._on_event)
        self.loop = SyncLoop(self.sync, name="kyb-netpol-sync", min_interval=min_sync_interval,
                             max_delay=max_delay, resync_period=resync_period)
        self.syncs = 0
        self.last_sync_seconds = 0.0
        self.rules_bytes = 0
        self.generation = 0
        self.programmed_generation = 0

    def _on_event(self, _obj: Any) -> None:
        self.generation += 1
        self.loop.kick()

    def _on_update(self, old: Any, new: Any) -> None:
        if old is not new and ((old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels")
                               or old.get("spec") != new.get("spec")):
            self._on_event(new)

    def _on_pod_update(self, old: Any, new: Any) -> None:
        if old is not new and pod_relevance(old) != pod_relevance(new):
            self._on_event(new)

    async def start(self, timeout: float = 30.0) -> None:
        """Start the informers, program the first full table, then keep it current."""
        informers = (self.policies, self.pods, self.namespaces)
        for inf in informers:
            inf.start()
        for inf in informers:
            if not await inf.wait_synced(timeout):
                raise TimeoutError(f"netpol: {inf.resource.plural} did not sync in {timeout}s")
        await self.loop.sync_now()
        self.loop.start()

    async def stop(self, *, keep_rules: bool = False) -> None:
        await self.loop.stop()
        for inf in (self.policies, self.pods, self.namespaces):
            await inf.stop()
        if not keep_rules:
            await self.applier.delete()

    @property
    def sync_failures(self) -> int:
        return self.loop.failures

    @property
    def last_error(self) -> str:
        return self.loop.last_error

    async def sync(self) -> None:
        """Render everything from the caches and apply it (one nft transaction)."""
        started = time.monotonic()
        generation = self.generation
        script = await asyncio.to_thread(render_policies, self.policies.store.list(), self.pods.store.list(),
                                         self.namespaces.store.list(), node_name=self.node_name,
                                         cluster_cidr=self.cluster_cidr, table=self.table)
        await self.applier.apply(script, table=self.table)
        self.syncs += 1
        self.rules_bytes = len(script)
        self.programmed_generation = generation
        self.loop.last_error = ""
        self.last_sync_seconds = time.monotonic() - started
        log.debug("netpol sync %d: %d bytes, %.1f ms", self.syncs, len(script), self.last_sync_seconds * 1000)

    async def wait_programmed(self, generation: int | None = None, timeout: float = 5.0) -> bool:
        """Wait until events up to `generation` (default: all seen so far) are in the kernel."""
        target = self.generation if generation is None else generation
        deadline = time.monotonic() + timeout
        while self.programmed_generation < target:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True
