"""The API server's Prometheus metrics, served at ``/metrics`` to callers allowed ``get`` on the
non-resource URL ``/metrics`` (system:masters, or an RBAC rule naming it).

Names, types, labels and buckets are upstream's (k8s.io/apiserver endpoints, storage and admission
metrics, v1.32), so dashboards and alerts written for a real cluster read them:

- ``apiserver_request_total`` (counter) and ``apiserver_request_duration_seconds`` (histogram) per
  verb, dry_run, group, version, resource, subresource, scope, component (and code): resource
  requests that passed authentication and authorization, as upstream's handler instrumentation
  sees them. The verb is upstream's reported verb: GET/LIST by scope, WATCH, POST, PUT, PATCH or
  APPLY (a server-side apply patch), DELETE, CONNECT (log, exec, attach, portforward, proxy).
- ``apiserver_response_sizes`` for GET and LIST; ``apiserver_longrunning_requests`` (watches and
  connections now open); ``apiserver_current_inflight_requests{request_kind}`` (readOnly or
  mutating, the most at once in the last second; long-running requests are not counted).
- ``etcd_request_duration_seconds`` and ``etcd_requests_total`` per operation and type: the
  storage layer's latency, whichever backend (SQLite or etcd) sits below it.
- ``apiserver_storage_objects{resource}``: objects of each resource, read from the watch cache.
- ``apiserver_watch_events_total{group,version,kind}``: events written to watch streams.
- ``apiserver_admission_controller_admission_duration_seconds{name,operation,rejected,type}`` and
  ``apiserver_admission_step_admission_duration_seconds{operation,rejected,type}``.
- ``process_*`` and ``python_*`` of the server process, and the families of components running
  in this process (the scheduler of ``kyb server``, see `kybernetes.metrics.prom.COMPONENTS`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kybernetes.api.resources import Resource
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.apiserver.rest import USER_KEY
from kybernetes.metrics import prom
from kybernetes.storage.interface import Event, KeyValue, ListResult, Storage

if TYPE_CHECKING:
    from kybernetes.apiserver.cache import WatchCache
    from kybernetes.apiserver.registry.store import Store

COMPONENT = "apiserver"
APPLY_PATCH = "application/apply-patch+yaml"
CONNECT_SUBRESOURCES = frozenset({"log", "exec", "portforward", "attach", "proxy"})
REPORTED_VERBS = frozenset(
    {
        "APPLY",
        "CONNECT",
        "CREATE",
        "DELETE",
        "DELETECOLLECTION",
        "GET",
        "LIST",
        "PATCH",
        "POST",
        "PROXY",
        "PUT",
        "UPDATE",
        "WATCH",
        "WATCHLIST",
    }
)
READ_ONLY_VERBS = frozenset({"get", "list", "watch"})

# Upstream's buckets: request and storage latency share them (they are compared against one SLO).
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005,
    0.025,
    0.05,
    0.1,
    0.2,
    0.4,
    0.6,
    0.8,
    1.0,
    1.25,
    1.5,
    2,
    3,
    4,
    5,
    6,
    8,
    10,
    15,
    20,
    30,
    45,
    60,
)
RESPONSE_SIZE_BUCKETS = prom.exponential_buckets(1000, 10.0, 7)
ADMISSION_BUCKETS: tuple[float, ...] = (0.005, 0.025, 0.1, 0.5, 1.0, 2.5)

REQUEST_LABELS = (
    "verb",
    "dry_run",
    "group",
    "version",
    "resource",
    "subresource",
    "scope",
    "component",
    "code",
)
INFO_KEY: web.RequestKey[RequestInfo] = web.RequestKey("prom-request-info", RequestInfo)
OPEN_KEY: web.RequestKey[Any] = web.RequestKey("prom-open", object)  # Inflight, or a long-running gauge child
SHAPE_LABELS = ("verb", "group", "version", "resource", "subresource", "scope", "component")


# --- how a request is reported (pure) -------------------------------------------------------------------


def clean_scope(info: RequestInfo) -> str:
    if info.name or info.verb == "create":
        return "resource"
    if info.namespace:
        return "namespace"
    return "cluster" if info.is_resource_request else ""


def reported_verb(method: str, info: RequestInfo, *, watch_param: bool, content_type: str) -> str:
    """Upstream's reported verb: the HTTP method, with GET split into GET/LIST/WATCH by scope and
    watch, PATCH into APPLY for server-side apply, and streaming subresources as CONNECT."""
    verb = method.upper()
    if verb in ("GET", "HEAD"):
        verb = "LIST" if clean_scope(info) not in ("resource", "") else "GET"
        if watch_param or info.verb == "watch":
            verb = "WATCH"
    if verb == "PATCH" and content_type.split(";", 1)[0].strip() == APPLY_PATCH:
        verb = "APPLY"
    if info.is_resource_request and info.subresource in CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    return verb if verb in REPORTED_VERBS else "other"


def clean_dry_run(values: Iterable[str]) -> str:
    """``All`` for a dry run (the only value upstream accepts), else empty."""
    return ",".join(sorted(set(values)))


def is_long_running(info: RequestInfo) -> bool:
    """Watches and streaming connections: excluded from the in-flight count, tracked as open."""
    return info.verb == "watch" or (info.is_resource_request and info.subresource in CONNECT_SUBRESOURCES)


def group_resource(resource: Resource) -> str:
    """``pods``, ``deployments.apps``: how upstream names a resource in storage metrics."""
    return f"{resource.plural}.{resource.group}" if resource.group else resource.plural


# --- in-flight requests ---------------------------------------------------------------------------------


class Inflight:
    """Requests being served now, and the most at once in the current and the last second."""

    __slots__ = ("current", "peak", "previous_peak", "window_start")

    def __init__(self) -> None:
        self.current = 0
        self.peak = 0
        self.previous_peak = 0
        self.window_start = time.monotonic()

    def _roll(self, now: float) -> None:
        if now - self.window_start >= 1.0:
            # a window with no activity at all reports what is open now, not an old peak
            self.previous_peak = self.peak if now - self.window_start < 2.0 else self.current
            self.peak = self.current
            self.window_start = now

    def begin(self, now: float) -> None:
        self._roll(now)
        self.current += 1
        if self.current > self.peak:
            self.peak = self.current

    def end(self, now: float) -> None:
        self._roll(now)
        self.current -= 1

    def value(self, now: float) -> int:
        self._roll(now)
        return max(self.peak, self.previous_peak)


# --- the metrics ----------------------------------------------------------------------------------------


class APIServerMetrics:
    def __init__(self) -> None:
        r = self.registry = prom.Registry()
        self.requests = r.counter(
            "apiserver_request_total",
            "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, "
            "scope, component, and HTTP response code.",
            REQUEST_LABELS,
        )
        self.durations = r.histogram(
            "apiserver_request_duration_seconds",
            "Response latency distribution in seconds for each verb, dry run value, group, version, resource, "
            "subresource, scope and component.",
            REQUEST_LABELS[:-1],
            LATENCY_BUCKETS,
        )
        self.response_sizes = r.histogram(
            "apiserver_response_sizes",
            "Response size distribution in bytes for each group, version, verb, resource, subresource, scope "
            "and component.",
            SHAPE_LABELS,
            RESPONSE_SIZE_BUCKETS,
        )
        self.longrunning = r.gauge(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, "
            "scope and component. Not all requests are tracked this way.",
            SHAPE_LABELS,
        )
        self.storage_latency = r.histogram(
            "etcd_request_duration_seconds",
            "Etcd request latency in seconds for each operation and object type.",
            ("operation", "type"),
            LATENCY_BUCKETS,
        )
        self.storage_requests = r.counter(
            "etcd_requests_total",
            "Etcd request counts for each operation and object type.",
            ("operation", "type"),
        )
        self.storage_errors = r.counter(
            "etcd_request_errors_total",
            "Etcd failed request counts for each operation and object type.",
            ("operation", "type"),
        )
        self.watch_events = r.counter(
            "apiserver_watch_events_total",
            "Number of events sent in watch clients",
            ("group", "version", "kind"),
        )
        self.admission_controller = r.histogram(
            "apiserver_admission_controller_admission_duration_seconds",
            "Admission controller latency histogram in seconds, identified by name and broken out for each "
            "operation and API resource and type (validate or admit).",
            ("name", "operation", "rejected", "type"),
            ADMISSION_BUCKETS,
        )
        self.admission_step = r.histogram(
            "apiserver_admission_step_admission_duration_seconds",
            "Admission sub-step latency histogram in seconds, broken out for each operation and API resource "
            "and step type (validate or admit).",
            ("operation", "rejected", "type"),
            ADMISSION_BUCKETS,
        )
        self.inflight = {"readOnly": Inflight(), "mutating": Inflight()}
        # (verb, dry_run, group, version, resource, subresource, scope) -> the children it records into
        self._shapes: dict[tuple[str, ...], tuple[Any, Any, dict[int, Any]]] = {}
        self._stores: dict[tuple[str, str], Store] | None = None
        self._cache: WatchCache | None = None
        r.add_collector(self._scrape_time_families)

    def bind(self, stores: dict[tuple[str, str], Store], cache: WatchCache) -> None:
        """Where ``apiserver_storage_objects`` counts (the server's live store table)."""
        self._stores, self._cache = stores, cache

    # --- requests --------------------------------------------------------------------------------------
    def started(self, request: web.Request, info: RequestInfo) -> None:
        """Called by the server once it knows what a request addresses (after authentication):
        a watch or connection counts as long-running, anything else as in flight."""
        request[INFO_KEY] = info
        if is_long_running(info):
            verb = reported_verb(request.method, info, watch_param=False, content_type="")
            gauge = self.longrunning.labels(
                verb, info.group, info.version, info.resource, info.subresource, clean_scope(info), COMPONENT
            )
            gauge.inc()
            request[OPEN_KEY] = gauge
        else:
            inflight = self.inflight["readOnly" if info.verb in READ_ONLY_VERBS else "mutating"]
            inflight.begin(time.monotonic())
            request[OPEN_KEY] = inflight

    @web.middleware
    async def middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        start = time.perf_counter()
        code: int | None = None  # stays None when the client went away: nothing was answered
        size = 0
        try:
            resp: web.StreamResponse = await handler(request)
            code = resp.status
            body = resp.body if isinstance(resp, web.Response) else None
            size = len(body) if isinstance(body, bytes) else resp.body_length
            return resp
        except web.HTTPException as e:
            code = e.status
            raise
        finally:
            opened = request.get(OPEN_KEY)
            if isinstance(opened, Inflight):
                opened.end(time.monotonic())
            elif opened is not None:
                opened.dec()
            info = request.get(INFO_KEY)
            # as upstream: resource requests that got past authentication and authorization
            if code is not None and info is not None and info.is_resource_request and USER_KEY in request:
                self._record(request, info, code, size, time.perf_counter() - start)

    def _record(self, request: web.Request, info: RequestInfo, code: int, size: int, elapsed: float) -> None:
        method = request.method
        content_type = request.headers.get("Content-Type", "") if method == "PATCH" else ""
        verb = reported_verb(method, info, watch_param=False, content_type=content_type)
        dry_run = clean_dry_run(request.query.getall("dryRun", ())) if "dryRun" in request.query else ""
        key = (verb, dry_run, info.group, info.version, info.resource, info.subresource, clean_scope(info))
        shape = self._shapes.get(key)
        if shape is None:  # once per request shape: later requests of the shape cost one lookup
            sizes = (
                self.response_sizes.labels(*key[:1], *key[2:], COMPONENT) if verb in ("GET", "LIST") else None
            )
            shape = self._shapes[key] = (self.durations.labels(*key, COMPONENT), sizes, {})
        durations, sizes, by_code = shape
        counter = by_code.get(code)
        if counter is None:
            counter = by_code[code] = self.requests.labels(*key, COMPONENT, str(code))
        counter.value += 1
        durations.observe(elapsed)
        if sizes is not None:
            sizes.observe(size)

    # --- hooks for the REST handler, the stores and admission ---------------------------------------------
    def watch_events_sent(self, resource: Resource, count: int) -> None:
        self.watch_events.labels(resource.group, resource.version, resource.kind).inc(count)

    def admission_plugin(self, name: str, operation: str, step: str, rejected: bool, seconds: float) -> None:
        self.admission_controller.labels(name, operation, "true" if rejected else "false", step).observe(
            seconds
        )

    def admission_step_done(self, operation: str, step: str, rejected: bool, seconds: float) -> None:
        self.admission_step.labels(operation, "true" if rejected else "false", step).observe(seconds)

    def storage_for(self, storage: Storage, resource: Resource) -> Storage:
        """The storage a resource's store writes through, timed per operation."""
        return InstrumentedStorage(storage, self, group_resource(resource))

    # --- scrape ---------------------------------------------------------------------------------------
    def _scrape_time_families(self) -> list[Any]:
        now = time.monotonic()
        inflight = prom.Snapshot(
            "apiserver_current_inflight_requests",
            "Maximal number of currently used inflight request limit of this apiserver per request kind in last "
            "second.",
            ("request_kind",),
        )
        for kind in ("mutating", "readOnly"):
            inflight.add((kind,), self.inflight[kind].value(now))
        families: list[Any] = [inflight]
        if self._stores is not None and self._cache is not None:
            objects = prom.Snapshot(
                "apiserver_storage_objects",
                "Number of stored objects at the time of last check split by kind. In case of a fetching error, "
                "the value will be -1.",
                ("resource",),
            )
            counts = sorted(
                (group_resource(s.resource), self._cache.count_prefix(s.prefix_root))
                for s in list(self._stores.values())
            )
            for name, n in counts:
                objects.add((name,), n)
            families.append(objects)
        families += prom.process_families()
        return families

    def render(self) -> str:
        registries = [self.registry, *prom.COMPONENTS.values()]
        return prom.render(f for r in registries for f in r.collect())


class InstrumentedStorage(Storage):
    """Delegates to a backend, observing how long each call takes (watches are not timed)."""

    def __init__(self, inner: Storage, metrics: APIServerMetrics, type_label: str) -> None:
        self.inner = inner
        self.type_label = type_label
        self._m = metrics

    async def _timed(self, operation: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        failed = True
        try:
            result = await call()
            failed = False
            return result
        finally:
            m = self._m
            m.storage_latency.labels(operation, self.type_label).observe(time.perf_counter() - start)
            m.storage_requests.labels(operation, self.type_label).inc()
            if failed:
                m.storage_errors.labels(operation, self.type_label).inc()

    async def get(self, key: str) -> KeyValue | None:
        result: KeyValue | None = await self._timed("get", lambda: self.inner.get(key))
        return result

    async def list(
        self, prefix: str, *, limit: int = 0, continue_key: str | None = None, revision: int = 0
    ) -> ListResult:
        result: ListResult = await self._timed(
            "list", lambda: self.inner.list(prefix, limit=limit, continue_key=continue_key, revision=revision)
        )
        return result

    async def count(self, prefix: str) -> int:
        result: int = await self._timed("count", lambda: self.inner.count(prefix))
        return result

    async def create(self, key: str, value: bytes) -> KeyValue:
        result: KeyValue = await self._timed("create", lambda: self.inner.create(key, value))
        return result

    async def update(self, key: str, value: bytes, *, expected_revision: int) -> KeyValue:
        result: KeyValue = await self._timed(
            "update", lambda: self.inner.update(key, value, expected_revision=expected_revision)
        )
        return result

    async def delete(self, key: str, *, expected_revision: int = 0) -> KeyValue:
        result: KeyValue = await self._timed(
            "delete", lambda: self.inner.delete(key, expected_revision=expected_revision)
        )
        return result

    def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        return self.inner.watch(prefix, from_revision)

    async def compact(self, revision: int) -> None:
        await self.inner.compact(revision)

    async def current_revision(self) -> int:
        return await self.inner.current_revision()

    async def compacted_revision(self) -> int:
        return await self.inner.compacted_revision()

    async def close(self) -> None:
        await self.inner.close()

    def __getattr__(self, name: str) -> Any:
        # backend extras (e.g. a file path a test looks at) stay reachable
        return getattr(self.inner, name)
