"""SIGKILL `kyb server` in the middle of a write storm: every write the API acknowledged is there
after restart, and the store is consistent."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import aiohttp
import pytest

from kybernetes.testing.cluster import KybServer, admin_ssl_context

pytestmark = pytest.mark.e2e


async def storm(server: KybServer, acked: dict[str, str], stop_after: int, killed: threading.Event) -> None:
    ctx = admin_ssl_context(server.kubeconfig)
    url = f"{server.url}/api/v1/namespaces/default/configmaps"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx, limit=64)) as session:
        counter = iter(range(1_000_000))

        async def writer() -> None:
            while not killed.is_set():
                i = next(counter)
                body = {"metadata": {"name": f"w{i}"}, "data": {"i": str(i)}}
                try:
                    async with session.post(url, json=body) as r:
                        if r.status == 201:
                            acked[f"w{i}"] = (await r.json())["metadata"]["resourceVersion"]
                except (aiohttp.ClientError, OSError):
                    return
                if len(acked) >= stop_after and not killed.is_set():
                    killed.set()
                    server.kill()

        await asyncio.gather(*(writer() for _ in range(32)))


@pytest.mark.parametrize("stop_after", [200, 800])
def test_acknowledged_writes_survive_sigkill(tmp_path: Path, stop_after: int) -> None:
    server = KybServer(tmp_path / "data")
    server.start()
    acked: dict[str, str] = {}
    killed = threading.Event()
    try:
        asyncio.run(storm(server, acked, stop_after, killed))
    finally:
        server.stop()
    assert len(acked) >= stop_after
    server.start()
    try:
        listed = json.loads(server.kubectl("get", "configmaps", "-o", "json").stdout)["items"]
        present = {i["metadata"]["name"]: i for i in listed}
        missing = [name for name in acked if name not in present]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:10]}"
        for name, rv in acked.items():
            assert present[name]["metadata"]["resourceVersion"] == rv
            assert present[name]["data"] == {"i": name[1:]}
        server.kubectl("create", "configmap", "after-crash")
    finally:
        server.stop()
