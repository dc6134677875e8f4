"""Load tools for the API benchmarks: open-loop rates, a lean closed-loop HTTP/1.1 client, watch streams.

Why not one library: the benchmarks need three different shapes of load on a 2-core machine where
the client competes with the server for CPU.

- `open_loop` schedules calls at fixed intervals whatever the replies do, and measures each
  latency from the moment the call was *due*, so a slow server cannot hide its queueing by slowing
  the client down (coordinated omission).
- `closed_loop` keeps N keep-alive connections busy with one pre-encoded request each, parsing
  responses with a few byte searches on an `asyncio.Protocol`: it costs far less CPU per request
  than aiohttp's client, so that the load tool is less of a ceiling when it measures a hello-world.
- `WatchStream` reads a Kubernetes watch (chunked JSON lines) and, without decoding JSON, pulls a
  timestamp that the writer put into each object, giving send→delivered latency per event.

Pure parts (`parse_response`, `percentiles`, `tls_context_from_kubeconfig` material) are tested
in tests/bench/.
"""

from __future__ import annotations

import asyncio
import base64
import re
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# --- numbers -------------------------------------------------------------------------------------


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile of an unsorted sample (0.0 when empty)."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_summary(seconds: list[float]) -> dict[str, float]:
    """p50/p90/p99/max in milliseconds, rounded for a readable report."""
    ordered = sorted(seconds)

    def at(q: float) -> float:
        if not ordered:
            return 0.0
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0}


# --- TLS from a kubeconfig -----------------------------------------------------------------------


@dataclass(frozen=True)
class ClientTLS:
    """PEM files written from a kubeconfig's embedded data, and the server URL."""

    server: str
    ca_file: Path
    cert_file: Path
    key_file: Path

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca_file))
        ctx.load_cert_chain(str(self.cert_file), str(self.key_file))
        return ctx


def kubeconfig_credentials(doc: dict[str, Any]) -> tuple[str, bytes, bytes, bytes]:
    """(server, CA PEM, client cert PEM, client key PEM) of the current context of a kubeconfig."""
    current = doc.get("current-context", "")
    contexts = {c["name"]: c["context"] for c in doc.get("contexts") or []}
    ctx = contexts.get(current) or next(iter(contexts.values()))
    clusters = {c["name"]: c["cluster"] for c in doc.get("clusters") or []}
    users = {u["name"]: u["user"] for u in doc.get("users") or []}
    cluster = clusters[ctx["cluster"]]
    user = users[ctx["user"]]
    return (
        str(cluster["server"]),
        base64.b64decode(cluster["certificate-authority-data"]),
        base64.b64decode(user["client-certificate-data"]),
        base64.b64decode(user["client-key-data"]),
    )


def client_tls(kubeconfig: Path, directory: Path) -> ClientTLS:
    """Parse a kubeconfig and write its CA, client certificate and key as PEM files under `directory`."""
    server, ca, cert, key = kubeconfig_credentials(yaml.safe_load(kubeconfig.read_text()))
    directory.mkdir(parents=True, exist_ok=True)
    paths = ClientTLS(server, directory / "ca.pem", directory / "client.pem", directory / "client-key.pem")
    paths.ca_file.write_bytes(ca)
    paths.cert_file.write_bytes(cert)
    paths.key_file.write_bytes(key)
    paths.key_file.chmod(0o600)
    return paths


def temp_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


# --- open loop -----------------------------------------------------------------------------------

Call = Callable[[int], Awaitable[bool]]


@dataclass
class OpenLoopResult:
    offered_per_s: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    ok: int = 0
    failed: int = 0
    elapsed: float = 0.0
    errors: dict[str, int] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "offered_per_s": self.offered_per_s,
            "achieved_per_s": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "requests": self.ok + self.failed,
            "failed": self.failed,
        }
        out.update(latency_summary(self.latencies))
        # How late the client itself started calls: large values mean the client, not the
        # server, was the bottleneck (latencies still count from the due time).
        out["client_dispatch_lag_p99_ms"] = round(percentile(self.lags, 0.99) * 1000, 2)
        if self.errors:
            out["errors"] = dict(sorted(self.errors.items(), key=lambda kv: -kv[1])[:5])
        return out


async def open_loop(call: Call, rate: float, seconds: float, drain_timeout: float = 30.0) -> OpenLoopResult:
    """Start `call(i)` at t0 + i/rate for i < rate*seconds; latency counts from the due time.

    `call` returns True on success. Calls still running `drain_timeout` s after the last was due
    count as failed.
    """
    result = OpenLoopResult(offered_per_s=rate, seconds=seconds)
    total = max(1, int(rate * seconds))
    tasks: set[asyncio.Task[None]] = set()
    t0 = time.perf_counter()

    async def one(i: int, due: float) -> None:
        result.lags.append(time.perf_counter() - due)
        try:
            good = await call(i)
        except Exception as exc:  # a failed call is data for the report, not a crash
            good = False
            name = type(exc).__name__
            result.errors[name] = result.errors.get(name, 0) + 1
        if good:
            result.ok += 1
            result.latencies.append(time.perf_counter() - due)
        else:
            result.failed += 1

    issued = 0
    while issued < total:
        due_now = min(total, int((time.perf_counter() - t0) * rate) + 1)
        while issued < due_now:
            task = asyncio.create_task(one(issued, t0 + issued / rate))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            issued += 1
        await asyncio.sleep(max(0.0, t0 + issued / rate - time.perf_counter()))
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=drain_timeout)
        for task in pending:
            task.cancel()
        result.failed += len(pending)
    result.elapsed = time.perf_counter() - t0
    return result


