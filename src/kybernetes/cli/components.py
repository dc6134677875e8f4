"""Components `kyb server` runs beside the API server, in the same process.

Each component is an API client like any other (ARCHITECTURE §1): it gets the admin kubeconfig
and talks to the API over HTTPS. An entry names the coroutine that runs it until cancelled:
``async def run(kubeconfig: pathlib.Path) -> None``. `kyb server --disable NAME` leaves it out.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

log = logging.getLogger("kyb.components")

# name -> "module:function"; started in this order.
COMPONENTS: dict[str, str] = {}
COMPONENTS["scheduler"] = "kybernetes.scheduler.app:run_in_server"
COMPONENTS["controllers"] = "kybernetes.controllers.manager:run_in_server"
COMPONENTS["kubelet"] = "kybernetes.kubelet.component:run"  # the local node: `kyb agent` as a child
COMPONENTS["dns"] = "kybernetes.dns.component:run"  # cluster DNS; the kube-dns Service points at it
COMPONENTS["ingress"] = "kybernetes.ingress.component:run"  # Ingress routing on the host's ports 80/443
COMPONENTS["sim"] = "kybernetes.sim.component:run"  # only with KYB_SIM_NODES / KYB_SIM_PROFILE set
COMPONENTS["dashboard"] = "kybernetes.dashboard.component:run"  # web UI on KYB_DASHBOARD_LISTEN


def load(name: str) -> Callable[[Path], Awaitable[None]]:
    module, _, func = COMPONENTS[name].partition(":")
    runner: Callable[[Path], Awaitable[None]] = getattr(importlib.import_module(module), func)
    return runner


async def supervise(name: str, kubeconfig: Path) -> None:
    """Run a component; if it fails, log it and start it again after a pause."""
    runner = load(name)
    while True:
        try:
            await runner(kubeconfig)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("component %s failed; restarting in 2 s", name)
            await asyncio.sleep(2)


def start_all(kubeconfig: Path, disabled: set[str]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(supervise(name, kubeconfig), name=f"component-{name}")
            for name in COMPONENTS if name not in disabled]
