"""pods/log, pods/exec, pods/attach and pods/portforward: the API server proxies them to the kubelet.

The API server only finds the way: the pod's node, the node's address (``status.addresses``:
InternalIP, else Hostname) and kubelet port (``status.daemonEndpoints.kubeletEndpoint.Port``,
default 10250), and the container (the one asked for; else the pod's only one; else the
``kubectl.kubernetes.io/default-container`` annotation). It then calls the kubelet over HTTPS
with its own client certificate (CN ``kube-apiserver-kubelet-client``, O ``system:masters``,
issued by the cluster CA into ``<data-dir>/tls/kubelet-client.{crt,key}`` on first use) and
verifies the kubelet's serving certificate against the cluster CA (no host name check: nodes
are addressed by IP).

- Logs stream: the kubelet's chunks are written to the client as they arrive (``follow``).
- exec/attach/portforward are protocol upgrades (WebSocket or SPDY/3.1). The request head is
  sent to the kubelet as it came (minus the client's credentials); on ``101`` the answer goes
  back to the client and from then on bytes are copied both ways untouched until one side
  closes (as upstream's UpgradeAwareHandler). Any other answer is returned as a response, so a
  failed WebSocket handshake still lets kubectl fall back to SPDY.

nodes/proxy (``/api/v1/nodes/<node>/proxy/<path>``, e.g. ``stats/summary`` or ``pods``, as
``kubectl get --raw`` and metrics add-ons use it) is the same trip to the node's kubelet for any
path: the kubelet's answer (status, type, body) is passed back as it is, streamed; a request that
asks for an upgrade is piped like exec.

Errors are upstream's Status texts: pod not found (404), ``pod X does not have a host assigned``
(400), ``a container name must be specified for pod X, choose one of: [a b]`` (400),
``container c is not valid for pod X`` (400), node not found (404), and a kubelet that cannot
be reached is ``error dialing backend: …`` (500).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from aiohttp import web
from cryptography import x509

from kybernetes.apiserver.registry.store import Store
from kybernetes.apiserver.requestinfo import RequestInfo
from kybernetes.machinery import errors
from kybernetes.util import pki
from kybernetes.util.hijack import hijack

Obj = dict[str, Any]

PROXIED = frozenset({"log", "exec", "attach", "portforward"})
KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"
KUBELET_CLIENT_GROUPS = ("system:masters",)
DEFAULT_KUBELET_PORT = 10250
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
CONNECT_TIMEOUT = 10.0
MAX_HEAD = 64 * 1024
# Request headers not passed on: the client's credentials are for us, not for the kubelet.
DROPPED_HEADERS = frozenset({"host", "authorization", "proxy-authorization", "cookie", "keep-alive",
                             "te", "trailer", "transfer-encoding", "impersonate-user", "impersonate-group",
                             "impersonate-uid"})


# --- decisions (pure) ------------------------------------------------------------------------------


def _names(containers: Any) -> list[str]:
    return [str(c.get("name", "")) for c in containers or [] if isinstance(c, dict)]


def choose_container(pod: Obj, requested: str) -> str:
    """The container a request addresses, or a 400 with upstream's message."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    regular = _names(spec.get("containers"))
    every = _names(spec.get("initContainers")) + regular + _names(spec.get("ephemeralContainers"))
    if requested:
        if requested not in every:
            raise errors.bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(regular) == 1:
        return regular[0]
    default = ((pod["metadata"].get("annotations") or {}).get(DEFAULT_CONTAINER_ANNOTATION) or "")
    if default and default in every:
        return str(default)
    if not regular:
        raise errors.bad_request(f"a container name must be specified for pod {name}")
    raise errors.bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(every)}]")


def node_endpoint(node: Obj) -> tuple[str, int]:
    """(address, kubelet port) of a Node: InternalIP, else Hostname; port 10250 unless reported."""
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    host = ""
    for kind in ("InternalIP", "Hostname"):
        host = next((str(a.get("address")) for a in addresses if a.get("type") == kind and a.get("address")), "")
        if host:
            break
    if not host:
        raise errors.bad_request(f"node {node['metadata']['name']} has no address to reach its kubelet")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port") or DEFAULT_KUBELET_PORT
    return host, int(port)


def kubelet_path(sub: str, namespace: str, pod: str, container: str, query: str) -> str:
    """The kubelet URL path (with the client's query string) for a pod subresource."""
    ns, p, c = (quote(x, safe="") for x in (namespace, pod, container))
    base = {"log": f"/containerLogs/{ns}/{p}/{c}", "exec": f"/exec/{ns}/{p}/{c}",
            "attach": f"/attach/{ns}/{p}/{c}", "portforward": f"/portForward/{ns}/{p}"}[sub]
    return f"{base}?{query}" if query else base


