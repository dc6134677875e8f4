"""Health-check HTTP servers of the service proxy: what a load balancer asks each node.

A LoadBalancer Service with externalTrafficPolicy Local delivers external traffic only to endpoints
on the node it arrived at, so the load balancer must not send traffic to nodes without one. The API
server gives such a Service a `spec.healthCheckNodePort`; every node's proxy answers HTTP there
(any method, any path) with 200 while the node has at least one ready endpoint of the Service and
503 otherwise, with the JSON body

    {"service": {"namespace": ns, "name": name}, "localEndpoints": N, "serviceProxyHealthy": bool}

(the shape kube-proxy serves; a proxy that has fallen behind answers 503 too). Separately the proxy
may serve its own health on a configurable address (kube-proxy's :10256): `/healthz` and `/livez`
with `lastUpdated`/`currentTime` (and `nodeEligible` on /healthz).

Shape: decide in pure functions, act in a thin executor.
    desired_health_ports(model, node_name)  -> {port: HealthTarget}
    plan_health_servers(current, desired)   -> HealthPlan(open, close, update)
    service_health_response(target, ...)    -> (status, body)
    ServiceHealthServers.sync(desired)      opens and closes listeners (one aiohttp runner, one site
                                            per port), called from ServiceProxy.sync

Rules:
1. `localEndpoints` counts distinct endpoint addresses of the Service (over all its ports) on this
   node that are ready and not terminating: a node with only terminating endpoints fails the check
   so the load balancer drains it, while those endpoints keep serving open connections.
2. A port that cannot be opened (taken by another process) is logged and retried on the next sync;
   it never fails the datapath sync.
3. Two Services never share a health port (the allocator guarantees it); if they did, the first by
   key would win, deterministically.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from kybernetes.proxy.model import ServicePort

log = logging.getLogger("kyb.proxy.health")

JSON_HEADERS = {"Content-Type": "application/json", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True, slots=True)
class HealthTarget:
    """What one health port answers for."""
    namespace: str
    name: str
    local_endpoints: int = 0


@dataclass(slots=True)
class HealthPlan:
    open: dict[int, HealthTarget] = field(default_factory=dict)    # start listening
    close: list[int] = field(default_factory=list)                  # stop listening
    update: dict[int, HealthTarget] = field(default_factory=dict)   # listening; answer changes

    @property
    def empty(self) -> bool:
        return not (self.open or self.close or self.update)


def desired_health_ports(model: Iterable[ServicePort], *, node_name: str) -> dict[int, HealthTarget]:
    """Every health port this node must serve, with the Service's local ready endpoint count."""
    owner: dict[int, tuple[str, str]] = {}
    local_ips: dict[tuple[str, str], set[str]] = {}
    for sp in sorted(model, key=lambda s: s.key):
        if not sp.health_check_node_port:
            continue
        svc = (sp.namespace, sp.name)
        if owner.setdefault(sp.health_check_node_port, svc) != svc:
            continue  # rule 3
        ips = local_ips.setdefault(svc, set())
        ips.update(e.ip for e in sp.all_endpoints if e.node_name == node_name and e.ready and not e.terminating)
    return {port: HealthTarget(ns, name, len(local_ips[(ns, name)])) for port, (ns, name) in owner.items()}


def plan_health_servers(current: Mapping[int, HealthTarget], desired: Mapping[int, HealthTarget]) -> HealthPlan:
    """The listeners to open and close and the answers to change, to go from `current` to `desired`."""
    plan = HealthPlan()
    for port in sorted(current):
        if port not in desired:
            plan.close.append(port)
    for port in sorted(desired):
        if port not in current:
            plan.open[port] = desired[port]
        elif current[port] != desired[port]:
            plan.update[port] = desired[port]
    return plan


def service_health_response(target: HealthTarget, *, proxy_healthy: bool = True) -> tuple[int, bytes]:
    """Status and JSON body for one health request (200 only with local endpoints and a healthy proxy)."""
    body = {"service": {"namespace": target.namespace, "name": target.name},
            "localEndpoints": target.local_endpoints, "serviceProxyHealthy": proxy_healthy}
    status = 200 if target.local_endpoints > 0 and proxy_healthy else 503
    return status, orjson.dumps(body)


