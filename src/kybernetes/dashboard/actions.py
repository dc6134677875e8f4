"""The dashboard's write actions: scale, rollout restart, delete, cordon and uncordon.

Why apart from the read-only pages: each is a POST (CSRF-checked by the app's middleware) that
sends one request as the visitor, then redirects back with a one-time notice (``?done=``) so a
reload never repeats it. An API refusal is shown as the server's own status.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from kybernetes.client.errors import APIError
from kybernetes.dashboard import layout
from kybernetes.dashboard.html import url
from kybernetes.dashboard.kinds import KINDS, RESTARTED_AT, Kind, ns_query
from kybernetes.dashboard.visit import Visit, html_response, kind_of, redirect


def _back(kind: Kind, name: str, ns: str, done: str) -> web.Response:
    return redirect(url(kind.slug, name, ns=ns if kind.namespaced else None, done=done))


async def scale(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    v = Visit(request)
    name = request.match_info["name"]
    if not kind.scalable:
        raise web.HTTPNotFound()
    raw = str((await request.post()).get("replicas", ""))
    if not raw.isdigit() or int(raw) > 100000:
        return await v.error(
            APIError(
                {
                    "code": 400,
                    "reason": "BadRequest",
                    "message": f"replicas must be a whole number, not {raw!r}",
                }
            )
        )
    try:
        await v.api.request(
            "PATCH",
            kind.path(namespace=v.namespace, name=name, subresource="scale"),
            body={"spec": {"replicas": int(raw)}},
            content_type="application/merge-patch+json",
        )
    except APIError as e:
        return await v.error(e)
    return _back(kind, name, v.namespace, "scaled")


def restart_patch(now: datetime) -> dict[str, Any]:
    """What `kubectl rollout restart` sends: a pod template annotation with the time."""
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


async def restart(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    v = Visit(request)
    name = request.match_info["name"]
    if not kind.restartable:
        raise web.HTTPNotFound()
    try:
        await v.api.request(
            "PATCH",
            kind.path(namespace=v.namespace, name=name),
            body=restart_patch(datetime.now(UTC)),
            content_type="application/strategic-merge-patch+json",
        )
    except APIError as e:
        return await v.error(e)
    return _back(kind, name, v.namespace, "restarted")


async def confirm_delete(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    v = Visit(request)
    name = request.match_info["name"]
    ns = v.namespace if kind.namespaced else ""
    action = url(kind.slug, name, "delete", ns=ns or None)
    return html_response(layout.confirm_delete_page(kind.kind, name, ns, action, await v.chrome()))


async def delete(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    v = Visit(request)
    name = request.match_info["name"]
    ns = v.namespace if kind.namespaced else ""
    options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
    try:
        await v.api.request("DELETE", kind.path(namespace=ns, name=name), body=options)
    except APIError as e:
        return await v.error(e)
    return redirect(url(kind.slug, ns=ns_query(ns) if kind.namespaced else None, done="deleted"))


async def cordon(request: web.Request) -> web.StreamResponse:
    v = Visit(request)
    name = request.match_info["name"]
    on = request.match_info["verb"] == "cordon"
    try:
        await v.api.request(
            "PATCH",
            KINDS["nodes"].path(name=name),
            body={"spec": {"unschedulable": True if on else None}},
            content_type="application/merge-patch+json",
        )
    except APIError as e:
        return await v.error(e)
    return _back(KINDS["nodes"], name, "", "cordoned" if on else "uncordoned")
