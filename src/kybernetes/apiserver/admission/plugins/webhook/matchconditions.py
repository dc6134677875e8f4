"""Webhook ``matchConditions``: CEL expressions that decide, per request, whether to call a webhook.

At create/update of a Mutating- or ValidatingWebhookConfiguration every condition must have a
qualified name (unique within the webhook), a non-empty ``expression`` that compiles to a bool
with the variables ``object``, ``oldObject``, ``request``, ``authorizer`` and
``authorizer.requestResource``, and a webhook may have at most 64 of them; errors have
upstream's paths and texts (``webhooks[0].matchConditions[0].expression: Invalid value:
"...": compilation failed: ERROR: ...``). ``object``, ``oldObject`` and ``request`` are declared
dyn: the checker cannot reject ``object.spec.foo`` here the way upstream's typed declarations
would for ``request``; the authorizer variables have the authorizer library's types.

At admission (``evaluate``, pure): conditions are evaluated in order with ``object`` /
``oldObject`` the request's objects as the webhook's chosen version shows them (null when
absent) and ``request`` the AdmissionRequest without them. Any false condition skips the
webhook (whatever errors others had); otherwise errors follow failurePolicy: Fail rejects the
request with 403 ``<resource> "<name>" is forbidden: expression '<expr>' resulted in error:
<err>``, Ignore skips the webhook; all true calls it.

``authorizer`` is the CEL authorizer library (``kybernetes.cel.authz``) bound to the requesting
user, and ``authorizer.requestResource`` to the request's own resource. Its checks go to the
``authorize`` callback of ``evaluate``; ``should_call`` passes the server's authorizer (the
admission context's ``authorize``, ``admission.cel_authorizer``), so a check answers as the
server would authorize that user's request; without one every check is allowed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from kybernetes import cel
from kybernetes.api.resources import Resource
from kybernetes.apiserver.admission import Attributes, celexpr
from kybernetes.apiserver.admission.celexpr import Compiled
from kybernetes.apiserver.admission.plugins.webhook import review
from kybernetes.machinery import errors
from kybernetes.machinery import validation as v
from kybernetes.machinery.errors import Cause

log = logging.getLogger(__name__)

Obj = dict[str, Any]

MAX_MATCH_CONDITIONS = 64
# upstream's RuntimeCELCostBudgetMatchConditions (also the per-call limit of its programs)
COST_BUDGET = 1_000_000
VARIABLES: dict[str, cel.Type] = {
    "object": cel.DYN,
    "oldObject": cel.DYN,
    "request": cel.DYN,
    **cel.authz.VARIABLES,
}


@lru_cache(maxsize=1024)
def compile_expression(expression: str) -> Compiled:
    """A condition's program, compiled once per distinct expression."""
    return celexpr.compile_expression(expression, VARIABLES, celexpr.BOOL_RESULT)


# --- validation of a webhook's conditions ----------------------------------------------------------


def validate_match_conditions(conditions: Any, path: str) -> list[Cause]:
    """Upstream's validateMatchConditions for one webhook's ``matchConditions`` at `path`."""
    if not isinstance(conditions, list):
        return []
    out: list[Cause] = []
    if len(conditions) > MAX_MATCH_CONDITIONS:
        out.append(
            Cause(
                "FieldValueTooMany",
                f"Too many: {len(conditions)}: must have at most {MAX_MATCH_CONDITIONS} items",
                path,
            )
        )
    names: set[str] = set()
    for i, cond in enumerate(conditions):
        cpath = f"{path}[{i}]"
        cond = cond if isinstance(cond, dict) else {}
        expression = str(cond.get("expression") or "")
        trimmed = expression.strip()
        if not trimmed:
            out.append(v.required(f"{cpath}.expression"))
        else:
            compiled = compile_expression(trimmed)
            if compiled.error is not None:
                out.append(v.invalid(f"{cpath}.expression", trimmed, compiled.error))
        name = cond.get("name")
        if not name:
            out.append(v.required(f"{cpath}.name"))
        else:
            out += [v.invalid(f"{cpath}.name", name, msg) for msg in v.is_qualified_name(str(name))]
            if name in names:
                out.append(v.duplicate(f"{cpath}.name", name))
            names.add(str(name))
    return out


