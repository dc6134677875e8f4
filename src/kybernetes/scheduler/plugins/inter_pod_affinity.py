"""InterPodAffinity: pods placed relative to other pods by topology domain (upstream's plugin).

Filter, three checks, in upstream's order and with its reasons:
1. the pod's required podAffinity: on the node's domain (node label ``topologyKey``) there must be
   a pod matching *all* its terms — unless no pod in the cluster matches them and the pod matches
   its own terms (the first of a group that wants to be together);
2. the pod's required podAntiAffinity: no pod matching a term in the node's domain;
3. existing pods' required podAntiAffinity: no pod in the node's domain whose term matches this pod.

PreFilter counts matches per (topologyKey, value) once, so that Filter is a few dict lookups.
Score sums, per domain of each node, the weights of preferred terms (the pod's and, symmetric,
the existing pods' — hard affinity of existing pods counts ``hardPodAffinityWeight``), anti terms
negative; normalized to 0..100 by min/max.

Terms (``PodAffinityTerm``): ``labelSelector`` (absent: matches nothing), ``namespaces`` and
``namespaceSelector`` (neither: the owner pod's namespace; an empty ``namespaceSelector`` means
all namespaces), ``matchLabelKeys`` / ``mismatchLabelKeys`` (merged into the selector from the
owner pod's labels as ``key in (v)`` / ``key notin (v)`` — what upstream's API server does at
creation; merging again is harmless).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from kybernetes.machinery.labels import (
    IN,
    NOT_IN,
    NOTHING,
    Requirement,
    Selector,
    selector_from_label_selector,
)
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE, NodeScore, PreFilterResult
from kybernetes.scheduler.framework.status import SKIP, Status, error_status, unresolvable, unschedulable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.plugins.listers import Listers, OnEvent, is_assigned, labels_of, namespace_of

Obj = dict[str, Any]
NAME = "InterPodAffinity"
ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules"
_PREFILTER_KEY = "PreFilter" + NAME
_PRESCORE_KEY = "PreScore" + NAME
TopologyPair = tuple[str, str]
Counts = dict[TopologyPair, int]


# --- terms ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    namespaces: frozenset[str]
    selector: Selector
    topology_key: str
    namespace_selector: Selector  # NOTHING when the term has none (or after it was resolved)

    def matches(self, pod: Obj, ns_labels: Mapping[str, str] | None) -> bool:
        """Does `pod` match the term (namespace, then labels)? `ns_labels` are the labels of the
        pod's namespace (None: unknown, which an empty namespaceSelector still matches)."""
        if namespace_of(pod) in self.namespaces or self.namespace_selector.matches(ns_labels):
            return self.selector.matches(labels_of(pod))
        return False


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    term: AffinityTerm
    weight: int


@dataclass(frozen=True, slots=True)
class PodAffinityTerms:
    required_affinity: tuple[AffinityTerm, ...] = ()
    required_anti_affinity: tuple[AffinityTerm, ...] = ()
    preferred_affinity: tuple[WeightedTerm, ...] = ()
    preferred_anti_affinity: tuple[WeightedTerm, ...] = ()


NO_TERMS = PodAffinityTerms()


def new_affinity_term(pod: Obj, term: Mapping[str, Any]) -> AffinityTerm:
    """One API PodAffinityTerm of `pod` as an AffinityTerm; raises on an invalid selector."""
    selector = selector_from_label_selector(term.get("labelSelector"))
    if not selector.nothing:
        own = labels_of(pod)
        extra = [Requirement(k, IN, (own[k],)) for k in term.get("matchLabelKeys") or () if k in own]
        extra += [Requirement(k, NOT_IN, (own[k],)) for k in term.get("mismatchLabelKeys") or () if k in own]
        if extra:
            selector = Selector(tuple(sorted({*selector.requirements, *extra}, key=_req_order)))
    names = term.get("namespaces") or []
    ns_selector = term.get("namespaceSelector")
    namespaces = frozenset(names) if names or ns_selector is not None else frozenset((namespace_of(pod),))
    return AffinityTerm(namespaces, selector, str(term.get("topologyKey") or ""),
                        selector_from_label_selector(ns_selector))


