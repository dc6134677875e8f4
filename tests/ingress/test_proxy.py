"""The proxy in-process: plain HTTP backends on loopback, a table built from API-shaped objects whose
EndpointSlices point at them, and the HTTP and HTTPS listeners on free loopback ports."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kybernetes.ingress import http1
from kybernetes.ingress.proxy import IngressProxy
from kybernetes.ingress.routes import build_table
from kybernetes.ingress.tls import DEFAULT_CERT_NAME, CertificateStore, self_signed, tls_entries

from .objects import OURS, ingress, rule, service, slice_

BODY_SIZE = 3 * 1024 * 1024 + 17


async def backend_app(name: str) -> web.Application:
    async def echo(request: web.Request) -> web.StreamResponse:
        if request.path == "/ws":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            async for msg in ws:
                await ws.send_str(f"{name}:{msg.data}")
            return ws
        if request.path.startswith("/upload"):
            total = 0
            async for chunk in request.content.iter_any():
                total += len(chunk)
            return web.json_response({"backend": name, "received": total})
        if request.path.startswith("/stream"):
            resp = web.StreamResponse()
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for i in range(3):
                await resp.write(f"part{i};".encode())
            await resp.write_eof()
            return resp
        return web.json_response(
            {
                "backend": name,
                "path": request.path_qs,
                "host": request.headers.get("Host"),
                "xff": request.headers.get("X-Forwarded-For"),
                "proto": request.headers.get("X-Forwarded-Proto"),
                "xhost": request.headers.get("X-Forwarded-Host"),
            }
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    return app


@dataclass
class Setup:
    proxy: IngressProxy
    http: int
    https: int
    certs: CertificateStore
    ca: dict[str, bytes]  # host -> the certificate served for it


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    runners: list[web.AppRunner] = []
    ports: dict[str, int] = {}
    for name in ("app-a", "app-b", "api", "fallback"):
        runner = web.AppRunner(await backend_app(name), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        ports[name] = runner.addresses[0][1]
    ingresses = [
        ingress(
            "web",
            rules=[
                rule("app.example.com", ("/", "Prefix", "app"), ("/api", "Prefix", "api")),
                rule("*.wild.example.com", ("/", "Prefix", "api")),
                rule("empty.example.com", ("/", "Prefix", "empty")),
            ],
            default="fallback",
        )
    ]
    ingresses[0]["spec"]["tls"] = [
        {"hosts": ["app.example.com"], "secretName": "app-tls"},
        {"hosts": ["*.wild.example.com"], "secretName": "wild-tls"},
    ]
    services = [service(n) for n in ("app", "api", "fallback", "empty")]
    slices = [
        slice_(
            "app",
            ("127.0.0.1", True),
            ports=[{"name": "", "port": ports["app-a"], "protocol": "TCP"}],
            name="app-1",
        ),
        # the second app endpoint sits on another loopback address of the same host
        slice_(
            "app",
            ("127.0.0.2", True),
            ports=[{"name": "", "port": ports["app-b"], "protocol": "TCP"}],
            name="app-2",
        ),
        slice_("api", "127.0.0.1", ports=[{"name": "", "port": ports["api"], "protocol": "TCP"}]),
        slice_("fallback", "127.0.0.1", ports=[{"name": "", "port": ports["fallback"], "protocol": "TCP"}]),
        slice_("empty", ("127.0.0.1", False)),
    ]
    # app-b listens on 127.0.0.1 only; reach it through 127.0.0.2 by listening there too
    runner_b2 = web.AppRunner(await backend_app("app-b"), access_log=None)
    await runner_b2.setup()
    await web.TCPSite(runner_b2, "127.0.0.2", ports["app-b"]).start()
    runners.append(runner_b2)
    certs = CertificateStore()
    pems = {
        "app.example.com": self_signed("app.example.com", ["app.example.com"]),
        "*.wild.example.com": self_signed("wild", ["*.wild.example.com"]),
    }
    secrets = {
        f"default/{name}": tls_secret(*pems[host])
        for name, host in (("app-tls", "app.example.com"), ("wild-tls", "*.wild.example.com"))
    }
    certs.update(tls_entries(ingresses), secrets)
    proxy = IngressProxy()
    proxy.set_table(
        build_table(ingresses=ingresses, classes=[OURS], services=services, endpointslices=slices)
    )
    http_port = (await proxy.listen(("127.0.0.1", 0)))[1]
    https_port = (await proxy.listen(("127.0.0.1", 0), ssl_context=certs.default))[1]
    try:
        yield Setup(proxy, http_port, https_port, certs, {h: p[0] for h, p in pems.items()})
    finally:
        await proxy.close()
        for r in runners:
            await r.cleanup()


def tls_secret(cert: bytes, key: bytes) -> dict[str, Any]:
    import base64

    return {
        "metadata": {"resourceVersion": "1"},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
    }


async def get(port: int, host: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}, **kw) as r,
    ):
        return r.status, (await r.json() if r.content_type == "application/json" else await r.text())


async def test_host_and_path_routing(setup: Setup) -> None:
    status, body = await get(setup.http, "app.example.com", "/api/users?q=1")
    assert status == 200 and body["backend"] == "api" and body["path"] == "/api/users?q=1"
    assert body["host"] == "app.example.com" and body["xff"] == "127.0.0.1" and body["proto"] == "http"
    assert body["xhost"] == "app.example.com"
    status, body = await get(setup.http, "x.wild.example.com", "/")
    assert status == 200 and body["backend"] == "api"


async def test_round_robin_over_ready_endpoints(setup: Setup) -> None:
    seen = [(await get(setup.http, "app.example.com", "/"))[1]["backend"] for _ in range(4)]
    assert sorted(seen) == ["app-a", "app-a", "app-b", "app-b"]


async def test_default_backend_404_503(setup: Setup) -> None:
    status, body = await get(setup.http, "unknown.org", "/x")
    assert status == 200 and body["backend"] == "fallback"
    status, text = await get(setup.http, "empty.example.com", "/")
    assert status == 503
    setup.proxy.set_table(build_table(ingresses=[], classes=[OURS], services=[], endpointslices=[]))
    status, text = await get(setup.http, "app.example.com", "/")
    assert status == 404 and "404 page not found" in text


async def test_keep_alive_streaming_and_chunked_bodies(setup: Setup) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", setup.http)
    try:
        payload = b"x" * BODY_SIZE
        writer.write(
            b"POST /upload HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: %d\r\n\r\n" % len(payload)
        )
        writer.write(payload)
        head, body = await read_response(reader, "POST")
        assert head.start[0] == "200" and b'"received": %d' % BODY_SIZE in body
        # the same client connection, now a chunked upload
        writer.write(
            b"POST /upload HTTP/1.1\r\nHost: app.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        head, body = await read_response(reader, "POST")
        assert b'"received": 11' in body
        writer.write(b"GET /stream HTTP/1.1\r\nHost: app.example.com\r\n\r\n")
        head, body = await read_response(reader, "GET")
        assert head.get("transfer-encoding") == "chunked" and body == b"part0;part1;part2;"
        writer.write(b"GET /nope HTTP/1.1\r\nHost: nobody.example.com\r\nConnection: close\r\n\r\n")
        head, body = await read_response(reader, "GET")
        assert head.start[0] == "200" and head.get("connection") == "close"  # the default backend
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader, method: str) -> tuple[http1.Head, bytes]:
    head = await http1.read_head(reader, request=False)
    assert head is not None
    framing = http1.response_framing(head, request_method=method)
    if framing[0] == "length":
        return head, await reader.readexactly(framing[1])
    if framing[0] == "chunked":
        out = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return head, out
            out += (await reader.readexactly(size + 2))[:-2]
    return head, b""


@pytest.mark.parametrize(
    ("server_name", "expected_cn"),
    [
        pytest.param("app.example.com", "app.example.com", id="exact-host"),
        pytest.param("a.wild.example.com", "wild", id="wildcard-host"),
        pytest.param("other.org", DEFAULT_CERT_NAME, id="unknown-name-default-cert"),
    ],
)
async def test_tls_sni_picks_certificate(setup: Setup, server_name: str, expected_cn: str) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", setup.https, ssl=ctx, server_hostname=server_name
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        from cryptography import x509

        cn = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        assert cn == f"CN={expected_cn}"
        writer.write(f"GET /api/x HTTP/1.1\r\nHost: {server_name}\r\n\r\n".encode())
        head, body = await read_response(reader, "GET")
        assert head.start[0] == "200" and b'"proto": "https"' in body
    finally:
        writer.close()


async def test_tls_verifies_against_the_secret_certificate(setup: Setup) -> None:
    ctx = ssl.create_default_context(cadata=setup.ca["app.example.com"].decode())  # hostname checked too
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", setup.https, ssl=ctx, server_hostname="app.example.com"
    )
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: app.example.com\r\n\r\n")
        head, body = await read_response(reader, "GET")
        assert head.start[0] == "200" and b'"backend": "app-' in body
    finally:
        writer.close()


async def test_websocket_upgrade_passes_through(setup: Setup) -> None:
    async with (
        aiohttp.ClientSession() as s,
        s.ws_connect(f"http://127.0.0.1:{setup.http}/ws", headers={"Host": "x.wild.example.com"}) as ws,
    ):
        await ws.send_str("ping")
        msg = await ws.receive(timeout=5)
        assert msg.data == "api:ping"


async def test_backend_down_is_502(setup: Setup) -> None:
    table = build_table(
        ingresses=[ingress("a", rules=[rule("down.example.com", ("/", "Prefix", "down"))])],
        classes=[OURS],
        services=[service("down")],
        endpointslices=[slice_("down", "127.0.0.1", ports=[{"name": "", "port": 1, "protocol": "TCP"}])],
    )
    setup.proxy.set_table(table)
    status, _ = await get(setup.http, "down.example.com", "/")
    assert status == 502


async def test_bad_request_line_is_400(setup: Setup) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", setup.http)
    writer.write(b"NONSENSE\r\n\r\n")
    head = await http1.read_head(reader, request=False)
    writer.close()
    assert head is not None and head.start[0] == "400"
