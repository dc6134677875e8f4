"""Node lifecycle: notice nodes that stopped reporting, taint nodes by condition, evict by NoExecute taints.

Three parts, as upstream's node-lifecycle and taint-eviction controllers:

1. Health monitor (every `monitor_period`). A node is heard from when its Lease
   (``kube-node-lease/<node>``) renewTime or its Ready condition's lastHeartbeatTime changes; the
   time of hearing is taken on this controller's own clock, so node and controller clocks need
   not agree (a restarted controller gives every node a fresh grace period). A node not heard
   from for `grace_period` (40 s) gets Ready, MemoryPressure, DiskPressure and PIDPressure set to
   Unknown (reason NodeStatusUnknown, "Kubelet stopped posting node status."; a node that never
   posted Ready: NodeStatusNeverUpdated, "Kubelet never posted node status."), a NodeNotReady
   event, and its pods' Ready condition set to False.
2. Taints from conditions: Ready False -> ``node.kubernetes.io/not-ready``, Ready Unknown ->
   ``node.kubernetes.io/unreachable`` (both NoExecute and NoSchedule); memory/disk/pid pressure,
   network unavailable and ``spec.unschedulable`` -> their NoSchedule taints.
3. Taint eviction: a pod on a node with NoExecute taints it does not tolerate is deleted at once;
   when every such taint is tolerated with ``tolerationSeconds`` it is deleted that long after the
   taint's timeAdded (the shortest one wins). Before deleting, the pod gets the condition
   DisruptionTarget (reason DeletionByTaintManager).

Not modelled: zone disruption states and eviction rate limits (every node counts as its own zone
in normal state). Options (``ctx.options["nodelifecycle"]``, or ``$KYB_NODE_MONITOR_GRACE_PERIOD``):
``grace_period``, ``monitor_period``.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, EventRecorder, Informer, is_conflict, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.client.store import NODE_NAME_INDEX, index_by_node_name, split_key
from kybernetes.controllers import rfc3339
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.nodelifecycle")

NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]
PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
LEASES: ResourceLike = lookup("coordination.k8s.io", "v1", "leases")  # type: ignore[assignment]
LEASE_NAMESPACE = "kube-node-lease"

GRACE_PERIOD = 40.0
MONITOR_PERIOD = 5.0

TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
CONDITION_TAINTS = {  # condition type, status that taints -> NoSchedule taint key
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
}
TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MANAGED_KEYS = {TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE, *CONDITION_TAINTS.values()}
UNKNOWN_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
REASON_UNKNOWN = "NodeStatusUnknown"
MSG_UNKNOWN = "Kubelet stopped posting node status."
REASON_NEVER = "NodeStatusNeverUpdated"
MSG_NEVER = "Kubelet never posted node status."

Obj = dict[str, Any]


# --- pure decisions -----------------------------------------------------------------------------------------
def condition(node: Mapping[str, Any], type_: str) -> Obj | None:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return dict(c)
    return None


def ready_status(node: Mapping[str, Any]) -> str:
    c = condition(node, "Ready")
    return str(c.get("status")) if c else "Unknown"


def mark_unknown(node: Mapping[str, Any], now: dt.datetime) -> list[Obj] | None:
    """The node's conditions after it stopped reporting, or None when nothing changes."""
    conds = [dict(c) for c in (node.get("status") or {}).get("conditions") or []]
    stamp = rfc3339.fmt(now)
    changed = False
    have = {c.get("type") for c in conds}
    for c in conds:
        if c.get("type") in UNKNOWN_TYPES and c.get("status") != "Unknown":
            c.update(status="Unknown", reason=REASON_UNKNOWN, message=MSG_UNKNOWN, lastTransitionTime=stamp)
            changed = True
    for t in UNKNOWN_TYPES:
        if t not in have:
            conds.append({"type": t, "status": "Unknown", "reason": REASON_NEVER, "message": MSG_NEVER,
                          "lastHeartbeatTime": (node.get("metadata") or {}).get("creationTimestamp"),
                          "lastTransitionTime": stamp})
            changed = True
    return conds if changed else None