def node_proxy_path(raw_path: str, node: str, query: str) -> str:
    """The kubelet path of a ``…/nodes/<node>/proxy[/<path>]`` request, still percent-encoded."""
    marker = f"/nodes/{node}/proxy"
    at = raw_path.find(marker)
    if at < 0:
        raise errors.bad_request(f"not a proxy path for node {node}: {raw_path}")
    rest = raw_path[at + len(marker):] or "/"
    if not rest.startswith("/"):
        raise errors.server_not_found()
    return f"{rest}?{query}" if query else rest


def forwarded_head(method: str, path: str, host: str, port: int, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers if k.lower() not in DROPPED_HEADERS]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse_head(raw: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError(f"bad status line {lines[0]!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers.append((name.strip(), value.strip()))
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


# --- the client certificate --------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeletClientTLS:
    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca))
        ctx.check_hostname = False
        ctx.load_cert_chain(str(self.cert), str(self.key))
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx


def ensure_kubelet_client_cert(data_dir: Path) -> KubeletClientTLS:
    """The API server's client certificate for kubelets, issued by the cluster CA (reissued near expiry)."""
    paths = pki.PKIPaths.under(data_dir)
    cert_path = paths.tls_dir / "kubelet-client.crt"
    key_path = paths.tls_dir / "kubelet-client.key"
    ca = pki.CertificateAuthority.load(paths.ca_cert, paths.ca_key)
    good = False
    if cert_path.exists() and key_path.exists():
        with contextlib.suppress(ValueError):
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            good = pki.renewal_reason(cert, ca.cert, now=dt.datetime.now(dt.UTC)) is None
    if not good:
        cert_pem, key_pem = pki.issue_client_cert(ca, KUBELET_CLIENT_USER, KUBELET_CLIENT_GROUPS)
        _write_private(key_path, key_pem, 0o600)
        _write_private(cert_path, cert_pem, 0o644)
    return KubeletClientTLS(paths.ca_cert, cert_path, key_path)


