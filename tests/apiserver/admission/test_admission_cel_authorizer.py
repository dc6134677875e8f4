"""CEL's ``authorizer`` in admission asks the server's authorizer: the adapter, webhook
matchConditions and ValidatingAdmissionPolicy, each with a fake authorizer, and the wiring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kybernetes.api.resources import Resource, lookup
from kybernetes.apiserver.admission import CREATE, Attributes, cel_authorizer
from kybernetes.apiserver.admission.plugins.policy import evaluate
from kybernetes.apiserver.admission.plugins.policy.compiler import compile_policy
from kybernetes.apiserver.admission.plugins.webhook import matching
from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.authz import attributes as authz
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.cel import authz as cel_authz
from kybernetes.machinery import errors
from kybernetes.storage.memory import MemoryStorage

ALICE: dict[str, Any] = {"username": "alice", "uid": "u1", "groups": ["dev"], "extra": {"scopes": ["a", "b"]}}


def resource(group: str, version: str, plural: str) -> Resource:
    r = lookup(group, version, plural)
    assert r is not None
    return r


CONFIGMAPS = resource("", "v1", "configmaps")


class FakeServerAuthorizer:
    """Allows alice to list secrets in namespace "open" only; remembers every question."""

    def __init__(self, fail: bool = False) -> None:
        self.asked: list[authz.Attributes] = []
        self.fail = fail

    def authorize(self, attrs: authz.Attributes) -> tuple[bool, str]:
        self.asked.append(attrs)
        if self.fail:
            raise RuntimeError("role cache not ready")
        if (attrs.user.name, attrs.verb, attrs.resource, attrs.namespace) == (
            "alice",
            "list",
            "secrets",
            "open",
        ):
            return True, 'RBAC: allowed by RoleBinding "readers/open"'
        return False, "no rule allows it"


# --- the adapter ------------------------------------------------------------------------------------


def cel_attrs(**kw: Any) -> cel_authz.Attributes:
    base: dict[str, Any] = {"user": ALICE, "verb": "get", "resource_request": True}
    return cel_authz.Attributes(**{**base, **kw})


@pytest.mark.parametrize(
    ("given", "want"),
    [
        pytest.param(
            cel_attrs(
                api_group="apps",
                api_version="*",
                resource="deployments",
                subresource="scale",
                namespace="ns",
                name="web",
            ),
            authz.Attributes(
                UserInfo("alice", ("dev",), "u1", {"scopes": ("a", "b")}),
                "get",
                True,
                group="apps",
                version="*",
                resource="deployments",
                subresource="scale",
                namespace="ns",
                name="web",
            ),
            id="resource",
        ),
        pytest.param(
            cel_attrs(
                verb="list", resource="pods", field_selector="spec.nodeName=n1,a!=b", label_selector="x=y"
            ),
            authz.Attributes(
                UserInfo("alice", ("dev",), "u1", {"scopes": ("a", "b")}),
                "list",
                True,
                resource="pods",
                field_equals=(("spec.nodeName", "n1"),),
            ),
            id="field-selector-equalities-kept",
        ),
        pytest.param(
            cel_attrs(resource_request=False, path="/healthz", resource="ignored"),
            authz.Attributes(
                UserInfo("alice", ("dev",), "u1", {"scopes": ("a", "b")}), "get", False, path="/healthz"
            ),
            id="non-resource",
        ),
        pytest.param(
            cel_attrs(user={"username": "bob"}, resource="pods"),
            authz.Attributes(UserInfo("bob"), "get", True, resource="pods"),
            id="user-without-groups",
        ),
    ],
)
def test_server_attributes(given: cel_authz.Attributes, want: authz.Attributes) -> None:
    assert cel_authorizer.server_attributes(given) == want


@pytest.mark.parametrize(
    ("user", "namespace", "want", "asked"),
    [
        pytest.param(
            ALICE, "open", ("Allow", 'RBAC: allowed by RoleBinding "readers/open"'), True, id="allow"
        ),
        pytest.param(
            ALICE, "closed", ("NoOpinion", "no rule allows it"), True, id="not-allowed-is-no-opinion"
        ),
        pytest.param({}, "closed", ("Allow", ""), False, id="server-itself-allowed-without-asking"),
    ],
)
def test_for_authorizer_decisions(
    user: dict[str, Any], namespace: str, want: tuple[str, str], asked: bool
) -> None:
    fake = FakeServerAuthorizer()
    authorize = cel_authorizer.for_authorizer(fake)
    got = authorize(user, cel_attrs(user=user, verb="list", resource="secrets", namespace=namespace))
    assert got == want
    assert bool(fake.asked) is asked


def test_authorize_fn_defaults_to_allow_all() -> None:
    assert cel_authorizer.authorize_fn(None) is cel_authz.allow_all
    fake = cel_authorizer.for_authorizer(FakeServerAuthorizer())
    assert cel_authorizer.authorize_fn(fake) is fake


# --- webhook matchConditions --------------------------------------------------------------------------

LIST_SECRETS = "authorizer.group('').resource('secrets').namespace(request.namespace).check('list')"


def hook(expression: str, failure_policy: str = "Fail") -> matching.Hook:
    spec = {
        "name": "h.example.com",
        "failurePolicy": failure_policy,
        "matchPolicy": "Equivalent",
        "rules": [
            {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}
        ],
        "matchConditions": [{"name": "may-list-secrets", "expression": expression}],
    }
    return matching.Hook("cfg/h.example.com/0", "cfg", spec)


def cm_attrs(namespace: str, user: UserInfo | None) -> Attributes:
    obj = {"metadata": {"name": "c", "namespace": namespace}}
    return Attributes(CONFIGMAPS, CREATE, namespace, "c", obj, None, user=user)


NAMESPACES = {
    "open": {"metadata": {"name": "open"}},
    "closed": {"metadata": {"name": "closed"}},
}


@pytest.mark.parametrize(
    ("namespace", "user", "called"),
    [
        pytest.param("open", UserInfo("alice", ("dev",)), True, id="allowed-user-calls"),
        pytest.param("closed", UserInfo("alice", ("dev",)), False, id="not-allowed-skips"),
        pytest.param("open", UserInfo("bob"), False, id="other-user-skips"),
        pytest.param("closed", None, True, id="server-write-calls"),
    ],
)
def test_match_conditions_ask_the_server_authorizer(
    namespace: str, user: UserInfo | None, called: bool
) -> None:
    authorize = cel_authorizer.for_authorizer(FakeServerAuthorizer())
    target = matching.should_call(
        hook(LIST_SECRETS + ".allowed()"), cm_attrs(namespace, user), NAMESPACES.get, authorize
    )
    assert (target is not None) is called


def test_match_conditions_without_authorizer_allow_everything() -> None:
    target = matching.should_call(
        hook(LIST_SECRETS + ".allowed()"), cm_attrs("closed", UserInfo("bob")), NAMESPACES.get
    )
    assert target is not None


def test_match_conditions_see_reason_and_error() -> None:
    reason = matching.should_call(
        hook(LIST_SECRETS + ".reason() == 'no rule allows it'"),
        cm_attrs("closed", UserInfo("alice")),
        NAMESPACES.get,
        cel_authorizer.for_authorizer(FakeServerAuthorizer()),
    )
    assert reason is not None
    broken = cel_authorizer.for_authorizer(FakeServerAuthorizer(fail=True))
    errored = matching.should_call(
        hook(LIST_SECRETS + ".errored() && " + LIST_SECRETS + ".error() == 'role cache not ready'"),
        cm_attrs("open", UserInfo("alice")),
        NAMESPACES.get,
        broken,
    )
    assert errored is not None
    not_allowed = matching.should_call(
        hook(LIST_SECRETS + ".allowed()"), cm_attrs("open", UserInfo("alice")), NAMESPACES.get, broken
    )
    assert not_allowed is None


# --- ValidatingAdmissionPolicy ------------------------------------------------------------------------

POLICY = compile_policy(
    {
        "metadata": {"name": "secret-listers-only"},
        "spec": {
            "validations": [
                {
                    "expression": LIST_SECRETS + ".allowed()",
                    "messageExpression": "'user ' + request.userInfo.username + ' may not list secrets'",
                }
            ],
            "auditAnnotations": [
                {"key": "why", "valueExpression": "authorizer.requestResource.check('create').reason()"}
            ],
        },
    }
)


def policy_run(namespace: str, user: dict[str, Any], authorize: cel_authz.AuthorizeFn) -> evaluate.Result:
    request = {
        "operation": "CREATE",
        "namespace": namespace,
        "name": "c",
        "resource": {"group": "", "version": "v1", "resource": "configmaps"},
        "requestResource": {"group": "", "version": "v1", "resource": "configmaps"},
        "userInfo": user,
    }
    inputs = evaluate.Inputs(None, None, request, {"metadata": {"name": namespace}}, None, authorize)
    return evaluate.validate(POLICY, inputs)


def test_policy_compiles_with_authorizer_library_types() -> None:
    assert [v.expression.error for v in POLICY.validations] == [None]
    bad = compile_policy(
        {"metadata": {"name": "p"}, "spec": {"validations": [{"expression": "authorizer.check('get')"}]}}
    )
    error = bad.validations[0].expression.error or ""
    assert "found no matching overload for 'check'" in error
    # messageExpression has no authorizer (upstream's environment leaves it out)
    no_authz = compile_policy(
        {
            "metadata": {"name": "p"},
            "spec": {
                "validations": [
                    {"expression": "true", "messageExpression": "authorizer.path('/x').check('get').reason()"}
                ]
            },
        }
    )
    message_expression = no_authz.validations[0].message_expression
    assert message_expression is not None
    assert "undeclared reference to 'authorizer'" in (message_expression.error or "")


@pytest.mark.parametrize(
    ("namespace", "user", "want"),
    [
        pytest.param("open", ALICE, [("Admit", "")], id="allowed-admits"),
        pytest.param("closed", ALICE, [("Deny", "user alice may not list secrets")], id="not-allowed-denies"),
        pytest.param(
            "open", {"username": "bob"}, [("Deny", "user bob may not list secrets")], id="other-user"
        ),
    ],
)
def test_policy_asks_the_server_authorizer(
    namespace: str, user: dict[str, Any], want: list[tuple[str, str]]
) -> None:
    fake = FakeServerAuthorizer()
    result = policy_run(namespace, user, cel_authorizer.for_authorizer(fake))
    assert [(d.action, d.message) for d in result.decisions] == want
    assert fake.asked[0].resource == "secrets" and fake.asked[0].verb == "list"
    # the audit annotation asked about the request's own resource
    assert any(a.resource == "configmaps" and a.verb == "create" for a in fake.asked)
    assert result.annotations == {"why": "no rule allows it"}


def test_policy_without_authorizer_allows_everything() -> None:
    result = policy_run("closed", {"username": "bob"}, cel_authz.allow_all)
    assert [d.action for d in result.decisions] == ["Admit"]


# --- wiring: the server's admission context carries its authorizer ------------------------------------


@pytest.mark.parametrize(
    ("mode", "user", "allowed"),
    [
        pytest.param("AlwaysAllow", {"username": "bob"}, True, id="always-allow"),
        pytest.param(
            "RBAC", {"username": "bob", "groups": ["system:authenticated"]}, False, id="rbac-no-bindings"
        ),
        pytest.param("RBAC", {"username": "root", "groups": ["system:masters"]}, True, id="rbac-masters"),
        pytest.param("AlwaysDeny", {"username": "bob"}, False, id="always-deny"),
    ],
)
def test_server_context_authorize_is_the_server_chain(
    tmp_path: Path, mode: str, user: dict[str, Any], allowed: bool
) -> None:
    server = APIServer(ServerConfig(data_dir=tmp_path, authorization_mode=mode), MemoryStorage())
    ctx = server.admission.ctx
    assert ctx is not None and ctx.authorize is not None
    decision = cel_authz.decide(
        cel_authz.authorizer_value(user, ctx.authorize),
        cel_attrs(user=user, verb="list", resource="secrets", namespace="default"),
    )
    assert (decision.decision == cel_authz.ALLOW) is allowed
    assert decision.error is None


def test_policy_authorizer_failure_is_a_decision_not_a_crash() -> None:
    def raising(user: cel_authz.UserInfo, attributes: cel_authz.Attributes) -> tuple[str, str]:
        raise errors.StatusError(500, "InternalError", "boom", {})

    result = policy_run("open", ALICE, raising)
    assert [d.action for d in result.decisions] == ["Deny"]
    assert result.annotations == {}
