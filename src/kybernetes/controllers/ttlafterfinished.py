"""TTL after finished: delete a finished Job ``spec.ttlSecondsAfterFinished`` seconds after it finished.

A Job is finished when its Complete or Failed condition is True; it finished at that condition's
lastTransitionTime. When the time comes the Job is read fresh from the API (the TTL may have been
changed, or the Job replaced under the same name) and deleted with Foreground propagation and a uid
precondition, as upstream: its pods go first, then the Job.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import APIClient, Controller, Informer, is_conflict, is_not_found
from kybernetes.client.rest import ResourceLike
from kybernetes.client.store import split_key
from kybernetes.controllers import rfc3339
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.ttlafterfinished")

JOBS: ResourceLike = lookup("batch", "v1", "jobs")  # type: ignore[assignment]


def finish_time(job: Mapping[str, Any]) -> dt.datetime | None:
    for c in (job.get("status") or {}).get("conditions") or []:
        if c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return rfc3339.parse(c.get("lastTransitionTime"))
    return None


def time_left(job: Mapping[str, Any], now: dt.datetime) -> float | None:
    """Seconds until the Job expires (<= 0: now); None when it never does (no TTL, not finished,
    already being deleted)."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or (job.get("metadata") or {}).get("deletionTimestamp"):
        return None
    done = finish_time(job)
    if done is None:
        return None
    return (done + dt.timedelta(seconds=int(ttl)) - now).total_seconds()


class TTLAfterFinished:
    def __init__(self, client: APIClient, jobs: Informer) -> None:
        self.client = client
        self.jobs = jobs
        self.controller = Controller("ttl-after-finished", self.sync, workers=2)
        jobs.add_handlers(self.controller.handlers())

    async def run(self) -> None:
        await self.controller.run()

    async def sync(self, key: str) -> None:
        job = self.jobs.store.get(key)
        if job is None:
            return
        left = time_left(job, rfc3339.now())
        if left is None:
            return
        if left > 0:
            self.controller.queue.add_after(key, left + 0.1)
            return
        ns, name = split_key(key)
        try:
            fresh = await self.client.get(JOBS, name, namespace=ns)
        except Exception as e:
            if is_not_found(e):
                return
            raise
        left = time_left(fresh, rfc3339.now())
        if left is None:
            return
        if left > 0:
            self.controller.queue.add_after(key, left + 0.1)
            return
        try:
            await self.client.delete(JOBS, name, namespace=ns, propagation_policy="Foreground",
                                     preconditions={"uid": fresh["metadata"].get("uid", "")})
            log.info("job %s expired after finishing; deleted", key)
        except Exception as e:
            if not (is_not_found(e) or is_conflict(e)):
                raise


@register("ttlafterfinished")
def _factory(ctx: ControllerContext) -> TTLAfterFinished:
    return TTLAfterFinished(ctx.client, ctx.informers.informer(JOBS))
