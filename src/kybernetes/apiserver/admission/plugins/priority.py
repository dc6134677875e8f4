"""Priority: a pod's priority comes from its PriorityClass, never from the pod itself.

On pod create: a named class must exist (`no PriorityClass with name x was found`); without a
name the global-default class applies (the lowest-valued one if several claim it), else
priority 0 and PreemptLowerPriority. A pod may not carry a priority or preemption policy that
differs from what its class gives. On pod update the stored values are kept. On PriorityClass
create/update only one class may be the global default.

`bootstrap(ctx)` creates the two system classes every cluster has; the API server calls it at
start-up.

Note: the Pod strategy's defaults (run before admission) set `priority: 0` and
`preemptionPolicy: PreemptLowerPriority` on pods without a class; those exact values are taken
as unset here so that a global-default class still applies.
"""

from __future__ import annotations

import logging
from typing import Any

from kybernetes.apiserver.admission import CREATE, UPDATE, AdmissionContext, Attributes, Obj, Plugin
from kybernetes.apiserver.admission.plugins._common import forbidden, is_resource
from kybernetes.machinery import errors

log = logging.getLogger(__name__)

PREEMPT_LOWER = "PreemptLowerPriority"
SYSTEM_CLASSES: tuple[Obj, ...] = (
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-node-critical"}, "value": 2000001000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
     "metadata": {"name": "system-cluster-critical"}, "value": 2000000000,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to "
                    "another node if necessary."},
)


def default_class(classes: list[Obj]) -> Obj | None:
    best: Obj | None = None
    for pc in classes:
        if pc.get("globalDefault") and (best is None or int(pc.get("value", 0)) < int(best.get("value", 0))):
            best = pc
    return best


def resolve(spec: Obj, classes: dict[str, Obj]) -> tuple[str, int, str] | str:
    """(class name, priority, preemption policy) for a pod spec, or the reason it is refused."""
    name = spec.get("priorityClassName") or ""
    if not name:
        pc = default_class(list(classes.values()))
        if pc is None:
            return "", 0, PREEMPT_LOWER
        return pc["metadata"]["name"], int(pc.get("value", 0)), pc.get("preemptionPolicy") or PREEMPT_LOWER
    found = classes.get(name)
    if found is None:
        return f"no PriorityClass with name {name} was found"
    return name, int(found.get("value", 0)), found.get("preemptionPolicy") or PREEMPT_LOWER


class Priority(Plugin):
    name = "Priority"
    mutating = True
    validating = True

    @staticmethod
    def _classes(ctx: AdmissionContext) -> dict[str, Obj]:
        return {pc["metadata"]["name"]: pc for pc in ctx.list("/registry/priorityclasses/")}

    async def admit(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if attrs.subresource or not is_resource(attrs, "", "pods") or attrs.obj is None:
            return
        spec = attrs.obj.setdefault("spec", {})
        if attrs.operation == UPDATE and attrs.old is not None:
            old_spec = attrs.old.get("spec") or {}
            for key in ("priority", "preemptionPolicy"):
                if spec.get(key) is None and old_spec.get(key) is not None:
                    spec[key] = old_spec[key]
            return
        if attrs.operation != CREATE:
            return
        named = bool(spec.get("priorityClassName"))
        result = resolve(spec, self._classes(ctx))
        if isinstance(result, str):
            raise forbidden(attrs, result)
        class_name, priority, policy = result
        given = spec.get("priority")
        if given is not None and given != priority and (named or given != 0):
            raise forbidden(attrs, f"the integer value of priority ({given}) must not be provided in pod spec; "
                                   f"priority admission controller computed {priority} from the given PriorityClass name")
        given_policy = spec.get("preemptionPolicy")
        if given_policy is not None and given_policy != policy and given_policy != PREEMPT_LOWER:
            raise forbidden(attrs, f"the string value of PreemptionPolicy ({given_policy}) must not be provided in "
                                   f"pod spec; priority admission controller computed {policy} from the given "
                                   "PriorityClass name")
        if class_name:
            spec["priorityClassName"] = class_name
        spec["priority"] = priority
        spec["preemptionPolicy"] = policy

    async def validate(self, attrs: Attributes, ctx: AdmissionContext) -> None:
        if (attrs.subresource or attrs.obj is None or attrs.operation not in (CREATE, UPDATE)
                or not is_resource(attrs, "scheduling.k8s.io", "priorityclasses")):
            return
        if not attrs.obj.get("globalDefault"):
            return
        current = default_class(list(self._classes(ctx).values()))
        if current is None:
            return
        if attrs.operation == CREATE or current["metadata"]["name"] != attrs.name:
            raise forbidden(attrs, f"PriorityClass {current['metadata']['name']} is already marked as default. "
                                   "Only one default can exist")

    async def bootstrap(self, ctx: AdmissionContext) -> None:
        """Create the system priority classes when they are missing."""
        from kybernetes.apiserver.registry.store import WriteOptions

        store = ctx.stores[("scheduling.k8s.io", "priorityclasses")]
        for pc in SYSTEM_CLASSES:
            name = pc["metadata"]["name"]
            if ctx.get(f"/registry/priorityclasses/{name}") is not None:
                continue
            body: Any = {**pc, "metadata": dict(pc["metadata"])}
            try:
                await store.create(body, namespace="", opts=WriteOptions(field_manager="kyb-apiserver"))
            except errors.StatusError as e:
                if e.reason != "AlreadyExists":
                    log.warning("cannot create priority class %s: %s", name, e.message)
