"""Timestamps as the API writes them (RFC 3339, UTC, whole seconds) for the batch and node loops.

Controllers compare creation, start and finish times of objects with "now"; they all need the same
two conversions, and a malformed or missing stamp must read as "unknown" (None), never raise.
"""

from __future__ import annotations

import datetime as dt


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fmt(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)
