"""Hollow nodes inside `kyb server`: ``KYB_SIM_NODES=N [KYB_SIM_PROFILE=FILE] kyb server ...``.

`kyb server` runs registered components with only the admin kubeconfig, so the node count and
profile come from the environment; with neither set this component does nothing and returns
(a plain `kyb server` registers no fake nodes). ``--disable sim`` also turns it off.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient
from kybernetes.sim.profile import Profile, load_profile, scale_to
from kybernetes.sim.runner import HollowNodes, SimOptions


def profile_from_env(env: dict[str, str]) -> Profile | None:
    """The profile the environment asks for, or None when it asks for no simulated nodes."""
    nodes = env.get("KYB_SIM_NODES", "").strip()
    path = env.get("KYB_SIM_PROFILE", "").strip()
    if not nodes and not path:
        return None
    profile = load_profile(path) if path else Profile()
    return scale_to(profile, int(nodes)) if nodes else profile


async def run(kubeconfig: Path) -> None:
    profile = profile_from_env(dict(os.environ))
    if profile is None:
        return
    port = os.environ.get("KYB_SIM_STATS_PORT", "").strip()
    opts = SimOptions(stats_port=int(port) if port else None)
    async with APIClient(load_kubeconfig(kubeconfig), user_agent="kyb-sim/0.1") as client:
        sim = HollowNodes(client, profile, options=opts)
        try:
            await sim.start()
            await asyncio.Event().wait()  # until cancelled with the server
        finally:
            await sim.stop()
