"""One probe, run once: exec, httpGet, tcpSocket and grpc handlers of a container probe.

The manager calls ``run_probe`` once per period; everything here is a single attempt with a
deadline and no memory. The outcomes and output texts follow the upstream kubelet (1.32) so that
events and ``kubectl describe`` read the same:

- exec: exit code 0 is Success, anything else Failure; output is stdout then stderr, capped at
  10 KiB; a command that overruns ``timeoutSeconds`` fails with ``command "<cmd>" timed out``.
- httpGet: ``200 <= code < 400`` is Success; a redirect is followed only while it stays on the same
  host name (at most 10 hops); a redirect elsewhere ends the probe with that 3xx response, which
  counts as Success with a warning (``Warning``). Certificates are not verified. The body is read up
  to 10 KiB and becomes the output of a success. User-Agent ``kube-probe/1.32``, ``Accept: */*``
  unless the probe's own headers say otherwise; a ``Host`` header overrides the request host.
- tcpSocket: a connection opened within the timeout is Success.
- grpc: ``grpc.health.v1.Health/Check`` with the probe's ``service``; ``SERVING`` is Success.

``Unknown`` means the probe could not be run at all (a named port that does not exist, an error
from the runtime other than a timeout); upstream discards such a result instead of counting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import grpc  # type: ignore[import-untyped]
import grpc.aio  # type: ignore[import-untyped]
import yarl
from multidict import CIMultiDict

from kybernetes.kubelet.prober import grpc_health
from kybernetes.util.goduration import format_go_duration

KUBE_VERSION = "1.32"
MAX_OUTPUT = 10 * 1024   # bytes of exec output or HTTP body kept, as upstream
MAX_REDIRECTS = 10

# CRI ExecSync as the agent provides it: (container id, argv, timeout seconds) -> (exit code,
# stdout, stderr). It raises TimeoutError when the runtime reports the deadline was exceeded.
ExecSync = Callable[[str, list[str], float], Awaitable[tuple[int, bytes, bytes]]]


class Outcome(enum.Enum):
    SUCCESS = "Success"
    WARNING = "Warning"   # success that deserves an event (a redirect off-host)
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


@dataclass(frozen=True)
class ProbeResult:
    outcome: Outcome
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.SUCCESS, Outcome.WARNING)


def user_agent(purpose: str = "probe") -> str:
    return f"kube-{purpose}/{KUBE_VERSION}"


def go_quote(text: str) -> str:
    """Close enough to Go's %q for messages: a double-quoted string with escapes."""
    return json.dumps(text, ensure_ascii=False)


def go_duration(seconds: float) -> str:
    """Go's time.Duration String() for the values probes use (1s, 1.5s, 500ms, 1m30s)."""
    return format_go_duration(max(round(seconds * 1e9), 0))


def join_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def resolve_port(port: Any, container: dict[str, Any]) -> int:
    """An int-or-string port of a probe or hook: a number, or the name of a container port.

    Raises ValueError with an upstream-like text when it names nothing or is out of range.
    """
    if isinstance(port, bool) or port is None:
        raise ValueError(f"intOrString had no kind: {port!r}")
    if isinstance(port, int):
        number = port
    else:
        name = str(port)
        found = [p.get("containerPort") for p in container.get("ports") or [] if p.get("name") == name]
        if found and isinstance(found[0], int):
            number = found[0]
        else:
            try:
                number = int(name)
            except ValueError:
                raise ValueError(f"port {name} not found") from None
    if 0 < number < 65536:
        return number
    raise ValueError(f"invalid port number: {number}")


# -- exec -------------------------------------------------------------------------------------

async def probe_exec(command: list[str], *, container_id: str, exec_sync: ExecSync,
                     timeout: float) -> ProbeResult:
    argv = [str(a) for a in command]
    try:
        code, stdout, stderr = await asyncio.wait_for(exec_sync(container_id, argv, timeout), timeout)
    except TimeoutError:
        return ProbeResult(Outcome.FAILURE, f"command {go_quote(' '.join(argv))} timed out")
    except Exception as exc:  # the runtime could not run it: not the container's fault
        return ProbeResult(Outcome.UNKNOWN, str(exc) or type(exc).__name__)
    output = (stdout + stderr)[:MAX_OUTPUT].decode(errors="replace")
    return ProbeResult(Outcome.SUCCESS if code == 0 else Outcome.FAILURE, output)


