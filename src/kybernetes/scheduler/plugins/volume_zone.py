"""VolumeZone: a pod goes where its bound PersistentVolumes are (upstream's plugin).

A PV labelled with a zone or region (``topology.kubernetes.io/zone|region`` or the older
``failure-domain.beta.kubernetes.io/zone|region``; several zones joined by ``__``) can only be
used on nodes in one of those zones. PreFilter resolves the pod's claims (PVC volumes and generic
ephemeral volumes, whose claim is ``<pod>-<volume>``) to PVs and their topology labels; Filter
rejects a node whose label (the beta key, else its GA equivalent) is missing or not among them —
"node(s) had no available volume zone" — except nodes with no topology label at all (a
single-zone cluster). Claims not bound yet are skipped when their StorageClass binds on first
consumer (WaitForFirstConsumer); otherwise the pod is unresolvable until they are.
"""

from __future__ import annotations

from collections.abc import Sequence
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
from kybernetes.scheduler.framework.status import SKIP, Status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.plugins.listers import Listers, OnEvent, meta, namespace_of, raise_events

Obj = dict[str, Any]
NAME = "VolumeZone"
ERR_REASON_CONFLICT = "node(s) had no available volume zone"
BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
BETA_REGION = "failure-domain.beta.kubernetes.io/region"
ZONE = "topology.kubernetes.io/zone"
REGION = "topology.kubernetes.io/region"
TOPOLOGY_LABELS = (BETA_ZONE, BETA_REGION, ZONE, REGION)
_GA = {BETA_ZONE: ZONE, BETA_REGION: REGION}
_PREFILTER_KEY = "PreFilter" + NAME
_BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


@dataclass(frozen=True, slots=True)
class PVTopology:
    pv_name: str
    key: str
    values: frozenset[str]


def claim_names(pod: Obj) -> list[str]:
    out: list[str] = []
    for v in (pod.get("spec") or {}).get("volumes") or ():
        if v.get("persistentVolumeClaim"):
            out.append(str(v["persistentVolumeClaim"].get("claimName") or ""))
        elif v.get("ephemeral"):
            out.append(f"{meta(pod).get('name') or ''}-{v.get('name') or ''}")
    return out


def zones_of(value: str) -> frozenset[str]:
    """A label value naming zones, ``a__b`` for several (upstream's LabelZonesToSet)."""
    return frozenset(z.strip() for z in value.split("__") if z.strip()) if value else frozenset()


def pv_topologies(pv: Obj) -> list[PVTopology]:
    labels = meta(pv).get("labels") or {}
    name = str(meta(pv).get("name") or "")
    return [PVTopology(name, k, zones_of(labels[k])) for k in TOPOLOGY_LABELS if k in labels]


def storage_class_of(pvc: Obj) -> str:
    name = (pvc.get("spec") or {}).get("storageClassName")
    if name is not None:
        return str(name)
    return str((meta(pvc).get("annotations") or {}).get(_BETA_STORAGE_CLASS_ANNOTATION) or "")


def node_fits(topologies: Sequence[PVTopology], labels: dict[str, str]) -> bool:
    if not any(k in labels for k in TOPOLOGY_LABELS):
        return True  # no zone on the node: a single-zone cluster
    for t in topologies:
        value = labels.get(t.key)
        if value is None:
            value = labels.get(_GA.get(t.key, t.key))
        if value is None or value not in t.values:
            return False
    return True


class VolumeZone:
    name: ClassVar[str] = NAME

    def __init__(self, args: Obj | None = None, handle: Any = None, listers: Listers | None = None) -> None:
        self.handle = handle
        self.listers = listers or Listers()

    def attach_informers(self, factory: Any, on_event: OnEvent) -> None:
        self.listers.attach(factory, ["persistentvolumeclaims", "persistentvolumes", "storageclasses"])
        raise_events(factory, "persistentvolumeclaims", EventResource.PERSISTENT_VOLUME_CLAIM, on_event)
        raise_events(factory, "persistentvolumes", EventResource.PERSISTENT_VOLUME, on_event)
        raise_events(factory, "storageclasses", EventResource.STORAGE_CLASS, on_event, actions=ActionType.ADD)

    def topologies(self, pod: Obj) -> tuple[list[PVTopology], Status | None]:
        out: list[PVTopology] = []
        ns = namespace_of(pod)
        for claim in claim_names(pod):
            if not claim:
                return [], unresolvable("PersistentVolumeClaim had no name")
            pvc = self.listers.get("persistentvolumeclaims", ns, claim)
            if pvc is None:
                return [], unresolvable(f'persistentvolumeclaim "{claim}" not found')
            pv_name = (pvc.get("spec") or {}).get("volumeName") or ""
            if not pv_name:
                sc_name = storage_class_of(pvc)
                if not sc_name:
                    return [], unresolvable("PersistentVolumeClaim had no pv name and storageClass name")
                sc = self.listers.get("storageclasses", "", sc_name)
                if sc is None:
                    return [], unresolvable(f'storageclass.storage.k8s.io "{sc_name}" not found')
                mode = sc.get("volumeBindingMode")
                if not mode:
                    return [], unresolvable(f'VolumeBindingMode not set for StorageClass "{sc_name}"')
                if mode == "WaitForFirstConsumer":
                    continue
                return [], unresolvable("PersistentVolume had no name")
            pv = self.listers.get("persistentvolumes", "", pv_name)
            if pv is None:
                return [], unresolvable(f'persistentvolume "{pv_name}" not found')
            out.extend(pv_topologies(pv))
        return out, None

    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]:
        if not claim_names(pod):
            return None, SKIP
        topologies, st = self.topologies(pod)
        if st is not None:
            return None, st
        if not topologies:
            return None, SKIP
        state.write(_PREFILTER_KEY, topologies)
        return None, None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        topologies: list[PVTopology] | None = state.get(_PREFILTER_KEY)
        if topologies is None:
            topologies, st = self.topologies(pod)
            if st is not None:
                return st
        return None if node_fits(topologies, node_info.labels) else unresolvable(ERR_REASON_CONFLICT)

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(ClusterEvent(EventResource.STORAGE_CLASS, ActionType.ADD)),
            ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL),
                                 _node_hint),
            ClusterEventWithHint(ClusterEvent(EventResource.PERSISTENT_VOLUME_CLAIM, ActionType.ADD | ActionType.UPDATE),
                                 _pvc_hint),
            ClusterEventWithHint(ClusterEvent(EventResource.PERSISTENT_VOLUME, ActionType.ADD | ActionType.UPDATE)),
        ]


def _node_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    if new is None:
        return QueueingHint.QUEUE_SKIP
    if old is None:
        return QueueingHint.QUEUE
    o, n = (old.get("metadata") or {}).get("labels") or {}, (new.get("metadata") or {}).get("labels") or {}
    return QueueingHint.QUEUE if any(o.get(k) != n.get(k) for k in TOPOLOGY_LABELS) else QueueingHint.QUEUE_SKIP


def _pvc_hint(pod: Obj, old: Obj | None, new: Obj | None) -> QueueingHint:
    if new is None or namespace_of(new) != namespace_of(pod):
        return QueueingHint.QUEUE_SKIP
    return QueueingHint.QUEUE if meta(new).get("name") in claim_names(pod) else QueueingHint.QUEUE_SKIP
