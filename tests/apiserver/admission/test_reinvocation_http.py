"""The mutating chain's second run, in process, with a real HTTPS webhook that adds a sidecar.

A webhook's change makes the whole chain run once more: LimitRanger then defaults the sidecar's
resources, an IfNeeded webhook sees what the built-in plugins changed after it, and no plugin
runs a third time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, container, pod
from aiohttp import web
from webhook_server import WebhookServer, b64, configuration, hook

from kybernetes.apiserver import admission
from kybernetes.apiserver.admission.plugins import LimitRanger, MutatingAdmissionWebhook

PORT = 18853
NS = "/api/v1/namespaces/default"
MWC = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
POD_RULE = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}


class SidecarWebhook(WebhookServer):
    """``/add-sidecar`` adds a container named ``sidecar`` (no resources) unless the pod has one;
    every other path answers as the shared test server does."""

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["path"] != "add-sidecar":
            return await super().handle(request)
        review = await request.json()
        req = review["request"]
        self.reviews.append(("/add-sidecar", req))
        resp: dict[str, Any] = {"uid": req["uid"], "allowed": True}
        containers = ((req.get("object") or {}).get("spec") or {}).get("containers") or []
        if not any(c.get("name") == "sidecar" for c in containers):
            resp["patchType"] = "JSONPatch"
            resp["patch"] = b64(
                [
                    {
                        "op": "add",
                        "path": "/spec/containers/-",
                        "value": {"name": "sidecar", "image": "busybox"},
                    }
                ]
            )
        return web.json_response(
            {"apiVersion": review["apiVersion"], "kind": "AdmissionReview", "response": resp}
        )


class RunCounter(admission.Plugin):
    """A built-in-style mutating plugin that only records each run over a pod."""

    name = "RunCounter"
    mutating = True

    def __init__(self) -> None:
        self.runs: list[bool] = []

    async def admit(self, attrs: admission.Attributes, ctx: admission.AdmissionContext) -> None:
        if attrs.resource.plural == "pods":
            self.runs.append(attrs.reinvocation.is_reinvoke)


@pytest.fixture
async def wh(tmp_path: Path) -> AsyncIterator[SidecarWebhook]:
    server = SidecarWebhook(PORT, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def counter() -> RunCounter:
    return RunCounter()


@pytest.fixture
async def api(make_api: ApiFactory, counter: RunCounter) -> Api:
    api = await make_api([counter, LimitRanger(), MutatingAdmissionWebhook()])
    await api.ok(
        "POST",
        f"{NS}/limitranges",
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "lr"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "500m", "memory": "128Mi"},
                        "defaultRequest": {"cpu": "100m", "memory": "64Mi"},
                    }
                ]
            },
        },
    )
    return api


async def register(api: Api, wh: WebhookServer, *hooks: tuple[str, str, str]) -> None:
    built = [
        hook(
            name, {"url": wh.url(path), "caBundle": wh.ca_bundle}, rules=[POD_RULE], reinvocationPolicy=policy
        )
        for name, path, policy in hooks
    ]
    await api.ok("POST", MWC, configuration("MutatingWebhookConfiguration", "m", *built))


def resources_of(got: dict[str, Any], name: str) -> Any:
    return next(c for c in got["spec"]["containers"] if c["name"] == name).get("resources")


async def test_builtin_plugins_default_what_a_webhook_added(
    api: Api, wh: SidecarWebhook, counter: RunCounter
) -> None:
    await register(api, wh, ("sidecar.example.com", "/add-sidecar", "Never"))
    got = await api.ok(
        "POST", f"{NS}/pods", pod("p", container("app", requests={"cpu": "1"}, limits={"cpu": "1"}))
    )
    assert resources_of(got, "sidecar") == {
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "100m", "memory": "64Mi"},
    }
    assert counter.runs == [False, True]  # the chain ran twice, never a third time
    assert wh.paths() == ["/add-sidecar"]  # a Never webhook is not called again


async def test_ifneeded_webhook_sees_builtin_changes_of_the_second_run(
    api: Api, wh: SidecarWebhook, counter: RunCounter
) -> None:
    await register(api, wh, ("sidecar.example.com", "/add-sidecar", "IfNeeded"))
    got = await api.ok(
        "POST", f"{NS}/pods", pod("p", container("app", requests={"cpu": "1"}, limits={"cpu": "1"}))
    )
    # LimitRanger changed the object in the second run, so the IfNeeded webhook is called again
    # and sees the sidecar with its defaulted resources
    assert [p for p, _ in wh.reviews] == ["/add-sidecar", "/add-sidecar"]
    second = wh.reviews[1][1]["object"]["spec"]["containers"]
    assert [c["name"] for c in second] == ["app", "sidecar"] and second[1]["resources"]["limits"][
        "cpu"
    ] == "500m"
    assert counter.runs == [False, True]
    assert [c["name"] for c in got["spec"]["containers"]] == ["app", "sidecar"]


async def test_no_second_run_without_a_webhook_change(
    api: Api, wh: SidecarWebhook, counter: RunCounter
) -> None:
    await register(api, wh, ("allow.example.com", "/allow", "IfNeeded"))
    await api.ok("POST", f"{NS}/pods", pod("p", container("app")))
    assert counter.runs == [False]
    assert wh.paths() == ["/allow"]
