"""ValidatingAdmissionPolicy: in-process CEL validation of writes, configured through the API.

Theory of operation
-------------------
Policies and bindings are read from the watch cache. ``PolicySet`` keeps what it built from
them until either resource changes (the cache's per-resource ``last_change``) and keeps each
policy's compiled form until the policy's uid or generation changes, so a request costs no
compilation and no decoding of the configuration.

For each policy that has bindings (policies by name, bindings by name):
  1. the policy's ``matchConstraints`` must match (``matching``); the version they matched is
     the version ``object``/``oldObject`` are shown in;
  2. a policy whose paramKind is not served is a configuration error of the policy;
  3. for each binding whose ``matchResources`` match: its params are collected (``params``)
     and the policy is evaluated once per param (``evaluate``);
  4. each failed validation is handled by every one of the binding's ``validationActions``:
     Deny collects a denial, Warn adds a ``Warning`` header (``Validation failed for
     ValidatingAdmissionPolicy '<p>' with binding '<b>': <message>``), Audit records the
     ``validation.policy.admission.k8s.io/validation_failure`` annotation;
  5. configuration errors count as denials under failurePolicy Fail and are dropped under
     Ignore.
The first denial fails the request: upstream's Forbidden text (``deployments.apps "web" is
forbidden: ValidatingAdmissionPolicy 'p' with binding 'b' denied request: <message>``) with the
validation's reason (default Invalid) and the code that goes with it (422 for Invalid), and
the same sentence as the single cause (kubectl prints it).

Invariants: (1) writes to policies, bindings and webhook configurations are never validated by
policies (a broken policy cannot lock itself in); (2) audit annotations go to
``attrs.options["auditAnnotations"]`` — the server has no audit log to write them to.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.apiserver.admission import AdmissionContext, Attributes, Plugin, cel_authorizer
from kybernetes.apiserver.admission.plugins.policy import evaluate, matching, params
from kybernetes.apiserver.admission.plugins.policy.compiler import CompiledPolicy, compile_policy
from kybernetes.apiserver.admission.plugins.webhook import matchconditions, review
from kybernetes.apiserver.admission.plugins.webhook import matching as hooks
from kybernetes.machinery import errors

log = logging.getLogger(__name__)
Obj = dict[str, Any]

POLICY_PREFIX = "/registry/validatingadmissionpolicies/"
BINDING_PREFIX = "/registry/validatingadmissionpolicybindings/"
VALIDATION_FAILURE_KEY = "validation.policy.admission.k8s.io/validation_failure"
REASON_CODES = {"Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413, "Invalid": 422}
OPERATIONS = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _spec(obj: Obj) -> Obj:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


@dataclass(slots=True)
class Hook:
    policy: Obj
    compiled: CompiledPolicy
    bindings: list[Obj] = field(default_factory=list)


class PolicySet:
    """The policies with their bindings, rebuilt only when either resource changed."""

    def __init__(self) -> None:
        self._seen: tuple[int, int] | None = None
        self._hooks: list[Hook] = []
        self._compiled: dict[tuple[str, Any], CompiledPolicy] = {}

    def hooks(self, ctx: AdmissionContext) -> list[Hook]:
        seen = (ctx.cache.last_change(POLICY_PREFIX), ctx.cache.last_change(BINDING_PREFIX))
        if seen != self._seen:
            self._hooks = self.build(ctx.list(POLICY_PREFIX), ctx.list(BINDING_PREFIX))
            self._seen = seen
        return self._hooks

    def build(self, policies: list[Obj], bindings: list[Obj]) -> list[Hook]:
        by_policy: dict[str, list[Obj]] = {}
        for b in sorted(bindings, key=_name):
            by_policy.setdefault(str(_spec(b).get("policyName") or ""), []).append(b)
        compiled: dict[tuple[str, Any], CompiledPolicy] = {}
        out: list[Hook] = []
        for p in sorted(policies, key=_name):
            meta = p.get("metadata") or {}
            key = (str(meta.get("uid") or ""), meta.get("generation"))
            compiled[key] = self._compiled.get(key) or compile_policy(p)
            if by_policy.get(_name(p)):
                out.append(Hook(p, compiled[key], by_policy[_name(p)]))
        self._compiled = compiled
        return out


@dataclass(frozen=True, slots=True)
class Denial:
    policy: str
    binding: str | None
    message: str
    reason: str = ""

    def text(self) -> str:
        if self.binding is None:
            return f"ValidatingAdmissionPolicy '{self.policy}' denied request: {self.message}"
        return f"ValidatingAdmissionPolicy '{self.policy}' with binding '{self.binding}' denied request: {self.message}"


def denial_error(attrs: Attributes, denial: Denial) -> errors.StatusError:
    """upstream's admission.NewForbidden with the reason and code of the denial."""
    text = denial.text()
    err = matchconditions.forbidden(attrs, text)
    reason = denial.reason or "Invalid"
    details = dict(err.details or {})
    details["causes"] = [{"message": text}]
    return errors.StatusError(REASON_CODES.get(reason, 422), reason, err.message, details)


def warning_text(policy: str, binding: str, message: str) -> str:
    return f"Validation failed for ValidatingAdmissionPolicy '{policy}' with binding '{binding}': {message}"


