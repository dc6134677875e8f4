"""Running the scheduler: standalone (`kyb scheduler --kubeconfig K --config C`) or as a
`kyb server` component (`run_in_server`), with leader election on a Lease so that two schedulers
of the same name never both bind (only the holder of ``<resourceNamespace>/<resourceName>`` runs
its loop; the others wait to take over).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from pathlib import Path

from kybernetes.client import (
    APIClient,
    EventRecorder,
    LeaderElectionConfig,
    LeaderElector,
    SharedInformerFactory,
)
from kybernetes.client.config import load_kubeconfig
from kybernetes.scheduler.config import SchedulerConfiguration, load_config
from kybernetes.scheduler.scheduler import Scheduler

log = logging.getLogger("kyb.scheduler")
SYNC_TIMEOUT = 60.0


async def serve(client: APIClient, cfg: SchedulerConfiguration, *, identity: str = "",
                ready: asyncio.Event | None = None, holder: list[Scheduler] | None = None) -> None:
    """Run until cancelled: informers, and (while leading, if leader election is on) the loop."""
    component = cfg.profiles[0].scheduler_name
    recorder = EventRecorder(client, component, host=socket.gethostname())
    identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"

    async def lead() -> None:
        sched = Scheduler(cfg, client=client, recorder=recorder)
        if holder is not None:
            holder.append(sched)
        factory = SharedInformerFactory(client)
        sched.attach(factory)
        factory.start()
        try:
            if not await factory.wait_for_cache_sync(SYNC_TIMEOUT):
                raise RuntimeError("scheduler informers did not sync")
            log.info("scheduler %s (%s) running with %d nodes", component, identity, len(sched.cache.nodes))
            if ready is not None:
                ready.set()
            await sched.run()
        finally:
            await factory.shutdown()
            await sched.drain_bindings()

    try:
        le = cfg.leader_election
        if not le.leader_elect:
            await lead()
            return
        elector = LeaderElector(
            client, LeaderElectionConfig(le.resource_namespace, le.resource_name, identity,
                                         lease_duration=le.lease_duration, renew_deadline=le.renew_deadline,
                                         retry_period=le.retry_period, release_on_cancel=True),
            on_started_leading=lead)
        await elector.run()
    finally:
        with contextlib.suppress(Exception):
            await recorder.close()


async def run(kubeconfig: Path | str | None, config: Path | str | None = None, *, metrics_port: int = 0,
              metrics_address: str = "127.0.0.1") -> None:
    cfg = load_config(config)
    runner = None
    if metrics_port:  # the standalone command; inside `kyb server` the API server's /metrics has them
        from kybernetes.metrics import prom
        from kybernetes.scheduler.metrics import process_metrics

        runner = await prom.serve(process_metrics().registry, metrics_port, metrics_address)
    try:
        async with APIClient(load_kubeconfig(kubeconfig), user_agent="kyb-scheduler/0.1") as client:
            await serve(client, cfg)
    finally:
        if runner is not None:
            await runner.cleanup()


async def run_in_server(kubeconfig: Path) -> None:
    """The `kyb server` component: the default profile; leader election on, so that several
    servers on one datastore schedule with one voice. KYB_SCHEDULER_CONFIG names a config file."""
    await run(kubeconfig, os.environ.get("KYB_SCHEDULER_CONFIG") or None)
