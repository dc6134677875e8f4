"""PodTopologySpread: keep matching pods evenly spread over topology domains (upstream's plugin).

A constraint (``spec.topologySpreadConstraints[]``) names a node label (``topologyKey``), the pods
that count (``labelSelector``, plus ``matchLabelKeys`` taken from the pod's own labels), how uneven
the domains may get (``maxSkew``), and what to do otherwise (``whenUnsatisfiable``):

- DoNotSchedule — Filter: ``matching pods in the node's domain + (1 if the pod matches itself)
  - global minimum <= maxSkew``, the minimum taken over the eligible domains (0 while there are
  fewer than ``minDomains``). A node without the label is unresolvable.
- ScheduleAnyway — Score: fewer matching pods in the node's domains score higher; each count is
  weighted by log(number of domains + 2) and softened by ``maxSkew - 1``; normalized so that
  the emptiest node gets 100.

Which nodes form the domains: those with every constraint's key that match the pod's node
affinity/selector (``nodeAffinityPolicy: Honor``, the default) and, with
``nodeTaintsPolicy: Honor`` (default Ignore), whose NoSchedule/NoExecute taints the pod tolerates.
Pods are counted in the pod's namespace only, terminating pods not at all, and a selector that
selects everything counts nothing (upstream's quirk).

Pods without constraints get the cluster defaults (args ``defaultingType: System`` — upstream's
default — means hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway; ``List`` uses
``defaultConstraints``), selecting the pods of the same Services, ReplicationController,
ReplicaSet or StatefulSet; without any of those there is nothing to spread. Under system
defaulting, nodes without a zone label still take part in hostname spreading.

Counting matching pods on every node for every attempt is the expensive part; counts are memoized
per (selector, namespace, node) and recomputed only for nodes whose NodeInfo generation moved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from kybernetes.machinery.labels import EQUALS, IN, Requirement, Selector, selector_from_label_selector
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
from kybernetes.scheduler.plugins.helpers import Labels, first_untolerated_taint, required_node_affinity
from kybernetes.scheduler.plugins.listers import Listers, OnEvent, is_assigned, labels_of, meta, namespace_of

Obj = dict[str, Any]
NAME = "PodTopologySpread"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_ZONE = "topology.kubernetes.io/zone"
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
HONOR = "Honor"
IGNORE = "Ignore"
SYSTEM_DEFAULT_CONSTRAINTS: list[Obj] = [
    {"topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 3},
    {"topologyKey": LABEL_ZONE, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 5},
]
_PREFILTER_KEY = "PreFilter" + NAME
_PRESCORE_KEY = "PreScore" + NAME
_MAX_INT32 = 2**31 - 1
Matcher = Callable[[Labels, str], bool]


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int = 1
    node_affinity_policy: str = HONOR
    node_taints_policy: str = IGNORE


def _order(r: Requirement) -> tuple[str, str, tuple[str, ...]]:
    return (r.key, r.operator, r.values)


def add_requirements(selector: Selector, extra: Sequence[Requirement]) -> Selector:
    if not extra or selector.nothing:
        return selector
    return Selector(tuple(sorted({*selector.requirements, *extra}, key=_order)))


def filter_constraints(constraints: Sequence[Obj], pod_labels: Mapping[str, str], action: str,
                       selector: Selector | None = None) -> list[Constraint]:
    """The API constraints with `action` as Constraints; `selector` (default constraints) replaces
    their labelSelector. Raises on an invalid selector."""
    out: list[Constraint] = []
    for c in constraints:
        if (c.get("whenUnsatisfiable") or "") != action:
            continue
        sel = selector if selector is not None else selector_from_label_selector(c.get("labelSelector"))
        keys = [k for k in c.get("matchLabelKeys") or () if k in pod_labels]
        if keys:
            sel = add_requirements(sel, [Requirement(k, IN, (pod_labels[k],)) for k in keys])
        min_domains = c.get("minDomains")
        out.append(Constraint(int(c.get("maxSkew") or 0), str(c.get("topologyKey") or ""), sel,
                              1 if min_domains is None else int(min_domains),
                              c.get("nodeAffinityPolicy") or HONOR, c.get("nodeTaintsPolicy") or IGNORE))
    return out


def default_selector(pod: Obj, listers: Listers) -> Selector:
    """The pods that belong with `pod`: selectors of the Services that select it, and of its
    controller if that is a ReplicationController, ReplicaSet or StatefulSet (upstream's
    DefaultSelector)."""
    ns = namespace_of(pod)
    labels = labels_of(pod)
    label_set: dict[str, str] = {}
    for svc in listers.list("services", ns):
        sel = (svc.get("spec") or {}).get("selector")
        if sel is None:
            continue  # a Service without selector selects nothing
        if all(labels.get(k) == v for k, v in sel.items()):
            label_set.update(sel)
    selector = Selector(tuple(sorted((Requirement(k, EQUALS, (v,)) for k, v in label_set.items()), key=_order)))
    owner = next((r for r in meta(pod).get("ownerReferences") or () if r.get("controller")), None)
    if owner is None:
        return selector
    gvk = (owner.get("apiVersion") or "", owner.get("kind") or "")
    name = str(owner.get("name") or "")
    if gvk == ("v1", "ReplicationController"):
        rc = listers.get("replicationcontrollers", ns, name)
        if rc is not None:
            label_set.update((rc.get("spec") or {}).get("selector") or {})
            selector = Selector(tuple(sorted((Requirement(k, EQUALS, (v,)) for k, v in label_set.items()),
                                             key=_order)))
    elif gvk in (("apps/v1", "ReplicaSet"), ("apps/v1", "StatefulSet")):
        kind = "replicasets" if gvk[1] == "ReplicaSet" else "statefulsets"
        owner_obj = listers.get(kind, ns, name)
        if owner_obj is not None:
            try:
                other = selector_from_label_selector((owner_obj.get("spec") or {}).get("selector"))
            except Exception:
                return selector
            if not other.nothing:
                selector = add_requirements(selector, other.requirements)
    return selector


def node_has_keys(labels: Mapping[str, str], constraints: Sequence[Constraint]) -> bool:
    return all(c.topology_key in labels for c in constraints)


def node_included(c: Constraint, pod: Obj, ni: NodeInfo, affinity: Matcher | None) -> bool:
    """nodeAffinityPolicy / nodeTaintsPolicy: does this node's domain count for `c`?"""
    if c.node_affinity_policy == HONOR and affinity is not None and not affinity(ni.labels, ni.name):
        return False
    return not (c.node_taints_policy == HONOR and ni.taints and first_untolerated_taint(
        ni.taints, (pod.get("spec") or {}).get("tolerations") or []) is not None)