# --- a lean HTTP/1.1 response parser and closed-loop client ---------------------------------------


def parse_response(buf: bytes | bytearray) -> tuple[int, int] | None:
    """(status, bytes consumed) of the first complete HTTP/1.1 response in `buf`, or None if incomplete.

    Handles Content-Length and chunked bodies; enough for a keep-alive benchmark client, not a
    general parser (no trailers, no responses without a length).
    """
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    head = bytes(buf[:head_end]).lower()
    status = int(head[9:12])
    body_start = head_end + 4
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
    if m:
        end = body_start + int(m.group(1))
        return (status, end) if len(buf) >= end else None
    if b"transfer-encoding: chunked" in head or b"transfer-encoding:chunked" in head:
        pos = body_start
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buf[pos:line_end]).split(b";")[0], 16)
            if size == 0:
                end = line_end + 4  # the empty trailer section's CRLF
                return (status, end) if len(buf) >= end else None
            pos = line_end + 2 + size + 2
            if pos > len(buf):
                return None
    return status, body_start  # e.g. 204 / 304: no body


class _KeepAlive(asyncio.Protocol):
    """One keep-alive connection that answers one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.waiter is not None and not self.waiter.done():
            parsed = parse_response(self.buf)
            if parsed is not None:
                status, used = parsed
                del self.buf[:used]
                self.waiter.set_result(status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def request(self, raw: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


def get_request(path: str, host: str, extra_headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", "Accept: application/json", "User-Agent: kyb-api-bench"]
    lines += [f"{k}: {v}" for k, v in (extra_headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def closed_loop(host: str, port: int, path: str, connections: int, seconds: float,
                      ssl_ctx: ssl.SSLContext | None, warmup: float = 0.5) -> dict[str, Any]:
    """N keep-alive connections each sending the same GET back to back; requests/s and latency."""
    loop = asyncio.get_running_loop()
    raw = get_request(path, f"{host}:{port}")
    conns: list[_KeepAlive] = []
    for _ in range(connections):
        _, proto = await loop.create_connection(_KeepAlive, host, port, ssl=ssl_ctx,
                                                server_hostname=host if ssl_ctx else None)
        conns.append(proto)
    counts = {"ok": 0, "bad": 0}
    latencies: list[float] = []
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def worker(conn: _KeepAlive) -> None:
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            status = await conn.request(raw)
            if measuring:
                latencies.append(time.perf_counter() - began)
                counts["ok" if status == 200 else "bad"] += 1

    workers = [asyncio.create_task(worker(c)) for c in conns]
    await asyncio.sleep(warmup)
    measuring = True
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    for c in conns:
        if c.transport is not None:
            c.transport.close()
    out: dict[str, Any] = {"connections": connections, "seconds": round(elapsed, 2),
                           "req_per_s": round(counts["ok"] / elapsed, 1), "non_200": counts["bad"]}
    out.update(latency_summary(latencies))
    out["client_cpu_pct"] = round(100 * cpu / elapsed, 1)
    return out


# --- watch streams -------------------------------------------------------------------------------

SENT_KEY = "bench-sent"
_SENT_RE = re.compile(rb'"bench-sent":\s*"([0-9.]+)"')


class WatchStream(asyncio.Protocol):
    """A raw watch request; records now - <bench-sent> for every complete event line received.

    Chunk-size lines of the chunked encoding never match the timestamp pattern, so the stream is
    scanned without de-chunking; a line split across reads waits in the buffer for its newline.
    """

    def __init__(self, delays: list[float]) -> None:
        self.delays = delays
        self.buf = bytearray()
        self.headers_seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.events = 0
        self.last = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.headers_seen.done():
            head_end = self.buf.find(b"\r\n\r\n")
            if head_end < 0:
                return
            self.headers_seen.set_result(int(self.buf[9:12]))
            del self.buf[:head_end + 4]
        end = self.buf.rfind(b"\n")
        if end < 0:
            return
        now = time.perf_counter()
        for sent in _SENT_RE.findall(self.buf, 0, end):
            self.delays.append(now - float(sent))
            self.events += 1
            self.last = now
        del self.buf[:end + 1]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headers_seen.done():
            self.headers_seen.set_exception(ConnectionError("watch closed before headers"))


async def open_watch(host: str, port: int, path: str, ssl_ctx: ssl.SSLContext | None,
                     delays: list[float]) -> WatchStream:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: WatchStream(delays), host, port, ssl=ssl_ctx,
                                            server_hostname=host if ssl_ctx else None)
    assert proto.transport is not None
    proto.transport.write(get_request(path, f"{host}:{port}"))
    return proto
