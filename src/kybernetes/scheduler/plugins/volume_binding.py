"""VolumeBinding: a pod goes where its PersistentVolumes can be, and its claims get bound for it
(upstream's plugin, without storage-capacity tracking).

Claims of the pod fall in three groups (PreFilter):
- bound (``volumeName`` set and ``pv.kubernetes.io/bind-completed``): the volume's node affinity
  restricts the nodes — "node(s) had volume node affinity conflict"; a missing volume is
  "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)";
- unbound, of a WaitForFirstConsumer class: the scheduler decides, per node (Filter), either a
  static volume that matches the claim and whose node affinity admits the node (smallest first),
  or dynamic provisioning when the class has a provisioner (not ``kubernetes.io/no-provisioner``)
  whose ``allowedTopologies`` admit the node; neither is "node(s) didn't find available
  persistent volumes to bind";
- unbound otherwise: the PV controller must bind them first — the pod is unresolvable with
  "pod has unbound immediate PersistentVolumeClaims" until a claim event moves it.

Reserve remembers the chosen node's decisions and marks chosen static volumes as taken, so that
another pod scheduled meanwhile does not pick them. PreBind writes them: a static volume gets its
claimRef (+ bound-by-controller), a claim to provision gets ``volume.kubernetes.io/selected-node``;
then it waits (up to ``bindTimeoutSeconds``, default 600) until the PV controller has bound every
claim. Binding cycles run concurrently, so waiting here holds up only this pod.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kybernetes.api.resources import lookup
from kybernetes.machinery import pvbinding as pb
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import (
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    EventResource,
)
from kybernetes.scheduler.framework.interface import PreFilterResult
from kybernetes.scheduler.framework.status import SKIP, Status, error_status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo
from kybernetes.scheduler.plugins.helpers import node_selector_matches
from kybernetes.scheduler.plugins.listers import Listers, OnEvent, meta, namespace_of, raise_events
from kybernetes.scheduler.plugins.volume_zone import claim_names

Obj = dict[str, Any]
NAME = "VolumeBinding"
ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
ERR_REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
DEFAULT_BIND_TIMEOUT = 600.0
POLL = 0.2
_STATE_KEY = "PreFilter" + NAME

PVS = lookup("", "v1", "persistentvolumes")
PVCS = lookup("", "v1", "persistentvolumeclaims")


@dataclass
class PodVolumes:
    """What binding the pod's claims on one node takes."""

    static: list[tuple[Obj, Obj]] = field(default_factory=list)  # (claim, volume)
    provision: list[Obj] = field(default_factory=list)  # claims to provision

    @property
    def empty(self) -> bool:
        return not self.static and not self.provision


@dataclass
class ClaimGroups:
    bound: list[Obj] = field(default_factory=list)
    to_bind: list[Obj] = field(default_factory=list)
    by_node: dict[str, PodVolumes] = field(default_factory=dict)

    def clone(self) -> ClaimGroups:
        return ClaimGroups(list(self.bound), list(self.to_bind), dict(self.by_node))


def is_fully_bound(claim: Mapping[str, Any]) -> bool:
    return bool((claim.get("spec") or {}).get("volumeName")) and pb.ANN_BIND_COMPLETED in pb.annotations_of(
        claim
    )


def _rv(obj: Mapping[str, Any]) -> int:
    try:
        return int(str(meta(dict(obj)).get("resourceVersion") or 0))
    except ValueError:
        return 0


def volume_fits_node(pv: Mapping[str, Any], labels: Mapping[str, str], node_name: str) -> bool:
    """The volume's required node affinity admits the node (no affinity admits every node)."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    return required is None or node_selector_matches(required, labels, node_name)


def topology_allows(sc: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """The class's allowedTopologies admit a node with these labels (none: every node)."""
    terms = sc.get("allowedTopologies") or []
    if not terms:
        return True
    for term in terms:
        exprs = term.get("matchLabelExpressions") or []
        if all(labels.get(e.get("key", "")) in (e.get("values") or []) for e in exprs):
            return True
    return False


