"""serviceaccounts/token, SelfSubjectReview and TokenReview against the API server in-process."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from kybernetes.apiserver.server import APIServer
from kybernetes.testing.inprocess import serve_api

NS = "/api/v1/namespaces/default"
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[APIServer, aiohttp.ClientSession, str]]:
    # anonymous_auth: requests without a token are let in, so the test can set things up
    async with serve_api(tmp_path) as api, aiohttp.ClientSession() as session:
        yield api.server, session, api.base_url


async def req(s: aiohttp.ClientSession, method: str, url: str, body: Any = None, token: str = "") -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with s.request(method, url, data=json.dumps(body) if body is not None else None, headers=headers) as r:
        return r.status, json.loads(await r.read())


def token_request(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


async def setup_account(s: aiohttp.ClientSession, base: str, name: str = "bot") -> dict[str, Any]:
    code, sa = await req(s, "POST", f"{base}{NS}/serviceaccounts", {"metadata": {"name": name}})
    assert code == 201
    return dict(sa)


async def test_token_request_issues_a_token_that_authenticates(api: Any) -> None:
    _, s, base = api
    sa = await setup_account(s, base)
    code, tr = await req(s, "POST", f"{base}{NS}/serviceaccounts/bot/token", token_request())
    assert code == 201, tr
    assert tr["kind"] == "TokenRequest" and tr["spec"]["expirationSeconds"] == 3600
    assert tr["spec"]["audiences"] == ["https://kubernetes.default.svc.cluster.local"]
    assert tr["status"]["token"].startswith("eyJ") and tr["status"]["expirationTimestamp"].endswith("Z")
    code, review = await req(s, "POST", f"{base}/apis/authentication.k8s.io/v1/selfsubjectreviews", REVIEW,
                             token=tr["status"]["token"])
    assert code == 201
    assert review["status"]["userInfo"]["username"] == "system:serviceaccount:default:bot"
    assert review["status"]["userInfo"]["uid"] == sa["metadata"]["uid"]
    assert review["status"]["userInfo"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                                                      "system:authenticated"]
    code, _ = await req(s, "GET", f"{base}{NS}/pods", token=tr["status"]["token"])
    assert code == 200


@pytest.mark.parametrize(("spec", "code", "message"), [
    pytest.param({"expirationSeconds": 10}, 422, "may not specify a duration less than 10 minutes", id="too-short"),
    pytest.param({"expirationSeconds": (1 << 32) + 1}, 422, "larger than 2^32 seconds", id="too-long"),
    pytest.param({"boundObjectRef": {"kind": "ConfigMap", "apiVersion": "v1", "name": "x"}}, 400,
                 'cannot bind token for serviceaccount "bot" to object of type v1, Kind=ConfigMap', id="bad-kind"),
    pytest.param({"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "nope"}}, 404,
                 'pods "nope" not found', id="missing-pod"),
])
async def test_token_request_rejects(api: Any, spec: dict[str, Any], code: int, message: str) -> None:
    _, s, base = api
    await setup_account(s, base)
    got, status = await req(s, "POST", f"{base}{NS}/serviceaccounts/bot/token", token_request(**spec))
    assert got == code and message in status["message"], status


async def test_token_for_missing_account_is_404(api: Any) -> None:
    _, s, base = api
    code, status = await req(s, "POST", f"{base}{NS}/serviceaccounts/ghost/token", token_request())
    assert code == 404 and status["message"] == 'serviceaccounts "ghost" not found'


async def test_pod_bound_token_stops_working_when_the_pod_is_deleted(api: Any) -> None:
    _, s, base = api
    await setup_account(s, base)
    pod = {"metadata": {"name": "p"}, "spec": {"serviceAccountName": "bot",
                                               "containers": [{"name": "c", "image": "busybox:1.36"}]}}
    code, created = await req(s, "POST", f"{base}{NS}/pods", pod)
    assert code == 201
    ref = {"kind": "Pod", "apiVersion": "v1", "name": "p", "uid": created["metadata"]["uid"]}
    code, tr = await req(s, "POST", f"{base}{NS}/serviceaccounts/bot/token",
                         token_request(boundObjectRef=ref, expirationSeconds=3607))
    assert code == 201 and tr["spec"]["boundObjectRef"] == ref
    token = tr["status"]["token"]
    code, review = await req(s, "POST", f"{base}/apis/authentication.k8s.io/v1/tokenreviews",
                             {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                              "spec": {"token": token}})
    assert code == 201 and review["status"]["authenticated"] is True
    assert review["status"]["user"]["extra"]["authentication.kubernetes.io/pod-name"] == ["p"]
    code, _ = await req(s, "DELETE", f"{base}{NS}/pods/p?gracePeriodSeconds=0")
    assert code == 200
    code, review = await req(s, "POST", f"{base}/apis/authentication.k8s.io/v1/selfsubjectreviews", REVIEW,
                             token=token)
    # the server lets anonymous requests in here: the dead token simply names nobody
    assert review["status"]["userInfo"]["username"] == "system:anonymous"
    code, review = await req(s, "POST", f"{base}/apis/authentication.k8s.io/v1/tokenreviews",
                             {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                              "spec": {"token": token}})
    assert review["status"]["authenticated"] is False and "deleted" in review["status"]["error"]


async def test_pod_bound_token_requires_the_pods_account(api: Any) -> None:
    _, s, base = api
    await setup_account(s, base)
    await setup_account(s, base, "other")
    pod = {"metadata": {"name": "p"}, "spec": {"serviceAccountName": "other",
                                               "containers": [{"name": "c", "image": "busybox:1.36"}]}}
    assert (await req(s, "POST", f"{base}{NS}/pods", pod))[0] == 201
    code, status = await req(s, "POST", f"{base}{NS}/serviceaccounts/bot/token",
                             token_request(boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "p",
                                                           "uid": "stale"}))
    assert code == 409 and "does not match the UID in record" in status["message"]
    code, status = await req(s, "POST", f"{base}{NS}/serviceaccounts/bot/token",
                             token_request(boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "p"}))
    assert code == 400 and "different serviceaccount name" in status["message"]


async def test_reviews_are_create_only_and_discovered(api: Any) -> None:
    _, s, base = api
    async with s.get(f"{base}/apis/authentication.k8s.io/v1") as r:
        doc = await r.json()
    verbs = {res["name"]: res["verbs"] for res in doc["resources"]}
    assert verbs == {"selfsubjectreviews": ["create"], "tokenreviews": ["create"]}
    async with s.get(f"{base}/api/v1") as r:
        core = await r.json()
    assert any(res["name"] == "serviceaccounts/token" and res["verbs"] == ["create"] for res in core["resources"])
    code, _ = await req(s, "GET", f"{base}/apis/authentication.k8s.io/v1/selfsubjectreviews")
    assert code == 405
