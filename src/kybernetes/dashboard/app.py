"""The dashboard's aiohttp application: routes, session checks and the read-only pages.

Why: handlers only fetch through the user's `UserAPI`, call a pure renderer and answer; every
API failure becomes a page with the server's own message and code (a forbidden list is the user's
403, never a crash). Routes (``ns`` is a query parameter: absent = "default", ``_all`` = all):

  GET  /                          overview
  GET  /login   POST /login   POST /logout
  GET  /{kind}                    list (server-printed Table)
  GET  /{kind}/{name}             detail: summary, conditions, pods, events, YAML, actions
  POST /{kind}/{name}/scale       replicas through the scale subresource
  POST /{kind}/{name}/restart     the `kubectl rollout restart` annotation
  GET|POST /{kind}/{name}/delete  confirmation, then delete (background propagation)
  POST /nodes/{name}/cordon|uncordon
  GET  /pods/{name}/logs          logs page; /pods/{name}/logs.txt is the text the page polls

The request context lives in visit.py, the write actions in actions.py, the log views in logs.py.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from kybernetes.client.errors import APIError
from kybernetes.dashboard import actions, detail, layout, logs, pages, security
from kybernetes.dashboard.api import Backend
from kybernetes.dashboard.kinds import KINDS, WORKLOADS, Kind
from kybernetes.dashboard.visit import (
    BACKEND,
    NONCE,
    SECRET,
    Visit,
    html_response,
    kind_of,
    redirect,
    try_section,
    unavailable,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = ("/login", "/static/")


# --- middleware ----------------------------------------------------------------------------------------
@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Security headers, the CSRF nonce cookie, CSRF checks on POST and the login requirement."""
    nonce = request.cookies.get(security.NONCE_COOKIE, "")
    fresh = not nonce
    request[NONCE] = nonce or security.new_nonce()
    try:
        resp = await _guarded(request, handler)
    except web.HTTPException as e:  # 404s of unknown pages: answered like the others, with headers
        resp = web.Response(status=e.status, text=e.text or e.reason, content_type="text/plain")
    resp.headers.update(security.SECURITY_HEADERS)
    if fresh:
        resp.set_cookie(security.NONCE_COOKIE, request[NONCE], httponly=True, samesite="Strict", path="/")
    return resp


