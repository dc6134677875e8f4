"""ReplicaSet and ReplicationController loops: keep `spec.replicas` pods alive from a template.

One loop serves both kinds (upstream runs its ReplicaSet code for ReplicationControllers too);
`WorkloadKind` says what differs: the resource, the selector shape and the event source.

Theory of operation. ``sync(key)`` reads the set and the pods of its namespace from caches, then:
1. claims pods: adopts orphans its selector matches, releases owned pods whose labels stopped
   matching (`claim_decisions`); pods another controller owns are never touched;
2. if its expectations are satisfied (its own earlier creates/deletes have reached the cache),
   creates the missing pods in slow-start batches (1, 2, 4, ...; a failing batch stops the rest)
   or deletes the surplus in upstream's order (`pods_to_delete`);
3. writes status (`calculate_status`), with a ReplicaFailure condition while creates/deletes fail,
   and requeues after minReadySeconds when ready pods are not available yet.

Invariants:
1. A pod is created only after the expectation for it is recorded, so a stale cache never
   doubles a create; a failed create lowers the expectation at once.
2. Decisions come from pure functions over cached objects; nothing cached is mutated.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from kybernetes.client.errors import APIError
from kybernetes.client.store import (
    NAMESPACE_INDEX,
    index_by_namespace,
    index_by_owner_uid,
    meta_namespace_key,
)
from kybernetes.controllers.expectations import Expectations, UIDExpectations
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery.labels import Selector, selector_from_label_selector, selector_from_set

log = logging.getLogger("kyb.controllers.replicaset")

Obj = dict[str, Any]
OWNER_INDEX = "ownerUID"
BURST_REPLICAS = 500  # upstream's cap on creates/deletes per sync
SLOW_START_INITIAL_BATCH = 1
DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost"
POD_TEMPLATE_HASH = "pod-template-hash"

PODS = resource("v1", "pods")


# --- small readers --------------------------------------------------------------------------------

def parse_time(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 stamp; None when absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def meta(obj: Mapping[str, Any]) -> Obj:
    m: Obj = obj.get("metadata") or {}
    return m


def controller_ref(obj: Mapping[str, Any]) -> Obj | None:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            r: Obj = ref
            return r
    return None


def is_active(pod: Mapping[str, Any]) -> bool:
    """Counts towards replicas: not finished and not being deleted (upstream FilterActivePods)."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not meta(pod).get("deletionTimestamp")


def ready_condition(pod: Mapping[str, Any]) -> Obj | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            r: Obj = c
            return r
    return None


def is_ready(pod: Mapping[str, Any]) -> bool:
    c = ready_condition(pod)
    return c is not None and c.get("status") == "True"


def ready_since(pod: Mapping[str, Any]) -> float | None:
    c = ready_condition(pod)
    if c is None or c.get("status") != "True":
        return None
    return parse_time(c.get("lastTransitionTime"))


def is_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready for at least minReadySeconds (a ready pod without a transition time counts when 0)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds <= now


def max_restarts(pod: Mapping[str, Any]) -> int:
    return max((int(cs.get("restartCount") or 0) for cs in (pod.get("status") or {}).get("containerStatuses") or []),
               default=0)


