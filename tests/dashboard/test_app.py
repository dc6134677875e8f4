"""The dashboard application against a fake API: login, CSRF, forbidden answers, actions, logs.

The fake answers by (method, path) and records which token each request carried, so the tests
can check that the dashboard acts as the user and never as itself.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from kybernetes.client.errors import APIError
from kybernetes.dashboard.api import UserAPI
from kybernetes.dashboard.app import make_app

TOKEN = "good.token"
EVIL = "<script>alert(1)</script>"


def forbidden(message: str) -> APIError:
    return APIError({"kind": "Status", "code": 403, "reason": "Forbidden", "message": message})


class FakeAPI:
    def __init__(self, backend: FakeBackend, token: str) -> None:
        self.backend, self.token = backend, token

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> Any:
        self.backend.calls.append((self.token, method, path, dict(params or {}), body))
        if self.token != TOKEN and not self.backend.admin_mode:
            raise APIError(
                {"kind": "Status", "code": 401, "reason": "Unauthorized", "message": "Unauthorized"}
            )
        answer = self.backend.answers.get((method, path))
        if answer is None:
            raise APIError(
                {"kind": "Status", "code": 404, "reason": "NotFound", "message": f"{path} not found"}
            )
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeBackend:
    def __init__(self, *, admin_mode: bool = False) -> None:
        self.admin_mode = admin_mode
        self.calls: list[tuple[str, str, str, dict[str, str], Any]] = []
        self.answers: dict[tuple[str, str], Any] = {
            ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews"): {
                "status": {"userInfo": {"username": "system:serviceaccount:default:viewer"}}
            },
            ("GET", "/api/v1/namespaces"): {"items": [{"metadata": {"name": "default"}}]},
        }

    def as_user(self, token: str) -> UserAPI:
        return FakeAPI(self, token)

    async def close(self) -> None:
        pass


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
async def client(backend: FakeBackend) -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(make_app(backend, secret=b"s"))) as c:
        yield c


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


async def login(client: TestClient[Any, Any], token: str = TOKEN) -> Any:
    page = await (await client.get("/login")).text()
    return await client.post("/login", data={"token": token, "csrf": csrf_of(page)}, allow_redirects=False)


async def test_pages_need_login_and_headers_are_strict(client: TestClient[Any, Any]) -> None:
    r = await client.get("/pods", allow_redirects=False)
    assert r.status == 303 and r.headers["Location"] == "/login"
    nonce_cookie = r.headers["Set-Cookie"]
    assert nonce_cookie.startswith("kyb_dashboard_csrf=")
    assert "HttpOnly" in nonce_cookie and "SameSite=Strict" in nonce_cookie
    r = await client.get("/login")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in r.headers  # the nonce is kept


async def test_login_sets_httponly_strict_token_cookie(
    client: TestClient[Any, Any], backend: FakeBackend
) -> None:
    r = await login(client)
    assert r.status == 303 and r.headers["Location"] == "/"
    cookies = r.headers.getall("Set-Cookie")
    token_cookie = next(c for c in cookies if c.startswith("kyb_dashboard_token="))
    assert "HttpOnly" in token_cookie and "SameSite=Strict" in token_cookie
    backend.answers[("GET", "/apis/apps/v1/namespaces/default/deployments")] = {
        "columnDefinitions": [{"name": "Name"}],
        "rows": [{"cells": ["web"], "object": {"metadata": {"name": "web", "namespace": "default"}}}],
    }
    page = await (await client.get("/deployments")).text()
    assert '<a href="/deployments/web?ns=default">web</a>' in page
    assert "system:serviceaccount:default:viewer" in page
    assert backend.calls[-1][0] == TOKEN  # the user's token, not the dashboard's


async def test_bad_token_is_refused(client: TestClient[Any, Any]) -> None:
    r = await login(client, "wrong.token")
    assert r.status == 401 and "did not accept this token" in await r.text()
    r = await login(client, "not a token <x>")
    assert r.status == 400


async def test_post_without_csrf_is_refused(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    await login(client)
    r = await client.post("/deployments/web/scale?ns=default", data={"replicas": "3", "csrf": "0" * 64})
    assert r.status == 403 and "CSRF" in await r.text()
    page = await (await client.get("/login")).text()
    r = await client.post(
        "/deployments/web/scale?ns=default",
        data={"replicas": "3", "csrf": csrf_of(page)},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status == 403
    assert not any(c[1] == "PATCH" for c in backend.calls)


async def test_scale_patches_the_scale_subresource(
    client: TestClient[Any, Any], backend: FakeBackend
) -> None:
    await login(client)
    path = "/apis/apps/v1/namespaces/default/deployments/web/scale"
    backend.answers[("PATCH", path)] = {"spec": {"replicas": 3}}
    csrf = csrf_of(await (await client.get("/login")).text())
    r = await client.post(
        "/deployments/web/scale?ns=default", data={"replicas": "3", "csrf": csrf}, allow_redirects=False
    )
    assert r.status == 303 and r.headers["Location"] == "/deployments/web?ns=default&done=scaled"
    assert backend.calls[-1][1:] == ("PATCH", path, {}, {"spec": {"replicas": 3}})


async def test_forbidden_action_and_list_show_the_403_message(
    client: TestClient[Any, Any], backend: FakeBackend
) -> None:
    await login(client)
    message = (
        'deployments.apps "web" is forbidden: User "system:serviceaccount:default:viewer" '
        'cannot patch resource "deployments/scale" in API group "apps" in the namespace "default"'
    )
    backend.answers[("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/scale")] = forbidden(message)
    csrf = csrf_of(await (await client.get("/login")).text())
    r = await client.post("/deployments/web/scale?ns=default", data={"replicas": "3", "csrf": csrf})
    assert r.status == 403
    assert "cannot patch resource &quot;deployments/scale&quot;" in await r.text()
    backend.answers[("GET", "/api/v1/namespaces/default/secrets")] = forbidden("secrets is forbidden: no")
    r = await client.get("/secrets")
    assert r.status == 403 and "Error from server (Forbidden): secrets is forbidden: no" in await r.text()


async def test_reflected_namespace_is_escaped(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    await login(client)
    r = await client.get("/pods", params={"ns": EVIL})
    text = await r.text()
    assert "<script>alert" not in text and "&lt;script&gt;" in text


async def test_logs_page_and_text(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    await login(client)
    pod = {
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {"containers": [{"name": "app"}, {"name": "side"}]},
    }
    backend.answers[("GET", "/api/v1/namespaces/default/pods/p")] = pod
    backend.answers[("GET", "/api/v1/namespaces/default/pods/p/log")] = f"hello\n{EVIL}\n"
    page = await (
        await client.get(
            "/pods/p/logs", params={"ns": "default", "container": "side", "tail": "5", "follow": "1"}
        )
    ).text()
    assert "hello" in page and "<script>alert" not in page and 'data-follow="/pods/p/logs.txt' in page
    assert backend.calls[-2][3] == {"tailLines": "5", "container": "side"}
    r = await client.get("/pods/p/logs.txt", params={"ns": "default", "container": "side"})
    assert r.content_type == "text/plain" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert await r.text() == f"hello\n{EVIL}\n"


async def test_delete_confirms_first(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    await login(client)
    backend.answers[("DELETE", "/api/v1/namespaces/default/configmaps/c")] = {"kind": "Status"}
    page = await (await client.get("/configmaps/c/delete", params={"ns": "default"})).text()
    assert 'action="/configmaps/c/delete?ns=default"' in page
    assert not any(c[1] == "DELETE" for c in backend.calls)
    r = await client.post(
        "/configmaps/c/delete?ns=default", data={"csrf": csrf_of(page)}, allow_redirects=False
    )
    assert r.status == 303 and r.headers["Location"] == "/configmaps?ns=default&done=deleted"
    assert backend.calls[-1][4]["propagationPolicy"] == "Background"


async def test_cordon_and_logout(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    await login(client)
    backend.answers[("PATCH", "/api/v1/nodes/n1")] = {}
    csrf = csrf_of(await (await client.get("/login")).text())
    r = await client.post("/nodes/n1/uncordon", data={"csrf": csrf}, allow_redirects=False)
    assert r.headers["Location"] == "/nodes/n1?done=uncordoned"
    assert backend.calls[-1][4] == {"spec": {"unschedulable": None}}
    r = await client.post("/logout", data={"csrf": csrf}, allow_redirects=False)
    assert r.headers["Location"] == "/login"
    assert (await client.get("/", allow_redirects=False)).status == 303


async def test_admin_mode_needs_no_login() -> None:
    backend = FakeBackend(admin_mode=True)
    backend.answers[("GET", "/api/v1/nodes")] = {"items": []}
    async with TestClient(TestServer(make_app(backend))) as c:
        r = await c.get("/", allow_redirects=False)
        assert r.status == 200 and "admin mode" in await r.text()


async def test_admin_mode_refuses_dns_names() -> None:
    async with TestClient(TestServer(make_app(FakeBackend(admin_mode=True)))) as c:
        r = await c.get("/", headers={"Host": "rebound.example:9090"})
        assert r.status == 403 and "IP address or localhost" in await r.text()


async def test_auto_refresh_toggle(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    await login(client)
    backend.answers[("GET", "/api/v1/namespaces/default/pods")] = {"columnDefinitions": [], "rows": []}
    page = await (await client.get("/pods", params={"ns": "default"})).text()
    assert '<a href="/pods?ns=default&amp;refresh=10">auto-refresh: off</a>' in page
    page = await (await client.get("/pods", params={"ns": "default", "refresh": "10"})).text()
    assert '<meta http-equiv="refresh" content="10">' in page
    assert '<input type="hidden" name="refresh" value="10">' in page
