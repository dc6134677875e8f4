"""RBAC policy rules as upstream reads them: does a rule allow a request, do some rules cover others.

A ``PolicyRule`` is a plain dict (``apiGroups``, ``resources``, ``resourceNames``, ``verbs``,
``nonResourceURLs``). Two questions are asked of rules, both pure:

- ``rule_allows(attrs, rule)``: the authorizer's question. ``*`` matches any verb, group or
  resource; ``*/<sub>`` matches that subresource of any resource; an empty ``resourceNames`` means
  every name; a non-resource URL ending in ``*`` is a prefix.
- ``covers(owner, requested)``: the escalation check's question. Each requested rule is broken
  into atoms (one group, resource, verb and name; or one URL and verb) and every atom must be
  covered by one owner rule. What is missing is compacted and printed as upstream's
  ``CompactString`` (``{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from kybernetes.apiserver.authz.attributes import Attributes

Rule = dict[str, Any]
ALL = "*"


def _strings(rule: Rule, key: str) -> list[str]:
    value = rule.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def verb_matches(rule: Rule, verb: str) -> bool:
    verbs = _strings(rule, "verbs")
    return ALL in verbs or verb in verbs


def group_matches(rule: Rule, group: str) -> bool:
    groups = _strings(rule, "apiGroups")
    return ALL in groups or group in groups


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    for r in _strings(rule, "resources"):
        if r in (ALL, combined):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def name_matches(rule: Rule, name: str) -> bool:
    names = _strings(rule, "resourceNames")
    return not names or name in names


def url_matches(rule: Rule, path: str) -> bool:
    for url in _strings(rule, "nonResourceURLs"):
        if url in (ALL, path):
            return True
        if url.endswith("*") and path.startswith(url.rstrip("*")):
            return True
    return False


def rule_allows(attrs: Attributes, rule: Rule) -> bool:
    if attrs.is_resource_request:
        combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
        return (
            verb_matches(rule, attrs.verb)
            and group_matches(rule, attrs.group)
            and resource_matches(rule, combined, attrs.subresource)
            and name_matches(rule, attrs.name)
        )
    return verb_matches(rule, attrs.verb) and url_matches(rule, attrs.path)


def rules_allow(attrs: Attributes, rules: Iterable[Rule]) -> bool:
    return any(rule_allows(attrs, r) for r in rules)


# --- coverage (escalation checks) -------------------------------------------------------------------


def breakdown(rule: Rule) -> list[Rule]:
    """One rule per (group, resource, verb[, name]) and per (URL, verb), as upstream's BreakdownRule."""
    atoms: list[Rule] = []
    names = _strings(rule, "resourceNames")
    for group in _strings(rule, "apiGroups"):
        for resource in _strings(rule, "resources"):
            for verb in _strings(rule, "verbs"):
                base: Rule = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                if names:
                    atoms.extend({**base, "resourceNames": [n]} for n in names)
                else:
                    atoms.append(base)
    for url in _strings(rule, "nonResourceURLs"):
        atoms.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in _strings(rule, "verbs"))
    return atoms


def _resources_cover(owned: Sequence[str], wanted: Sequence[str]) -> bool:
    if ALL in owned or all(w in owned for w in wanted):
        return True
    for w in wanted:
        if w in owned:
            continue
        if "/" not in w or f"*/{w.split('/', 1)[1]}" not in owned:
            return False
    return True


def _url_covers(owner: str, sub: str) -> bool:
    return owner == sub or (owner.endswith("*") and sub.startswith(owner.rstrip("*")))


def rule_covers(owner: Rule, sub: Rule) -> bool:
    o_verbs, o_groups, o_names = (
        _strings(owner, "verbs"),
        _strings(owner, "apiGroups"),
        _strings(owner, "resourceNames"),
    )
    s_names = _strings(sub, "resourceNames")
    verbs_ok = ALL in o_verbs or all(v in o_verbs for v in _strings(sub, "verbs"))
    groups_ok = ALL in o_groups or all(g in o_groups for g in _strings(sub, "apiGroups"))
    resources_ok = _resources_cover(_strings(owner, "resources"), _strings(sub, "resources"))
    owned_urls = _strings(owner, "nonResourceURLs")
    urls_ok = all(any(_url_covers(o, u) for o in owned_urls) for u in _strings(sub, "nonResourceURLs"))
    names_ok = not o_names or (bool(s_names) and all(n in o_names for n in s_names))
    return verbs_ok and groups_ok and resources_ok and urls_ok and names_ok


def covers(owner_rules: Sequence[Rule], requested: Iterable[Rule]) -> tuple[bool, list[Rule]]:
    """(every requested permission is held, the atoms that are not)."""
    missing = [
        atom
        for rule in requested
        for atom in breakdown(rule)
        if not any(rule_covers(o, atom) for o in owner_rules)
    ]
    return not missing, missing


def compact(rules: Sequence[Rule]) -> list[Rule]:
    """Atoms on one group/resource (and at most one name) merged into one rule with all their verbs."""
    out: list[Rule] = []
    simple: dict[tuple[str, str, str | None], Rule] = {}
    for rule in rules:
        key = _simple_key(rule)
        if key is None:
            out.append(rule)
            continue
        if key in simple:
            verbs = simple[key]["verbs"]
            verbs.extend(v for v in _strings(rule, "verbs") if v not in verbs)
        else:
            simple[key] = {**rule, "verbs": list(_strings(rule, "verbs"))}
    return out + list(simple.values())


def _simple_key(rule: Rule) -> tuple[str, str, str | None] | None:
    names = _strings(rule, "resourceNames")
    if len(names) > 1 or _strings(rule, "nonResourceURLs"):
        return None
    groups, resources = _strings(rule, "apiGroups"), _strings(rule, "resources")
    if len(groups) != 1 or len(resources) != 1:
        return None
    return groups[0], resources[0], names[0] if names else None


def go_quoted_list(values: Sequence[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"


def go_quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def compact_string(rule: Rule) -> str:
    parts = []
    for label, key in (
        ("APIGroups", "apiGroups"),
        ("Resources", "resources"),
        ("NonResourceURLs", "nonResourceURLs"),
        ("ResourceNames", "resourceNames"),
        ("Verbs", "verbs"),
    ):
        values = _strings(rule, key)
        if values:
            parts.append(f"{label}:{go_quoted_list(values)}")
    return "{" + ", ".join(parts) + "}"
