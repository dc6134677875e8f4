"""Real local servers the prober tests talk to (ports 17700-17799 are this suite's)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import grpc.aio  # type: ignore[import-untyped]
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kybernetes.kubelet.prober import grpc_health

HTTP_PORT = 17701
HTTPS_PORT = 17702
GRPC_PORT = 17710
GRPC_BARE_PORT = 17711     # a gRPC server without the health service
CLOSED_PORT = 17799        # nothing listens here


def _app(seen: list[dict[str, str]]) -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text="ok body")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status body")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response(text="late")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 50_000)

    async def redirect_same(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def redirect_other(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://localhost:{HTTP_PORT}/ok", text="moved away")

    async def redirect_loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/big", big)
    app.router.add_get("/redirect-same", redirect_same)
    app.router.add_get("/redirect-other", redirect_other)
    app.router.add_get("/loop", redirect_loop)
    return app


def _self_signed(directory: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return ctx


@asynccontextmanager
async def http_servers() -> AsyncIterator[list[dict[str, str]]]:
    """HTTP on HTTP_PORT and HTTPS (self-signed) on HTTPS_PORT; yields the headers /ok saw."""
    seen: list[dict[str, str]] = []
    runner = web.AppRunner(_app(seen))
    await runner.setup()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = _self_signed(Path(tmp))
        await web.TCPSite(runner, "127.0.0.1", HTTP_PORT).start()
        await web.TCPSite(runner, "127.0.0.1", HTTPS_PORT, ssl_context=ctx).start()
        try:
            yield seen
        finally:
            await runner.cleanup()


@asynccontextmanager
async def grpc_servers(statuses: dict[str, int]) -> AsyncIterator[dict[str, int]]:
    """A health server on GRPC_PORT answering from ``statuses`` (mutable), and a bare server."""

    async def check(service: str, context: Any) -> int:
        if service not in statuses:
            await context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
        return statuses[service]

    handler = grpc.method_handlers_generic_handler(grpc_health.SERVICE_NAME, {
        "Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=grpc_health.decode_request,
            response_serializer=grpc_health.encode_response)})
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{GRPC_PORT}")
    bare = grpc.aio.server()
    bare.add_insecure_port(f"127.0.0.1:{GRPC_BARE_PORT}")
    await server.start()
    await bare.start()
    try:
        yield statuses
    finally:
        await server.stop(None)
        await bare.stop(None)
