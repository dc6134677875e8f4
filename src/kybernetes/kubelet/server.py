"""The kubelet's HTTPS API: what the API server proxies `kubectl logs/exec/attach/cp/port-forward`
(and `top`) to.

Routes (upstream's paths): ``/healthz``, ``/pods``, ``/stats/summary``, ``/metrics``,
``/metrics/cadvisor``, ``/metrics/resource``,
``/containerLogs/{ns}/{pod}/{container}``, ``/exec/{ns}/{pod}/{container}`` and
``/attach/{ns}/{pod}/{container}`` (GET + WebSocket, or POST + SPDY/3.1 upgrade) and
``/portForward/{ns}/{pod}``.

Who may call: TLS with a client certificate signed by the cluster CA is required, and only
the identities in ``authorized_users`` / ``authorized_groups`` (by default the API server's
kubelet-client identity, CN ``kube-apiserver-kubelet-client``) are served; others get 403.

The runtime comes in through ``StreamingRuntime``: the node agent implements it on top of CRI
(container lookup, containerd's single-use streaming URLs, stats), so this module never talks
gRPC and tests can hand it a fake.
"""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
from aiohttp import web

from kybernetes.kubelet import logs
from kybernetes.kubelet.streaming import portforward, remotecommand

APISERVER_CLIENT_USER = "kube-apiserver-kubelet-client"


@dataclass(frozen=True)
class ContainerRef:
    container_id: str
    log_path: str
    previous_log_path: str | None
    running: bool


class NotFound(Exception):
    """The pod or container is not known to the runtime; the message is shown to the user."""


class StreamingRuntime(Protocol):
    """What the kubelet server needs from the node's container runtime (implemented over CRI)."""

    def resolve_container(self, namespace: str, pod: str, container: str) -> ContainerRef:
        """The newest instance of a pod's container; raises NotFound."""
        ...

    async def exec_url(self, container_id: str, cmd: Sequence[str], stdin: bool, stdout: bool,
                       stderr: bool, tty: bool) -> str:
        """CRI Exec: containerd's single-use streaming URL for this command."""
        ...

    async def attach_url(self, container_id: str, stdin: bool, stdout: bool, stderr: bool, tty: bool) -> str:
        """CRI Attach: the streaming URL to the container's main process."""
        ...

    async def port_forward_url(self, pod_sandbox_id: str, ports: Sequence[int]) -> str:
        """CRI PortForward: the streaming URL for the pod's network namespace."""
        ...

    def pod_sandbox_id(self, namespace: str, pod: str) -> str:
        """The running sandbox of a pod; raises NotFound."""
        ...

    async def stats_summary(self) -> dict[str, Any]:
        """The /stats/summary document (node and pod usage)."""
        ...

    def pods(self) -> list[dict[str, Any]]:
        """The pods this node runs, as v1 Pod objects."""
        ...


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def error_response(code: int, reason: str, message: str) -> web.Response:
    return web.Response(body=orjson.dumps(status_body(code, reason, message)), status=code,
                        content_type="application/json")


