"""The DaemonSet executor: informers, handlers and `sync(key)` over the pure plans.

``sync(key)``: claim pods by selector; find or create the ControllerRevision of the template (its
hash labels new pods); if the expectations of earlier creates/deletes are met, apply each node's
`node_plan` (creating pods pinned to their node by affinity, which the scheduler then binds), then
one `rolling_plan` step; trim history; write status. Pods are created only after their
expectation is recorded, so a stale cache never doubles a create.
"""

from __future__ import annotations

import asyncio
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
    is_conflict,
    is_not_found,
    resource,
)
from kybernetes.client.errors import APIError, is_already_exists
from kybernetes.client.store import (
    NAMESPACE_INDEX,
    index_by_namespace,
    index_by_owner_uid,
    meta_namespace_key,
)
from kybernetes.controllers.daemonset.history import (
    FailedPodBackoff,
    hash_of,
    history_plan,
    matches,
    new_revision,
    pods_to_relabel,
    revision_hash,
    revision_name,
    revisions_to_delete,
)
from kybernetes.controllers.daemonset.placement import (
    REVISION_HASH_LABEL,
    STATUS_FIELDS,
    allows_surge,
    calculate_status,
    new_pod,
    node_plan,
    node_should_run,
    pods_by_node,
    rolling_plan,
)
from kybernetes.controllers.expectations import Expectations, UIDExpectations
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.controllers.replicaset import (
    OWNER_INDEX,
    adopt_patch,
    claim_decisions,
    controller_ref,
    meta,
    owner_reference,
    release_patch,
    slow_start_batches,
)
from kybernetes.machinery.labels import selector_from_label_selector

log = logging.getLogger("kyb.controllers.daemonset")

Obj = dict[str, Any]
PODS = resource("v1", "pods")
NODES = resource("v1", "nodes")
DAEMONSETS = resource("apps/v1", "daemonsets")
REVISIONS = resource("apps/v1", "controllerrevisions")
BURST = 250  # creates/deletes per sync (upstream's burst for this loop)


