"""Webhook matchConditions with the real authorizer library: typed at create, asked at admission."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes import cel
from kybernetes.apiserver.admission.plugins.webhook import matchconditions as mc
from kybernetes.cel.authz import Attributes, UserInfo

REQUEST: dict[str, Any] = {
    "operation": "UPDATE",
    "namespace": "team-a",
    "name": "web",
    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
    "requestResource": {"group": "apps", "version": "v1beta1", "resource": "deployments"},
    "subResource": "scale",
    "requestSubResource": "scale",
    "userInfo": {"username": "bob", "groups": ["dev"]},
}


class DenyDeletes:
    def __init__(self) -> None:
        self.asked: list[Attributes] = []

    def __call__(self, user: UserInfo, attributes: Attributes) -> tuple[str, str]:
        self.asked.append(attributes)
        return ("Deny", "no deletes") if attributes.verb == "delete" else ("Allow", "")


def conditions(*expressions: str) -> list[dict[str, Any]]:
    return [{"name": f"c{i}", "expression": e} for i, e in enumerate(expressions)]


def test_authorizer_expressions_compile_with_library_types() -> None:
    ok = conditions(
        "authorizer.group('').resource('secrets').namespace('a').check('get').allowed()",
        "authorizer.requestResource.check('delete').reason() == ''",
        "authorizer.path('/healthz').check('get').errored()",
    )
    assert mc.validate_match_conditions(ok, "webhooks[0].matchConditions") == []
    bad = mc.validate_match_conditions(conditions("authorizer.check('get')"), "webhooks[0].matchConditions")
    assert len(bad) == 1
    assert (
        "found no matching overload for 'check' applied to 'kubernetes.authorization.Authorizer.(string)'"
        in (bad[0].message)
    )


@pytest.mark.parametrize(
    ("expression", "matches"),
    [
        ("authorizer.requestResource.check('update').allowed()", True),
        ("authorizer.requestResource.check('delete').allowed()", False),
        (
            "!authorizer.group('').resource('secrets').namespace(request.namespace).check('delete').allowed()",
            True,
        ),
        ("authorizer.requestResource.check('delete').reason() == 'no deletes'", True),
    ],
)
def test_checks_go_to_the_callers_authorizer(expression: str, matches: bool) -> None:
    got = mc.evaluate(
        conditions(expression),
        failure_policy="Fail",
        obj=None,
        old=None,
        request=REQUEST,
        authorize=DenyDeletes(),
    )
    assert got.matches is matches


def test_request_resource_is_the_original_request() -> None:
    fake = DenyDeletes()
    mc.evaluate(
        conditions("authorizer.requestResource.check('patch').allowed()"),
        failure_policy="Fail",
        obj=None,
        old=None,
        request=REQUEST,
        authorize=fake,
    )
    (attrs,) = fake.asked
    assert attrs.user == REQUEST["userInfo"]
    assert (attrs.api_group, attrs.resource, attrs.subresource, attrs.namespace, attrs.name, attrs.verb) == (
        "apps",
        "deployments",
        "scale",
        "team-a",
        "web",
        "patch",
    )


def test_without_authorization_every_check_is_allowed() -> None:
    got = mc.evaluate(
        conditions("authorizer.requestResource.check('delete').allowed()"),
        failure_policy="Fail",
        obj=None,
        old=None,
        request={"operation": "CREATE"},
    )
    assert got == mc.MatchResult(True)


def test_authorizer_failure_is_an_errored_decision() -> None:
    def broken(user: UserInfo, attributes: Attributes) -> tuple[str, str]:
        raise ConnectionError("authorizer down")

    got = mc.evaluate(
        conditions("authorizer.requestResource.check('get').error() == 'authorizer down'"),
        failure_policy="Fail",
        obj=None,
        old=None,
        request=REQUEST,
        authorize=broken,
    )
    assert got.matches is True


def test_third_check_exceeds_the_match_condition_budget() -> None:
    expression = " && ".join(f"authorizer.path('/p{i}').check('get').allowed()" for i in range(3))
    got = mc.evaluate(conditions(expression), failure_policy="Fail", obj=None, old=None, request=REQUEST)
    assert got.error is not None and "cost limit exceeded" in got.error
    assert cel.compile(expression, variables=mc.VARIABLES).estimated_cost > mc.COST_BUDGET
