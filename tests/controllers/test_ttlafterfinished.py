"""TTL-after-finished expiry table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kybernetes.controllers.ttlafterfinished import time_left

NOW = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)


def job(ttl: int | None, cond: str | None, *, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "j"}
    if deleting:
        meta["deletionTimestamp"] = "2024-05-01T12:00:00Z"
    conds = [{"type": cond, "status": "True", "lastTransitionTime": "2024-05-01T11:59:00Z"}] if cond else []
    return {"metadata": meta, "spec": {} if ttl is None else {"ttlSecondsAfterFinished": ttl},
            "status": {"conditions": conds}}


@pytest.mark.parametrize(("j", "want"), [
    (job(None, "Complete"), None),
    (job(100, None), None),
    (job(100, "Complete"), 40.0),
    (job(30, "Failed"), -30.0),
    (job(0, "Complete"), -60.0),
    (job(0, "Complete", deleting=True), None),
], ids=["no-ttl", "running", "complete-later", "failed-expired", "zero", "deleting"])
def test_time_left(j: dict[str, Any], want: float | None) -> None:
    assert time_left(j, NOW) == want
