"""Strategies of ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
(admissionregistration.k8s.io/v1): upstream's defaults and validation.

A policy is rejected at create when any of its CEL expressions does not compile or has the
wrong result type (``spec.validations[0].expression: Invalid value: "...": compilation
failed: ERROR: <input>:1:...``), with every other upstream rule: failurePolicy, paramKind,
matchConstraints (with at least one resourceRule), matchConditions, variables (CEL
identifiers; each sees the ones before it), messageExpression, message, reason,
auditAnnotations. A binding needs a policyName, a valid paramRef and validationActions
(Deny, Warn and Audit; never both Deny and Warn). The upstream misspelling of the binding's
``spec.matchResouces`` error path is kept (clients see upstream's paths).

Compiling here and in the admission plugin is one function (``policy.compiler``), so what the
API accepts is exactly what the plugin can run. ``status.typeChecking`` is not computed.
"""

from __future__ import annotations

import re
from typing import Any

from kybernetes.apiserver.admission import celexpr
from kybernetes.apiserver.admission.plugins.policy import compiler
from kybernetes.apiserver.strategies.admissionregistration import validate_rule
from kybernetes.apiserver.strategies.base import KindStrategy
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.cel.lexer import is_identifier
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    duplicate,
    forbidden,
    go_quote,
    index,
    invalid,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_valid_path_segment_name,
    name_is_dns_subdomain,
    not_supported,
    required,
    validate_label_selector,
)

FAILURE_POLICIES = ("Fail", "Ignore")
MATCH_POLICIES = ("Equivalent", "Exact")
VALIDATION_ACTIONS = ("Audit", "Deny", "Warn")
REASONS = ("Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized")
NOT_FOUND_ACTIONS = ("Deny", "Allow")
MAX_MATCH_CONDITIONS = 64
MAX_AUDIT_ANNOTATIONS = 20
MAX_VALUE_EXPRESSION_BYTES = 5 * 1024


def _dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- defaults ----------------------------------------------------------------------------------
def default_match_resources(mr: Obj) -> None:
    """SetDefaults_MatchResources, plus scope "*" on every rule (SetDefaults_Rule)."""
    mr.setdefault("matchPolicy", "Equivalent")
    if mr.get("namespaceSelector") is None:
        mr["namespaceSelector"] = {}
    if mr.get("objectSelector") is None:
        mr["objectSelector"] = {}
    for key in ("resourceRules", "excludeResourceRules"):
        for rule in _list(mr.get(key)):
            if isinstance(rule, dict) and not rule.get("scope"):
                rule["scope"] = "*"


