"""The dashboard's aiohttp application: routes, session checks and thin handlers.

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
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from kybernetes.client.errors import APIError
from kybernetes.dashboard import detail, layout, pages, security
from kybernetes.dashboard.api import Backend, UserAPI
from kybernetes.dashboard.html import Markup, url
from kybernetes.dashboard.kinds import (
    ALL_NAMESPACES,
    KINDS,
    RESTARTED_AT,
    TABLE_ACCEPT,
    WORKLOADS,
    Kind,
    ns_query,
)

BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)  # type: ignore[type-abstract]
SECRET: web.AppKey[bytes] = web.AppKey("secret", bytes)
NONCE: web.RequestKey[str] = web.RequestKey("nonce", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PUBLIC = ("/login", "/static/")
NOTICES = {
    "scaled": "Scale requested.",
    "restarted": "Restart requested.",
    "deleted": "Deletion requested.",
    "cordoned": "Node cordoned.",
    "uncordoned": "Node uncordoned.",
}
DEFAULT_TAIL = 200
AUTO_REFRESH = 10  # seconds, when switched on
MAX_TAIL = 5000


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser GETs the result page."""
    return web.Response(status=303, headers={"Location": location})


def html_response(doc: Markup, status: int = 200) -> web.Response:
    return web.Response(text=str(doc), status=status, content_type="text/html", charset="utf-8")


def safe_path(path: str) -> str:
    """The request path rebuilt from its segments: never "//host" (another site) in a form action."""
    return url(*path.split("/"))


def parse_refresh(raw: str) -> int:
    """Auto-refresh seconds from ``?refresh=``: 0 (off), else between 5 s and an hour."""
    return min(max(int(raw), 5), 3600) if raw.isdigit() and int(raw) > 0 else 0


def refresh_toggle(path: str, query: dict[str, str], refresh: int) -> str:
    """The same page with auto-refresh switched (to 10 s when off), without a one-time notice."""
    query = {k: v for k, v in query.items() if k not in ("refresh", "done")}
    return url(*path.split("/"), **query, refresh=None if refresh else AUTO_REFRESH)


def namespace_of(request: web.Request) -> str:
    ns = request.query.get("ns", "default")
    return "" if ns == ALL_NAMESPACES else ns


class Visit:
    """One request's view: the user's API, CSRF token and the page frame."""

    def __init__(self, request: web.Request) -> None:
        backend = request.app[BACKEND]
        self.request = request
        self.admin_mode = backend.admin_mode
        self.api: UserAPI = backend.as_user(request.cookies.get(security.TOKEN_COOKIE, ""))
        self.csrf = security.csrf_token(request.app[SECRET], request[NONCE])
        self.namespace = namespace_of(request)
        self.user = request.cookies.get(security.USER_COOKIE, "") or "token user"
        self.refresh = parse_refresh(request.query.get("refresh", ""))

    async def chrome(self) -> layout.Chrome:
        try:
            listed = await self.api.request("GET", "/api/v1/namespaces")
            names = sorted(str(n["metadata"]["name"]) for n in listed.get("items") or [])
        except (APIError, OSError, TimeoutError):
            names = []  # a user who may not list namespaces can still type one
        return layout.Chrome(
            user=self.user,
            csrf=self.csrf,
            namespace=self.namespace,
            namespaces=names,
            path=safe_path(self.request.path),
            admin_mode=self.admin_mode,
            refresh=self.refresh,
            refresh_toggle=refresh_toggle(self.request.path, dict(self.request.query), self.refresh),
        )

    async def page(self, title: object, body: Markup, *, status: int = 200) -> web.Response:
        notice = NOTICES.get(self.request.query.get("done", ""), "")
        return html_response(layout.page(title, body, await self.chrome(), notice=notice), status)

    async def error(self, e: APIError) -> web.Response:
        return html_response(
            layout.error_page(e.status, await self.chrome()), e.code if e.code >= 400 else 502
        )

    async def table(self, kind: Kind, *, namespace: str, params: dict[str, str] | None = None) -> Any:
        return await self.api.request(
            "GET", kind.path(namespace=namespace), params=params, accept=TABLE_ACCEPT
        )


def kind_of(request: web.Request) -> Kind:
    kind = KINDS.get(request.match_info["kind"])
    if kind is None:
        raise web.HTTPNotFound(text="no such page", content_type="text/plain")
    return kind


def unavailable(e: BaseException) -> str:
    if isinstance(e, APIError):
        return layout.status_message(e.status)
    return f"the API server did not answer: {e}"


async def _try(coro: Awaitable[Any]) -> Any:
    """The result, or the message saying why there is none (for sections of a page)."""
    try:
        return await coro
    except (APIError, OSError, TimeoutError) as e:
        return unavailable(e)


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
        _try(items("/api/v1/namespaces")),
        _try(items("/api/v1/nodes")),
        _try(
            v.table(
                events,
                namespace=v.namespace,
                params={"fieldSelector": "type=Warning", "includeObject": "Object"},
            )
        ),
        *(_try(_count(v, k)) for k in WORKLOADS),
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
        pods_view = await _try(v.table(KINDS["pods"], namespace=ns, params={"labelSelector": selector}))
    elif kind.slug == "nodes":
        pods_view = await _try(
            v.table(KINDS["pods"], namespace="", params={"fieldSelector": f"spec.nodeName={name}"})
        )
    events_view: Any = None
    if kind.slug != "events":
        fields = f"involvedObject.name={name},involvedObject.kind={obj.get('kind') or kind.kind}"
        events_view = await _try(v.table(KINDS["events"], namespace=ns, params={"fieldSelector": fields}))
    title = f"{kind.kind} {name}"
    return await v.page(title, detail.detail_body(obj, kind, csrf=v.csrf, pods=pods_view, events=events_view))


# --- actions -------------------------------------------------------------------------------------------
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


# --- logs ----------------------------------------------------------------------------------------------
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


def make_app(backend: Backend, *, secret: bytes | None = None) -> web.Application:
    app = web.Application(middlewares=[guard], client_max_size=64 * 1024)
    app[BACKEND] = backend
    app[SECRET] = secret or secrets.token_bytes(32)
    app.router.add_get("/", overview)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/static/{file}", static)
    app.router.add_get("/pods/{name}/logs", logs)
    app.router.add_get("/pods/{name}/logs.txt", logs_text)
    app.router.add_post("/nodes/{name}/{verb:cordon|uncordon}", cordon)
    app.router.add_get("/{kind}", list_objects)
    app.router.add_get("/{kind}/{name}", show)
    app.router.add_post("/{kind}/{name}/scale", scale)
    app.router.add_post("/{kind}/{name}/restart", restart)
    app.router.add_get("/{kind}/{name}/delete", confirm_delete)
    app.router.add_post("/{kind}/{name}/delete", delete)
    return app
