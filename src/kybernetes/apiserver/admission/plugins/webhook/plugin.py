"""MutatingAdmissionWebhook and ValidatingAdmissionWebhook: dynamic admission by HTTPS callouts.

Theory of operation
-------------------
The configurations are read from the watch cache on every request (they change rarely and are
few), so a webhook registered through the API applies to the next request.

Mutating (``admit``), sequentially in configuration-name / list order:
  1. a webhook is called when ``matching.should_call`` says so; on a dry-run request it must
     declare sideEffects None or NoneOnDryRun, else the request fails with 400;
  2. a denial fails the request with the webhook's status (``denial``); a call failure fails
     it with 500 under failurePolicy Fail and skips the webhook under Ignore;
  3. an allowed answer's JSON patch is applied to the object (in the version the webhook asked
     for, then converted back) and replaces ``attrs.obj`` in place;
  4. reinvocation: a webhook that changes the object asks the admission chain to run once
     more, built-in plugins included; in that second run only the webhooks that
     ``reinvocation.WebhookRounds`` says are due are called.

Validating (``validate``): every matching webhook is called concurrently; the first denial or
Fail-policy failure in webhook order fails the request.

Invariants: (1) a webhook never sees writes to webhook configurations; (2) warnings from
answers go to ``attrs.options["warnings"]`` (the server turns them into ``Warning`` headers);
(3) ``auditAnnotations`` are accepted and dropped (no audit log yet); (4) ``matchConditions``
are evaluated by ``matching.should_call`` (``matchconditions``).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from kybernetes.apiserver.admission import AdmissionContext, Attributes, Plugin, cel_authorizer
from kybernetes.apiserver.admission.plugins.webhook import client, matching, reinvocation, review
from kybernetes.machinery import errors

log = logging.getLogger(__name__)
Obj = dict[str, Any]

MUTATING_PREFIX = "/registry/mutatingwebhookconfigurations/"
VALIDATING_PREFIX = "/registry/validatingwebhookconfigurations/"


def _lookups(ctx: AdmissionContext) -> tuple[matching.NamespaceLookup, Any]:
    def namespace(name: str) -> Obj | None:
        return ctx.get(f"/registry/namespaces/{name}")

    def service(ns: str, name: str) -> Obj | None:
        return ctx.get(f"/registry/services/{ns}/{name}")

    return namespace, service


async def call_hook(hook: matching.Hook, attrs: Attributes, target: Any, ctx: AdmissionContext, *,
                    mutating: bool) -> review.Decision:
    """One AdmissionReview round trip; raises review.CallError or a StatusError."""
    if attrs.dry_run and hook.side_effects not in ("None", "NoneOnDryRun"):
        raise review.dry_run_unsupported(hook.name)
    version = review.review_version(hook.spec)
    if version is None:
        raise review.CallError(hook.name, "could not create admission objects: webhook does not accept known "
                                          "AdmissionReview versions (v1, v1beta1)")
    _, get_service = _lookups(ctx)
    try:
        where = client.resolve(hook.spec.get("clientConfig") or {}, get_service)
    except ValueError as e:
        raise review.CallError(hook.name, f"failed to call webhook: {e}") from None
    uid = str(uuid.uuid4())
    body = review.build_request(attrs, uid=uid, target=target, version=version,
                                namespace=matching.request_namespace(attrs))
    answer = await client.post(hook.name, where, body, timeout_seconds=hook.timeout_seconds)
    try:
        return review.verify_response(answer, uid=uid, version=version, mutating=mutating)
    except ValueError as e:
        raise review.CallError(hook.name, f"received invalid webhook response: {e}") from None


def _warn(attrs: Attributes, warnings: list[str]) -> None:
    sink = attrs.options.get("warnings")
    if isinstance(sink, list):
        sink.extend(w for w in warnings if w)


class MutatingAdmissionWebhook(Plugin):
    name = "MutatingAdmissionWebhook"
    mutating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (attrs.resource.group, attrs.resource.plural) in matching.EXEMPT:
            return
        hooks = matching.hooks_of(ctx.list(MUTATING_PREFIX))
        if not hooks:
            return
        get_namespace, _ = _lookups(ctx)
        authorize = cel_authorizer.authorize_fn(ctx.authorize)
        rounds = attrs.reinvocation.state.setdefault(self.name, reinvocation.WebhookRounds())
        second = attrs.reinvocation.is_reinvoke
        rounds.begin_round(attrs.obj, second=second)
        try:
            for hook in hooks:
                target = matching.should_call(hook, attrs, get_namespace, authorize)
                if target is None or not rounds.may_call(hook.uid, second=second):
                    continue
                changed = await self._call(hook, attrs, target, ctx)
                if changed:
                    attrs.reinvocation.should_reinvoke = True
                rounds.called(hook.uid, changed=changed, reinvoke_if_needed=hook.reinvoke_if_needed)
        finally:
            rounds.end_round(attrs.obj)

    async def _call(self, hook: matching.Hook, attrs: Attributes, target: Any, ctx: AdmissionContext) -> bool:
        """Call one webhook and apply its patch; True when the object changed."""
        try:
            decision = await call_hook(hook, attrs, target, ctx, mutating=True)
        except review.CallError as e:
            if hook.failure_policy == "Ignore":
                log.warning("Failed calling webhook, failing open %s: %s", hook.name, e)
                return False
            raise errors.internal(str(e)) from None
        _warn(attrs, decision.warnings)
        if not decision.allowed:
            raise review.denial(hook.name, decision.status)
        if not decision.patch:
            return False
        if attrs.obj is None:
            raise errors.internal(f'admission webhook "{hook.name}" attempted to modify the object, '
                                  "which is not supported for this operation")
        seen = review.to_version(attrs.obj, attrs.resource, target) or {}
        patched = review.apply_patch(seen, decision.patch)
        if patched == seen:
            return False
        review.replace_in_place(attrs.obj, review.from_version(patched, attrs.resource, target))
        return True


class ValidatingAdmissionWebhook(Plugin):
    name = "ValidatingAdmissionWebhook"
    validating = True

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (attrs.resource.group, attrs.resource.plural) in matching.EXEMPT:
            return
        hooks = matching.hooks_of(ctx.list(VALIDATING_PREFIX))
        if not hooks:
            return
        get_namespace, _ = _lookups(ctx)
        authorize = cel_authorizer.authorize_fn(ctx.authorize)
        calls = []
        for hook in hooks:
            target = matching.should_call(hook, attrs, get_namespace, authorize)
            if target is not None:
                calls.append((hook, target))
        if not calls:
            return
        outcomes = await asyncio.gather(*(self._call(h, attrs, t, ctx) for h, t in calls))
        for outcome in outcomes:
            if outcome is not None:
                raise outcome

    async def _call(self, hook: matching.Hook, attrs: Attributes, target: Any,
                    ctx: AdmissionContext) -> errors.StatusError | None:
        try:
            decision = await call_hook(hook, attrs, target, ctx, mutating=False)
        except review.CallError as e:
            if hook.failure_policy == "Ignore":
                log.warning("Failed calling webhook, failing open %s: %s", hook.name, e)
                return None
            return errors.internal(str(e))
        except errors.StatusError as e:
            return e
        _warn(attrs, decision.warnings)
        if decision.allowed:
            return None
        return review.denial(hook.name, decision.status)
