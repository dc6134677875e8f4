"""Our Job controller against a server that validates Job status writes (1.32 rules): a suspend
and resume keeps every write valid, and a client undoing a terminal condition is refused."""

from __future__ import annotations

from typing import Any

import pytest
from test_job_controller_api import JOBS, Cluster, cluster, job

from kybernetes.client import APIError

__all__ = ["cluster"]  # the fixture, shared with the Job controller's API tests

Obj = dict[str, Any]


async def _started(c: Cluster, name: str) -> Obj | None:
    st = (await c.job(name)).get("status") or {}
    return st if st.get("startTime") and st.get("active") else None


async def test_suspend_resume_then_complete(cluster: Cluster) -> None:
    await cluster.client.create(JOBS, job("sr"), namespace=cluster.ns)
    first = await cluster.until(lambda: _started(cluster, "sr"), "a started job")
    await cluster.client.patch(JOBS, "sr", {"spec": {"suspend": True}}, namespace=cluster.ns)

    async def suspended() -> Obj | None:
        st = (await cluster.job("sr")).get("status") or {}
        c = await cluster.condition("sr", "Suspended")
        return (
            st if c and c["status"] == "True" and not st.get("startTime") and not st.get("active") else None
        )

    await cluster.until(suspended, "suspended with startTime cleared")
    await cluster.client.patch(JOBS, "sr", {"spec": {"suspend": False}}, namespace=cluster.ns)
    resumed = await cluster.until(lambda: _started(cluster, "sr"), "a resumed job")
    assert resumed["startTime"] >= first["startTime"]
    cond = await cluster.condition("sr", "Suspended")
    assert cond is not None and cond["status"] == "False" and cond["reason"] == "JobResumed"

    async def running_pod() -> Obj | None:
        live = [p for p in await cluster.pods("sr") if not p["metadata"].get("deletionTimestamp")]
        return live[0] if live else None

    await cluster.finish(await cluster.until(running_pod, "a pod after resume"), 0)
    await cluster.until(lambda: cluster.condition("sr", "Complete"), "Complete")
    st = (await cluster.job("sr"))["status"]
    assert st["completionTime"] >= st["startTime"] and not st.get("active")

    done = await cluster.job("sr")
    done["status"]["conditions"] = [c for c in done["status"]["conditions"] if c["type"] != "Complete"]
    with pytest.raises(APIError) as err:
        await cluster.client.update_status(JOBS, done, namespace=cluster.ns)
    assert err.value.code == 422
    causes = err.value.status["details"]["causes"]
    assert {
        "reason": "FieldValueInvalid",
        "field": "status.conditions",
        "message": "Invalid value: cannot disable the terminal Complete=True condition",
    } in causes
