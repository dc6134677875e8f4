"""Every scrape period, ask each Ready node's kubelet for ``/stats/summary`` and feed the store.

Which nodes and where (pure, `scrape_target`):

- only nodes whose Ready condition is True (a NotReady node's kubelet is not expected to answer;
  its last numbers expire in the store);
- a real node's kubelet is reached as the API server's node proxy reaches it: the node's
  InternalIP (else Hostname) and ``daemonEndpoints.kubeletEndpoint.Port`` over HTTPS, with the
  API server's kubelet client certificate, the kubelet's serving certificate checked against
  the cluster CA (apiserver/registry/podproxy.py);
- a simulated node (label ``sim.kybernetes.io/hollow``) has no kubelet at its fake address; it
  publishes its stats endpoint in the annotation ``sim.kybernetes.io/stats-url`` (plain HTTP,
  sim/runner.py). A simulated node without that annotation has no stats and is skipped.

The executor (`Scraper`) asks all targets at once, at most `concurrency` at a time, each within
`timeout` seconds; one node failing never stops the others. A failure keeps that node's last
numbers (until they expire); nodes that are gone are forgotten at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from kybernetes.apiserver.registry.podproxy import node_endpoint
from kybernetes.machinery import errors
from kybernetes.metrics.store import MetricsStore
from kybernetes.metrics.summary import decode_summary
from kybernetes.util import goduration

log = logging.getLogger(__name__)

Obj = dict[str, Any]

# The simulator's names (kybernetes/sim/nodes.py); repeated here because the API server does not
# import the simulator.
SIM_LABEL = "sim.kybernetes.io/hollow"
SIM_STATS_URL_ANNOTATION = "sim.kybernetes.io/stats-url"
MAX_SUMMARY_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Target:
    node: str
    url: str


def node_ready(node: Obj) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(
        isinstance(c, dict) and c.get("type") == "Ready" and c.get("status") == "True" for c in conditions
    )


def scrape_target(node: Obj) -> Target | None:
    """Where to read a node's summary, or None when it is not to be scraped now."""
    meta = node.get("metadata") or {}
    name = meta.get("name") or ""
    if not name or not node_ready(node):
        return None
    if (meta.get("labels") or {}).get(SIM_LABEL) is not None:
        url = str((meta.get("annotations") or {}).get(SIM_STATS_URL_ANNOTATION) or "")
        return Target(name, url) if url.startswith(("http://", "https://")) else None
    try:
        host, port = node_endpoint(node)
    except (errors.StatusError, ValueError, TypeError):
        return None
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address in a URL
    return Target(name, f"https://{host}:{port}/stats/summary")


def scrape_targets(nodes: Iterable[Obj]) -> list[Target]:
    return [t for t in (scrape_target(n) for n in nodes) if t is not None]


class Scraper:
    """Runs the scrape loop; `nodes` returns the current Node objects (the API server's cache)."""

    def __init__(
        self,
        store: MetricsStore,
        nodes: Callable[[], list[Obj]],
        ssl_context: Callable[[], ssl.SSLContext],
        *,
        period: float,
        timeout: float,
        concurrency: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.nodes = nodes
        self.ssl_context = ssl_context
        self.period = period
        self.timeout = timeout
        self.clock = clock
        self._limit = asyncio.Semaphore(concurrency)
        self._session: aiohttp.ClientSession | None = None
        self._failing: set[str] = set()
        self.scrapes = 0  # completed rounds (tests wait on it)

    async def run(self) -> None:
        """Scrape every `period` seconds until cancelled."""
        try:
            while True:
                started = time.monotonic()
                try:
                    await self.scrape_once()
                except Exception:  # a bug here must not end metrics for the server's life
                    log.exception("metrics scrape failed")
                await asyncio.sleep(max(self.period - (time.monotonic() - started), 0.05))
        finally:
            await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def scrape_once(self) -> None:
        nodes = self.nodes()
        self.store.retain(str((n.get("metadata") or {}).get("name") or "") for n in nodes)
        targets = scrape_targets(nodes)
        if targets:
            await asyncio.gather(*(self._scrape(t) for t in targets))
        self.store.expire(self.clock())
        self.scrapes += 1

    async def _scrape(self, target: Target) -> None:
        async with self._limit:
            try:
                doc = await asyncio.wait_for(self._fetch(target.url), self.timeout)
            except (
                aiohttp.ClientError,
                OSError,
                TimeoutError,
                ValueError,
                ssl.SSLError,
                errors.StatusError,
            ) as e:
                if target.node not in self._failing:
                    log.warning("metrics: cannot read stats of node %s (%s): %s", target.node, target.url, e)
                    self._failing.add(target.node)
                return
        if target.node in self._failing:
            log.info("metrics: node %s answers again", target.node)
            self._failing.discard(target.node)
        self.store.record(target.node, decode_summary(doc), self.clock())

    async def _fetch(self, url: str) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        ctx: ssl.SSLContext | bool = self.ssl_context() if url.startswith("https://") else False
        async with self._session.get(
            url, ssl=ctx, allow_redirects=False, headers={"Accept": "application/json"}
        ) as resp:
            if resp.status != 200:
                raise ValueError(f"answered {resp.status}")
            body = await resp.content.read(MAX_SUMMARY_BYTES + 1)
            if len(body) > MAX_SUMMARY_BYTES:
                raise ValueError("summary too large")
            return orjson.loads(body)


def default_period(env: dict[str, str]) -> float:
    """The scrape period in seconds: ``KYB_METRICS_RESOLUTION`` (seconds, or a Go duration such as
    ``2s``, ``500ms``, ``1m``; 0 turns scraping off), else 15 s as upstream's metrics-server
    ``--metric-resolution``."""
    raw = env.get("KYB_METRICS_RESOLUTION", "").strip()
    if not raw:
        return 15.0
    with contextlib.suppress(ValueError):
        return max(float(raw), 0.0)
    with contextlib.suppress(ValueError):
        return max(goduration.parse_go_duration(raw), 0.0)
    log.warning("metrics: ignoring KYB_METRICS_RESOLUTION=%r (want seconds, e.g. 15 or 2s)", raw)
    return 15.0
