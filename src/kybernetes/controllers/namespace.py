"""The namespace controller: empties a Terminating namespace, then lets the API server remove it.

Deleting a namespace makes the API server set its deletionTimestamp and phase Terminating and keep
it while ``spec.finalizers`` holds ``kubernetes``. This loop then, for every namespaced resource
(built-ins and custom resources, `garbagecollector.resources`):

1. deletes the collection in that namespace (propagation Background; pods get their grace period;
   objects with finalizers stay until their owners release them);
2. lists what remains, counting objects and the finalizers that hold them;
3. reports progress in the namespace's status conditions, as upstream names them
   (NamespaceDeletionDiscoveryFailure, NamespaceDeletionGroupVersionParsingFailure,
   NamespaceDeletionContentFailure, NamespaceContentRemaining, NamespaceFinalizersRemaining);
4. when nothing remains, removes ``kubernetes`` from spec.finalizers through the ``finalize``
   subresource; with no spec finalizer left the API server deletes the namespace.

While content remains the namespace is looked at again shortly (level-triggered: a restart resumes
at step 1, which is harmless to repeat).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import Controller, ResourceLike, ResourceRef, is_conflict, is_not_found
from kybernetes.client.rest import resource_path
from kybernetes.controllers.garbagecollector.resources import CRDS, Catalog
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.namespace")

Obj = dict[str, Any]
NAMESPACES: ResourceLike = lookup("", "v1", "namespaces")  # type: ignore[assignment]
FINALIZER = "kubernetes"
RECHECK_SECONDS = 1.0
PARALLEL = 8

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
PARSING_FAILURE = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
CONDITION_ORDER = (DISCOVERY_FAILURE, PARSING_FAILURE, CONTENT_FAILURE, CONTENT_REMAINING, FINALIZERS_REMAINING)


@dataclass(slots=True)
class ContentReport:
    """What one pass over a namespace's content found."""

    remaining: dict[str, int] = field(default_factory=dict)  # "pods", "widgets.example.com" -> count
    finalizers: dict[str, int] = field(default_factory=dict)  # finalizer -> objects holding it
    errors: list[str] = field(default_factory=list)  # deletion failures
    discovery_errors: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.remaining and not self.errors and not self.discovery_errors


def group_resource(res: ResourceLike) -> str:
    return f"{res.plural}.{res.group}" if res.group else res.plural


def _cond(type_: str, true: bool, reason: str, message: str) -> Obj:
    return {"type": type_, "status": "True" if true else "False", "reason": reason, "message": message}


def deletion_conditions(report: ContentReport) -> list[Obj]:
    """The five conditions upstream's namespace deleter keeps, for `report` (no timestamps)."""
    out = []
    if report.discovery_errors:
        out.append(_cond(DISCOVERY_FAILURE, True, "DiscoveryFailed",
                         "Discovery failed for some groups, " + ", ".join(report.discovery_errors)))
    else:
        out.append(_cond(DISCOVERY_FAILURE, False, "ResourcesDiscovered", "All resources successfully discovered"))
    out.append(_cond(PARSING_FAILURE, False, "ParsedGroupVersions", "All legacy kube types successfully parsed"))
    if report.errors:
        out.append(_cond(CONTENT_FAILURE, True, "ContentDeletionFailed",
                         f"Failed to delete all resource types, {len(report.errors)} remaining: "
                         + ", ".join(report.errors)))
    else:
        out.append(_cond(CONTENT_FAILURE, False, "ContentDeleted",
                         "All content successfully deleted, may be waiting on finalization"))
    if report.remaining:
        parts = [f"{gr} has {n} resource instances" for gr, n in sorted(report.remaining.items())]
        out.append(_cond(CONTENT_REMAINING, True, "SomeResourcesRemain",
                         "Some resources are remaining: " + ", ".join(parts)))
    else:
        out.append(_cond(CONTENT_REMAINING, False, "ContentRemoved", "All content successfully removed"))
    if report.finalizers:
        parts = [f"{f} in {n} resource instances" for f, n in sorted(report.finalizers.items())]
        out.append(_cond(FINALIZERS_REMAINING, True, "SomeFinalizersRemain",
                         "Some content in the namespace has finalizers remaining: " + ", ".join(parts)))
    else:
        out.append(_cond(FINALIZERS_REMAINING, False, "ContentHasNoFinalizers",
                         "All content-preserving finalizers finished"))
    return out


