"""The built-in local-path provisioner: node-local directories as dynamically provisioned volumes.

It follows the external-provisioner conventions, so the PV controller treats it like any CSI
provisioner: the controller marks a claim ``volume.kubernetes.io/storage-provisioner:
kybernetes.io/local-path``; this loop then creates a PersistentVolume ``pvc-<claim uid>``,
pre-bound to the claim (claimRef with uid), annotated ``pv.kubernetes.io/provisioned-by``, of type
``local`` with node affinity to one node, and the controller completes the binding. Which node:
the claim's ``volume.kubernetes.io/selected-node`` (set by the scheduler for WaitForFirstConsumer
classes); for Immediate classes the first Ready node by name.

Where on the node: ``<root>/<pv name>``, the root being the StorageClass parameter ``basePath``
if set, else the node's own ``kybernetes.io/local-path-root`` annotation (each agent publishes its
data directory's ``storage`` folder), else /var/lib/kybernetes/storage.

Why this loop never touches a disk: it runs in the controller manager, which may be on another
machine than the volume. The node owns its directories (kubelet/volumes/localpath.py): the agent
creates a provisioned volume's directory when it first mounts it, and removes directories whose
PersistentVolume no longer exists. So Delete reclaim here is only "delete the Released PV object";
the directory goes with it, on its node, as soon as that node sees the deletion.

At start the loop creates the default class ``local-path`` (WaitForFirstConsumer, Delete) unless
it exists; an administrator may delete or replace it and it is not recreated until the next start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, EventRecorder, Informer, is_already_exists, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery import pvbinding as pb

log = logging.getLogger("kyb.controllers.localpath")

PVS: ResourceLike = lookup("", "v1", "persistentvolumes")  # type: ignore[assignment]
PVCS: ResourceLike = lookup("", "v1", "persistentvolumeclaims")  # type: ignore[assignment]
NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]
CLASSES: ResourceLike = lookup("storage.k8s.io", "v1", "storageclasses")  # type: ignore[assignment]
HOSTNAME_LABEL = "kubernetes.io/hostname"
Obj = dict[str, Any]


def default_storage_class() -> Obj:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": pb.LOCAL_PATH_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": pb.LOCAL_PATH_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": pb.WAIT_FOR_FIRST_CONSUMER,
    }


def wants_us(claim: Mapping[str, Any]) -> bool:
    """The PV controller handed this unbound, live claim to our provisioner."""
    ann = pb.annotations_of(claim)
    provisioner = ann.get(pb.ANN_STORAGE_PROVISIONER) or ann.get(pb.ANN_BETA_STORAGE_PROVISIONER)
    return (
        provisioner == pb.LOCAL_PATH_PROVISIONER
        and not (claim.get("spec") or {}).get("volumeName")
        and not (claim.get("metadata") or {}).get("deletionTimestamp")
    )


def is_ready(node: Mapping[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or ()
    )


def target_node(claim: Mapping[str, Any], sc: Mapping[str, Any], nodes: list[Obj]) -> str | None:
    """The node to provision on: the scheduler's choice, or (Immediate classes) the first Ready,
    schedulable node by name; None means wait."""
    selected = pb.annotations_of(claim).get(pb.ANN_SELECTED_NODE)
    if selected:
        return selected
    if sc.get("volumeBindingMode") == pb.WAIT_FOR_FIRST_CONSUMER:
        return None
    ready = sorted(
        str(n["metadata"]["name"])
        for n in nodes
        if is_ready(n) and not (n.get("spec") or {}).get("unschedulable")
    )
    return ready[0] if ready else None


def volume_root(node: Mapping[str, Any], sc: Mapping[str, Any]) -> str:
    base = (sc.get("parameters") or {}).get("basePath")
    if base:
        return str(base).rstrip("/") or "/"
    return pb.annotations_of(node).get(pb.ANN_LOCAL_PATH_ROOT) or pb.DEFAULT_LOCAL_PATH_ROOT


def provision_problem(claim: Mapping[str, Any]) -> str | None:
    spec = claim.get("spec") or {}
    if (spec.get("volumeMode") or "Filesystem") != "Filesystem":
        return "only the Filesystem volume mode is supported"
    if spec.get("dataSource") or spec.get("dataSourceRef"):
        return "volume data sources are not supported"
    if spec.get("selector"):
        return "claim Selector is not supported"
    return None


def volume_for(claim: Mapping[str, Any], sc: Mapping[str, Any], node: Mapping[str, Any]) -> Obj:
    """The PersistentVolume provisioned for `claim` on `node`."""
    cmeta = claim.get("metadata") or {}
    spec = claim.get("spec") or {}
    name = f"pvc-{cmeta.get('uid', '')}"
    hostname = ((node.get("metadata") or {}).get("labels") or {}).get(HOSTNAME_LABEL) or node["metadata"][
        "name"
    ]
    pv_spec: Obj = {
        "capacity": {
            "storage": (((spec.get("resources") or {}).get("requests") or {}).get("storage") or "0")
        },
        "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"]),
        "volumeMode": "Filesystem",
        "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
        "storageClassName": sc["metadata"]["name"],
        "claimRef": pb.claim_ref(claim),
        "local": {"path": f"{volume_root(node, sc).rstrip('/')}/{name}"},
        "nodeAffinity": {
            "required": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": HOSTNAME_LABEL, "operator": "In", "values": [hostname]}]}
                ]
            }
        },
    }
    if sc.get("mountOptions"):
        pv_spec["mountOptions"] = list(sc["mountOptions"])
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {pb.ANN_PROVISIONED_BY: pb.LOCAL_PATH_PROVISIONER}},
        "spec": pv_spec,
    }


def should_delete(pv: Mapping[str, Any]) -> bool:
    """A Released volume of ours whose policy is Delete (the PV controller decided it is released)."""
    return (
        pb.annotations_of(pv).get(pb.ANN_PROVISIONED_BY) == pb.LOCAL_PATH_PROVISIONER
        and (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete"
        and (pv.get("status") or {}).get("phase") == "Released"
        and not (pv.get("metadata") or {}).get("deletionTimestamp")
    )


class LocalPathProvisioner:
    def __init__(
        self,
        client: APIClient,
        *,
        claims: Informer,
        volumes: Informer,
        classes: Informer,
        nodes: Informer,
        recorder: EventRecorder,
        create_default_class: bool = True,
    ) -> None:
        self.client = client
        self.claims = claims
        self.volumes = volumes
        self.classes = classes
        self.nodes = nodes
        self.recorder = recorder
        self.create_default_class = create_default_class
        self.claim_loop = Controller("local-path-provisioner", self.sync_claim, workers=2)
        self.volume_loop = Controller("local-path-deleter", self.sync_volume)
        claims.add_handlers(self.claim_loop.handlers())
        volumes.add_handlers(self.volume_loop.handlers())

    async def run(self) -> None:
        if self.create_default_class:
            await self.ensure_default_class()
        await asyncio.gather(self.claim_loop.run(), self.volume_loop.run())

    async def ensure_default_class(self) -> None:
        if self.classes.store.get(pb.LOCAL_PATH_CLASS) is not None:
            return
        try:
            await self.client.create(CLASSES, default_storage_class())
            log.info("created the default StorageClass %s", pb.LOCAL_PATH_CLASS)
        except Exception as e:
            if not is_already_exists(e):
                log.warning("cannot create the default StorageClass %s: %s", pb.LOCAL_PATH_CLASS, e)

    async def sync_claim(self, key: str) -> None:
        claim = self.claims.store.get(key)
        if claim is None or not wants_us(claim):
            return
        class_name = pb.claim_class(claim)
        sc = self.classes.store.get(class_name)
        if sc is None or sc.get("provisioner") != pb.LOCAL_PATH_PROVISIONER:
            return
        name = f"pvc-{claim['metadata'].get('uid', '')}"
        if self.volumes.store.get(name) is not None:
            return  # provisioned already; the PV controller binds it
        node_name = target_node(claim, sc, self.nodes.store.list())
        if node_name is None:
            return
        node = self.nodes.store.get(node_name)
        problem = provision_problem(claim)
        if node is None:
            problem = f'node "{node_name}" not found'
        if problem is not None or node is None:
            self.recorder.event(
                claim,
                "Warning",
                "ProvisioningFailed",
                f'failed to provision volume with StorageClass "{class_name}": {problem}',
            )
            return
        ns = claim["metadata"].get("namespace", "")
        self.recorder.event(
            claim,
            "Normal",
            "Provisioning",
            f'External provisioner is provisioning volume for claim "{ns}/{claim["metadata"]["name"]}"',
        )
        try:
            await self.client.create(PVS, volume_for(claim, sc, node))
        except Exception as e:
            if not is_already_exists(e):
                self.recorder.event(
                    claim,
                    "Warning",
                    "ProvisioningFailed",
                    f'failed to provision volume with StorageClass "{class_name}": {e}',
                )
                raise
        self.recorder.event(
            claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {name}"
        )
        log.info("provisioned %s for claim %s on node %s", name, key, node_name)

    async def sync_volume(self, key: str) -> None:
        pv = self.volumes.store.get(key)
        if pv is None or not should_delete(pv):
            return
        try:
            await self.client.delete(PVS, key, preconditions={"uid": pv["metadata"].get("uid", "")})
            log.info("deleted released volume %s", key)
        except Exception as e:
            if not is_not_found(e):
                self.recorder.event(pv, "Warning", "VolumeFailedDelete", str(e))
                raise


@register("local-path-provisioner")
def _factory(ctx: ControllerContext) -> LocalPathProvisioner:
    options = ctx.options.get("localpath") or {}
    return LocalPathProvisioner(
        ctx.client,
        claims=ctx.informers.informer(PVCS),
        volumes=ctx.informers.informer(PVS),
        classes=ctx.informers.informer(CLASSES),
        nodes=ctx.informers.informer(NODES),
        recorder=ctx.recorder(pb.LOCAL_PATH_PROVISIONER),
        create_default_class=options.get("default_class", True),
    )