class DaemonSetController:
    def __init__(self, client: APIClient, pods: Informer, nodes: Informer, sets: Informer, revisions: Informer,
                 recorder: EventRecorder, *, workers: int = 2, now: Callable[[], float] | None = None) -> None:
        self.client = client
        self.pods = pods
        self.nodes = nodes
        self.sets = sets
        self.revisions = revisions
        self.recorder = recorder
        self.now = now or time.time
        self.expectations = Expectations()
        self.pending_deletes = UIDExpectations()
        self.backoff = FailedPodBackoff()
        self.controller = Controller("daemonset-controller", self.sync, workers=workers)
        sets.add_handlers(on_add=self.controller.enqueue, on_update=lambda o, n: self.controller.enqueue(n),
                          on_delete=self._set_deleted)
        pods.add_handlers(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)
        nodes.add_handlers(on_add=lambda n: self._enqueue_all(), on_update=self._node_updated,
                           on_delete=lambda n: self._enqueue_all())

    async def run(self) -> None:
        await self.controller.run()

    # --- handlers ------------------------------------------------------------------------------
    def _enqueue_all(self) -> None:
        for ds in self.sets.store.list():
            self.controller.enqueue(ds)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        # Only what eligibility reads matters; lease-driven status writes do not.
        if (meta(old).get("labels") != meta(new).get("labels") or old.get("spec") != new.get("spec")):
            self._enqueue_all()

    def _set_deleted(self, obj: Obj) -> None:
        key = meta_namespace_key(obj)
        self.expectations.delete(key)
        self.pending_deletes.delete(key)
        self.backoff.forget_owner(key)
        self.controller.queue.add(key)

    def _owner_key(self, pod: Mapping[str, Any]) -> str | None:
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "DaemonSet":
            return None
        owner = self.sets.store.get_by_name(meta(pod).get("namespace") or "", str(ref.get("name")))
        if owner is None or meta(owner).get("uid") != ref.get("uid"):
            return None
        return meta_namespace_key(owner)

    def _matching_sets(self, pod: Mapping[str, Any]) -> list[str]:
        labels = meta(pod).get("labels")
        if not labels:
            return []
        out = []
        for ds in self.sets.store.by_index(NAMESPACE_INDEX, meta(pod).get("namespace") or ""):
            try:
                sel = selector_from_label_selector((ds.get("spec") or {}).get("selector"))
            except Exception:
                continue
            if sel.matches(labels):
                out.append(meta_namespace_key(ds))
        return out

    def _pod_added(self, pod: Obj) -> None:
        if meta(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        key = self._owner_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.controller.queue.add(key)
        elif controller_ref(pod) is None:
            for k in self._matching_sets(pod):
                self.controller.queue.add(k)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if meta(old).get("resourceVersion") == meta(new).get("resourceVersion"):
            return
        if meta(new).get("deletionTimestamp") and not meta(old).get("deletionTimestamp"):
            # A graceful deletion has begun: the delete asked for is observed now (the pod still
            # counts as present on its node until it is gone).
            self._pod_deleted(new)
            return
        key = self._owner_key(new)
        if key is not None:
            self.controller.queue.add(key)
            owner = self.sets.store.get(key) or {}
            min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0:
                self.controller.queue.add_after(key, min_ready + 1)
        elif controller_ref(new) is None:
            for k in self._matching_sets(new):
                self.controller.queue.add(k)
        old_key = self._owner_key(old)
        if old_key is not None and old_key != key:
            self.controller.queue.add(old_key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key is None:
            return
        uid = str(meta(pod).get("uid") or "")
        if uid in self.pending_deletes.pending(key):
            self.pending_deletes.observed(key, uid)
            self.expectations.deletion_observed(key)
        self.controller.queue.add(key)

    # --- sync ----------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        ds = self.sets.store.get(key)
        if ds is None:
            self.expectations.delete(key)
            self.pending_deletes.delete(key)
            self.backoff.forget_owner(key)
            return
        nodes = sorted(self.nodes.store.list(), key=lambda n: str(meta(n).get("name") or ""))
        pods = await self._claim(ds)
        now = self.now()
        if meta(ds).get("deletionTimestamp"):
            await self._write_status(ds, nodes, pods, self._current_hash(ds), now, observe=False)
            return
        hash_ = await self._ensure_revision(ds, pods)
        if hash_ is None:
            return
        if not self.expectations.satisfied(key):
            await self._write_status(ds, nodes, pods, hash_, now, observe=False)
            return
        error = await self._manage(key, ds, nodes, pods, hash_, now)
        strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type") or "RollingUpdate"
        if error is None and strategy == "RollingUpdate" and self.expectations.satisfied(key):
            error = await self._rolling(key, ds, nodes, pods, hash_, now)
        await self._cleanup_history(ds, pods, hash_)
        await self._write_status(ds, nodes, pods, hash_, now, observe=True)
        if error is not None:
            raise RuntimeError(error)

    def _current_hash(self, ds: Obj) -> str:
        for rev in self.revisions.store.by_index(OWNER_INDEX, str(meta(ds).get("uid"))):
            if matches(ds, rev):
                return str((meta(rev).get("labels") or {}).get(REVISION_HASH_LABEL) or "")
        return ""

    async def _claim(self, ds: Obj) -> list[Obj]:
        try:
            selector = selector_from_label_selector((ds.get("spec") or {}).get("selector"))
        except Exception:
            return []
        candidates = self.pods.store.by_index(NAMESPACE_INDEX, meta(ds).get("namespace") or "")
        kept, adopt, release = claim_decisions(ds, selector, candidates)
        ns = meta(ds).get("namespace") or ""
        ref = owner_reference(ds, "DaemonSet", "apps/v1")
        for pod in adopt:
            try:
                kept.append(await self.client.patch(PODS, meta(pod)["name"], adopt_patch(pod, ref), namespace=ns,
                                                    patch_type="strategic"))
            except APIError as e:
                if not is_not_found(e):
                    raise
        for pod in release:
            try:
                await self.client.patch(PODS, meta(pod)["name"], release_patch(pod, meta(ds)["uid"]), namespace=ns,
                                        patch_type="strategic")
            except APIError as e:
                if not is_not_found(e) and e.code != 422:
                    raise
        return kept

    async def _claim_revisions(self, ds: Obj) -> list[Obj]:
        """The DaemonSet's revisions, adopting orphans its selector matches (left behind when a
        DaemonSet was deleted with its dependents orphaned) so that a recreated set keeps its
        history and hash instead of rolling every pod."""
        try:
            selector = selector_from_label_selector((ds.get("spec") or {}).get("selector"))
        except Exception:
            return []
        ns = meta(ds).get("namespace") or ""
        candidates = self.revisions.store.by_index(NAMESPACE_INDEX, ns)
        kept, adopt, _ = claim_decisions(ds, selector, candidates)
        ref = owner_reference(ds, "DaemonSet", "apps/v1")
        for rev in adopt:
            try:
                kept.append(await self.client.patch(
                    REVISIONS, meta(rev)["name"],
                    {"metadata": {"ownerReferences": [ref], "uid": meta(rev)["uid"]}}, namespace=ns,
                    patch_type="strategic"))
            except APIError as e:
                if not (is_not_found(e) or is_conflict(e)):
                    raise
        return kept

    async def _ensure_revision(self, ds: Obj, pods: list[Obj]) -> str | None:
        """The hash of the template's revision, creating, deduplicating or renumbering it as needed
        (relabelled pods are replaced in `pods` by their new versions)."""
        ns = meta(ds).get("namespace") or ""
        revs = await self._claim_revisions(ds)
        plan = history_plan(ds, revs)
        if plan.current is not None:
            cur = plan.current
            if plan.duplicates and not await self._dedup(ds, cur, plan.duplicates, pods):
                return None
            if plan.renumber_to is not None:
                body = copy.deepcopy(cur)
                body["revision"] = plan.renumber_to
                try:
                    await self.client.update(REVISIONS, body, namespace=ns)
                except APIError as e:
                    if is_not_found(e) or is_conflict(e):
                        self.controller.queue.add_after(meta_namespace_key(ds), 1.0)
                        return None
                    raise
            return str((meta(cur).get("labels") or {}).get(REVISION_HASH_LABEL) or "")
        hash_ = revision_hash(ds)
        rev = new_revision(ds, hash_, plan.create_number)
        try:
            await self.client.create(REVISIONS, rev, namespace=ns)
            return hash_
        except APIError as e:
            if not is_already_exists(e):
                raise
        # The name is taken: ours (the cache is behind) or a hash collision.
        existing = await self.client.get(REVISIONS, revision_name(ds, hash_), namespace=ns)
        ref = controller_ref(existing)
        if ref is not None and ref.get("uid") == meta(ds).get("uid") and matches(ds, existing):
            return hash_
        body = copy.deepcopy(ds)
        status = body.setdefault("status", {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        try:
            await self.client.update_status(DAEMONSETS, body, namespace=ns)
        except APIError as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise
        return None  # the status update enqueues another sync with the new hash

    async def _dedup(self, ds: Obj, keep: Obj, duplicates: list[Obj], pods: list[Obj]) -> bool:
        """Relabel the duplicates' pods with the kept revision's hash, then delete the duplicates.
        False when a pod could not be relabelled (the sync is retried; no revision is deleted
        while a pod still names it)."""
        ns = meta(ds).get("namespace") or ""
        keep_hash = hash_of(keep)
        patch = {"metadata": {"labels": {REVISION_HASH_LABEL: keep_hash}}}
        for pod in pods_to_relabel(pods, duplicates):
            try:
                updated = await self.client.patch(PODS, meta(pod)["name"], patch, namespace=ns,
                                                  patch_type="strategic")
            except APIError as e:
                if is_not_found(e):
                    continue
                if is_conflict(e):
                    self.controller.queue.add_after(meta_namespace_key(ds), 1.0)
                    return False
                raise
            for i, p in enumerate(pods):
                if p is pod:
                    pods[i] = updated
        for rev in duplicates:
            try:
                await self.client.delete(REVISIONS, meta(rev)["name"], namespace=ns,
                                         preconditions={"uid": str(meta(rev).get("uid") or "")})
            except APIError as e:
                if not (is_not_found(e) or is_conflict(e)):
                    raise
        log.info("daemonset %s/%s: removed %d duplicate revision(s) of %s", ns, meta(ds).get("name"),
                 len(duplicates), meta(keep).get("name"))
        return True

    async def _manage(self, key: str, ds: Obj, nodes: list[Obj], pods: list[Obj], hash_: str,
                      now: float) -> str | None:
        by_node = pods_by_node(pods)
        desired = sum(1 for n in nodes if node_should_run(n, ds)[0])
        surge = allows_surge(ds, desired)
        create_on: list[str] = []
        delete: list[Obj] = []
        for node in nodes:
            name = str(meta(node).get("name") or "")
            run, cont = node_should_run(node, ds)
            decision = node_plan(run, cont, by_node.get(name, []), hash_, surge=surge)
            if decision.create:
                create_on.append(name)
            delete.extend(decision.delete)
            for pod in decision.failed:
                bkey = (key, name)
                wait = self.backoff.in_backoff(bkey, now)
                if wait is not None:
                    self.controller.queue.add_after(key, wait)
                    continue
                self.backoff.next(bkey, now)
                self.recorder.event(ds, "Warning", "FailedDaemonPod",
                                    f"Found failed daemon pod {meta(pod).get('namespace')}/{meta(pod).get('name')} "
                                    f"on node {name}, will try to kill it")
                delete.append(pod)
        # Pods meant for nodes that no longer exist and never got scheduled go too.
        names = {str(meta(n).get("name") or "") for n in nodes}
        for node_name, node_pods in by_node.items():
            if node_name not in names:
                delete.extend(p for p in node_pods
                              if not (p.get("spec") or {}).get("nodeName") and not meta(p).get("deletionTimestamp"))
        return await self._sync_nodes(key, ds, delete, create_on, hash_)

    async def _rolling(self, key: str, ds: Obj, nodes: list[Obj], pods: list[Obj], hash_: str,
                       now: float) -> str | None:
        eligible = [str(meta(n).get("name") or "") for n in nodes if node_should_run(n, ds)[0]]
        plan = rolling_plan(ds, eligible, pods_by_node(pods), hash_, now)
        return await self._sync_nodes(key, ds, plan.delete, plan.create_on, hash_)

    async def _sync_nodes(self, key: str, ds: Obj, delete: list[Obj], create_on: list[str],
                          hash_: str) -> str | None:
        create_on = create_on[:BURST]
        delete = delete[:BURST]
        if not create_on and not delete:
            return None
        self.pending_deletes.expect(key, [str(meta(p).get("uid")) for p in delete])
        self.expectations.expect(key, adds=len(create_on), dels=len(delete))
        errors: list[str] = []
        done = 0
        for size in slow_start_batches(len(create_on)):
            batch = create_on[done:done + size]
            done += size
            results = await asyncio.gather(*(self._create_one(key, ds, node, hash_) for node in batch))
            failed = [r for r in results if r is not None]
            if failed:
                errors.extend(failed)
                break
        if len(create_on) > done:
            self.expectations.creation_observed(key, len(create_on) - done)
        results = await asyncio.gather(*(self._delete_one(key, ds, p) for p in delete))
        errors.extend(r for r in results if r is not None)
        return errors[0] if errors else None

    async def _create_one(self, key: str, ds: Obj, node: str, hash_: str) -> str | None:
        try:
            pod = await self.client.create(PODS, new_pod(ds, node, hash_), namespace=meta(ds).get("namespace") or "")
        except APIError as e:
            self.expectations.creation_observed(key)
            self.recorder.event(ds, "Warning", "FailedCreate", f"Error creating: {e.message}")
            return e.message
        self.recorder.event(ds, "Normal", "SuccessfulCreate", f"Created pod: {meta(pod).get('name')}")
        return None

    async def _delete_one(self, key: str, ds: Obj, pod: Obj) -> str | None:
        name = str(meta(pod).get("name") or "")
        uid = str(meta(pod).get("uid"))
        try:
            await self.client.delete(PODS, name, namespace=meta(pod).get("namespace") or "",
                                     preconditions={"uid": uid})
        except APIError as e:
            if uid in self.pending_deletes.pending(key):
                self.pending_deletes.observed(key, uid)
                self.expectations.deletion_observed(key)
            if is_not_found(e):
                return None
            self.recorder.event(ds, "Warning", "FailedDelete", f"Error deleting: {e.message}")
            return e.message
        self.recorder.event(ds, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        return None

    async def _cleanup_history(self, ds: Obj, pods: list[Obj], hash_: str) -> None:
        revs = self.revisions.store.by_index(OWNER_INDEX, str(meta(ds).get("uid")))
        old = [r for r in revs if (meta(r).get("labels") or {}).get(REVISION_HASH_LABEL) != hash_]
        live = {str((meta(p).get("labels") or {}).get(REVISION_HASH_LABEL)) for p in pods
                if not meta(p).get("deletionTimestamp")}
        for rev in revisions_to_delete(ds, old, live):
            try:
                await self.client.delete(REVISIONS, meta(rev)["name"], namespace=meta(rev).get("namespace") or "")
            except APIError as e:
                if not is_not_found(e):
                    raise

    async def _write_status(self, ds: Obj, nodes: list[Obj], pods: list[Obj], hash_: str, now: float, *,
                            observe: bool) -> None:
        status = calculate_status(ds, nodes, pods_by_node(pods), hash_, now, observe_generation=observe)
        old = ds.get("status") or {}
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status["numberReady"] != status["numberAvailable"]:
            self.controller.queue.add_after(meta_namespace_key(ds), float(min_ready))
        if all((old.get(k) or 0) == (status.get(k) or 0) for k in STATUS_FIELDS):
            return
        body = copy.deepcopy(ds)
        body["status"] = {**old, **status}
        try:
            await self.client.update_status(DAEMONSETS, body, namespace=meta(ds).get("namespace") or "")
        except APIError as e:
            # A newer version is on its way to the cache and will enqueue this key again.
            if not (is_not_found(e) or is_conflict(e)):
                raise


@register("daemonset")
def build(ctx: ControllerContext) -> DaemonSetController:
    indexers = {NAMESPACE_INDEX: index_by_namespace, OWNER_INDEX: index_by_owner_uid}
    pods = ctx.informers.informer(PODS, indexers=indexers)
    nodes = ctx.informers.informer(NODES)
    sets = ctx.informers.informer(DAEMONSETS, indexers={NAMESPACE_INDEX: index_by_namespace})
    revisions = ctx.informers.informer(REVISIONS, indexers=indexers)
    return DaemonSetController(ctx.client, pods, nodes, sets, revisions, ctx.recorder("daemonset-controller"))
