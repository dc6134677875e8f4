"""The API server: TLS, authentication, routing, and the start-up that makes a cluster usable.

Request pipeline (ARCHITECTURE §3): TLS → authentication → (authorization and admission slot
in here) → discovery / OpenAPI / health, or the REST handlers for resources.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson
from aiohttp import web

from kybernetes.api import resources as res
from kybernetes.api.schemas import REGISTRY
from kybernetes.apiserver import admission, authn, bootstrap, clusterinfo, discovery, openapi
from kybernetes.apiserver.authz import setup as authz_setup
from kybernetes.apiserver.cache import WatchCache, bucket_of
from kybernetes.apiserver.crd import openapi as crd_openapi
from kybernetes.apiserver.crd.controller import CRDController
from kybernetes.apiserver.ha import lifecycle as ha_lifecycle
from kybernetes.apiserver.ha.allocations import ReservingServiceAllocator
from kybernetes.apiserver.metrics import APIServerMetrics
from kybernetes.apiserver.registry import tokenrequest
from kybernetes.apiserver.registry.podproxy import PodProxy
from kybernetes.apiserver.registry.services import ServiceAllocator
from kybernetes.apiserver.registry.store import Store, WriteOptions
from kybernetes.apiserver.requestinfo import parse_request
from kybernetes.apiserver.rest import (
    USER_KEY,
    WARNINGS_KEY,
    RestHandler,
    add_warning_headers,
    json_response,
    status_response,
)
from kybernetes.apiserver.strategy import strategy_for
from kybernetes.machinery import errors, satoken
from kybernetes.metrics import prom
from kybernetes.metrics.api import GROUP as METRICS_GROUP
from kybernetes.metrics.api import MetricsAPI
from kybernetes.storage.interface import Storage

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Kinds that upstream lets PUT create (AllowCreateOnUpdate).
CREATE_ON_UPDATE = {("", "endpoints"), ("", "events"), ("coordination.k8s.io", "leases"),
                    ("discovery.k8s.io", "endpointslices"), ("events.k8s.io", "events"),
                    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"),
                    ("rbac.authorization.k8s.io", "clusterroles"),
                    ("rbac.authorization.k8s.io", "clusterrolebindings"), ("", "limitranges")}


@dataclass(slots=True)
class ServerConfig:
    data_dir: Path
    port: int = 6443
    bind_address: str = "0.0.0.0"
    advertise_address: str = ""
    service_cidr: str = "10.43.0.0/16"
    anonymous_auth: bool = False
    disabled_admission: frozenset[str] = frozenset()
    # `kyb server --authorization-mode` (default Node,RBAC); in-process test servers allow everything
    authorization_mode: str = "AlwaysAllow"
    extra: dict[str, Any] = field(default_factory=dict)


def decode_protobuf(body: bytes) -> dict[str, Any]:
    """Protobuf request bodies of built-in kinds (kubectl 1.32+ typed clients send them)."""
    from kybernetes.machinery import protobuf

    return protobuf.decode_object(body, REGISTRY, lambda gv, kind: protobuf.builtin_message(gv, kind, REGISTRY))


def host_ip() -> str:
    """The address other hosts reach this one at (the default route's source address)."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # no packet is sent: connect() on UDP only picks a route
        return str(s.getsockname()[0])
    return "127.0.0.1"


class APIServer:
    def __init__(self, config: ServerConfig, storage: Storage,
                 admission_plugins: list[admission.Plugin] | None = None) -> None:
        self.config = config
        self.storage = storage
        self.cache = WatchCache(storage)
        if admission_plugins is None:
            admission_plugins = admission.default_plugins(config.disabled_admission)
        self.admission = admission.Chain(admission_plugins)
        self.prom = APIServerMetrics()  # Prometheus /metrics (apiserver/metrics.py)
        self.admission.observer = self.prom
        # reservations in the datastore keep values unique across API servers (apiserver/ha/allocations.py)
        self.allocator: ServiceAllocator = ReservingServiceAllocator(storage, config.service_cidr)
        self.endpoint_reconciler: Any = None  # apiserver/ha/endpoints.py, set at start
        # (method, path, handler) served ahead of the API (the /v1-kyb/ join paths)
        self.extra_routes: list[tuple[str, str, Any]] = []
        # Built-ins plus custom resources; the CRD controller adds and removes the latter (and
        # their stores) while the server runs. `stores` is shared with the REST handler and
        # admission, so a store added here is served at once.
        self.resources = res.ResourceTable()
        self.stores: dict[tuple[str, str], Store] = {}
        for r in res.RESOURCES:
            if r.stored_version != r.version:
                continue  # served from the storage version's store
            self.stores[(r.group, r.plural)] = self._make_store(r)
        self.admission.bind(admission.AdmissionContext(self.cache, self.stores))
        self.rest = RestHandler(self.stores, decode_protobuf)
        self.rest.watch_events_sent = self.prom.watch_events_sent
        self.prom.bind(self.stores, self.cache)
        self.rest.pod_proxy = pod_proxy = PodProxy(self.stores[("", "pods")], self.stores[("", "nodes")], config.data_dir)
        # metrics.k8s.io: usage scraped from the kubelets by this process, never stored (docs/metrics.md)
        self.metrics = MetricsAPI(self.cache, ssl_context=pod_proxy.ssl_context)
        self.metrics.install(self.resources)
        # Service-account tokens: signed with tls/sa.key (ensure_pki makes it), checked on each request.
        self.sa_tokens = satoken.ServiceAccountTokens(satoken.load_or_generate_key(config.data_dir / "tls" / "sa.key"),
                                                      tokenrequest.lookup_uid(self.stores))
        self.rest.sa_tokens = self.sa_tokens
        self.authenticators: tuple[authn.Authenticator, ...] = (
            authn.authenticate_x509, authn.ServiceAccountTokenAuthenticator(self.sa_tokens))
        bootstrap.install(self)  # bootstrap tokens for joining nodes; CSRs name their requester
        authz_setup.install(self)  # authorizer chain, NodeRestriction and RBAC escalation admission
        self.crds = CRDController(self.cache, self.resources, self.stores, self._make_store,
                                  on_change=self._resources_changed)
        self._docs: dict[Any, Any] = {}  # discovery/OpenAPI bodies for the current table generation
        self._docs_generation = -1
        self.ready = False
        from kybernetes.clusterlogs.http import LogAPI

        self.logs = LogAPI(config.data_dir / "logs")  # cluster log store under /kyb/logs/v1/ (docs/logging.md)

    authorizer: Any  # authz.authorizer.Authorizer, set by authz_setup.install

    def _make_store(self, r: res.Resource) -> Store:
        hooks = self.allocator if (r.group, r.plural) == ("", "services") else None
        storage = self.prom.storage_for(self.storage, r)  # timed per operation (etcd_request_duration_seconds)
        store = Store(r, storage, self.cache, strategy_for(r), hooks=hooks, namespace_exists=self._namespace,
                      allow_create_on_update=(r.group, r.plural) in CREATE_ON_UPDATE, admission_chain=self.admission)
        # custom resources share their group's cache bucket (/registry/<group>/): same fields
        self.cache.set_extractor(bucket_of(store.prefix_root), store.strategy.selectable_fields)
        return store

    def _resources_changed(self) -> None:
        self._docs.clear()

    def _cached_doc(self, key: Any, build: Any) -> Any:
        if self._docs_generation != self.resources.generation:
            self._docs.clear()
            self._docs_generation = self.resources.generation
        if key not in self._docs:
            self._docs[key] = build()
        return self._docs[key]

    async def _namespace(self, name: str) -> dict[str, Any] | None:
        entry = self.cache.get(f"/registry/namespaces/{name}")
        return entry.obj if entry else None

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.cache.start()
        await self.crds.start()
        openapi.warm()
        self.allocator.rebuild([e.obj for _, e in self.cache.iter_prefix("/registry/services/")])
        await self.bootstrap()
        await clusterinfo.publish(self)  # kube-public/cluster-info for token-based discovery
        await ha_lifecycle.start(self)  # reservations repaired, `kubernetes` endpoints from server leases
        await authz_setup.bootstrap_policy(self)
        await self.admission.bootstrap()
        self.metrics.start()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await ha_lifecycle.stop(self)
        await self.metrics.stop()
        await self.logs.stop()
        await self.crds.stop()
        await self.cache.stop()

    async def bootstrap(self) -> None:
        """The objects every cluster has: system namespaces and the `kubernetes` Service."""
        opts = WriteOptions(field_manager="kyb-apiserver")
        ns_store = self.stores[("", "namespaces")]
        for name in SYSTEM_NAMESPACES:
            if self.cache.get(f"/registry/namespaces/{name}") is None:
                with contextlib.suppress(errors.StatusError):
                    await ns_store.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                                          namespace="", opts=opts)
        await self.cache.wait_fresh()
        svc_store = self.stores[("", "services")]
        if self.cache.get("/registry/services/default/kubernetes") is None:
            svc = {"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "kubernetes", "namespace": "default",
                                "labels": {"component": "apiserver", "provider": "kubernetes"}},
                   "spec": {"type": "ClusterIP", "clusterIP": self.allocator.first_ip(),
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                       "targetPort": self.config.port}],
                            "sessionAffinity": "None"}}
            with contextlib.suppress(errors.StatusError):
                await svc_store.create(svc, namespace="default", opts=opts)
        # The Endpoints (every live server) are written by the lease endpoint reconciler (ha_lifecycle.start).

    # --- HTTP ------------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(client_max_size=0, middlewares=[self.prom.middleware, self._errors_middleware])
        for method, path, handler in self.extra_routes:
            app.router.add_route(method, path, handler)
        app.router.add_route("*", "/{tail:.*}", self.dispatch)
        return app

    @web.middleware
    async def _errors_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        warnings: list[str] = []
        request[WARNINGS_KEY] = warnings
        try:
            resp: web.StreamResponse = await handler(request)
        except errors.StatusError as e:
            resp = status_response(e)
        except web.HTTPException:
            raise
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except TimeoutError:
            resp = status_response(errors.timeout("request did not complete within the allowed duration"))
        except Exception as e:
            log.exception("internal error serving %s %s", request.method, request.path)
            resp = status_response(errors.internal(f"{type(e).__name__}: {e}"))
        if warnings and not resp.prepared:
            add_warning_headers(resp, warnings)
        return resp

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in authn.ANONYMOUS_PATHS:
            return await self._nonresource(request, path)
        user = authn.authenticate_request(request, self.authenticators)
        if user is None and not self.config.anonymous_auth and not authn.is_anonymous_request(request):
            raise errors.unauthorized()
        info = parse_request(request.method, path, watch_param=request.query.get("watch", "").lower() in ("true", "1"))
        self.prom.started(request, info)  # in flight or long-running, for /metrics
        user = authz_setup.authorize_request(self, request, user, info)
        request[USER_KEY] = user
        if path.startswith("/kyb/logs/v1/"):
            return await self.logs.handle(request, user.name if user is not None else "")
        if not info.is_resource_request:
            return await self._nonresource(request, path)
        resource = self.resources.lookup(info.group, info.version, info.resource)
        if resource is None:
            raise errors.server_not_found()
        if resource.group == METRICS_GROUP and resource.custom is None:
            return await self.metrics.handle(request, info, resource)
        return await self.rest.handle(request, info, resource)

    async def _nonresource(self, request: web.Request, path: str) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            if path.startswith(("/api", "/apis")) and path.rstrip("/") in ("/api", "/apis"):
                raise errors.method_not_allowed()
            raise errors.server_not_found()
        if path in ("/healthz", "/livez", "/readyz"):
            if path == "/readyz" and not self.ready:
                return web.Response(status=500, text="[-]startup not finished\nreadyz check failed\n")
            return web.Response(text="ok", content_type="text/plain")
        if path == "/version":
            return json_response(discovery.version_info())
        if path == "/metrics":
            return prom.metrics_response(self.prom.render)
        accept = request.headers.get("Accept", "")
        if path.rstrip("/") in ("/api", "/apis"):
            which: Literal["api", "apis"] = "api" if path.rstrip("/") == "/api" else "apis"
            dv = discovery.negotiate_discovery(accept)
            if dv is not None:
                body = self._cached_doc(("aggregated", which, dv), lambda: orjson.dumps(
                    discovery.aggregated_discovery(which, dv, self.resources.all())))
                etag = discovery.discovery_etag(body)
                headers = {"Content-Type": discovery.AGGREGATED_CONTENT_TYPE[dv], "ETag": etag, "Vary": "Accept"}
                if request.headers.get("If-None-Match") == etag:
                    return web.Response(status=304, headers=headers)
                return web.Response(body=body, headers=headers)
            if which == "api":
                return json_response(discovery.api_versions(self._server_address(request), self.resources.all()))
            return json_response(discovery.api_group_list(self.resources.all()))
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["api"] and len(parts) == 2:
            doc = discovery.api_resource_list("", parts[1], self.resources.all())
            if doc is None:
                raise errors.server_not_found()
            return json_response(doc)
        if parts[:1] == ["apis"] and len(parts) == 2:
            doc = discovery.api_group(parts[1], self.resources.all())
            if doc is None:
                raise errors.server_not_found()
            return json_response(doc)
        if parts[:1] == ["apis"] and len(parts) == 3:
            doc = discovery.api_resource_list(parts[1], parts[2], self.resources.all())
            if doc is None:
                raise errors.server_not_found()
            return json_response(doc)
        if path == "/openapi/v3":
            index = openapi.openapi_v3_index()
            custom = self._custom_openapi()
            if custom:
                index = {"paths": {**index["paths"], **{
                    p: {"serverRelativeURL": f"/openapi/v3/{p}?hash={h}"} for p, (_, h) in custom.items()}}}
            return json_response(index)
        if path.startswith("/openapi/v3/"):
            gv = path[len("/openapi/v3/"):]
            gv_doc = openapi.openapi_v3_document(gv)
            if gv_doc is None and gv.strip("/") in self._custom_openapi():
                gv_doc = self._custom_openapi()[gv.strip("/")][0]
            if gv_doc is None:
                raise errors.server_not_found()
            headers = {"Cache-Control": "public, immutable"} if "hash" in request.query else {"Cache-Control": "no-cache, private"}
            return web.Response(body=gv_doc, content_type="application/json", headers=headers)
        if path == "/openapi/v2":
            body, ctype = openapi.openapi_v2_response(accept)
            return web.Response(body=body, headers={"Content-Type": ctype})
        raise errors.server_not_found()

    def _custom_openapi(self) -> dict[str, tuple[bytes, str]]:
        docs: dict[str, tuple[bytes, str]] = self._cached_doc(
            "openapi-v3-custom", lambda: crd_openapi.v3_documents(self.resources.all()))
        return docs

    def _server_address(self, request: web.Request) -> str:
        return f"{self.config.advertise_address or host_ip()}:{self.config.port}"
