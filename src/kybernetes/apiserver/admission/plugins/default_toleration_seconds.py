"""DefaultTolerationSeconds: pods ride out a node that is not ready or unreachable for five
minutes before they are evicted.

Every pod gets NoExecute tolerations for `node.kubernetes.io/not-ready` and
`node.kubernetes.io/unreachable` with tolerationSeconds 300, unless it already tolerates that
taint (same key or an empty key, with effect NoExecute or an empty effect).
"""

from __future__ import annotations

from kybernetes.apiserver.admission import CREATE, UPDATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import is_resource

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_SECONDS = 300


def tolerates(tolerations: list[Obj], key: str) -> bool:
    return any(t.get("key", "") in ("", key) and t.get("effect", "") in ("", "NoExecute")
               for t in tolerations if isinstance(t, dict))


def add_default_tolerations(spec: Obj, seconds: int = DEFAULT_SECONDS) -> None:
    tolerations = list(spec.get("tolerations") or [])
    added = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": seconds}
             for key in (NOT_READY, UNREACHABLE) if not tolerates(tolerations, key)]
    if added:
        spec["tolerations"] = tolerations + added


class DefaultTolerationSeconds(Plugin):
    name = "DefaultTolerationSeconds"
    mutating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del ctx
        if (attrs.subresource or attrs.obj is None or attrs.operation not in (CREATE, UPDATE)
                or not is_resource(attrs, "", "pods")):
            return
        add_default_tolerations(attrs.obj.setdefault("spec", {}))
