"""A real `kyb server` per test module (on this suite's ports) and an APIClient per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient
from kybernetes.testing.cluster import KybServer

SERVER_PORT = 18702
STATS_PORT = 18703


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), port=SERVER_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(kyb: KybServer) -> AsyncIterator[APIClient]:
    async with APIClient(load_kubeconfig(kyb.kubeconfig), user_agent="kyb-sim-tests/0.1") as c:
        yield c
