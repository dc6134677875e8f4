"""`kyb sim`: run hollow nodes against a cluster until SIGTERM/SIGINT.

The cluster is found as kubectl finds it (``--kubeconfig``, else ``$KUBECONFIG``, else
``~/.kube/config``). Prints one line when every node is registered and a line of counters on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient
from kybernetes.sim.profile import Profile, load_profile, scale_to
from kybernetes.sim.runner import HollowNodes, SimOptions


@dataclass(slots=True)
class SimCommand:
    nodes: int | None = None
    profile: Path | None = None
    kubeconfig: str = ""
    context: str = ""
    cleanup: bool = False
    log_level: str = "info"
    options: SimOptions = dataclasses.field(default_factory=SimOptions)


def build_profile(nodes: int | None, path: Path | None) -> Profile:
    profile = load_profile(path) if path is not None else Profile()
    return scale_to(profile, nodes) if nodes is not None else profile


async def serve(cmd: SimCommand, profile: Profile) -> None:
    config = load_kubeconfig(cmd.kubeconfig or None, context=cmd.context)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with APIClient(config, user_agent="kyb-sim/0.1") as client:
        from kybernetes.client.failover import follow_api_servers

        api_servers = asyncio.create_task(follow_api_servers(client))  # fail over between HA servers
        sim = HollowNodes(client, profile, options=cmd.options)
        began = time.monotonic()
        await sim.start()
        try:
            waiter = asyncio.create_task(sim.wait_registered())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if not stop.is_set():
                stats = f"; stats: {sim.stats_url('<node>')}" if sim.stats_port else ""
                print(f"kyb sim: {len(sim.nodes)} nodes registered in {time.monotonic() - began:.1f}s{stats}",
                      flush=True)
            await stopper
        finally:
            api_servers.cancel()
            await sim.stop(cleanup=cmd.cleanup)
            c = sim.counters
            print(f"kyb sim: stopped; leases renewed {c.lease_renewals}, node status updates "
                  f"{c.node_status_updates}, pod status writes {c.pod_status_writes}, pod deletions "
                  f"{c.pod_deletions}, conflicts {c.conflicts}, errors {c.errors}"
                  + (f"; deleted {len(sim.nodes)} nodes" if cmd.cleanup else ""), flush=True)


def run_sim(cmd: SimCommand) -> None:
    logging.basicConfig(level=getattr(logging, cmd.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    profile = build_profile(cmd.nodes, cmd.profile)
    asyncio.run(serve(cmd, profile))
