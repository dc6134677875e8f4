"""The cluster DNS server: UDP and TCP on asyncio, cluster names from a `RecordIndex`, the rest
forwarded to upstream resolvers with a cache, and an HTTP port for /health and /metrics.

Why it is shaped like this: a pod's resolver sends the same few questions over and over (search
path expansion with ndots:5 turns one lookup into up to six), so the hot path must not parse or
encode a packet at all. Theory of operation:

1. Every packed reply is remembered by the exact bytes of its query after the ID (flags, question,
   EDNS record) and the transport; a repeated query is answered by prefixing its own ID to those
   bytes. Replies from the index are valid while the index's generation is unchanged; forwarded
   replies for at most one second (so the TTLs a client sees are at most one second stale) and
   never past their cache lifetime.
2. Otherwise the query is parsed (dnslib). Names the index answers get an authoritative reply
   (AA set); an ExternalName CNAME is followed (in the index or upstream) so that A/AAAA
   questions get addresses. Every other name goes through `AnswerCache`, then to the upstreams in
   order over UDP (TCP when an upstream truncates), with one upstream query in flight per question.
3. A UDP reply larger than the client's limit (512 bytes, or its EDNS payload size) is sent with
   only the question and the TC bit, so the client repeats the query over TCP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from aiohttp import web
from dnslib import (  # type: ignore[import-untyped]
    AAAA,
    CNAME,
    EDNS0,
    NS,
    PTR,
    QTYPE,
    RR,
    SOA,
    SRV,
    TXT,
    A,
    DNSError,
    DNSHeader,
    DNSRecord,
)

from kybernetes.dns import records
from kybernetes.dns.cache import AnswerCache, key_of
from kybernetes.util.listen import HostPort, parse_hostport

log = logging.getLogger("kyb.dns")

EDNS_PAYLOAD = 1232  # what this server offers (the DNS flag day 2020 value)
UPSTREAM_TIMEOUT = 2.0
TCP_IDLE_TIMEOUT = 10.0
FORWARD_FAST_TTL = 1.0
MAX_CNAME_CHAIN = 8
LATENCY_BUCKETS = (0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def parse_resolv_conf(text: str) -> list[str]:
    """The nameserver addresses of a resolv.conf, in order."""
    out = []
    for line in text.splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and parts[0] == "nameserver":
            out.append(parts[1])
    return out


def default_upstreams(path: Path = Path("/etc/resolv.conf")) -> list[str]:
    try:
        return parse_resolv_conf(path.read_text())
    except OSError:
        return []


def udp_limit(request: DNSRecord) -> int:
    for rr in request.ar:
        if rr.rtype == QTYPE.OPT:
            return max(512, min(int(rr.rclass), 65535))
    return 512


def to_rr(rec: records.Record, owner: str) -> RR:
    """A dnslib RR for an index record; `owner` keeps the question's spelling of the name."""
    data = rec.data
    rdata: object
    if rec.rtype == "A":
        rdata = A(str(data))
    elif rec.rtype == "AAAA":
        rdata = AAAA(str(data))
    elif rec.rtype == "CNAME":
        rdata = CNAME(str(data) + ".")
    elif rec.rtype == "PTR":
        rdata = PTR(str(data) + ".")
    elif rec.rtype == "NS":
        rdata = NS(str(data) + ".")
    elif rec.rtype == "TXT":
        rdata = TXT(str(data))
    elif isinstance(data, records.SRV):
        rdata = SRV(data.priority, data.weight, data.port, data.target + ".")
    elif isinstance(data, records.SOA):
        rdata = SOA(data.mname + ".", data.rname + ".",
                    (data.serial, data.refresh, data.retry, data.expire, data.minimum))
    else:
        raise ValueError(f"cannot encode {rec}")
    return RR(owner + ".", getattr(QTYPE, rec.rtype), ttl=rec.ttl, rdata=rdata)


