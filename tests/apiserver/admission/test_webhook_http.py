"""Webhooks end to end in process: a real HTTPS webhook server on loopback (test CA), registered
through the API, called by the in-process API server for configmap writes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from admission_helpers import Api, ApiFactory, namespace
from webhook_server import WebhookServer, configuration, hook

from kybernetes.apiserver.admission.plugins import MutatingAdmissionWebhook, ValidatingAdmissionWebhook

PORT = 18801
DEAD_PORT = 18849  # nothing listens here
MWC = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
CMS = "/api/v1/namespaces/default/configmaps"


def cm(name: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


@pytest.fixture
async def wh(tmp_path: Path) -> AsyncIterator[WebhookServer]:
    server = WebhookServer(PORT, tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([MutatingAdmissionWebhook(), ValidatingAdmissionWebhook()])


def cc(wh: WebhookServer, path: str) -> dict[str, Any]:
    return {"url": wh.url(path), "caBundle": wh.ca_bundle}


async def register(api: Api, kind: str, name: str, *hooks: dict[str, Any]) -> dict[str, Any]:
    path = MWC if kind == "MutatingWebhookConfiguration" else VWC
    result: dict[str, Any] = await api.ok("POST", path, configuration(kind, name, *hooks))
    return result


async def test_configuration_defaults(api: Api, wh: WebhookServer) -> None:
    got = await register(api, "MutatingWebhookConfiguration", "m", hook("label.example.com", cc(wh, "/label")))
    h = got["webhooks"][0]
    assert (h["failurePolicy"], h["matchPolicy"], h["timeoutSeconds"], h["reinvocationPolicy"]) == (
        "Fail", "Equivalent", 10, "Never")
    assert h["namespaceSelector"] == {} and h["objectSelector"] == {} and h["rules"][0]["scope"] == "*"
    assert got["metadata"]["generation"] == 1


async def test_invalid_configuration_is_rejected(api: Api, wh: WebhookServer) -> None:
    bad = hook("short", {"url": "http://127.0.0.1/x"}, timeoutSeconds=31, sideEffects="Some")
    code, body = await api.req("POST", VWC, configuration("ValidatingWebhookConfiguration", "v", bad))
    assert code == 422
    fields = {c["field"]: c["message"] for c in body["details"]["causes"]}
    assert fields["webhooks[0].name"] == ('Invalid value: "short": should be a domain with at least three '
                                          "segments separated by dots")
    assert fields["webhooks[0].timeoutSeconds"] == ("Invalid value: 31: the timeout value must be between "
                                                    "1 and 30 seconds")
    assert fields["webhooks[0].sideEffects"] == ('Unsupported value: "Some": supported values: "None", '
                                                 '"NoneOnDryRun"')
    assert fields["webhooks[0].clientConfig.url"] == ('Invalid value: "http": \'https\' is the only allowed URL '
                                                      "scheme; desired format: https://host[/path]")


async def test_mutating_webhook_adds_label_and_warning(api: Api, wh: WebhookServer) -> None:
    await register(api, "MutatingWebhookConfiguration", "m", hook("label.example.com", cc(wh, "/label")))
    async with api.session.post(api.base + CMS, json=cm("a")) as r:
        assert r.status == 201
        got = await r.json()
        assert r.headers.getall("Warning") == ['299 - "labelled by the test webhook"']
    assert got["metadata"]["labels"] == {"webhook": "was-here"}
    assert got["metadata"]["resourceVersion"]
    stored = await api.ok("GET", f"{CMS}/a")
    assert stored["metadata"]["labels"] == {"webhook": "was-here"}
    path, req = wh.reviews[0]
    assert path == "/label"
    assert req["kind"] == {"group": "", "version": "v1", "kind": "ConfigMap"}
    assert req["resource"] == {"group": "", "version": "v1", "resource": "configmaps"}
    assert req["requestKind"] == req["kind"] and req["requestResource"] == req["resource"]
    assert (req["operation"], req["name"], req["namespace"], req["dryRun"]) == ("CREATE", "a", "default", False)
    assert req["options"] == {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
    assert "userInfo" in req and req["oldObject"] is None
    assert req["object"]["data"] == {"k": "v"}


async def test_update_sends_old_object(api: Api, wh: WebhookServer) -> None:
    await api.ok("POST", CMS, cm("a", labels={"x": "1"}))
    await register(api, "MutatingWebhookConfiguration", "m", hook("label.example.com", cc(wh, "/label")))
    current = await api.ok("GET", f"{CMS}/a")
    current["data"] = {"k": "changed"}
    got = await api.ok("PUT", f"{CMS}/a", current)
    assert got["metadata"]["labels"] == {"x": "1", "webhook": "was-here"}
    req = wh.reviews[0][1]
    assert req["operation"] == "UPDATE" and req["oldObject"]["data"] == {"k": "v"}
    assert req["options"]["kind"] == "UpdateOptions"


async def test_validating_webhook_denies_with_message(api: Api, wh: WebhookServer) -> None:
    await register(api, "ValidatingWebhookConfiguration", "v", hook("deny.example.com", cc(wh, "/deny")))
    await api.ok("POST", CMS, cm("ok"))
    code, body = await api.req("POST", CMS, cm("bad", labels={"deny": "yes"}))
    assert code == 403
    assert body["message"] == ('admission webhook "deny.example.com" denied the request: '
                               "objects labelled deny=yes are refused")
    assert body["reason"] == "Forbidden"
    code, _ = await api.req("GET", f"{CMS}/bad")
    assert code == 404


async def test_validating_webhook_sees_the_mutated_object(api: Api, wh: WebhookServer) -> None:
    await register(api, "MutatingWebhookConfiguration", "m", hook("label.example.com", cc(wh, "/label")))
    await register(api, "ValidatingWebhookConfiguration", "v", hook("allow.example.com", cc(wh, "/allow")))
    await api.ok("POST", CMS, cm("a"))
    assert wh.paths() == ["/label", "/allow"]
    assert wh.reviews[1][1]["object"]["metadata"]["labels"] == {"webhook": "was-here"}


@pytest.mark.parametrize("policy, expect", [("Fail", 500), ("Ignore", 201)], ids=["fail", "ignore"])
async def test_failure_policy_when_server_is_down(api: Api, wh: WebhookServer, policy: str, expect: int) -> None:
    dead = {"url": f"https://127.0.0.1:{DEAD_PORT}/x", "caBundle": wh.ca_bundle}
    await register(api, "ValidatingWebhookConfiguration", "v", hook("down.example.com", dead, failurePolicy=policy))
    code, body = await api.req("POST", CMS, cm("a"))
    assert code == expect, body
    if policy == "Fail":
        assert body["reason"] == "InternalError"
        assert body["message"] == (
            f'Internal error occurred: failed calling webhook "down.example.com": failed to call webhook: '
            f'Post "https://127.0.0.1:{DEAD_PORT}/x?timeout=10s": dial tcp 127.0.0.1:{DEAD_PORT}: connect: '
            "connection refused")


async def test_mutating_failure_policy(api: Api, wh: WebhookServer) -> None:
    dead = {"url": f"https://127.0.0.1:{DEAD_PORT}/x", "caBundle": wh.ca_bundle}
    await register(api, "MutatingWebhookConfiguration", "m", hook("down.example.com", dead))
    code, body = await api.req("POST", CMS, cm("a"))
    assert code == 500 and "failed calling webhook" in body["message"]


async def test_untrusted_certificate_is_a_call_failure(api: Api, wh: WebhookServer) -> None:
    await register(api, "ValidatingWebhookConfiguration", "v", hook("tls.example.com", {"url": wh.url("/allow")}))
    code, body = await api.req("POST", CMS, cm("a"))
    assert code == 500
    assert "x509: certificate signed by unknown authority" in body["message"]
    assert wh.reviews == []


async def test_timeout(api: Api, wh: WebhookServer) -> None:
    await register(api, "ValidatingWebhookConfiguration", "v",
                   hook("slow.example.com", cc(wh, "/slow"), timeoutSeconds=1))
    code, body = await api.req("POST", CMS, cm("a"))
    assert code == 500
    assert body["message"].endswith(f'Post "https://127.0.0.1:{PORT}/slow?timeout=1s": context deadline exceeded')


async def test_timeout_ignored(api: Api, wh: WebhookServer) -> None:
    await register(api, "MutatingWebhookConfiguration", "m",
                   hook("slow.example.com", cc(wh, "/slow"), timeoutSeconds=1, failurePolicy="Ignore"))
    await api.ok("POST", CMS, cm("a"))


async def test_invalid_response_is_a_call_failure(api: Api, wh: WebhookServer) -> None:
    await register(api, "ValidatingWebhookConfiguration", "v", hook("uid.example.com", cc(wh, "/bad-uid")))
    code, body = await api.req("POST", CMS, cm("a"))
    assert code == 500
    assert "received invalid webhook response: expected response.uid=" in body["message"]


async def test_namespace_selector(api: Api, wh: WebhookServer) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("watched", {"webhooks": "on"}))
    await api.ok("POST", "/api/v1/namespaces", namespace("quiet"))
    sel = {"matchLabels": {"webhooks": "on"}}
    await register(api, "MutatingWebhookConfiguration", "m",
                   hook("label.example.com", cc(wh, "/label"), namespaceSelector=sel))
    a = await api.ok("POST", "/api/v1/namespaces/watched/configmaps", cm("a"))
    b = await api.ok("POST", "/api/v1/namespaces/quiet/configmaps", cm("b"))
    assert a["metadata"].get("labels") == {"webhook": "was-here"}
    assert "labels" not in b["metadata"]


async def test_namespace_selector_on_namespaces_uses_own_labels(api: Api, wh: WebhookServer) -> None:
    rule = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["namespaces"]}
    await register(api, "ValidatingWebhookConfiguration", "v",
                   hook("ns.example.com", cc(wh, "/allow"), rules=[rule],
                        namespaceSelector={"matchLabels": {"team": "a"}}))
    await api.ok("POST", "/api/v1/namespaces", namespace("one", {"team": "a"}))
    await api.ok("POST", "/api/v1/namespaces", namespace("two", {"team": "b"}))
    assert [r["name"] for _, r in wh.reviews] == ["one"]
    assert wh.reviews[0][1]["namespace"] == "one"


async def test_object_selector(api: Api, wh: WebhookServer) -> None:
    sel = {"matchExpressions": [{"key": "mutate", "operator": "In", "values": ["yes"]}]}
    await register(api, "MutatingWebhookConfiguration", "m",
                   hook("label.example.com", cc(wh, "/label"), objectSelector=sel))
    a = await api.ok("POST", CMS, cm("a", labels={"mutate": "yes"}))
    b = await api.ok("POST", CMS, cm("b", labels={"mutate": "no"}))
    assert a["metadata"]["labels"] == {"mutate": "yes", "webhook": "was-here"}
    assert b["metadata"]["labels"] == {"mutate": "no"}
    # the old object's labels count too: removing the label on update still calls the webhook
    b_old = await api.ok("GET", f"{CMS}/a")
    b_old["metadata"]["labels"] = {}
    got = await api.ok("PUT", f"{CMS}/a", b_old)
    assert got["metadata"]["labels"] == {"webhook": "was-here"}


async def test_rules_operations_and_resources(api: Api, wh: WebhookServer) -> None:
    rule = {"operations": ["DELETE"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*"],
            "scope": "Namespaced"}
    await register(api, "ValidatingWebhookConfiguration", "v", hook("del.example.com", cc(wh, "/allow"), rules=[rule]))
    await api.ok("POST", CMS, cm("a"))
    assert wh.reviews == []
    await api.ok("DELETE", f"{CMS}/a")
    (_, req), = wh.reviews
    assert req["operation"] == "DELETE" and req["object"] is None and req["oldObject"]["metadata"]["name"] == "a"
    assert req["options"]["kind"] == "DeleteOptions"


async def test_dry_run_with_side_effects(api: Api, wh: WebhookServer) -> None:
    await register(api, "ValidatingWebhookConfiguration", "v",
                   hook("dry.example.com", cc(wh, "/allow"), sideEffects="NoneOnDryRun"))
    await api.ok("POST", CMS + "?dryRun=All", cm("a"))
    (_, req), = wh.reviews
    assert req["dryRun"] is True and req["options"]["dryRun"] == ["All"]
    code, _ = await api.req("GET", f"{CMS}/a")
    assert code == 404


async def test_reinvocation_if_needed(api: Api, wh: WebhookServer) -> None:
    # a (IfNeeded) runs first, then b changes the object: a is called a second time.
    await register(api, "MutatingWebhookConfiguration", "m",
                   hook("a.example.com", cc(wh, "/mark-a"), reinvocationPolicy="IfNeeded"),
                   hook("b.example.com", cc(wh, "/mark-b")))
    got = await api.ok("POST", CMS, cm("x"))
    assert wh.paths() == ["/mark-a", "/mark-b", "/mark-a"]
    assert got["metadata"]["annotations"]["mark"] == "a"


async def test_no_reinvocation_when_never(api: Api, wh: WebhookServer) -> None:
    await register(api, "MutatingWebhookConfiguration", "m",
                   hook("a.example.com", cc(wh, "/mark-a")), hook("b.example.com", cc(wh, "/mark-b")))
    got = await api.ok("POST", CMS, cm("x"))
    assert wh.paths() == ["/mark-a", "/mark-b"]
    assert got["metadata"]["annotations"]["mark"] == "b"


async def test_configurations_run_in_name_order(api: Api, wh: WebhookServer) -> None:
    await register(api, "MutatingWebhookConfiguration", "z", hook("z.example.com", cc(wh, "/suffix")))
    await register(api, "MutatingWebhookConfiguration", "a", hook("a.example.com", cc(wh, "/mark-a")))
    await api.ok("POST", CMS, cm("x"))
    assert wh.paths() == ["/mark-a", "/suffix"]


async def test_webhook_configurations_are_exempt(api: Api, wh: WebhookServer) -> None:
    rule = {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"], "resources": ["*/*"]}
    dead = {"url": f"https://127.0.0.1:{DEAD_PORT}/x", "caBundle": wh.ca_bundle}
    await register(api, "ValidatingWebhookConfiguration", "v", hook("all.example.com", dead, rules=[rule]))
    # the broken webhook blocks configmaps, yet its own configuration can still be deleted
    code, _ = await api.req("POST", CMS, cm("a"))
    assert code == 500
    await api.ok("DELETE", f"{VWC}/v")
    await api.ok("POST", CMS, cm("a"))


async def test_service_reference_unresolvable_follows_failure_policy(api: Api, wh: WebhookServer) -> None:
    svc = {"service": {"namespace": "default", "name": "missing", "path": "/allow"}, "caBundle": wh.ca_bundle}
    await register(api, "ValidatingWebhookConfiguration", "v",
                   hook("svc.example.com", svc), hook("svc2.example.com", svc, failurePolicy="Ignore"))
    code, body = await api.req("POST", CMS, cm("a"))
    assert code == 500
    assert body["message"] == ('Internal error occurred: failed calling webhook "svc.example.com": '
                               'failed to call webhook: service "missing" not found')


async def test_session_is_not_left_open(api: Api, wh: WebhookServer) -> None:
    # warnings are errors in this suite: an unclosed client session would fail the test at GC
    await register(api, "ValidatingWebhookConfiguration", "v", hook("allow.example.com", cc(wh, "/allow")))
    for i in range(3):
        await api.ok("POST", CMS, cm(f"a{i}"))
    assert len(wh.reviews) == 3
    assert isinstance(api.session, aiohttp.ClientSession)
