"""The garbage collector: deletes objects whose owners are gone; runs foreground and orphan deletion.

Theory of operation. Every listable resource (built-ins and custom resources, see `resources`) has an
informer whose store is indexed by uid and by owner uid; together the stores are the
ownerReference graph. Work items are object uids:

1. An object that has owners is checked when it appears or its references change; an object's
   dependents are checked when it disappears. Each owner is classified (`graph.classify_owner`)
   from the cache when the cache has it, otherwise by a live GET, so that a dependent created
   before its owner reached this cache is never taken for an orphan. Deletions carry a uid
   precondition: a newer object under the same name is never hit.
2. An owner with deletionTimestamp and the ``foregroundDeletion`` finalizer (which the API server
   adds for ``propagationPolicy=Foreground``) has its dependents deleted; once none that blocks
   it remains, the finalizer is removed and the API server removes the owner.
3. An owner with the ``orphan`` finalizer has the reference to it removed from every dependent,
   then the finalizer is removed.

Every step re-reads what it changes and writes with a resourceVersion precondition, so the loop can
be killed at any line and picks up where the objects say it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kybernetes.client import (
    APIClient,
    Controller,
    EventHandlers,
    Informer,
    ResourceRef,
    is_conflict,
    is_not_found,
)
from kybernetes.client.store import index_by_owner_uid
from kybernetes.controllers.garbagecollector import graph
from kybernetes.controllers.garbagecollector.resources import CRDS, GC_IGNORED, Catalog, crd_resource
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.gc")

Obj = dict[str, Any]
UID_INDEX = "uid"
OWNER_INDEX = "owner-uid"
WORKERS = 4


def index_by_uid(obj: Obj) -> list[str]:
    uid = graph.uid_of(obj)
    return [uid] if uid else []


INDEXERS = {UID_INDEX: index_by_uid, OWNER_INDEX: index_by_owner_uid}


class GarbageCollector:
    def __init__(self, ctx: ControllerContext) -> None:
        self.client: APIClient = ctx.client
        self.catalog = Catalog()
        self.informers: dict[tuple[str, str], tuple[ResourceRef, Informer]] = {}
        self.custom: dict[tuple[str, str], tuple[ResourceRef, Informer]] = {}
        self.controller = Controller("garbagecollector", self.sync, workers=WORKERS)
        for res in self.catalog.builtins:
            if (res.group, res.plural) in GC_IGNORED:
                continue
            inf = ctx.informers.informer(res, indexers=INDEXERS)
            self._watch(res, inf)
            self.informers[(res.group, res.plural)] = (res, inf)
        self.crds = ctx.informers.informer(CRDS)
        self.crds.add_handlers(on_add=lambda _o: self._crds_changed(),
                               on_update=lambda _o, _n: self._crds_changed(),
                               on_delete=lambda _o: self._crds_changed())

    # --- informers ------------------------------------------------------------------------------
    def _watch(self, res: ResourceRef, inf: Informer) -> None:
        inf.add_handlers(EventHandlers(
            on_add=lambda o: self._on_add(res, o),
            on_update=lambda old, new: self._on_update(res, old, new),
            on_delete=lambda o: self._on_delete(res, o)))

    def _crds_changed(self) -> None:
        wanted: dict[tuple[str, str], ResourceRef] = {}
        for crd in self.crds.store.list():
            ref = crd_resource(crd)
            if ref is not None:
                wanted[(ref.group, ref.plural)] = ref
        self.catalog.set_crds(self.crds.store.list())
        for key, ref in wanted.items():
            current = self.custom.get(key)
            if current is not None and current[0] == ref:
                continue
            if current is not None:
                asyncio.get_running_loop().create_task(current[1].stop())
            inf = Informer(self.client, ref, indexers=INDEXERS)
            self._watch(ref, inf)
            self.custom[key] = (ref, inf)
            inf.start()
        for key in [k for k in self.custom if k not in wanted]:
            _, inf = self.custom.pop(key)
            asyncio.get_running_loop().create_task(inf.stop())

    def _all_informers(self) -> list[tuple[ResourceRef, Informer]]:
        return list(self.informers.values()) + list(self.custom.values())

    def _enqueue(self, res: ResourceRef, obj: Obj) -> None:
        del res  # the uid finds the object in whichever store holds it
        uid = graph.uid_of(obj)
        if uid:
            self.controller.queue.add(uid)

    def _enqueue_uid(self, uid: str) -> None:
        found = self.cached(uid)
        if found is not None:
            self._enqueue(found[0], found[1])

    def _interesting(self, obj: Obj) -> bool:
        return bool(graph.owner_refs(obj)) or graph.waiting_for_dependents(obj) or graph.orphaning(obj)

    def _on_add(self, res: ResourceRef, obj: Obj) -> None:
        if self._interesting(obj):
            self._enqueue(res, obj)

    def _on_update(self, res: ResourceRef, old: Obj, new: Obj) -> None:
        om, nm = graph.meta(old), graph.meta(new)
        refs_changed = om.get("ownerReferences") != nm.get("ownerReferences")
        changed = refs_changed or om.get("finalizers") != nm.get("finalizers") \
            or bool(om.get("deletionTimestamp")) != bool(nm.get("deletionTimestamp"))
        if changed and self._interesting(new):
            self._enqueue(res, new)
        if refs_changed:
            # an owner waiting for its dependents may have lost one
            for ref in graph.owner_refs(old):
                self._enqueue_uid(ref["uid"])

    def _on_delete(self, res: ResourceRef, obj: Obj) -> None:
        uid = graph.uid_of(obj)
        for dep_res, dep in self.dependents(uid):
            self._enqueue(dep_res, dep)
        for ref in graph.owner_refs(obj):
            self._enqueue_uid(ref["uid"])

    # --- graph queries ---------------------------------------------------------------------------
    def cached(self, uid: str) -> tuple[ResourceRef, Obj] | None:
        for res, inf in self._all_informers():
            found = inf.store.by_index(UID_INDEX, uid)
            if found:
                return res, found[0]
        return None

    def dependents(self, uid: str) -> list[tuple[ResourceRef, Obj]]:
        out: list[tuple[ResourceRef, Obj]] = []
        for res, inf in self._all_informers():
            out.extend((res, d) for d in inf.store.by_index(OWNER_INDEX, uid))
        return out

    async def owner_state(self, dependent: Obj, ref: Obj) -> graph.OwnerState | None:
        """The owner's state; None when its kind is not known (yet)."""
        found = self.cached(str(ref["uid"]))
        if found is not None:
            return graph.classify_owner(ref, found[1])
        res = self.catalog.for_kind(str(ref.get("apiVersion") or ""), str(ref.get("kind") or ""))
        if res is None:
            return None
        ns = str(graph.meta(dependent).get("namespace") or "")
        if res.namespaced and not ns:
            return "dangling"  # a cluster-scoped object cannot be owned by a namespaced one
        try:
            owner = await self.client.get(res, str(ref.get("name") or ""), namespace=ns if res.namespaced else "")
        except Exception as e:
            if is_not_found(e):
                return "dangling"
            raise
        return graph.classify_owner(ref, owner)

    # --- sync --------------------------------------------------------------------------------------
    async def sync(self, uid: str) -> None:
        found = self.cached(uid)
        if found is None:
            return  # gone; its dependents were queued when it went
        res, obj = found
        if graph.orphaning(obj) or graph.waiting_for_dependents(obj):
            await self._process_owner(res, obj)
        elif graph.owner_refs(obj):
            await self._process_dependent(res, obj)

    async def _process_owner(self, res: ResourceRef, owner: Obj) -> None:
        deps = self.dependents(graph.uid_of(owner))
        plan = graph.plan_owner(owner, [d for _, d in deps])
        owner_uid = graph.uid_of(owner)
        for dep_res, dep in deps:
            if any(dep is d or graph.uid_of(dep) == graph.uid_of(d) for d in plan.orphan_dependents):
                await self._remove_refs(dep_res, dep, [owner_uid])
            elif any(graph.uid_of(dep) == graph.uid_of(d) for d in plan.delete_dependents):
                self._enqueue(dep_res, dep)
        if plan.orphan_dependents:
            # check again once the dependents' updates have reached the cache
            self.controller.queue.add_after(owner_uid, 0.5)
        if plan.remove_finalizer:
            await self._remove_finalizer(res, owner, plan.remove_finalizer)

    async def _process_dependent(self, res: ResourceRef, obj: Obj) -> None:
        states: dict[str, graph.OwnerState] = {}
        for ref in graph.owner_refs(obj):
            state = await self.owner_state(obj, ref)
            if state is None:
                raise RuntimeError(f"owner kind {ref.get('kind')} ({ref.get('apiVersion')}) is not known yet")
            states[str(ref["uid"])] = state
        decision = graph.decide_dependent(obj, states, has_dependents=bool(self.dependents(graph.uid_of(obj))))
        m = graph.meta(obj)
        if decision.action == "remove-refs":
            await self._remove_refs(res, obj, list(decision.remove_uids))
        elif decision.action == "delete":
            log.info("deleting %s %s/%s (%s, %s)", res.kind, m.get("namespace", ""), m.get("name"),
                     decision.reason, decision.policy)
            try:
                await self.client.delete(res, str(m.get("name")), namespace=str(m.get("namespace") or ""),
                                         propagation_policy=decision.policy,
                                         preconditions={"uid": graph.uid_of(obj)})
            except Exception as e:
                if not (is_not_found(e) or is_conflict(e)):  # gone, or another object by now
                    raise

    # --- writes ---------------------------------------------------------------------------------------
    async def _remove_refs(self, res: ResourceRef, obj: Obj, uids: list[str]) -> None:
        """Drop the references to `uids` (a merge patch of the whole list, pinned to the version read)."""
        m = graph.meta(obj)
        name, ns = str(m.get("name")), str(m.get("namespace") or "")
        for _ in range(5):
            try:
                live = await self.client.get(res, name, namespace=ns)
            except Exception as e:
                if is_not_found(e):
                    return
                raise
            if graph.uid_of(live) != graph.uid_of(obj):
                return
            refs = graph.without_owner_refs(live, uids)
            if len(refs) == len(graph.meta(live).get("ownerReferences") or []):
                return
            patch = {"metadata": {"ownerReferences": refs or None,
                                  "resourceVersion": graph.meta(live).get("resourceVersion")}}
            try:
                await self.client.patch(res, name, patch, namespace=ns, patch_type="merge")
                return
            except Exception as e:
                if is_not_found(e):
                    return
                if not is_conflict(e):
                    raise

    async def _remove_finalizer(self, res: ResourceRef, obj: Obj, finalizer: str) -> None:
        m = graph.meta(obj)
        name, ns = str(m.get("name")), str(m.get("namespace") or "")
        for _ in range(5):
            try:
                live = await self.client.get(res, name, namespace=ns)
            except Exception as e:
                if is_not_found(e):
                    return
                raise
            if graph.uid_of(live) != graph.uid_of(obj) or finalizer not in graph.finalizers(live):
                return
            fins = [f for f in graph.finalizers(live) if f != finalizer]
            patch = {"metadata": {"finalizers": fins or None,
                                  "resourceVersion": graph.meta(live).get("resourceVersion")}}
            try:
                await self.client.patch(res, name, patch, namespace=ns, patch_type="merge")
                return
            except Exception as e:
                if is_not_found(e):
                    return
                if not is_conflict(e):
                    raise

    async def run(self) -> None:
        self._crds_changed()
        try:
            await self.controller.run()
        finally:
            for _, inf in list(self.custom.values()):
                with contextlib.suppress(Exception):
                    await inf.stop()


@register("garbagecollector")
def new_garbage_collector(ctx: ControllerContext) -> GarbageCollector:
    return GarbageCollector(ctx)
