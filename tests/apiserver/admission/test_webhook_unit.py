"""Webhook admission, the pure parts: rule matching, selectors, the AdmissionReview exchange,
denial texts, and the configuration strategy's defaults and validation."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from kybernetes.api.resources import Resource, lookup
from kybernetes.apiserver.admission import CREATE, DELETE, UPDATE, Attributes
from kybernetes.apiserver.admission.plugins.webhook import matching, review
from kybernetes.apiserver.admission.plugins.webhook.plugin import call_hook
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.strategies.admissionregistration import default_webhook, validate_configuration
from kybernetes.machinery import errors


def resource(group: str, version: str, plural: str) -> Resource:
    r = lookup(group, version, plural)
    assert r is not None
    return r


PODS = resource("", "v1", "pods")
NAMESPACES = resource("", "v1", "namespaces")
HPA_V2 = resource("autoscaling", "v2", "horizontalpodautoscalers")


def req(op: str = CREATE, group: str = "", version: str = "v1", resource: str = "pods", sub: str = "",
        ns: str = "default") -> matching.Request:
    return matching.Request(op, group, version, resource, sub, ns)


def rule(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"],
                            "resources": ["pods"]}
    base.update(kw)
    return base


@pytest.mark.parametrize("r, request_, expected", [
    (rule(), req(), True),
    (rule(), req(op=UPDATE), False),
    (rule(operations=["*"]), req(op=DELETE), True),
    (rule(apiGroups=["apps"]), req(), False),
    (rule(apiGroups=["*"], apiVersions=["*"]), req(group="apps", version="v1"), True),
    (rule(resources=["*"]), req(resource="configmaps"), True),
    (rule(resources=["*"]), req(sub="status"), False),
    (rule(resources=["pods"]), req(sub="status"), False),
    (rule(resources=["pods/status"]), req(sub="status"), True),
    (rule(resources=["pods/*"]), req(sub="exec"), True),
    (rule(resources=["pods/*"]), req(), True),  # as upstream: "*" also matches no subresource
    (rule(resources=["*/status"]), req(resource="services", sub="status"), True),
    (rule(resources=["*/*"]), req(resource="services"), True),
    (rule(scope="Namespaced"), req(), True),
    (rule(scope="Namespaced"), req(ns=""), False),
    (rule(scope="Cluster"), req(ns=""), True),
    (rule(scope="Cluster"), req(), False),
    (rule(resources=["namespaces"], scope="Namespaced"), req(resource="namespaces", ns="x"), False),
    (rule(resources=["namespaces"], scope="Cluster"), req(resource="namespaces", ns="x"), True),
], ids=["exact", "other-op", "any-op", "other-group", "wild-group-version", "wild-resource",
        "wild-resource-not-sub", "resource-not-sub", "sub", "res-wild-sub", "res-wild-sub-main",
        "wild-res-sub", "all", "namespaced", "namespaced-cluster-obj", "cluster", "cluster-ns-obj",
        "namespace-is-not-namespaced", "namespace-is-cluster"])
def test_rule_matches(r: dict[str, Any], request_: matching.Request, expected: bool) -> None:
    assert matching.rule_matches(r, request_) is expected


def attrs(resource: Any = PODS, op: str = CREATE, obj: dict[str, Any] | None = None,
          old: dict[str, Any] | None = None, ns: str = "default", name: str = "p", **kw: Any) -> Attributes:
    return Attributes(resource, op, ns, name, obj, old, **kw)


def labelled(labels: dict[str, str] | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if labels is not None:
        meta["labels"] = labels
    return {"metadata": meta}


@pytest.mark.parametrize("sel, new, old, expected", [
    ({}, labelled(None), None, True),
    ({"matchLabels": {"a": "1"}}, labelled({"a": "1"}), None, True),
    ({"matchLabels": {"a": "1"}}, labelled({"a": "2"}), None, False),
    ({"matchLabels": {"a": "1"}}, labelled({}), labelled({"a": "1"}), True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, None, labelled({"b": "1"}), True),
], ids=["empty", "match-new", "no-match", "match-old", "delete-old-only"])
def test_object_selector(sel: dict[str, Any], new: Any, old: Any, expected: bool) -> None:
    assert matching.object_selector_matches({"objectSelector": sel}, attrs(obj=new, old=old)) is expected


def test_namespace_selector() -> None:
    namespaces = {"on": {"metadata": {"name": "on", "labels": {"hooks": "on"}}}}
    hook = {"namespaceSelector": {"matchLabels": {"hooks": "on"}}}
    assert matching.namespace_selector_matches(hook, attrs(ns="on"), namespaces.get)
    with pytest.raises(errors.StatusError) as e:
        matching.namespace_selector_matches(hook, attrs(ns="gone"), namespaces.get)
    assert e.value.code == 404
    # cluster-scoped objects always match; a Namespace object is judged by its own labels
    assert matching.namespace_selector_matches(hook, attrs(resource=lookup("", "v1", "nodes"), ns=""), namespaces.get)
    ns_obj = {"metadata": {"name": "new", "labels": {"hooks": "on"}}}
    assert matching.namespace_selector_matches(hook, attrs(NAMESPACES, obj=ns_obj, ns="", name="new"), namespaces.get)


def test_match_policy_equivalent_finds_other_version() -> None:
    hook = {"rules": [rule(apiGroups=["autoscaling"], apiVersions=["v1"], resources=["horizontalpodautoscalers"])]}
    a = attrs(HPA_V2)
    assert matching.match_resource({**hook, "matchPolicy": "Exact"}, a, "default") is None
    got = matching.match_resource({**hook, "matchPolicy": "Equivalent"}, a, "default")
    assert got is not None and got.version == "v1"


def test_hooks_of_orders_by_configuration_name() -> None:
    cfgs = [{"metadata": {"name": "b"}, "webhooks": [{"name": "b1.x.y"}]},
            {"metadata": {"name": "a"}, "webhooks": [{"name": "a1.x.y"}, {"name": "a2.x.y"}]}]
    assert [h.uid for h in matching.hooks_of(cfgs)] == ["a/a1.x.y/0", "a/a2.x.y/1", "b/b1.x.y/0"]


# --- the AdmissionReview exchange -----------------------------------------------------------------
def test_build_request() -> None:
    user = UserInfo("alice", ("dev", "system:authenticated"), uid="u1")
    a = attrs(op=UPDATE, obj={"metadata": {"name": "p"}}, old={"metadata": {"name": "p", "labels": {}}},
              user=user, dry_run=True, subresource="status")
    body = review.build_request(a, uid="x", target=PODS, version="v1", namespace="default")
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    r = body["request"]
    assert r["userInfo"] == {"username": "alice", "uid": "u1", "groups": ["dev", "system:authenticated"]}
    assert (r["subResource"], r["requestSubResource"], r["dryRun"]) == ("status", "status", True)
    assert r["options"] == {"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "dryRun": ["All"]}
    assert r["object"] is not a.obj  # the webhook gets a copy


def v1_answer(uid: str = "u", **resp: Any) -> dict[str, Any]:
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": {"uid": uid, **resp}}


PATCH = base64.b64encode(json.dumps([{"op": "add", "path": "/a", "value": 1}]).encode()).decode()


@pytest.mark.parametrize("body, mutating, message", [
    ({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}, True, "webhook response was absent"),
    (v1_answer(uid="other", allowed=True), True, 'expected response.uid="u", got "other"'),
    ({"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "response": {"uid": "u"}}, True,
     "expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got admission.k8s.io/v1beta1, "
     "Kind=AdmissionReview"),
    (v1_answer(allowed=True, patch=PATCH), True, "webhook returned response.patch but not response.patchType"),
    (v1_answer(allowed=True, patchType="JSONPatch"), True,
     "webhook returned response.patchType but not response.patch"),
    (v1_answer(allowed=True, patch=PATCH, patchType="JSONPatch"), False,
     "validating webhook may not return response.patch"),
    (v1_answer(allowed=True, patch=PATCH, patchType="Merge"), True, 'unsupported patch type "Merge"'),
    (v1_answer(allowed=True, patch="!!", patchType="JSONPatch"), True,
     "received undecodable patch in webhook response"),
], ids=["absent", "uid", "gvk", "patch-no-type", "type-no-patch", "validating-patch", "patch-type", "bad-base64"])
def test_verify_response_rejects(body: dict[str, Any], mutating: bool, message: str) -> None:
    with pytest.raises(ValueError) as e:
        review.verify_response(body, uid="u", version="v1", mutating=mutating)
    assert str(e.value).startswith(message)


def test_verify_response_v1beta1_is_lenient() -> None:
    body = {"response": {"allowed": True, "patch": PATCH}}
    d = review.verify_response(body, uid="u", version="v1beta1", mutating=True)
    assert d.allowed and d.patch == [{"op": "add", "path": "/a", "value": 1}]


@pytest.mark.parametrize("status, code, message", [
    ({"message": "no", "code": 403}, 403, 'admission webhook "w.x.y" denied the request: no'),
    ({"reason": "Because"}, 400, 'admission webhook "w.x.y" denied the request: Because'),
    (None, 400, 'admission webhook "w.x.y" denied the request without explanation'),
    ({"message": "m", "code": 200}, 400, 'admission webhook "w.x.y" denied the request: m'),
], ids=["message", "reason", "nothing", "low-code"])
def test_denial(status: dict[str, Any] | None, code: int, message: str) -> None:
    err = review.denial("w.x.y", status)
    assert (err.code, err.message) == (code, message)


def test_apply_patch_and_replace_in_place() -> None:
    obj: dict[str, Any] = {"metadata": {"name": "a"}, "data": {}}
    meta = obj["metadata"]
    patched = review.apply_patch(obj, [{"op": "add", "path": "/metadata/labels", "value": {"x": "1"}}])
    assert obj == {"metadata": {"name": "a"}, "data": {}}
    review.replace_in_place(obj, patched)
    assert obj["metadata"] is meta and meta["labels"] == {"x": "1"}
    with pytest.raises(errors.StatusError) as e:
        review.apply_patch(obj, [{"op": "remove", "path": "/nope"}])
    assert e.value.code == 500


# --- the configuration strategy -------------------------------------------------------------------
def test_defaults() -> None:
    h: dict[str, Any] = {"rules": [{}], "clientConfig": {"service": {"name": "s", "namespace": "n"}}}
    default_webhook(h, mutating=True)
    assert h["clientConfig"]["service"]["port"] == 443 and h["rules"][0]["scope"] == "*"
    assert h["reinvocationPolicy"] == "Never" and h["timeoutSeconds"] == 10


def good(**kw: Any) -> dict[str, Any]:
    h: dict[str, Any] = {"name": "a.b.c", "clientConfig": {"url": "https://h/p"}, "sideEffects": "None",
                         "admissionReviewVersions": ["v1"], "rules": [rule()]}
    h.update(kw)
    return h


@pytest.mark.parametrize("hooks, expected", [
    ([good()], []),
    ([good(name="")], [("webhooks[0].name", "Required value")]),
    ([good(), good()], [("webhooks[1].name", 'Duplicate value: "a.b.c"')]),
    ([good(sideEffects=None)], [("webhooks[0].sideEffects", "Required value: must specify one of None, NoneOnDryRun")]),
    ([good(admissionReviewVersions=[])],
     [("webhooks[0].admissionReviewVersions", "Required value: must specify one of v1, v1beta1")]),
    ([good(admissionReviewVersions=["v2"])],
     [("webhooks[0].admissionReviewVersions", 'Invalid value: []string{"v2"}: must include at least one of v1, v1beta1')]),
    ([good(clientConfig={})], [("webhooks[0].clientConfig", "Required value: exactly one of url or service is required")]),
    ([good(clientConfig={"url": "https://h/p?q=1"})],
     [("webhooks[0].clientConfig.url", 'Invalid value: "q=1": query parameters are not permitted in the URL')]),
    ([good(clientConfig={"service": {"name": "s", "namespace": "n", "path": "p"}})],
     [("webhooks[0].clientConfig.service.path", "Invalid value: \"p\": must start with a '/'"),
      # upstream drops the first character before splitting, so "p" also has an empty segment
      ("webhooks[0].clientConfig.service.path", 'Invalid value: "p": segment[0] may not be empty')]),
    ([good(failurePolicy="Maybe")],
     [("webhooks[0].failurePolicy", 'Unsupported value: "Maybe": supported values: "Fail", "Ignore"')]),
    ([good(rules=[rule(operations=["GET"])])], [("webhooks[0].rules[0].operations[0]",
      'Unsupported value: "GET": supported values: "*", "CONNECT", "CREATE", "DELETE", "UPDATE"')]),
    ([good(rules=[rule(resources=["*/*", "pods"])])], [("webhooks[0].rules[0].resources",
      'Invalid value: []string{"*/*", "pods"}: if \'*/*\' is present, must not specify other resources')]),
    ([good(rules=[rule(apiGroups=[])])], [("webhooks[0].rules[0].apiGroups", "Required value")]),
    ([good(objectSelector={"matchLabels": {"bad key!": "x"}})], [("webhooks[0].objectSelector.matchLabels", None)]),
], ids=["valid", "name-required", "duplicate", "side-effects", "review-versions", "unknown-version",
        "client-config", "url-query", "service-path", "failure-policy", "operation", "resources", "api-groups",
        "selector"])
def test_validation(hooks: list[dict[str, Any]], expected: list[tuple[str, str | None]]) -> None:
    causes = validate_configuration({"webhooks": hooks}, mutating=False)
    got = [(c.field, c.message) for c in causes]
    if expected and expected[0][1] is None:
        assert [f for f, _ in got] == [expected[0][0]]
    else:
        assert got == expected


def test_update_tolerates_what_the_old_object_had() -> None:
    old = {"webhooks": [good(sideEffects="Unknown")]}
    assert validate_configuration({"webhooks": [good(sideEffects="Unknown")]}, mutating=False, old=old) == []
    assert validate_configuration({"webhooks": [good(sideEffects="Unknown")]}, mutating=False) != []


async def test_dry_run_refused_for_webhooks_with_side_effects() -> None:
    # v1 accepts only None/NoneOnDryRun; a configuration kept from v1beta1 days may say Unknown.
    hook = matching.Hook("c/w.x.y/0", "c", good(name="w.x.y", sideEffects="Unknown"))
    with pytest.raises(errors.StatusError) as e:
        await call_hook(hook, attrs(dry_run=True), PODS, None, mutating=False)  # type: ignore[arg-type]
    assert (e.value.code, e.value.message) == (400, 'admission webhook "w.x.y" does not support dry run')
