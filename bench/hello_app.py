"""The baseline for cached-GET throughput: the smallest aiohttp app that serves a fixed JSON body.

Usage: `python bench/hello_app.py PORT BODY_FILE [CERT KEY CA]`. With CERT/KEY/CA it serves HTTPS
and, like the API server, requires a client certificate signed by CA; without, plain HTTP. The body
is served as stored bytes (no routing beyond one path, no JSON encoding, no auth), which is the
ceiling a Python aiohttp server reaches on this machine. Prints "ready" once listening.
"""

from __future__ import annotations

import asyncio
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web


async def main(port: int, body: bytes, tls: tuple[str, str, str] | None) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    ctx: ssl.SSLContext | None = None
    if tls is not None:
        cert, key, ca = tls
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=ca)
        ctx.load_cert_chain(cert, key)
        ctx.verify_mode = ssl.CERT_REQUIRED
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, ssl_context=ctx, backlog=1024, reuse_address=True)
    await site.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    args = sys.argv[1:]
    tls_args = (args[2], args[3], args[4]) if len(args) >= 5 else None
    asyncio.run(main(int(args[0]), Path(args[1]).read_bytes(), tls_args))