def _write_private(path: Path, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- the proxy -----------------------------------------------------------------------------------------


class PodProxy:
    def __init__(self, pods: Store, nodes: Store, data_dir: Path) -> None:
        self.pods = pods
        self.nodes = nodes
        self.data_dir = data_dir
        self._ssl: ssl.SSLContext | None = None

    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            try:
                self._ssl = ensure_kubelet_client_cert(self.data_dir).context()
            except (OSError, ValueError) as e:
                raise errors.internal(f"no kubelet client certificate: {e}") from None
        return self._ssl

    async def handle(self, request: web.Request, info: RequestInfo, sub: str) -> web.StreamResponse:
        allowed = ("get",) if sub == "log" else ("get", "create")
        if info.verb not in allowed:
            raise errors.method_not_allowed()
        pod = (await self.pods.get(info.namespace, info.name)).obj
        container = "" if sub == "portforward" else choose_container(pod, request.query.get("container", ""))
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        if not node_name:
            if sub == "log":  # upstream streams nothing for a pod that is not scheduled yet
                return web.Response(body=b"", content_type="text/plain")
            raise errors.bad_request(f"pod {info.name} does not have a host assigned")
        node = (await self.nodes.get("", node_name)).obj
        host, port = node_endpoint(node)
        path = kubelet_path(sub, info.namespace, info.name, container, request.rel_url.raw_query_string)
        if sub == "log":
            return await self._logs(request, host, port, path)
        return await self._upgrade(request, host, port, path)

    async def handle_node(self, request: web.Request, info: RequestInfo) -> web.StreamResponse:
        """nodes/<name>/proxy/<path>: the node's kubelet answers."""
        node = (await self.nodes.get("", info.name)).obj
        host, port = node_endpoint(node)
        path = node_proxy_path(request.rel_url.raw_path, info.name, request.rel_url.raw_query_string)
        if "upgrade" in request.headers.get("Connection", "").lower():
            return await self._upgrade(request, host, port, path)
        return await self._forward(request, host, port, path)

    async def _forward(self, request: web.Request, host: str, port: int, path: str) -> web.StreamResponse:
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT)
        connector = aiohttp.TCPConnector(ssl=self.ssl_context())
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in DROPPED_HEADERS and k.lower() not in ("connection", "content-length")}
        body = await request.read() if request.body_exists else None
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
            try:
                upstream = await session.request(request.method, f"https://{host}:{port}{path}", headers=headers,
                                                 data=body, allow_redirects=False)
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                raise _dial_error(e) from None
            async with upstream:
                keep = {k: v for k, v in upstream.headers.items()
                        if k.lower() not in ("date", "server", "content-length", "transfer-encoding", "connection")}
                resp = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=keep)
                await resp.prepare(request)
                await _copy_body(upstream, resp)
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await resp.write_eof()
                return resp

    # logs: an ordinary streamed GET
    async def _logs(self, request: web.Request, host: str, port: int, path: str) -> web.StreamResponse:
        timeout = aiohttp.ClientTimeout(total=None, connect=CONNECT_TIMEOUT, sock_connect=CONNECT_TIMEOUT)
        connector = aiohttp.TCPConnector(ssl=self.ssl_context())
        async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
            try:
                upstream = await session.get(f"https://{host}:{port}{path}")
            except (aiohttp.ClientError, OSError, TimeoutError) as e:
                raise _dial_error(e) from None
            async with upstream:
                if upstream.status != 200:
                    return _relay_error(upstream.status, await upstream.read())
                resp = web.StreamResponse(headers={"Content-Type": upstream.headers.get("Content-Type", "text/plain")})
                resp.enable_chunked_encoding()
                await resp.prepare(request)
                watcher = asyncio.create_task(_client_gone(request))
                copier = asyncio.create_task(_copy_body(upstream, resp))
                try:
                    await asyncio.wait({watcher, copier}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for t in (watcher, copier):
                        t.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await t
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await resp.write_eof()
                return resp

    # exec, attach, portforward: an upgrade, then raw bytes both ways
    async def _upgrade(self, request: web.Request, host: str, port: int, path: str) -> web.StreamResponse:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=self.ssl_context(), server_hostname=host), CONNECT_TIMEOUT)
        except (OSError, ssl.SSLError, TimeoutError) as e:
            raise _dial_error(e) from None
        try:
            writer.write(forwarded_head(request.method, path, host, port, list(request.headers.items())))
            body = await request.read() if (request.content_length or 0) > 0 else b""
            if body:
                writer.write(body)
            await writer.drain()
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), CONNECT_TIMEOUT)
            status, reason, headers = parse_head(raw)
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as e:
            writer.close()
            raise errors.internal(f"error reading the kubelet's answer: {e}") from None
        if status != 101:
            payload = await _read_body(reader, headers)
            writer.close()
            return _relay_error(status, payload)
        keep = {k: v for k, v in headers if k.lower() not in ("date", "server", "content-length")}
        client = await hijack(request, headers=keep, status=101, reason=reason or None)

        async def to_kubelet() -> None:
            while data := await client.read():
                writer.write(data)
                await writer.drain()

        async def to_client() -> None:
            while data := await reader.read(65536):
                await client.write(data)

        tasks = {asyncio.create_task(to_kubelet()), asyncio.create_task(to_client())}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            writer.close()
            await client.close()
        return client.response


def _dial_error(e: BaseException) -> errors.StatusError:
    return errors.StatusError(500, "InternalError", f"error dialing backend: {e}")


def _relay_error(status: int, body: bytes) -> web.Response:
    """A kubelet error: its Status as is, other text wrapped in one."""
    with contextlib.suppress(orjson.JSONDecodeError):
        obj = orjson.loads(body)
        if isinstance(obj, dict) and obj.get("kind") == "Status":
            return web.Response(body=body, status=status, content_type="application/json")
    text = body.decode(errors="replace").strip() or f"the kubelet answered {status}"
    reason = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound"}.get(status, "InternalError")
    err = errors.StatusError(status if status >= 400 else 500, reason, text)
    return web.Response(body=orjson.dumps(err.status()), status=err.code, content_type="application/json")


async def _read_body(reader: asyncio.StreamReader, headers: list[tuple[str, str]]) -> bytes:
    h = {k.lower(): v for k, v in headers}
    with contextlib.suppress(OSError, ValueError, asyncio.IncompleteReadError, TimeoutError):
        if "content-length" in h:
            return await asyncio.wait_for(reader.readexactly(int(h["content-length"])), CONNECT_TIMEOUT)
        if "chunked" in h.get("transfer-encoding", "").lower():
            out = b""
            while True:
                size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return out
                out += await reader.readexactly(size)
                await reader.readline()
        return await asyncio.wait_for(reader.read(MAX_HEAD), CONNECT_TIMEOUT)
    return b""


async def _copy_body(upstream: aiohttp.ClientResponse, resp: web.StreamResponse) -> None:
    with contextlib.suppress(aiohttp.ClientError, ConnectionError):
        async for chunk in upstream.content.iter_any():
            await resp.write(chunk)


async def _client_gone(request: web.Request) -> None:
    """Returns once the client's connection closed (a following log reader that went away)."""
    while True:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(1.0)
