"""Pure parts of the ValidatingAdmissionPolicy plugin, table-driven: evaluation and messages,
request matching, params collection, denial Status and Table cells."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.apiserver.admission import Attributes
from kybernetes.apiserver.admission.plugins.policy import evaluate, matching, params
from kybernetes.apiserver.admission.plugins.policy.compiler import compile_policy
from kybernetes.apiserver.admission.plugins.policy.plugin import Denial, denial_error
from kybernetes.apiserver.tables.admissionpolicy import go_selector, param_ref_text


def resource(group: str, version: str, plural: str) -> Resource:
    return next(r for r in RESOURCES if (r.group, r.version, r.plural) == (group, version, plural))


DEPLOYMENTS = resource("apps", "v1", "deployments")
HPA_V2 = resource("autoscaling", "v2", "horizontalpodautoscalers")


def compiled(*validations: dict[str, Any], **spec: Any) -> Any:
    return compile_policy({"metadata": {"name": "p"}, "spec": {"validations": list(validations), **spec}})


def run(
    policy: Any,
    obj: Any = None,
    old: Any = None,
    params_obj: Any = None,
    ns: Any = None,
    budget: int = evaluate.RUNTIME_COST_BUDGET,
) -> evaluate.Result:
    request = {"operation": "CREATE", "namespace": "default", "name": "d"}
    return evaluate.validate(policy, evaluate.Inputs(obj, old, request, ns, params_obj), budget=budget)


DEP = {"spec": {"replicas": 7}, "metadata": {"name": "d"}}

EVAL_CASES = [
    pytest.param(
        compiled({"expression": "object.spec.replicas <= 5"}),
        DEP,
        [("Deny", "failed expression: object.spec.replicas <= 5", "Invalid")],
        id="default-message",
    ),
    pytest.param(compiled({"expression": "object.spec.replicas <= 9"}), DEP, [("Admit", "", "")], id="admit"),
    pytest.param(
        compiled({"expression": "false", "message": "  static  ", "reason": "Forbidden"}),
        DEP,
        [("Deny", "static", "Forbidden")],
        id="message-and-reason",
    ),
    pytest.param(
        compiled(
            {
                "expression": "false",
                "message": "static",
                "messageExpression": "'replicas: ' + string(object.spec.replicas)",
            }
        ),
        DEP,
        [("Deny", "replicas: 7", "Invalid")],
        id="message-expression-wins",
    ),
    pytest.param(
        compiled({"expression": "false", "message": "static", "messageExpression": "'a\\nb'"}),
        DEP,
        [("Deny", "static", "Invalid")],
        id="multi-line-message-expression-falls-back",
    ),
    pytest.param(
        compiled({"expression": "false", "message": "static", "messageExpression": "object.nope"}),
        DEP,
        [("Deny", "static", "Invalid")],
        id="failing-message-expression-falls-back",
    ),
    pytest.param(
        compiled({"expression": "object.spec.nope == 1"}),
        DEP,
        [("Deny", "expression 'object.spec.nope == 1' resulted in error: no such key: nope", "")],
        id="error-fail",
    ),
    pytest.param(
        compiled({"expression": "object.spec.nope == 1"}, failurePolicy="Ignore"),
        DEP,
        [("Admit", "expression 'object.spec.nope == 1' resulted in error: no such key: nope", "")],
        id="error-ignore",
    ),
    pytest.param(
        compiled({"expression": "1"}),
        DEP,
        [("Deny", "compilation error: must evaluate to bool but got int", "")],
        id="compile-error",
    ),
    pytest.param(
        compiled(
            {"expression": "variables.big"},
            variables=[{"name": "big", "expression": "object.spec.replicas > 5"}],
        ),
        DEP,
        [("Admit", "", "")],
        id="variables",
    ),
    pytest.param(
        compiled(
            {"expression": "variables.bad == 1"}, variables=[{"name": "bad", "expression": "object.nope"}]
        ),
        DEP,
        [
            (
                "Deny",
                "expression 'variables.bad == 1' resulted in error: composited variable \"bad\" fails "
                "to evaluate: no such key: nope",
                "",
            )
        ],
        id="failing-variable",
    ),
    pytest.param(
        compiled(
            {"expression": "false"}, matchConditions=[{"name": "m", "expression": "object.spec.replicas < 3"}]
        ),
        DEP,
        [],
        id="match-condition-false-skips",
    ),
    pytest.param(
        compiled({"expression": "false"}, matchConditions=[{"name": "m", "expression": "object.nope == 1"}]),
        DEP,
        [("Deny", "expression 'object.nope == 1' resulted in error: no such key: nope", "")],
        id="match-condition-error",
    ),
    pytest.param(
        compiled({"expression": "object == null && oldObject.spec.replicas == 7"}),
        None,
        [("Admit", "", "")],
        id="delete-sees-old-object",
    ),
]


@pytest.mark.parametrize(("policy", "obj", "want"), EVAL_CASES)
def test_evaluate(policy: Any, obj: Any, want: list[tuple[str, str, str]]) -> None:
    old = DEP if obj is None else None
    got = [(d.action, d.message, d.reason) for d in run(policy, obj, old).decisions]
    assert got == want


def test_params_and_namespace_object() -> None:
    policy = compiled(
        {
            "expression": "object.spec.replicas <= int(params.data.max) && "
            "namespaceObject.metadata.labels.team == 'a' && "
            "namespaceObject.metadata.creationTimestamp < timestamp('2030-01-01T00:00:00Z')"
        },
        paramKind={"apiVersion": "v1", "kind": "ConfigMap"},
    )
    ns = {
        "metadata": {
            "name": "default",
            "labels": {"team": "a"},
            "creationTimestamp": "2024-01-01T00:00:00Z",
            "uid": "hidden",
        }
    }
    result = run(policy, DEP, params_obj={"data": {"max": "9"}}, ns=ns)
    assert [d.action for d in result.decisions] == ["Admit"]
    trimmed = evaluate.namespace_object(ns)
    assert trimmed is not None
    assert trimmed["metadata"].keys() == {"name", "labels", "creationTimestamp"}


def test_out_of_budget_is_one_failure() -> None:
    policy = compiled({"expression": "[1,2,3].all(x, x > 0)"}, {"expression": "true"})
    result = run(policy, DEP, budget=2)
    assert [(d.action, d.message) for d in result.decisions] == [("Deny", evaluate.OUT_OF_BUDGET)]


def test_audit_annotations() -> None:
    policy = compiled(
        auditAnnotations=[
            {"key": "replicas", "valueExpression": "string(object.spec.replicas)"},
            {"key": "skipped", "valueExpression": "null"},
            {"key": "broken", "valueExpression": "string(object.nope)"},
        ]
    )
    result = run(policy, DEP)
    assert result.annotations == {"replicas": "7"}
    assert result.annotation_errors == [
        "expression 'string(object.nope)' resulted in error: no such key: nope"
    ]


# --- matching -------------------------------------------------------------------------------------
def attrs(
    operation: str = "CREATE",
    resource: Resource = DEPLOYMENTS,
    name: str = "d",
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    subresource: str = "",
) -> Attributes:
    obj = {"metadata": {"name": name, "labels": labels or {}}}
    return Attributes(resource, operation, namespace, name, obj, None, subresource=subresource)


def rule(**kw: Any) -> dict[str, Any]:
    base = {
        "apiGroups": ["apps"],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["deployments"],
    }
    return {**base, **kw}


NAMESPACES = {"default": {"metadata": {"name": "default", "labels": {"env": "prod"}}}}

MATCH_CASES = [
    pytest.param({"resourceRules": [rule()]}, attrs(), "apps/v1", id="rule"),
    pytest.param({"resourceRules": [rule(operations=["UPDATE"])]}, attrs(), None, id="operation"),
    pytest.param(
        {"resourceRules": [rule(resources=["deployments/scale"])]},
        attrs(subresource="scale"),
        "apps/v1",
        id="subresource",
    ),
    pytest.param(
        {"resourceRules": [rule(resources=["deployments"])]},
        attrs(subresource="scale"),
        None,
        id="main-resource-only",
    ),
    pytest.param(
        {"resourceRules": [rule(apiGroups=["*"], resources=["*/*"], operations=["*"])]},
        attrs(subresource="status"),
        "apps/v1",
        id="wildcards",
    ),
    pytest.param({"resourceRules": [rule(resourceNames=["other"])]}, attrs(), None, id="resource-names"),
    pytest.param(
        {"resourceRules": [rule()], "excludeResourceRules": [rule(resourceNames=["d"])]},
        attrs(),
        None,
        id="excluded",
    ),
    pytest.param({}, attrs(), "apps/v1", id="no-rules-matches-all"),
    pytest.param(
        {"resourceRules": [rule()], "namespaceSelector": {"matchLabels": {"env": "dev"}}},
        attrs(),
        None,
        id="namespace-selector",
    ),
    pytest.param(
        {"resourceRules": [rule()], "objectSelector": {"matchLabels": {"app": "x"}}},
        attrs(labels={"app": "x"}),
        "apps/v1",
        id="object-selector",
    ),
    pytest.param(
        {
            "resourceRules": [
                rule(apiGroups=["autoscaling"], apiVersions=["v1"], resources=["horizontalpodautoscalers"])
            ]
        },
        attrs(resource=HPA_V2),
        "autoscaling/v1",
        id="equivalent-version",
    ),
    pytest.param(
        {
            "matchPolicy": "Exact",
            "resourceRules": [
                rule(apiGroups=["autoscaling"], apiVersions=["v1"], resources=["horizontalpodautoscalers"])
            ],
        },
        attrs(resource=HPA_V2),
        None,
        id="exact",
    ),
]


@pytest.mark.parametrize(("mr", "request_attrs", "want"), MATCH_CASES)
def test_matching(mr: dict[str, Any], request_attrs: Attributes, want: str | None) -> None:
    target = matching.matches(mr, request_attrs, NAMESPACES.get)
    assert (target.group_version if target else None) == want


# --- params ---------------------------------------------------------------------------------------
CONFIGMAPS = params.ParamSource(resource("", "v1", "configmaps"), "/registry/configmaps/")
STORE = {
    "/registry/configmaps/default/a": {"metadata": {"name": "a", "labels": {"kind": "limit"}}},
    "/registry/configmaps/default/b": {"metadata": {"name": "b", "labels": {"kind": "limit"}}},
    "/registry/configmaps/other/c": {"metadata": {"name": "c", "labels": {"kind": "limit"}}},
}


def listing(prefix: str) -> list[Any]:
    return [v for k, v in sorted(STORE.items()) if k.startswith(prefix)]


PARAM_CASES = [
    pytest.param(None, {"name": "a"}, "default", [None], id="no-param-kind"),
    pytest.param(CONFIGMAPS, None, "default", [None], id="no-param-ref"),
    pytest.param(CONFIGMAPS, {"name": "a"}, "default", ["a"], id="by-name"),
    pytest.param(CONFIGMAPS, {"name": "c", "namespace": "other"}, "default", ["c"], id="other-namespace"),
    pytest.param(
        CONFIGMAPS, {"selector": {"matchLabels": {"kind": "limit"}}}, "default", ["a", "b"], id="selector"
    ),
    pytest.param(CONFIGMAPS, {"name": "zz", "parameterNotFoundAction": "Allow"}, "default", [], id="allow"),
    pytest.param(
        CONFIGMAPS,
        {"name": "zz", "parameterNotFoundAction": "Deny"},
        "default",
        "no params found for policy binding with `Deny` parameterNotFoundAction",
        id="deny",
    ),
    pytest.param(
        CONFIGMAPS,
        {"name": "a"},
        "",
        "cannot use namespaced paramRef in policy binding that matches cluster-scoped resources",
        id="cluster-scoped-request",
    ),
]


@pytest.mark.parametrize(("source", "ref", "namespace", "want"), PARAM_CASES)
def test_collect_params(source: Any, ref: Any, namespace: str, want: Any) -> None:
    if isinstance(want, str):
        with pytest.raises(params.ParamError, match=want.replace("`", ".")):
            params.collect(source, ref, namespace, STORE.get, listing)
        return
    got = params.collect(source, ref, namespace, STORE.get, listing)
    assert [p["metadata"]["name"] if p else None for p in got] == want


def test_resolve_param_kind() -> None:
    assert (
        params.resolve_kind({"apiVersion": "v1", "kind": "ConfigMap"}, RESOURCES).prefix
        == "/registry/configmaps/"
    )
    with pytest.raises(
        params.ParamError, match="failed to find resource referenced by paramKind: '/v2, Kind=ConfigMap'"
    ):
        params.resolve_kind({"apiVersion": "v2", "kind": "ConfigMap"}, RESOURCES)


def test_resolve_custom_param_kind_in_any_served_version() -> None:
    custom = Resource(
        "example.com",
        "v1",
        "Limits",
        "limits",
        "limits",
        True,
        "",
        storage_prefix="/registry/example.com/limits/",
        custom=object(),
    )
    got = params.resolve_kind({"apiVersion": "example.com/v2", "kind": "Limits"}, [*RESOURCES, custom])
    assert got.prefix == "/registry/example.com/limits/" and got.resource.namespaced


# --- status, tables -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("reason", "code"), [("", 422), ("Forbidden", 403), ("Unauthorized", 401), ("RequestEntityTooLarge", 413)]
)
def test_denial_status(reason: str, code: int) -> None:
    err = denial_error(attrs(), Denial("p", "b", "nope", reason))
    assert (err.code, err.reason) == (code, reason or "Invalid")
    assert (
        err.message == "deployments.apps \"d\" is forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' "
        "denied request: nope"
    )


def test_table_cells() -> None:
    assert param_ref_text(None) == "<unset>"
    assert param_ref_text({"name": "x"}) == "*/x"
    assert go_selector(
        {
            "matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "k", "operator": "In", "values": ["v", "w"]}],
        }
    ) == (
        "&LabelSelector{MatchLabels:map[string]string{a: 1,b: 2,},MatchExpressions:[]LabelSelectorRequirement{"
        "LabelSelectorRequirement{Key:k,Operator:In,Values:[v w],},},}"
    )
