"""VolumeRestrictions: volumes that only one node (or one pod) may use at a time (upstream's plugin).

Filter rejects a node when a pod already there uses the same disk and they may not share it:
a GCE PD (same ``pdName``, unless both read-only), an AWS EBS volume (same ``volumeID``), an
iSCSI volume (same ``iqn``, unless both read-only) or an RBD image (a common monitor, same pool
and image, unless both read-only) — "node(s) had no available disk". And a PersistentVolumeClaim
with access mode ReadWriteOncePod may be used by one pod in the whole cluster: while another pod
uses it, every node is rejected. PreFilter reads the pod's PVCs (a missing one is unresolvable:
``persistentvolumeclaim "<name>" not found``) and counts the pods using its ReadWriteOncePod ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
    QueueingHint,
)
from kybernetes.scheduler.framework.interface import PreFilterResult
from kybernetes.scheduler.framework.status import SKIP, Status, error_status, unresolvable, unschedulable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.plugins.listers import Listers, OnEvent, meta, namespace_of, raise_events

Obj = dict[str, Any]
NAME = "VolumeRestrictions"
ERR_REASON_DISK_CONFLICT = "node(s) had no available disk"
ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT = ("node has pod using PersistentVolumeClaim with the same name and "
                                           "ReadWriteOncePod access mode")
_PREFILTER_KEY = "PreFilter" + NAME
_CHECKED = ("gcePersistentDisk", "awsElasticBlockStore", "iscsi", "rbd")


def _volumes(pod: Obj) -> list[Obj]:
    return list((pod.get("spec") or {}).get("volumes") or [])


def needs_check(volume: Mapping[str, Any]) -> bool:
    return any(volume.get(k) for k in _CHECKED)


def volumes_conflict(volume: Mapping[str, Any], existing: Mapping[str, Any]) -> bool:
    """Can `volume` not be mounted on a node where `existing` already is?"""
    a, b = volume.get("gcePersistentDisk"), existing.get("gcePersistentDisk")
    if a and b and a.get("pdName") == b.get("pdName") and not (a.get("readOnly") and b.get("readOnly")):
        return True
    a, b = volume.get("awsElasticBlockStore"), existing.get("awsElasticBlockStore")
    if a and b and a.get("volumeID") == b.get("volumeID"):
        return True
    a, b = volume.get("iscsi"), existing.get("iscsi")
    if a and b and a.get("iqn") == b.get("iqn") and not (a.get("readOnly") and b.get("readOnly")):
        return True
    a, b = volume.get("rbd"), existing.get("rbd")
    if a and b:
        overlap = bool(set(a.get("monitors") or ()) & set(b.get("monitors") or ()))
        if overlap and (a.get("pool") or "rbd") == (b.get("pool") or "rbd") and a.get("image") == b.get("image") \
                and not (a.get("readOnly") and b.get("readOnly")):
            return True
    return False


def satisfies_volume_conflicts(pod: Obj, node_info: NodeInfo) -> bool:
    for v in _volumes(pod):
        if not needs_check(v):
            continue
        for pi in node_info.pods:
            for ev in _volumes(pi.pod):
                if volumes_conflict(v, ev):
                    return False
    return True


def pvc_names(pod: Obj) -> list[str]:
    return [str((v.get("persistentVolumeClaim") or {}).get("claimName") or "") for v in _volumes(pod)
            if v.get("persistentVolumeClaim")]


@dataclass(slots=True)
class PreFilterState:
    namespace: str
    rwop_pvcs: frozenset[str]  # the pod's ReadWriteOncePod claims
    conflicting: int  # pods (other than this one) using one of them

    def clone(self) -> PreFilterState:
        return PreFilterState(self.namespace, self.rwop_pvcs, self.conflicting)

    def uses(self, other: Obj) -> int:
        if namespace_of(other) != self.namespace:
            return 0
        return sum(1 for c in pvc_names(other) if c in self.rwop_pvcs)


class VolumeRestrictions:
    name: ClassVar[str] = NAME

    def __init__(self, args: Obj | None = None, handle: Any = None, listers: Listers | None = None) -> None:
        self.handle = handle
        self.listers = listers or Listers()

    def attach_informers(self, factory: Any, on_event: OnEvent) -> None:
        self.listers.attach(factory, ["persistentvolumeclaims"])
        raise_events(factory, "persistentvolumeclaims", EventResource.PERSISTENT_VOLUME_CLAIM, on_event,
                     actions=ActionType.ADD)

    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        check = any(needs_check(v) for v in _volumes(pod))
        ns = namespace_of(pod)
        rwop: set[str] = set()
        for claim in pvc_names(pod):
            pvc = self.listers.get("persistentvolumeclaims", ns, claim)
            if pvc is None:
                return None, unresolvable(f'persistentvolumeclaim "{claim}" not found')
            if "ReadWriteOncePod" in ((pvc.get("spec") or {}).get("accessModes") or ()):
                rwop.add(claim)
        conflicting = 0
        if rwop:
            s = PreFilterState(ns, frozenset(rwop), 0)
            snap = getattr(self.handle, "snapshot", None)
            everywhere = snap.node_info_list if snap is not None and snap.node_info_list else nodes
            uid = meta(pod).get("uid")
            for ni in everywhere:
                for pi in ni.pods:
                    if pi.pod is not pod and (not uid or meta(pi.pod).get("uid") != uid):
                        conflicting += s.uses(pi.pod)
        if not check and not conflicting:
            return None, SKIP
        state.write(_PREFILTER_KEY, PreFilterState(ns, frozenset(rwop), conflicting))
        return None, None

    def pre_filter_extensions(self) -> VolumeRestrictions:
        return self

    def add_pod(self, state: CycleState, pod: Obj, pod_to_add: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is not None:
            s.conflicting += s.uses(pod_to_add)
        return None

    def remove_pod(self, state: CycleState, pod: Obj, pod_to_remove: Obj, node_info: NodeInfo) -> Status | None:
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is not None:
            s.conflicting -= s.uses(pod_to_remove)
        return None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        if not satisfies_volume_conflicts(pod, node_info):
            return unschedulable(ERR_REASON_DISK_CONFLICT)
        s: PreFilterState | None = state.get(_PREFILTER_KEY)
        if s is None:
            return error_status(f'reading "{_PREFILTER_KEY}" from cycleState: not found')
        if s.conflicting > 0:
            return unschedulable(ERR_REASON_READ_WRITE_ONCE_POD_CONFLICT)
        return None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(EventResource.POD, ActionType.DELETE), _pod_deleted_hint),
            ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD)),
            ClusterEventWithHint(ClusterEvent(EventResource.PERSISTENT_VOLUME_CLAIM, ActionType.ADD), _pvc_added_hint),
        ]


def _pod_deleted_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    """Queue when the deleted pod held a disk or a ReadWriteOncePod claim the pod may want."""
    if old is None:
        return QueueingHint.QUEUE_SKIP
    mine = _volumes(pod)
    for ev in _volumes(old):
        if any(volumes_conflict(v, ev) for v in mine if needs_check(v)):
            return QueueingHint.QUEUE
    if namespace_of(old) == namespace_of(pod) and set(pvc_names(old)) & set(pvc_names(pod)):
        return QueueingHint.QUEUE
    return QueueingHint.QUEUE_SKIP


def _pvc_added_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    if new is None or namespace_of(new) != namespace_of(pod):
        return QueueingHint.QUEUE_SKIP
    return QueueingHint.QUEUE if meta(new).get("name") in pvc_names(pod) else QueueingHint.QUEUE_SKIP
