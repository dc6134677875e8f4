"""Client-side failover between the API servers of a highly available control plane.

k3s agents run a local load balancer in front of the servers; here the client itself keeps the
list (docs/ha.md): ``ClientConfig.server`` is the server in use, ``alternate_servers`` the others.
``follow_api_servers`` refreshes the alternates from the `kubernetes` Endpoints (every live API
server, apiserver/ha/endpoints.py) every ``interval`` seconds; ``fail_over`` is called by the REST
client when a connection to the current server cannot be made, and moves to the next one.

Assumptions: every server presents a certificate from the cluster CA that names the address it is
listed under (a server's advertise address is in its serving certificate), and the credentials
are cluster-wide (client certificates and tokens are valid on every server).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kybernetes.client.config import ClientConfig

if TYPE_CHECKING:
    from kybernetes.client.rest import APIClient

log = logging.getLogger("kyb.client.failover")

DEFAULT_INTERVAL = 30.0


def servers_from_endpoints(endpoints: Mapping[str, Any]) -> list[str]:
    """https URLs of the addresses in the `kubernetes` Endpoints, in their order."""
    urls = []
    for subset in endpoints.get("subsets") or []:
        ports = [p.get("port") for p in subset.get("ports") or [] if p.get("name", "https") == "https"]
        for address in subset.get("addresses") or []:
            ip = str(address.get("ip") or "")
            for port in ports[:1]:
                host = f"[{ip}]" if ":" in ip else ip
                urls.append(f"https://{host}:{port}")
    return urls


def alternates_for(current: str, known: list[str]) -> list[str]:
    """The servers to fall back to: `known` without the current one, starting after it so that
    clients spread over the list instead of all moving to its first entry."""
    if current in known:
        i = known.index(current)
        return known[i + 1 :] + known[:i]
    return list(known)


def fail_over(config: ClientConfig, failed: str) -> bool:
    """Move `config` off `failed` to the next alternate; False when there is none (or another
    request already moved it)."""
    if config.server != failed:
        return True  # someone else failed over already: retry on the current server
    if not config.alternate_servers:
        return False
    config.server = config.alternate_servers[0]
    config.alternate_servers = [*config.alternate_servers[1:], failed]
    log.warning("API server %s unreachable; failing over to %s", failed, config.server)
    return True


async def refresh(client: APIClient) -> list[str]:
    from kybernetes.client.rest import resource

    endpoints = await client.get(
        resource("v1", "endpoints", namespaced=True), "kubernetes", namespace="default"
    )
    known = servers_from_endpoints(endpoints)
    if known:
        client.config.alternate_servers = alternates_for(client.config.server, known)
    return known


async def follow_api_servers(client: APIClient, *, interval: float = DEFAULT_INTERVAL) -> None:
    """Keep the client's alternates current until cancelled (failures only wait for the next round)."""
    while True:
        try:
            await refresh(client)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            log.debug("refreshing the API server list: %s", e)
        await asyncio.sleep(interval)
