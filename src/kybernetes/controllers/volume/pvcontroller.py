"""The PersistentVolume controller: binds claims to volumes and reclaims released volumes.

Theory of operation (upstream's persistentvolume controller, the parts a cluster without in-tree
cloud plugins needs):

- Two queues, one for claims and one for volumes, each with one worker; informer events and a
  periodic resync (every ``RESYNC`` seconds) enqueue keys. Every sync reads the informer caches
  and writes with the cached resourceVersion, so a stale cache loses with a conflict and retries.
- A claim without ``pv.kubernetes.io/bind-completed`` is unbound: it is bound to the volume it
  names (``spec.volumeName``) or to the best match (``machinery.pvbinding``). Without a match it
  waits for its first consumer (class WaitForFirstConsumer and no ``selected-node`` yet; event
  WaitForFirstConsumer / WaitForPodScheduled), is handed to its class's provisioner (annotation
  ``volume.kubernetes.io/storage-provisioner``; event ExternalProvisioning), or reports
  FailedBinding when it has no class.
- Binding writes, in this order: the volume's claimRef (+ bound-by-controller when the controller
  chose it), the volume's phase Bound, the claim's volumeName (+ bound-by-controller) and
  bind-completed, the claim's phase Bound with capacity and access modes. Each step is idempotent;
  a crash between steps is finished by the next sync of either object.
- A bound claim whose volume vanished or points elsewhere becomes Lost (ClaimLost/ClaimMisbound).
- A volume whose claim is gone (or was replaced under the same name) becomes Released and its
  reclaim policy runs: Retain keeps it; Delete leaves volumes of an external provisioner to that
  provisioner and marks others Failed (no in-tree deleter exists here); Recycle is not supported.

Invariants: (1) the controller never changes a claimRef the user wrote unless it set it itself;
(2) a volume's phase is derived from its claimRef and the claim only; (3) nothing is deleted here.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections.abc import Mapping
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, EventRecorder, Informer
from kybernetes.client.rest import ResourceLike
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery import pvbinding as pb

log = logging.getLogger("kyb.controllers.persistentvolume")

PVS: ResourceLike = lookup("", "v1", "persistentvolumes")  # type: ignore[assignment]
PVCS: ResourceLike = lookup("", "v1", "persistentvolumeclaims")  # type: ignore[assignment]
PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
CLASSES: ResourceLike = lookup("storage.k8s.io", "v1", "storageclasses")  # type: ignore[assignment]
COMPONENT = "persistentvolume-controller"
RESYNC = 15.0
Obj = dict[str, Any]

NO_CLASS_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
WAIT_MESSAGE = "waiting for first consumer to be created before binding"


# --- pure object transformations -------------------------------------------------------------------


def _annotations(obj: Obj) -> dict[str, str]:
    ann: dict[str, str] = obj.setdefault("metadata", {}).setdefault("annotations", {}) or {}
    obj["metadata"]["annotations"] = ann
    return ann


def volume_bound_to_claim(pv: Mapping[str, Any], claim: Mapping[str, Any]) -> tuple[Obj, bool]:
    """A copy of `pv` whose claimRef points at `claim` (with its uid); dirty when it changed.
    A volume the controller picked (not pre-bound by the user) is marked bound-by-controller."""
    new: Obj = copy.deepcopy(dict(pv))
    dirty = False
    chosen_by_us = not pb.is_bound_to_claim(pv, claim)
    ref = (new.get("spec") or {}).get("claimRef") or {}
    meta = claim.get("metadata") or {}
    if (
        ref.get("name") != meta.get("name")
        or ref.get("namespace") != meta.get("namespace")
        or ref.get("uid") != meta.get("uid")
    ):
        new.setdefault("spec", {})["claimRef"] = pb.claim_ref(claim)
        dirty = True
    if chosen_by_us and pb.ANN_BOUND_BY_CONTROLLER not in pb.annotations_of(new):
        _annotations(new)[pb.ANN_BOUND_BY_CONTROLLER] = "yes"
        dirty = True
    return new, dirty


def claim_bound_to_volume(claim: Mapping[str, Any], pv: Mapping[str, Any]) -> tuple[Obj, bool]:
    """A copy of `claim` naming `pv` and marked bind-completed; dirty when it changed."""
    new: Obj = copy.deepcopy(dict(claim))
    dirty = False
    name = (pv.get("metadata") or {}).get("name")
    if (new.get("spec") or {}).get("volumeName") != name:
        new.setdefault("spec", {})["volumeName"] = name
        _annotations(new).setdefault(pb.ANN_BOUND_BY_CONTROLLER, "yes")
        dirty = True
    if pb.ANN_BIND_COMPLETED not in pb.annotations_of(new):
        _annotations(new)[pb.ANN_BIND_COMPLETED] = "yes"
        dirty = True
    return new, dirty


def claim_status(claim: Mapping[str, Any], phase: str, pv: Mapping[str, Any] | None) -> Obj | None:
    """The claim's new status for `phase` (capacity and access modes from the volume, none without
    one); None when nothing changes."""
    old = dict(claim.get("status") or {})
    new = dict(old)
    new["phase"] = phase
    if pv is None:
        new.pop("accessModes", None)
        new.pop("capacity", None)
    else:
        spec = pv.get("spec") or {}
        new["accessModes"] = list(spec.get("accessModes") or [])
        new["capacity"] = dict(spec.get("capacity") or {})
    return None if new == old else new


def volume_unbound(pv: Mapping[str, Any]) -> Obj:
    """Roll back a binding: drop the claimRef the controller set, or only the uid of a user's."""
    new: Obj = copy.deepcopy(dict(pv))
    ann = pb.annotations_of(new)
    if pb.ANN_BOUND_BY_CONTROLLER in ann:
        new["spec"].pop("claimRef", None)
        del _annotations(new)[pb.ANN_BOUND_BY_CONTROLLER]
    else:
        new["spec"]["claimRef"].pop("uid", None)
    return new