async def _guarded(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.app[BACKEND].admin_mode and not security.host_is_address(request.host):
        return html_response(
            layout.error_page(
                {
                    "code": 403,
                    "reason": "Forbidden",
                    "message": "in admin mode the dashboard answers only at an IP address or localhost",
                },
                None,
            ),
            403,
        )
    if request.method == "POST":
        form = await request.post()
        submitted = str(form.get("csrf", ""))
        if not (
            security.csrf_ok(request.app[SECRET], request.cookies.get(security.NONCE_COOKIE, ""), submitted)
            and security.origin_ok(request.headers.get("Origin"), scheme=request.scheme, host=request.host)
        ):
            return html_response(
                layout.error_page(
                    {
                        "code": 403,
                        "reason": "Forbidden",
                        "message": "the form is stale or came from another site (CSRF check failed); reload the page",
                    },
                    None,
                ),
                403,
            )
    public = request.path.startswith(PUBLIC)
    if not public and not request.app[BACKEND].admin_mode and not request.cookies.get(security.TOKEN_COOKIE):
        return redirect("/login")
    return await handler(request)


# --- login ---------------------------------------------------------------------------------------------
async def login_form(request: web.Request) -> web.StreamResponse:
    if request.app[BACKEND].admin_mode:
        return redirect("/")
    return html_response(layout.login_page(security.csrf_token(request.app[SECRET], request[NONCE])))


async def login(request: web.Request) -> web.StreamResponse:
    csrf = security.csrf_token(request.app[SECRET], request[NONCE])
    token = security.clean_token(str((await request.post()).get("token", "")))
    if token is None:
        return html_response(layout.login_page(csrf, error="That does not look like a bearer token."), 400)
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    user = "token user"
    try:
        answer = (
            await request.app[BACKEND]
            .as_user(token)
            .request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", body=review)
        )
        user = str(((answer.get("status") or {}).get("userInfo") or {}).get("username") or user)
    except APIError as e:
        if e.code == 401:
            return html_response(
                layout.login_page(csrf, error="The API server did not accept this token (401 Unauthorized)."),
                401,
            )
        # anything else (the review not served or not allowed) does not say the token is bad
    except (OSError, TimeoutError) as e:
        return html_response(layout.login_page(csrf, error=unavailable(e)), 502)
    resp = redirect("/")
    resp.set_cookie(security.TOKEN_COOKIE, token, httponly=True, samesite="Strict", path="/")
    resp.set_cookie(security.USER_COOKIE, user[:200], httponly=True, samesite="Strict", path="/")
    return resp


async def logout(request: web.Request) -> web.StreamResponse:
    resp = redirect("/login")
    resp.del_cookie(security.TOKEN_COOKIE, path="/")
    resp.del_cookie(security.USER_COOKIE, path="/")
    return resp


async def static(request: web.Request) -> web.StreamResponse:
    if request.match_info["file"] == "dashboard.css":
        return web.Response(text=layout.STYLESHEET, content_type="text/css")
    if request.match_info["file"] == "dashboard.js":
        return web.Response(text=layout.SCRIPT, content_type="text/javascript")
    raise web.HTTPNotFound()


# --- pages ---------------------------------------------------------------------------------------------
async def _count(v: Visit, kind: Kind) -> int:
    """How many objects a list holds, from a one-item page and remainingItemCount."""
    answer = await v.api.request("GET", kind.path(namespace=v.namespace), params={"limit": "1"})
    return len(answer.get("items") or []) + int((answer.get("metadata") or {}).get("remainingItemCount") or 0)


async def overview(request: web.Request) -> web.StreamResponse:
    v = Visit(request)

    async def items(path: str) -> list[dict[str, Any]]:
        return list((await v.api.request("GET", path)).get("items") or [])

    events = KINDS["events"]
    namespaces, nodes, warnings, *counts = await asyncio.gather(
        try_section(items("/api/v1/namespaces")),
        try_section(items("/api/v1/nodes")),
        try_section(
            v.table(
                events,
                namespace=v.namespace,
                params={"fieldSelector": "type=Warning", "includeObject": "Object"},
            )
        ),
        *(try_section(_count(v, k)) for k in WORKLOADS),
    )
    if not isinstance(warnings, str):
        warnings = pages.recent_warnings(warnings)
    body = pages.overview_body(
        namespaces=namespaces,
        nodes=nodes,
        warnings=warnings,
        namespace=v.namespace,
        counts={k.slug: c for k, c in zip(WORKLOADS, counts, strict=True)},
    )
    return await v.page("Overview", body)


async def list_objects(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    v = Visit(request)
    namespace = v.namespace if kind.namespaced else ""
    if kind.slug == "nodes":
        return await nodes(v)
    try:
        tbl = await v.table(kind, namespace=namespace)
    except (APIError, OSError, TimeoutError) as e:
        body = pages.list_page_body(None, kind, namespace=namespace, error=unavailable(e))
        return await v.page(kind.title, body, status=e.code if isinstance(e, APIError) else 502)
    return await v.page(kind.title, pages.list_page_body(tbl, kind, namespace=namespace))


async def nodes(v: Visit) -> web.StreamResponse:
    kind = KINDS["nodes"]
    try:
        tbl = await v.table(kind, namespace="", params={"includeObject": "Object"})
    except (APIError, OSError, TimeoutError) as e:
        body = pages.list_page_body(None, kind, namespace="", error=unavailable(e))
        return await v.page("Nodes", body, status=e.code if isinstance(e, APIError) else 502)
    metrics: dict[str, Any] = {}
    metrics_error = ""
    try:
        answer = await v.api.request("GET", "/apis/metrics.k8s.io/v1beta1/nodes")
        metrics = {str(m["metadata"]["name"]): m for m in answer.get("items") or []}
    except (APIError, OSError, TimeoutError) as e:
        metrics_error = unavailable(e)
    return await v.page("Nodes", pages.nodes_body(tbl, metrics, metrics_error=metrics_error))


async def show(request: web.Request) -> web.StreamResponse:
    kind = kind_of(request)
    v = Visit(request)
    name = request.match_info["name"]
    ns = v.namespace if kind.namespaced else ""
    try:
        obj = await v.api.request("GET", kind.path(namespace=ns, name=name))
    except APIError as e:
        return await v.error(e)
    pods_view: Any = None
    selector = detail.selector_of(obj, kind)
    if selector:
        pods_view = await try_section(
            v.table(KINDS["pods"], namespace=ns, params={"labelSelector": selector})
        )
    elif kind.slug == "nodes":
        pods_view = await try_section(
            v.table(KINDS["pods"], namespace="", params={"fieldSelector": f"spec.nodeName={name}"})
        )
    events_view: Any = None
    if kind.slug != "events":
        fields = f"involvedObject.name={name},involvedObject.kind={obj.get('kind') or kind.kind}"
        events_view = await try_section(
            v.table(KINDS["events"], namespace=ns, params={"fieldSelector": fields})
        )
    title = f"{kind.kind} {name}"
    return await v.page(title, detail.detail_body(obj, kind, csrf=v.csrf, pods=pods_view, events=events_view))


def make_app(backend: Backend, *, secret: bytes | None = None) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[BACKEND] = backend
    app[SECRET] = secret or secrets.token_bytes(32)
    app.router.add_get("/", overview)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/static/{file}", static)
    app.router.add_get("/pods/{name}/logs", logs.logs)
    app.router.add_get("/pods/{name}/logs.txt", logs.logs_text)
    app.router.add_post("/nodes/{name}/{verb:cordon|uncordon}", actions.cordon)
    app.router.add_get("/{kind}", list_objects)
    app.router.add_get("/{kind}/{name}", show)
    app.router.add_post("/{kind}/{name}/scale", actions.scale)
    app.router.add_post("/{kind}/{name}/restart", actions.restart)
    app.router.add_get("/{kind}/{name}/delete", actions.confirm_delete)
    app.router.add_post("/{kind}/{name}/delete", actions.delete)
    return app