def go_time(ts: float) -> str:
    """A wall-clock time written the way kube-proxy's health answers write it."""
    dt = datetime.datetime.fromtimestamp(ts, datetime.UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond:06d}" + " +0000 UTC"


def proxy_health_response(*, healthy: bool, last_updated: float, now: float, node_eligible: bool | None = True
                          ) -> tuple[int, bytes]:
    """The proxy's own /healthz (with `node_eligible`) or /livez (`node_eligible=None`) answer.
    A healthy proxy reports `lastUpdated` as now, as kube-proxy does for old clients' sake."""
    ok = healthy and node_eligible is not False
    body: dict[str, object] = {"lastUpdated": go_time(now if ok else last_updated), "currentTime": go_time(now)}
    if node_eligible is not None:
        body["nodeEligible"] = node_eligible
    return (200 if ok else 503), orjson.dumps(body)


class ServiceHealthServers:
    """Listeners for the health ports: one aiohttp runner, one TCP site per port; the handler looks
    up what to answer by the port the request arrived on, so a count change needs no restart.

    `served` is what is listening now; `failed` the ports that could not be opened (rule 2)."""

    def __init__(self, host: str = "0.0.0.0", *, proxy_healthy: Callable[[], bool] = lambda: True) -> None:
        self.host = host
        self.proxy_healthy = proxy_healthy
        self.served: dict[int, HealthTarget] = {}
        self.failed: dict[int, str] = {}
        self._sites: dict[int, web.TCPSite] = {}
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        target = self.served.get(sock[1]) if sock else None
        if target is None:  # closed while this request was in flight
            return web.Response(status=503, headers=JSON_HEADERS, body=b"{}")
        status, body = service_health_response(target, proxy_healthy=self.proxy_healthy())
        return web.Response(status=status, headers=JSON_HEADERS, body=body)

    async def _ensure_runner(self) -> web.AppRunner:
        if self._runner is None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await self._runner.setup()
        return self._runner

    async def sync(self, desired: Mapping[int, HealthTarget]) -> HealthPlan:
        """Make the listeners match `desired`; returns the plan it carried out."""
        plan = plan_health_servers(self.served, desired)
        for port in plan.close:
            site = self._sites.pop(port, None)
            self.served.pop(port, None)
            if site is not None:
                await site.stop()
            log.info("closed health check port %d", port)
        self.served.update(plan.update)
        for port in set(self.failed) - set(desired):
            del self.failed[port]
        if plan.open:
            runner = await self._ensure_runner()
            for port, target in plan.open.items():
                site = web.TCPSite(runner, self.host, port, reuse_address=True)
                try:
                    await site.start()
                except OSError as exc:
                    await site.stop()  # unregisters the half-started site
                    if port not in self.failed:
                        log.warning("cannot open health check port %d for %s/%s: %s", port, target.namespace,
                                    target.name, exc)
                    self.failed[port] = str(exc)
                    continue
                self.failed.pop(port, None)
                self._sites[port] = site
                self.served[port] = target
                log.info("health check port %d for %s/%s", port, target.namespace, target.name)
        return plan

    async def close(self) -> None:
        """Stop every listener."""
        self._sites.clear()
        self.served.clear()
        self.failed.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class ProxyHealthServer:
    """The proxy's own health answer on `host:port` (`/healthz`, `/livez`); `state()` returns
    (healthy, last_updated wall time) and `node_eligible()` whether this node should get traffic."""

    def __init__(self, host: str, port: int, *, state: Callable[[], tuple[bool, float]],
                 node_eligible: Callable[[], bool] = lambda: True, clock: Callable[[], float] = time.time) -> None:
        self.host, self.port = host, port
        self.state = state
        self.node_eligible = node_eligible
        self.clock = clock
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        healthy, last = self.state()
        eligible = self.node_eligible() if request.path == "/healthz" else None
        status, body = proxy_health_response(healthy=healthy, last_updated=last, now=self.clock(),
                                             node_eligible=eligible)
        return web.Response(status=status, headers=JSON_HEADERS, body=body)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._handle)
        app.router.add_get("/livez", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port, reuse_address=True).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
