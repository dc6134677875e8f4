"""A real `kyb server` per test module, and an APIClient for it per test."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.testing.cluster import KybServer

_names = itertools.count()
NAMESPACES = resource("v1", "namespaces")


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    # The client is tested against the API alone: no scheduler or control loops racing the tests'
    # own writes or adding objects (kube-root-ca.crt) to their namespaces.
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), extra_args=["--disable", "scheduler,controllers"])
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(kyb: KybServer) -> AsyncIterator[APIClient]:
    async with APIClient(load_kubeconfig(kyb.kubeconfig), user_agent="kyb-client-tests/0.1") as c:
        yield c


@pytest.fixture
async def ns(client: APIClient) -> str:
    """A fresh namespace for one test."""
    name = f"t{next(_names)}"
    await client.create(NAMESPACES, {"metadata": {"name": name}})
    return name