def desired_taints(node: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, effect) of the taints this controller wants on the node."""
    out: list[tuple[str, str]] = []
    rs = ready_status(node) if condition(node, "Ready") else None
    if rs == "False":
        out += [(TAINT_NOT_READY, "NoExecute"), (TAINT_NOT_READY, "NoSchedule")]
    elif rs == "Unknown":
        out += [(TAINT_UNREACHABLE, "NoExecute"), (TAINT_UNREACHABLE, "NoSchedule")]
    for (type_, status), key in CONDITION_TAINTS.items():
        c = condition(node, type_)
        if c is not None and c.get("status") == status:
            out.append((key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        out.append((TAINT_UNSCHEDULABLE, "NoSchedule"))
    return out


def reconcile_taints(node: Mapping[str, Any], now: dt.datetime) -> list[Obj] | None:
    """The node's taints with the managed ones made as desired, or None when nothing changes."""
    current = [dict(t) for t in (node.get("spec") or {}).get("taints") or []]
    want = desired_taints(node)
    keep = [t for t in current if t.get("key") not in MANAGED_KEYS or (t.get("key"), t.get("effect")) in want]
    have = {(t.get("key"), t.get("effect")) for t in keep}
    for key, effect in want:
        if (key, effect) not in have:
            taint: Obj = {"key": key, "effect": effect}
            if effect == "NoExecute":
                taint["timeAdded"] = rfc3339.fmt(now)
            keep.append(taint)
    return keep if keep != current else None


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    op = toleration.get("operator") or "Equal"
    if not key:
        return op == "Exists"
    if key != taint.get("key"):
        return False
    if op == "Exists":
        return True
    return (toleration.get("value") or "") == (taint.get("value") or "")


@dataclass(frozen=True, slots=True)
class Eviction:
    at: dt.datetime | None  # None: never (all tolerated forever or no NoExecute taints)


def eviction_time(pod: Mapping[str, Any], taints: Sequence[Mapping[str, Any]], now: dt.datetime) -> Eviction:
    """When a pod must go because of the node's NoExecute taints."""
    no_exec = [t for t in taints if t.get("effect") == "NoExecute"]
    if not no_exec:
        return Eviction(None)
    tolerations = (pod.get("spec") or {}).get("tolerations") or []
    deadline: dt.datetime | None = None
    for taint in no_exec:
        matching = [t for t in tolerations if tolerates(t, taint)]
        if not matching:
            return Eviction(now)
        bounded = [int(t["tolerationSeconds"]) for t in matching if t.get("tolerationSeconds") is not None]
        if len(bounded) < len(matching):
            continue  # one toleration without a bound: tolerated forever
        added = rfc3339.parse(taint.get("timeAdded")) or now
        at = added + dt.timedelta(seconds=max(min(bounded), 0))
        deadline = at if deadline is None or at < deadline else deadline
    return Eviction(deadline)


# --- the loop ----------------------------------------------------------------------------------------------------
@dataclass
class _Health:
    seen_at: float
    heartbeat: str
    lease_renew: str


