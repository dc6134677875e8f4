"""A tiny HTTP server that serves only discovery, /version and OpenAPI from the real
functions, so tests can point real kubectl at it.

It records every request (method, path, query, body) and keeps a toy object store: a POST
stores its body under ``<path>/<metadata.name>`` and answers 201 with it, a GET of a stored path
returns it, a PATCH is answered with the stored object unchanged. That is enough to see what
kubectl decided from the documents (``fieldValidation=Strict``, a strategic merge patch).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from aiohttp import web

from kybernetes.api.schema import SchemaRegistry
from kybernetes.apiserver import discovery
from kybernetes.apiserver.openapi import OpenAPIBuilder

KUBECTL = "/usr/bin/kubectl"
KUBECTL_1_27 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    accept: str
    body: bytes = b""
    content_type: str = ""


@dataclass
class DiscoveryApp:
    base_url: str
    home: Path
    requests: list[Recorded] = field(default_factory=list)

    async def kubectl(self, *args: str, binary: str = KUBECTL, timeout: float = 60) -> tuple[int, str, str]:
        env = {
            "HOME": str(self.home),
            "KUBECONFIG": str(self.home / "kubeconfig"),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        proc = await asyncio.create_subprocess_exec(
            binary, *args, env=env, cwd=self.home,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def _json(body: object, content_type: str = "application/json") -> web.Response:
    return web.Response(body=orjson.dumps(body), headers={"Content-Type": content_type})


def build_app(
    builder: OpenAPIBuilder, recorded: list[Recorded], address: str, *, aggregated: bool = True,
) -> web.Application:
    objects: dict[str, bytes] = {}

    async def record(request: web.Request) -> None:
        body = await request.read() if request.can_read_body else b""
        recorded.append(Recorded(request.method, request.path, dict(request.query),
                                 request.headers.get("Accept", ""), body, request.headers.get("Content-Type", "")))

    async def version(request: web.Request) -> web.Response:
        await record(request)
        return _json(discovery.version_info())

    async def root(request: web.Request) -> web.Response:
        await record(request)
        api = "api" if request.path == "/api" else "apis"
        wanted = discovery.negotiate_discovery(request.headers.get("Accept", "")) if aggregated else None
        if wanted is not None:
            body = discovery.aggregated_discovery_bytes(api, wanted)
            return web.Response(body=body, headers={
                "Content-Type": discovery.AGGREGATED_CONTENT_TYPE[wanted],
                "ETag": discovery.discovery_etag(body),
            })
        return _json(discovery.api_versions(address) if api == "api" else discovery.api_group_list())

    async def group(request: web.Request) -> web.Response:
        await record(request)
        doc = discovery.api_group(request.match_info["group"])
        return _json(doc) if doc else web.Response(status=404)

    async def resource_list(request: web.Request) -> web.Response:
        await record(request)
        doc = discovery.api_resource_list(request.match_info.get("group", ""), request.match_info["version"])
        return _json(doc) if doc else web.Response(status=404)

    async def v3_index(request: web.Request) -> web.Response:
        await record(request)
        return _json(builder.v3_index())

    async def v3_doc(request: web.Request) -> web.Response:
        await record(request)
        gv = request.match_info["gv"]
        body = builder.v3_bytes(gv)
        if body is None:
            return web.Response(status=404)
        headers = {"Content-Type": "application/json"}
        if request.query.get("hash") == builder.v3_hash(gv):
            headers["Cache-Control"] = "public, immutable"
        return web.Response(body=body, headers=headers)

    async def v2(request: web.Request) -> web.Response:
        await record(request)
        body, content_type = builder.v2_response(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def create(request: web.Request) -> web.Response:
        await record(request)
        body = recorded[-1].body
        name = orjson.loads(body).get("metadata", {}).get("name", "")
        objects[f"{request.path}/{name}"] = body
        return web.Response(status=201, body=body, headers={"Content-Type": "application/json"})

    async def other(request: web.Request) -> web.Response:
        await record(request)
        stored = objects.get(request.path)
        if stored is not None and request.method in ("GET", "PATCH"):
            return web.Response(body=stored, headers={"Content-Type": "application/json"})
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": "not found", "reason": "NotFound", "code": 404}
        return web.Response(status=404, body=orjson.dumps(status), headers={"Content-Type": "application/json"})

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/api", root)
    app.router.add_get("/apis", root)
    app.router.add_get("/api/{version}", resource_list)
    app.router.add_get("/apis/{group}", group)
    app.router.add_get("/apis/{group}/{version}", resource_list)
    app.router.add_get("/openapi/v3", v3_index)
    app.router.add_get("/openapi/v3/{gv:.+}", v3_doc)
    app.router.add_get("/openapi/v2", v2)
    app.router.add_post("/{tail:.+}", create)
    app.router.add_route("*", "/{tail:.*}", other)
    return app


@asynccontextmanager
async def serve(registry: SchemaRegistry, port: int, *, aggregated: bool = True) -> AsyncIterator[DiscoveryApp]:
    """Serve on 127.0.0.1:`port` with a fresh HOME holding a kubeconfig for it; with
    `aggregated` False only the legacy discovery documents are served."""
    home = Path(tempfile.mkdtemp(prefix="kyb-discovery-"))
    base_url = f"http://127.0.0.1:{port}"
    (home / "kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: t\n  cluster:\n    server: {base_url}\n"
        "users:\n- name: u\n  user: {}\n"
        "contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n    namespace: default\n"
        "current-context: t\n"
    )
    recorded: list[Recorded] = []
    runner = web.AppRunner(build_app(OpenAPIBuilder(registry), recorded, f"127.0.0.1:{port}", aggregated=aggregated))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield DiscoveryApp(base_url, home, recorded)
    finally:
        await runner.cleanup()
        shutil.rmtree(home, ignore_errors=True)