# --- shared pieces -----------------------------------------------------------------------------
def validate_match_resources(mr: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    mp = mr.get("matchPolicy")
    if mp is None:
        causes.append(required(child(path, "matchPolicy")))
    elif mp not in MATCH_POLICIES:
        causes.append(not_supported(child(path, "matchPolicy"), mp, MATCH_POLICIES))
    for sel in ("namespaceSelector", "objectSelector"):
        if mr.get(sel) is None:
            causes.append(required(child(path, sel)))
        else:
            causes += validate_label_selector(_dict(mr[sel]), child(path, sel))
    for key in ("resourceRules", "excludeResourceRules"):
        for i, rule in enumerate(_list(mr.get(key))):
            causes += validate_named_rule(_dict(rule), index(child(path, key), i))
    return causes


def validate_named_rule(rule: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, name in enumerate(_list(rule.get("resourceNames"))):
        p = index(child(path, "resourceNames"), i)
        causes += [invalid(p, name, m) for m in is_valid_path_segment_name(str(name))]
        if name in seen:
            causes.append(duplicate(p, name))
        seen.add(str(name))
    return causes + validate_rule(rule, path)


# --- policy --------------------------------------------------------------------------------------
def validate_param_kind(pk: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    api_version = str(pk.get("apiVersion") or "")
    p = child(path, "apiVersion")
    if not api_version:
        causes.append(required(p))
    elif api_version.count("/") > 1:
        causes.append(invalid(p, api_version, f"unexpected GroupVersion string: {api_version}"))
    elif api_version != "/":
        group, _, version = api_version.rpartition("/")
        if group:
            errs = is_dns1123_subdomain(group)
            if errs:
                causes.append(invalid(p, group, ",".join(errs)))
        if not version:
            causes.append(invalid(p, api_version, "version must be specified"))
        else:
            errs = is_dns1035_label(version)
            if errs:
                causes.append(invalid(p, version, ",".join(errs)))
    kind = str(pk.get("kind") or "")
    if not kind:
        causes.append(required(child(path, "kind")))
    else:
        errs = is_dns1035_label(kind.lower())
        if errs:
            causes.append(
                invalid(
                    child(path, "kind"),
                    kind,
                    "may have mixed case, but should otherwise match: " + ",".join(errs),
                )
            )
    return causes


def _compile_cause(path: str, compiled: celexpr.Compiled) -> list[Cause]:
    if compiled.error is None:
        return []
    return [invalid(path, compiled.expression, compiled.error)]


def validate_match_conditions(
    conditions: list[Any], compiled: compiler.CompiledPolicy, path: str
) -> list[Cause]:
    causes: list[Cause] = []
    if len(conditions) > MAX_MATCH_CONDITIONS:
        causes.append(
            Cause(
                "FieldValueTooMany",
                f"Too many: {len(conditions)}: must have at most {MAX_MATCH_CONDITIONS} items",
                path,
            )
        )
    names: set[str] = set()
    for i, cond in enumerate(conditions):
        cond, cpath = _dict(cond), index(path, i)
        if not str(cond.get("expression") or "").strip():
            causes.append(required(child(cpath, "expression")))
        elif i < len(compiled.match_conditions):
            causes += _compile_cause(child(cpath, "expression"), compiled.match_conditions[i][1])
        name = str(cond.get("name") or "")
        if not name:
            causes.append(required(child(cpath, "name")))
        else:
            causes += [invalid(child(cpath, "name"), name, m) for m in is_qualified_name(name)]
            if name in names:
                causes.append(duplicate(child(cpath, "name"), name))
            names.add(name)
    return causes


def validate_variables(variables: list[Any], compiled: compiler.CompiledPolicy, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for i, var in enumerate(variables):
        var, vpath = _dict(var), index(path, i)
        name = str(var.get("name") or "")
        if not name.strip():
            causes.append(required(child(vpath, "name"), "name is not specified"))
        elif not is_identifier(name):
            causes.append(invalid(child(vpath, "name"), name, "name is not a valid CEL identifier"))
        if not str(var.get("expression") or "").strip():
            causes.append(required(child(vpath, "expression"), "expression is not specified"))
        elif i < len(compiled.variables):
            causes += _compile_cause(child(vpath, "expression"), compiled.variables[i][1])
    return causes


def validate_validation(v: Obj, compiled: compiler.CompiledValidation | None, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not str(v.get("expression") or "").strip():
        causes.append(required(child(path, "expression"), "expression is not specified"))
    elif compiled is not None:
        causes += _compile_cause(child(path, "expression"), compiled.expression)
    message_expression = str(v.get("messageExpression") or "")
    if message_expression and not message_expression.strip():
        causes.append(
            invalid(child(path, "messageExpression"), message_expression, "must be non-empty if specified")
        )
    elif compiled is not None and compiled.message_expression is not None:
        causes += _compile_cause(child(path, "messageExpression"), compiled.message_expression)
    message = str(v.get("message") or "")
    if message and not message.strip():
        causes.append(invalid(child(path, "message"), message, "message must be non-empty if specified"))
    elif re.search(r"[\n\r]", message.strip()):
        causes.append(invalid(child(path, "message"), message, "message must not contain line breaks"))
    reason = v.get("reason")
    if reason is not None and reason not in REASONS:
        causes.append(not_supported(child(path, "reason"), reason, REASONS))
    return causes


def validate_audit_annotations(
    annotations: list[Any], policy_name: str, compiled: compiler.CompiledPolicy, path: str
) -> list[Cause]:
    causes: list[Cause] = []
    if len(annotations) > MAX_AUDIT_ANNOTATIONS:
        causes.append(
            invalid(path, annotations, f"must not have more than {MAX_AUDIT_ANNOTATIONS} auditAnnotations")
        )
    keys: set[str] = set()
    for i, a in enumerate(annotations):
        a, apath = _dict(a), index(path, i)
        key = str(a.get("key") or "")
        if policy_name:
            qualified = f"{policy_name}/{key}"
            causes += [invalid(child(apath, "key"), qualified, m) for m in is_qualified_name(qualified)]
        else:
            causes.append(invalid(child(apath, "key"), key, "requires metadata.name be non-empty"))
        value_expression = str(a.get("valueExpression") or "").strip()
        if not value_expression:
            causes.append(required(child(apath, "valueExpression"), "valueExpression is not specified"))
        elif len(value_expression.encode()) > MAX_VALUE_EXPRESSION_BYTES:
            causes.append(
                required(
                    child(apath, "valueExpression"),
                    f"must not exceed {MAX_VALUE_EXPRESSION_BYTES} bytes in length",
                )
            )
        elif i < len(compiled.audit_annotations):
            err = compiled.audit_annotations[i][1]
            if err.error is not None:
                causes.append(invalid(child(apath, "valueExpression"), a.get("valueExpression"), err.error))
        if key in keys:
            causes.append(duplicate(child(apath, "key"), key))
        keys.add(key)
    return causes


def validate_policy(obj: Obj, old: Obj | None = None) -> list[Cause]:
    """ValidateValidatingAdmissionPolicy (and its update form, which skips unchanged
    matchConditions when paramKind is unchanged too)."""
    spec = _dict(obj.get("spec"))
    path = "spec"
    compiled = compiler.compile_policy(obj)
    causes: list[Cause] = []
    fp = spec.get("failurePolicy")
    if fp is None:
        causes.append(required(child(path, "failurePolicy")))
    elif fp not in FAILURE_POLICIES:
        causes.append(not_supported(child(path, "failurePolicy"), fp, FAILURE_POLICIES))
    if spec.get("paramKind") is not None:
        causes += validate_param_kind(_dict(spec["paramKind"]), child(path, "paramKind"))
    mc = spec.get("matchConstraints")
    if mc is None:
        causes.append(required(child(path, "matchConstraints")))
    else:
        causes += validate_match_resources(_dict(mc), child(path, "matchConstraints"))
        if not _list(_dict(mc).get("resourceRules")):
            causes.append(required(child(path, "matchConstraints", "resourceRules")))
    old_spec = _dict((old or {}).get("spec"))
    unchanged = (
        old is not None
        and old_spec.get("paramKind") == spec.get("paramKind")
        and old_spec.get("matchConditions") == spec.get("matchConditions")
    )
    if not unchanged:
        causes += validate_match_conditions(
            _list(spec.get("matchConditions")), compiled, child(path, "matchConditions")
        )
    causes += validate_variables(_list(spec.get("variables")), compiled, child(path, "variables"))
    validations, annotations = _list(spec.get("validations")), _list(spec.get("auditAnnotations"))
    if not validations and not annotations:
        msg = "validations or auditAnnotations must contain at least one item"
        causes += [required(child(path, "validations"), msg), required(child(path, "auditAnnotations"), msg)]
    else:
        for i, v in enumerate(validations):
            c = compiled.validations[i] if i < len(compiled.validations) else None
            causes += validate_validation(_dict(v), c, index(child(path, "validations"), i))
        policy_name = str(_dict(obj.get("metadata")).get("name") or "")
        causes += validate_audit_annotations(
            annotations, policy_name, compiled, child(path, "auditAnnotations")
        )
    return causes


# --- binding -------------------------------------------------------------------------------------
def validate_param_ref(pr: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    name = str(pr.get("name") or "")
    has_selector = pr.get("selector") is not None
    if name:
        causes += [invalid(child(path, "name"), name, m) for m in is_valid_path_segment_name(name)]
        if has_selector:
            causes.append(forbidden(child(path, "name"), "name and selector are mutually exclusive"))
    if has_selector:
        causes += validate_label_selector(_dict(pr["selector"]), child(path, "selector"))
        if name:
            causes.append(forbidden(child(path, "selector"), "name and selector are mutually exclusive"))
    if not name and not has_selector:
        causes.append(required(path, "one of name or selector must be specified"))
    action = pr.get("parameterNotFoundAction")
    if not action:
        causes.append(required(child(path, "parameterNotFoundAction")))
    elif action not in NOT_FOUND_ACTIONS:
        causes.append(not_supported(child(path, "parameterNotFoundAction"), action, NOT_FOUND_ACTIONS))
    return causes


def validate_validation_actions(actions: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, action in enumerate(actions):
        if action not in VALIDATION_ACTIONS:
            causes.append(not_supported(index(path, i), action, VALIDATION_ACTIONS))
        if action in seen:
            causes.append(duplicate(index(path, i), action))
        seen.add(str(action))
    if {"Deny", "Warn"} <= seen:
        causes.append(
            invalid(
                path,
                actions,
                "must not contain both Deny and Warn (repeating the same validation "
                "failure information in the API response and headers serves no purpose)",
                # Go prints the internal slice type with %#v
                rendered="[]admissionregistration.ValidationAction{"
                + ", ".join(go_quote(str(a)) for a in actions)
                + "}",
            )
        )
    if not seen:
        causes.append(required(path, "at least one validation action is required"))
    return causes


def validate_binding(obj: Obj) -> list[Cause]:
    spec = _dict(obj.get("spec"))
    causes: list[Cause] = []
    policy_name = str(spec.get("policyName") or "")
    if not policy_name:
        causes.append(required("spec.policyName"))
    else:
        causes += [
            invalid("spec.policyName", policy_name, m) for m in name_is_dns_subdomain(policy_name, False)
        ]
    if spec.get("paramRef") is not None:
        causes += validate_param_ref(_dict(spec["paramRef"]), "spec.paramRef")
    if spec.get("matchResources") is not None:
        # upstream reports these under this (misspelt) path
        causes += validate_match_resources(_dict(spec["matchResources"]), "spec.matchResouces")
    causes += validate_validation_actions(_list(spec.get("validationActions")), "spec.validationActions")
    return causes


@register("admissionregistration.k8s.io", "ValidatingAdmissionPolicy")
class ValidatingAdmissionPolicyStrategy(KindStrategy):
    tracks_generation = True
    has_status = True

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return
        spec.setdefault("failurePolicy", "Fail")
        if isinstance(spec.get("matchConstraints"), dict):
            default_match_resources(spec["matchConstraints"])

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_policy(obj)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return validate_policy(new, old)


@register("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding")
class ValidatingAdmissionPolicyBindingStrategy(KindStrategy):
    tracks_generation = True

    def default(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("matchResources"), dict):
            default_match_resources(spec["matchResources"])

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_binding(obj)
