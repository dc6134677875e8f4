"""Helpers for the admission tests: an HTTP client for an in-process API server, object builders."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from kybernetes.apiserver import admission
from kybernetes.apiserver.server import APIServer


@dataclass
class Api:
    server: APIServer
    session: aiohttp.ClientSession
    base: str

    @property
    def ctx(self) -> admission.AdmissionContext:
        assert self.server.admission.ctx is not None
        return self.server.admission.ctx

    async def req(self, method: str, path: str, body: Any = None,
                  ctype: str = "application/json") -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        async with self.session.request(method, self.base + path, data=data,
                                        headers={"Content-Type": ctype}) as r:
            text = await r.read()
            try:
                return r.status, json.loads(text)
            except ValueError:
                return r.status, text

    async def ok(self, method: str, path: str, body: Any = None, ctype: str = "application/json") -> Any:
        code, obj = await self.req(method, path, body, ctype)
        assert code in (200, 201), (code, obj)
        return obj


ApiFactory = Callable[[list[admission.Plugin]], Awaitable[Api]]


def pod(name: str, *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    cs = list(containers) or [{"name": "c", "image": "busybox"}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": cs, **spec}}


def container(name: str = "c", requests: dict[str, str] | None = None, limits: dict[str, str] | None = None,
              **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, "image": "busybox", **extra}
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    if res:
        c["resources"] = res
    return c


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
