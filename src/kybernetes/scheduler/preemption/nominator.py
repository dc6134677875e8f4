"""Nominated pods: pending pods that preemption promised a node to (``status.nominatedNodeName``).

Why it exists: after a preemption the preemptor waits for its victims to terminate. Meanwhile the
room they free must not be taken by a pod of lower or equal priority, so every Filter run for a pod
on a node counts the node's nominated pods of priority >= its own as if they were already there
(upstream's ``RunFilterPluginsWithNominatedPods``). Bound pods are never nominated: binding (or
deleting) a pod removes its nomination.

Invariants:
1. A pod key is nominated to at most one node.
2. An in-memory nomination (set by the scheduler right after preempting) survives an informer update
   that does not yet carry the ``nominatedNodeName`` the scheduler is writing (upstream's rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import pod_priority
from kybernetes.scheduler.framework.status import Code, Status, error_status
from kybernetes.scheduler.framework.types import NodeInfo, PodInfo, pod_key, pod_uid

Obj = dict[str, Any]


def nominated_node_name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("nominatedNodeName") or "")


class PodNominator:
    def __init__(self) -> None:
        self._by_node: dict[str, dict[str, PodInfo]] = {}  # node -> pod key -> PodInfo
        self._node_of: dict[str, str] = {}  # pod key -> node

    def __len__(self) -> int:
        return len(self._node_of)

    def add(self, pod: Obj, node: str | None = None) -> None:
        """Nominate `pod` to `node` (default: its status.nominatedNodeName; nothing if empty).
        A bound pod is never nominated."""
        self.delete(pod)
        name = node if node is not None else nominated_node_name(pod)
        if not name or (pod.get("spec") or {}).get("nodeName"):
            return
        key = pod_key(pod)
        self._by_node.setdefault(name, {})[key] = PodInfo.of(pod)
        self._node_of[key] = name

    def delete(self, pod: Mapping[str, Any]) -> None:
        key = pod_key(pod)
        node = self._node_of.pop(key, None)
        if node is None:
            return
        pods = self._by_node.get(node)
        if pods is not None:
            pods.pop(key, None)
            if not pods:
                del self._by_node[node]

    def update(self, old: Obj, new: Obj) -> None:
        """The pod changed: follow its nominatedNodeName, keeping an in-memory one (invariant 2)."""
        keep: str | None = None
        if not nominated_node_name(old) and not nominated_node_name(new):
            keep = self._node_of.get(pod_key(old))
        self.delete(old)
        self.add(new, keep)

    def node_of(self, pod: Mapping[str, Any]) -> str:
        return self._node_of.get(pod_key(pod), "")

    def nominated_pods_for_node(self, node: str) -> list[PodInfo]:
        return list((self._by_node.get(node) or {}).values())


def add_nominated_pods(fw: Any, nominator: PodNominator | None, state: CycleState, pod: Obj,
                       node_info: NodeInfo) -> tuple[bool, CycleState, NodeInfo, Status | None]:
    """Clones of `state` and `node_info` with the node's nominated pods of priority >= the pod's
    added (through the PreFilter extensions); (added?, state, node_info, error)."""
    if nominator is None or not len(nominator):
        return False, state, node_info, None
    nominated = nominator.nominated_pods_for_node(node_info.name)
    if not nominated:
        return False, state, node_info, None
    prio = pod_priority(pod)
    uid = pod_uid(pod)
    ni_out: NodeInfo | None = None
    state_out: CycleState | None = None
    for pi in nominated:
        if pod_priority(pi.pod) < prio or pod_uid(pi.pod) == uid:
            continue
        if ni_out is None or state_out is None:
            ni_out, state_out = node_info.clone(), state.clone()
        ni_out.add_pod_info(pi)
        st = fw.run_pre_filter_extension_add_pod(state_out, pod, pi.pod, ni_out)
        if st is not None and st.code != Code.SUCCESS:
            return False, state, node_info, st if st.code == Code.ERROR else error_status(st.message())
    if ni_out is None or state_out is None:
        return False, state, node_info, None
    return True, state_out, ni_out, None


def run_filter_plugins_with_nominated_pods(fw: Any, nominator: PodNominator | None, state: CycleState,
                                           pod: Obj, node_info: NodeInfo) -> Status | None:
    """Filter `node_info` for `pod` twice when the node has nominated pods that outrank or equal it:
    once with them (they may need the room) and once without (pod affinity to them must not count
    them as present). The first rejection wins; None when both pass."""
    added, state_with, ni_with, err = add_nominated_pods(fw, nominator, state, pod, node_info)
    if err is not None:
        return err
    st: Status | None = fw.run_filter_plugins(state_with, pod, ni_with)
    if st is not None and st.code != Code.SUCCESS:
        return st
    if not added:
        return None
    result: Status | None = fw.run_filter_plugins(state, pod, node_info)
    return result