class NodeLifecycle:
    def __init__(self, client: APIClient, nodes: Informer, leases: Informer, pods: Informer,
                 recorder: EventRecorder, *, eviction_recorder: EventRecorder | None = None,
                 grace_period: float = GRACE_PERIOD, monitor_period: float = MONITOR_PERIOD) -> None:
        self.client = client
        self.nodes = nodes
        self.leases = leases
        self.pods = pods
        self.recorder = recorder
        self.eviction_recorder = eviction_recorder or recorder
        self.grace_period = grace_period
        self.monitor_period = monitor_period
        self.health: dict[str, _Health] = {}
        self.taints = Controller("node-taints", self.sync_taints, workers=2)
        self.evictions = Controller("taint-eviction", self.sync_pod, workers=4)
        nodes.add_handlers(on_add=self._node_changed, on_update=lambda _o, n: self._node_changed(n),
                           on_delete=self._node_deleted)
        pods.add_handlers(on_add=self._pod_changed, on_update=lambda _o, n: self._pod_changed(n))

    def _node_changed(self, node: Obj) -> None:
        name = str(node["metadata"]["name"])
        self.taints.queue.add(name)
        for pod in self.pods.store.by_index(NODE_NAME_INDEX, name):
            self.evictions.enqueue(pod)

    def _node_deleted(self, node: Obj) -> None:
        self.health.pop(str(node["metadata"]["name"]), None)

    def _pod_changed(self, pod: Obj) -> None:
        if (pod.get("spec") or {}).get("nodeName") and not (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.evictions.enqueue(pod)

    async def run(self) -> None:
        await asyncio.gather(self.taints.run(), self.evictions.run(), self._monitor())

    # --- 1. health ------------------------------------------------------------------------------------------
    async def _monitor(self) -> None:
        while True:
            for node in self.nodes.store.list():
                try:
                    await self.check_node(node)
                except Exception as e:
                    if not (is_conflict(e) or is_not_found(e)):
                        log.warning("node %s: health check failed", node["metadata"].get("name"), exc_info=True)
            await asyncio.sleep(self.monitor_period)

    async def check_node(self, node: Obj) -> None:
        name = str(node["metadata"]["name"])
        ready = condition(node, "Ready") or {}
        lease = self.leases.store.get_by_name(LEASE_NAMESPACE, name) or {}
        heartbeat = str(ready.get("lastHeartbeatTime") or "")
        renew = str((lease.get("spec") or {}).get("renewTime") or "")
        mono = time.monotonic()
        h = self.health.get(name)
        if h is None or h.heartbeat != heartbeat or h.lease_renew != renew:
            self.health[name] = _Health(mono, heartbeat, renew)
            return
        if mono - h.seen_at <= self.grace_period:
            return
        conds = mark_unknown(node, rfc3339.now())
        if conds is None:
            return
        was_ready = ready.get("status") == "True"
        updated = copy.deepcopy(node)
        updated.setdefault("status", {})["conditions"] = conds
        await self.client.update_status(NODES, updated)
        log.info("node %s: not heard from for %.0fs; conditions Unknown", name, mono - h.seen_at)
        if was_ready:
            self.recorder.event(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
            await self.mark_pods_not_ready(name)

    async def mark_pods_not_ready(self, node_name: str) -> None:
        stamp = rfc3339.fmt(rfc3339.now())
        for pod in self.pods.store.by_index(NODE_NAME_INDEX, node_name):
            conds = [dict(c) for c in (pod.get("status") or {}).get("conditions") or []]
            changed = False
            for c in conds:
                if c.get("type") == "Ready" and c.get("status") != "False":
                    c.update(status="False", lastTransitionTime=stamp)
                    changed = True
            if not changed:
                continue
            updated = copy.deepcopy(pod)
            updated["status"]["conditions"] = conds
            try:
                await self.client.update_status(PODS, updated)
            except Exception as e:
                if not (is_conflict(e) or is_not_found(e)):
                    raise
                continue
            self.recorder.event(pod, "Warning", "NodeNotReady", "Node is not ready")

    # --- 2. taints ---------------------------------------------------------------------------------------------
    async def sync_taints(self, name: str) -> None:
        node = self.nodes.store.get(name)
        if node is None:
            return
        taints = reconcile_taints(node, rfc3339.now())
        if taints is None:
            return
        updated = copy.deepcopy(node)
        updated.setdefault("spec", {})["taints"] = taints
        if not taints:
            updated["spec"].pop("taints", None)
        await self.client.update(NODES, updated)

    # --- 3. taint eviction -------------------------------------------------------------------------------------
    async def sync_pod(self, key: str) -> None:
        pod = self.pods.store.get(key)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        node = self.nodes.store.get(str((pod.get("spec") or {}).get("nodeName") or ""))
        if node is None:
            return
        now = rfc3339.now()
        ev = eviction_time(pod, (node.get("spec") or {}).get("taints") or [], now)
        if ev.at is None:
            return
        wait = (ev.at - now).total_seconds()
        if wait > 0:
            self.evictions.queue.add_after(key, wait + 0.1)
            return
        ns, name = split_key(key)
        self.eviction_recorder.event(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")
        updated = copy.deepcopy(pod)
        conds = [c for c in (updated.get("status") or {}).get("conditions") or [] if c.get("type") != "DisruptionTarget"]
        conds.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                      "message": "Taint manager: deleting due to NoExecute taint",
                      "lastTransitionTime": rfc3339.fmt(now)})
        updated.setdefault("status", {})["conditions"] = conds
        try:
            await self.client.update_status(PODS, updated)
        except Exception as e:
            if is_not_found(e):
                return
            if not is_conflict(e):
                raise
        try:
            await self.client.delete(PODS, name, namespace=ns, preconditions={"uid": pod["metadata"].get("uid", "")})
        except Exception as e:
            if not is_not_found(e):
                raise


def _grace_from(opts: Mapping[str, Any]) -> float:
    if "grace_period" in opts:
        return float(opts["grace_period"])
    env = os.environ.get("KYB_NODE_MONITOR_GRACE_PERIOD")
    return float(env) if env else GRACE_PERIOD


@register("nodelifecycle")
def _factory(ctx: ControllerContext) -> NodeLifecycle:
    opts = ctx.options.get("nodelifecycle") or {}
    nodes = ctx.informers.informer(NODES)
    leases = ctx.informers.informer(LEASES, namespace=LEASE_NAMESPACE)
    pods = ctx.informers.informer(PODS, indexers={NODE_NAME_INDEX: index_by_node_name})
    grace = _grace_from(opts)
    monitor = float(opts.get("monitor_period", min(MONITOR_PERIOD, max(grace / 4, 0.5))))
    return NodeLifecycle(ctx.client, nodes, leases, pods, ctx.recorder("node-controller"),
                         eviction_recorder=ctx.recorder("taint-eviction-controller"),
                         grace_period=grace, monitor_period=monitor)
