"""Pod garbage collection, as upstream's podgc controller (every 20 s):

1. Orphans: pods bound to a Node that no longer exists (absent from the cache and confirmed by a
   GET) are marked Failed with the condition DisruptionTarget (reason DeletionByPodGC, "PodGC: node
   no longer exists") and deleted at once (grace period 0): no kubelet will ever confirm them.
2. Terminating pods that were never scheduled are deleted at once for the same reason.
3. Terminated pods (Succeeded/Failed) beyond the threshold (12500) are deleted, oldest first.

Options (``ctx.options["podgc"]``): ``terminated_pod_threshold``, ``period``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Sequence
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Informer, is_conflict, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.controllers import rfc3339
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.podgc")

PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
NODES: ResourceLike = lookup("", "v1", "nodes")  # type: ignore[assignment]
TERMINATED_POD_THRESHOLD = 12500
PERIOD = 20.0

Obj = dict[str, Any]


def terminated_to_delete(pods: Sequence[Obj], threshold: int) -> list[Obj]:
    """The oldest terminated pods beyond `threshold` (0 or less: keep all)."""
    if threshold <= 0:
        return []
    done = [p for p in pods if (p.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            and not (p.get("metadata") or {}).get("deletionTimestamp")]
    if len(done) <= threshold:
        return []
    done.sort(key=lambda p: (str(p["metadata"].get("creationTimestamp") or ""), str(p["metadata"].get("name"))))
    return done[:len(done) - threshold]


def orphans(pods: Sequence[Obj], node_names: set[str]) -> list[Obj]:
    return [p for p in pods if (p.get("spec") or {}).get("nodeName")
            and p["spec"]["nodeName"] not in node_names]


def unscheduled_terminating(pods: Sequence[Obj]) -> list[Obj]:
    return [p for p in pods if not (p.get("spec") or {}).get("nodeName")
            and (p.get("metadata") or {}).get("deletionTimestamp")]


class PodGC:
    def __init__(self, client: APIClient, pods: Informer, nodes: Informer, *,
                 threshold: int = TERMINATED_POD_THRESHOLD, period: float = PERIOD) -> None:
        self.client = client
        self.pods = pods
        self.nodes = nodes
        self.threshold = threshold
        self.period = period

    async def run(self) -> None:
        while True:
            try:
                await self.gc_once()
            except Exception:
                log.warning("pod gc pass failed", exc_info=True)
            await asyncio.sleep(self.period)

    async def gc_once(self) -> None:
        pods = self.pods.store.list()
        for pod in terminated_to_delete(pods, self.threshold):
            await self._delete(pod, grace=None)
        names = {str(n["metadata"]["name"]) for n in self.nodes.store.list()}
        confirmed_gone: dict[str, bool] = {}
        for pod in orphans(pods, names):
            node = str(pod["spec"]["nodeName"])
            if node not in confirmed_gone:
                try:
                    await self.client.get(NODES, node)
                    confirmed_gone[node] = False
                except Exception as e:
                    if not is_not_found(e):
                        raise
                    confirmed_gone[node] = True
            if confirmed_gone[node]:
                await self._fail_and_delete(pod)
        for pod in unscheduled_terminating(pods):
            await self._delete(pod, grace=0)

    async def _fail_and_delete(self, pod: Obj) -> None:
        updated = copy.deepcopy(pod)
        st = updated.setdefault("status", {})
        if st.get("phase") not in ("Succeeded", "Failed"):
            st["phase"] = "Failed"
            conds = [c for c in st.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
            conds.append({"type": "DisruptionTarget", "status": "True", "reason": "DeletionByPodGC",
                          "message": "PodGC: node no longer exists", "lastTransitionTime": rfc3339.fmt(rfc3339.now())})
            st["conditions"] = conds
            try:
                await self.client.update_status(PODS, updated)
            except Exception as e:
                if is_not_found(e):
                    return
                if not is_conflict(e):
                    raise
        await self._delete(pod, grace=0)

    async def _delete(self, pod: Obj, *, grace: int | None) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete(PODS, meta["name"], namespace=meta.get("namespace", ""),
                                     grace_period_seconds=grace, preconditions={"uid": meta.get("uid", "")})
            log.info("pod gc: deleted %s/%s", meta.get("namespace"), meta["name"])
        except Exception as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise


@register("podgc")
def _factory(ctx: ControllerContext) -> PodGC:
    opts = ctx.options.get("podgc") or {}
    return PodGC(ctx.client, ctx.informers.informer(PODS), ctx.informers.informer(NODES),
                 threshold=int(opts.get("terminated_pod_threshold", TERMINATED_POD_THRESHOLD)),
                 period=float(opts.get("period", PERIOD)))
