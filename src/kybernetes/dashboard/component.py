"""The web dashboard as a `kyb server` component.

Why: a browser view of the cluster (the idea of the Kubernetes Dashboard) that reads and acts
only through the API with the visitor's own bearer token, so RBAC decides what each visitor sees.
The server's admin kubeconfig supplies only the API address and the CA to trust, unless admin mode
is switched on.

Settings come from the environment (defaults in brackets):
  KYB_DASHBOARD_LISTEN  host:port of the plain-HTTP listener, or "off"   [127.0.0.1:9090]
  KYB_DASHBOARD_ADMIN   "true": no login, every visitor acts with the admin kubeconfig's
                        credentials (development only: anyone who reaches the port is
                        cluster-admin)                                   [false]

The listener speaks plain HTTP, meant for loopback (or an SSH tunnel); a non-loopback address
is allowed but logged as a warning, since tokens would cross the network in clear text.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from kybernetes.client.config import load_kubeconfig
from kybernetes.dashboard.api import HTTPBackend
from kybernetes.dashboard.app import make_app
from kybernetes.util.listen import HostPort, parse_listen

log = logging.getLogger("kyb.dashboard")
DEFAULT_LISTEN = "127.0.0.1:9090"


@dataclass(frozen=True, slots=True)
class DashboardSettings:
    listen: HostPort | None  # None = off
    admin_mode: bool = False


def settings_from_env(env: Mapping[str, str]) -> DashboardSettings:
    admin = (env.get("KYB_DASHBOARD_ADMIN") or "").strip().lower() in ("1", "true", "yes", "on")
    return DashboardSettings(
        listen=parse_listen(
            "KYB_DASHBOARD_LISTEN",
            env.get("KYB_DASHBOARD_LISTEN") or DEFAULT_LISTEN,
            default_host="127.0.0.1",
        ),
        admin_mode=admin,
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def run(kubeconfig: Path) -> None:
    """The `kyb server` component: serve the dashboard until cancelled."""
    try:
        settings = settings_from_env(os.environ)
    except ValueError as e:
        print(f"kyb server: the dashboard is not started: {e}", flush=True)
        return
    if settings.listen is None:
        return
    host, port = settings.listen
    backend = HTTPBackend(load_kubeconfig(kubeconfig), admin_mode=settings.admin_mode)
    runner = web.AppRunner(make_app(backend), access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port, reuse_address=True).start()
        except OSError as e:
            print(
                f"kyb server: the dashboard is not started: cannot listen on {host}:{port} ({e}); "
                "set KYB_DASHBOARD_LISTEN=host:port or use --disable dashboard",
                flush=True,
            )
            return
        where = f"http://{host}:{port}/"
        print(
            f"kyb server: dashboard at {where}" + (" (admin mode: no login)" if settings.admin_mode else ""),
            flush=True,
        )
        if not is_loopback(host):
            log.warning(
                "dashboard listens on %s over plain HTTP: tokens cross the network unencrypted", where
            )
        if settings.admin_mode:
            log.warning("dashboard admin mode: every visitor acts with the admin kubeconfig's credentials")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
        await backend.close()
