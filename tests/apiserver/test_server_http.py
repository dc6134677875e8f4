"""The API server in-process over real HTTP: semantics that clients rely on, and bad input."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kybernetes.apiserver.server import APIServer
from kybernetes.testing.inprocess import serve_api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[APIServer, aiohttp.ClientSession, str]]:
    async with serve_api(tmp_path) as api, aiohttp.ClientSession() as session:
        yield api.server, session, api.base_url


async def req(session: aiohttp.ClientSession, method: str, url: str, body: Any = None,
              ctype: str = "application/json", raw: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data: Any = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if isinstance(data, bytes) and len(data) > 1024 * 1024:
        data = io.BytesIO(data)
    h = {"Content-Type": ctype, **(headers or {})}
    async with session.request(method, url, data=data, headers=h) as r:
        text = await r.read()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text


def cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


async def test_crud_and_conflict(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    code, obj = await req(s, "POST", url, cm("a", x="1"))
    assert code == 201 and obj["metadata"]["uid"] and int(obj["metadata"]["resourceVersion"]) > 0
    code, again = await req(s, "POST", url, cm("a"))
    assert code == 409 and again["reason"] == "AlreadyExists" and again["message"] == 'configmaps "a" already exists'
    code, got = await req(s, "GET", f"{url}/a")
    assert code == 200 and got["data"] == {"x": "1"}
    stale = dict(got, data={"x": "2"})
    code, upd = await req(s, "PUT", f"{url}/a", stale)
    assert code == 200 and upd["metadata"]["resourceVersion"] != got["metadata"]["resourceVersion"]
    code, conflict = await req(s, "PUT", f"{url}/a", dict(got, data={"x": "3"}))
    assert code == 409 and conflict["reason"] == "Conflict"
    assert conflict["message"] == ('Operation cannot be fulfilled on configmaps "a": the object has been modified; '
                                   "please apply your changes to the latest version and try again")
    code, st = await req(s, "DELETE", f"{url}/a")
    assert code == 200 and st["status"] == "Success" and st["details"]["name"] == "a"
    code, nf = await req(s, "GET", f"{url}/a")
    assert code == 404 and nf["message"] == 'configmaps "a" not found' and nf["details"] == {"name": "a", "kind": "configmaps"}


async def test_generate_name_dry_run_and_missing_namespace(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    code, obj = await req(s, "POST", url, {"metadata": {"generateName": "gen-"}, "data": {}})
    assert code == 201 and obj["metadata"]["name"].startswith("gen-") and len(obj["metadata"]["name"]) == 9
    code, _dry = await req(s, "POST", url + "?dryRun=All", cm("dry"))
    assert code == 201
    code, _ = await req(s, "GET", f"{url}/dry")
    assert code == 404
    code, nons = await req(s, "POST", f"{base}/api/v1/namespaces/nope/configmaps", cm("x"))
    assert code == 404 and nons["message"] == 'namespaces "nope" not found'


async def test_list_paging_is_consistent(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    for i in range(7):
        await req(s, "POST", url, cm(f"p{i}"))
    names: list[str] = []
    code, page = await req(s, "GET", url + "?limit=3")
    rv = page["metadata"]["resourceVersion"]
    assert page["metadata"]["remainingItemCount"] == 4
    names += [i["metadata"]["name"] for i in page["items"]]
    # a write between pages must not show up in later pages
    await req(s, "POST", url, cm("p99"))
    while page["metadata"].get("continue"):
        code, page = await req(s, "GET", url + f"?limit=3&continue={page['metadata']['continue']}")
        assert code == 200 and page["metadata"]["resourceVersion"] == rv
        names += [i["metadata"]["name"] for i in page["items"]]
    assert names == [f"p{i}" for i in range(7)]


async def test_watch_resume_and_gone(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    _, first = await req(s, "POST", url, cm("w1"))
    rv = first["metadata"]["resourceVersion"]
    await req(s, "POST", url, cm("w2"))
    await req(s, "DELETE", f"{url}/w1")
    events = []
    async with s.get(url + f"?watch=true&resourceVersion={rv}&timeoutSeconds=1") as r:
        assert r.status == 200
        async for line in r.content:
            events.append(json.loads(line))
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "w2"), ("DELETED", "w1")]
    async with s.get(url + "?watch=true&resourceVersion=0&timeoutSeconds=1&labelSelector=none%3Dmatch") as r:
        lines = [json.loads(line) async for line in r.content]
    assert lines == []


async def test_bad_input(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    code, st = await req(s, "POST", url, raw=b"{not json")
    assert code == 400 and st["kind"] == "Status" and st["reason"] == "BadRequest"
    code, st = await req(s, "POST", url, raw=b"a: [unclosed", ctype="application/yaml")
    assert code == 400
    code, st = await req(s, "POST", url, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}})
    assert code == 400
    code, st = await req(s, "POST", url, cm("Bad_Name"))
    assert code == 422 and st["reason"] == "Invalid" and st["details"]["causes"][0]["field"] == "metadata.name"
    code, st = await req(s, "GET", f"{base}/api/v1/namespaces/default/nosuchthings")
    assert code == 404 and st["reason"] == "NotFound"
    code, st = await req(s, "PUT", url, cm("x"))
    assert code == 405
    code, st = await req(s, "POST", url, raw=b"{" + b'"a":"' + b"x" * (3 * 1024 * 1024 + 10) + b'"}')
    assert code == 413
    code, st = await req(s, "POST", url, raw=b"k8s\x00\x0a\xff\xff", ctype="application/vnd.kubernetes.protobuf")
    assert code == 400
    code, st = await req(s, "POST", url, raw=b"<xml/>", ctype="application/xml")
    assert code == 415
    code, st = await req(s, "GET", url + "?labelSelector=a%20in%20(")
    assert code == 400


async def test_concurrent_updates_no_lost_write(api: Any) -> None:
    _, s, base = api
    url = f"{base}/api/v1/namespaces/default/configmaps"
    await req(s, "POST", url, cm("counter", n="0"))

    async def bump(i: int) -> None:
        code, _ = await req(s, "PATCH", f"{url}/counter", {"data": {f"k{i}": "1"}},
                            ctype="application/merge-patch+json")
        assert code == 200

    await asyncio.gather(*(bump(i) for i in range(40)))
    _, obj = await req(s, "GET", f"{url}/counter")
    assert len(obj["data"]) == 41
