"""A tiny authoritative DNS server from zone-file lines, to stand in for an upstream resolver.

Why: tests and the benchmark must prove forwarding, caching and negative caching without the
internet, and must count what reached the upstream. It answers UDP and TCP from `RR.fromZone`
text, NXDOMAIN (with an SOA, so the answer may be cached negatively) for unknown names, NODATA
for known names of another type, and truncates UDP replies over 512 bytes like a real server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from dnslib import QTYPE, RR, DNSHeader, DNSRecord  # type: ignore[import-untyped]

from kybernetes.util.listen import HostPort


class FakeUpstream:
    def __init__(self, zone_text: str, *, soa: str = "example. 60 IN SOA ns.example. host.example. 1 7200 900 86400 30",
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.records: list[RR] = RR.fromZone(zone_text)
        self.soa: RR = RR.fromZone(soa)[0]
        self.host, self.port = host, port
        self.queries: Counter[tuple[str, str]] = Counter()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None

    def answer(self, data: bytes, *, udp: bool) -> bytes:
        request = DNSRecord.parse(data)
        q = request.q
        name = str(q.qname).lower()
        self.queries[(name.rstrip("."), str(QTYPE.get(q.qtype)))] += 1
        reply = request.reply()
        reply.header.aa = 1
        named = [rr for rr in self.records if str(rr.rname).lower() == name]
        matching = [rr for rr in named if rr.rtype == q.qtype or rr.rtype == QTYPE.CNAME]
        for rr in matching:
            reply.add_answer(rr)
        if not matching:
            reply.add_auth(self.soa)
            if not named:
                reply.header.rcode = 3
        packed = bytes(reply.pack())
        if udp and len(packed) > 512:
            packed = bytes(DNSRecord(DNSHeader(id=reply.header.id, bitmap=reply.header.bitmap, tc=1),
                                     questions=list(request.questions)).pack())
        return packed

    async def start(self) -> HostPort:
        loop = asyncio.get_running_loop()
        owner = self

        class Proto(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
                self.transport.sendto(owner.answer(data, udp=True), addr)  # type: ignore[attr-defined]

        self._udp, _ = await loop.create_datagram_endpoint(Proto, local_addr=(self.host, self.port))
        self.port = int(self._udp.get_extra_info("sockname")[1])
        self._tcp = await asyncio.start_server(self._serve_tcp, self.host, self.port, reuse_address=True)
        return self.host, self.port

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = int.from_bytes(await reader.readexactly(2), "big")
                reply = self.answer(await reader.readexactly(size), udp=False)
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 2)