def merge_conditions(current: Sequence[Mapping[str, Any]], wanted: Sequence[Obj], now: str) -> list[Obj]:
    """`wanted` with lastTransitionTime carried over where a condition's status did not change;
    conditions of other types are kept."""
    by_type = {str(c.get("type")): c for c in current}
    out: list[Obj] = []
    for w in wanted:
        old = by_type.get(w["type"])
        c = dict(w)
        c["lastTransitionTime"] = (old.get("lastTransitionTime") if old and old.get("status") == w["status"]
                                   else now) or now
        out.append(c)
    known = {w["type"] for w in wanted}
    out.extend(dict(c) for c in current if c.get("type") not in known)
    return out


def without_finalizer(ns: Mapping[str, Any], finalizer: str = FINALIZER) -> Obj:
    """The body of a PUT to namespaces/<name>/finalize that drops `finalizer`."""
    body = {k: v for k, v in ns.items() if k != "status"}
    spec = dict(ns.get("spec") or {})
    spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != finalizer]
    body["spec"] = spec
    return body


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NamespaceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.crds = ctx.informers.informer(CRDS)
        self.controller = Controller("namespace", self.sync, workers=2)
        self.namespaces.add_handlers(self.controller.handlers())

    def catalog(self) -> Catalog:
        cat = Catalog()
        cat.set_crds(self.crds.store.list())
        return cat

    async def sync(self, key: str) -> None:
        ns = self.namespaces.store.get(key)
        if ns is None or not (ns.get("metadata") or {}).get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return
        report = await self.delete_content(key, self.catalog().namespaced())
        await self.update_conditions(key, report)
        if not report.empty:
            self.controller.queue.add_after(key, RECHECK_SECONDS)
            return
        await self.finalize(key)

    async def delete_content(self, namespace: str, resources: list[ResourceRef]) -> ContentReport:
        report = ContentReport()
        sem = asyncio.Semaphore(PARALLEL)

        async def one(res: ResourceRef) -> None:
            async with sem:
                await self._delete_resource(namespace, res, report)

        await asyncio.gather(*(one(r) for r in resources))
        return report

    async def _delete_resource(self, namespace: str, res: ResourceRef, report: ContentReport) -> None:
        path = resource_path(res, namespace=namespace)
        gr = group_resource(res)
        try:
            await self.client.request("DELETE", path, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                                            "propagationPolicy": "Background"})
        except Exception as e:
            if is_not_found(e):
                return  # the resource itself went away (a CRD deleted meanwhile)
            report.errors.append(f"{gr}: {e}")
        try:
            items, _ = await self.client.list_all(res, namespace=namespace)
        except Exception as e:
            if not is_not_found(e):
                report.discovery_errors.append(f"{gr}: {e}")
            return
        if items:
            report.remaining[gr] = len(items)
            held: Counter[str] = Counter()
            for obj in items:
                for f in (obj.get("metadata") or {}).get("finalizers") or []:
                    held[str(f)] += 1
            for f, n in held.items():
                report.finalizers[f] = report.finalizers.get(f, 0) + n

    async def update_conditions(self, name: str, report: ContentReport) -> None:
        try:
            live = await self.client.get(NAMESPACES, name)
        except Exception as e:
            if is_not_found(e):
                return
            raise
        current = (live.get("status") or {}).get("conditions") or []
        merged = merge_conditions(current, deletion_conditions(report), now_rfc3339())
        if merged == current:
            return
        status = dict(live.get("status") or {})
        status["conditions"] = merged
        body = dict(live)
        body["status"] = status
        try:
            await self.client.update_status(NAMESPACES, body)
        except Exception as e:
            if not (is_conflict(e) or is_not_found(e)):
                raise

    async def finalize(self, name: str) -> None:
        for _ in range(5):
            try:
                live = await self.client.get(NAMESPACES, name)
            except Exception as e:
                if is_not_found(e):
                    return
                raise
            if FINALIZER not in ((live.get("spec") or {}).get("finalizers") or []):
                return
            try:
                await self.client.request("PUT", resource_path(NAMESPACES, name=name, subresource="finalize"),
                                          body=without_finalizer(live))
                log.info("namespace %s emptied and finalized", name)
                return
            except Exception as e:
                if is_not_found(e):
                    return
                if not is_conflict(e):
                    raise

    async def run(self) -> None:
        await self.controller.run()


@register("namespace")
def new_namespace_controller(ctx: ControllerContext) -> NamespaceController:
    return NamespaceController(ctx)