def can_provision(sc: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if sc is None:
        return False
    provisioner = sc.get("provisioner") or ""
    return bool(provisioner) and provisioner != pb.NO_PROVISIONER and topology_allows(sc, labels)


def plan_for_node(
    to_bind: Sequence[Obj],
    volumes: Sequence[Obj],
    classes: Mapping[str, Obj],
    labels: Mapping[str, str],
    node_name: str,
    *,
    taken: Mapping[str, str] | None = None,
) -> PodVolumes | None:
    """How the unbound WaitForFirstConsumer claims get volumes on this node; None if they cannot.
    `taken` maps volumes assumed for other claims to those claims' keys."""
    taken = taken or {}
    plan = PodVolumes()
    chosen: set[str] = set()
    for claim in sorted(to_bind, key=pb.requested_bytes, reverse=True):
        key = f"{namespace_of(claim)}/{meta(claim).get('name', '')}"
        excluded = chosen | {name for name, owner in taken.items() if owner != key}
        pv = pb.find_matching_volume(
            claim, volumes, excluded=excluded, node_fits=lambda v: volume_fits_node(v, labels, node_name)
        )
        if pv is not None:
            chosen.add(str(meta(dict(pv)).get("name", "")))
            plan.static.append((claim, dict(pv)))
        elif can_provision(classes.get(pb.claim_class(claim)), labels):
            plan.provision.append(claim)
        else:
            return None
    return plan


class VolumeBinding:
    name: ClassVar[str] = NAME

    def __init__(self, args: Obj | None = None, handle: Any = None, listers: Listers | None = None) -> None:
        self.handle = handle
        self.listers = listers or Listers()
        self.bind_timeout = float((args or {}).get("bindTimeoutSeconds") or DEFAULT_BIND_TIMEOUT)
        self.taken: dict[str, str] = {}  # volume name -> claim key, assumed by Reserve until PreBind ends
        self._reserved: dict[str, list[str]] = {}  # pod uid -> volumes it took

    def attach_informers(self, factory: Any, on_event: OnEvent) -> None:
        self.listers.attach(factory, ["persistentvolumeclaims", "persistentvolumes", "storageclasses"])
        raise_events(factory, "persistentvolumeclaims", EventResource.PERSISTENT_VOLUME_CLAIM, on_event)
        raise_events(factory, "persistentvolumes", EventResource.PERSISTENT_VOLUME, on_event)
        raise_events(factory, "storageclasses", EventResource.STORAGE_CLASS, on_event)

    def _classes(self) -> dict[str, Obj]:
        return {str(meta(sc).get("name", "")): sc for sc in self.listers.list("storageclasses")}

    def group_claims(self, pod: Obj) -> tuple[ClaimGroups, Status | None]:
        groups = ClaimGroups()
        classes = self._classes()
        ns = namespace_of(pod)
        for name in claim_names(pod):
            claim = self.listers.get("persistentvolumeclaims", ns, name)
            if claim is None:
                return groups, unresolvable(f'persistentvolumeclaim "{name}" not found')
            if meta(claim).get("deletionTimestamp"):
                return groups, unresolvable(f'persistentvolumeclaim "{name}" is being deleted')
            if is_fully_bound(claim):
                groups.bound.append(claim)
            elif pb.is_delay_binding(claim, classes) and not (claim.get("spec") or {}).get("volumeName"):
                groups.to_bind.append(claim)
            else:
                return groups, unresolvable(ERR_UNBOUND_IMMEDIATE)
        return groups, None

    # --- scheduling cycle ---------------------------------------------------------------------------
    def pre_filter(
        self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]
    ) -> tuple[PreFilterResult | None, Status | None]:
        if not claim_names(pod):
            return None, SKIP
        groups, st = self.group_claims(pod)
        if st is not None:
            return None, st
        state.write(_STATE_KEY, groups)
        return None, None

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        groups: ClaimGroups | None = state.get(_STATE_KEY)
        if groups is None:
            return None
        for claim in groups.bound:
            pv = self.listers.get("persistentvolumes", "", str((claim.get("spec") or {}).get("volumeName")))
            if pv is None:
                return unresolvable(ERR_REASON_PV_NOT_EXIST)
            if not volume_fits_node(pv, node_info.labels, node_info.name):
                return unresolvable(ERR_REASON_NODE_CONFLICT)
        if not groups.to_bind:
            groups.by_node[node_info.name] = PodVolumes()
            return None
        plan = plan_for_node(
            groups.to_bind,
            self.listers.list("persistentvolumes"),
            self._classes(),
            node_info.labels,
            node_info.name,
            taken=self.taken,
        )
        if plan is None:
            return unresolvable(ERR_REASON_BIND_CONFLICT)
        groups.by_node[node_info.name] = plan
        return None

    def reserve(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        groups: ClaimGroups | None = state.get(_STATE_KEY)
        plan = groups.by_node.get(node_name) if groups is not None else None
        if plan is None:
            return None
        uid = str(meta(pod).get("uid", ""))
        for claim, pv in plan.static:
            name = str(meta(pv).get("name", ""))
            self.taken[name] = f"{namespace_of(claim)}/{meta(claim).get('name', '')}"
            self._reserved.setdefault(uid, []).append(name)
        state.write(_STATE_KEY + "/chosen", plan)
        return None

    def unreserve(self, state: CycleState, pod: Obj, node_name: str) -> None:
        for name in self._reserved.pop(str(meta(pod).get("uid", "")), []):
            self.taken.pop(name, None)

    # --- binding cycle ------------------------------------------------------------------------------
    async def pre_bind(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        plan: PodVolumes | None = state.get(_STATE_KEY + "/chosen")
        if plan is None or plan.empty:
            return None
        client = self.handle.client
        try:
            for claim, pv in plan.static:
                fresh = await client.get(PVS, meta(pv)["name"])
                ref = (fresh.get("spec") or {}).get("claimRef")
                if ref and not pb.is_bound_to_claim(fresh, claim):
                    return error_status(
                        f'binding volumes: volume "{meta(pv)["name"]}" already bound to a different claim'
                    )
                if not ref or not ref.get("uid"):
                    bound = copy.deepcopy(fresh)
                    bound["spec"]["claimRef"] = pb.claim_ref(claim)
                    if not ref:  # chosen by the scheduler, not pre-bound by the user
                        bound.setdefault("metadata", {}).setdefault("annotations", {})[
                            pb.ANN_BOUND_BY_CONTROLLER
                        ] = "yes"
                    await client.update(PVS, bound)
            written: dict[str, int] = {}  # claim uid -> resourceVersion of our selected-node write
            for claim in plan.provision:
                name, ns = str(meta(claim).get("name", "")), namespace_of(claim)
                fresh = await client.get(PVCS, name, namespace=ns)
                if pb.annotations_of(fresh).get(pb.ANN_SELECTED_NODE) != node_name:
                    fresh.setdefault("metadata", {}).setdefault("annotations", {})[pb.ANN_SELECTED_NODE] = (
                        node_name
                    )
                    fresh = await client.update(PVCS, fresh, namespace=ns)
                written[str(meta(claim).get("uid"))] = _rv(fresh)
            return await self.wait_bound(pod, plan, written)
        except Exception as e:  # API errors: the pod goes back to the queue and is tried again
            return error_status(f"binding volumes: {e}")
        finally:
            self.unreserve(state, pod, node_name)

    async def wait_bound(self, pod: Obj, plan: PodVolumes, written: Mapping[str, int]) -> Status | None:
        """Wait until every claim of the plan is bound. A claim to provision whose selected-node
        annotation disappears after our write (the provisioner gave up on the node) fails the
        attempt, so the pod is scheduled afresh."""
        deadline = time.monotonic() + self.bind_timeout
        claims = [c for c, _ in plan.static] + plan.provision
        while True:
            pending = False
            for claim in claims:
                key = f'"{namespace_of(claim)}/{meta(claim).get("name")}"'
                current = self.listers.get(
                    "persistentvolumeclaims", namespace_of(claim), str(meta(claim).get("name"))
                )
                if current is None or meta(current).get("uid") != meta(claim).get("uid"):
                    return error_status(f"binding volumes: PVC {key} was deleted")
                if is_fully_bound(current):
                    continue
                ours = written.get(str(meta(claim).get("uid")))
                if (
                    ours is not None
                    and _rv(current) > ours
                    and pb.ANN_SELECTED_NODE not in pb.annotations_of(current)
                ):
                    return error_status(f"binding volumes: selectedNode annotation reset for PVC {key}")
                pending = True
            if not pending:
                return None
            if time.monotonic() >= deadline:
                return error_status("binding volumes: context deadline exceeded")
            await asyncio.sleep(POLL)

    def events_to_register(self) -> list[ClusterEventWithHint]:
        return [
            ClusterEventWithHint(
                ClusterEvent(EventResource.PERSISTENT_VOLUME_CLAIM, ActionType.ADD | ActionType.UPDATE)
            ),
            ClusterEventWithHint(
                ClusterEvent(EventResource.PERSISTENT_VOLUME, ActionType.ADD | ActionType.UPDATE)
            ),
            ClusterEventWithHint(
                ClusterEvent(EventResource.STORAGE_CLASS, ActionType.ADD | ActionType.UPDATE)
            ),
            ClusterEventWithHint(
                ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL)
            ),
        ]
