"""Service allocations that stay unique across API servers (apiserver/ha/allocations.py): two
allocators, or two whole API servers, on one shared store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kybernetes.apiserver.ha.allocations import (
    IP_PREFIX,
    PORT_PREFIX,
    ReservingServiceAllocator,
    requested_values,
)
from kybernetes.apiserver.registry.store import WriteOptions
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.machinery.errors import StatusError
from kybernetes.storage.memory import MemoryStorage

CIDR = "10.96.0.0/28"  # 14 addresses: random picks by two allocators collide often


def svc(name: str, *, ip: str = "", node_port: int = 0, type: str = "ClusterIP") -> dict[str, Any]:
    port: dict[str, Any] = {"port": 80, "protocol": "TCP"}
    if node_port:
        port["nodePort"] = node_port
    spec: dict[str, Any] = {"type": type, "ports": [port]}
    if ip:
        spec["clusterIP"] = ip
    return {"metadata": {"namespace": "default", "name": name}, "spec": spec}


async def _keys(storage: MemoryStorage, prefix: str) -> list[str]:
    return [kv.key.removeprefix(prefix) for kv in (await storage.list(prefix)).items]


@pytest.mark.parametrize(
    ("obj", "want"),
    [
        pytest.param(svc("a"), ([], []), id="nothing-requested"),
        pytest.param(
            svc("a", ip="10.96.0.3", node_port=30001, type="NodePort"), (["10.96.0.3"], [30001]), id="both"
        ),
        pytest.param(svc("a", ip="None"), ([], []), id="headless"),
    ],
)
def test_requested_values(obj: dict[str, Any], want: tuple[list[str], list[int]]) -> None:
    ips, ports = requested_values(obj)
    assert (sorted(set(ips)), ports) == want


async def test_two_allocators_never_hand_out_one_address_twice() -> None:
    storage = MemoryStorage()
    a, b = ReservingServiceAllocator(storage, CIDR), ReservingServiceAllocator(storage, CIDR)
    objs = [svc(f"s{i}") for i in range(14)]
    await asyncio.gather(
        *(
            alloc.before_create(None, o, False)  # type: ignore[arg-type]
            for alloc, o in zip([a, b] * 7, objs, strict=True)
        )
    )
    ips = [o["spec"]["clusterIP"] for o in objs]
    assert len(set(ips)) == 14
    assert sorted(await _keys(storage, IP_PREFIX)) == sorted(ips)
    with pytest.raises(StatusError, match="range is full"):
        await a.before_create(None, svc("full"), False)  # type: ignore[arg-type]


async def test_requested_value_taken_elsewhere_then_freed_elsewhere() -> None:
    storage = MemoryStorage()
    a, b = ReservingServiceAllocator(storage, CIDR), ReservingServiceAllocator(storage, CIDR)
    first = svc("first", ip="10.96.0.5", node_port=30005, type="NodePort")
    await a.before_create(None, first, False)  # type: ignore[arg-type]
    with pytest.raises(StatusError, match="provided IP is already allocated"):
        await b.before_create(None, svc("second", ip="10.96.0.5"), False)  # type: ignore[arg-type]
    with pytest.raises(StatusError, match="provided port is already allocated"):
        await b.before_create(None, svc("third", node_port=30005, type="NodePort"), False)  # type: ignore[arg-type]
    assert await _keys(storage, PORT_PREFIX) == ["30005"]  # the failed attempts left no keys
    await a.after_delete(None, first)  # type: ignore[arg-type]
    again = svc("again", ip="10.96.0.5", node_port=30005, type="NodePort")
    await b.before_create(None, again, False)  # type: ignore[arg-type]  # b learns the value is free again
    assert again["spec"]["clusterIP"] == "10.96.0.5"


async def test_dry_run_and_failed_create_leave_no_reservation() -> None:
    storage = MemoryStorage()
    a = ReservingServiceAllocator(storage, CIDR)
    dry = svc("dry")
    await a.before_create(None, dry, True)  # type: ignore[arg-type]
    assert await _keys(storage, IP_PREFIX) == [] and not a.ips
    failed = svc("failed")
    await a.before_create(None, failed, False)  # type: ignore[arg-type]
    await a.after_create_failed(None, failed)  # type: ignore[arg-type]
    assert await _keys(storage, IP_PREFIX) == [] and not a.ips


async def test_update_to_cluster_ip_releases_node_port() -> None:
    storage = MemoryStorage()
    a = ReservingServiceAllocator(storage, CIDR)
    old = svc("np", type="NodePort")
    await a.before_create(None, old, False)  # type: ignore[arg-type]
    assert len(await _keys(storage, PORT_PREFIX)) == 1
    new = svc("np")
    new["spec"]["clusterIP"] = old["spec"]["clusterIP"]
    await a.before_update(None, new, old, False)  # type: ignore[arg-type]
    assert await _keys(storage, PORT_PREFIX) == [] and not a.ports


async def test_repair_adds_missing_keys_and_drops_leaks_after_grace() -> None:
    storage = MemoryStorage()
    now = [0.0]
    a = ReservingServiceAllocator(storage, CIDR, leak_grace=60, clock=lambda: now[0])
    held = svc("held", ip="10.96.0.2")
    held["spec"]["clusterIPs"] = ["10.96.0.2"]
    await storage.create(IP_PREFIX + "10.96.0.9", b'{"owner": "default/crashed"}')
    await a.repair([held])
    assert await _keys(storage, IP_PREFIX) == ["10.96.0.2", "10.96.0.9"]
    assert a.ips == {"10.96.0.2", "10.96.0.9"}
    now[0] = 30.0
    await a.repair([held])
    assert "10.96.0.9" in await _keys(storage, IP_PREFIX)  # young leak: kept
    now[0] = 61.0
    await a.repair([held])
    assert await _keys(storage, IP_PREFIX) == ["10.96.0.2"] and a.ips == {"10.96.0.2"}


async def test_concurrent_creates_through_two_api_servers(tmp_path: Path) -> None:
    storage = MemoryStorage()
    servers = []
    for i in (1, 2):
        api = APIServer(
            ServerConfig(
                data_dir=tmp_path / str(i),
                anonymous_auth=True,
                advertise_address=f"10.0.0.{i}",
                service_cidr="10.96.0.0/27",
                extra={"endpoint_interval": 3600},
            ),
            storage,
        )
        await api.start()
        servers.append(api)
    try:
        opts = WriteOptions(field_manager="test")
        stores = [api.stores[("", "services")] for api in servers]
        made = await asyncio.gather(
            *(
                stores[i % 2].create(
                    {"apiVersion": "v1", "kind": "Service", **svc(f"s{i}", type="NodePort")},
                    namespace="default",
                    opts=opts,
                )
                for i in range(24)
            )
        )
        ips = [o["spec"]["clusterIP"] for o in made]
        ports = [o["spec"]["ports"][0]["nodePort"] for o in made]
        assert len(set(ips)) == 24 and "10.96.0.1" not in ips  # the kubernetes Service holds .1
        assert len(set(ports)) == 24
    finally:
        for api in servers:
            await api.stop()