# -- http -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: tuple[tuple[str, str], ...]
    skip_auto: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpResponse:
    status: int | None      # None: no response (error says why)
    body: bytes = b""
    error: str = ""
    tls_failed: bool = False   # the TLS handshake failed (e.g. the server speaks plain HTTP)


def build_http_request(action: dict[str, Any], *, container: dict[str, Any], pod_ip: str,
                       purpose: str = "probe") -> HttpRequest:
    """The request an httpGet action describes (raises ValueError for a bad port)."""
    scheme = str(action.get("scheme") or "HTTP").lower()
    host = str(action.get("host") or pod_ip)
    port = resolve_port(action.get("port"), container)
    path = str(action.get("path") or "")
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{join_host_port(host, port)}{path}"
    headers: list[tuple[str, str]] = [
        (str(h.get("name", "")), str(h.get("value", ""))) for h in action.get("httpHeaders") or []]
    names = {name.lower() for name, _ in headers}
    skip: list[str] = []
    if "user-agent" not in names:
        headers.append(("User-Agent", user_agent(purpose)))
    if "accept" not in names:
        headers.append(("Accept", "*/*"))
    # An empty override removes the header rather than sending it empty, as upstream does.
    for name in ("accept", "host", "user-agent"):
        if name in names and not any(v for n, v in headers if n.lower() == name):
            headers = [(n, v) for n, v in headers if n.lower() != name]
            if name != "host":
                skip.append(name.title())
    return HttpRequest(url=url, headers=tuple(headers), skip_auto=tuple(skip))


def _http_error(url: str, exc: BaseException) -> str:
    """Go's ``Get "<url>": <reason>`` texts for the failures people actually see."""
    parts = urlsplit(url)
    dial = f"dial tcp {parts.netloc}"
    if isinstance(exc, TimeoutError):
        reason = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    elif isinstance(exc, aiohttp.ClientConnectorError):
        inner = exc.os_error
        if isinstance(inner, ConnectionRefusedError):
            reason = f"{dial}: connect: connection refused"
        else:
            reason = f"{dial}: {inner.strerror or inner}"
    elif isinstance(exc, aiohttp.ServerDisconnectedError):
        reason = "EOF"
    else:
        reason = str(exc) or type(exc).__name__
    return f"Get {go_quote(url)}: {reason}"


async def _read_capped(resp: aiohttp.ClientResponse) -> bytes:
    chunks = bytearray()
    while len(chunks) < MAX_OUTPUT:
        chunk = await resp.content.read(MAX_OUTPUT - len(chunks))
        if not chunk:
            break
        chunks += chunk
    return bytes(chunks)


async def http_get(request: HttpRequest, *, timeout: float | None) -> HttpResponse:
    """GET with upstream's redirect rule: follow only while the host name stays the same."""
    first_host = urlsplit(request.url).hostname
    url = request.url
    headers = CIMultiDict(request.headers)
    connector = aiohttp.TCPConnector(ssl=False, force_close=True)
    try:
        async with asyncio.timeout(timeout), aiohttp.ClientSession(connector=connector) as session:
            for _hop in range(MAX_REDIRECTS + 1):
                async with session.get(yarl.URL(url, encoded=True), headers=headers,
                                       allow_redirects=False, skip_auto_headers=request.skip_auto,
                                       auto_decompress=True) as resp:
                    location = resp.headers.get("Location")
                    if resp.status in (301, 302, 303, 307, 308) and location:
                        target = urljoin(url, location)
                        if urlsplit(target).hostname != first_host:
                            return HttpResponse(resp.status, await _read_capped(resp))
                        if urlsplit(location).netloc:
                            headers.popall("Host", None)   # a Host override holds for relative hops only
                        url = target
                        continue
                    return HttpResponse(resp.status, await _read_capped(resp))
            return HttpResponse(None, error=f"Get {go_quote(url)}: stopped after {MAX_REDIRECTS} redirects")
    except (TimeoutError, aiohttp.ClientError, ssl.SSLError, OSError, ValueError) as exc:
        tls = isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError)
        return HttpResponse(None, error=_http_error(url, exc), tls_failed=tls)


