"""StorageObjectInUseProtection: claims and volumes get their protection finalizer when created.

A PersistentVolumeClaim is created with ``kubernetes.io/pvc-protection`` and a PersistentVolume
with ``kubernetes.io/pv-protection``, so neither can vanish before the protection controllers
(``controllers.volume.pvcprotection``) have had a look; those controllers add the same finalizers
to objects that predate the plugin (or were written with it disabled) and remove them once the
object is no longer in use. Only creates of the object itself are touched; a finalizer already
listed is not added twice.
"""

from __future__ import annotations

from kybernetes.apiserver.admission import CREATE, AdmissionContext, Attributes, Obj, Plugin

PVC_PROTECTION_FINALIZER = "kubernetes.io/pvc-protection"
PV_PROTECTION_FINALIZER = "kubernetes.io/pv-protection"
FINALIZER_BY_RESOURCE = {
    "persistentvolumeclaims": PVC_PROTECTION_FINALIZER,
    "persistentvolumes": PV_PROTECTION_FINALIZER,
}


def add_finalizer(obj: Obj, finalizer: str) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    current = meta.get("finalizers")
    if not isinstance(current, list):
        current = []
    if finalizer not in current:
        meta["finalizers"] = [*current, finalizer]


class StorageObjectInUseProtection(Plugin):
    name = "StorageObjectInUseProtection"
    mutating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del ctx
        if (
            attrs.operation != CREATE
            or attrs.subresource
            or attrs.resource.group
            or not isinstance(attrs.obj, dict)
        ):
            return
        finalizer = FINALIZER_BY_RESOURCE.get(attrs.resource.plural)
        if finalizer is not None:
            add_finalizer(attrs.obj, finalizer)
