"""The lease endpoint reconciler (apiserver/ha/endpoints.py): pure parts as tables, then two API
servers in one process on one shared store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.apiserver.ha.endpoints import (
    PREFIX,
    Address,
    LeaseEndpointReconciler,
    _Seen,
    address_of,
    endpoint_slices,
    endpoints_subsets,
    live_records,
)
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.storage.memory import MemoryStorage


def test_subsets_group_by_port_and_sort_addresses() -> None:
    addrs = [Address("10.0.0.10", 6443), Address("10.0.0.9", 6443), Address("10.0.0.5", 7443)]
    assert endpoints_subsets(addrs) == [
        {
            "addresses": [{"ip": "10.0.0.9"}, {"ip": "10.0.0.10"}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        },
        {"addresses": [{"ip": "10.0.0.5"}], "ports": [{"name": "https", "port": 7443, "protocol": "TCP"}]},
    ]
    slices = endpoint_slices(addrs)
    assert sorted(slices) == ["kubernetes", "kubernetes-7443"]
    assert [e["addresses"] for e in slices["kubernetes"]["endpoints"]] == [["10.0.0.9"], ["10.0.0.10"]]
    assert endpoint_slices([]) == {}


@pytest.mark.parametrize(
    ("key", "want"),
    [
        pytest.param(PREFIX + "10.1.2.3:6443", Address("10.1.2.3", 6443), id="v4"),
        pytest.param(PREFIX + "fd00::1:6443", Address("fd00::1", 6443), id="v6"),
        pytest.param(PREFIX + "nonsense", None, id="garbage"),
    ],
)
def test_address_of(key: str, want: Address | None) -> None:
    assert address_of(key) == want


@pytest.mark.parametrize(
    ("seen", "records", "now", "live", "expired"),
    [
        pytest.param({}, {"a": 5}, 100.0, ["a"], [], id="first-sight-is-live"),
        pytest.param({"a": _Seen(5, 80.0)}, {"a": 5}, 100.0, [], ["a"], id="unchanged-past-ttl"),
        pytest.param({"a": _Seen(5, 90.0)}, {"a": 5}, 100.0, ["a"], [], id="unchanged-within-ttl"),
        pytest.param({"a": _Seen(5, 10.0)}, {"a": 6}, 100.0, ["a"], [], id="renewed"),
        pytest.param({"gone": _Seen(1, 0.0)}, {}, 100.0, [], [], id="deleted-forgotten"),
    ],
)
def test_live_records(
    seen: dict[str, _Seen], records: dict[str, int], now: float, live: list[str], expired: list[str]
) -> None:
    assert live_records(records, seen, now=now, ttl=15.0) == (live, expired)
    assert set(seen) == set(records)


async def _server(tmp_path: Path, storage: MemoryStorage, ip: str) -> APIServer:
    api = APIServer(
        ServerConfig(
            data_dir=tmp_path / ip,
            anonymous_auth=True,
            advertise_address=ip,
            port=6443,
            extra={"endpoint_interval": 3600},
        ),
        storage,
    )
    await api.start()
    return api


def _ips(api: APIServer) -> list[str]:
    entry = api.cache.get("/registry/endpoints/default/kubernetes")
    assert entry is not None
    return [a["ip"] for s in entry.obj.get("subsets") or [] for a in s["addresses"]]


def _slice_ips(api: APIServer) -> list[Any]:
    entry = api.cache.get("/registry/endpointslices/default/kubernetes")
    return [e["addresses"][0] for e in entry.obj["endpoints"]] if entry else []


async def test_two_servers_both_listed_clean_stop_removes_one(tmp_path: Path) -> None:
    storage = MemoryStorage()
    a = await _server(tmp_path, storage, "10.0.0.1")
    b = await _server(tmp_path, storage, "10.0.0.2")
    try:
        await a.endpoint_reconciler.reconcile()
        await a.cache.wait_fresh()
        await b.cache.wait_fresh()
        assert _ips(a) == _ips(b) == ["10.0.0.1", "10.0.0.2"]
        assert _slice_ips(b) == ["10.0.0.1", "10.0.0.2"]
        await b.stop()
        await a.cache.wait_fresh()
        assert _ips(a) == ["10.0.0.1"] and _slice_ips(a) == ["10.0.0.1"]
        assert [kv.key for kv in (await storage.list(PREFIX)).items] == [PREFIX + "10.0.0.1:6443"]
    finally:
        await a.stop()


async def test_a_server_that_stops_renewing_expires(tmp_path: Path) -> None:
    storage = MemoryStorage()
    a = await _server(tmp_path, storage, "10.0.0.1")
    try:
        # a server that died without cleaning up left its record behind
        dead = LeaseEndpointReconciler(storage, a.stores, Address("10.0.0.9", 6443))
        await dead.reconcile()
        now = [0.0]
        watcher = LeaseEndpointReconciler(
            storage, a.stores, Address("10.0.0.1", 6443), ttl=15, clock=lambda: now[0]
        )
        assert [x.ip for x in await watcher.reconcile()] == ["10.0.0.1", "10.0.0.9"]
        now[0] = 10.0
        assert [x.ip for x in await watcher.reconcile()] == ["10.0.0.1", "10.0.0.9"]
        now[0] = 16.0
        assert [x.ip for x in await watcher.reconcile()] == ["10.0.0.1"]
        await a.cache.wait_fresh()
        assert _ips(a) == ["10.0.0.1"]
        assert await storage.get(PREFIX + "10.0.0.9:6443") is None
    finally:
        await a.stop()