# --- the kinds ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WorkloadKind:
    name: str  # registry name and queue name
    api_version: str
    kind: str
    plural: str
    component: str  # event source
    structured_selector: bool  # ReplicaSet: LabelSelector; ReplicationController: a plain map

    def selector(self, obj: Mapping[str, Any]) -> Selector:
        sel = (obj.get("spec") or {}).get("selector")
        if self.structured_selector:
            try:
                return selector_from_label_selector(sel)
            except Exception:
                return selector_from_label_selector(None)
        if not sel:  # an RC without a selector selects its template's labels (defaulted upstream)
            sel = ((obj.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels")
        return selector_from_set(sel) if sel else selector_from_label_selector(None)


REPLICASET = WorkloadKind("replicaset", "apps/v1", "ReplicaSet", "replicasets", "replicaset-controller", True)
REPLICATIONCONTROLLER = WorkloadKind("replicationcontroller", "v1", "ReplicationController",
                                     "replicationcontrollers", "replication-controller", False)


def owner_reference(owner: Mapping[str, Any], kind: str, api_version: str) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": meta(owner)["name"], "uid": meta(owner)["uid"],
            "controller": True, "blockOwnerDeletion": True}


# --- claiming -------------------------------------------------------------------------------------

def claim_decisions(owner: Mapping[str, Any], selector: Selector,
                    objs: list[Obj]) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """(kept, to_adopt, to_release) among `objs` for `owner` (upstream's ControllerRefManager).

    Owned objects that still match are kept; owned ones that do not are released (not while the
    owner is being deleted); orphans that match are adopted unless they or the owner are being
    deleted; objects another controller owns are left alone."""
    uid = meta(owner).get("uid")
    owner_deleting = bool(meta(owner).get("deletionTimestamp"))
    kept: list[Obj] = []
    adopt: list[Obj] = []
    release: list[Obj] = []
    for obj in objs:
        ref = controller_ref(obj)
        matches = selector.matches(meta(obj).get("labels"))
        if ref is not None:
            if ref.get("uid") != uid:
                continue
            if matches or owner_deleting:
                kept.append(obj)
            else:
                release.append(obj)
        elif matches and not owner_deleting and not meta(obj).get("deletionTimestamp"):
            adopt.append(obj)
    return kept, adopt, release


def adopt_patch(obj: Mapping[str, Any], ref: Obj) -> Obj:
    """Strategic merge patch adding a controller reference; the uid makes it a precondition."""
    return {"metadata": {"ownerReferences": [ref], "uid": meta(obj)["uid"]}}


def release_patch(obj: Mapping[str, Any], owner_uid: str) -> Obj:
    return {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": owner_uid}], "uid": meta(obj)["uid"]}}


# --- choosing pods to delete ----------------------------------------------------------------------

_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _log_rank(t: float | None, now: float) -> int:
    """Upstream compares ages on a log2 scale (in nanoseconds), so pods of similar age tie and
    the tie-breakers below them decide (LogarithmicScaleDown)."""
    if t is None:
        return -1
    d = (now - t) * 1e9
    return int(math.log2(d)) if d > 0 else -1


def deletion_sort_key(pod: Mapping[str, Any], rank: int, now: float) -> tuple[Any, ...]:
    """Smaller sorts first = deleted first (upstream ActivePodsWithRanks):
    unassigned < assigned; Pending < Unknown < Running; not ready < ready; lower pod-deletion-cost;
    more pods of the same family on its node; ready more recently; more restarts; created more
    recently; then uid."""
    m = meta(pod)
    status = pod.get("status") or {}
    ready = is_ready(pod)
    try:
        cost = int(str((m.get("annotations") or {}).get(DELETION_COST_ANNOTATION, "0")))
    except ValueError:
        cost = 0
    created = parse_time(m.get("creationTimestamp"))
    return (
        1 if (pod.get("spec") or {}).get("nodeName") else 0,
        _PHASE_RANK.get(str(status.get("phase")), 0),
        1 if ready else 0,
        cost,
        -rank,
        # Unknown ready time (-1) first, then ready for less time (smaller log-age) first.
        _log_rank(ready_since(pod), now) if ready else 0,
        -max_restarts(pod),
        _log_rank(created, now),
        str(m.get("uid") or ""),
    )


def pods_to_delete(pods: list[Obj], related: list[Obj], diff: int, now: float) -> list[Obj]:
    """The `diff` pods to delete from `pods`. A pod's rank is how many `related` pods (this set's and
    its siblings' under the same Deployment) share its node, so doubled-up nodes shrink first."""
    if diff >= len(pods):
        return list(pods)
    per_node: dict[str, int] = {}
    for p in related:
        node = (p.get("spec") or {}).get("nodeName")
        if node and is_active(p):
            per_node[node] = per_node.get(node, 0) + 1
    ranked = sorted(pods, key=lambda p: deletion_sort_key(
        p, per_node.get((p.get("spec") or {}).get("nodeName") or "", 0), now))
    return ranked[:diff]


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH) -> list[int]:
    """Batch sizes upstream's slowStartBatch uses: 1, 2, 4, ... capped by what remains."""
    out: list[int] = []
    batch = min(count, initial)
    remaining = count
    while remaining > 0:
        out.append(batch)
        remaining -= batch
        batch = min(2 * batch, remaining)
    return out


# --- pods from the template -----------------------------------------------------------------------

def pod_from_template(owner: Mapping[str, Any], kind: WorkloadKind) -> Obj:
    template = (owner.get("spec") or {}).get("template") or {}
    tmeta = template.get("metadata") or {}
    pod_meta: Obj = {"generateName": f"{meta(owner)['name']}-", "namespace": meta(owner).get("namespace"),
                     "ownerReferences": [owner_reference(owner, kind.kind, kind.api_version)]}
    for k in ("labels", "annotations", "finalizers"):
        if tmeta.get(k):
            pod_meta[k] = copy.deepcopy(tmeta[k])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": copy.deepcopy(template.get("spec") or {})}


# --- status ---------------------------------------------------------------------------------------

REPLICA_FAILURE = "ReplicaFailure"


def calculate_status(owner: Mapping[str, Any], active: list[Obj], *, manage_error: tuple[str, str] | None,
                     now: float) -> Obj:
    """The status upstream writes: counts over active pods, observedGeneration, and a ReplicaFailure
    condition (reason FailedCreate/FailedDelete) while manage_error is set; it is removed when a
    later sync succeeds."""
    spec = owner.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    tlabels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    old = owner.get("status") or {}
    fully = sum(1 for p in active if all((meta(p).get("labels") or {}).get(k) == v for k, v in tlabels.items()))
    ready = sum(1 for p in active if is_ready(p))
    available = sum(1 for p in active if is_available(p, min_ready, now))
    status: Obj = {"replicas": len(active), "fullyLabeledReplicas": fully, "readyReplicas": ready,
                   "availableReplicas": available, "observedGeneration": meta(owner).get("generation", 0)}
    conditions = [c for c in old.get("conditions") or [] if c.get("type") != REPLICA_FAILURE]
    existing = next((c for c in old.get("conditions") or [] if c.get("type") == REPLICA_FAILURE), None)
    if manage_error is not None:
        reason, message = manage_error
        if existing is not None and existing.get("reason") == reason:
            conditions.append(existing)
        else:
            conditions.append({"type": REPLICA_FAILURE, "status": "True", "reason": reason, "message": message,
                               "lastTransitionTime": format_time(now)})
    if conditions:
        status["conditions"] = conditions
    return status


def status_differs(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    keys = ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas", "observedGeneration",
            "conditions")
    return any((old.get(k) or 0) != (new.get(k) or 0) for k in keys)


def format_time(t: float) -> str:
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the executor ---------------------------------------------------------------------------------

class ReplicaSetController:
    """Wires informers, handlers and `sync` for one `WorkloadKind`."""

    def __init__(self, client: APIClient, pods: Informer, sets: Informer, recorder: EventRecorder,
                 kind: WorkloadKind, *, siblings: Informer | None = None, workers: int = 2,
                 now: Callable[[], float] | None = None) -> None:
        import time

        self.client = client
        self.pods = pods
        self.sets = sets
        self.siblings = siblings  # the ReplicaSet informer, for ranking pods of a Deployment's sets
        self.recorder = recorder
        self.kind = kind
        self.res = resource(kind.api_version, kind.plural)
        self.now = now or time.time
        self.expectations = Expectations()
        self.pending_deletes = UIDExpectations()
        self.controller = Controller(f"{kind.name}-controller", self.sync, workers=workers)
        sets.add_handlers(on_add=self.controller.enqueue, on_update=self._set_updated, on_delete=self._set_deleted)
        pods.add_handlers(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)

    async def run(self) -> None:
        await self.controller.run()

    # --- handlers (enqueue only) ---------------------------------------------------------------
    def _set_updated(self, old: Obj, new: Obj) -> None:
        self.controller.enqueue(new)

    def _set_deleted(self, obj: Obj) -> None:
        key = meta_namespace_key(obj)
        self.expectations.delete(key)
        self.pending_deletes.delete(key)
        self.controller.queue.add(key)

    def _owner_key(self, pod: Mapping[str, Any], ref: Mapping[str, Any] | None) -> str | None:
        if ref is None or ref.get("kind") != self.kind.kind:
            return None
        owner = self.sets.store.get_by_name(meta(pod).get("namespace") or "", str(ref.get("name")))
        if owner is None or meta(owner).get("uid") != ref.get("uid"):
            return None
        return meta_namespace_key(owner)

    def _matching_sets(self, pod: Mapping[str, Any]) -> list[str]:
        labels = meta(pod).get("labels")
        if not labels:
            return []
        ns = meta(pod).get("namespace") or ""
        return [meta_namespace_key(s) for s in self.sets.store.by_index(NAMESPACE_INDEX, ns)
                if self.kind.selector(s).matches(labels)]

    def _pod_added(self, pod: Obj) -> None:
        if meta(pod).get("deletionTimestamp"):
            self._pod_deleted(pod)
            return
        key = self._owner_key(pod, controller_ref(pod))
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
            self._pod_deleted(new)
            return
        old_ref, new_ref = controller_ref(old), controller_ref(new)
        if old_ref is not None and (new_ref is None or old_ref.get("uid") != new_ref.get("uid")):
            k = self._owner_key(old, old_ref)
            if k is not None:
                self.controller.queue.add(k)
        key = self._owner_key(new, new_ref)
        if key is not None:
            self.controller.queue.add(key)
            owner = self.sets.store.get(key)
            min_ready = int(((owner or {}).get("spec") or {}).get("minReadySeconds") or 0)
            if min_ready > 0 and is_ready(new) and not is_ready(old):
                self.controller.queue.add_after(key, min_ready + 1)
        elif new_ref is None and (meta(old).get("labels") != meta(new).get("labels") or old_ref is not None):
            for k in self._matching_sets(new):
                self.controller.queue.add(k)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod, controller_ref(pod))
        if key is None:
            return
        uid = str(meta(pod).get("uid") or "")
        if uid in self.pending_deletes.pending(key):
            self.pending_deletes.observed(key, uid)
            self.expectations.deletion_observed(key)
        self.controller.queue.add(key)

    # --- sync --------------------------------------------------------------------------------------
    async def sync(self, key: str) -> None:
        owner = self.sets.store.get(key)
        if owner is None:
            self.expectations.delete(key)
            self.pending_deletes.delete(key)
            return
        ns = meta(owner).get("namespace") or ""
        selector = self.kind.selector(owner)
        need_manage = self.expectations.satisfied(key) and not meta(owner).get("deletionTimestamp")
        candidates = self.pods.store.by_index(NAMESPACE_INDEX, ns)
        kept, adopt, release = claim_decisions(owner, selector, candidates)
        kept.extend(await self._adopt(owner, adopt))
        await self._release(owner, release)
        active = [p for p in kept if is_active(p)]
        manage_error: tuple[str, str] | None = None
        if need_manage:
            manage_error = await self._manage(key, owner, active)
        now = self.now()
        status = calculate_status(owner, active, manage_error=manage_error, now=now)
        if status_differs(owner.get("status") or {}, status):
            body = copy.deepcopy(owner)
            body["status"] = {**(owner.get("status") or {}), **status}
            if "conditions" not in status:
                body["status"].pop("conditions", None)
            try:
                await self.client.update_status(self.res, body)
            except APIError as e:
                # A newer version is on its way to the cache and will enqueue this key again.
                if is_not_found(e) or is_conflict(e):
                    return
                raise
        min_ready = int((owner.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready > 0 and status["readyReplicas"] != status["availableReplicas"]:
            self.controller.queue.add_after(key, float(min_ready))
        if manage_error is not None:
            raise RuntimeError(manage_error[1])

    async def _adopt(self, owner: Obj, pods: list[Obj]) -> list[Obj]:
        if not pods:
            return []
        # Upstream re-reads the owner before adopting so that a stale cache cannot adopt pods for
        # a set that was deleted (and maybe recreated under the same name).
        try:
            fresh = await self.client.get(self.res, meta(owner)["name"], namespace=meta(owner).get("namespace", ""))
        except APIError as e:
            if is_not_found(e):
                return []
            raise
        if meta(fresh).get("uid") != meta(owner).get("uid") or meta(fresh).get("deletionTimestamp"):
            return []
        ref = owner_reference(owner, self.kind.kind, self.kind.api_version)
        out: list[Obj] = []
        for pod in pods:
            try:
                out.append(await self.client.patch(PODS, meta(pod)["name"], adopt_patch(pod, ref),
                                                   namespace=meta(pod).get("namespace", ""), patch_type="strategic"))
            except APIError as e:
                if not is_not_found(e):
                    raise
        return out

    async def _release(self, owner: Obj, pods: list[Obj]) -> None:
        for pod in pods:
            try:
                await self.client.patch(PODS, meta(pod)["name"], release_patch(pod, meta(owner)["uid"]),
                                        namespace=meta(pod).get("namespace", ""), patch_type="strategic")
            except APIError as e:
                if not is_not_found(e) and e.code != 422:
                    raise

    def _related_pods(self, owner: Obj, own: list[Obj]) -> list[Obj]:
        """This set's pods plus those of its siblings (sets with the same controller owner)."""
        ref = controller_ref(owner)
        if ref is None or self.siblings is None or not self.siblings.store.has_indexer(OWNER_INDEX):
            return own
        out: list[Obj] = []
        for sib in self.siblings.store.by_index(OWNER_INDEX, str(ref.get("uid"))):
            out.extend(self.pods.store.by_index(OWNER_INDEX, str(meta(sib).get("uid"))))
        return out or own

    async def _manage(self, key: str, owner: Obj, active: list[Obj]) -> tuple[str, str] | None:
        want = int((owner.get("spec") or {}).get("replicas", 1) or 0)
        diff = len(active) - want
        if diff < 0:
            return await self._create(key, owner, min(-diff, BURST_REPLICAS))
        if diff > 0:
            victims = pods_to_delete(active, self._related_pods(owner, active), min(diff, BURST_REPLICAS), self.now())
            return await self._delete(key, owner, victims)
        return None

    async def _create(self, key: str, owner: Obj, count: int) -> tuple[str, str] | None:
        self.expectations.expect(key, adds=count)
        template = pod_from_template(owner, self.kind)
        error: str | None = None
        done = 0
        for size in slow_start_batches(count):
            results = await asyncio.gather(*(self._create_one(key, owner, template) for _ in range(size)))
            done += size
            failures = [r for r in results if r is not None]
            if failures:
                error = failures[0]
                break
        skipped = count - done
        if skipped:
            self.expectations.creation_observed(key, skipped)
        return ("FailedCreate", error) if error is not None else None

    async def _create_one(self, key: str, owner: Obj, template: Obj) -> str | None:
        try:
            pod = await self.client.create(PODS, template, namespace=meta(owner).get("namespace", ""))
        except APIError as e:
            self.expectations.creation_observed(key)
            self.recorder.event(owner, "Warning", "FailedCreate", f"Error creating: {e.message}")
            return e.message
        self.recorder.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {meta(pod).get('name')}")
        return None

    async def _delete(self, key: str, owner: Obj, victims: list[Obj]) -> tuple[str, str] | None:
        uids = [str(meta(p).get("uid")) for p in victims]
        self.pending_deletes.expect(key, uids)
        self.expectations.expect(key, dels=len(victims))
        results = await asyncio.gather(*(self._delete_one(key, owner, p) for p in victims))
        errors = [r for r in results if r is not None]
        return ("FailedDelete", errors[0]) if errors else None

    async def _delete_one(self, key: str, owner: Obj, pod: Obj) -> str | None:
        name = meta(pod).get("name", "")
        try:
            await self.client.delete(PODS, name, namespace=meta(pod).get("namespace", ""),
                                     preconditions={"uid": str(meta(pod).get("uid"))})
        except APIError as e:
            uid = str(meta(pod).get("uid"))
            if uid in self.pending_deletes.pending(key):
                self.pending_deletes.observed(key, uid)
                self.expectations.deletion_observed(key)
            if is_not_found(e):
                return None
            self.recorder.event(owner, "Warning", "FailedDelete", f"Error deleting: {e.message}")
            return e.message
        self.recorder.event(owner, "Normal", "SuccessfulDelete", f"Deleted pod: {name}")
        return None


def _factory(kind: WorkloadKind) -> Callable[[ControllerContext], Any]:
    def build(ctx: ControllerContext) -> ReplicaSetController:
        indexers = {NAMESPACE_INDEX: index_by_namespace, OWNER_INDEX: index_by_owner_uid}
        pods = ctx.informers.informer(PODS, indexers=indexers)
        sets = ctx.informers.informer(resource(kind.api_version, kind.plural), indexers=indexers)
        siblings = sets if kind is REPLICASET else None
        return ReplicaSetController(ctx.client, pods, sets, ctx.recorder(kind.component), kind, siblings=siblings)

    return build


register("replicaset")(_factory(REPLICASET))
register("replicationcontroller")(_factory(REPLICATIONCONTROLLER))
