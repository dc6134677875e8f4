"""Randomized bad input: broken bodies, paths and query strings never crash the server, always
get a Status with a 4xx code, and never change stored objects they were not meant to."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.storage.memory import MemoryStorage

PATHS = [
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/namespaces/default/configmaps/keep",
    "/api/v1/namespaces/default/pods",
    "/apis/apps/v1/namespaces/default/deployments",
    "/api/v1/namespaces",
    "/api/v1/nodes/n1/status",
    "/apis/batch/v1/namespaces/default/jobs/j",
    "/apis/apps/v1/namespaces/default/deployments/d/scale",
    "/apis/apps/v1/namespaces/default/deployments/d",
    "/apis/apps/v1/namespaces/default/deployments/d/status",
    "/api/v1/namespaces/default/pods/p",
    "/api/v1/namespaces/default/pods/p/binding",
    "/api/v1/namespaces/default/pods/p/status",
    "/api/v1/nodes/n1",
]
CTYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf",
          "application/merge-patch+json", "application/strategic-merge-patch+json",
          "application/json-patch+json", "application/apply-patch+yaml", "text/plain", ""]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda k, v: json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": k, "data": v}).encode(),
              json_values, json_values),
    st.binary(max_size=100).map(lambda b: b"k8s\x00" + b),
)
paths = st.one_of(st.sampled_from(PATHS),
                  st.text(alphabet="/abcdefgpsv1-_.%", max_size=60).map(lambda p: "/" + p),
                  st.sampled_from(PATHS).flatmap(lambda p: st.text(alphabet="abc/-", max_size=10).map(lambda s: p + "/" + s)))
queries = st.dictionaries(
    st.sampled_from(["labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
                     "resourceVersionMatch", "watch", "timeoutSeconds", "dryRun", "fieldManager",
                     "gracePeriodSeconds", "propagationPolicy", "includeObject", "fieldValidation"]),
    st.text(max_size=20), max_size=3)


def test_random_requests_leave_the_server_healthy(tmp_path: Path) -> None:
    async def scenario() -> None:
        server = APIServer(ServerConfig(data_dir=tmp_path, anonymous_auth=True, advertise_address="127.0.0.1"),
                           MemoryStorage())
        await server.start()
        ts = TestServer(server.app())
        await ts.start_server()
        base = str(ts.make_url("")).rstrip("/")
        session = aiohttp.ClientSession()
        # the sentinel lives in a namespace no generated path addresses
        async with session.post(f"{base}/api/v1/namespaces", json={"metadata": {"name": "sentinel"}}) as r:
            assert r.status == 201
        keep = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {"a": "1"}}
        async with session.post(f"{base}/api/v1/namespaces/sentinel/configmaps", json=keep) as r:
            assert r.status == 201
            kept = await r.json()
        # objects at the fuzzed paths, so updates, patches and subresources reach deep code
        seeds = [
            ("/apis/apps/v1/namespaces/default/deployments", {"metadata": {"name": "d"}, "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
            ("/apis/batch/v1/namespaces/default/jobs", {"metadata": {"name": "j"}, "spec": {
                "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}),
            ("/api/v1/nodes", {"metadata": {"name": "n1"}}),
            ("/api/v1/namespaces/default/pods", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
        ]
        for path, body in seeds:
            async with session.post(base + path, json=body) as r:
                assert r.status == 201, await r.text()
        results: list[tuple[int, Any]] = []

        @settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]), path=paths, query=queries,
               body=bodies, ctype=st.sampled_from(CTYPES))
        def one(method: str, path: str, query: dict[str, str], body: bytes, ctype: str) -> None:
            if query.get("watch"):
                query["timeoutSeconds"] = "0"

            async def call() -> tuple[int, bytes, str]:
                headers = {"Content-Type": ctype} if ctype else {}
                async with session.request(method, base + path, params=query, data=body, headers=headers,
                                           timeout=aiohttp.ClientTimeout(total=10)) as r:
                    return r.status, await r.read(), r.headers.get("Content-Type", "")

            status, raw, rtype = asyncio.run_coroutine_threadsafe(call(), loop).result(20)
            assert status < 500, (method, path, query, body, raw)
            if status >= 400 and rtype.startswith("application/json"):
                st_obj = json.loads(raw)
                assert st_obj["kind"] == "Status" and st_obj["code"] == status
            results.append((status, path))

        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, one)
        async with session.get(f"{base}/api/v1/namespaces/sentinel/configmaps/keep") as r:
            assert r.status == 200
            assert (await r.json()) == kept
        async with session.get(f"{base}/readyz") as r:
            assert r.status == 200
        assert len(results) >= 500
        await session.close()
        await ts.close()
        await server.stop()

    asyncio.run(scenario())
