"""TaintNodesByCondition: a Node is born tainted `node.kubernetes.io/not-ready:NoSchedule`.

Without it the scheduler could place pods on a Node in the moment between its creation and its
first Ready report. The node-lifecycle controller (``controllers.nodelifecycle``) owns the taint
afterwards and drops it once the Node reports Ready=True. Only creates of the Node itself are
touched (no subresource); a Node that already carries a taint with that key and effect keeps its
taints as they are. Upstream adds the taint without a value or timeAdded, and so does this.
"""

from __future__ import annotations

from kybernetes.apiserver.admission import CREATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import is_resource

NOT_READY_TAINT_KEY = "node.kubernetes.io/not-ready"


def add_not_ready_taint(node: Obj) -> None:
    """Append the not-ready NoSchedule taint unless one with that key and effect is there."""
    spec = node.get("spec")
    if not isinstance(spec, dict):
        spec = node["spec"] = {}
    taints = spec.get("taints")
    if not isinstance(taints, list):
        taints = []
    for t in taints:
        if isinstance(t, dict) and t.get("key") == NOT_READY_TAINT_KEY and t.get("effect") == "NoSchedule":
            return
    spec["taints"] = [*taints, {"key": NOT_READY_TAINT_KEY, "effect": "NoSchedule"}]


class TaintNodesByCondition(Plugin):
    name = "TaintNodesByCondition"
    mutating = True

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        del ctx
        if (
            attrs.operation != CREATE
            or attrs.subresource
            or not isinstance(attrs.obj, dict)
            or not is_resource(attrs, "", "nodes")
        ):
            return
        add_not_ready_taint(attrs.obj)
