"""The API server in the test's own event loop, over real HTTP on a free loopback port.

Why: integration tests (ARCHITECTURE §9) drive the real handlers, filters and registries through
HTTP without a subprocess. Starting the server, its aiohttp test server and tearing both down in
the right order was written out in many test modules; this is the one copy.

    async with serve_api(tmp_path) as api:
        ... api.base_url, api.server ...

Defaults: in-memory storage, requests without credentials accepted (`anonymous_auth`), and
ServerConfig's own authorization mode for in-process servers (AlwaysAllow).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.storage.memory import MemoryStorage


@dataclass(frozen=True, slots=True)
class InProcessAPI:
    server: APIServer
    base_url: str  # "http://127.0.0.1:PORT", no trailing slash


@contextlib.asynccontextmanager
async def serve_api(
    data_dir: Path, *, anonymous_auth: bool = True, **server_options: Any
) -> AsyncIterator[InProcessAPI]:
    """Start an `APIServer` on `data_dir` (extra keyword arguments go to `APIServer`)."""
    storage = server_options.pop("storage", None) or MemoryStorage()
    config = ServerConfig(data_dir=data_dir, anonymous_auth=anonymous_auth, advertise_address="127.0.0.1")
    server = APIServer(config, storage, **server_options)
    await server.start()
    ts = TestServer(server.app())
    try:
        await ts.start_server()
        yield InProcessAPI(server, str(ts.make_url("")).rstrip("/"))
    finally:
        await ts.close()
        await server.stop()
