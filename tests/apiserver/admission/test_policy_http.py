"""ValidatingAdmissionPolicy through an in-process API server over HTTP: policies and bindings
created through the API take effect on the next write, with upstream's Status and warnings."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, namespace

from kybernetes.apiserver.admission.plugins import NamespaceLifecycle, ValidatingAdmissionPolicy

AR = "/apis/admissionregistration.k8s.io/v1"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def policy(name: str, *validations: dict[str, Any], **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["apps"],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["deployments"],
                }
            ]
        },
        "validations": list(validations),
    }
    body.update(spec)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": body,
    }


def binding(name: str, policy_name: str, actions: list[str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": policy_name, "validationActions": actions or ["Deny"], **spec},
    }


def deployment(name: str, replicas: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    sel = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": sel},
            "template": {"metadata": {"labels": sel}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([NamespaceLifecycle(), ValidatingAdmissionPolicy()])


async def setup(api: Api, *objs: dict[str, Any]) -> None:
    for obj in objs:
        plural = (
            "validatingadmissionpolicies"
            if obj["kind"] == "ValidatingAdmissionPolicy"
            else "validatingadmissionpolicybindings"
        )
        await api.ok("POST", f"{AR}/{plural}", obj)
    await api.server.cache.wait_fresh()


REPLICAS = {"expression": "object.spec.replicas <= 5"}


async def test_deny_has_upstream_status(api: Api) -> None:
    await setup(api, policy("max-replicas", REPLICAS), binding("max-replicas-b", "max-replicas"))
    await api.ok("POST", DEPLOYMENTS, deployment("small", 5))
    code, status = await api.req("POST", DEPLOYMENTS, deployment("big", 6))
    text = (
        "ValidatingAdmissionPolicy 'max-replicas' with binding 'max-replicas-b' denied request: "
        "failed expression: object.spec.replicas <= 5"
    )
    assert code == 422
    assert status["reason"] == "Invalid"
    assert status["message"] == f'deployments.apps "big" is forbidden: {text}'
    assert status["details"] == {
        "name": "big",
        "group": "apps",
        "kind": "deployments",
        "causes": [{"message": text}],
    }


async def test_reason_and_message_expression(api: Api) -> None:
    await setup(
        api,
        policy(
            "p",
            {
                **REPLICAS,
                "reason": "Forbidden",
                "message": "static",
                "messageExpression": "'too many: ' + string(object.spec.replicas)",
            },
        ),
        binding("b", "p"),
    )
    code, status = await api.req("POST", DEPLOYMENTS, deployment("big", 9))
    assert code == 403 and status["reason"] == "Forbidden"
    assert status["message"].endswith("denied request: too many: 9")


async def test_warn_action_sends_warning_header(api: Api) -> None:
    await setup(api, policy("p", REPLICAS), binding("b", "p", ["Warn"]))
    async with api.session.post(api.base + DEPLOYMENTS, json=deployment("big", 9)) as r:
        assert r.status == 201
        warnings = r.headers.getall("Warning", [])
    assert any(
        "Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b': "
        "failed expression: object.spec.replicas <= 5" in w
        for w in warnings
    ), warnings


async def test_params_from_a_configmap(api: Api) -> None:
    await api.ok(
        "POST",
        "/api/v1/namespaces/default/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "limits"}, "data": {"max": "3"}},
    )
    await setup(
        api,
        policy(
            "p",
            {"expression": "object.spec.replicas <= int(params.data.max)"},
            paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
        ),
        binding("b", "p", paramRef={"name": "limits", "parameterNotFoundAction": "Deny"}),
    )
    await api.ok("POST", DEPLOYMENTS, deployment("ok", 3))
    code, _ = await api.req("POST", DEPLOYMENTS, deployment("big", 4))
    assert code == 422


async def test_missing_param_with_deny_fails_the_request(api: Api) -> None:
    await setup(
        api,
        policy("p", REPLICAS, paramKind={"apiVersion": "v1", "kind": "ConfigMap"}),
        binding("b", "p", paramRef={"name": "absent", "parameterNotFoundAction": "Deny"}),
        binding("c", "p", paramRef={"name": "absent", "parameterNotFoundAction": "Allow"}),
    )
    code, status = await api.req("POST", DEPLOYMENTS, deployment("d", 1))
    assert code == 422, status
    assert status["message"].endswith(
        "ValidatingAdmissionPolicy 'p' with binding 'b' denied request: failed to "
        "configure binding: no params found for policy binding with `Deny` "
        "parameterNotFoundAction"
    )


async def test_unknown_param_kind_is_a_policy_error(api: Api) -> None:
    await setup(
        api,
        policy("p", REPLICAS, paramKind={"apiVersion": "example.com/v1", "kind": "Limits"}),
        binding("b", "p", paramRef={"name": "x", "parameterNotFoundAction": "Allow"}),
    )
    code, status = await api.req("POST", DEPLOYMENTS, deployment("d", 1))
    assert code == 422
    assert status["message"].endswith(
        "ValidatingAdmissionPolicy 'p' denied request: failed to configure policy: "
        "failed to find resource referenced by paramKind: 'example.com/v1, Kind=Limits'"
    )


async def test_binding_namespace_selector_exempts_a_namespace(api: Api) -> None:
    await api.ok("POST", "/api/v1/namespaces", namespace("free", {"limits": "off"}))
    await setup(
        api,
        policy("p", REPLICAS),
        binding(
            "b",
            "p",
            matchResources={
                "namespaceSelector": {
                    "matchExpressions": [{"key": "limits", "operator": "NotIn", "values": ["off"]}]
                }
            },
        ),
    )
    await api.server.cache.wait_fresh()
    await api.ok("POST", "/apis/apps/v1/namespaces/free/deployments", deployment("big", 9))
    code, _ = await api.req("POST", DEPLOYMENTS, deployment("big", 9))
    assert code == 422


async def test_policy_without_binding_does_nothing_and_delete_takes_effect(api: Api) -> None:
    await setup(api, policy("p", REPLICAS))
    await api.ok("POST", DEPLOYMENTS, deployment("a", 9))
    await setup(api, binding("b", "p"))
    code, _ = await api.req("POST", DEPLOYMENTS, deployment("b", 9))
    assert code == 422
    await api.ok("DELETE", f"{AR}/validatingadmissionpolicybindings/b")
    await api.server.cache.wait_fresh()
    await api.ok("POST", DEPLOYMENTS, deployment("c", 9))


async def test_update_uses_old_object_and_variables(api: Api) -> None:
    await setup(
        api,
        policy(
            "no-scale-down",
            {"expression": "oldObject == null || variables.new >= variables.old"},
            variables=[
                {"name": "old", "expression": "oldObject == null ? 0 : oldObject.spec.replicas"},
                {"name": "new", "expression": "object.spec.replicas"},
            ],
        ),
        binding("b", "no-scale-down"),
    )
    created = await api.ok("POST", DEPLOYMENTS, deployment("d", 3))
    created["spec"]["replicas"] = 4
    updated = await api.ok("PUT", f"{DEPLOYMENTS}/d", created)
    updated["spec"]["replicas"] = 2
    code, _ = await api.req("PUT", f"{DEPLOYMENTS}/d", updated)
    assert code == 422


async def test_runtime_error_follows_failure_policy(api: Api) -> None:
    await setup(
        api,
        policy("strict", {"expression": "object.spec.missing == 1"}),
        binding("b1", "strict"),
        policy("lax", {"expression": "object.spec.missing == 1"}, failurePolicy="Ignore"),
        binding("b2", "lax"),
    )
    code, status = await api.req("POST", DEPLOYMENTS, deployment("d", 1))
    assert code == 422
    assert (
        "ValidatingAdmissionPolicy 'strict' with binding 'b1' denied request: expression "
        "'object.spec.missing == 1' resulted in error: no such key: missing" in status["message"]
    )


async def test_policy_objects_are_served_with_defaults_and_tables(api: Api) -> None:
    await setup(
        api,
        policy("p", REPLICAS),
        binding("b", "p", paramRef={"name": "x", "namespace": "ns", "parameterNotFoundAction": "Allow"}),
    )
    got = await api.ok("GET", f"{AR}/validatingadmissionpolicies/p")
    assert got["spec"]["failurePolicy"] == "Fail"
    assert got["spec"]["matchConstraints"]["matchPolicy"] == "Equivalent"
    assert got["spec"]["matchConstraints"]["namespaceSelector"] == {}
    assert got["spec"]["matchConstraints"]["resourceRules"][0]["scope"] == "*"
    assert got["metadata"]["generation"] == 1
    async with api.session.get(
        api.base + f"{AR}/validatingadmissionpolicybindings",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    ) as r:
        table = await r.json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "PolicyName", "ParamRef", "Age"]
    assert table["rows"][0]["cells"][:3] == ["b", "p", "ns/x"]


async def test_broken_expression_is_rejected_at_create(api: Api) -> None:
    code, status = await api.req(
        "POST", f"{AR}/validatingadmissionpolicies", policy("p", {"expression": "object.spec.replicas <="})
    )
    assert code == 422
    cause = status["details"]["causes"][0]
    assert cause["field"] == "spec.validations[0].expression"
    assert cause["message"].startswith(
        'Invalid value: "object.spec.replicas <=": compilation failed: ERROR: <input>:1:'
    )


async def test_exempt_and_unrelated_requests_pass(api: Api) -> None:
    await setup(
        api,
        policy(
            "deny-all",
            {"expression": "false"},
            matchConstraints={
                "resourceRules": [
                    {"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}
                ]
            },
        ),
        binding("b", "deny-all"),
    )
    await asyncio.sleep(0)
    # the policy cannot lock itself in: its binding can still be deleted
    await api.ok("DELETE", f"{AR}/validatingadmissionpolicybindings/b")
