"""The Deployment loop's executor: reads caches, asks the pure planners, writes the result.

Each sync (upstream syncDeployment): claim ReplicaSets; note pause/resume in Progressing; then
either only scale (paused, or spec.replicas changed while several sets are active) or take one
rollout step (RollingUpdate or Recreate); finally write status. A step writes at most one kind of
change (new set up, or old sets down) and returns; the sets' status updates bring it back.
Any write may fail or the process may die between writes: the next sync recomputes everything
from the API's state (revision annotations, sizes), so no step depends on memory.
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
)
from kybernetes.controllers.deployment import history, progress, rolling, scaling
from kybernetes.controllers.deployment.util import (
    DESIRED_REPLICAS,
    REVISION,
    active,
    compute_hash,
    equal_ignore_hash,
    find_new_rs,
    get_condition,
    is_rolling,
    max_surge,
    new_condition,
    owned_by,
    replicas,
    revision,
    set_condition,
    set_new_rs_annotations,
    set_replicas_annotations,
    status_int,
)
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.controllers.replicaset import (
    OWNER_INDEX,
    POD_TEMPLATE_HASH,
    adopt_patch,
    claim_decisions,
    controller_ref,
    meta,
    release_patch,
)
from kybernetes.machinery.labels import selector_from_label_selector

log = logging.getLogger("kyb.controllers.deployment")

Obj = dict[str, Any]
DEPLOYMENTS = resource("apps/v1", "deployments")
REPLICASETS = resource("apps/v1", "replicasets")
PODS = resource("v1", "pods")


class DeploymentController:
    def __init__(self, client: APIClient, deployments: Informer, sets: Informer, pods: Informer,
                 recorder: EventRecorder, *, workers: int = 2, now: Callable[[], float] = time.time) -> None:
        self.client = client
        self.deployments = deployments
        self.sets = sets
        self.pods = pods
        self.recorder = recorder
        self.now = now
        self.controller = Controller("deployment-controller", self.sync, workers=workers)
        deployments.add_handlers(self.controller.handlers())
        sets.add_handlers(on_add=self._set_changed, on_update=self._set_updated, on_delete=self._set_changed)
        pods.add_handlers(on_delete=self._pod_deleted)

    async def run(self) -> None:
        await self.controller.run()

    # --- handlers ------------------------------------------------------------------------------
    def _owner_of(self, rs: Mapping[str, Any]) -> Obj | None:
        ref = controller_ref(rs)
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.store.get_by_name(meta(rs).get("namespace") or "", str(ref.get("name")))
        return d if d is not None and meta(d).get("uid") == ref.get("uid") else None

    def _set_updated(self, old: Obj, new: Obj) -> None:
        if controller_ref(old) != controller_ref(new):
            self._set_changed(old)
        self._set_changed(new)

    def _set_changed(self, rs: Obj) -> None:
        d = self._owner_of(rs)
        if d is not None:
            self.controller.enqueue(d)
            return
        if controller_ref(rs) is None:
            labels = meta(rs).get("labels")
            for cand in self.deployments.store.by_index(NAMESPACE_INDEX, meta(rs).get("namespace") or ""):
                sel = (cand.get("spec") or {}).get("selector")
                if labels and sel and _selector(cand).matches(labels):
                    self.controller.enqueue(cand)

    def _pod_deleted(self, pod: Obj) -> None:
        # Recreate waits for the old pods to be gone, not just scaled down.
        ref = controller_ref(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.sets.store.get_by_name(meta(pod).get("namespace") or "", str(ref.get("name")))
        d = self._owner_of(rs) if rs is not None else None
        if d is not None and not is_rolling(d):
            self.controller.enqueue(d)

    # --- sync ----------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        cached = self.deployments.store.get(key)
        if cached is None:
            return
        d = copy.deepcopy(cached)
        try:
            await self._sync(key, d)
        except APIError as e:
            # Conflicts and vanished objects resolve themselves: the newer state is on its way.
            if is_conflict(e) or is_not_found(e):
                self.controller.queue.add_after(key, 0.2)
                return
            raise

    async def _sync(self, key: str, d: Obj) -> None:
        sel = (d.get("spec") or {}).get("selector") or {}
        if not sel.get("matchLabels") and not sel.get("matchExpressions"):
            self.recorder.event(d, "Warning", "SelectorOverride",
                                "This deployment is selecting all pods. A non-empty selector is required.")
            if status_int(d, "observedGeneration") < int(meta(d).get("generation") or 0):
                d["status"] = {**(d.get("status") or {}), "observedGeneration": meta(d).get("generation")}
                await self.client.update_status(DEPLOYMENTS, d)
            return
        rss = await self._claim_sets(d)
        if meta(d).get("deletionTimestamp"):
            new_rs, old = self._split(d, rss)
            await self._write_status(d, progress.calculate_status(d, [*old, *_opt(new_rs)], new_rs, self.now()))
            return
        paused_status = progress.paused_condition(d, self.now())
        if paused_status is not None:
            d = await self._write_status(d, paused_status)
        if (d.get("spec") or {}).get("paused"):
            await self._scale_only(d, rss)
            return
        new_rs, old = await self._sets_and_revision(d, rss, create=False)
        if any((meta(r).get("annotations") or {}).get(DESIRED_REPLICAS, str(replicas(d))) != str(replicas(d))
               for r in active([*old, new_rs])):
            await self._scale_only(d, rss)
            return
        if is_rolling(d):
            await self._rolling(key, d, rss)
        else:
            await self._recreate(key, d, rss)

    # --- claiming ------------------------------------------------------------------------------
    async def _claim_sets(self, d: Obj) -> list[Obj]:
        ns = meta(d).get("namespace") or ""
        kept, adopt, release = claim_decisions(d, _selector(d), self.sets.store.by_index(NAMESPACE_INDEX, ns))
        if adopt:
            fresh = await self.client.get(DEPLOYMENTS, meta(d)["name"], namespace=ns)
            if meta(fresh).get("uid") == meta(d).get("uid") and not meta(fresh).get("deletionTimestamp"):
                ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": meta(d)["name"],
                       "uid": meta(d)["uid"], "controller": True, "blockOwnerDeletion": True}
                for rs in adopt:
                    kept.append(await self.client.patch(REPLICASETS, meta(rs)["name"], adopt_patch(rs, ref),
                                                        namespace=ns, patch_type="strategic"))
        for rs in release:
            await self.client.patch(REPLICASETS, meta(rs)["name"], release_patch(rs, meta(d)["uid"]),
                                    namespace=ns, patch_type="strategic")
        return kept

    def _split(self, d: Obj, rss: list[Obj]) -> tuple[Obj | None, list[Obj]]:
        new_rs = find_new_rs(d, rss)
        old = [r for r in rss if new_rs is None or meta(r).get("uid") != meta(new_rs).get("uid")]
        return new_rs, old

    async def _sets_and_revision(self, d: Obj, rss: list[Obj], *, create: bool) -> tuple[Obj | None, list[Obj]]:
        """(new set, old sets), bringing the new set's revision to max(old) + 1 and creating it if
        asked (upstream getAllReplicaSetsAndSyncRevision)."""
        existing, old = self._split(d, rss)
        new_revision = history.max_revision(old) + 1
        ns = meta(d).get("namespace") or ""
        now = self.now()
        if existing is not None:
            rs = copy.deepcopy(existing)
            changed = set_new_rs_annotations(d, rs, new_revision, exists=True)
            d_mrs = (d.get("spec") or {}).get("minReadySeconds") or 0
            if (rs.get("spec") or {}).get("minReadySeconds", 0) != d_mrs:
                rs["spec"]["minReadySeconds"] = d_mrs
                changed = True
            if changed:
                rs = await self.client.update(REPLICASETS, rs)
            await self._set_deployment_revision(d, str(revision(rs)))
            if progress.has_progress_deadline(d) and get_condition(d.get("status") or {},
                                                                            progress.PROGRESSING) is None:
                status = copy.deepcopy(d.get("status") or {})
                set_condition(status, new_condition(
                    progress.PROGRESSING, "True", progress.FOUND_NEW_RS,
                    f"Found new replica set \"{meta(rs)['name']}\"", progress.fmt_time(now)))
                d.update(await self._write_status(d, status))
            return rs, old
        if not create:
            return None, old
        return await self._create_new_set(d, old, new_revision, ns), old

    async def _create_new_set(self, d: Obj, old: list[Obj], new_revision: int, ns: str) -> Obj:
        spec = d.get("spec") or {}
        collisions = (d.get("status") or {}).get("collisionCount")
        h = compute_hash(spec.get("template") or {}, collisions)
        template = copy.deepcopy(spec.get("template") or {})
        template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = h
        selector = copy.deepcopy(spec.get("selector") or {})
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = h
        name = f"{meta(d)['name']}-{h}"
        rs: Obj = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": ns, "labels": dict(template["metadata"]["labels"]),
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": meta(d)["name"], "uid": meta(d)["uid"],
                                              "controller": True, "blockOwnerDeletion": True}]},
            "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds") or 0, "selector": selector,
                     "template": template},
        }
        size = rolling.new_rs_replicas(d, old, rs)
        rs["spec"]["replicas"] = size
        set_new_rs_annotations(d, rs, new_revision, exists=False)
        now = self.now()
        try:
            created = await self.client.create(REPLICASETS, rs, namespace=ns)
        except APIError as e:
            if is_already_exists(e):
                found = await self.client.get(REPLICASETS, name, namespace=ns)
                if owned_by(found, d) and equal_ignore_hash((found.get("spec") or {}).get("template"),
                                                            spec.get("template")):
                    return found  # ours, created by an earlier sync the cache has not shown yet
                # A different template hashed to the same name: bump collisionCount and retry.
                status = copy.deepcopy(d.get("status") or {})
                status["collisionCount"] = int(collisions or 0) + 1
                await self._write_status(d, status)
                raise RuntimeError(f"hash collision for replica set {name}") from e
            status = copy.deepcopy(d.get("status") or {})
            msg = f"Failed to create new replica set \"{name}\": {e.message}"
            set_condition(status, new_condition(progress.PROGRESSING, "False",
                                                                  progress.RS_CREATE_ERROR, msg, progress.fmt_time(now)))
            self.recorder.event(d, "Warning", "FailedCreate", msg)
            await self._write_status(d, status)
            raise
        if size > 0:
            self.recorder.event(d, "Normal", "ScalingReplicaSet", f"Scaled up replica set {name} from 0 to {size}")
        await self._set_deployment_revision(d, str(new_revision))
        if progress.has_progress_deadline(d):
            status = copy.deepcopy(d.get("status") or {})
            set_condition(status, new_condition(
                progress.PROGRESSING, "True", progress.NEW_RS_CREATED, f"Created new replica set \"{name}\"",
                progress.fmt_time(now)))
            d.update(await self._write_status(d, status))
        return created

    async def _set_deployment_revision(self, d: Obj, rev: str) -> None:
        if (meta(d).get("annotations") or {}).get(REVISION) == rev:
            return
        out = await self.client.patch(DEPLOYMENTS, meta(d)["name"], {"metadata": {"annotations": {REVISION: rev}}},
                                      namespace=meta(d).get("namespace") or "")
        d["metadata"] = out["metadata"]

    # --- scaling -------------------------------------------------------------------------------
    async def _scale(self, d: Obj, rs: Obj, size: int, op: str = "") -> Obj:
        old_size = replicas(rs)
        body = copy.deepcopy(rs)
        body["spec"]["replicas"] = size
        annotations_changed = set_replicas_annotations(body, replicas(d), replicas(d) + max_surge(d))
        if old_size == size and not annotations_changed:
            return rs
        out = await self.client.update(REPLICASETS, body)
        if old_size != size:
            direction = op or ("up" if size > old_size else "down")
            self.recorder.event(d, "Normal", "ScalingReplicaSet",
                                f"Scaled {direction} replica set {meta(rs)['name']} from {old_size} to {size}")
        return out

    async def _apply_plan(self, d: Obj, rss: list[Obj], plan: Mapping[str, int], op: str = "") -> list[Obj]:
        out = []
        for rs in rss:
            size = plan.get(str(meta(rs)["name"]))
            out.append(rs if size is None else await self._scale(d, rs, size, op))
        return out

    async def _scale_only(self, d: Obj, rss: list[Obj]) -> None:
        new_rs, old = await self._sets_and_revision(d, rss, create=False)
        plan, op = scaling.scale_plan(d, new_rs, old)
        old = await self._apply_plan(d, old, plan, op)
        if new_rs is not None:
            new_rs = (await self._apply_plan(d, [new_rs], plan, op))[0]
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, old)
        await self._write_status(d, progress.calculate_status(d, [*old, *_opt(new_rs)], new_rs, self.now()))

    async def _cleanup(self, d: Obj, old: list[Obj]) -> None:
        for rs in history.sets_to_clean_up(d, old):
            try:
                await self.client.delete(REPLICASETS, meta(rs)["name"], namespace=meta(rs).get("namespace") or "")
            except APIError as e:
                if not is_not_found(e):
                    raise

    # --- rollouts ------------------------------------------------------------------------------
    async def _rolling(self, key: str, d: Obj, rss: list[Obj]) -> None:
        new_rs, old = await self._sets_and_revision(d, rss, create=True)
        assert new_rs is not None
        size = rolling.reconcile_new_rs(d, [*old, new_rs], new_rs)
        if size is not None:
            new_rs = await self._scale(d, new_rs, size)
        else:
            plan = rolling.old_rs_scale_down(d, old, new_rs)
            if plan:
                old = await self._apply_plan(d, old, plan, "down")
            elif progress.is_complete(d, d.get("status") or {}):
                await self._cleanup(d, old)
        await self._rollout_status(key, d, [*old, new_rs], new_rs)

    async def _recreate(self, key: str, d: Obj, rss: list[Obj]) -> None:
        new_rs, old = await self._sets_and_revision(d, rss, create=False)
        to_stop = active(old)
        if to_stop:
            old = await self._apply_plan(d, old, {str(meta(r)["name"]): 0 for r in to_stop}, "down")
        elif not self._old_pods_running(old):
            if new_rs is None:
                new_rs, old = await self._sets_and_revision(d, rss, create=True)
            assert new_rs is not None
            if replicas(new_rs) != replicas(d):
                new_rs = await self._scale(d, new_rs, replicas(d), "up")
            elif progress.is_complete(d, d.get("status") or {}):
                await self._cleanup(d, old)
        await self._rollout_status(key, d, [*old, *_opt(new_rs)], new_rs)

    def _old_pods_running(self, old: list[Obj]) -> bool:
        if sum(status_int(r, "replicas") for r in old) > 0:
            return True
        for rs in old:
            for pod in self.pods.store.by_index(OWNER_INDEX, str(meta(rs).get("uid"))):
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    return True
        return False

    # --- status --------------------------------------------------------------------------------
    async def _rollout_status(self, key: str, d: Obj, all_rss: list[Obj], new_rs: Obj | None) -> None:
        now = self.now()
        status = progress.rollout_status(d, all_rss, new_rs, now)
        after = progress.requeue_after(d, status, now)
        await self._write_status(d, status)
        if after is not None:
            self.controller.queue.add_after(key, max(after, 0.05))

    async def _write_status(self, d: Obj, status: Obj) -> Obj:
        if status.get("conditions") == []:
            status = {k: v for k, v in status.items() if k != "conditions"}
        if not progress.status_changed(d.get("status") or {}, status):
            return d
        body = copy.deepcopy(d)
        body["status"] = status
        out = await self.client.update_status(DEPLOYMENTS, body)
        d.clear()
        d.update(out)
        return d


def _selector(d: Mapping[str, Any]) -> Any:
    try:
        return selector_from_label_selector((d.get("spec") or {}).get("selector"))
    except Exception:
        return selector_from_label_selector(None)


def _opt(rs: Obj | None) -> list[Obj]:
    return [rs] if rs is not None else []


@register("deployment")
def _build(ctx: ControllerContext) -> DeploymentController:
    indexers = {NAMESPACE_INDEX: index_by_namespace, OWNER_INDEX: index_by_owner_uid}
    deployments = ctx.informers.informer(DEPLOYMENTS, indexers={NAMESPACE_INDEX: index_by_namespace})
    sets = ctx.informers.informer(REPLICASETS, indexers=indexers)
    pods = ctx.informers.informer(PODS, indexers=indexers)
    return DeploymentController(ctx.client, deployments, sets, pods, ctx.recorder("deployment-controller"))

