"""DefaultIngressClass: an Ingress created without a class gets the cluster's default one.

An IngressClass is the default when annotated `ingressclass.kubernetes.io/is-default-class:
"true"`. With several defaults the newest wins, ties broken by name (upstream picks the same
way since it stopped refusing such Ingresses). An Ingress that sets `ingressClassName` (even to
"") or the deprecated `kubernetes.io/ingress.class` annotation is left alone.
"""

from __future__ import annotations

from kybernetes.apiserver.admission import CREATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import is_resource

DEFAULT_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def default_ingress_class(classes: list[Obj]) -> Obj | None:
    defaults = [c for c in classes
                if ((c.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"]
    if not defaults:
        return None
    defaults.sort(key=lambda c: c["metadata"].get("name", ""))
    defaults.sort(key=lambda c: c["metadata"].get("creationTimestamp") or "", reverse=True)
    return defaults[0]


def names_a_class(ingress: Obj) -> bool:
    annotations = (ingress.get("metadata") or {}).get("annotations") or {}
    return LEGACY_CLASS_ANNOTATION in annotations or (ingress.get("spec") or {}).get("ingressClassName") is not None


class DefaultIngressClass(Plugin):
    name = "DefaultIngressClass"
    mutating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (attrs.subresource or attrs.obj is None or attrs.operation != CREATE
                or not is_resource(attrs, "networking.k8s.io", "ingresses") or names_a_class(attrs.obj)):
            return
        chosen = default_ingress_class(ctx.list("/registry/ingressclasses/"))
        if chosen is not None:
            attrs.obj.setdefault("spec", {})["ingressClassName"] = chosen["metadata"]["name"]
