"""Compiling a ValidatingAdmissionPolicy's CEL: one pass shared by the API (reject a broken
policy at create) and the admission plugin (evaluate it per request).

Environments, as upstream's admission CEL compiler declares them:
  - every expression sees ``object``, ``oldObject`` (dyn), ``request`` (a typed
    AdmissionRequest: a typo such as ``request.usr`` fails to compile) and ``namespaceObject``
    (a typed, trimmed Namespace);
  - ``params`` (dyn) only when the policy has a ``paramKind``;
  - ``authorizer`` / ``authorizer.requestResource`` everywhere except in ``messageExpression``;
  - ``variables`` only when the policy declares variables. They compile in order and each
    one sees only the ones before it (``variables.<later>`` is an undefined field).
    ``matchConditions`` never see variables (upstream validates them without composition).

Result types: validations and match conditions must be ``bool``, a messageExpression
``string``, an audit annotation's valueExpression ``string`` or ``null``; anything else
fails with upstream's ``must evaluate to bool but got dyn`` — so ``object.spec.paused``
alone is rejected, ``object.spec.paused == true`` is not.

``authorizer`` and ``authorizer.requestResource`` have the CEL authorizer library's types
(``kybernetes.cel.authz``): ``authorizer.group('').resource('secrets').check('list').allowed()``
compiles, ``authorizer.check('get')`` does not. At admission they ask the server's authorizer
for the requesting user (``evaluate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kybernetes import cel
from kybernetes.apiserver.admission.celexpr import (
    ANNOTATION_RESULT,
    BOOL_RESULT,
    STRING_RESULT,
    Compiled,
    compile_expression,
)

Obj = dict[str, Any]

_S = cel.STRING


def _request_type() -> cel.Type:
    gvk = cel.ObjectType("kubernetes.GroupVersionKind", {"group": _S, "version": _S, "kind": _S})
    gvr = cel.ObjectType("kubernetes.GroupVersionResource", {"group": _S, "version": _S, "resource": _S})
    user = cel.ObjectType(
        "kubernetes.UserInfo",
        {
            "username": _S,
            "uid": _S,
            "groups": cel.ListType(_S),
            "extra": cel.MapType(_S, cel.ListType(_S)),
        },
    )
    return cel.ObjectType(
        "kubernetes.AdmissionRequest",
        {
            "kind": gvk,
            "resource": gvr,
            "subResource": _S,
            "requestKind": gvk,
            "requestResource": gvr,
            "requestSubResource": _S,
            "name": _S,
            "namespace": _S,
            "operation": _S,
            "userInfo": user,
            "dryRun": cel.BOOL,
            "options": cel.DYN,
        },
    )


def _namespace_type() -> cel.Type:
    strings = cel.ListType(_S)
    labels = cel.MapType(_S, _S)
    condition = cel.ObjectType(
        "kubernetes.NamespaceCondition",
        {
            "status": _S,
            "type": _S,
            "lastTransitionTime": cel.TIMESTAMP,
            "message": _S,
            "reason": _S,
        },
    )
    metadata = cel.ObjectType(
        "kubernetes.NamespaceMetadata",
        {
            "name": _S,
            "generateName": _S,
            "namespace": _S,
            "labels": labels,
            "annotations": labels,
            "UID": _S,
            "creationTimestamp": cel.TIMESTAMP,
            "deletionGracePeriodSeconds": cel.INT,
            "deletionTimestamp": cel.TIMESTAMP,
            "generation": cel.INT,
            "resourceVersion": _S,
            "finalizers": strings,
        },
    )
    return cel.ObjectType(
        "kubernetes.Namespace",
        {
            "metadata": metadata,
            "spec": cel.ObjectType("kubernetes.NamespaceSpec", {"finalizers": strings}),
            "status": cel.ObjectType(
                "kubernetes.NamespaceStatus",
                {
                    "conditions": cel.ListType(condition),
                    "phase": _S,
                },
            ),
        },
    )


REQUEST_TYPE = _request_type()
NAMESPACE_TYPE = _namespace_type()
VARIABLES_TYPE_NAME = "kubernetes.variables"


def declarations(
    *, params: bool, authorizer: bool, variables: dict[str, cel.Type] | None
) -> dict[str, cel.Type]:
    """The variables an expression of a policy may use."""
    decls: dict[str, cel.Type] = {
        "object": cel.DYN,
        "oldObject": cel.DYN,
        "request": REQUEST_TYPE,
        "namespaceObject": NAMESPACE_TYPE,
    }
    if params:
        decls["params"] = cel.DYN
    if authorizer:
        decls.update(cel.authz.VARIABLES)
    if variables is not None:
        decls["variables"] = cel.ObjectType(VARIABLES_TYPE_NAME, dict(variables))
    return decls


@dataclass(slots=True)
class CompiledValidation:
    expression: Compiled
    message: str
    reason: str
    message_expression: Compiled | None


@dataclass(slots=True)
class CompiledPolicy:
    """Everything the plugin evaluates for one generation of a policy."""

    name: str
    failure_policy: str
    has_params: bool
    variables: list[tuple[str, Compiled]] = field(default_factory=list)
    match_conditions: list[tuple[str, Compiled]] = field(default_factory=list)
    validations: list[CompiledValidation] = field(default_factory=list)
    audit_annotations: list[tuple[str, Compiled]] = field(default_factory=list)


def _items(value: Any) -> list[Obj]:
    return [v if isinstance(v, dict) else {} for v in value] if isinstance(value, list) else []


def compile_policy(policy: Obj) -> CompiledPolicy:
    """Compile every expression of a (defaulted) policy; errors are kept per expression."""
    spec = policy.get("spec") if isinstance(policy.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    has_params = isinstance(spec.get("paramKind"), dict)
    out = CompiledPolicy(
        name=str((policy.get("metadata") or {}).get("name") or ""),
        failure_policy=str(spec.get("failurePolicy") or "Fail"),
        has_params=has_params,
    )
    declared_variables = _items(spec.get("variables"))
    seen: dict[str, cel.Type] | None = {} if declared_variables else None
    for var in declared_variables:
        assert seen is not None
        name = str(var.get("name") or "")
        decls = declarations(params=has_params, authorizer=True, variables=seen)
        compiled = compile_expression(str(var.get("expression") or ""), decls, None)
        out.variables.append((name, compiled))
        seen = {**seen, name: compiled.output_type}
    full = declarations(params=has_params, authorizer=True, variables=seen)
    for cond in _items(spec.get("matchConditions")):
        expression = str(cond.get("expression") or "").strip()
        decls = declarations(params=has_params, authorizer=True, variables=None)
        out.match_conditions.append(
            (str(cond.get("name") or ""), compile_expression(expression, decls, BOOL_RESULT))
        )
    message_decls = declarations(params=has_params, authorizer=False, variables=seen)
    for v in _items(spec.get("validations")):
        message_expression = str(v.get("messageExpression") or "")
        out.validations.append(
            CompiledValidation(
                expression=compile_expression(str(v.get("expression") or ""), full, BOOL_RESULT),
                message=str(v.get("message") or ""),
                reason=str(v.get("reason") or ""),
                message_expression=(
                    compile_expression(message_expression, message_decls, STRING_RESULT)
                    if message_expression.strip()
                    else None
                ),
            )
        )
    for a in _items(spec.get("auditAnnotations")):
        expression = str(a.get("valueExpression") or "").strip()
        out.audit_annotations.append(
            (str(a.get("key") or ""), compile_expression(expression, full, ANNOTATION_RESULT))
        )
    return out
