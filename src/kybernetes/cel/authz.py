"""Kubernetes' CEL authorizer library: authorization checks from inside an expression.

Webhook matchConditions and ValidatingAdmissionPolicy expressions see an ``authorizer``
variable (and ``authorizer.requestResource``, the request's own resource) and can ask whether
the requesting user may do something else::

    authorizer.group('apps').resource('deployments').namespace('ns').name('web').check('update').allowed()
    authorizer.path('/healthz').check('get').reason()
    authorizer.serviceAccount('ns', 'builder').group('').resource('pods').check('create').errored()
    authorizer.requestResource.subresource('status').check('patch').error()
    authorizer.group('').resource('pods').fieldSelector('spec.nodeName=n1').labelSelector('a=b').check('list')

The values are immutable builders; ``check(verb)`` asks the caller's ``authorize(user_info,
attributes)`` callback, which returns ``(decision, reason)`` (or ``(decision, reason, error)``)
with decision ``"Allow"``, ``"Deny"`` or ``"NoOpinion"`` (a bool stands for Allow/Deny); an
exception from the callback becomes an errored decision. ``user_info`` is the AdmissionRequest
``userInfo`` shape (username, uid, groups, extra). Selectors are passed through as the raw
strings; parsing them into requirements is the authorizer's business.

A check costs 350000 (upstream's fixed price, so that at most two fit a 1,000,000 per-call
budget); building and reading cost 1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kybernetes.cel import types as t
from kybernetes.cel.errors import EvalError
from kybernetes.cel.stdlib import define
from kybernetes.cel.values import NoSuchOverload

AUTHORIZER = t.Type("kubernetes.authorization.Authorizer")
PATH_CHECK = t.Type("kubernetes.authorization.PathCheck")
GROUP_CHECK = t.Type("kubernetes.authorization.GroupCheck")
RESOURCE_CHECK = t.Type("kubernetes.authorization.ResourceCheck")
DECISION = t.Type("kubernetes.authorization.Decision")

# The declarations an environment with an authorizer adds to its variables.
VARIABLES: dict[str, t.Type] = {"authorizer": AUTHORIZER, "authorizer.requestResource": RESOURCE_CHECK}

ALLOW = "Allow"
DENY = "Deny"
NO_OPINION = "NoOpinion"
CHECK_COST = 350_000

UserInfo = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Attributes:
    """What one check asks about (upstream's authorizer.AttributesRecord)."""

    user: UserInfo
    verb: str
    resource_request: bool
    path: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    field_selector: str = ""
    label_selector: str = ""


AuthorizeFn = Callable[[UserInfo, Attributes], tuple[Any, ...]]


def allow_all(user_info: UserInfo, attributes: Attributes) -> tuple[str, str]:
    """The authorizer of a server without authorization: everything is allowed."""
    return ALLOW, ""


@dataclass(frozen=True, slots=True)
class AuthorizerValue:
    user: UserInfo = field(compare=False)
    authorize: AuthorizeFn = field(compare=False)

    cel_type = AUTHORIZER


@dataclass(frozen=True, slots=True)
class PathCheckValue:
    authorizer: AuthorizerValue
    path: str

    cel_type = PATH_CHECK


@dataclass(frozen=True, slots=True)
class GroupCheckValue:
    authorizer: AuthorizerValue
    group: str

    cel_type = GROUP_CHECK


@dataclass(frozen=True, slots=True)
class ResourceCheckValue:
    authorizer: AuthorizerValue
    group: str
    resource: str
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    field_selector: str = ""
    label_selector: str = ""

    cel_type = RESOURCE_CHECK


@dataclass(frozen=True, slots=True)
class DecisionValue:
    decision: str
    reason: str
    error: str | None

    cel_type = DECISION


def authorizer_value(user_info: UserInfo, authorize: AuthorizeFn = allow_all) -> AuthorizerValue:
    """The value of the ``authorizer`` variable for a request by `user_info`."""
    return AuthorizerValue(user_info, authorize)


def request_resource_value(
    authorizer: AuthorizerValue,
    *,
    group: str,
    resource: str,
    subresource: str = "",
    namespace: str = "",
    name: str = "",
) -> ResourceCheckValue:
    """The value of ``authorizer.requestResource``: a check of the request's own resource."""
    return ResourceCheckValue(authorizer, group, resource, subresource, namespace, name)


def activation(
    user_info: UserInfo,
    authorize: AuthorizeFn = allow_all,
    *,
    group: str,
    resource: str,
    subresource: str = "",
    namespace: str = "",
    name: str = "",
) -> dict[str, Any]:
    """Both authorizer variables, ready to merge into an evaluation's activation."""
    authorizer = authorizer_value(user_info, authorize)
    request = request_resource_value(
        authorizer, group=group, resource=resource, subresource=subresource, namespace=namespace, name=name
    )
    return {"authorizer": authorizer, "authorizer.requestResource": request}


# --- decisions ---------------------------------------------------------------------------------


def decide(authorizer: AuthorizerValue, attributes: Attributes) -> DecisionValue:
    """Ask the callback; whatever it does, the expression gets a decision value."""
    try:
        answer = authorizer.authorize(authorizer.user, attributes)
    except Exception as e:  # an authorizer failure is a decision, not a crash
        return DecisionValue(NO_OPINION, "", str(e) or type(e).__name__)
    decision, reason, error = _unpack(answer)
    return DecisionValue(decision, reason, error)


def _unpack(answer: Any) -> tuple[str, str, str | None]:
    if not isinstance(answer, tuple) or len(answer) not in (2, 3):
        return NO_OPINION, "", "authorizer returned an invalid answer"
    decision = answer[0]
    if isinstance(decision, bool):
        decision = ALLOW if decision else DENY
    reason = str(answer[1] or "")
    error = answer[2] if len(answer) == 3 else None
    return str(decision), reason, (str(error) if error else None)


# --- the CEL functions ------------------------------------------------------------------------

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _is_dns_label(s: str) -> bool:
    return len(s) <= 63 and _DNS_LABEL.match(s) is not None


def _is_dns_subdomain(s: str) -> bool:
    return 0 < len(s) <= 253 and all(_is_dns_label(part) for part in s.split("."))


def service_account_user(namespace: str, name: str) -> dict[str, Any]:
    """The user a service account authenticates as."""
    return {
        "username": f"system:serviceaccount:{namespace}:{name}",
        "uid": "",
        "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
    }


def _path(a: Any, path: Any) -> PathCheckValue:
    if type(a) is not AuthorizerValue or type(path) is not str:
        raise NoSuchOverload("path", a, path)
    if not path.strip():
        raise EvalError("path must not be empty")
    return PathCheckValue(a, path)


def _group(a: Any, group: Any) -> GroupCheckValue:
    if type(a) is not AuthorizerValue or type(group) is not str:
        raise NoSuchOverload("group", a, group)
    return GroupCheckValue(a, group)


def _service_account(a: Any, namespace: Any, name: Any) -> AuthorizerValue:
    if type(a) is not AuthorizerValue or type(namespace) is not str or type(name) is not str:
        raise NoSuchOverload("serviceAccount", a, namespace, name)
    if not _is_dns_subdomain(name):
        raise EvalError("Invalid service account name")
    if not _is_dns_label(namespace):
        raise EvalError("Invalid service account namespace")
    return AuthorizerValue(service_account_user(namespace, name), a.authorize)


def _resource(g: Any, resource: Any) -> ResourceCheckValue:
    if type(g) is not GroupCheckValue or type(resource) is not str:
        raise NoSuchOverload("resource", g, resource)
    if not resource.strip():
        raise EvalError("resource must not be empty")
    return ResourceCheckValue(g.authorizer, g.group, resource)


def _setter(function: str, attribute: str) -> Callable[[Any, Any], ResourceCheckValue]:
    def set_attribute(r: Any, value: Any) -> ResourceCheckValue:
        if type(r) is not ResourceCheckValue or type(value) is not str:
            raise NoSuchOverload(function, r, value)
        changed: ResourceCheckValue = replace(r, **{attribute: value})  # type: ignore[arg-type]
        return changed

    return set_attribute


def _check(c: Any, verb: Any) -> DecisionValue:
    if type(verb) is not str:
        raise NoSuchOverload("check", c, verb)
    if type(c) is PathCheckValue:
        attributes = Attributes(c.authorizer.user, verb, False, path=c.path)
        return decide(c.authorizer, attributes)
    if type(c) is ResourceCheckValue:
        attributes = Attributes(
            c.authorizer.user,
            verb,
            True,
            api_group=c.group,
            api_version="*",
            resource=c.resource,
            subresource=c.subresource,
            namespace=c.namespace,
            name=c.name,
            field_selector=c.field_selector,
            label_selector=c.label_selector,
        )
        return decide(c.authorizer, attributes)
    raise NoSuchOverload("check", c, verb)


def _decision(function: str, read: Callable[[DecisionValue], Any]) -> Callable[[Any], Any]:
    def accessor(d: Any) -> Any:
        if type(d) is not DecisionValue:
            raise NoSuchOverload(function, d)
        return read(d)

    return accessor


_A, _P, _G, _R, _D = (x.name for x in (AUTHORIZER, PATH_CHECK, GROUP_CHECK, RESOURCE_CHECK, DECISION))

define("path", _path, f"<{_A}>.path(string) -> {_P}")
define("group", _group, f"<{_A}>.group(string) -> {_G}")
define("serviceAccount", _service_account, f"<{_A}>.serviceAccount(string, string) -> {_A}")
define("resource", _resource, f"<{_G}>.resource(string) -> {_R}")
for _function, _attribute in (
    ("subresource", "subresource"),
    ("namespace", "namespace"),
    ("name", "name"),
    ("fieldSelector", "field_selector"),
    ("labelSelector", "label_selector"),
):
    define(_function, _setter(_function, _attribute), f"<{_R}>.{_function}(string) -> {_R}")
define(
    "check",
    _check,
    f"<{_P}>.check(string) -> {_D}",
    f"<{_R}>.check(string) -> {_D}",
    cost=lambda *args: CHECK_COST - 1,
)
define("allowed", _decision("allowed", lambda d: d.decision == ALLOW), f"<{_D}>.allowed() -> bool")
define("reason", _decision("reason", lambda d: d.reason), f"<{_D}>.reason() -> string")
define("errored", _decision("errored", lambda d: d.error is not None), f"<{_D}>.errored() -> bool")
define("error", _decision("error", lambda d: d.error or ""), f"<{_D}>.error() -> string")