def count_matching(ni: NodeInfo, selector: Selector, namespace: str) -> int:
    if selector.empty:
        return 0
    n = 0
    for pi in ni.pods:
        p = pi.pod
        m = p.get("metadata") or {}
        if m.get("deletionTimestamp") or m.get("namespace") != namespace:
            continue
        if selector.matches(m.get("labels") or {}):
            n += 1
    return n


class CountMemo:
    """Matching-pod counts per (selector, namespace) and node, valid while the node's generation holds."""

    MAX_SELECTORS = 512

    def __init__(self) -> None:
        self._by_selector: dict[tuple[Selector, str], dict[str, tuple[int, int]]] = {}

    def table(self, selector: Selector, namespace: str) -> dict[str, tuple[int, int]]:
        key = (selector, namespace)
        t = self._by_selector.get(key)
        if t is None:
            if len(self._by_selector) >= self.MAX_SELECTORS:
                self._by_selector.clear()
            t = self._by_selector[key] = {}
        return t

    @staticmethod
    def count(table: dict[str, tuple[int, int]], ni: NodeInfo, selector: Selector, namespace: str) -> int:
        hit = table.get(ni.name)
        if hit is not None and hit[0] == ni.generation:
            return hit[1]
        n = count_matching(ni, selector, namespace)
        table[ni.name] = (ni.generation, n)
        return n