# --- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MatchResult:
    matches: bool
    error: str | None = None  # set only when failurePolicy Fail turns evaluation errors into a rejection
    failed_condition: str = ""


def authorizer_variables(request: Obj, authorize: cel.authz.AuthorizeFn) -> dict[str, Any]:
    """``authorizer`` for the requesting user and ``authorizer.requestResource`` for the resource
    the request was made to (before any conversion to the webhook's version)."""
    resource = request.get("requestResource") or request.get("resource") or {}
    subresource = request.get("requestSubResource", request.get("subResource"))
    return cel.authz.activation(
        request.get("userInfo") or {},
        authorize,
        group=str(resource.get("group") or ""),
        resource=str(resource.get("resource") or ""),
        subresource=str(subresource or ""),
        namespace=str(request.get("namespace") or ""),
        name=str(request.get("name") or ""),
    )


def evaluate(
    conditions: list[Any],
    *,
    failure_policy: str,
    obj: Obj | None,
    old: Obj | None,
    request: Obj,
    authorize: cel.authz.AuthorizeFn = cel.authz.allow_all,
) -> MatchResult:
    """Whether a webhook with these conditions should be called for this request."""
    activation: dict[str, Any] = {
        "object": obj,
        "oldObject": old,
        "request": request,
        **authorizer_variables(request, authorize),
    }
    errors: list[str] = []
    for cond in conditions:
        if not isinstance(cond, dict):
            continue
        expression = str(cond.get("expression") or "").strip()
        compiled = compile_expression(expression)
        if compiled.program is None:
            errors.append(compiled.error or "")
            continue
        try:
            result = compiled.program.evaluate(activation, cost_limit=COST_BUDGET)
        except cel.EvalError as e:
            errors.append(f"expression '{expression}' resulted in error: {e}")
            continue
        if result is False:
            return MatchResult(False, None, str(cond.get("name") or ""))
    if errors:
        if failure_policy == "Ignore":
            return MatchResult(False)
        return MatchResult(False, errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
    return MatchResult(True)


def admission_request(attrs: Attributes, target: Resource, namespace: str) -> Obj:
    """The ``request`` variable: the AdmissionRequest a webhook would get, without the objects."""
    request = dict(
        review.build_request(attrs, uid="", target=target, version="v1", namespace=namespace)["request"]
    )
    for key in ("uid", "object", "oldObject"):
        request.pop(key, None)
    return request


def forbidden(attrs: Attributes, detail: str) -> errors.StatusError:
    """upstream's NewForbidden for the request's resource, used when conditions fail to evaluate."""
    r = attrs.resource
    qualified = f"{r.plural}.{r.group}" if r.group else r.plural
    where = f"{qualified} {v.go_quote(attrs.name)}" if attrs.name else qualified
    details: Obj = {"kind": r.plural}
    if attrs.name:
        details["name"] = attrs.name
    if r.group:
        details["group"] = r.group
    return errors.StatusError(403, "Forbidden", f"{where} is forbidden: {detail}", details)


def should_call(
    spec: Obj,
    attrs: Attributes,
    target: Resource,
    namespace: str,
    authorize: cel.authz.AuthorizeFn = cel.authz.allow_all,
) -> bool:
    """Whether the webhook's matchConditions let it be called; raises 403 Forbidden when they
    cannot be evaluated and failurePolicy is Fail. `authorize` answers the ``authorizer`` checks."""
    conditions = spec.get("matchConditions")
    if not isinstance(conditions, list) or not conditions:
        return True
    result = evaluate(
        conditions,
        failure_policy=str(spec.get("failurePolicy") or "Fail"),
        obj=review.to_version(attrs.obj, attrs.resource, target),
        old=review.to_version(attrs.old, attrs.resource, target),
        request=admission_request(attrs, target, namespace),
        authorize=authorize,
    )
    if result.error is not None:
        log.warning(
            "Failed evaluating match conditions, failing closed %s: %s", spec.get("name"), result.error
        )
        raise forbidden(attrs, result.error)
    return result.matches
