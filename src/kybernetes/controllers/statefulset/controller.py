"""The StatefulSet loop's executor: reads caches, asks `plan` and `revisions`, writes the result.

Each sync (upstream syncStatefulSet): claim the set's pods (by selector, and only pods named
`<set>-<i>`); find or create the update revision; take the step `plan_step` decides (create PVCs
then pods, delete failed, condemned or outdated pods); keep PVC ownerReferences in line with
persistentVolumeClaimRetentionPolicy; write status; trim revision history.

Everything is recomputed from the API's state on every sync (pod names and revision labels are
the memory), so a process killed between any two writes carries on where it stopped. Pod names are
fixed, so a create repeated on a stale cache only meets AlreadyExists; deletes carry the pod's uid
as a precondition, so a stale cache never deletes the pod that replaced it.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from kybernetes.client import (
    APIClient,
    Controller,
    EventRecorder,
    Informer,
    is_already_exists,
    is_conflict,
    is_not_found,
    resource,
)
from kybernetes.client.errors import APIError
from kybernetes.client.store import (
    NAMESPACE_INDEX,
    index_by_namespace,
    index_by_owner_uid,
    meta_namespace_key,
)
from kybernetes.controllers.expectations import Expectations
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.controllers.replicaset import (
    OWNER_INDEX,
    adopt_patch,
    claim_decisions,
    controller_ref,
    meta,
    release_patch,
)
from kybernetes.controllers.statefulset import revisions as rev
from kybernetes.controllers.statefulset.plan import (
    Create,
    Delete,
    claims_for,
    compute_status,
    new_pod,
    ordinal_of,
    plan_step,
    replicas_of,
    revision_of,
    start_ordinal,
    status_differs,
)
from kybernetes.machinery.labels import selector_from_label_selector

log = logging.getLogger("kyb.controllers.statefulset")

Obj = dict[str, Any]
COMPONENT = "statefulset-controller"
SETS = resource("apps/v1", "statefulsets")
PODS = resource("v1", "pods")
REVISIONS = resource("apps/v1", "controllerrevisions")
PVCS = resource("v1", "persistentvolumeclaims")


def claim_owner_refs(sset: Mapping[str, Any], claim: Mapping[str, Any], pod: Mapping[str, Any] | None,
                     replicas_end: int, ordinal: int) -> list[Obj]:
    """The ownerReferences a PVC should carry under the set's retention policy: the set's (whenDeleted:
    Delete) so that deleting the set removes it; instead the pod's (whenScaled: Delete) while its
    ordinal is condemned, so that removing the pod removes it. References to anything else are kept."""
    policy = (sset.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
    set_uid = meta(sset).get("uid")
    pod_uid = meta(pod).get("uid") if pod is not None else None
    mine = {set_uid, pod_uid} - {None}
    refs: list[Obj] = [r for r in meta(claim).get("ownerReferences") or [] if r.get("uid") not in mine]
    condemned = policy.get("whenScaled") == "Delete" and pod is not None and ordinal >= replicas_end
    # A condemned claim is owned by its pod alone: the garbage collector deletes a dependent only
    # once every owner is gone, and the set stays.
    if policy.get("whenDeleted") == "Delete" and not condemned:
        refs.append({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": meta(sset).get("name"), "uid": set_uid})
    if condemned and pod is not None:
        refs.append({"apiVersion": "v1", "kind": "Pod", "name": meta(pod).get("name"), "uid": pod_uid})
    return refs


def _ref_uids(refs: list[Obj]) -> list[str]:
    return sorted(str(r.get("uid")) for r in refs)


class StatefulSetController:
    def __init__(self, client: APIClient, sets: Informer, pods: Informer, revisions: Informer, pvcs: Informer,
                 recorder: EventRecorder, *, workers: int = 2, now: Callable[[], float] | None = None) -> None:
        self.client = client
        self.sets = sets
        self.pods = pods
        self.revisions = revisions
        self.pvcs = pvcs
        self.recorder = recorder
        self.now = now or time.time
        self.expectations = Expectations()
        self.controller = Controller("statefulset", self.sync, workers=workers)
        sets.add_handlers(on_add=self.controller.enqueue, on_update=lambda _o, n: self.controller.enqueue(n),
                          on_delete=self._set_deleted)
        pods.add_handlers(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)
        revisions.add_handlers(on_add=self._owned_changed, on_update=lambda _o, n: self._owned_changed(n),
                               on_delete=self._owned_changed)

    async def run(self) -> None:
        await self.controller.run()

    # --- handlers ---------------------------------------------------------------------------------
    def _set_deleted(self, obj: Obj) -> None:
        key = meta_namespace_key(obj)
        self.expectations.delete(key)
        self.controller.queue.add(key)

    def _owner_key(self, obj: Mapping[str, Any]) -> str | None:
        ref = controller_ref(obj)
        if ref is None or ref.get("kind") != "StatefulSet":
            return None
        owner = self.sets.store.get_by_name(meta(obj).get("namespace") or "", str(ref.get("name")))
        if owner is None or meta(owner).get("uid") != ref.get("uid"):
            return None
        return meta_namespace_key(owner)

    def _owned_changed(self, obj: Obj) -> None:
        key = self._owner_key(obj)
        if key is not None:
            self.controller.queue.add(key)

    def _orphan(self, pod: Mapping[str, Any]) -> None:
        ns = meta(pod).get("namespace") or ""
        for s in self.sets.store.by_index(NAMESPACE_INDEX, ns):
            sel = (s.get("spec") or {}).get("selector")
            if sel and selector_from_label_selector(sel).matches(meta(pod).get("labels") or {}):
                self.controller.queue.add(meta_namespace_key(s))

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.controller.queue.add(key)
        elif controller_ref(pod) is None:
            self._orphan(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        old_key, key = self._owner_key(old), self._owner_key(new)
        if old_key is not None and old_key != key:
            self.controller.queue.add(old_key)
        if key is not None:
            self.controller.queue.add(key)
            owner = self.sets.store.get(key)
            min_ready = int(((owner or {}).get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0:
                self.controller.queue.add_after(key, min_ready + 1)
        elif controller_ref(new) is None:
            self._orphan(new)

    def _pod_deleted(self, pod: Obj) -> None:
        self._owned_changed(pod)

    # --- sync -------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        sset = self.sets.store.get(key)
        if sset is None:
            self.expectations.delete(key)
            return
        if meta(sset).get("deletionTimestamp"):
            return  # the garbage collector takes the pods; upstream does nothing more
        ns = meta(sset).get("namespace") or ""
        name = str(meta(sset).get("name"))
        pods = await self._claim_pods(sset, ns, name)
        revisions = rev.sort_revisions(list(self.revisions.store.by_index(OWNER_INDEX, str(meta(sset).get("uid")))))
        collision = int((sset.get("status") or {}).get("collisionCount") or 0)
        update, collision, revisions = await self._update_revision(sset, revisions, collision)
        if update is None:
            await self._write_status(sset, pods, collision=collision)
            raise RuntimeError(f"statefulset {key}: revision hash collision, collisionCount now {collision}")
        by_name = {meta(r).get("name"): r for r in revisions}
        current = by_name.get((sset.get("status") or {}).get("currentRevision")) or update
        now = self.now()
        error: str | None = None
        if self.expectations.satisfied(key):
            step = plan_step(sset, pods, str(meta(update).get("name")), now)
            if step.waiting:
                log.debug("statefulset %s: %s", key, step.waiting)
            error = await self._execute(key, sset, step.actions, current, update)
        await self._retain_claims(sset, pods)
        status = await self._write_status(sset, pods, collision=collision, current=current, update=update)
        if status is not None:
            live = {meta(current).get("name"), meta(update).get("name")} | {revision_of(p) for p in pods}
            live.add(status["currentRevision"])
            limit = int((sset.get("spec") or {}).get("revisionHistoryLimit", 10) or 0)
            for old in rev.history_to_delete(revisions, {str(n) for n in live}, limit):
                await self._ignore_missing(self.client.delete(REVISIONS, str(meta(old).get("name")), namespace=ns))
        min_ready = int((sset.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0:
            self.controller.queue.add_after(key, float(min_ready))
        if error is not None:
            raise RuntimeError(error)

    async def _ignore_missing(self, aw: Any) -> None:
        try:
            await aw
        except APIError as e:
            if not is_not_found(e):
                raise

    async def _claim_pods(self, sset: Obj, ns: str, name: str) -> list[Obj]:
        members = [p for p in self.pods.store.by_index(NAMESPACE_INDEX, ns) if ordinal_of(p, name) is not None]
        selector = selector_from_label_selector((sset.get("spec") or {}).get("selector"))
        kept, adopt, release = claim_decisions(sset, selector, members)
        ref = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": name, "uid": meta(sset).get("uid"),
               "controller": True, "blockOwnerDeletion": True}
        for pod in adopt:
            try:
                kept.append(await self.client.patch(PODS, str(meta(pod)["name"]), adopt_patch(pod, ref),
                                                    namespace=ns, patch_type="strategic"))
            except APIError as e:
                if not is_not_found(e):
                    raise
        for pod in release:
            try:
                await self.client.patch(PODS, str(meta(pod)["name"]), release_patch(pod, str(meta(sset)["uid"])),
                                        namespace=ns, patch_type="strategic")
            except APIError as e:
                if not is_not_found(e) and e.code != 422:
                    raise
        return kept

    async def _update_revision(self, sset: Obj, revisions: list[Obj],
                               collision: int) -> tuple[Obj | None, int, list[Obj]]:
        """(update revision, collision count, revisions): reuse an equal revision (renumbering an older
        one), else create one; a name taken by different data raises the collision count."""
        ns = meta(sset).get("namespace") or ""
        candidate = rev.new_revision(sset, rev.next_number(revisions), collision)
        existing, renumber = rev.choose_update(revisions, candidate)
        if existing is not None and renumber is None:
            return existing, collision, revisions
        if existing is not None and renumber is not None:
            body = copy.deepcopy(existing)
            body["revision"] = renumber
            updated = await self.client.update(REVISIONS, body, namespace=ns)
            return updated, collision, rev.sort_revisions(
                [r for r in revisions if meta(r).get("name") != meta(existing).get("name")] + [updated])
        try:
            created = await self.client.create(REVISIONS, candidate, namespace=ns)
            return created, collision, [*revisions, created]
        except APIError as e:
            if not is_already_exists(e):
                raise
        found = await self.client.get(REVISIONS, str(meta(candidate)["name"]), namespace=ns)
        ref = controller_ref(found)
        if rev.equal_data(found, candidate) and ref is not None and ref.get("uid") == meta(sset).get("uid"):
            return found, collision, rev.sort_revisions([*revisions, found])
        return None, collision + 1, revisions

    async def _execute(self, key: str, sset: Obj, actions: list[Create | Delete], current: Obj,
                       update: Obj) -> str | None:
        """Run the plan's writes in order; the first failure stops a monotonic plan."""
        for action in actions:
            if isinstance(action, Create):
                r = current if action.revision == "current" else update
                err = await self._create(key, sset, action.ordinal, r)
            else:
                err = await self._delete(sset, action.pod)
            if err is not None:
                return err
        return None

    async def _create(self, key: str, sset: Obj, ordinal: int, revision: Obj) -> str | None:
        ns = meta(sset).get("namespace") or ""
        set_name = str(meta(sset).get("name"))
        pod = new_pod(sset, rev.template_of(revision), str(meta(revision).get("name")), ordinal)
        pod_name = meta(pod)["name"]
        for claim in claims_for(sset, ordinal):
            cname = meta(claim)["name"]
            cached = self.pvcs.store.get_by_name(ns, cname)
            if cached is not None:
                if meta(cached).get("deletionTimestamp"):
                    return f"pvc {cname} is being deleted"
                continue
            try:
                await self.client.create(PVCS, claim, namespace=ns)
            except APIError as e:
                if is_already_exists(e):
                    continue
                msg = f"create Claim {cname} for Pod {pod_name} in StatefulSet {set_name} failed error: {e.message}"
                self.recorder.event(sset, "Warning", "FailedCreate", msg)
                return msg
            self.recorder.event(sset, "Normal", "SuccessfulCreate",
                                f"create Claim {cname} Pod {pod_name} in StatefulSet {set_name} success")
        self.expectations.raise_expectations(key, adds=1)
        try:
            await self.client.create(PODS, pod, namespace=ns)
        except APIError as e:
            self.expectations.creation_observed(key)
            if is_already_exists(e):
                return None
            msg = f"create Pod {pod_name} in StatefulSet {set_name} failed error: {e.message}"
            self.recorder.event(sset, "Warning", "FailedCreate", msg)
            return msg
        self.recorder.event(sset, "Normal", "SuccessfulCreate", f"create Pod {pod_name} in StatefulSet {set_name} successful")
        return None

    async def _delete(self, sset: Obj, pod: Obj) -> str | None:
        ns = meta(sset).get("namespace") or ""
        set_name = str(meta(sset).get("name"))
        pod_name = str(meta(pod).get("name"))
        o = ordinal_of(pod, set_name)
        if o is not None:
            # A condemned pod's claims must point at it before it goes (whenScaled: Delete).
            await self._retain_claims(sset, [pod])
        try:
            await self.client.delete(PODS, pod_name, namespace=ns, preconditions={"uid": str(meta(pod).get("uid"))})
        except APIError as e:
            if is_not_found(e) or is_conflict(e):
                return None
            msg = f"delete Pod {pod_name} in StatefulSet {set_name} failed error: {e.message}"
            self.recorder.event(sset, "Warning", "FailedDelete", msg)
            return msg
        self.recorder.event(sset, "Normal", "SuccessfulDelete", f"delete Pod {pod_name} in StatefulSet {set_name} successful")
        return None

    async def _retain_claims(self, sset: Obj, pods: list[Obj]) -> None:
        """Point each ordinal's PVCs at the set and/or the pod as the retention policy asks."""
        ns = meta(sset).get("namespace") or ""
        set_name = str(meta(sset).get("name"))
        end = start_ordinal(sset) + replicas_of(sset)
        for pod in pods:
            o = ordinal_of(pod, set_name)
            if o is None:
                continue
            for tpl in claims_for(sset, o):
                claim = self.pvcs.store.get_by_name(ns, meta(tpl)["name"])
                if claim is None or meta(claim).get("deletionTimestamp"):
                    continue
                want = claim_owner_refs(sset, claim, pod, end, o)
                if _ref_uids(want) == _ref_uids(list(meta(claim).get("ownerReferences") or [])):
                    continue
                patch = {"metadata": {"ownerReferences": want or None, "resourceVersion": meta(claim).get("resourceVersion")}}
                try:
                    await self.client.patch(PVCS, meta(claim)["name"], patch, namespace=ns, patch_type="merge")
                except APIError as e:
                    if not (is_not_found(e) or is_conflict(e)):
                        raise

    async def _write_status(self, sset: Obj, pods: list[Obj], *, collision: int, current: Obj | None = None,
                            update: Obj | None = None) -> Obj | None:
        old = sset.get("status") or {}
        cur = str(meta(current).get("name")) if current else str(old.get("currentRevision") or "")
        upd = str(meta(update).get("name")) if update else str(old.get("updateRevision") or "")
        status = compute_status(sset, pods, cur, upd, collision, self.now())
        if not status_differs(old, status):
            return status
        body = copy.deepcopy(sset)
        body["status"] = {**old, **status}
        try:
            await self.client.update_status(SETS, body)
        except APIError as e:
            if is_not_found(e) or is_conflict(e):
                return None  # a newer version is on its way and will bring this key back
            raise
        return status


@register("statefulset")
def build(ctx: ControllerContext) -> StatefulSetController:
    indexers = {NAMESPACE_INDEX: index_by_namespace, OWNER_INDEX: index_by_owner_uid}
    sets = ctx.informers.informer(SETS, indexers={NAMESPACE_INDEX: index_by_namespace})
    pods = ctx.informers.informer(PODS, indexers=indexers)
    revisions = ctx.informers.informer(REVISIONS, indexers={OWNER_INDEX: index_by_owner_uid})
    pvcs = ctx.informers.informer(PVCS)
    return StatefulSetController(ctx.client, sets, pods, revisions, pvcs, ctx.recorder(COMPONENT))

