"""The CronJob controller: creates a Job for each scheduled time, as upstream's (v2) cronjob controller.

Theory of operation. ``sync(cronjob)``:

1. Reconciles ``status.active`` with the Jobs the CronJob owns: finished Jobs leave it (event
   SawCompletedJob; a Complete one advances ``lastSuccessfulTime``), running Jobs it does not list
   join it, listed Jobs that no longer exist leave it (MissingJob).
2. Finds the most recent scheduled time in (lastScheduleTime or creation, now], no earlier than
   ``startingDeadlineSeconds`` ago; more than 100 missed times give a TooManyMissedTimes warning.
3. Unless suspended, too late (past the starting deadline: MissSchedule), already done (a Job
   named ``<cronjob>-<minutes since epoch>`` exists) or forbidden (Forbid with an active Job:
   JobAlreadyActive), creates that Job (Replace first deletes the active ones) and records it in
   ``status.active`` and ``lastScheduleTime``.
4. Deletes the oldest finished Jobs beyond the history limits, and requeues itself for the next
   scheduled time.

The Job name fixes the scheduled time, so a controller killed between creating the Job and
writing status finds the Job at its next sync and does not create a second one.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import (
    APIClient,
    Controller,
    EventRecorder,
    Informer,
    is_already_exists,
    is_conflict,
    is_not_found,
)
from kybernetes.client.rest import ResourceLike
from kybernetes.client.store import index_by_owner_uid
from kybernetes.controllers import cron, rfc3339
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.cronjob")

CRONJOBS: ResourceLike = lookup("batch", "v1", "cronjobs")  # type: ignore[assignment]
JOBS: ResourceLike = lookup("batch", "v1", "jobs")  # type: ignore[assignment]
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
OWNER_INDEX = "ownerUID"
COMPONENT = "cronjob-controller"

Obj = dict[str, Any]


# --- pure helpers ----------------------------------------------------------------------------------------
def job_name(cronjob_name: str, scheduled: dt.datetime) -> str:
    return f"{cronjob_name}-{int(scheduled.timestamp()) // 60}"


def finished_type(job: Mapping[str, Any]) -> str:
    """"Complete" or "Failed" when the Job finished, else ""."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return ""