class Dispatch:
    """One request's pass over the policies."""

    def __init__(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        self.attrs = attrs
        self.ctx = ctx
        self.denials: list[Denial] = []
        self.warnings: list[str] = []
        self.annotations: dict[str, list[str]] = {}
        self._versions: dict[str, Obj | None] = {}

    def namespace(self, name: str) -> Obj | None:
        return self.ctx.get(f"/registry/namespaces/{name}")

    def config_error(self, hook: Hook, binding: Obj | None, message: str) -> None:
        if hook.compiled.failure_policy == "Ignore":
            return
        what = "policy" if binding is None else "binding"
        self.denials.append(
            Denial(
                hook.compiled.name,
                None if binding is None else _name(binding),
                f"failed to configure {what}: {message}",
            )
        )

    def served(self) -> list[Resource]:
        custom = [s.resource for s in self.ctx.stores.values() if s.resource.custom is not None]
        return [*RESOURCES, *custom]

    def run(self, hook: Hook) -> None:
        try:
            target = matching.matches(
                _spec(hook.policy).get("matchConstraints") or {}, self.attrs, self.namespace
            )
        except errors.StatusError as e:
            self.config_error(hook, None, e.message)
            return
        if target is None:
            return
        source: params.ParamSource | None = None
        param_kind = _spec(hook.policy).get("paramKind")
        if isinstance(param_kind, dict):
            try:
                source = params.resolve_kind(param_kind, self.served())
            except params.ParamError as e:
                self.config_error(hook, None, str(e))
                return
        for binding in hook.bindings:
            self.run_binding(hook, binding, target, source)

    def run_binding(
        self, hook: Hook, binding: Obj, target: Resource, source: params.ParamSource | None
    ) -> None:
        spec = _spec(binding)
        try:
            if matching.matches(spec.get("matchResources"), self.attrs, self.namespace) is None:
                return
        except errors.StatusError as e:
            self.config_error(hook, binding, e.message)
            return
        ns_name = self.attrs.namespace
        try:
            found = params.collect(
                source, spec.get("paramRef") if source else None, ns_name, self.ctx.get, self.ctx.list
            )
        except params.ParamError as e:
            self.config_error(hook, binding, str(e))
            return
        namespace: Obj | None = None
        is_namespace = self.attrs.resource.group == "" and self.attrs.resource.kind == "Namespace"
        if ns_name and not is_namespace:
            namespace = self.namespace(ns_name)
            if namespace is None:
                raise errors.not_found("namespaces", ns_name)
        request = self.request(target)
        for param in found:
            inputs = evaluate.Inputs(
                self.version(self.attrs.obj, target, "new"),
                self.version(self.attrs.old, target, "old"),
                request,
                namespace,
                param,
                cel_authorizer.authorize_fn(self.ctx.authorize),
            )
            self.apply(hook, binding, evaluate.validate(hook.compiled, inputs))

    def request(self, target: Resource) -> Obj:
        request = matchconditions.admission_request(self.attrs, target, hooks.request_namespace(self.attrs))
        for key in ("name", "namespace", "subResource", "requestSubResource"):
            request.setdefault(key, "")
        return request

    def version(self, obj: Obj | None, target: Resource, which: str) -> Obj | None:
        key = f"{which}:{target.group_version}"
        if key not in self._versions:
            self._versions[key] = review.to_version(obj, self.attrs.resource, target)
        return self._versions[key]

    def apply(self, hook: Hook, binding: Obj, result: evaluate.Result) -> None:
        policy, bname = hook.compiled.name, _name(binding)
        actions = [a for a in _spec(binding).get("validationActions") or [] if isinstance(a, str)]
        for d in result.decisions:
            if d.action != evaluate.DENY:
                continue
            for action in actions:
                if action == "Deny":
                    self.denials.append(Denial(policy, bname, d.message, d.reason))
                elif action == "Warn":
                    self.warnings.append(warning_text(policy, bname, d.message))
                elif action == "Audit":
                    self.annotate(
                        VALIDATION_FAILURE_KEY,
                        json.dumps(
                            [
                                {
                                    "message": d.message,
                                    "policy": policy,
                                    "binding": bname,
                                    "expressionIndex": d.index,
                                    "validationActions": actions,
                                }
                            ],
                            separators=(",", ":"),
                        ),
                    )
        for message in result.annotation_errors:
            self.denials.append(Denial(policy, bname, message))
        for key, value in result.annotations.items():
            self.annotate(f"{policy}/{key}", value[: 10 * 1024])

    def annotate(self, key: str, value: str) -> None:
        values = self.annotations.setdefault(key, [])
        if value not in values:
            values.append(value)


class ValidatingAdmissionPolicy(Plugin):
    name = "ValidatingAdmissionPolicy"
    validating = True

    def __init__(self) -> None:
        self.policies = PolicySet()

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if attrs.operation not in OPERATIONS or (attrs.resource.group, attrs.resource.plural) in hooks.EXEMPT:
            return
        hook_list = self.policies.hooks(ctx)
        if not hook_list:
            return
        dispatch = Dispatch(attrs, ctx)
        for hook in hook_list:
            try:
                dispatch.run(hook)
            except (TypeError, AttributeError, KeyError, IndexError, ValueError) as e:
                # a stored object of an unexpected shape must not turn every write into a 500
                log.warning("admission policy %s could not be applied: %r", hook.compiled.name, e)
                dispatch.config_error(hook, None, f"internal error: {e}")
        sink = attrs.options.get("warnings")
        if isinstance(sink, list):
            sink.extend(dispatch.warnings)
        if dispatch.annotations:
            recorded = attrs.options.setdefault("auditAnnotations", {})
            for key, values in dispatch.annotations.items():
                recorded[key] = ", ".join(values)
            log.debug("admission policy audit annotations: %s", dispatch.annotations)
        if dispatch.denials:
            raise denial_error(attrs, dispatch.denials[0])
