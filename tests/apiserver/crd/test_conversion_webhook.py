"""The conversion webhook client against a real HTTPS webhook on loopback (crd.conversion_client).

The webhook converts Widgets between v1 (``spec.size``, a string) and v2 (``spec.replicas``, an
integer); other paths answer wrongly on purpose.
"""

from __future__ import annotations

import asyncio
import base64
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from kybernetes.apiserver.crd import conversion, conversion_client
from kybernetes.testing.cluster import free_port
from kybernetes.util.pki import generate_ca, issue_serving_cert

Obj = dict[str, Any]
GROUP = "conv.example.com"


def convert_widget(obj: Obj, desired: str) -> Obj:
    out = dict(obj, apiVersion=desired)
    spec = dict(obj.get("spec") or {})
    if desired.endswith("/v2") and "size" in spec:
        spec["replicas"] = int(spec.pop("size"))
    elif desired.endswith("/v1") and "replicas" in spec:
        spec["size"] = str(spec.pop("replicas"))
    out["spec"] = spec
    return out


class ConversionWebhook:
    def __init__(self, tmp: Path) -> None:
        ca = generate_ca("conversion-test-ca")
        cert, key = issue_serving_cert(
            ca, common_name="conv", dns_names=["conv.ns.svc"], ip_addresses=["127.0.0.1"]
        )
        (tmp / "tls.crt").write_bytes(cert)
        (tmp / "tls.key").write_bytes(key)
        self.ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ssl.load_cert_chain(tmp / "tls.crt", tmp / "tls.key")
        self.ca_bundle = base64.b64encode(ca.cert_pem).decode()
        self.reviews: list[Obj] = []
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=self.ssl)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        review = await request.json()
        self.reviews.append(review)
        req = review["request"]
        if path == "slow":
            await asyncio.sleep(2)
        if path == "http500":
            return web.Response(status=500, text="boom")
        converted = [convert_widget(o, req["desiredAPIVersion"]) for o in req["objects"]]
        response: Obj = {"uid": req["uid"], "convertedObjects": converted, "result": {"status": "Success"}}
        if path == "bad-uid":
            response["uid"] = "someone-else"
        elif path == "fail":
            response["result"] = {"status": "Failure", "message": "size is not a number"}
        return web.json_response(
            {"apiVersion": review["apiVersion"], "kind": "ConversionReview", "response": response}
        )

    def webhook(self, path: str = "/convert", *, versions: tuple[str, ...] = ("v1",)) -> Obj:
        return {
            "clientConfig": {"url": f"https://127.0.0.1:{self.port}{path}", "caBundle": self.ca_bundle},
            "conversionReviewVersions": list(versions),
        }


@pytest.fixture
async def hook(tmp_path: Path) -> AsyncIterator[ConversionWebhook]:
    server = ConversionWebhook(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        assert server.runner is not None
        await server.runner.cleanup()


def widget(name: str, version: str, **spec: Any) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{version}",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
        "spec": spec,
    }


def no_services(namespace: str, name: str) -> Obj | None:
    del namespace, name
    return None


async def test_a_list_is_converted_in_one_review(hook: ConversionWebhook) -> None:
    objs = [widget("a", "v1", size="3"), widget("b", "v2", replicas=4), widget("c", "v1", size="5")]
    out = await conversion_client.convert(hook.webhook(), objs, f"{GROUP}/v2", get_service=no_services)
    assert [o["spec"] for o in out] == [{"replicas": 3}, {"replicas": 4}, {"replicas": 5}]
    assert out[1] is objs[1]
    assert len(hook.reviews) == 1
    request = hook.reviews[0]["request"]
    assert hook.reviews[0]["apiVersion"] == "apiextensions.k8s.io/v1"
    assert request["desiredAPIVersion"] == f"{GROUP}/v2"
    assert [o["metadata"]["name"] for o in request["objects"]] == ["a", "c"]


async def test_nothing_to_convert_makes_no_call(hook: ConversionWebhook) -> None:
    objs = [widget("a", "v2", replicas=1)]
    assert (
        await conversion_client.convert(hook.webhook(), objs, f"{GROUP}/v2", get_service=no_services) == objs
    )
    assert hook.reviews == []


