"""An in-process API server with chosen admission plugins, driven over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from admission_helpers import Api, ApiFactory
from aiohttp.test_utils import TestServer

from kybernetes.apiserver import admission
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.storage.memory import MemoryStorage


@pytest.fixture
async def make_api(tmp_path: Path) -> AsyncIterator[ApiFactory]:
    opened: list[tuple[APIServer, TestServer, aiohttp.ClientSession]] = []

    async def factory(plugins: list[admission.Plugin]) -> Api:
        server = APIServer(ServerConfig(data_dir=tmp_path, anonymous_auth=True, advertise_address="127.0.0.1"),
                           MemoryStorage(), admission_plugins=plugins)
        await server.start()
        ts = TestServer(server.app())
        await ts.start_server()
        session = aiohttp.ClientSession()
        opened.append((server, ts, session))
        return Api(server, session, str(ts.make_url("")).rstrip("/"))

    try:
        yield factory
    finally:
        for server, ts, session in opened:
            await session.close()
            await ts.close()
            await server.stop()
