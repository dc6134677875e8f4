"""The Job loop's executor: reads the caches, asks `logic` what to do, writes it through the API.

See `logic` for the theory of operation. This module adds the guards against stale caches:
pod creations and deletions are expected (`Expectations`) before pods are managed again, and pods
whose tracking finalizer was removed are remembered (`UIDExpectations`) until the cache shows it,
so a stale copy still carrying the finalizer is not counted again.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, EventRecorder, Informer, is_conflict, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.client.store import index_by_owner_uid
from kybernetes.controllers import rfc3339
from kybernetes.controllers.expectations import Expectations, UIDExpectations
from kybernetes.controllers.job import logic
from kybernetes.controllers.manager import ControllerContext, register
from kybernetes.machinery.labels import selector_from_label_selector

log = logging.getLogger("kyb.controllers.job")

JOBS: ResourceLike = lookup("batch", "v1", "jobs")  # type: ignore[assignment]
PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
OWNER_INDEX = "ownerUID"
COMPONENT = "job-controller"

Obj = dict[str, Any]


def _controller_ref(obj: Obj) -> Obj | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


class JobController:
    def __init__(
        self, client: APIClient, jobs: Informer, pods: Informer, recorder: EventRecorder, *, workers: int = 5
    ) -> None:
        self.client = client
        self.jobs = jobs
        self.pods = pods
        self.recorder = recorder
        self.controller = Controller("job", self.sync, workers=workers)
        self.expectations = Expectations()
        self.finalizer_expectations = UIDExpectations()
        self.backoff: dict[str, logic.BackoffRecord] = {}
        jobs.add_handlers(self.controller.handlers())
        pods.add_handlers(on_add=self._pod_added, on_update=self._pod_updated, on_delete=self._pod_deleted)

    async def run(self) -> None:
        await self.controller.run()

    # --- pod events: find the owning Job, settle expectations, enqueue it ---------------------------
    def _job_key(self, pod: Obj) -> str | None:
        ref = _controller_ref(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        ns = (pod.get("metadata") or {}).get("namespace") or ""
        job = self.jobs.store.get_by_name(ns, str(ref.get("name") or ""))
        if job is None or logic.uid(job) != ref.get("uid"):
            if logic.has_finalizer(pod) and (job is None or logic.uid(job) != ref.get("uid")):
                # An orphan still carrying our finalizer (its Job is gone): release it.
                asyncio.get_running_loop().create_task(self._release_orphan(pod))
            return None
        return f"{ns}/{ref.get('name')}"

    def _pod_added(self, pod: Obj) -> None:
        key = self._job_key(pod)
        if key is not None:
            self.expectations.creation_observed(key)
            self.controller.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = self._job_key(new)
        if key is None:
            return
        if not logic.has_finalizer(new):
            self.finalizer_expectations.observed(key, logic.uid(new))
        if (new.get("metadata") or {}).get("deletionTimestamp") and not (old.get("metadata") or {}).get(
            "deletionTimestamp"
        ):
            self.expectations.deletion_observed(key)
        self.controller.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._job_key(pod)
        if key is None:
            return
        self.finalizer_expectations.observed(key, logic.uid(pod))
        if not (pod.get("metadata") or {}).get("deletionTimestamp"):
            self.expectations.deletion_observed(key)
        self.controller.queue.add(key)

    async def _release_orphan(self, pod: Obj) -> None:
        if logic.active(pod):
            return  # the garbage collector deletes it; we release the finalizer once it finished
        meta = pod.get("metadata") or {}
        try:
            await self._remove_finalizer(meta.get("namespace", ""), meta.get("name", ""))
        except Exception:  # best effort; the next event retries
            log.debug("releasing orphan pod %s failed", meta.get("name"), exc_info=True)

    # --- sync ----------------------------------------------------------------------------------------
    def _pods_of(self, job: Obj) -> list[Obj]:
        selector = selector_from_label_selector((job.get("spec") or {}).get("selector"))
        out = []
        for pod in self.pods.store.by_index(OWNER_INDEX, logic.uid(job)):
            ref = _controller_ref(pod)
            if (
                ref is not None
                and ref.get("uid") == logic.uid(job)
                and selector.matches((pod.get("metadata") or {}).get("labels") or {})
            ):
                out.append(pod)
        return out

    async def sync(self, key: str) -> None:
        try:
            await self._sync(key)
        except Exception as e:
            if not is_conflict(e):
                raise
            # A write raced a newer version (our cache was behind): retry later, quietly.
            self.controller.queue.add_rate_limited(key)

    async def _sync(self, key: str) -> None:
        cached = self.jobs.store.get(key)
        if cached is None:
            self.expectations.delete(key)
            self.finalizer_expectations.delete(key)
            self.backoff.pop(key, None)
            return
        if not logic.managed_by_us(cached):
            return  # spec.managedBy names another controller: its status is not ours to write
        job = copy.deepcopy(cached)
        pods = self._pods_of(job)
        now = rfc3339.now()

        if logic.finished(job):
            await self._strip_finalizers(
                key, [p for p in pods if logic.has_finalizer(p) and not logic.active(p)]
            )
            return

        # Step A: newly finished pods into uncountedTerminatedPods (with any interim condition).
        pending = self.finalizer_expectations.pending(key)
        indexes = logic.index_state(job, pods, skip_uids=pending, now=now)
        acct = logic.account(job, pods, skip_uids=pending, delayed=indexes.delayed_uids if indexes else None)
        status = logic.with_uncounted(job, acct, indexes.failed if indexes else None)
        if not status.get("startTime") and not (job.get("spec") or {}).get("suspend"):
            status["startTime"] = rfc3339.fmt(now)
        job_a = dict(job, status=status)
        record = self.backoff.setdefault(key, logic.BackoffRecord())
        satisfied = self.expectations.satisfied(key)
        plan = logic.decide(
            job_a,
            pods,
            now=now,
            backoff_remaining=record.remaining(now),
            policy_failure=acct.failure,
            indexes=indexes,
        )
        if plan.failure is not None:
            logic.set_condition(status, "FailureTarget", "True", plan.failure[0], plan.failure[1], now)
        elif plan.success:
            logic.set_condition(status, "SuccessCriteriaMet", "True", *plan.success_reason, now)
        events = self._suspend_transition(job, status, now)
        if status != (job.get("status") or {}):
            job = await self._write_status(job, status)
            if acct.any:
                record.observe(acct.succeeded, acct.failed, now)

        # Step B: release the finalizers of everything counted (or ignored).
        us, uf = logic.uncounted(job.get("status") or {})
        counted = set(us) | set(uf) | {logic.uid(p) for p in acct.ignored}
        if plan.failure is not None or plan.success:
            # Finishing: pods deleted but not (yet) failed are released too, or they would keep
            # the Job from ever reaching its terminal condition (podReplacementPolicy Failed).
            counted |= {logic.uid(p) for p in pods if logic.terminating(p) and not logic.pod_finished(p, job)}
        strip = [
            p
            for p in pods
            if logic.uid(p) in counted
            and logic.has_finalizer(p)
            and logic.uid(p) not in self.finalizer_expectations.pending(key)
        ]
        removed = await self._strip_finalizers(key, strip)

        # Manage pods (only when the cache has caught up with our last writes).
        created = deleted = 0
        if satisfied:
            deleted = await self._delete_pods(key, job, [p for p in plan.delete if logic.active(p)])
            if plan.create or plan.create_indexes:
                created = await self._create_pods(key, job, plan)
        if plan.requeue_after is not None:
            self.controller.queue.add_after(key, plan.requeue_after + 0.5)

        # Step C: counted pods whose finalizer is gone move into the counters; then the rest of status.
        present = {logic.uid(p): p for p in pods}
        settled = {
            u
            for u in set(us) | set(uf)
            if u in removed or u not in present or not logic.has_finalizer(present[u])
        }
        status = copy.deepcopy(job.get("status") or {})
        logic.flush_uncounted(status, settled)
        act = [p for p in pods if logic.active(p)]
        n_active = max(len(act) + created - deleted, 0)
        status["active"] = n_active
        status["ready"] = sum(1 for p in act if logic.ready(p))
        status["terminating"] = sum(1 for p in pods if logic.terminating(p)) + deleted
        status.setdefault("succeeded", 0)
        status.setdefault("failed", 0)
        status.setdefault("uncountedTerminatedPods", {})
        for k in ("active", "succeeded", "failed"):
            if not status.get(k):
                status.pop(k, None)
        nothing_left = (
            n_active == 0 and status.get("terminating", 0) == 0 and not any(logic.uncounted(status))
        )
        terminal: tuple[str, str, str] | None = None
        if nothing_left and (plan.failure is not None or plan.success) and not status.get("startTime"):
            status["startTime"] = rfc3339.fmt(now)  # a finished Job needs one (finishing while suspended)
        if nothing_left and plan.failure is not None:
            logic.set_condition(status, "Failed", "True", plan.failure[0], plan.failure[1], now)
            terminal = ("Warning", plan.failure[0], plan.failure[1])
        elif nothing_left and plan.success:
            logic.set_condition(status, "Complete", "True", *plan.success_reason, now)
            status["completionTime"] = rfc3339.fmt(now)
            terminal = ("Normal", "Completed", "Job completed")
        if status != (job.get("status") or {}):
            job = await self._write_status(job, status)
        for type_, reason, message in events:
            self.recorder.event(job, type_, reason, message)
        if terminal is not None:
            self.recorder.event(job, *terminal)
            self.backoff.pop(key, None)

    def _suspend_transition(self, job: Obj, status: Obj, now: Any) -> list[tuple[str, str, str]]:
        suspend = bool((job.get("spec") or {}).get("suspend"))
        cond = logic.find_condition(status, "Suspended")
        if suspend and (cond is None or cond.get("status") != "True"):
            logic.set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", now)
            # The server refuses a new startTime on an unsuspended Job unless it was cleared, so
            # clear it while suspended; resuming sets it afresh.
            status.pop("startTime", None)
            return [("Normal", "Suspended", "Job suspended")]
        if not suspend and cond is not None and cond.get("status") == "True":
            logic.set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", now)
            status["startTime"] = rfc3339.fmt(now)  # the active deadline counts from the resume
            return [("Normal", "Resumed", "Job resumed")]
        return []

    async def _write_status(self, job: Obj, status: Obj) -> Obj:
        body = dict(job, status=status)
        try:
            out: Obj = await self.client.update_status(JOBS, body)
        except Exception as e:
            if is_conflict(e) or is_not_found(e):
                log.debug("job %s: status write raced (%s); requeued", job["metadata"].get("name"), e)
            raise
        return out

    async def _remove_finalizer(self, ns: str, name: str) -> Obj:
        patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": [logic.TRACKING_FINALIZER]}}
        out: Obj = await self.client.patch(PODS, name, patch, namespace=ns, patch_type="strategic")
        return out

    async def _strip_finalizers(self, key: str, pods: list[Obj]) -> set[str]:
        """Remove the tracking finalizer; the uids done (or already gone)."""
        done: set[str] = set()

        async def one(pod: Obj) -> None:
            meta = pod.get("metadata") or {}
            try:
                await self._remove_finalizer(meta.get("namespace", ""), meta.get("name", ""))
            except Exception as e:
                if not is_not_found(e):
                    raise
            done.add(logic.uid(pod))

        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        self.finalizer_expectations.expect(key, done)
        errs = [r for r in results if isinstance(r, BaseException)]
        if errs:
            raise errs[0]
        return done

    async def _create_pods(self, key: str, job: Obj, plan: logic.Plan) -> int:
        indexes: list[int | None] = list(plan.create_indexes) if plan.create_indexes else [None] * plan.create
        self.expectations.raise_expectations(key, adds=len(indexes))
        created = 0
        # Slow start (as upstream): batches of 1, 2, 4, ... so a failing template does not flood the API.
        batch = 1
        pos = 0
        while pos < len(indexes):
            chunk = indexes[pos : pos + batch]
            pos += len(chunk)
            results = await asyncio.gather(
                *(
                    self.client.create(
                        PODS, logic.pod_for(job, i, plan.replaced.get(i) if i is not None else None)
                    )
                    for i in chunk
                ),
                return_exceptions=True,
            )
            failed = [r for r in results if isinstance(r, BaseException)]
            for r in results:
                if isinstance(r, BaseException):
                    self.recorder.event(job, "Warning", "FailedCreate", f"Error creating: {r}")
                else:
                    created += 1
                    self.recorder.event(
                        job, "Normal", "SuccessfulCreate", f"Created pod: {r['metadata']['name']}"
                    )
            if failed:
                self.expectations.creation_observed(key, len(failed) + len(indexes) - pos)
                raise failed[0]
            batch *= 2
        return created

    async def _delete_pods(self, key: str, job: Obj, pods: list[Obj]) -> int:
        if not pods:
            return 0
        self.expectations.raise_expectations(key, dels=len(pods))
        deleted = 0

        async def one(pod: Obj) -> None:
            nonlocal deleted
            meta = pod["metadata"]
            try:
                await self.client.delete(
                    PODS,
                    meta["name"],
                    namespace=meta.get("namespace", ""),
                    preconditions={"uid": meta.get("uid", "")},
                )
            except Exception as e:
                self.expectations.deletion_observed(key)
                if not is_not_found(e):
                    self.recorder.event(job, "Warning", "FailedDelete", f"Error deleting: {e}")
                    raise
                return
            deleted += 1
            self.recorder.event(job, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}")

        results = await asyncio.gather(*(one(p) for p in pods), return_exceptions=True)
        errs = [r for r in results if isinstance(r, BaseException)]
        if errs:
            raise errs[0]
        return deleted


@register("job")
def _factory(ctx: ControllerContext) -> JobController:
    jobs = ctx.informers.informer(JOBS)
    pods = ctx.informers.informer(PODS, indexers={OWNER_INDEX: index_by_owner_uid})
    return JobController(ctx.client, jobs, pods, ctx.recorder(COMPONENT))
