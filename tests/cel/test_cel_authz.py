"""The authorizer library, evaluated through a fake authorizer, and the Library extension API."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes import cel
from kybernetes.cel.authz import Attributes, UserInfo

USER = {"username": "alice", "uid": "1", "groups": ["dev"]}


class FakeAuthorizer:
    """Denies deletes, fails on 'explode', has no opinion on 'escalate'; records every ask."""

    def __init__(self) -> None:
        self.asked: list[tuple[UserInfo, Attributes]] = []

    def __call__(self, user: UserInfo, attributes: Attributes) -> tuple[Any, ...]:
        self.asked.append((user, attributes))
        if attributes.verb == "explode":
            raise RuntimeError("webhook authorizer unreachable")
        if attributes.verb == "delete":
            return cel.authz.DENY, "deletes are denied"
        if attributes.verb == "escalate":
            return cel.authz.NO_OPINION, "", "no rule matched"
        return cel.authz.ALLOW, "allowed by test"


def run(expr: str) -> tuple[Any, FakeAuthorizer]:
    fake = FakeAuthorizer()
    activation = cel.authz.activation(
        USER, fake, group="apps", resource="deployments", subresource="scale", namespace="ns", name="web"
    )
    program = cel.compile(expr, variables=cel.authz.VARIABLES)
    return program.evaluate(activation), fake


RESOURCE = "authorizer.group('apps').resource('deployments').namespace('ns').name('web')"
EVALS = [
    (f"{RESOURCE}.check('update').allowed()", True),
    (f"{RESOURCE}.check('update').reason()", "allowed by test"),
    (f"{RESOURCE}.check('delete').allowed()", False),
    (f"{RESOURCE}.check('delete').reason()", "deletes are denied"),
    (f"{RESOURCE}.check('delete').errored()", False),
    (f"{RESOURCE}.check('explode').errored()", True),
    (f"{RESOURCE}.check('explode').error()", "webhook authorizer unreachable"),
    (f"{RESOURCE}.check('explode').allowed()", False),
    (f"{RESOURCE}.check('escalate').error()", "no rule matched"),
    ("authorizer.path('/healthz').check('get').allowed()", True),
    ("authorizer.requestResource.check('update').allowed()", True),
    ("authorizer.requestResource.subresource('').check('delete').reason()", "deletes are denied"),
    ("authorizer.serviceAccount('kube-system', 'builder').path('/x').check('get').allowed()", True),
    ("type(authorizer) == type(authorizer)", True),
]


@pytest.mark.parametrize(("expr", "want"), EVALS, ids=[e for e, _ in EVALS])
def test_evaluate(expr: str, want: Any) -> None:
    assert run(expr)[0] == want


def test_resource_attributes_reach_the_authorizer() -> None:
    _, fake = run(
        f"{RESOURCE}.subresource('status').fieldSelector('a=b').labelSelector('x in (y)').check('patch')"
    )
    user, attrs = fake.asked[-1]
    assert user == USER
    assert attrs == Attributes(
        USER,
        "patch",
        True,
        api_group="apps",
        api_version="*",
        resource="deployments",
        subresource="status",
        namespace="ns",
        name="web",
        field_selector="a=b",
        label_selector="x in (y)",
    )


def test_request_resource_is_the_request() -> None:
    _, fake = run("authorizer.requestResource.check('create')")
    attrs = fake.asked[-1][1]
    assert (attrs.api_group, attrs.resource, attrs.subresource, attrs.namespace, attrs.name) == (
        "apps",
        "deployments",
        "scale",
        "ns",
        "web",
    )


def test_path_check_and_service_account_user() -> None:
    _, fake = run("authorizer.serviceAccount('ns1', 'sa').path('/metrics').check('get')")
    user, attrs = fake.asked[-1]
    assert user["username"] == "system:serviceaccount:ns1:sa"
    assert user["groups"] == ["system:serviceaccounts", "system:serviceaccounts:ns1"]
    assert (attrs.resource_request, attrs.path, attrs.verb) == (False, "/metrics", "get")


@pytest.mark.parametrize(
    ("expr", "error"),
    [
        ("authorizer.path(' ').check('get')", "path must not be empty"),
        ("authorizer.group('').resource('').check('get')", "resource must not be empty"),
        (
            "authorizer.serviceAccount('Bad_NS', 'ok').path('/').check('get')",
            "Invalid service account namespace",
        ),
        ("authorizer.serviceAccount('ns', 'bad!').path('/').check('get')", "Invalid service account name"),
    ],
)
def test_evaluation_errors(expr: str, error: str) -> None:
    with pytest.raises(cel.EvalError, match=error):
        run(expr)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (
            "authorizer.check('get')",
            "found no matching overload for 'check' applied to 'kubernetes.authorization.Authorizer.(string)'",
        ),
        (
            "authorizer.group('').check('get')",
            "found no matching overload for 'check' applied to 'kubernetes.authorization.GroupCheck.(string)'",
        ),
        (
            "authorizer.path('/').check('get') == true",
            "found no matching overload for '_==_' applied to '(kubernetes.authorization.Decision, bool)'",
        ),
    ],
)
def test_checker_knows_the_types(expr: str, message: str) -> None:
    with pytest.raises(cel.CompileError) as info:
        cel.compile(expr, variables=cel.authz.VARIABLES)
    assert message in str(info.value)


def test_output_types() -> None:
    compiled = cel.compile("authorizer.requestResource.check('get')", variables=cel.authz.VARIABLES)
    assert compiled.output_type == cel.authz.DECISION


def test_allow_all_is_the_default() -> None:
    activation = cel.authz.activation(USER, group="", resource="pods")
    program = cel.compile("authorizer.path('/').check('delete').allowed()", variables=cel.authz.VARIABLES)
    assert program.evaluate(activation) is True


def test_comprehension_variable_shadows_a_dotted_declaration() -> None:
    program = cel.compile(
        "[{'requestResource': 1}].all(authorizer, authorizer.requestResource == 1)",
        variables=cel.authz.VARIABLES,
    )
    assert program.evaluate(cel.authz.activation(USER, group="", resource="pods")) is True


# --- Library ------------------------------------------------------------------------------------


def test_library_adds_functions_and_variables() -> None:
    lib = (
        cel.Library("test.twice")
        .variable("limits.max", cel.INT)
        .function("twice", lambda x: x * 2, "twice(int) -> int", "<int>.twice() -> int")
    )
    program = cel.compile("twice(2) == 4 && 3.twice() < limits.max", variables={}, libraries=[lib])
    assert program.output_type == cel.BOOL
    assert program.evaluate({"limits.max": 10}) is True
    with pytest.raises(cel.CompileError, match="undeclared reference to 'twice'"):
        cel.compile("twice(2) == 4", variables={})


def test_library_overloads_an_existing_name() -> None:
    def size_of_int(x: Any) -> int:
        if type(x) is not int:
            raise cel.EvalError("no such overload")
        return 8

    lib = cel.Library("test.size").function("size", size_of_int, "size(int) -> int")
    program = cel.compile("size(1) + size('abc')", variables={}, libraries=[lib])
    assert program.evaluate({}) == 11


def test_caller_declarations_win_over_library_ones() -> None:
    lib = cel.Library("test.vars").variable("x", cel.INT)
    program = cel.compile("x + 'a'", variables={"x": cel.STRING}, libraries=[lib])
    assert program.evaluate({"x": "b"}) == "ba"
