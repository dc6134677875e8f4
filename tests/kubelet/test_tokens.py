"""The kubelet's service-account token cache: requests, binding, refresh at 80 % of the lifetime."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.kubelet import tokens
from kybernetes.kubelet.tokens import IssuedToken, TokenManager

POD: dict[str, Any] = {"metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
                       "spec": {"serviceAccountName": "builder", "volumes": [
                           {"name": "kube-api-access-x", "projected": {"sources": [
                               {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}]}}]}}


@pytest.mark.parametrize(("now", "expected"), [
    pytest.param(1000 + 0.79 * 3600, False, id="at-79-percent"),
    pytest.param(1000 + 0.80 * 3600, True, id="at-80-percent"),
    pytest.param(1000 + 24 * 3600, True, id="a-day-old"),
])
def test_requires_refresh_hour_token(now: float, expected: bool) -> None:
    assert tokens.requires_refresh(IssuedToken("t", 1000, 1000 + 3600), now) is expected


def test_a_year_long_token_is_renewed_after_a_day() -> None:
    t = IssuedToken("t", 0, 365 * 86400)
    assert not tokens.requires_refresh(t, 86399) and tokens.requires_refresh(t, 86400)


@pytest.mark.parametrize(("projection", "spec"), [
    pytest.param({"path": "token", "expirationSeconds": 3607}, {"audiences": [], "expirationSeconds": 3607},
                 id="admission-default"),
    pytest.param({"path": "t", "audience": "vault"}, {"audiences": ["vault"], "expirationSeconds": 3600},
                 id="audience-and-default-lifetime"),
])
def test_token_request_body_binds_the_pod(projection: dict[str, Any], spec: dict[str, Any]) -> None:
    body = tokens.token_request_body(POD, projection)
    assert body["kind"] == "TokenRequest" and body["apiVersion"] == "authentication.k8s.io/v1"
    assert body["spec"] == {**spec, "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "u-1"}}


class FakeAPI:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.now = 1_800_000_000.0

    async def request(self, ns: str, account: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((ns, account, body))
        expires = dt.datetime.fromtimestamp(self.now + body["spec"]["expirationSeconds"], dt.UTC)
        return {"status": {"token": f"tok-{len(self.calls)}",
                           "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}}


async def test_manager_caches_until_80_percent_then_renews() -> None:
    api = FakeAPI()
    mgr = TokenManager(api.request, clock=lambda: api.now)
    projection = POD["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]
    assert await mgr.get(POD, projection) == "tok-1"
    assert api.calls[0][:2] == ("shop", "builder")
    api.now += 0.5 * 3607
    assert await mgr.get(POD, projection) == "tok-1" and len(api.calls) == 1
    api.now += 0.31 * 3607
    assert await mgr.get(POD, projection) == "tok-2"


async def test_manager_keeps_pods_apart_and_forgets_deleted_ones() -> None:
    api = FakeAPI()
    mgr = TokenManager(api.request, clock=lambda: api.now)
    other = {**POD, "metadata": {**POD["metadata"], "uid": "u-2"}}
    projection = {"path": "token", "expirationSeconds": 3607}
    assert await mgr.get(POD, projection) == "tok-1"
    assert await mgr.get(other, projection) == "tok-2"
    assert mgr.cached_pods() == {"u-1", "u-2"}
    mgr.forget_pod("u-1")
    assert mgr.cached_pods() == {"u-2"}
    assert await mgr.get(POD, projection) == "tok-3"


async def test_pod_without_account_name_uses_default() -> None:
    api = FakeAPI()
    mgr = TokenManager(api.request, clock=lambda: api.now)
    await mgr.get({"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": {}}, {"path": "token"})
    assert api.calls[0][1] == "default"


def test_has_token_projection() -> None:
    assert tokens.has_token_projection(POD)
    assert not tokens.has_token_projection({"spec": {"volumes": [{"name": "x", "emptyDir": {}}]}})