# --- Filter -----------------------------------------------------------------------------------------


class CriticalPaths:
    """The two smallest (domain, count) seen, as upstream keeps them: [0] holds the minimum;
    updates after PreFilter (preemption's what-ifs) keep it approximately, as upstream does."""

    __slots__ = ("nums", "values")

    def __init__(self) -> None:
        self.values = ["", ""]
        self.nums = [_MAX_INT32, _MAX_INT32]

    def clone(self) -> CriticalPaths:
        c = CriticalPaths()
        c.values, c.nums = list(self.values), list(self.nums)
        return c

    def update(self, value: str, num: int) -> None:
        vs, ns = self.values, self.nums
        i = 0 if value == vs[0] else 1 if value == vs[1] else -1
        if i >= 0:
            ns[i] = num
            if ns[0] > ns[1]:
                vs.reverse()
                ns.reverse()
        elif num < ns[0]:
            vs[1], ns[1] = vs[0], ns[0]
            vs[0], ns[0] = value, num
        elif num < ns[1]:
            vs[1], ns[1] = value, num

    @property
    def min(self) -> int:
        return self.nums[0]


@dataclass(slots=True)
class PreFilterState:
    pod: Obj
    constraints: list[Constraint]
    critical_paths: list[CriticalPaths]
    value_to_count: list[dict[str, int]]  # per constraint: domain value -> matching pods

    def clone(self) -> PreFilterState:
        return PreFilterState(self.pod, self.constraints, [c.clone() for c in self.critical_paths],
                              [dict(m) for m in self.value_to_count])

    def min_match(self, i: int) -> int:
        if len(self.value_to_count[i]) < self.constraints[i].min_domains:
            return 0
        return self.critical_paths[i].min

    def update_with_pod(self, other: Obj, ni: NodeInfo, delta: int) -> None:
        if namespace_of(other) != namespace_of(self.pod) or ni.node is None:
            return
        if not node_has_keys(ni.labels, self.constraints):
            return
        affinity = required_node_affinity(self.pod)
        other_labels = labels_of(other)
        for i, c in enumerate(self.constraints):
            if not node_included(c, self.pod, ni, affinity) or not c.selector.matches(other_labels):
                continue
            v = ni.labels[c.topology_key]
            n = self.value_to_count[i].get(v, 0) + delta
            self.value_to_count[i][v] = n
            self.critical_paths[i].update(v, n)


def fits(s: PreFilterState, pod: Obj, labels: Mapping[str, str]) -> Status | None:
    """The Filter decision for a node with `labels`."""
    pod_labels = labels_of(pod)
    for i, c in enumerate(s.constraints):
        value = labels.get(c.topology_key)
        if value is None:
            return unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH)
        self_match = 1 if c.selector.matches(pod_labels) else 0
        skew = s.value_to_count[i].get(value, 0) + self_match - s.min_match(i)
        if skew > c.max_skew:
            return unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH)
    return None


# --- Score ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PreScoreState:
    constraints: list[Constraint]
    ignored_nodes: set[str]
    value_to_count: list[dict[str, int]]
    weights: list[float]
    tables: list[dict[str, tuple[int, int]]]  # memo tables for hostname constraints


def topology_normalizing_weight(size: int) -> float:
    return math.log(size + 2)


def score_for_count(count: int, max_skew: int, weight: float) -> float:
    return count * weight + (max_skew - 1)


def _round_half_away(x: float) -> int:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


# --- the plugin -------------------------------------------------------------------------------------


