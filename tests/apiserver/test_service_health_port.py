"""spec.healthCheckNodePort: allocated from the node-port range for LoadBalancer Services with
externalTrafficPolicy Local, kept while needed, released and cleared when not (the allocator
directly, then through the API server over HTTP)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from kybernetes.apiserver.registry.services import ServiceAllocator, needs_health_check
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.machinery.errors import StatusError
from kybernetes.storage.memory import MemoryStorage


def svc(type: str = "LoadBalancer", etp: str | None = "Local", hc: int = 0, node_port: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": type, "ports": [{"port": 80, "protocol": "TCP"}]}
    if etp:
        spec["externalTrafficPolicy"] = etp
    if hc:
        spec["healthCheckNodePort"] = hc
    if node_port:
        spec["ports"][0]["nodePort"] = node_port
    return {"metadata": {"namespace": "default", "name": "web"}, "spec": spec}


@pytest.mark.parametrize(("spec", "needed"), [
    pytest.param({"type": "LoadBalancer", "externalTrafficPolicy": "Local"}, True, id="lb-local"),
    pytest.param({"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"}, False, id="lb-cluster"),
    pytest.param({"type": "NodePort", "externalTrafficPolicy": "Local"}, False, id="nodeport-local"),
    pytest.param({"type": "ClusterIP"}, False, id="clusterip"),
])
def test_needs_health_check(spec: dict[str, Any], needed: bool) -> None:
    assert needs_health_check(spec) is needed


async def test_allocated_from_the_node_port_range() -> None:
    alloc = ServiceAllocator()
    obj = svc()
    await alloc.before_create(None, obj, False)  # type: ignore[arg-type]  # the store is not used
    hc = obj["spec"]["healthCheckNodePort"]
    assert 30000 <= hc <= 32767 and hc != obj["spec"]["ports"][0]["nodePort"]
    assert hc in alloc.ports
    await alloc.after_delete(None, obj)  # type: ignore[arg-type]
    assert not alloc.ports


async def test_requested_port_reserved_and_conflicts_are_internal_errors() -> None:
    alloc = ServiceAllocator()
    obj = svc(hc=31500)
    await alloc.before_create(None, obj, False)  # type: ignore[arg-type]
    assert obj["spec"]["healthCheckNodePort"] == 31500 and 31500 in alloc.ports
    with pytest.raises(StatusError) as taken:
        await alloc.before_create(None, svc(hc=31500), False)  # type: ignore[arg-type]
    assert taken.value.code == 500
    assert "failed to allocate requested HealthCheck NodePort 31500: provided port is already allocated" in \
        taken.value.message
    with pytest.raises(StatusError) as out_of_range:
        await alloc.before_create(None, svc(hc=80), False)  # type: ignore[arg-type]
    assert out_of_range.value.code == 500 and "not in the valid range" in out_of_range.value.message
    # nothing the failed creates took stays allocated (their node ports and cluster IPs included)
    assert alloc.ports == {31500, obj["spec"]["ports"][0]["nodePort"]}
    assert len(alloc.ips) == 1


async def test_dry_run_takes_nothing() -> None:
    alloc = ServiceAllocator()
    obj = svc()
    await alloc.before_create(None, obj, True)  # type: ignore[arg-type]
    assert obj["spec"]["healthCheckNodePort"] and not alloc.ports and not alloc.ips


@pytest.mark.parametrize(("spec", "message"), [
    pytest.param({"type": "LoadBalancer", "externalTrafficPolicy": "Cluster"}, "can only be set", id="lb-cluster"),
    pytest.param({"type": "NodePort", "externalTrafficPolicy": "Local"}, "can only be set", id="nodeport-local"),
])
async def test_set_where_not_needed_is_invalid(spec: dict[str, Any], message: str) -> None:
    alloc = ServiceAllocator()
    obj = svc(spec["type"], spec["externalTrafficPolicy"], hc=31000)
    with pytest.raises(StatusError) as err:
        await alloc.before_create(None, obj, False)  # type: ignore[arg-type]
    assert err.value.code == 422 and message in err.value.message
    assert not alloc.ports and not alloc.ips


async def test_update_transitions() -> None:
    alloc = ServiceAllocator()
    old = svc()
    await alloc.before_create(None, old, False)  # type: ignore[arg-type]
    hc = old["spec"]["healthCheckNodePort"]

    same = copy.deepcopy(old)  # kept as is
    await alloc.before_update(None, same, old, False)  # type: ignore[arg-type]
    assert same["spec"]["healthCheckNodePort"] == hc

    changed = copy.deepcopy(old)
    changed["spec"]["healthCheckNodePort"] = 31999 if hc != 31999 else 31998
    with pytest.raises(StatusError) as err:
        await alloc.before_update(None, changed, old, False)  # type: ignore[arg-type]
    assert err.value.code == 422 and "cannot change healthCheckNodePort" in err.value.message

    to_cluster = copy.deepcopy(old)  # policy Cluster: the left-over port is dropped and released
    to_cluster["spec"]["externalTrafficPolicy"] = "Cluster"
    await alloc.before_update(None, to_cluster, old, False)  # type: ignore[arg-type]
    assert "healthCheckNodePort" not in to_cluster["spec"] and hc not in alloc.ports

    back = copy.deepcopy(to_cluster)  # Local again: a fresh port
    back["spec"]["externalTrafficPolicy"] = "Local"
    await alloc.before_update(None, back, to_cluster, False)  # type: ignore[arg-type]
    assert back["spec"]["healthCheckNodePort"] in alloc.ports


async def test_rebuild_counts_health_ports() -> None:
    alloc = ServiceAllocator()
    alloc.rebuild([{"spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "clusterIP": "10.43.0.9",
                             "healthCheckNodePort": 30555, "ports": [{"port": 80, "nodePort": 30556}]}}])
    assert alloc.ports == {30555, 30556}


# --- through the API server --------------------------------------------------------------------

@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    server = APIServer(ServerConfig(data_dir=tmp_path, anonymous_auth=True, advertise_address="127.0.0.1"),
                       MemoryStorage())
    await server.start()
    ts = TestServer(server.app())
    await ts.start_server()
    session = aiohttp.ClientSession()
    try:
        yield session, str(ts.make_url("")).rstrip("/") + "/api/v1/namespaces/default/services"
    finally:
        await session.close()
        await ts.close()
        await server.stop()


async def call(s: aiohttp.ClientSession, method: str, url: str, body: Any = None,
               ctype: str = "application/json") -> tuple[int, Any]:
    async with s.request(method, url, data=json.dumps(body) if body is not None else None,
                         headers={"Content-Type": ctype}) as r:
        return r.status, json.loads(await r.read())


async def test_api_allocates_keeps_and_clears(api: tuple[aiohttp.ClientSession, str]) -> None:
    s, url = api
    code, created = await call(s, "POST", url, {"apiVersion": "v1", "kind": "Service", **svc()})
    assert code == 201, created
    hc = created["spec"]["healthCheckNodePort"]
    assert 30000 <= hc <= 32767
    # an apply-style update without the field keeps it
    body = copy.deepcopy(created)
    del body["spec"]["healthCheckNodePort"]
    code, kept = await call(s, "PUT", f"{url}/web", body)
    assert code == 200 and kept["spec"]["healthCheckNodePort"] == hc
    # another Service cannot ask for it
    other = svc(hc=hc)
    other["metadata"]["name"] = "other"
    code, status = await call(s, "POST", url, {"apiVersion": "v1", "kind": "Service", **other})
    assert code == 500 and "already allocated" in status["message"]
    # policy Cluster: dropped, and free for the other Service
    code, cluster = await call(s, "PATCH", f"{url}/web", {"spec": {"externalTrafficPolicy": "Cluster"}},
                               "application/merge-patch+json")
    assert code == 200 and "healthCheckNodePort" not in cluster["spec"], cluster
    code, created_other = await call(s, "POST", url, {"apiVersion": "v1", "kind": "Service", **other})
    assert code == 201 and created_other["spec"]["healthCheckNodePort"] == hc
    # a ClusterIP Service may not carry one
    code, status = await call(s, "POST", url, {"apiVersion": "v1", "kind": "Service",
                                               "metadata": {"name": "plain"},
                                               "spec": {"ports": [{"port": 80}], "healthCheckNodePort": 31111}})
    assert code == 422 and status["details"]["causes"][0]["field"] == "spec.healthCheckNodePort"