@dataclass
class Metrics:
    requests: Counter[tuple[str, str]] = field(default_factory=Counter)  # (proto, qtype)
    responses: Counter[str] = field(default_factory=Counter)  # rcode name
    fast_hits: int = 0
    forwards: int = 0
    forward_errors: int = 0
    truncated: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    latency_sum: float = 0.0
    latency_count: int = 0

    def observe(self, seconds: float) -> None:
        self.latency_sum += seconds
        self.latency_count += 1
        for i, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
                break

    def render(self, cache: AnswerCache) -> str:
        lines = ["# HELP kyb_dns_requests_total DNS queries received, by transport and type.",
                 "# TYPE kyb_dns_requests_total counter"]
        lines += [f'kyb_dns_requests_total{{proto="{p}",type="{t}"}} {n}' for (p, t), n in sorted(self.requests.items())]
        lines += ["# HELP kyb_dns_responses_total DNS replies sent, by response code.",
                  "# TYPE kyb_dns_responses_total counter"]
        lines += [f'kyb_dns_responses_total{{rcode="{r}"}} {n}' for r, n in sorted(self.responses.items())]
        lines += ["# HELP kyb_dns_request_duration_seconds Time to answer a query.",
                  "# TYPE kyb_dns_request_duration_seconds histogram"]
        total = 0
        for bound, n in zip(LATENCY_BUCKETS, self.buckets, strict=True):
            total += n
            lines.append(f'kyb_dns_request_duration_seconds_bucket{{le="{bound}"}} {total}')
        lines += [f'kyb_dns_request_duration_seconds_bucket{{le="+Inf"}} {self.latency_count}',
                  f"kyb_dns_request_duration_seconds_sum {self.latency_sum:.9f}",
                  f"kyb_dns_request_duration_seconds_count {self.latency_count}"]
        for name, help_text, value in (
                ("kyb_dns_cache_hits_total", "Forwarded questions answered from the cache.", cache.hits),
                ("kyb_dns_cache_misses_total", "Forwarded questions not in the cache.", cache.misses),
                ("kyb_dns_reply_cache_hits_total", "Queries answered from the packed-reply cache.", self.fast_hits),
                ("kyb_dns_forward_requests_total", "Queries sent to upstream resolvers.", self.forwards),
                ("kyb_dns_forward_errors_total", "Upstream queries that failed or timed out.", self.forward_errors),
                ("kyb_dns_truncated_total", "UDP replies sent truncated (TC).", self.truncated)):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        lines += ["# HELP kyb_dns_cache_entries Forwarded answers cached.", "# TYPE kyb_dns_cache_entries gauge",
                  f"kyb_dns_cache_entries {len(cache)}"]
        return "\n".join(lines) + "\n"


class _UpstreamProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: Forwarder) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) >= 2:
            fut = self.owner.pending.get((int.from_bytes(data[:2], "big"), str(addr[0]), int(addr[1])))
            if fut is not None and not fut.done():
                fut.set_result(data)


