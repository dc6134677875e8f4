"""Pure predicates several plugins share: node selector terms and taint tolerations.

These are the API's semantics (core/v1 NodeSelectorRequirement and Toleration), written over the
API's dicts: In / NotIn / Exists / DoesNotExist / Gt / Lt on labels, In / NotIn on the
``metadata.name`` field, and a toleration matching a taint by key, operator, value and effect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Obj = dict[str, Any]
Labels = Mapping[str, str]


def _int(s: Any) -> int | None:
    try:
        return int(str(s))
    except ValueError:
        return None


def match_expression(expr: Mapping[str, Any], labels: Labels) -> bool:
    key = expr.get("key", "")
    op = expr.get("operator", "")
    values = expr.get("values") or []
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    if op in ("Gt", "Lt"):
        if key not in labels or len(values) != 1:
            return False
        have, want = _int(labels[key]), _int(values[0])
        if have is None or want is None:
            return False
        return have > want if op == "Gt" else have < want
    return False


def match_field(expr: Mapping[str, Any], node_name: str) -> bool:
    """matchFields support only ``metadata.name`` with In / NotIn, as the API validates."""
    if expr.get("key") != "metadata.name":
        return False
    values = expr.get("values") or []
    op = expr.get("operator")
    if op == "In":
        return node_name in values
    if op == "NotIn":
        return node_name not in values
    return False


def term_matches(term: Mapping[str, Any], labels: Labels, node_name: str) -> bool:
    """A NodeSelectorTerm: all its expressions and fields hold. An empty term matches nothing."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    return all(match_expression(e, labels) for e in exprs) and all(match_field(f, node_name) for f in fields)


def node_selector_matches(selector: Mapping[str, Any] | None, labels: Labels, node_name: str) -> bool:
    """A NodeSelector: any of its terms matches (no terms: nothing matches)."""
    if selector is None:
        return True
    return any(term_matches(t, labels, node_name) for t in selector.get("nodeSelectorTerms") or [])


def required_node_affinity(pod: Mapping[str, Any]) -> Callable[[Labels, str], bool] | None:
    """A matcher for the pod's nodeSelector plus required node affinity; None when it has neither."""
    spec = pod.get("spec") or {}
    selector: dict[str, str] = spec.get("nodeSelector") or {}
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if not selector and required is None:
        return None
    sel_items = list(selector.items())

    def matches(labels: Labels, node_name: str) -> bool:
        for k, v in sel_items:
            if labels.get(k) != v:
                return False
        return required is None or node_selector_matches(required, labels, node_name)

    return matches


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: Sequence[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def first_untolerated_taint(taints: Sequence[Mapping[str, Any]], tolerations: Sequence[Mapping[str, Any]],
                            effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> Mapping[str, Any] | None:
    for taint in taints:
        if taint.get("effect") in effects and not tolerated(tolerations, taint):
            return taint
    return None


def default_normalize_score(max_priority: int, reverse: bool, scores: list[Any]) -> None:
    """Scale scores (objects with ``.score``) so the highest becomes `max_priority`; with
    `reverse`, the highest becomes 0 (and all-zero becomes all `max_priority`)."""
    top = max((s.score for s in scores), default=0)
    if top == 0:
        if reverse:
            for s in scores:
                s.score = max_priority
        return
    for s in scores:
        v = max_priority * s.score // top
        s.score = max_priority - v if reverse else v