def job_from_template(cj: Mapping[str, Any], scheduled: dt.datetime, tz: dt.tzinfo) -> Obj:
    meta = cj.get("metadata") or {}
    template = copy.deepcopy((cj.get("spec") or {}).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_ANNOTATION] = cron.go_rfc3339(scheduled.astimezone(tz))
    jmeta: Obj = {
        "name": job_name(str(meta.get("name") or ""), scheduled),
        "namespace": meta.get("namespace"),
        "annotations": annotations,
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": meta.get("name"),
                             "uid": meta.get("uid"), "controller": True, "blockOwnerDeletion": True}],
    }
    if tmeta.get("labels"):
        jmeta["labels"] = dict(tmeta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": jmeta, "spec": template.get("spec") or {}}


def job_ref(job: Mapping[str, Any]) -> Obj:
    meta = job.get("metadata") or {}
    return {"kind": "Job", "namespace": meta.get("namespace"), "name": meta.get("name"), "uid": meta.get("uid"),
            "apiVersion": "batch/v1", "resourceVersion": meta.get("resourceVersion")}


def _start_of(job: Mapping[str, Any]) -> str:
    return str((job.get("status") or {}).get("startTime") or (job.get("metadata") or {}).get("creationTimestamp") or "")


def history_to_delete(jobs: Sequence[Mapping[str, Any]], successful_limit: int | None,
                      failed_limit: int | None) -> list[Obj]:
    """The oldest finished Jobs beyond each history limit (no limit: keep all)."""
    out: list[Obj] = []
    for kind, limit in (("Complete", successful_limit), ("Failed", failed_limit)):
        if limit is None:
            continue
        done = sorted((j for j in jobs if finished_type(j) == kind), key=_start_of)
        if len(done) > limit:
            out.extend(dict(j) for j in done[:len(done) - limit])
    return out


@dataclass
class Reconciled:
    active: list[Obj]
    last_successful: str | None
    events: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[Obj] = field(default_factory=list)  # listed refs without a cached Job (to verify)


def reconcile_active(cj: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> Reconciled:
    st = cj.get("status") or {}
    refs = [dict(r) for r in st.get("active") or []]
    listed = {r.get("uid") for r in refs}
    by_uid = {(j.get("metadata") or {}).get("uid"): j for j in jobs}
    last_ok = st.get("lastSuccessfulTime")
    out = Reconciled(active=[], last_successful=last_ok)
    for j in sorted(jobs, key=lambda j: str((j.get("metadata") or {}).get("name"))):
        meta = j.get("metadata") or {}
        done = finished_type(j)
        if not done and meta.get("uid") not in listed:
            out.events.append(("Warning", "UnexpectedJob",
                               f"Saw a job that the controller did not create or forgot: {meta.get('name')}"))
            refs.append(job_ref(j))
        elif done and meta.get("uid") in listed:
            out.events.append(("Normal", "SawCompletedJob", f"Saw completed job: {meta.get('name')}, status: {done}"))
        if done == "Complete":
            ct = (j.get("status") or {}).get("completionTime")
            new, old = rfc3339.parse(ct), rfc3339.parse(out.last_successful)
            if new is not None and (old is None or new > old):
                out.last_successful = ct
    for r in refs:
        found = by_uid.get(r.get("uid"))
        if found is None:
            out.missing.append(r)
            out.active.append(r)
        elif not finished_type(found):
            out.active.append(r)
    return out


# --- the loop ------------------------------------------------------------------------------------------------
class CronJobController:
    def __init__(self, client: APIClient, cronjobs: Informer, jobs: Informer, recorder: EventRecorder) -> None:
        self.client = client
        self.cronjobs = cronjobs
        self.jobs = jobs
        self.recorder = recorder
        self.controller = Controller("cronjob", self.sync, workers=2)
        cronjobs.add_handlers(self.controller.handlers())
        jobs.add_handlers(on_add=self._job_changed, on_update=lambda _o, n: self._job_changed(n),
                          on_delete=self._job_changed)

    async def run(self) -> None:
        await self.controller.run()

    def _job_changed(self, job: Obj) -> None:
        for ref in (job.get("metadata") or {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "CronJob":
                self.controller.queue.add(f"{job['metadata'].get('namespace')}/{ref.get('name')}")

    def _owned_jobs(self, cj: Obj) -> list[Obj]:
        u = (cj.get("metadata") or {}).get("uid")
        return [j for j in self.jobs.store.by_index(OWNER_INDEX, str(u))
                if any(r.get("controller") and r.get("uid") == u for r in j["metadata"].get("ownerReferences") or [])]

    async def sync(self, key: str) -> None:
        try:
            await self._sync(key)
        except Exception as e:
            if not is_conflict(e):
                raise
            # A write raced a newer version (our cache was behind): retry later, quietly.
            self.controller.queue.add_rate_limited(key)

    async def _sync(self, key: str) -> None:
        cached = self.cronjobs.store.get(key)
        if cached is None:
            return
        cj = copy.deepcopy(cached)
        meta = cj["metadata"]
        now = rfc3339.now()
        jobs = self._owned_jobs(cj)

        rec = reconcile_active(cj, jobs)
        active = []
        for r in rec.active:
            if r in rec.missing:
                try:
                    await self.client.get(JOBS, str(r.get("name")), namespace=meta.get("namespace", ""))
                except Exception as e:
                    if is_not_found(e):
                        rec.events.append(("Normal", "MissingJob", f"Active job went missing: {r.get('name')}"))
                        continue
                    raise
            active.append(r)
        status = copy.deepcopy(cj.get("status") or {})
        status["active"] = active
        if rec.last_successful:
            status["lastSuccessfulTime"] = rec.last_successful
        for ev in rec.events:
            self.recorder.event(cj, *ev)

        requeue: float | None = None
        try:
            requeue = await self._schedule(cj, status, jobs, now)
        finally:
            if not status.get("active"):
                status.pop("active", None)
            if status != (cj.get("status") or {}):
                cj = await self.client.update_status(CRONJOBS, dict(cj, status=status))
        await self._clean_history(cj, self._owned_jobs(cj))
        if requeue is not None:
            self.controller.queue.add_after(key, requeue)

    async def _schedule(self, cj: Obj, status: Obj, jobs: list[Obj], now: dt.datetime) -> float | None:
        """Create the Job of the most recent scheduled time if it is due; the seconds until the next."""
        meta = cj["metadata"]
        spec = cj.get("spec") or {}
        if meta.get("deletionTimestamp"):
            return None
        try:
            tz = cron.zone(spec.get("timeZone"))
        except cron.ScheduleError as e:
            self.recorder.event(cj, "Warning", "UnknownTimeZone", f"invalid timeZone: {spec.get('timeZone')!r}: {e}")
            return None
        try:
            schedule = cron.parse(str(spec.get("schedule") or ""))
        except cron.ScheduleError as e:
            self.recorder.event(cj, "Warning", "UnparseableSchedule",
                                f"unparseable schedule: {spec.get('schedule')!r} : {e}")
            return None
        nxt = schedule.next(now, tz)
        until_next = (nxt - now).total_seconds() + 0.1 if nxt is not None else None
        if spec.get("suspend"):
            return None
        earliest = rfc3339.parse(status.get("lastScheduleTime")) or rfc3339.parse(meta.get("creationTimestamp")) or now
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now - dt.timedelta(seconds=int(deadline)))
        missed = cron.most_recent(schedule, earliest, now, tz)
        if missed.count > 100:
            self.recorder.event(cj, "Warning", "TooManyMissedTimes",
                                f"too many missed start times: {missed.count}. Set or decrease "
                                ".spec.startingDeadlineSeconds or check clock skew")
        scheduled = missed.most_recent
        if scheduled is None:
            return until_next
        if deadline is not None and scheduled + dt.timedelta(seconds=int(deadline)) < now:
            self.recorder.event(cj, "Warning", "MissSchedule",
                                f"Missed scheduled time to start a job: {cron.go_rfc3339(scheduled.astimezone(tz))}")
            return until_next
        name = job_name(str(meta.get("name")), scheduled)
        if any(j["metadata"].get("name") == name for j in jobs) or any(r.get("name") == name for r in status.get("active") or []):
            # Created before a crash or a lost status write: only catch lastScheduleTime up.
            last = rfc3339.parse(status.get("lastScheduleTime"))
            if last is None or last < scheduled:
                status["lastScheduleTime"] = rfc3339.fmt(scheduled)
            return until_next
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and status.get("active"):
            self.recorder.event(cj, "Normal", "JobAlreadyActive",
                                "Not starting job because prior execution is running and concurrency policy is Forbid")
            return until_next
        if policy == "Replace":
            for r in list(status.get("active") or []):
                try:
                    await self.client.delete(JOBS, str(r.get("name")), namespace=meta.get("namespace", ""),
                                             propagation_policy="Background")
                except Exception as e:
                    if not is_not_found(e):
                        raise
                self.recorder.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {r.get('name')}")
                status["active"] = [a for a in status.get("active") or [] if a.get("uid") != r.get("uid")]
        body = job_from_template(cj, scheduled, tz)
        try:
            job = await self.client.create(JOBS, body)
        except Exception as e:
            if not is_already_exists(e):
                self.recorder.event(cj, "Warning", "FailedCreate", f"Error creating job: {e}")
                raise
            job = await self.client.get(JOBS, name, namespace=meta.get("namespace", ""))
            if not any(r.get("uid") == meta.get("uid") for r in job["metadata"].get("ownerReferences") or []):
                return until_next  # someone else's Job holds the name
        else:
            self.recorder.event(cj, "Normal", "SuccessfulCreate", f"Created job {name}")
        if not finished_type(job) and not any(r.get("uid") == job["metadata"].get("uid") for r in status.get("active") or []):
            status["active"] = [*(status.get("active") or []), job_ref(job)]
        status["lastScheduleTime"] = rfc3339.fmt(scheduled)
        return until_next

    async def _clean_history(self, cj: Obj, jobs: list[Obj]) -> None:
        spec = cj.get("spec") or {}
        for j in history_to_delete(jobs, spec.get("successfulJobsHistoryLimit"), spec.get("failedJobsHistoryLimit")):
            name = j["metadata"]["name"]
            try:
                await self.client.delete(JOBS, name, namespace=j["metadata"].get("namespace", ""),
                                         propagation_policy="Background")
            except Exception as e:
                if not is_not_found(e):
                    raise
                continue
            self.recorder.event(cj, "Normal", "SuccessfulDelete", f"Deleted job {name}")


@register("cronjob")
def _factory(ctx: ControllerContext) -> CronJobController:
    cronjobs = ctx.informers.informer(CRONJOBS)
    jobs = ctx.informers.informer(JOBS, indexers={OWNER_INDEX: index_by_owner_uid})
    return CronJobController(ctx.client, cronjobs, jobs, ctx.recorder(COMPONENT))
