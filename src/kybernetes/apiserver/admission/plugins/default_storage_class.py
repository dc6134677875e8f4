"""DefaultStorageClass: a claim that names no storage class gets the cluster's default one.

A StorageClass is a default when annotated `storageclass.kubernetes.io/is-default-class: "true"`
(or the beta key). With several defaults the newest wins, ties broken by name, as upstream
1.32 does. A claim that sets `storageClassName` (even to "") or the beta storage-class
annotation is left alone.
"""

from __future__ import annotations

from kybernetes.apiserver.admission import CREATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import is_resource

DEFAULT_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                       "storageclass.beta.kubernetes.io/is-default-class")
BETA_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"


def is_default(sc: Obj) -> bool:
    annotations = (sc.get("metadata") or {}).get("annotations") or {}
    return any(annotations.get(k) == "true" for k in DEFAULT_ANNOTATIONS)


def default_class(classes: list[Obj]) -> Obj | None:
    defaults = [sc for sc in classes if is_default(sc)]
    if not defaults:
        return None
    # newest first (RFC 3339 UTC timestamps sort as text), then by name
    defaults.sort(key=lambda sc: sc["metadata"].get("name", ""))
    defaults.sort(key=lambda sc: sc["metadata"].get("creationTimestamp") or "", reverse=True)
    return defaults[0]


def has_class(claim: Obj) -> bool:
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    return BETA_CLASS_ANNOTATION in annotations or (claim.get("spec") or {}).get("storageClassName") is not None


class DefaultStorageClass(Plugin):
    name = "DefaultStorageClass"
    mutating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (attrs.subresource or attrs.obj is None or attrs.operation != CREATE
                or not is_resource(attrs, "", "persistentvolumeclaims") or has_class(attrs.obj)):
            return
        sc = default_class(ctx.list("/registry/storageclasses/"))
        if sc is not None:
            attrs.obj.setdefault("spec", {})["storageClassName"] = sc["metadata"]["name"]