def _req_order(r: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return (r.key, r.operator, r.values)


def _terms(pod: Obj, kind: str) -> tuple[list[Obj], list[Obj]]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return (list(aff.get("requiredDuringSchedulingIgnoredDuringExecution") or []),
            list(aff.get("preferredDuringSchedulingIgnoredDuringExecution") or []))


def parse_pod_affinity(pod: Obj) -> PodAffinityTerms:
    """The pod's inter-pod (anti-)affinity terms; raises on an invalid selector."""
    aff = (pod.get("spec") or {}).get("affinity") or {}
    if not aff.get("podAffinity") and not aff.get("podAntiAffinity"):
        return NO_TERMS
    req_a, pref_a = _terms(pod, "podAffinity")
    req_n, pref_n = _terms(pod, "podAntiAffinity")
    return PodAffinityTerms(
        tuple(new_affinity_term(pod, t) for t in req_a),
        tuple(new_affinity_term(pod, t) for t in req_n),
        tuple(WeightedTerm(new_affinity_term(pod, w.get("podAffinityTerm") or {}), int(w.get("weight") or 0))
              for w in pref_a),
        tuple(WeightedTerm(new_affinity_term(pod, w.get("podAffinityTerm") or {}), int(w.get("weight") or 0))
              for w in pref_n))


# Parsed terms of pods already in the cache, keyed by the pod dict's identity (objects from the
# informer are never mutated; a new version is a new dict). Invalid terms count as none, as
# upstream ignores what it cannot parse on existing pods.
_parsed: dict[int, tuple[Obj, PodAffinityTerms]] = {}
_PARSED_MAX = 100_000


def terms_of(pod: Obj) -> PodAffinityTerms:
    hit = _parsed.get(id(pod))
    if hit is not None and hit[0] is pod:
        return hit[1]
    try:
        terms = parse_pod_affinity(pod)
    except Exception:
        terms = NO_TERMS
    if len(_parsed) >= _PARSED_MAX:
        _parsed.clear()
    _parsed[id(pod)] = (pod, terms)
    return terms


def pod_matches_all_terms(terms: Sequence[AffinityTerm], pod: Obj, ns_labels: Mapping[str, str] | None = None) -> bool:
    """True when there are terms and `pod` matches every one (topology not considered)."""
    return bool(terms) and all(t.matches(pod, ns_labels) for t in terms)


def _add(counts: Counts, pair: TopologyPair, value: int) -> None:
    n = counts.get(pair, 0) + value
    if n:
        counts[pair] = n
    else:
        counts.pop(pair, None)


# --- PreFilter state ---------------------------------------------------------------------------------


@dataclass(slots=True)
class PreFilterState:
    pod: Obj
    terms: PodAffinityTerms
    ns_labels: dict[str, str] | None
    existing_anti_affinity: Counts  # domains with existing pods whose anti-affinity matches the pod
    affinity: Counts  # domains with pods matching all of the pod's affinity terms
    anti_affinity: Counts  # domains with pods matching one of the pod's anti-affinity terms

    def clone(self) -> PreFilterState:
        return PreFilterState(self.pod, self.terms, self.ns_labels, dict(self.existing_anti_affinity),
                              dict(self.affinity), dict(self.anti_affinity))

    def update_with_pod(self, other: Obj, node_labels: Mapping[str, str], multiplier: int) -> None:
        """Count `other` (on a node with `node_labels`) in, or out (multiplier -1)."""
        for t in terms_of(other).required_anti_affinity:
            if t.matches(self.pod, self.ns_labels) and t.topology_key in node_labels:
                _add(self.existing_anti_affinity, (t.topology_key, node_labels[t.topology_key]), multiplier)
        count_incoming(self.terms, other, node_labels, multiplier, self.affinity, self.anti_affinity)


def count_incoming(terms: PodAffinityTerms, other: Obj, node_labels: Mapping[str, str], multiplier: int,
                   affinity: Counts, anti_affinity: Counts) -> None:
    """Count `other` against the incoming pod's required terms (whose namespaceSelectors are resolved)."""
    if terms.required_affinity and pod_matches_all_terms(terms.required_affinity, other):
        for t in terms.required_affinity:
            if t.topology_key in node_labels:
                _add(affinity, (t.topology_key, node_labels[t.topology_key]), multiplier)
    for t in terms.required_anti_affinity:
        if t.topology_key in node_labels and t.matches(other, None):
            _add(anti_affinity, (t.topology_key, node_labels[t.topology_key]), multiplier)


def satisfies_pod_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    pods_exist = True
    for t in s.terms.required_affinity:
        value = labels.get(t.topology_key)
        if value is None:
            return False  # every topology key must be on the node
        if s.affinity.get((t.topology_key, value), 0) <= 0:
            pods_exist = False
    if not pods_exist:
        # The first pod of a group with affinity to itself: allowed when nothing matches yet.
        return not s.affinity and pod_matches_all_terms(s.terms.required_affinity, s.pod)
    return True


def satisfies_pod_anti_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    if s.anti_affinity:
        for t in s.terms.required_anti_affinity:
            value = labels.get(t.topology_key)
            if value is not None and s.anti_affinity.get((t.topology_key, value), 0) > 0:
                return False
    return True


def satisfies_existing_pods_anti_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    if s.existing_anti_affinity:
        for pair in labels.items():
            if s.existing_anti_affinity.get(pair, 0) > 0:
                return False
    return True


# --- PreScore state ----------------------------------------------------------------------------------


@dataclass(slots=True)
class PreScoreState:
    topology_score: dict[str, dict[str, int]]  # topologyKey -> value -> summed weight


def _process_term(scores: dict[str, dict[str, int]], term: AffinityTerm, weight: int, pod: Obj,
                  ns_labels: Mapping[str, str] | None, node_labels: Mapping[str, str], multiplier: int) -> None:
    if term.matches(pod, ns_labels):
        value = node_labels.get(term.topology_key)
        if value is not None:
            by_value = scores.setdefault(term.topology_key, {})
            by_value[value] = by_value.get(value, 0) + weight * multiplier


# --- the plugin --------------------------------------------------------------------------------------


class InterPodAffinity:
    name: ClassVar[str] = NAME

    def __init__(self, args: Obj | None = None, handle: Any = None, listers: Listers | None = None) -> None:
        args = args or {}
        self.hard_pod_affinity_weight = int(args.get("hardPodAffinityWeight", 1))
        self.ignore_preferred_terms_of_existing_pods = bool(args.get("ignorePreferredTermsOfExistingPods", False))
        self.handle = handle
        self.listers = listers or Listers()

    def attach_informers(self, factory: Any, on_event: OnEvent) -> None:
        self.listers.attach(factory, ["namespaces"])

    # --- helpers ---
    def _all_nodes(self, fallback: Sequence[NodeInfo]) -> Sequence[NodeInfo]:
        snap = getattr(self.handle, "snapshot", None)
        return snap.node_info_list if snap is not None and snap.node_info_list else fallback

    def _with_required_anti_affinity(self, nodes: Sequence[NodeInfo]) -> Sequence[NodeInfo]:
        """Nodes with pods that have required anti-affinity (the snapshot keeps that list)."""
        snap = getattr(self.handle, "snapshot", None)
        if snap is not None and snap.node_info_list is nodes:
            listed: Sequence[NodeInfo] = snap.have_pods_with_required_anti_affinity_list
            return listed
        return [n for n in nodes if n.pods_with_required_anti_affinity]

    def _with_affinity(self, nodes: Sequence[NodeInfo]) -> Sequence[NodeInfo]:
        snap = getattr(self.handle, "snapshot", None)
        if snap is not None and snap.node_info_list is nodes:
            listed: Sequence[NodeInfo] = snap.have_pods_with_affinity_list
            return listed
        return [n for n in nodes if n.pods_with_affinity]

    def _namespace_labels(self, namespace: str) -> dict[str, str] | None:
        ns = self.listers.get("namespaces", "", namespace)
        return None if ns is None else dict((ns.get("metadata") or {}).get("labels") or {})

    def _resolve_namespaces(self, term: AffinityTerm) -> AffinityTerm:
        """A namespaceSelector becomes the names of the namespaces it selects now (an empty one,
        all namespaces, stays a selector)."""
        if term.namespace_selector.empty:
            return term
        names = {str((ns.get("metadata") or {}).get("name") or "") for ns in self.listers.list("namespaces")
                 if term.namespace_selector.matches((ns.get("metadata") or {}).get("labels") or {})}
        return AffinityTerm(term.namespaces | names, term.selector, term.topology_key, NOTHING)

    def _resolved(self, terms: PodAffinityTerms) -> PodAffinityTerms:
        r = self._resolve_namespaces
        return PodAffinityTerms(tuple(r(t) for t in terms.required_affinity),
                                tuple(r(t) for t in terms.required_anti_affinity),
                                tuple(WeightedTerm(r(w.term), w.weight) for w in terms.preferred_affinity),
                                tuple(WeightedTerm(r(w.term), w.weight) for w in terms.preferred_anti_affinity))

    # --- PreFilter / Filter ---
    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        try:
            terms = parse_pod_affinity(pod)
        except Exception as e:
            return None, unresolvable(f"parsing pod: {getattr(e, 'message', None) or e}")
        with_anti = self._with_required_anti_affinity(nodes)
        if not with_anti and not terms.required_affinity and not terms.required_anti_affinity:
            return None, SKIP
        terms = self._resolved(terms)
        ns_labels = self._namespace_labels(namespace_of(pod))
        existing: Counts = {}
        for ni in with_anti:
            labels = ni.labels
            for pi in ni.pods_with_required_anti_affinity:
                for t in terms_of(pi.pod).required_anti_affinity:
                    if t.topology_key in labels and t.matches(pod, ns_labels):
                        _add(existing, (t.topology_key, labels[t.topology_key]), 1)
        affinity: Counts = {}
        anti: Counts = {}
        if terms.required_affinity or terms.required_anti_affinity:
            for ni in nodes:
                labels = ni.labels
                for pi in ni.pods:
                    count_incoming(terms, pi.pod, labels, 1, affinity, anti)
        if not existing and not terms.required_affinity and not terms.required_anti_affinity:
            return None, SKIP
        state.write(_PREFILTER_KEY, PreFilterState(pod, terms, ns_labels, existing, affinity, anti))
        return None, None

    def pre_filter_extensions(self) -> InterPodAffinity:
        return self

    def add_pod(self, state: CycleState, pod: Obj, pod_to_add: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        s.update_with_pod(pod_to_add, node_info.labels, 1)
        return None

    def remove_pod(self, state: CycleState, pod: Obj, pod_to_remove: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        s.update_with_pod(pod_to_remove, node_info.labels, -1)
        return None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        labels = node_info.labels
        if not satisfies_pod_affinity(s, labels):
            return unresolvable(ERR_REASON_AFFINITY)
        if not satisfies_pod_anti_affinity(s, labels):
            return unschedulable(ERR_REASON_ANTI_AFFINITY)
        if not satisfies_existing_pods_anti_affinity(s, labels):
            return unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY)
        return None

    # --- PreScore / Score ---
    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        if not nodes:
            return SKIP
        try:
            terms = parse_pod_affinity(pod)
        except Exception as e:
            return error_status(f"parsing pod: {getattr(e, 'message', None) or e}")
        has_constraints = bool(terms.preferred_affinity or terms.preferred_anti_affinity)
        if self.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return SKIP
        all_nodes = self._all_nodes(nodes)
        if not has_constraints:
            all_nodes = self._with_affinity(all_nodes)
            if not all_nodes:
                return SKIP
        terms = self._resolved(terms)
        ns_labels = self._namespace_labels(namespace_of(pod))
        scores: dict[str, dict[str, int]] = {}
        hard = self.hard_pod_affinity_weight
        for ni in all_nodes:
            labels = ni.labels
            if not labels:
                continue
            for pi in (ni.pods if has_constraints else ni.pods_with_affinity):
                other = pi.pod
                for w in terms.preferred_affinity:
                    _process_term(scores, w.term, w.weight, other, None, labels, 1)
                for w in terms.preferred_anti_affinity:
                    _process_term(scores, w.term, w.weight, other, None, labels, -1)
                if not pi.has_affinity:
                    continue
                theirs = terms_of(other)
                if hard > 0:
                    for t in theirs.required_affinity:
                        _process_term(scores, t, hard, pod, ns_labels, labels, 1)
                for w in theirs.preferred_affinity:
                    _process_term(scores, w.term, w.weight, pod, ns_labels, labels, 1)
                for w in theirs.preferred_anti_affinity:
                    _process_term(scores, w.term, w.weight, pod, ns_labels, labels, -1)
        if not scores:
            return SKIP
        state.write(_PRESCORE_KEY, PreScoreState(scores))
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        s: PreScoreState | None = state.get(_PRESCORE_KEY)
        if s is None:
            return 0, error_status(f'reading "{_PRESCORE_KEY}" from cycleState: not found')
        labels = node_info.labels
        total = 0
        for key, by_value in s.topology_score.items():
            value = labels.get(key)
            if value is not None:
                total += by_value.get(value, 0)
        return total, None

    def normalize_score(self, state: CycleState, pod: Obj, scores: list[NodeScore]) -> Status | None:
        s: PreScoreState | None = state.get(_PRESCORE_KEY)
        if s is None or not s.topology_score or not scores:
            return None
        lo = min(x.score for x in scores)
        hi = max(x.score for x in scores)
        diff = hi - lo
        for x in scores:
            x.score = int(MAX_NODE_SCORE * ((x.score - lo) / diff)) if diff > 0 else 0
        return None

    # --- events ---
    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(EventResource.POD, ActionType.ADD | ActionType.UPDATE_POD_LABEL
                                              | ActionType.DELETE), pod_change_hint),
            ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL),
                                 node_change_hint),
        ]


