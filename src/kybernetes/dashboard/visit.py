"""One dashboard request's context, and the small helpers every handler answers with.

Why: the page handlers (app.py), the write actions (actions.py) and the log views (logs.py) all
act through the visitor's own API credentials, render into the same page frame and turn API
failures into the same messages; `Visit` carries that per-request state so handlers stay thin.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiohttp import web

from kybernetes.client.errors import APIError
from kybernetes.dashboard import layout, security
from kybernetes.dashboard.api import Backend, UserAPI
from kybernetes.dashboard.html import Markup, url
from kybernetes.dashboard.kinds import ALL_NAMESPACES, KINDS, TABLE_ACCEPT, Kind

BACKEND: web.AppKey[Backend] = web.AppKey("backend", Backend)  # type: ignore[type-abstract]
SECRET: web.AppKey[bytes] = web.AppKey("secret", bytes)
NONCE: web.RequestKey[str] = web.RequestKey("nonce", str)
NOTICES = {
    "scaled": "Scale requested.",
    "restarted": "Restart requested.",
    "deleted": "Deletion requested.",
    "cordoned": "Node cordoned.",
    "uncordoned": "Node uncordoned.",
}
AUTO_REFRESH = 10  # seconds, when switched on


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


async def try_section(coro: Awaitable[Any]) -> Any:
    """The result, or the message saying why there is none (for sections of a page)."""
    try:
        return await coro
    except (APIError, OSError, TimeoutError) as e:
        return unavailable(e)
