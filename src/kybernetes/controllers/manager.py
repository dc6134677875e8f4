"""The controller manager: shared informers, then every registered loop, under a leader Lease.

Every loop is an API client (ARCHITECTURE §1) and keeps one shape (§7): informer event
handlers only enqueue keys; workers call an idempotent, level-triggered ``sync(key)``; errors
requeue with backoff. A loop module registers a factory with ``@register("name")``; the factory
receives the shared ``ControllerContext`` and returns an object with ``async run()`` (usually a
``kybernetes.client.Controller`` or a small class wrapping one). ``all.py`` imports every loop
module so that registration happens.

Loops start only after the informers they asked for have synced, so no loop acts on an empty
cache. The manager runs while it holds the Lease kube-system/kube-controller-manager; losing it
stops every loop (a restarted or second manager takes over without two acting at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from kybernetes.client import (
    APIClient,
    EventRecorder,
    LeaderElectionConfig,
    LeaderElector,
    SharedInformerFactory,
    load_kubeconfig,
)

log = logging.getLogger("kyb.controllers")

COMPONENT = "kyb-controller-manager"


class Loop(Protocol):
    async def run(self) -> None: ...


@dataclass
class ControllerContext:
    client: APIClient
    informers: SharedInformerFactory
    recorders: dict[str, EventRecorder] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)  # per-loop settings, e.g. {"nodelifecycle": {...}}

    def recorder(self, component: str) -> EventRecorder:
        """An event recorder whose events name `component` as their source (upstream names each
        loop, e.g. "replicaset-controller")."""
        rec = self.recorders.get(component)
        if rec is None:
            rec = self.recorders[component] = EventRecorder(self.client, component, host=socket.gethostname())
        return rec


Factory = Callable[[ControllerContext], Loop]
_REGISTRY: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    def deco(factory: Factory) -> Factory:
        _REGISTRY[name] = factory
        return factory

    return deco


def registered() -> dict[str, Factory]:
    import kybernetes.controllers.all  # noqa: F401  (registers every loop)

    return dict(_REGISTRY)


async def run_loops(ctx: ControllerContext, names: list[str]) -> None:
    """Build the named loops, start informers, wait for sync, run until cancelled."""
    factories = registered()
    loops = [(name, factories[name](ctx)) for name in names if name in factories]
    ctx.informers.start()
    await ctx.informers.wait_for_cache_sync()
    log.info("controllers started: %s", ", ".join(name for name, _ in loops))
    tasks = [asyncio.create_task(loop.run(), name=f"controller-{name}") for name, loop in loops]
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t


async def run(kubeconfig: Path | None, *, enabled: list[str] | None = None, leader_elect: bool = True,
              options: dict[str, Any] | None = None, on_ready: Callable[[], Awaitable[None]] | None = None,
              metrics_port: int = 0, metrics_address: str = "127.0.0.1") -> None:
    if metrics_port:
        # Process-wide: every named work queue made from here on reports (the standalone command).
        from kybernetes.client.workqueue import set_metrics_provider
        from kybernetes.controllers.metrics import WorkqueueMetrics, serve

        registry = WorkqueueMetrics()
        set_metrics_provider(registry)
        runner = await serve(registry, metrics_port, metrics_address)
        try:
            await _run(kubeconfig, enabled=enabled, leader_elect=leader_elect, options=options, on_ready=on_ready)
        finally:
            set_metrics_provider(None)
            await runner.cleanup()
        return
    await _run(kubeconfig, enabled=enabled, leader_elect=leader_elect, options=options, on_ready=on_ready)


async def _run(kubeconfig: Path | None, *, enabled: list[str] | None, leader_elect: bool,
               options: dict[str, Any] | None, on_ready: Callable[[], Awaitable[None]] | None) -> None:
    config = load_kubeconfig(str(kubeconfig) if kubeconfig else None)
    async with APIClient(config, user_agent=f"{COMPONENT}/v1.32") as client:
        names = enabled if enabled is not None else sorted(registered())

        async def lead() -> None:
            ctx = ControllerContext(client, SharedInformerFactory(client), options=options or {})
            try:
                if on_ready is not None:
                    await on_ready()
                await run_loops(ctx, names)
            finally:
                await ctx.informers.shutdown()
                for rec in ctx.recorders.values():
                    with contextlib.suppress(Exception):
                        await rec.close()

        if not leader_elect:
            await lead()
            return
        identity = f"{socket.gethostname()}_{uuid.uuid4()}"
        elector = LeaderElector(client, LeaderElectionConfig("kube-system", "kube-controller-manager", identity,
                                                             release_on_cancel=True),
                                on_started_leading=lead)
        while True:
            await elector.run()  # returns when leadership is lost; campaign again
            await asyncio.sleep(1)


async def run_in_server(kubeconfig: Path) -> None:
    cidr = os.environ.get("KYB_CLUSTER_CIDR", "").strip()
    await run(kubeconfig, options={"nodeipam": {"cluster_cidr": cidr}} if cidr else None)