def pod_change_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    """Queue when an assigned pod's change may satisfy the waiting pod's affinity or lift an
    anti-affinity conflict (its own terms or the changed pod's)."""
    if (new is not None and not is_assigned(new)) or (old is not None and not is_assigned(old)):
        return QueueingHint.QUEUE_SKIP
    terms = terms_of(pod)
    if old is not None and new is not None:
        if not pod_matches_all_terms(terms.required_affinity, old) and \
                pod_matches_all_terms(terms.required_affinity, new):
            return QueueingHint.QUEUE
        if pod_matches_all_terms(terms.required_anti_affinity, old) and \
                not pod_matches_all_terms(terms.required_anti_affinity, new):
            return QueueingHint.QUEUE
        return QueueingHint.QUEUE_SKIP
    if new is not None:
        return QueueingHint.QUEUE if pod_matches_all_terms(terms.required_affinity, new) else QueueingHint.QUEUE_SKIP
    assert old is not None
    if any(t.matches(old, None) for t in terms.required_anti_affinity):
        return QueueingHint.QUEUE
    # Not in upstream's hint: the deleted pod's own anti-affinity may have been what rejected us.
    if any(t.matches(pod, None) for t in terms_of(old).required_anti_affinity):
        return QueueingHint.QUEUE
    return QueueingHint.QUEUE_SKIP


def node_change_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    """Queue when a node gains (or changes) a topology label the pod's affinity needs, or for any
    new node (anti-affinity, own or of existing pods, may be satisfied in a new domain)."""
    if new is None:
        return QueueingHint.QUEUE_SKIP
    if old is None:
        return QueueingHint.QUEUE
    terms = terms_of(pod)
    o_labels = (old.get("metadata") or {}).get("labels") or {}
    n_labels = (new.get("metadata") or {}).get("labels") or {}
    for t in (*terms.required_affinity, *terms.required_anti_affinity):
        if o_labels.get(t.topology_key) != n_labels.get(t.topology_key):
            return QueueingHint.QUEUE
    return QueueingHint.QUEUE_SKIP