def server_ssl_context(tls_cert: str | Path, tls_key: str | Path, client_ca: str | Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(tls_cert), str(tls_key))
    ctx.load_verify_locations(cafile=str(client_ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def peer_identity(request: web.Request) -> tuple[str, tuple[str, ...]] | None:
    """(CN, O...) of the verified client certificate."""
    transport = request.transport
    cert: Any = transport.get_extra_info("peercert") if transport is not None else None
    if not cert:
        return None
    name = ""
    groups: list[str] = []
    for rdn in cert.get("subject", ()):
        for attr, value in rdn:
            if attr == "commonName" and not name:
                name = value
            elif attr == "organizationName":
                groups.append(value)
    return (name, tuple(groups)) if name else None


class KubeletServer:
    def __init__(self, runtime: StreamingRuntime, *, host: str = "0.0.0.0", port: int = 10250,
                 tls_cert: str | Path, tls_key: str | Path, client_ca: str | Path,
                 authorized_users: frozenset[str] = frozenset({APISERVER_CLIENT_USER}),
                 authorized_groups: frozenset[str] = frozenset(),
                 metrics: Callable[[str], Awaitable[str]] | None = None) -> None:
        self.runtime = runtime
        self.metrics = metrics  # path -> Prometheus text (kubelet/metrics.py)
        self.host = host
        self.port = port
        self.ssl_context = server_ssl_context(tls_cert, tls_key, client_ca)
        self.authorized_users = authorized_users
        self.authorized_groups = authorized_groups
        self._runner: web.AppRunner | None = None

    # --- lifecycle -------------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authorize])
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/pods", self._pods)
        app.router.add_get("/pods/", self._pods)
        app.router.add_get("/stats/summary", self._stats)
        for path in ("/metrics", "/metrics/cadvisor", "/metrics/resource"):
            app.router.add_get(path, self._metrics)
        app.router.add_get("/containerLogs/{ns}/{pod}/{container}", self._logs)
        for verb in ("exec", "attach"):
            app.router.add_route("GET", f"/{verb}/{{ns}}/{{pod}}/{{container}}", self._command)
            app.router.add_route("POST", f"/{verb}/{{ns}}/{{pod}}/{{container}}", self._command)
        app.router.add_route("GET", "/portForward/{ns}/{pod}", self._port_forward)
        app.router.add_route("POST", "/portForward/{ns}/{pod}", self._port_forward)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context, reuse_address=True)
        await site.start()
        if self.port == 0:
            server: Any = site._server
            self.port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- filters ---------------------------------------------------------------------------------
    @web.middleware
    async def _authorize(self, request: web.Request, handler: Any) -> web.StreamResponse:
        who = peer_identity(request)
        if who is None:
            return error_response(401, "Unauthorized", "Unauthorized")
        name, groups = who
        if name not in self.authorized_users and not self.authorized_groups.intersection(groups):
            return error_response(403, "Forbidden",
                                  f"Forbidden (user={name}, verb={request.method.lower()}, "
                                  f"resource=nodes, subresource=proxy)")
        try:
            resp: web.StreamResponse = await handler(request)
        except NotFound as e:
            return error_response(404, "NotFound", str(e))
        return resp

    # --- handlers --------------------------------------------------------------------------------
    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def _pods(self, request: web.Request) -> web.StreamResponse:
        body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": self.runtime.pods()}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _stats(self, request: web.Request) -> web.StreamResponse:
        return web.Response(body=orjson.dumps(await self.runtime.stats_summary()), content_type="application/json")

    async def _metrics(self, request: web.Request) -> web.StreamResponse:
        if self.metrics is None:
            return error_response(404, "NotFound", "metrics are not served by this kubelet")
        text = await self.metrics(request.path)
        return web.Response(body=text.encode(), headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _logs(self, request: web.Request) -> web.StreamResponse:
        ns, pod, name = (request.match_info[k] for k in ("ns", "pod", "container"))
        try:
            opts = logs.parse_log_options(request.query, now_ns=time.time_ns())
        except logs.LogOptionsError as e:
            return error_response(400, "BadRequest", str(e))
        ref = self.runtime.resolve_container(ns, pod, name)
        path = ref.log_path
        if opts.previous:
            if not ref.previous_log_path:
                return error_response(400, "BadRequest",
                                      f'previous terminated container "{name}" in pod "{pod}" not found')
            path = ref.previous_log_path
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        follow_id = ref.container_id

        def still_running() -> bool:
            transport = request.transport
            if opts.previous or transport is None or transport.is_closing():
                return False  # nothing more to wait for, or nobody left to read it
            try:
                now = self.runtime.resolve_container(ns, pod, name)
            except NotFound:
                return False
            return now.running and now.container_id == follow_id

        with contextlib.suppress(ConnectionError):
            await logs.stream_log(path, opts, resp.write, still_running=still_running)
            await resp.write_eof()
        return resp

    async def _command(self, request: web.Request) -> web.StreamResponse:
        ns, pod, name = (request.match_info[k] for k in ("ns", "pod", "container"))
        verb = request.path.split("/", 2)[1]
        opts = remotecommand.parse_stream_options(request.query, request.query.getall("command", []))
        if verb == "exec" and not opts.command:
            return error_response(400, "BadRequest", "you must specify at least one command for the container")
        if not (opts.stdin or opts.stdout or opts.stderr):
            return error_response(400, "BadRequest", "you must specify at least one of stdin, stdout, stderr")
        ref = self.runtime.resolve_container(ns, pod, name)
        if not ref.running:
            return error_response(400, "BadRequest", f'container "{name}" in pod "{pod}" is not running')

        async def url_for(o: remotecommand.StreamOptions) -> str:
            if verb == "exec":
                return await self.runtime.exec_url(ref.container_id, list(o.command), o.stdin, o.stdout,
                                                   o.stderr, o.tty)
            return await self.runtime.attach_url(ref.container_id, o.stdin, o.stdout, o.stderr, o.tty)

        return await remotecommand.serve_command(request, opts, url_for)

    async def _port_forward(self, request: web.Request) -> web.StreamResponse:
        ns, pod = request.match_info["ns"], request.match_info["pod"]
        try:
            ports = portforward.parse_ports(request.query.getall("port", []))
        except ValueError as e:
            return error_response(400, "BadRequest", str(e))
        sandbox = self.runtime.pod_sandbox_id(ns, pod)

        async def url_for() -> str:
            return await self.runtime.port_forward_url(sandbox, ports)

        return await portforward.serve_port_forward(request, url_for)