async def probe_http(action: dict[str, Any], *, container: dict[str, Any], pod_ip: str,
                     timeout: float) -> ProbeResult:
    try:
        request = build_http_request(action, container=container, pod_ip=pod_ip)
    except ValueError as exc:
        return ProbeResult(Outcome.UNKNOWN, str(exc))
    resp = await http_get(request, timeout=timeout)
    if resp.status is None:
        return ProbeResult(Outcome.FAILURE, resp.error)
    body = resp.body.decode(errors="replace")
    if 200 <= resp.status < 300:
        return ProbeResult(Outcome.SUCCESS, body)
    if 300 <= resp.status < 400:
        return ProbeResult(Outcome.WARNING, f"Probe terminated redirects, Response body: {body}")
    return ProbeResult(Outcome.FAILURE, f"HTTP probe failed with statuscode: {resp.status}")


# -- tcp --------------------------------------------------------------------------------------

async def probe_tcp(action: dict[str, Any], *, container: dict[str, Any], pod_ip: str,
                    timeout: float) -> ProbeResult:
    try:
        port = resolve_port(action.get("port"), container)
    except ValueError as exc:
        return ProbeResult(Outcome.UNKNOWN, str(exc))
    host = str(action.get("host") or pod_ip)
    dial = f"dial tcp {join_host_port(host, port)}"
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeResult(Outcome.FAILURE, f"{dial}: i/o timeout")
    except ConnectionRefusedError:
        return ProbeResult(Outcome.FAILURE, f"{dial}: connect: connection refused")
    except OSError as exc:
        return ProbeResult(Outcome.FAILURE, f"{dial}: {exc.strerror or exc}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(Outcome.SUCCESS, "")


# -- grpc -------------------------------------------------------------------------------------

def _go_code_name(code: Any) -> str:
    name = str(getattr(code, "name", code))
    return "OK" if name == "OK" else "".join(p.capitalize() for p in name.split("_"))


async def probe_grpc(action: dict[str, Any], *, pod_ip: str, timeout: float) -> ProbeResult:
    port = action.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        return ProbeResult(Outcome.UNKNOWN, f"invalid port number: {port}")
    service = str(action.get("service") or "")
    addr = join_host_port(str(action.get("host") or pod_ip), port)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    options = [("grpc.primary_user_agent", user_agent("probe"))]
    async with grpc.aio.insecure_channel(addr, options=options) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), timeout)
        except TimeoutError:
            return ProbeResult(Outcome.FAILURE, f"timeout: failed to connect service {go_quote(addr)} "
                                                f"within {go_duration(timeout)}: context deadline exceeded")
        check = channel.unary_unary(grpc_health.CHECK_METHOD,
                                    request_serializer=grpc_health.encode_request,
                                    response_deserializer=grpc_health.decode_response)
        try:
            status = await check(service, timeout=max(deadline - loop.time(), 0.001))
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return ProbeResult(Outcome.FAILURE, "error: this server does not implement the grpc "
                                                    f"health protocol ({grpc_health.SERVICE_NAME}): {exc.details()}")
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return ProbeResult(Outcome.FAILURE,
                                   f"timeout: health rpc did not complete within {go_duration(timeout)}")
            return ProbeResult(Outcome.FAILURE, "error: health rpc probe failed: rpc error: "
                                                f"code = {_go_code_name(code)} desc = {exc.details()}")
    if status != grpc_health.SERVING:
        return ProbeResult(Outcome.FAILURE,
                           f"service unhealthy (responded with {go_quote(grpc_health.status_name(status))})")
    return ProbeResult(Outcome.SUCCESS, "service healthy")


# -- dispatch ---------------------------------------------------------------------------------

async def run_probe(probe: dict[str, Any], *, container: dict[str, Any], container_id: str,
                    pod_ip: str, exec_sync: ExecSync, timeout: float) -> ProbeResult:
    """Run whichever handler the probe names, once, within ``timeout`` seconds."""
    if probe.get("exec") is not None:
        command = list((probe["exec"] or {}).get("command") or [])
        return await probe_exec(command, container_id=container_id, exec_sync=exec_sync, timeout=timeout)
    if probe.get("httpGet") is not None:
        return await probe_http(probe["httpGet"], container=container, pod_ip=pod_ip, timeout=timeout)
    if probe.get("tcpSocket") is not None:
        return await probe_tcp(probe["tcpSocket"], container=container, pod_ip=pod_ip, timeout=timeout)
    if probe.get("grpc") is not None:
        return await probe_grpc(probe["grpc"], pod_ip=pod_ip, timeout=timeout)
    return ProbeResult(Outcome.UNKNOWN, f"missing probe handler for container {container.get('name', '')}")
