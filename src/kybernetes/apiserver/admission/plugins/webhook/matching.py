"""Which webhooks a request goes to: rules, scope, selectors and matchPolicy (pure functions).

A webhook is called when (1) one of its rules matches the request's operation, group, version,
resource/subresource and scope — exactly, or, under matchPolicy Equivalent, through another
served version of the same resource; (2) its namespaceSelector matches the labels of the
request's namespace (cluster-scoped objects other than namespaces always match; a Namespace
is matched by its own labels); (3) its objectSelector matches the labels of the new or the old
object; (4) all its ``matchConditions`` (CEL, ``matchconditions``) hold. Configurations are
visited in name order and webhooks in list order, as upstream.
Webhook configurations and admission policies themselves are never sent to webhooks, so a
broken webhook cannot lock the cluster out of fixing it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kybernetes import cel
from kybernetes.api.resources import RESOURCES, Resource
from kybernetes.apiserver.admission import CREATE, UPDATE, Attributes
from kybernetes.apiserver.admission.plugins.webhook import matchconditions
from kybernetes.machinery import errors
from kybernetes.machinery.labels import selector_from_label_selector

Obj = dict[str, Any]

# Resources whose writes never go to webhooks (upstream's IsExemptAdmissionConfigurationResource).
EXEMPT = frozenset({
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "mutatingadmissionpolicybindings"),
})


@dataclass(frozen=True, slots=True)
class Hook:
    """One webhook of a configuration, with what the dispatcher needs to know about it."""

    uid: str  # "<configuration>/<webhook>/<index>", stable while the configuration is unchanged
    configuration: str
    spec: Obj  # the webhook as stored (defaults applied)

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or "")

    @property
    def failure_policy(self) -> str:
        return str(self.spec.get("failurePolicy") or "Fail")

    @property
    def timeout_seconds(self) -> int:
        ts = self.spec.get("timeoutSeconds")
        return ts if isinstance(ts, int) and 1 <= ts <= 30 else 10

    @property
    def side_effects(self) -> str:
        return str(self.spec.get("sideEffects") or "")

    @property
    def reinvoke_if_needed(self) -> bool:
        return self.spec.get("reinvocationPolicy") == "IfNeeded"


def hooks_of(configurations: Iterable[Obj]) -> list[Hook]:
    """Every webhook of the configurations: configurations by name, webhooks in order."""
    out: list[Hook] = []
    for cfg in sorted(configurations, key=lambda c: str((c.get("metadata") or {}).get("name") or "")):
        cname = str((cfg.get("metadata") or {}).get("name") or "")
        for i, spec in enumerate(cfg.get("webhooks") or []):
            if isinstance(spec, dict):
                out.append(Hook(f"{cname}/{spec.get('name', '')}/{i}", cname, spec))
    return out


# --- rules ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Request:
    """What a rule is compared with: the request seen through one served version."""

    operation: str
    group: str
    version: str
    resource: str
    subresource: str
    namespace: str  # "" for cluster-scoped objects; a Namespace object's own name for namespaces


def _any(values: list[Any], value: str) -> bool:
    return "*" in values or value in values


def _resource_matches(rule_resources: list[Any], resource: str, subresource: str) -> bool:
    for rs in rule_resources:
        res, _, sub = str(rs).partition("/")
        if (res == "*" or res == resource) and (sub == "*" or sub == subresource):
            return True
    return False


def _scope_matches(scope: Any, req: Request) -> bool:
    is_namespace = req.group == "" and req.resource == "namespaces"
    if scope == "Namespaced":
        return not is_namespace and req.namespace != ""
    if scope == "Cluster":
        return is_namespace or req.namespace == ""
    return True


def rule_matches(rule: Obj, req: Request) -> bool:
    return (_any(list(rule.get("operations") or []), req.operation)
            and _any(list(rule.get("apiGroups") or []), req.group)
            and _any(list(rule.get("apiVersions") or []), req.version)
            and _resource_matches(list(rule.get("resources") or []), req.resource, req.subresource)
            and _scope_matches(rule.get("scope") or "*", req))


def rules_match(hook: Obj, req: Request) -> bool:
    return any(isinstance(r, dict) and rule_matches(r, req) for r in hook.get("rules") or [])


def equivalents(resource: Resource) -> list[Resource]:
    """Other served versions of the same objects (same group and plural), as upstream's
    equivalent resource mapping for matchPolicy Equivalent."""
    return [r for r in RESOURCES
            if r.group == resource.group and r.plural == resource.plural and r.version != resource.version]


def match_resource(hook: Obj, attrs: Attributes, namespace: str) -> Resource | None:
    """The version the webhook wants to see the request in, or None when no rule matches."""
    def request(r: Resource) -> Request:
        return Request(attrs.operation, r.group, r.version, r.plural, attrs.subresource, namespace)

    if rules_match(hook, request(attrs.resource)):
        return attrs.resource
    if hook.get("matchPolicy", "Equivalent") == "Equivalent":
        for r in equivalents(attrs.resource):
            if rules_match(hook, request(r)):
                return r
    return None


# --- selectors -----------------------------------------------------------------------------------
def _labels(obj: Obj | None) -> dict[str, str] | None:
    if not isinstance(obj, dict):
        return None
    meta = obj.get("metadata")
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


def object_selector_matches(hook: Obj, attrs: Attributes) -> bool:
    """The selector matches the new object's labels or the old object's labels."""
    sel = selector_from_label_selector(hook.get("objectSelector") or {})
    if sel.empty:
        return True
    return any(labels is not None and sel.matches(labels) for labels in (_labels(attrs.obj), _labels(attrs.old)))


def request_namespace(attrs: Attributes) -> str:
    """The namespace upstream puts on the request: a Namespace object's own name for requests
    about namespaces, else the object's namespace."""
    if attrs.resource.group == "" and attrs.resource.plural == "namespaces":
        return attrs.name
    return attrs.namespace


NamespaceLookup = Callable[[str], Obj | None]


def namespace_selector_matches(hook: Obj, attrs: Attributes, get_namespace: NamespaceLookup) -> bool:
    """Raises 404 NotFound when the selector needs the labels of a namespace that does not exist."""
    is_namespace = attrs.resource.group == "" and attrs.resource.plural == "namespaces"
    ns = request_namespace(attrs)
    if not ns and not is_namespace:
        return True  # cluster-scoped objects are never exempted by a namespace selector
    sel = selector_from_label_selector(hook.get("namespaceSelector") or {})
    if sel.empty:
        return True
    if is_namespace and not attrs.subresource and attrs.operation in (CREATE, UPDATE):
        labels = _labels(attrs.obj) or {}
    else:
        nsobj = get_namespace(ns)
        if nsobj is None:
            raise errors.not_found("namespaces", ns)
        labels = _labels(nsobj) or {}
    return sel.matches(labels)


def should_call(
    hook: Hook,
    attrs: Attributes,
    get_namespace: NamespaceLookup,
    authorize: cel.authz.AuthorizeFn = cel.authz.allow_all,
) -> Resource | None:
    """The version to call `hook` with for this request, or None when it does not apply;
    `authorize` answers the matchConditions' ``authorizer`` checks."""
    if (attrs.resource.group, attrs.resource.plural) in EXEMPT:
        return None
    target = match_resource(hook.spec, attrs, request_namespace(attrs))
    if target is None:
        return None
    if not namespace_selector_matches(hook.spec, attrs, get_namespace):
        return None
    if not object_selector_matches(hook.spec, attrs):
        return None
    if not matchconditions.should_call(hook.spec, attrs, target, request_namespace(attrs), authorize):
        return None
    return target