async def test_v1beta1_review(hook: ConversionWebhook) -> None:
    out = await conversion_client.convert(
        hook.webhook("/bad-uid", versions=("v9", "v1beta1")),
        [widget("a", "v2", replicas=2)],
        f"{GROUP}/v1",
        get_service=no_services,
    )
    assert out[0]["spec"] == {"size": "2"}  # (v1beta1 answers are not checked for their uid)
    assert hook.reviews[0]["apiVersion"] == "apiextensions.k8s.io/v1beta1"


async def test_service_reference_is_called_at_its_cluster_ip(hook: ConversionWebhook) -> None:
    def services(namespace: str, name: str) -> Obj | None:
        return {"spec": {"clusterIP": "127.0.0.1"}} if (namespace, name) == ("ns", "conv") else None

    webhook = {
        "clientConfig": {
            "service": {"namespace": "ns", "name": "conv", "path": "/convert", "port": hook.port},
            "caBundle": hook.ca_bundle,
        },
        "conversionReviewVersions": ["v1"],
    }
    out = await conversion_client.convert(
        webhook, [widget("a", "v1", size="7")], f"{GROUP}/v2", get_service=services
    )
    assert out[0]["spec"] == {"replicas": 7}


PREFIX = f"conversion for {GROUP}/v1, Kind=Widget failed: conversion webhook for /, Kind= failed: "


@pytest.mark.parametrize(
    ("path", "error"),
    [
        pytest.param("/bad-uid", 'expected response.uid="{uid}", got "someone-else"', id="bad-uid"),
        pytest.param("/fail", "size is not a number", id="failure-result"),
        pytest.param(
            "/http500",
            'an error on the server ("boom") has prevented the request from succeeding',
            id="http-500",
        ),
    ],
)
async def test_bad_answers(hook: ConversionWebhook, path: str, error: str) -> None:
    with pytest.raises(conversion.ConversionError) as e:
        await conversion_client.convert(
            hook.webhook(path), [widget("a", "v1", size="1")], f"{GROUP}/v2", get_service=no_services
        )
    uid = hook.reviews[0]["request"]["uid"]
    assert str(e.value) == PREFIX + error.format(uid=uid)


async def test_webhook_down() -> None:
    port = free_port()
    webhook = {
        "clientConfig": {"url": f"https://127.0.0.1:{port}/convert"},
        "conversionReviewVersions": ["v1"],
    }
    with pytest.raises(conversion.ConversionError) as e:
        await conversion_client.convert(
            webhook, [widget("a", "v1", size="1")], f"{GROUP}/v2", get_service=no_services
        )
    assert str(e.value) == (
        PREFIX + f'Post "https://127.0.0.1:{port}/convert?timeout=30s": '
        f"dial tcp 127.0.0.1:{port}: connect: connection refused"
    )


async def test_untrusted_certificate_and_timeout(hook: ConversionWebhook) -> None:
    untrusted = {
        "clientConfig": {"url": f"https://127.0.0.1:{hook.port}/convert"},
        "conversionReviewVersions": ["v1"],
    }
    with pytest.raises(conversion.ConversionError) as e:
        await conversion_client.convert(
            untrusted, [widget("a", "v1", size="1")], f"{GROUP}/v2", get_service=no_services
        )
    assert str(e.value).endswith("x509: certificate signed by unknown authority")
    with pytest.raises(conversion.ConversionError) as e:
        await conversion_client.convert(
            hook.webhook("/slow"),
            [widget("a", "v1", size="1")],
            f"{GROUP}/v2",
            get_service=no_services,
            timeout_seconds=0.3,
        )
    assert str(e.value).endswith("context deadline exceeded")


async def test_missing_service() -> None:
    webhook = {
        "clientConfig": {"service": {"namespace": "ns", "name": "gone", "port": 443}},
        "conversionReviewVersions": ["v1"],
    }
    with pytest.raises(conversion.ConversionError) as e:
        await conversion_client.convert(
            webhook, [widget("a", "v1", size="1")], f"{GROUP}/v2", get_service=no_services
        )
    assert str(e.value) == PREFIX + 'service "gone" not found'