class PodTopologySpread:
    name: ClassVar[str] = NAME

    def __init__(self, args: Obj | None = None, handle: Any = None, listers: Listers | None = None) -> None:
        args = args or {}
        defaulting = args.get("defaultingType") or "System"
        if defaulting == "System":
            if args.get("defaultConstraints"):
                raise ValueError('when .defaultingType is "System", .defaultConstraints must be empty')
            self.default_constraints = SYSTEM_DEFAULT_CONSTRAINTS
            self.system_defaulted = True
        else:
            self.default_constraints = list(args.get("defaultConstraints") or [])
            self.system_defaulted = False
        self.handle = handle
        self.listers = listers or Listers()
        self.memo = CountMemo()

    def attach_informers(self, factory: Any, on_event: OnEvent) -> None:
        self.listers.attach(factory, ["services", "replicationcontrollers", "replicasets", "statefulsets"])

    def constraints(self, pod: Obj, action: str) -> list[Constraint]:
        """The pod's own constraints with `action`, else the defaults with the pod's default selector."""
        own = (pod.get("spec") or {}).get("topologySpreadConstraints") or []
        labels = labels_of(pod)
        if own:
            return filter_constraints(own, labels, action)
        if not any((c.get("whenUnsatisfiable") or "") == action for c in self.default_constraints):
            return []
        selector = default_selector(pod, self.listers)
        if selector.empty:
            return []
        return filter_constraints(self.default_constraints, labels, action, selector)

    # --- PreFilter / Filter ---
    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        try:
            constraints = self.constraints(pod, DO_NOT_SCHEDULE)
        except Exception as e:
            return None, error_status(getattr(e, "message", None) or str(e))
        if not constraints:
            return None, SKIP
        ns = namespace_of(pod)
        affinity = required_node_affinity(pod)
        counts: list[dict[str, int]] = [{} for _ in constraints]
        tables = [self.memo.table(c.selector, ns) for c in constraints]
        count = CountMemo.count
        for ni in nodes:
            labels = ni.labels
            if not node_has_keys(labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not node_included(c, pod, ni, affinity):
                    continue
                v = labels[c.topology_key]
                counts[i][v] = counts[i].get(v, 0) + count(tables[i], ni, c.selector, ns)
        paths = []
        for m in counts:
            cp = CriticalPaths()
            for v, n in m.items():
                cp.update(v, n)
            paths.append(cp)
        state.write(_PREFILTER_KEY, PreFilterState(pod, constraints, paths, counts))
        return None, None

    def pre_filter_extensions(self) -> PodTopologySpread:
        return self

    def add_pod(self, state: CycleState, pod: Obj, pod_to_add: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        s.update_with_pod(pod_to_add, node_info, 1)
        return None

    def remove_pod(self, state: CycleState, pod: Obj, pod_to_remove: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        s.update_with_pod(pod_to_remove, node_info, -1)
        return None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        return fits(s, pod, node_info.labels)

    # --- PreScore / Score ---
    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        snap = getattr(self.handle, "snapshot", None)
        all_nodes: Sequence[NodeInfo] = snap.node_info_list if snap is not None and snap.node_info_list else nodes
        if not nodes or not all_nodes:
            return SKIP
        try:
            constraints = self.constraints(pod, SCHEDULE_ANYWAY)
        except Exception as e:
            return error_status(getattr(e, "message", None) or str(e))
        if not constraints:
            return SKIP
        require_all = bool((pod.get("spec") or {}).get("topologySpreadConstraints")) or not self.system_defaulted
        ignored: set[str] = set()
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for ni in nodes:
            labels = ni.labels
            if require_all and not node_has_keys(labels, constraints):
                ignored.add(ni.name)
                continue
            for i, c in enumerate(constraints):
                if c.topology_key != LABEL_HOSTNAME:
                    counts[i].setdefault(labels.get(c.topology_key, ""), 0)
        weights = []
        for i, c in enumerate(constraints):
            size = len(nodes) - len(ignored) if c.topology_key == LABEL_HOSTNAME else len(counts[i])
            weights.append(topology_normalizing_weight(size))
        ns = namespace_of(pod)
        affinity = required_node_affinity(pod)
        tables = [self.memo.table(c.selector, ns) for c in constraints]
        count = CountMemo.count
        for ni in all_nodes:
            labels = ni.labels
            if require_all and not node_has_keys(labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if c.topology_key == LABEL_HOSTNAME or not node_included(c, pod, ni, affinity):
                    continue
                v = labels.get(c.topology_key, "")
                m = counts[i]
                if v in m:
                    m[v] += count(tables[i], ni, c.selector, ns)
        state.write(_PRESCORE_KEY, PreScoreState(constraints, ignored, counts, weights, tables))
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        s: PreScoreState | None = state.get(_PRESCORE_KEY)
        if s is None:
            return 0, error_status(f'reading "{_PRESCORE_KEY}" from cycleState: not found')
        if node_info.name in s.ignored_nodes:
            return 0, None
        labels = node_info.labels
        total = 0.0
        for i, c in enumerate(s.constraints):
            value = labels.get(c.topology_key)
            if value is None:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                n = CountMemo.count(s.tables[i], node_info, c.selector, namespace_of(pod))
            else:
                n = s.value_to_count[i].get(value, 0)
            total += score_for_count(n, c.max_skew, s.weights[i])
        return _round_half_away(total), None

    def normalize_score(self, state: CycleState, pod: Obj, scores: list[NodeScore]) -> Status | None:
        s: PreScoreState | None = state.get(_PRESCORE_KEY)
        if s is None:
            return None
        lo, hi = None, 0
        for x in scores:
            if x.name in s.ignored_nodes:
                continue
            lo = x.score if lo is None or x.score < lo else lo
            hi = max(hi, x.score)
        for x in scores:
            if x.name in s.ignored_nodes:
                x.score = 0
            elif hi == 0:
                x.score = MAX_NODE_SCORE
            else:
                x.score = MAX_NODE_SCORE * (hi + (lo or 0) - x.score) // hi
        return None

    # --- events ---
    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(EventResource.POD, ActionType.ADD | ActionType.UPDATE_POD_LABEL
                                              | ActionType.DELETE), self._pod_hint),
            ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL
                                              | ActionType.UPDATE_NODE_TAINT), self._node_hint),
        ]

    def _hint_constraints(self, pod: Obj) -> list[Constraint]:
        try:
            return self.constraints(pod, DO_NOT_SCHEDULE)
        except Exception:
            return []

    def _pod_hint(self, pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
        """Queue when an assigned pod of the same namespace that matches (or matched) a selector
        comes, goes or changes the labels that matter."""
        for p in (old, new):
            if p is not None and not _involved(p, pod):
                return QueueingHint.QUEUE_SKIP
        constraints = self._hint_constraints(pod)
        if old is not None and new is not None:
            o, n = labels_of(old), labels_of(new)
            if o == n:
                return QueueingHint.QUEUE_SKIP
            return QueueingHint.QUEUE if any(c.selector.matches(o) != c.selector.matches(n)
                                             for c in constraints) else QueueingHint.QUEUE_SKIP
        changed = new if new is not None else old
        assert changed is not None
        labels = labels_of(changed)
        return QueueingHint.QUEUE if any(c.selector.matches(labels) for c in constraints) else QueueingHint.QUEUE_SKIP

    def _node_hint(self, pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
        """Queue for a node with every topology key that is new, or whose domain values or taints changed."""
        constraints = self._hint_constraints(pod)
        if new is None:
            return QueueingHint.QUEUE_SKIP
        n_labels = (new.get("metadata") or {}).get("labels") or {}
        if not node_has_keys(n_labels, constraints):
            return QueueingHint.QUEUE_SKIP
        if old is None:
            return QueueingHint.QUEUE
        o_labels = (old.get("metadata") or {}).get("labels") or {}
        if any(o_labels.get(c.topology_key) != n_labels.get(c.topology_key) for c in constraints):
            return QueueingHint.QUEUE
        if any(c.node_taints_policy == HONOR for c in constraints) and \
                (old.get("spec") or {}).get("taints") != (new.get("spec") or {}).get("taints"):
            return QueueingHint.QUEUE
        return QueueingHint.QUEUE_SKIP


def _involved(other: Obj, pod: Obj) -> bool:
    """Is `other` part of `pod`'s spreading: the pod itself, or an assigned pod of its namespace."""
    uid = meta(pod).get("uid")
    if uid and meta(other).get("uid") == uid:
        return True
    return is_assigned(other) and namespace_of(other) == namespace_of(pod)