def claim_is_gone(pv: Mapping[str, Any], claim: Mapping[str, Any] | None) -> bool:
    """The volume's claim no longer exists (or another one now has its name)."""
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    return claim is None or (claim.get("metadata") or {}).get("uid") != ref.get("uid")


def external_provisioner(pv: Mapping[str, Any]) -> str:
    """The provisioner that owns deleting the volume (not an in-tree kubernetes.io/ plugin)."""
    name = pb.annotations_of(pv).get(pb.ANN_PROVISIONED_BY, "")
    return "" if not name or name.startswith("kubernetes.io/") else name


def unscheduled_pods_of(claim: Mapping[str, Any], pods: list[Obj]) -> list[str]:
    """Names of live pods that use the claim and have no node yet."""
    meta = claim.get("metadata") or {}
    out = []
    for pod in pods:
        pmeta = pod.get("metadata") or {}
        if pmeta.get("namespace") != meta.get("namespace") or (pod.get("spec") or {}).get("nodeName"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        for v in (pod.get("spec") or {}).get("volumes") or ():
            name = (v.get("persistentVolumeClaim") or {}).get("claimName")
            if v.get("ephemeral") is not None:
                name = f"{pmeta.get('name')}-{v.get('name')}"
            if name == meta.get("name"):
                out.append(str(pmeta.get("name")))
                break
    return sorted(out)


def wait_event(claim: Mapping[str, Any], pods: list[Obj]) -> tuple[str, str]:
    names = unscheduled_pods_of(claim, pods)
    if not names:
        return "WaitForFirstConsumer", WAIT_MESSAGE
    if len(names) == 1:
        return "WaitForPodScheduled", f"waiting for pod {names[0]} to be scheduled"
    return "WaitForPodScheduled", f"waiting for pods {','.join(names)} to be scheduled"


def external_provisioning_message(provisioner: str) -> str:
    return (
        f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by "
        "the system administrator. If volume creation is delayed, please verify that the provisioner is "
        "running and correctly registered."
    )


# --- the loop ---------------------------------------------------------------------------------------


class PersistentVolumeController:
    def __init__(
        self,
        client: APIClient,
        *,
        volumes: Informer,
        claims: Informer,
        classes: Informer,
        pods: Informer | None,
        recorder: EventRecorder,
        resync: float = RESYNC,
    ) -> None:
        self.client = client
        self.volumes = volumes
        self.claims = claims
        self.classes = classes
        self.pods = pods
        self.recorder = recorder
        self.resync = resync
        self.claim_loop = Controller("persistentvolume-claims", self.sync_claim_key)
        self.volume_loop = Controller("persistentvolume-volumes", self.sync_volume_key)
        claims.add_handlers(self.claim_loop.handlers())
        volumes.add_handlers(self.volume_loop.handlers())
        # A class created after its claims: they may now provision or wait.
        classes.add_handlers(on_add=lambda _sc: self._enqueue_all_claims())

    async def run(self) -> None:
        resync = asyncio.create_task(self._resync_loop(), name="persistentvolume-resync")
        try:
            await asyncio.gather(self.claim_loop.run(), self.volume_loop.run())
        finally:
            resync.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resync

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync)
            self._enqueue_all_claims()
            for key in self.volumes.store.snapshot():
                self.volume_loop.queue.add(key)

    def _enqueue_all_claims(self) -> None:
        for key in self.claims.store.snapshot():
            self.claim_loop.queue.add(key)

    def _classes(self) -> dict[str, Obj]:
        return {str(sc["metadata"]["name"]): sc for sc in self.classes.store.list()}

    # --- claims -------------------------------------------------------------------------------------
    async def sync_claim_key(self, key: str) -> None:
        claim = self.claims.store.get(key)
        if claim is None:
            return
        if pb.ANN_BIND_COMPLETED in pb.annotations_of(claim):
            await self.sync_bound_claim(claim)
        else:
            await self.sync_unbound_claim(claim)

    async def sync_unbound_claim(self, claim: Obj) -> None:
        wanted = (claim.get("spec") or {}).get("volumeName") or ""
        if not wanted:
            delay = pb.is_delay_binding(claim, self._classes())
            pv = pb.find_best_match_for_claim(claim, self.volumes.store.list(), delay_binding=delay)
            if pv is not None:
                await self.bind(dict(pv), claim)
                return
            if delay and pb.ANN_SELECTED_NODE not in pb.annotations_of(claim):
                pods = self.pods.store.list() if self.pods is not None else []
                reason, message = wait_event(claim, pods)
                self.recorder.event(claim, "Normal", reason, message)
            elif pb.claim_class(claim):
                await self.provision(claim)
                return
            else:
                self.recorder.event(claim, "Normal", "FailedBinding", NO_CLASS_MESSAGE)
            await self.update_claim_status(claim, "Pending", None)
            return
        pv = self.volumes.store.get(wanted)
        if pv is None:
            await self.update_claim_status(claim, "Pending", None)
            return
        if not (pv.get("spec") or {}).get("claimRef"):
            why = pb.check_volume_satisfies_claim(pv, claim)
            if why is not None:
                self.recorder.event(
                    claim, "Warning", "VolumeMismatch", f'Cannot bind to requested volume "{wanted}": {why}'
                )
                await self.update_claim_status(claim, "Pending", None)
                return
            await self.bind(pv, claim)
        elif pb.is_bound_to_claim(pv, claim):
            await self.bind(pv, claim)
        else:
            self.recorder.event(
                claim, "Warning", "FailedBinding", f'volume "{wanted}" already bound to a different claim.'
            )
            await self.update_claim_status(claim, "Pending", None)

    async def sync_bound_claim(self, claim: Obj) -> None:
        wanted = (claim.get("spec") or {}).get("volumeName") or ""
        if not wanted:
            await self.update_claim_status(
                claim,
                "Lost",
                None,
                event=(
                    "ClaimLost",
                    "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!",
                ),
            )
            return
        pv = self.volumes.store.get(wanted)
        if pv is None:
            await self.update_claim_status(
                claim,
                "Lost",
                None,
                event=("ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!"),
            )
            return
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or ref.get("uid") == (claim.get("metadata") or {}).get("uid"):
            await self.bind(pv, claim)
            return
        await self.update_claim_status(
            claim,
            "Lost",
            None,
            event=("ClaimMisbound", "Two claims are bound to the same volume, this one is bound incorrectly"),
        )

    async def provision(self, claim: Obj) -> None:
        """Hand the claim to its class's provisioner (all provisioners are external here)."""
        name = pb.claim_class(claim)
        sc = self._classes().get(name)
        if sc is None:
            self.recorder.event(
                claim, "Warning", "ProvisioningFailed", f'storageclass.storage.k8s.io "{name}" not found'
            )
            await self.update_claim_status(claim, "Pending", None)
            return
        provisioner = str(sc.get("provisioner") or "")
        if provisioner.startswith("kubernetes.io/"):
            # upstream's in-tree plugins; none is built in (kubernetes.io/no-provisioner is "none" by design)
            self.recorder.event(
                claim, "Warning", "ProvisioningFailed", f"no volume plugin matched name: {provisioner}"
            )
            await self.update_claim_status(claim, "Pending", None)
            return
        ann = pb.annotations_of(claim)
        if (
            ann.get(pb.ANN_STORAGE_PROVISIONER) != provisioner
            or ann.get(pb.ANN_BETA_STORAGE_PROVISIONER) != provisioner
        ):
            new = copy.deepcopy(claim)
            _annotations(new).update(
                {pb.ANN_STORAGE_PROVISIONER: provisioner, pb.ANN_BETA_STORAGE_PROVISIONER: provisioner}
            )
            claim = await self.client.update(PVCS, new)
        self.recorder.event(
            claim, "Normal", "ExternalProvisioning", external_provisioning_message(provisioner)
        )

    async def update_claim_status(
        self, claim: Obj, phase: str, pv: Mapping[str, Any] | None, *, event: tuple[str, str] | None = None
    ) -> Obj:
        status = claim_status(claim, phase, pv)
        if status is None:
            return claim
        new = copy.deepcopy(claim)
        new["status"] = status
        out = await self.client.update_status(PVCS, new)
        if event is not None:
            self.recorder.event(out, "Warning", *event)
        return out

    async def bind(self, pv: Obj, claim: Obj) -> None:
        new_pv, dirty = volume_bound_to_claim(pv, claim)
        if dirty:
            pv = await self.client.update(PVS, new_pv)
        pv = await self.update_volume_phase(pv, "Bound")
        new_claim, dirty = claim_bound_to_volume(claim, pv)
        if dirty:
            claim = await self.client.update(PVCS, new_claim)
        await self.update_claim_status(claim, "Bound", pv)
        log.info(
            "volume %s bound to claim %s/%s",
            pv["metadata"]["name"],
            claim["metadata"].get("namespace"),
            claim["metadata"].get("name"),
        )

    # --- volumes ------------------------------------------------------------------------------------
    async def sync_volume_key(self, key: str) -> None:
        pv = self.volumes.store.get(key)
        if pv is not None:
            await self.sync_volume(pv)

    async def sync_volume(self, pv: Obj) -> None:
        ref = (pv.get("spec") or {}).get("claimRef")
        if not ref or not ref.get("uid"):
            await self.update_volume_phase(pv, "Available")  # free, or pre-bound and waiting for its claim
            return
        claim = self.claims.store.get(f"{ref.get('namespace', '')}/{ref.get('name', '')}")
        if claim_is_gone(pv, claim):
            if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
                pv = await self.update_volume_phase(pv, "Released")
            await self.reclaim(pv)
            return
        assert claim is not None
        volume_name = (claim.get("spec") or {}).get("volumeName") or ""
        if not volume_name:
            self.claim_loop.queue.add(f"{claim['metadata'].get('namespace', '')}/{claim['metadata']['name']}")
            return
        if volume_name == pv["metadata"]["name"]:
            await self.update_volume_phase(pv, "Bound")
            return
        # the claim went to another volume
        if (
            external_provisioner(pv)
            and (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete"
        ):
            if (pv.get("status") or {}).get("phase") not in ("Released", "Failed"):
                pv = await self.update_volume_phase(pv, "Released")
            await self.reclaim(pv)
            return
        new = volume_unbound(pv)
        pv = await self.client.update(PVS, new)
        await self.update_volume_phase(pv, "Available")

    async def reclaim(self, pv: Obj) -> None:
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Retain":
            return
        if policy == "Delete":
            if external_provisioner(pv):
                return  # the provisioner deletes the volume and then the object
            name = pv["metadata"]["name"]
            await self.update_volume_phase(
                pv,
                "Failed",
                event=(
                    "VolumeFailedDelete",
                    f'error getting deleter volume plugin for volume "{name}": '
                    "no deletable volume plugin matched",
                ),
            )
            return
        if policy == "Recycle":
            await self.update_volume_phase(
                pv,
                "Failed",
                event=("VolumeFailedRecycle", "Recycle is deprecated and not supported by this cluster"),
            )
            return
        await self.update_volume_phase(
            pv,
            "Failed",
            event=("VolumeUnknownReclaimPolicy", "Volume has unrecognized PersistentVolumeReclaimPolicy"),
        )

    async def update_volume_phase(self, pv: Obj, phase: str, *, event: tuple[str, str] | None = None) -> Obj:
        status = pv.get("status") or {}
        if status.get("phase") == phase:
            return pv
        new = copy.deepcopy(pv)
        new["status"] = {**status, "phase": phase, "message": event[1] if event else ""}
        if not new["status"]["message"]:
            del new["status"]["message"]
        out = await self.client.update_status(PVS, new)
        if event is not None:
            self.recorder.event(out, "Warning", *event)
        return out


@register("persistentvolume-binder")
def _factory(ctx: ControllerContext) -> PersistentVolumeController:
    return PersistentVolumeController(
        ctx.client,
        volumes=ctx.informers.informer(PVS),
        claims=ctx.informers.informer(PVCS),
        classes=ctx.informers.informer(CLASSES),
        pods=ctx.informers.informer(PODS),
        recorder=ctx.recorder(COMPONENT),
    )