class Forwarder:
    """Sends queries to upstream resolvers in order: UDP first, TCP when the reply is truncated."""

    def __init__(self, upstreams: list[HostPort], *, timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.upstreams = upstreams
        self.timeout = timeout
        self.pending: dict[tuple[int, str, int], asyncio.Future[bytes]] = {}
        self._transport: asyncio.DatagramTransport | None = None

    async def _udp(self) -> asyncio.DatagramTransport:
        if self._transport is None:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(lambda: _UpstreamProtocol(self),
                                                                     local_addr=("0.0.0.0", 0))
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def query(self, request: DNSRecord) -> DNSRecord:
        last: Exception = TimeoutError("no upstream resolvers")
        for host, port in self.upstreams:
            try:
                reply = await self._query_udp(request, host, port)
                if reply.header.tc:
                    reply = await self._query_tcp(request, host, port)
                return reply
            except (OSError, TimeoutError, DNSError) as e:
                last = e
                log.debug("upstream %s:%s failed: %r", host, port, e)
        raise last

    async def _query_udp(self, request: DNSRecord, host: str, port: int) -> DNSRecord:
        transport = await self._udp()
        loop = asyncio.get_running_loop()
        while True:
            qid = random.randrange(65536)
            key = (qid, host, port)
            if key not in self.pending:
                break
        fut: asyncio.Future[bytes] = loop.create_future()
        self.pending[key] = fut
        try:
            packet = bytearray(request.pack())
            packet[:2] = qid.to_bytes(2, "big")
            transport.sendto(bytes(packet), (host, port))
            data = await asyncio.wait_for(fut, self.timeout)
        finally:
            del self.pending[key]
        reply = DNSRecord.parse(data)
        if not reply.header.tc and key_of(reply) != key_of(request):
            raise DNSError("upstream answered another question")
        return reply

    async def _query_tcp(self, request: DNSRecord, host: str, port: int) -> DNSRecord:
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                packet = request.pack()
                writer.write(len(packet).to_bytes(2, "big") + packet)
                size = int.from_bytes(await reader.readexactly(2), "big")
                return DNSRecord.parse(await reader.readexactly(size))
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()


class _UDPServerProtocol(asyncio.DatagramProtocol):
    def __init__(self, server: DNSServer) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        result = self.server.handle(data, "udp")
        if isinstance(result, bytes):
            if self.transport is not None:
                self.transport.sendto(result, addr)
        elif result is not None:
            task = asyncio.ensure_future(self._later(result, addr))
            self.server._tasks.add(task)
            task.add_done_callback(self.server._tasks.discard)

    async def _later(self, result: Awaitable[bytes | None], addr: tuple[str | int, ...]) -> None:
        reply = await result
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class DNSServer:
    """Answers cluster names from `index` and forwards the rest; see the module docstring."""

    def __init__(self, index: records.RecordIndex, *, listen: list[HostPort],
                 upstreams: list[str] | None = None, cache_size: int = 10000, negative_ttl: int = 30,
                 http_listen: HostPort | None = None, upstream_timeout: float = UPSTREAM_TIMEOUT) -> None:
        self.index = index
        self.listen = listen
        self.upstreams = [parse_hostport(u, default_port=53) for u in (default_upstreams() if upstreams is None else upstreams)]
        self.cache = AnswerCache(cache_size, negative_ttl=negative_ttl)
        self.cache_size = cache_size
        self.http_listen = http_listen
        self.forwarder = Forwarder(self.upstreams, timeout=upstream_timeout)
        self.metrics = Metrics()
        # packed replies by (transport, query bytes after the ID): (reply after the ID, generation, expiry)
        self._fast: OrderedDict[tuple[str, bytes], tuple[bytes, int, float]] = OrderedDict()
        self._inflight: dict[tuple[str, int, int], asyncio.Future[DNSRecord]] = {}
        self._udp: list[asyncio.DatagramTransport] = []
        self._tcp: list[asyncio.Server] = []
        self._http: web.AppRunner | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self.udp_addresses: list[HostPort] = []
        self.tcp_addresses: list[HostPort] = []
        self.http_address: HostPort | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for host, port in self.listen:
                transport, _ = await loop.create_datagram_endpoint(lambda: _UDPServerProtocol(self),
                                                                   local_addr=(host, port))
                self._udp.append(transport)
                bound = transport.get_extra_info("sockname")
                self.udp_addresses.append((str(bound[0]), int(bound[1])))
                tcp = await asyncio.start_server(self._serve_tcp, host, int(bound[1]), reuse_address=True)
                self._tcp.append(tcp)
                tbound = tcp.sockets[0].getsockname()
                self.tcp_addresses.append((str(tbound[0]), int(tbound[1])))
            if self.http_listen is not None:
                await self._start_http(*self.http_listen)
        except BaseException:
            await self.stop()
            raise

    async def _start_http(self, host: str, port: int) -> None:
        app = web.Application()
        app.router.add_get("/health", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._http = web.AppRunner(app, access_log=None)
        await self._http.setup()
        site = web.TCPSite(self._http, host, port)
        await site.start()
        self.http_address = (host, int(self._http.addresses[0][1]))

    async def stop(self) -> None:
        for transport in self._udp:
            transport.close()
        for tcp in self._tcp:
            tcp.close()
        for task in list(self._tasks):
            task.cancel()
        for tcp in self._tcp:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(tcp.wait_closed(), 2)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.cleanup()
        self.forwarder.close()
        self._udp, self._tcp, self._http = [], [], None

    async def __aenter__(self) -> DNSServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(text="OK")

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(text=self.metrics.render(self.cache), content_type="text/plain")

    # --- TCP ------------------------------------------------------------------------------------------
    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)  # type: ignore[arg-type]
        try:
            while True:
                async with asyncio.timeout(TCP_IDLE_TIMEOUT):
                    size = int.from_bytes(await reader.readexactly(2), "big")
                    data = await reader.readexactly(size)
                result = self.handle(data, "tcp")
                reply = result if isinstance(result, bytes) or result is None else await result
                if reply is not None:
                    writer.write(len(reply).to_bytes(2, "big") + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)  # type: ignore[arg-type]
            writer.close()

    # --- answering ------------------------------------------------------------------------------------
    def handle(self, data: bytes, proto: str) -> bytes | Awaitable[bytes | None] | None:
        """The reply to one query packet: bytes now, an awaitable when it needs upstream, None to drop."""
        start = time.perf_counter()
        fast_key = (proto, data[2:])
        hit = self._fast.get(fast_key)
        if hit is not None:
            tail, generation, expires = hit
            if generation == self.index.generation and (expires == 0 or expires > time.monotonic()):
                self.metrics.fast_hits += 1
                self.metrics.requests[(proto, "cached")] += 1
                self.metrics.responses[RCODE_NAMES.get(tail[1] & 0xF, "OTHER")] += 1
                self.metrics.observe(time.perf_counter() - start)
                return data[:2] + tail
            del self._fast[fast_key]
        try:
            request = DNSRecord.parse(data)
        except DNSError:
            return self._formerr(data)
        if request.header.qr or not request.questions:
            return None
        q = request.q
        qtype = QTYPE.get(q.qtype)
        self.metrics.requests[(proto, str(qtype))] += 1
        generation = self.index.generation
        answer = self.index.lookup(str(q.qname), str(qtype)) if q.qclass == 1 else None
        if answer is not None and not _needs_chase(answer, str(qtype)):
            return self._finish(request, self._authoritative(request, answer), proto, fast_key, start,
                                generation=generation, lifetime=0.0)
        return self._resolve_async(request, answer, proto, fast_key, start, generation)

    async def _resolve_async(self, request: DNSRecord, answer: records.Answer | None, proto: str,
                             fast_key: tuple[str, bytes], start: float, generation: int) -> bytes | None:
        if answer is not None:
            reply, lifetime = await self._chase(request, answer)
            return self._finish(request, reply, proto, fast_key, start, generation=generation, lifetime=lifetime)
        reply, lifetime = await self._forwarded(request)
        return self._finish(request, reply, proto, fast_key, start, generation=-1, lifetime=lifetime)

    def _finish(self, request: DNSRecord, reply: DNSRecord, proto: str, fast_key: tuple[str, bytes], start: float,
                *, generation: int, lifetime: float) -> bytes:
        packed = bytes(reply.pack())
        if proto == "udp" and len(packed) > udp_limit(request):
            self.metrics.truncated += 1
            header = DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1)
            packed = bytes(DNSRecord(header, questions=list(request.questions), ar=_edns(request)).pack())
        # forwarded replies (generation -1) are remembered for at most FORWARD_FAST_TTL seconds
        if generation >= 0 or lifetime > 0:
            expires = 0.0 if generation >= 0 else time.monotonic() + min(lifetime, FORWARD_FAST_TTL)
            self._fast[fast_key] = (packed[2:], generation if generation >= 0 else self.index.generation, expires)
            if len(self._fast) > self.cache_size:
                self._fast.popitem(last=False)
        self.metrics.responses[RCODE_NAMES.get(reply.header.rcode, "OTHER")] += 1
        self.metrics.observe(time.perf_counter() - start)
        return packed

    def _formerr(self, data: bytes) -> bytes | None:
        if len(data) < 12:
            return None
        self.metrics.responses["FORMERR"] += 1
        header = DNSHeader(id=int.from_bytes(data[:2], "big"), qr=1, rcode=1)
        return bytes(DNSRecord(header).pack())

    def _authoritative(self, request: DNSRecord, answer: records.Answer) -> DNSRecord:
        header = DNSHeader(id=request.header.id, qr=1, aa=1, rd=request.header.rd, ra=1, rcode=answer.rcode)
        asked = str(request.q.qname).rstrip(".")
        lower = asked.lower()
        reply = DNSRecord(header, questions=list(request.questions))
        reply.rr = [to_rr(r, asked if r.name == lower else r.name) for r in answer.answers]
        reply.auth = [to_rr(r, r.name) for r in answer.authority]
        reply.ar = [to_rr(r, r.name) for r in answer.additional] + _edns(request)
        return reply

    async def _chase(self, request: DNSRecord, answer: records.Answer) -> tuple[DNSRecord, float]:
        """Follow an ExternalName CNAME to addresses: in the index, else upstream."""
        reply = self._authoritative(request, answer)
        qtype = QTYPE.get(request.q.qtype)
        target = str(answer.answers[-1].data)
        for _ in range(MAX_CNAME_CHAIN):
            inner = self.index.lookup(target, str(qtype))
            if inner is None:
                upstream, lifetime = await self._forwarded(DNSRecord.question(target, str(qtype)))
                reply.rr += upstream.rr
                reply.header.rcode = upstream.header.rcode
                if not upstream.rr:
                    reply.auth = upstream.auth
                return reply, 0.0 if not lifetime else min(lifetime, float(self.index.ttl))
            reply.rr += [to_rr(r, r.name) for r in inner.answers]
            reply.header.rcode = inner.rcode
            if not inner.answers or inner.answers[-1].rtype != "CNAME":
                break
            target = str(inner.answers[-1].data)
        return reply, float(self.index.ttl)

    async def _forwarded(self, request: DNSRecord) -> tuple[DNSRecord, float]:
        """The upstream answer for `request` (cached or asked now) with the client's ID and question,
        and how long it may be reused."""
        key = key_of(request)
        cached = self.cache.get(key)
        if cached is None:
            fut = self._inflight.get(key)
            if fut is None:
                fut = asyncio.get_running_loop().create_future()
                self._inflight[key] = fut
                try:
                    self.metrics.forwards += 1
                    upstream_reply = await self.forwarder.query(request)
                    self.cache.put(key, upstream_reply)
                    fut.set_result(upstream_reply)
                except (OSError, TimeoutError, DNSError) as e:
                    self.metrics.forward_errors += 1
                    log.info("forwarding %s failed: %r", key[0], e)
                    fut.set_exception(e)
                    fut.exception()  # retrieved: waiters get it too, no "never retrieved" warning
                finally:
                    del self._inflight[key]
            try:
                reply = await asyncio.shield(fut)
            except (OSError, TimeoutError, DNSError):
                header = DNSHeader(id=request.header.id, qr=1, rd=request.header.rd, ra=1, rcode=2)
                return DNSRecord(header, questions=list(request.questions), ar=_edns(request)), 0.0
            cached = self.cache.get(key) or (reply, 0.0)
        reply, lifetime = cached
        reply.header.id = request.header.id
        reply.header.rd = request.header.rd
        reply.header.ra = 1
        reply.header.aa = 0
        reply.questions = list(request.questions)
        has_opt = any(rr.rtype == QTYPE.OPT for rr in request.ar)
        reply.ar = [rr for rr in reply.ar if rr.rtype != QTYPE.OPT] + (_edns(request) if has_opt else [])
        return reply, lifetime


def _edns(request: DNSRecord) -> list[RR]:
    if any(rr.rtype == QTYPE.OPT for rr in request.ar):
        return [EDNS0(udp_len=EDNS_PAYLOAD)]
    return []


def _needs_chase(answer: records.Answer, qtype: str) -> bool:
    return bool(answer.answers) and answer.answers[-1].rtype == "CNAME" and qtype not in ("CNAME", "ANY")

