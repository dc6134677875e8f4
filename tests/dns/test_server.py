"""DNSServer over real UDP and TCP sockets (ports 15300-15304): cluster answers, forwarding to a fake
upstream, the cache (positive and negative), truncation, metrics, and busybox nslookup as a client."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from dnslib import EDNS0, QTYPE, DNSRecord  # type: ignore[import-untyped]

from kybernetes.dns.cache import cache_ttl
from kybernetes.dns.fakeupstream import FakeUpstream
from kybernetes.dns.records import RecordIndex
from kybernetes.dns.server import DNSServer, parse_resolv_conf, udp_limit

PORT, UPSTREAM_PORT, HTTP_PORT, DEAD_PORT = 15300, 15301, 15302, 15303

ZONE = """
www.example.com. 300 IN A 192.0.2.10
short.example.com. 2 IN A 192.0.2.11
alias.example.com. 300 IN CNAME www.example.com.
big.example.com. 300 IN TXT "{}"
big.example.com. 300 IN TXT "{}"
big.example.com. 300 IN TXT "{}"
""".format("a" * 200, "b" * 200, "c" * 200)


def cluster_index() -> RecordIndex:
    index = RecordIndex()
    index.upsert_namespace({"metadata": {"name": "default"}})
    index.upsert_service({"metadata": {"name": "web", "namespace": "default"},
                          "spec": {"type": "ClusterIP", "clusterIP": "10.43.0.20", "clusterIPs": ["10.43.0.20"],
                                   "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
    index.upsert_service({"metadata": {"name": "ext", "namespace": "default"},
                          "spec": {"type": "ExternalName", "externalName": "www.example.com"}})
    index.upsert_service({"metadata": {"name": "many", "namespace": "default"},
                          "spec": {"type": "ClusterIP", "clusterIP": "None"}})
    index.upsert_endpointslice({"metadata": {"name": "many-1", "namespace": "default",
                                             "labels": {"kubernetes.io/service-name": "many"}},
                                "endpoints": [{"addresses": [f"10.42.1.{i}"], "conditions": {"ready": True}}
                                              for i in range(1, 60)]})
    return index


@dataclass
class Env:
    server: DNSServer
    upstream: FakeUpstream
    index: RecordIndex


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    upstream = FakeUpstream(ZONE, port=UPSTREAM_PORT)
    await upstream.start()
    index = cluster_index()
    server = DNSServer(index, listen=[("127.0.0.1", PORT)], upstreams=[f"127.0.0.1:{UPSTREAM_PORT}"],
                       negative_ttl=30, http_listen=("127.0.0.1", HTTP_PORT), upstream_timeout=0.5)
    await server.start()
    try:
        yield Env(server, upstream, index)
    finally:
        await server.stop()
        await upstream.stop()


async def ask(qname: str, qtype: str = "A", *, tcp: bool = False, edns: int = 0) -> DNSRecord:
    q = DNSRecord.question(qname, qtype)
    if edns:
        q.add_ar(EDNS0(udp_len=edns))
    raw = await asyncio.to_thread(q.send, "127.0.0.1", PORT, tcp=tcp, timeout=3)
    reply = DNSRecord.parse(raw)
    assert reply.header.id == q.header.id
    return reply


def rdatas(reply: DNSRecord) -> list[str]:
    return [str(rr.rdata) for rr in reply.rr]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
async def test_cluster_name_is_authoritative(env: Env, tcp: bool) -> None:
    reply = await ask("web.default.svc.cluster.local", tcp=tcp)
    assert reply.header.rcode == 0 and reply.header.aa == 1
    assert rdatas(reply) == ["10.43.0.20"]
    assert reply.rr[0].ttl == 5
    srv = await ask("_http._tcp.web.default.svc.cluster.local", "SRV", tcp=tcp)
    assert rdatas(srv) == ["0 100 80 web.default.svc.cluster.local."]
    assert [str(rr.rdata) for rr in srv.ar] == ["10.43.0.20"]
    assert env.upstream.queries == {}


async def test_question_spelling_is_echoed(env: Env) -> None:
    reply = await ask("Web.Default.svc.cluster.local")
    assert str(reply.rr[0].rname) == "Web.Default.svc.cluster.local."
    assert str(reply.q.qname) == "Web.Default.svc.cluster.local."


async def test_nxdomain_and_nodata_carry_soa(env: Env) -> None:
    nx = await ask("nope.default.svc.cluster.local")
    assert nx.header.rcode == 3 and not nx.rr and QTYPE.get(nx.auth[0].rtype) == "SOA"
    nodata = await ask("web.default.svc.cluster.local", "AAAA")
    assert nodata.header.rcode == 0 and not nodata.rr and QTYPE.get(nodata.auth[0].rtype) == "SOA"


async def test_index_change_is_seen_at_once(env: Env) -> None:
    assert rdatas(await ask("web.default.svc.cluster.local")) == ["10.43.0.20"]  # now in the reply cache
    env.index.delete_service("default", "web")
    assert (await ask("web.default.svc.cluster.local")).header.rcode == 3


async def test_forwarding_and_cache(env: Env) -> None:
    first = await ask("www.example.com")
    assert rdatas(first) == ["192.0.2.10"] and first.header.aa == 0 and first.header.ra == 1
    second = await ask("www.example.com")
    third = await ask("WWW.example.com", tcp=True)
    assert rdatas(second) == rdatas(third) == ["192.0.2.10"]
    assert env.upstream.queries[("www.example.com", "A")] == 1  # the rest came from the cache
    assert 295 <= second.rr[0].ttl <= 300


async def test_ttl_expiry_asks_again(env: Env) -> None:
    await ask("short.example.com")
    await ask("short.example.com")
    assert env.upstream.queries[("short.example.com", "A")] == 1
    await asyncio.sleep(2.1)
    assert rdatas(await ask("short.example.com")) == ["192.0.2.11"]
    assert env.upstream.queries[("short.example.com", "A")] == 2


async def test_negative_caching(env: Env) -> None:
    for _ in range(3):
        reply = await ask("missing.example.com")
        assert reply.header.rcode == 3
    nodata = await ask("www.example.com", "AAAA")
    nodata2 = await ask("www.example.com", "AAAA", tcp=True)
    assert nodata.header.rcode == nodata2.header.rcode == 0 and not nodata.rr and not nodata2.rr
    assert env.upstream.queries[("missing.example.com", "A")] == 1
    assert env.upstream.queries[("www.example.com", "AAAA")] == 1


async def test_externalname_is_followed_upstream(env: Env) -> None:
    reply = await ask("ext.default.svc.cluster.local")
    assert [QTYPE.get(rr.rtype) for rr in reply.rr] == ["CNAME", "A"]
    assert rdatas(reply) == ["www.example.com.", "192.0.2.10"]


async def test_big_answers_truncate_over_udp_and_fit_over_tcp(env: Env) -> None:
    udp = await ask("many.default.svc.cluster.local")
    assert udp.header.tc == 1 and not udp.rr
    tcp = await ask("many.default.svc.cluster.local", tcp=True)
    assert tcp.header.tc == 0 and len(tcp.rr) == 59
    edns = await ask("many.default.svc.cluster.local", edns=4096)
    assert edns.header.tc == 0 and len(edns.rr) == 59
    # the upstream truncates its UDP reply; the server repeats the question over TCP
    big = await ask("big.example.com", "TXT", tcp=True)
    assert len(big.rr) == 3
    assert (await ask("big.example.com", "TXT")).header.tc == 1


async def test_upstream_failover_and_servfail() -> None:
    upstream = FakeUpstream(ZONE, port=UPSTREAM_PORT)
    await upstream.start()
    server = DNSServer(RecordIndex(), listen=[("127.0.0.1", PORT)],
                       upstreams=[f"127.0.0.1:{DEAD_PORT}", f"127.0.0.1:{UPSTREAM_PORT}"], upstream_timeout=0.3)
    try:
        async with server:
            assert rdatas(await ask("www.example.com")) == ["192.0.2.10"]
            await upstream.stop()
            server.forwarder.upstreams = [("127.0.0.1", DEAD_PORT)]
            reply = await ask("other.example.com")
            assert reply.header.rcode == 2
            assert server.metrics.forward_errors == 1
    finally:
        await upstream.stop()


async def test_garbage_gets_formerr_or_nothing(env: Env) -> None:
    loop = asyncio.get_running_loop()
    got: asyncio.Future[bytes] = loop.create_future()

    class P(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            if not got.done():
                got.set_result(data)

    transport, _ = await loop.create_datagram_endpoint(P, remote_addr=("127.0.0.1", PORT))
    try:
        transport.sendto(b"\x12\x34" + b"\x01\x00\x00\x01" + b"\xff" * 10)
        reply = await asyncio.wait_for(got, 2)
        assert reply[:2] == b"\x12\x34" and reply[3] & 0xF == 1
    finally:
        transport.close()


async def test_health_and_metrics(env: Env) -> None:
    await ask("web.default.svc.cluster.local")
    await ask("web.default.svc.cluster.local")
    await ask("www.example.com")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{HTTP_PORT}/health") as r:
            assert r.status == 200 and await r.text() == "OK"
        async with http.get(f"http://127.0.0.1:{HTTP_PORT}/metrics") as r:
            text = await r.text()
    assert 'kyb_dns_requests_total{proto="udp",type="A"} 2' in text
    assert 'kyb_dns_requests_total{proto="udp",type="cached"} 1' in text
    assert 'kyb_dns_responses_total{rcode="NOERROR"} 3' in text
    assert "kyb_dns_request_duration_seconds_count 3" in text
    assert "kyb_dns_forward_requests_total 1" in text


async def test_busybox_nslookup(env: Env) -> None:
    busybox = shutil.which("busybox")
    assert busybox, "busybox-static is a declared system dependency"
    proc = await asyncio.create_subprocess_exec(
        busybox, "nslookup", f"-port={PORT}", "-type=a", "web.default.svc.cluster.local", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert "10.43.0.20" in out.decode(), out.decode()
    proc = await asyncio.create_subprocess_exec(
        busybox, "nslookup", f"-port={PORT}", "-type=srv", "_http._tcp.web.default.svc.cluster.local", "127.0.0.1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert "web.default.svc.cluster.local" in out.decode() and " 80 " in out.decode(), out.decode()


@pytest.mark.parametrize(("text", "expected"), [
    ("nameserver 1.1.1.1\nnameserver 8.8.8.8 # second\n", ["1.1.1.1", "8.8.8.8"]),
    ("# nameserver 9.9.9.9\nsearch x\noptions ndots:5\n", []),
    ("nameserver ::1\n", ["::1"]),
], ids=["two", "comments-only", "v6"])
def test_parse_resolv_conf(text: str, expected: list[str]) -> None:
    assert parse_resolv_conf(text) == expected




SOA = "example. 600 IN SOA ns.example. h.example. 1 7200 900 86400 {minimum}"


@pytest.mark.parametrize(("zone", "rcode", "with_soa", "ttl"), [
    ("a.example. 300 IN A 1.2.3.4\nb.example. 20 IN A 1.2.3.5", 0, False, 20),
    ("a.example. 99999 IN A 1.2.3.4", 0, False, 3600),
    ("a.example. 0 IN A 1.2.3.4", 0, False, 0),
    ("", 3, True, 15),
    ("", 0, True, 15),
    ("", 3, False, 0),
    ("", 2, True, 0),
], ids=["positive-min-ttl", "positive-capped", "zero-ttl", "nxdomain-soa-min", "nodata-soa-min", "nxdomain-no-soa",
        "servfail-never"])
def test_cache_ttl(zone: str, rcode: int, with_soa: bool, ttl: int) -> None:
    from dnslib import RR

    reply = DNSRecord.question("a.example").reply()
    reply.header.rcode = rcode
    for rr in RR.fromZone(zone) if zone else []:
        reply.add_answer(rr)
    if with_soa:
        reply.add_auth(*RR.fromZone(SOA.format(minimum=15)))
    assert cache_ttl(reply, negative_ttl=30) == ttl


def test_udp_limit() -> None:
    q = DNSRecord.question("a.example")
    assert udp_limit(q) == 512
    q.add_ar(EDNS0(udp_len=1232))
    assert udp_limit(q) == 1232
