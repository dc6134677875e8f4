"""Strategies of admissionregistration.k8s.io/v1: Mutating- and ValidatingWebhookConfiguration.

Defaults and validation follow upstream's v1 rules (a configuration is rejected as a whole with
upstream's field paths and texts), so that a typo in a webhook manifest fails at `kubectl apply`
instead of silently never matching. What the webhooks *do* lives in the admission plugin
(``kybernetes.apiserver.admission.plugins.webhook``). ``matchConditions`` are compiled here so a
broken CEL expression is rejected at create (``webhook.matchconditions``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from kybernetes.apiserver.admission.plugins.webhook import matchconditions
from kybernetes.apiserver.strategies.base import KindStrategy
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    duplicate,
    index,
    invalid,
    is_dns1035_label,
    is_dns1123_subdomain,
    is_valid_port_num,
    not_supported,
    required,
    validate_label_selector,
)

FAILURE_POLICIES = ("Fail", "Ignore")
MATCH_POLICIES = ("Equivalent", "Exact")
NO_SIDE_EFFECTS = ("None", "NoneOnDryRun")
ALL_SIDE_EFFECTS = ("None", "NoneOnDryRun", "Some", "Unknown")
OPERATIONS = ("*", "CONNECT", "CREATE", "DELETE", "UPDATE")
REINVOCATION_POLICIES = ("IfNeeded", "Never")
SCOPES = ("*", "Cluster", "Namespaced")
REVIEW_VERSIONS = ("v1", "v1beta1")
URL_FORM = "; desired format: https://host[/path]"


# --- defaults ----------------------------------------------------------------------------------
def default_webhook(hook: Obj, *, mutating: bool) -> None:
    """SetDefaults for one v1 webhook (failurePolicy Fail, matchPolicy Equivalent, empty
    selectors, 10 s timeout, reinvocation Never, rule scope "*", service port 443)."""
    hook.setdefault("failurePolicy", "Fail")
    hook.setdefault("matchPolicy", "Equivalent")
    if hook.get("namespaceSelector") is None:
        hook["namespaceSelector"] = {}
    if hook.get("objectSelector") is None:
        hook["objectSelector"] = {}
    if hook.get("timeoutSeconds") is None:
        hook["timeoutSeconds"] = 10
    if mutating and not hook.get("reinvocationPolicy"):
        hook["reinvocationPolicy"] = "Never"
    for rule in hook.get("rules") or []:
        if isinstance(rule, dict) and not rule.get("scope"):
            rule["scope"] = "*"
    service = (hook.get("clientConfig") or {}).get("service")
    if isinstance(service, dict) and service.get("port") is None:
        service["port"] = 443


# --- validation --------------------------------------------------------------------------------
def validate_fully_qualified_name(name: Any, path: str) -> list[Cause]:
    if not name:
        return [required(path)]
    errs = is_dns1123_subdomain(str(name))
    if errs:
        return [invalid(path, name, ",".join(errs))]
    if len(str(name).split(".")) < 3:
        return [invalid(path, name, "should be a domain with at least three segments separated by dots")]
    return []


def validate_resources(resources: list[Any], path: str) -> list[Cause]:
    """Resource names of a rule: "*", "x", "x/sub", "x/*", "*/sub", "*/*" without overlaps."""
    causes: list[Cause] = []
    if not resources:
        causes.append(required(path))
    with_wild_sub: set[str] = set()
    subs_of_wild_res: set[str] = set()
    double = single = plain = False
    for i, rs in enumerate(resources):
        rs = str(rs)
        if not rs:
            causes.append(required(index(path, i)))
            continue
        double = double or rs == "*/*"
        single = single or rs == "*"
        if "/" not in rs:
            plain = rs != "*"
            continue
        res, sub = rs.split("/", 1)
        if res in with_wild_sub:
            causes.append(invalid(index(path, i), rs, f"if '{res}/*' is present, must not specify {rs}"))
        if sub in subs_of_wild_res:
            causes.append(invalid(index(path, i), rs, f"if '*/{sub}' is present, must not specify {rs}"))
        if sub == "*":
            with_wild_sub.add(res)
        if res == "*":
            subs_of_wild_res.add(sub)
    if len(resources) > 1 and double:
        causes.append(invalid(path, resources, "if '*/*' is present, must not specify other resources"))
    if single and plain:
        causes.append(invalid(path, resources, "if '*' is present, must not specify other resources without subresources"))
    return causes


def validate_rule(rule: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    ops = list(rule.get("operations") or [])
    if not ops:
        causes.append(required(child(path, "operations")))
    if len(ops) > 1 and "*" in ops:
        causes.append(invalid(child(path, "operations"), ops, "if '*' is present, must not specify other operations"))
    for i, op in enumerate(ops):
        if op not in OPERATIONS:
            causes.append(not_supported(index(child(path, "operations"), i), op, OPERATIONS))
    groups = list(rule.get("apiGroups") or [])
    if not groups:
        causes.append(required(child(path, "apiGroups")))
    if len(groups) > 1 and "*" in groups:
        causes.append(invalid(child(path, "apiGroups"), groups, "if '*' is present, must not specify other API groups"))
    versions = list(rule.get("apiVersions") or [])
    if not versions:
        causes.append(required(child(path, "apiVersions")))
    if len(versions) > 1 and "*" in versions:
        causes.append(invalid(child(path, "apiVersions"), versions,
                              "if '*' is present, must not specify other API versions"))
    for i, v in enumerate(versions):
        if not v:
            causes.append(required(index(child(path, "apiVersions"), i)))
    causes += validate_resources(list(rule.get("resources") or []), child(path, "resources"))
    scope = rule.get("scope")
    if scope is not None and scope not in SCOPES:
        causes.append(not_supported(child(path, "scope"), scope, SCOPES))
    return causes


def validate_url(url: str, path: str) -> list[Cause]:
    try:
        u = urlsplit(url)
    except ValueError as e:
        return [required(path, f"url must be a valid URL: {e}{URL_FORM}")]
    causes: list[Cause] = []
    if u.scheme != "https":
        causes.append(invalid(path, u.scheme, "'https' is the only allowed URL scheme" + URL_FORM))
    if not u.netloc:
        causes.append(invalid(path, "", "host must be provided" + URL_FORM))
    if "@" in u.netloc:
        causes.append(invalid(path, u.netloc.rsplit("@", 1)[0], "user information is not permitted in the URL"))
    if u.fragment:
        causes.append(invalid(path, u.fragment, "fragments are not permitted in the URL"))
    if u.query:
        causes.append(invalid(path, u.query, "query parameters are not permitted in the URL"))
    return causes


def validate_service(svc: Obj, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not svc.get("name"):
        causes.append(required(child(path, "name"), "service name is required"))
    if not svc.get("namespace"):
        causes.append(required(child(path, "namespace"), "service namespace is required"))
    port = svc.get("port", 443)
    errs = is_valid_port_num(port)
    if errs:
        causes.append(invalid(child(path, "port"), port, "port is not valid: " + ", ".join(errs)))
    p = svc.get("path")
    if p is None or p in ("", "/"):
        return causes
    p = str(p)
    if p == "//":
        return [*causes, invalid(child(path, "path"), p, "segment[0] may not be empty")]
    if not p.startswith("/"):
        causes.append(invalid(child(path, "path"), p, "must start with a '/'"))
    rest = p[1:]
    if rest.endswith("/"):
        rest = rest[:-1]
    for i, step in enumerate(rest.split("/")):
        if not step:
            causes.append(invalid(child(path, "path"), p, f"segment[{i}] may not be empty"))
            continue
        causes += [invalid(child(path, "path"), p, f"segment[{i}]: {m}") for m in is_dns1123_subdomain(step)]
    return causes


def validate_review_versions(versions: list[Any], path: str, *, require_known: bool) -> list[Cause]:
    if not versions:
        return [required(path, "must specify one of " + ", ".join(REVIEW_VERSIONS))]
    causes: list[Cause] = []
    seen: set[str] = set()
    for i, v in enumerate(versions):
        v = str(v)
        if v in seen:
            causes.append(invalid(index(path, i), v, "duplicate version"))
            continue
        seen.add(v)
        causes += [invalid(index(path, i), v, m) for m in is_dns1035_label(v)]
    if require_known and not seen & set(REVIEW_VERSIONS):
        causes.append(invalid(path, [str(v) for v in versions],
                              "must include at least one of " + ", ".join(REVIEW_VERSIONS)))
    return causes


def validate_webhook(hook: Obj, path: str, *, mutating: bool, no_side_effects: bool) -> list[Cause]:
    causes = validate_fully_qualified_name(hook.get("name"), child(path, "name"))
    for i, rule in enumerate(hook.get("rules") or []):
        causes += validate_rule(rule if isinstance(rule, dict) else {}, index(child(path, "rules"), i))
    fp = hook.get("failurePolicy")
    if fp is not None and fp not in FAILURE_POLICIES:
        causes.append(not_supported(child(path, "failurePolicy"), fp, FAILURE_POLICIES))
    mp = hook.get("matchPolicy")
    if mp is not None and mp not in MATCH_POLICIES:
        causes.append(not_supported(child(path, "matchPolicy"), mp, MATCH_POLICIES))
    allowed = NO_SIDE_EFFECTS if no_side_effects else ALL_SIDE_EFFECTS
    se = hook.get("sideEffects")
    if se is None:
        causes.append(required(child(path, "sideEffects"), "must specify one of " + ", ".join(allowed)))
    elif se not in allowed:
        causes.append(not_supported(child(path, "sideEffects"), se, allowed))
    ts = hook.get("timeoutSeconds")
    if ts is not None and (not isinstance(ts, int) or ts > 30 or ts < 1):
        causes.append(invalid(child(path, "timeoutSeconds"), ts, "the timeout value must be between 1 and 30 seconds"))
    for sel in ("namespaceSelector", "objectSelector"):
        if hook.get(sel) is not None:
            causes += validate_label_selector(hook[sel], child(path, sel))
    if mutating:
        rp = hook.get("reinvocationPolicy")
        if rp is not None and rp not in REINVOCATION_POLICIES:
            causes.append(not_supported(child(path, "reinvocationPolicy"), rp, REINVOCATION_POLICIES))
    cc = hook.get("clientConfig") or {}
    url, svc = cc.get("url"), cc.get("service")
    if (url is None) == (svc is None):
        causes.append(required(child(path, "clientConfig"), "exactly one of url or service is required"))
    elif url is not None:
        causes += validate_url(str(url), child(path, "clientConfig", "url"))
    else:
        causes += validate_service(svc if isinstance(svc, dict) else {}, child(path, "clientConfig", "service"))
    causes += matchconditions.validate_match_conditions(hook.get("matchConditions"), child(path, "matchConditions"))
    return causes


def validate_configuration(obj: Obj, *, mutating: bool, old: Obj | None = None) -> list[Cause]:
    """All webhooks of a configuration. On update, rules that old objects already break
    (side effects Some/Unknown, unknown review versions, duplicate names) are tolerated,
    as upstream does for objects written through v1beta1."""
    old_hooks = [h for h in (old or {}).get("webhooks") or [] if isinstance(h, dict)]
    no_side_effects = old is None or all(h.get("sideEffects") in NO_SIDE_EFFECTS for h in old_hooks)
    require_known = old is None or all(
        not h.get("admissionReviewVersions") or set(h["admissionReviewVersions"]) & set(REVIEW_VERSIONS)
        for h in old_hooks)
    old_names = [h.get("name") for h in old_hooks]
    require_unique = old is None or len(old_names) == len(set(old_names))
    causes: list[Cause] = []
    names: set[str] = set()
    for i, hook in enumerate(obj.get("webhooks") or []):
        path = index("webhooks", i)
        hook = hook if isinstance(hook, dict) else {}
        causes += validate_webhook(hook, path, mutating=mutating, no_side_effects=no_side_effects)
        causes += validate_review_versions(list(hook.get("admissionReviewVersions") or []),
                                           child(path, "admissionReviewVersions"), require_known=require_known)
        name = hook.get("name")
        if require_unique and name:
            if name in names:
                causes.append(duplicate(child(path, "name"), name))
            names.add(name)
    return causes


class _WebhookConfigurationStrategy(KindStrategy):
    tracks_generation = True
    mutating = False

    def default(self, obj: Obj) -> None:
        for hook in obj.get("webhooks") or []:
            if isinstance(hook, dict):
                default_webhook(hook, mutating=self.mutating)

    def validate(self, obj: Obj) -> list[Cause]:
        return validate_configuration(obj, mutating=self.mutating)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        return validate_configuration(new, mutating=self.mutating, old=old)


@register("admissionregistration.k8s.io", "MutatingWebhookConfiguration")
class MutatingWebhookConfigurationStrategy(_WebhookConfigurationStrategy):
    mutating = True


@register("admissionregistration.k8s.io", "ValidatingWebhookConfiguration")
class ValidatingWebhookConfigurationStrategy(_WebhookConfigurationStrategy):
    mutating = False
