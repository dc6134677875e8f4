"""The dashboard's pod log views: the page, and the plain text it polls while following.

Why apart: the text endpoint is fetched by the page's script and answers text/plain (also for
errors), not a page; both read at most `MAX_TAIL` lines through the pod's ``log`` subresource.
"""

from __future__ import annotations

from aiohttp import web

from kybernetes.client.errors import APIError
from kybernetes.dashboard import detail
from kybernetes.dashboard.kinds import KINDS
from kybernetes.dashboard.visit import Visit, unavailable

DEFAULT_TAIL = 200
MAX_TAIL = 5000


def _tail(request: web.Request) -> int:
    raw = request.query.get("tail", "")
    return min(int(raw), MAX_TAIL) if raw.isdigit() and int(raw) > 0 else DEFAULT_TAIL


async def _log_text(v: Visit, name: str, container: str, tail: int) -> str:
    params = {"tailLines": str(tail)}
    if container:
        params["container"] = container
    text = await v.api.request(
        "GET",
        KINDS["pods"].path(namespace=v.namespace, name=name, subresource="log"),
        params=params,
        accept="text/plain, */*",
    )
    return "" if text is None else text if isinstance(text, str) else str(text)


async def logs(request: web.Request) -> web.StreamResponse:
    v = Visit(request)
    name = request.match_info["name"]
    try:
        pod = await v.api.request("GET", KINDS["pods"].path(namespace=v.namespace, name=name))
    except APIError as e:
        return await v.error(e)
    spec = pod.get("spec") or {}
    containers = [str(c.get("name")) for c in spec.get("containers") or []]
    container = request.query.get("container") or (containers[0] if containers else "")
    tail = _tail(request)
    text, error = "", ""
    try:
        text = await _log_text(v, name, container, tail)
    except (APIError, OSError, TimeoutError) as e:
        error = unavailable(e)
    follow = request.query.get("follow") == "1"
    body = detail.logs_body(pod, container=container, tail=tail, text=text, error=error, follow=follow)
    return await v.page(f"Logs of {name}", body)


async def logs_text(request: web.Request) -> web.StreamResponse:
    v = Visit(request)
    try:
        text = await _log_text(
            v, request.match_info["name"], request.query.get("container", ""), _tail(request)
        )
        status = 200
    except (APIError, OSError, TimeoutError) as e:
        text, status = unavailable(e), e.code if isinstance(e, APIError) and e.code >= 400 else 502
    return web.Response(text=text, status=status, content_type="text/plain", charset="utf-8")
