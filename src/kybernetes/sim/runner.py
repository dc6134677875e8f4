"""`HollowNodes`: many simulated kubelets in one process, sharing one client, one pod informer and
two work queues.

Theory of operation. Nothing here runs per node: node i is a `NodeState` record. All timed work
is a key in a `WorkQueue` (whose delayed adds are one heap and one task — the timer wheel):

- heartbeat queue: ``("register", node)``, ``("lease", node)`` every renew interval, ``("status",
  node)`` every node-status update period (10 s). A status tick posts only when the Node as the
  API shows it (one shared node informer, else the object the last write returned) differs from
  what the node would report, or when the report frequency (5 min) has elapsed — so a node that
  the node lifecycle controller marked Unknown is Ready again within one tick, and an idle node
  costs no request. Each node's first lease and status slot is offset by
  a low-discrepancy fraction of the period, so N nodes renew evenly rather than in bursts. It has
  its own workers so that a flood of pod work never starves leases (a node whose lease lapses
  would be declared NotReady).
- pod queue: ``("pod", namespace/name)``, added by the one shared pod informer (all bound pods,
  indexed by spec.nodeName) and by `PodPlan.recheck_at` timers. Its worker calls the pure
  `plan_pod` and sends what the plan says.

Every API call goes through a fixed number of workers (bounded concurrency) and an optional
token bucket (``qps``); failures requeue the key with per-key exponential backoff; conflicts are
expected (the informer catches up and the pod is planned again).

Invariants:
1. At most `max_inflight` requests are in flight (heartbeat workers + pod workers).
2. A pod is planned by one worker at a time (the work queue hands a key to one worker).
3. Pods are only ever acted on when bound to a node this process registered.
4. Everything written is derived from the API's objects (`plan_pod` reads only the pod), so a
   restarted simulator converges on the same state.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kybernetes.client.errors import APIError, is_already_exists, is_conflict, is_not_found
from kybernetes.client.informer import Informer
from kybernetes.client.rest import APIClient, resource
from kybernetes.client.store import NODE_NAME_INDEX, index_by_node_name, meta_namespace_key, split_key
from kybernetes.client.workqueue import ItemExponentialFailureRateLimiter, ShutDown, WorkQueue
from kybernetes.kubelet.nodestatus import (
    LEASE_NAMESPACE,
    condition_times,
    kept_transition_times,
    node_conditions,
    render_lease,
    should_post_status,
)
from kybernetes.sim.nodes import (
    SIM_LABEL,
    STATS_URL_ANNOTATION,
    SimNode,
    plan_nodes,
    render_node,
    render_node_status,
)
from kybernetes.sim.podstate import TERMINAL, plan_pod
from kybernetes.sim.profile import Profile
from kybernetes.sim.stats import summary
from kybernetes.util.times import micro_time

log = logging.getLogger("kyb.sim")

NODES = resource("v1", "nodes")
PODS = resource("v1", "pods")
LEASES = resource("coordination.k8s.io/v1", "leases")
_GOLDEN = 0.6180339887498949  # spreads i * golden mod 1 evenly over [0, 1) for any count

Key = tuple[str, str]


def _rv_int(obj: Mapping[str, Any]) -> int:
    """resourceVersion as a number to pick the newer of two copies (opaque to clients in general,
    but kyb's are increasing integers); 0 if it is not one."""
    rv = str((obj.get("metadata") or {}).get("resourceVersion") or "")
    return int(rv) if rv.isdigit() else 0


@dataclass(slots=True)
class SimOptions:
    max_inflight: int = 32  # concurrent API requests, all nodes together
    heartbeat_workers: int = 0  # of max_inflight, reserved for leases/status (0: a quarter, at least 2)
    qps: float = 0.0  # requests per second, all nodes together (0: unlimited)
    burst: int = 100
    stats_port: int | None = None  # overrides the profile's stats.port when given
    stats_address: str = ""


class TokenBucket:
    """Requests per second for the whole process; callers reserve a token and sleep until it exists."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = max(burst, 1)
        self._tokens = float(self.burst)
        self._last = time.monotonic()

    async def acquire(self) -> None:
        if self.qps <= 0:
            return
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1
        if self._tokens < 0:
            await asyncio.sleep(-self._tokens / self.qps)


@dataclass(slots=True)
class NodeState:
    sim: SimNode
    uid: str = ""
    registered: bool = False
    pod_cidr: str = ""
    lease: dict[str, Any] | None = None
    since: dict[str, str] = field(default_factory=dict)  # condition type -> lastTransitionTime
    seen: dict[str, Any] | None = None  # the Node as the last write returned it
    last_post: float = 0.0  # wall time of the last status post
    started: float = 0.0
    ips: dict[str, str] = field(default_factory=dict)  # pod key -> IP
    next_ip: int = 2  # host offset to try next (.0 is the network, .1 the gateway)


@dataclass(slots=True)
class Counters:
    registered: int = 0
    lease_renewals: int = 0
    node_status_updates: int = 0
    pod_status_writes: int = 0
    pod_deletions: int = 0
    conflicts: int = 0
    errors: int = 0


class HollowNodes:
    def __init__(self, client: APIClient, profile: Profile, *, options: SimOptions | None = None,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.profile = profile
        self.options = options or SimOptions()
        self.now = wall_clock
        self.nodes: dict[str, NodeState] = {n.name: NodeState(n, pod_cidr=n.pod_cidr) for n in plan_nodes(profile)}
        self.counters = Counters()
        self.pods = Informer(client, PODS, field_selector="spec.nodeName!=",
                             indexers={NODE_NAME_INDEX: index_by_node_name})
        # what the API shows of this process's nodes, so status ticks compare without a GET each
        self.node_view = Informer(client, NODES, label_selector=f"{SIM_LABEL}=true")
        limiter = ItemExponentialFailureRateLimiter(0.05, 30.0)
        self._hb: WorkQueue[Key] = WorkQueue(name="sim-heartbeat", rate_limiter=limiter)
        self._pq: WorkQueue[Key] = WorkQueue(name="sim-pods", rate_limiter=ItemExponentialFailureRateLimiter(0.05, 30.0))
        self._bucket = TokenBucket(self.options.qps, self.options.burst)
        self._tasks: list[asyncio.Task[None]] = []
        self._stats_runner: web.AppRunner | None = None
        self.stats_port = 0
        self._registered = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Serve stats, register every node, start heartbeats and the pod informer."""
        await self._start_stats()
        self.pods.add_handlers(on_add=self._on_pod, on_update=lambda _old, new: self._on_pod(new),
                               on_delete=self._on_pod_deleted)
        self.pods.start()
        self.node_view.start()
        total = max(self.options.max_inflight, 2)
        hb = self.options.heartbeat_workers or max(2, total // 4)
        hb = min(hb, total - 1)
        for i in range(hb):
            self._tasks.append(asyncio.create_task(self._worker(self._hb, self._heartbeat), name=f"sim-hb-{i}"))
        for i in range(total - hb):
            self._tasks.append(asyncio.create_task(self._worker(self._pq, self._sync_pod), name=f"sim-pod-{i}"))
        if not self.nodes:
            self._registered.set()
        for name in self.nodes:
            self._hb.add(("register", name))

    async def wait_registered(self, timeout: float | None = None) -> bool:
        """True once every node has been registered (its Node exists)."""
        try:
            await asyncio.wait_for(self._registered.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self, *, cleanup: bool = False) -> None:
        """Stop every loop; with `cleanup`, delete this process's Nodes and their Leases."""
        self._hb.shutdown()
        self._pq.shutdown()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        await self.pods.stop()
        await self.node_view.stop()
        if self._stats_runner is not None:
            await self._stats_runner.cleanup()
            self._stats_runner = None
        if cleanup:
            await self._cleanup()

    async def _cleanup(self) -> None:
        sem = asyncio.Semaphore(max(self.options.max_inflight, 1))

        async def delete(name: str) -> None:
            async with sem:
                for res, ns in ((LEASES, LEASE_NAMESPACE), (NODES, "")):
                    with contextlib.suppress(APIError):
                        await self._bucket.acquire()
                        await self.client.delete(res, name, namespace=ns)

        await asyncio.gather(*(delete(n) for n in self.nodes))
        log.info("deleted %d nodes", len(self.nodes))

    # --- workers ----------------------------------------------------------------------------------
    async def _worker(self, queue: WorkQueue[Key], handle: Callable[[Key], Any]) -> None:
        while True:
            try:
                key = await queue.get()
            except ShutDown:
                return
            try:
                await handle(key)
                queue.forget(key)
            except asyncio.CancelledError:
                raise
            except APIError as e:
                if is_conflict(e):
                    self.counters.conflicts += 1
                else:
                    self.counters.errors += 1
                    log.info("sim %s %s: %s", key[0], key[1], e)
                queue.add_rate_limited(key)
            except Exception:
                self.counters.errors += 1
                log.exception("sim %s %s failed", key[0], key[1])
                queue.add_rate_limited(key)
            finally:
                queue.done(key)

    async def _heartbeat(self, key: Key) -> None:
        kind, name = key
        st = self.nodes[name]
        if kind == "register":
            await self._register(st)
        elif kind == "lease":
            await self._renew_lease(st)
            self._hb.add_after(("lease", name), self.profile.timing.lease_renew_interval)
        elif kind == "status":
            await self._report_status(st)
            self._hb.add_after(("status", name), self.profile.timing.node_status_update_frequency)

    def _offset(self, st: NodeState, period: float) -> float:
        return period * ((st.sim.index * _GOLDEN) % 1.0)

    # --- nodes ------------------------------------------------------------------------------------
    def stats_url(self, name: str) -> str:
        if not self.stats_port:
            return ""
        host = self.options.stats_address or self.profile.stats.address
        return f"http://{host}:{self.stats_port}/nodes/{name}/stats/summary"

    async def _register(self, st: NodeState) -> None:
        now = self.now()
        body = render_node(st.sim, now, stats_url=self.stats_url(st.sim.name))
        await self._bucket.acquire()
        try:
            node = await self.client.create(NODES, body)
        except APIError as e:
            if not is_already_exists(e):
                raise
            # registered before (a restart): take it over and report a fresh status
            await self._bucket.acquire()
            current = await self.client.get(NODES, st.sim.name)
            st.since = condition_times(current)
            stats_url = self.stats_url(st.sim.name)
            if ((current.get("metadata") or {}).get("annotations") or {}).get(STATS_URL_ANNOTATION, "") != stats_url:
                # the stats endpoint moved with the restart (a new port, or none): metrics scrapers read it here
                await self._bucket.acquire()
                await self.client.patch(NODES, st.sim.name,
                                        {"metadata": {"annotations": {STATS_URL_ANNOTATION: stats_url or None}}})
            await self._bucket.acquire()
            node = await self.client.patch(NODES, st.sim.name,
                                           {"status": render_node_status(st.sim, now, since=st.since)},
                                           subresource="status")
        self._adopt(st, node)
        st.last_post = now
        st.started = now
        if not st.registered:
            st.registered = True
            self.counters.registered += 1
            if self.counters.registered == len(self.nodes):
                self._registered.set()
        await self._renew_lease(st)
        t = self.profile.timing
        self._hb.add_after(("lease", st.sim.name), max(self._offset(st, t.lease_renew_interval), 0.5))
        self._hb.add_after(("status", st.sim.name), max(self._offset(st, t.node_status_update_frequency), 1.0))
        for pod_key in self.pods.store.index_keys(NODE_NAME_INDEX, st.sim.name):
            self._pq.add(("pod", pod_key))

    def _adopt(self, st: NodeState, node: Mapping[str, Any]) -> None:
        st.uid = str((node.get("metadata") or {}).get("uid") or st.uid)
        cidr = (node.get("spec") or {}).get("podCIDR")
        if cidr and cidr != st.pod_cidr:
            st.pod_cidr = str(cidr)
        st.since = condition_times(node) or st.since
        st.seen = dict(node)

    async def _renew_lease(self, st: NodeState) -> None:
        now = self.now()
        timing = self.profile.timing
        await self._bucket.acquire()
        if st.lease is None:
            try:
                st.lease = await self.client.get(LEASES, st.sim.name, namespace=LEASE_NAMESPACE)
            except APIError as e:
                if not is_not_found(e):
                    raise
                st.lease = await self.client.create(
                    LEASES, render_lease(st.sim.name, st.uid, now, duration_seconds=timing.lease_duration_seconds))
                self.counters.lease_renewals += 1
                return
            await self._bucket.acquire()
        lease = dict(st.lease)
        lease["spec"] = {**(lease.get("spec") or {}), "holderIdentity": st.sim.name,
                         "leaseDurationSeconds": timing.lease_duration_seconds, "renewTime": micro_time(now)}
        try:
            st.lease = await self.client.update(LEASES, lease, namespace=LEASE_NAMESPACE)
        except APIError:
            st.lease = None  # read it again next time
            raise
        self.counters.lease_renewals += 1

    def _observed(self, st: NodeState) -> dict[str, Any] | None:
        """The newest copy of this node the process knows: the informer's or the last write's.
        None once the informer has synced without it (deleted: the post's 404 re-registers)."""
        cached = self.node_view.store.get(st.sim.name)
        if cached is None:
            return None if self.node_view.has_synced() else st.seen
        if st.seen is not None and _rv_int(st.seen) > _rv_int(cached):
            return st.seen
        return cached

    async def _report_status(self, st: NodeState) -> None:
        now = self.now()
        observed = self._observed(st)
        since = kept_transition_times(observed, node_conditions(now)) if observed is not None else st.since
        status = render_node_status(st.sim, now, since=since)
        if not should_post_status(status, observed, now=now, last_post=st.last_post,
                                  report_frequency=self.profile.timing.node_status_report_frequency):
            return
        await self._bucket.acquire()
        try:
            node = await self.client.patch(NODES, st.sim.name, {"status": {"conditions": status["conditions"]}},
                                           subresource="status")
        except APIError as e:
            if is_not_found(e):  # someone deleted the Node: register again, as a kubelet would
                self._hb.add(("register", st.sim.name))
                return
            raise
        self._adopt(st, node)
        st.last_post = now
        self.counters.node_status_updates += 1

    # --- pods -------------------------------------------------------------------------------------
    def _on_pod(self, pod: dict[str, Any]) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        st = self.nodes.get(str(node)) if node else None
        if st is not None and st.registered:
            self._pq.add(("pod", meta_namespace_key(pod)))

    def _on_pod_deleted(self, pod: dict[str, Any]) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        st = self.nodes.get(str(node)) if node else None
        if st is not None:
            st.ips.pop(meta_namespace_key(pod), None)

    def _pod_ip(self, st: NodeState, key: str, pod: Mapping[str, Any]) -> str:
        existing = (pod.get("status") or {}).get("podIP")
        if existing:
            st.ips[key] = str(existing)
            return str(existing)
        if key in st.ips:
            return st.ips[key]
        if st.pod_cidr:
            net = ipaddress.ip_network(st.pod_cidr, strict=False)
        else:
            fake = ipaddress.ip_network(self.profile.fake_pod_range)
            count = 2 ** (24 - fake.prefixlen) if fake.prefixlen <= 24 else 1
            base = int(fake.network_address) + (st.sim.index % count) * 256
            net = ipaddress.ip_network(f"{ipaddress.ip_address(base)}/{max(fake.prefixlen, 24)}")
        size = net.num_addresses
        used = set(st.ips.values())
        for _ in range(max(size - 3, 1)):
            offset = st.next_ip
            st.next_ip = offset + 1 if offset + 1 < size - 1 else 2
            ip = str(net.network_address + offset)
            if ip not in used:
                st.ips[key] = ip
                return ip
        return ""  # the node's range is full: the pod runs without an IP, as a broken CNI would leave it

    async def _sync_pod(self, key: Key) -> None:
        pod_key = key[1]
        pod = self.pods.store.get(pod_key)
        if pod is None:
            return
        st = self.nodes.get(str((pod.get("spec") or {}).get("nodeName") or ""))
        if st is None or not st.registered:
            return
        now = self.now()
        behaviour = self.profile.behaviour_for((pod.get("metadata") or {}).get("labels"))
        plan = plan_pod(pod, now, behaviour, host_ip=st.sim.address, pod_ip=self._pod_ip(st, pod_key, pod))
        if plan.delete_uid:
            ns, name = split_key(pod_key)
            await self._bucket.acquire()
            try:
                await self.client.delete(PODS, name, namespace=ns, grace_period_seconds=0,
                                         preconditions={"uid": plan.delete_uid})
                self.counters.pod_deletions += 1
            except APIError as e:
                if not (is_not_found(e) or is_conflict(e)):
                    raise
        if plan.status is not None:
            body = dict(pod)
            body["status"] = plan.status
            await self._bucket.acquire()
            await self.client.update_status(PODS, body)
            self.counters.pod_status_writes += 1
            if plan.status.get("phase") in TERMINAL:
                st.ips.pop(pod_key, None)
        if plan.recheck_at is not None:
            self._pq.add_after(key, max(plan.recheck_at - now, 0.0))

    # --- stats endpoint ---------------------------------------------------------------------------
    async def _start_stats(self) -> None:
        port = self.options.stats_port if self.options.stats_port is not None else self.profile.stats.port
        if not port and self.options.stats_port is None:
            return
        app = web.Application()
        app.router.add_get("/nodes/{name}/stats/summary", self._serve_summary)
        app.router.add_get("/nodes", self._serve_nodes)
        app.router.add_get("/healthz", self._serve_healthz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.options.stats_address or self.profile.stats.address, port)
        await site.start()
        self._stats_runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.stats_port = int(sockets[0].getsockname()[1]) if sockets else port
        log.info("stats on http://%s:%d/nodes/<name>/stats/summary",
                 self.options.stats_address or self.profile.stats.address, self.stats_port)

    async def _serve_summary(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        st = self.nodes.get(name)
        if st is None:
            return web.json_response({"message": f"no simulated node {name!r}"}, status=404)
        body = summary(st.sim, self.pods.store.by_index(NODE_NAME_INDEX, name), self.now(),
                       node_start=st.started or self.now(), behaviour_for=self.profile.behaviour_for,
                       system=self.profile.stats.node_usage)
        return web.json_response(body)

    async def _serve_nodes(self, request: web.Request) -> web.Response:
        return web.json_response({"nodes": sorted(self.nodes)})

    async def _serve_healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")
