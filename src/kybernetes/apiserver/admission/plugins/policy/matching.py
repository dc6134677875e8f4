"""Whether a request falls under a policy's ``matchConstraints`` or a binding's
``matchResources`` (pure, given a namespace lookup).

As upstream's policy matcher, in this order:
  1. namespaceSelector (cluster-scoped objects always match; a Namespace is matched by its own
     labels) — a namespace that cannot be found is an error only if the rest matches;
  2. objectSelector against the new or the old object's labels;
  3. excludeResourceRules: a match excludes the request;
  4. resourceRules (operations, apiGroups, apiVersions, resources with ``/subresource`` and
     ``*``, scope, resourceNames). No rules matches every request (bindings; a policy must
     have rules). matchPolicy Equivalent also tries the other served versions of the same
     resource and then answers with the version that matched, which is the version the
     policy's expressions see the objects in.
The rule, selector and version logic is the webhooks' (``webhook.matching``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kybernetes.api.resources import Resource
from kybernetes.apiserver.admission import Attributes
from kybernetes.apiserver.admission.plugins.webhook import matching as hooks
from kybernetes.machinery import errors

Obj = dict[str, Any]
NamespaceLookup = Callable[[str], Obj | None]


def _rule_matches(rule: Obj, attrs: Attributes, resource: Resource, namespace: str) -> bool:
    req = hooks.Request(
        attrs.operation, resource.group, resource.version, resource.plural, attrs.subresource, namespace
    )
    if not hooks.rule_matches(rule, req):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _rules(value: Any) -> list[Obj]:
    return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []


def match_rules(rules: list[Obj], match_policy: str, attrs: Attributes) -> Resource | None:
    """The version of the request's resource that some rule matches, or None."""
    namespace = hooks.request_namespace(attrs)
    if any(_rule_matches(r, attrs, attrs.resource, namespace) for r in rules):
        return attrs.resource
    if match_policy != "Equivalent":
        return None
    for rule in rules:
        for other in hooks.equivalents(attrs.resource):
            if _rule_matches(rule, attrs, other, namespace):
                return other
    return None


def matches(
    match_resources: Obj | None, attrs: Attributes, get_namespace: NamespaceLookup
) -> Resource | None:
    """The resource version the request is seen through when it matches, else None; raises a
    StatusError (404 for a missing namespace) only when the request would otherwise match."""
    if match_resources is None:
        return attrs.resource
    deferred: errors.StatusError | None = None
    try:
        if not hooks.namespace_selector_matches(match_resources, attrs, get_namespace):
            return None
    except errors.StatusError as e:
        deferred = e
    if not hooks.object_selector_matches(match_resources, attrs):
        return None
    match_policy = str(match_resources.get("matchPolicy") or "Equivalent")
    if match_rules(_rules(match_resources.get("excludeResourceRules")), match_policy, attrs) is not None:
        return None
    rules = _rules(match_resources.get("resourceRules"))
    target = match_rules(rules, match_policy, attrs) if rules else attrs.resource
    if target is None:
        return None
    if deferred is not None:
        raise deferred
    return target
