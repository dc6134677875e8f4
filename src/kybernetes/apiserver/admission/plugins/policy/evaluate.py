"""Evaluating one compiled policy for one (binding, param) against a request: pure.

Order and outcomes follow upstream's validator:
  1. matchConditions: any false skips the policy; otherwise errors make one decision under the
     failurePolicy (Fail: deny with the error, Ignore: admit); all true go on;
  2. validations in order, sharing one cost budget (10,000,000, upstream's
     RuntimeCELCostBudget); exhausting it ends evaluation with a single failure decision;
  3. a false validation denies with its message: the messageExpression's result when it is a
     non-empty single-line string (trimmed, at most 5 KiB), else ``message``, else
     ``failed expression: <expression>``; the reason is the validation's (default Invalid);
  4. an evaluation error is a failure decision (Fail) or an admit (Ignore);
  5. audit annotations: a non-empty string is published, null or "" is skipped, an error
     fails the request under Fail.

``variables`` are evaluated lazily, at most once per evaluation, when an expression first
reads them; their cost counts against the budget. ``authorizer`` and
``authorizer.requestResource`` are bound to the requesting user and the request's resource;
their checks go to ``Inputs.authorize`` (the server's authorizer; allow-all by default).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kybernetes import cel
from kybernetes.apiserver.admission.celexpr import Compiled
from kybernetes.apiserver.admission.plugins.policy.compiler import CompiledPolicy
from kybernetes.apiserver.admission.plugins.webhook.matchconditions import authorizer_variables
from kybernetes.cel import timeutil

Obj = dict[str, Any]

RUNTIME_COST_BUDGET = 10_000_000
MAX_MESSAGE_BYTES = 5 * 1024
OUT_OF_BUDGET = "validation failed due to running out of cost budget, no further validation rules will be run"

DENY = "Deny"
ADMIT = "Admit"


@dataclass(frozen=True, slots=True)
class Decision:
    action: str  # DENY or ADMIT
    message: str = ""
    reason: str = ""  # a StatusReason; "" means Invalid
    index: int = -1  # which validation (-1 for failures not tied to one)
    error: bool = False  # an evaluation/configuration error rather than a false validation


@dataclass(slots=True)
class Result:
    decisions: list[Decision] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    annotation_errors: list[str] = field(default_factory=list)  # deny whatever the binding's actions


class _OutOfBudget(Exception):
    pass


class _Budget:
    def __init__(self, total: int) -> None:
        self.remaining = total

    def spend(self, cost: int) -> None:
        if cost > self.remaining:
            raise _OutOfBudget()
        self.remaining -= cost


class LazyVariables:
    """The ``variables`` value: each variable is evaluated on first read, then remembered."""

    def __init__(self, compiled: list[tuple[str, Compiled]], budget: _Budget) -> None:
        self._compiled = dict(compiled)
        self._budget = budget
        self._values: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self.activation: dict[str, Any] = {}
        self.cost = 0  # spent by variables since the last take_cost()

    def take_cost(self) -> int:
        cost, self.cost = self.cost, 0
        return cost

    def cel_field(self, name: str) -> Any:
        if name in self._values:
            return self._values[name]
        if name in self._errors:
            raise cel.EvalError(self._errors[name])
        compiled = self._compiled.get(name)
        if compiled is None:
            raise cel.EvalError(f"no such key: {name}")
        if compiled.program is None:
            self._errors[name] = f'composited variable "{name}" fails to compile: {compiled.error}'
            raise cel.EvalError(self._errors[name])
        try:
            value, cost = compiled.program.evaluate_with_cost(
                self.activation, cost_limit=self._budget.remaining
            )
        except cel.CostLimitExceeded:
            self.cost += self._budget.remaining + 1
            raise
        except cel.EvalError as e:
            self._errors[name] = f'composited variable "{name}" fails to evaluate: {e}'
            raise cel.EvalError(self._errors[name]) from None
        self.cost += cost
        self._values[name] = value
        return value


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return timeutil.parse_timestamp(value)
        except ValueError:
            return value
    return value


_NAMESPACE_META = (
    "name",
    "generateName",
    "namespace",
    "labels",
    "annotations",
    "resourceVersion",
    "generation",
    "deletionGracePeriodSeconds",
    "finalizers",
)


def namespace_object(ns: Obj | None) -> Obj | None:
    """``namespaceObject``: the request's namespace trimmed to what upstream exposes."""
    if ns is None:
        return None
    meta = ns.get("metadata") if isinstance(ns.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    out_meta: Obj = {k: meta[k] for k in _NAMESPACE_META if k in meta}
    for k in ("creationTimestamp", "deletionTimestamp"):
        if k in meta:
            out_meta[k] = _timestamp(meta[k])
    status = dict(ns.get("status") or {})
    if isinstance(status.get("conditions"), list):
        status["conditions"] = [
            {**c, "lastTransitionTime": _timestamp(c.get("lastTransitionTime"))} if isinstance(c, dict) else c
            for c in status["conditions"]
        ]
    return {"metadata": out_meta, "spec": dict(ns.get("spec") or {}), "status": status}


@dataclass(frozen=True, slots=True)
class Inputs:
    object: Obj | None
    old_object: Obj | None
    request: Obj
    namespace: Obj | None  # the namespace object as stored (None for cluster-scoped requests)
    params: Obj | None = None
    authorize: cel.authz.AuthorizeFn = cel.authz.allow_all


def _activation(policy: CompiledPolicy, inputs: Inputs, variables: LazyVariables) -> dict[str, Any]:
    act: dict[str, Any] = {
        "object": inputs.object,
        "oldObject": inputs.old_object,
        "request": inputs.request,
        "namespaceObject": namespace_object(inputs.namespace),
        **authorizer_variables(inputs.request, inputs.authorize),
        "variables": variables,
    }
    if policy.has_params:
        act["params"] = inputs.params
    variables.activation = act
    return act


def _error_action(policy: CompiledPolicy) -> str:
    return ADMIT if policy.failure_policy == "Ignore" else DENY


def _run(
    compiled: Compiled, act: dict[str, Any], budget: _Budget, variables: LazyVariables
) -> tuple[Any, str | None]:
    """(value, error detail) of one expression; raises _OutOfBudget."""
    if compiled.program is None:
        return None, f"compilation error: {compiled.error}"
    try:
        value, cost = compiled.program.evaluate_with_cost(act, cost_limit=budget.remaining)
    except cel.CostLimitExceeded:
        raise _OutOfBudget() from None
    except cel.EvalError as e:
        budget.spend(variables.take_cost())
        return None, f"expression '{compiled.expression}' resulted in error: {e}"
    budget.spend(variables.take_cost() + cost)
    return value, None


def _match_conditions(
    policy: CompiledPolicy, act: dict[str, Any], budget: _Budget, variables: LazyVariables
) -> tuple[bool, str | None]:
    errs: list[str] = []
    for _name, compiled in policy.match_conditions:
        value, err = _run(compiled, act, budget, variables)
        if err is not None:
            errs.append(err)
        elif value is False:
            return False, None
    if errs:
        return True, errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"
    return True, None


def _message(validation: Any, message_value: Any) -> str:
    message = ""
    if isinstance(message_value, str):
        message = message_value.strip()
        if len(message.encode()) > MAX_MESSAGE_BYTES or "\n" in message:
            message = ""
    if not message and validation.message:
        message = validation.message.strip()
    if not message:
        message = f"failed expression: {validation.expression.expression.strip()}"
    return message


def validate(policy: CompiledPolicy, inputs: Inputs, *, budget: int = RUNTIME_COST_BUDGET) -> Result:
    """Decisions (one per validation) and audit annotations for one binding and param."""
    spend = _Budget(budget)
    variables = LazyVariables(policy.variables, spend)
    act = _activation(policy, inputs, variables)
    result = Result()
    try:
        if policy.match_conditions:
            matches, err = _match_conditions(policy, act, spend, variables)
            if err is not None:
                return Result([Decision(_error_action(policy), err, error=True)])
            if not matches:
                return result
        for i, v in enumerate(policy.validations):
            value, err = _run(v.expression, act, spend, variables)
            if err is not None:
                result.decisions.append(Decision(_error_action(policy), err, index=i, error=True))
            elif value is not True:
                message_value = None
                if v.message_expression is not None:
                    # A broken messageExpression falls back to the message; only running out of
                    # budget ends the evaluation.
                    message_value, _ = _run(v.message_expression, act, spend, variables)
                result.decisions.append(
                    Decision(DENY, _message(v, message_value), v.reason or "Invalid", index=i)
                )
            else:
                result.decisions.append(Decision(ADMIT, index=i))
        for key, compiled in policy.audit_annotations:
            value, err = _run(compiled, act, spend, variables)
            if err is None and value is not None and not isinstance(value, str):
                err = (
                    f"valueExpression '{compiled.expression}' resulted in unsupported return type: "
                    f"{cel_type_name(value)}. Return type must be either string or null."
                )
            if err is not None:
                if policy.failure_policy != "Ignore":
                    result.annotation_errors.append(err)
            elif isinstance(value, str) and value.strip():
                result.annotations[key] = value.strip()
    except _OutOfBudget:
        return Result([Decision(_error_action(policy), OUT_OF_BUDGET, error=True)])
    return result


def cel_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, dt.datetime):
        return "google.protobuf.Timestamp"
    return type(value).__name__
