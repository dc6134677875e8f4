"""Wall-clock times as the API writes them, for pure functions (the kubelet, the simulator).

Callers reason in epoch seconds (floats) and writes RFC 3339 strings: whole seconds for
``metav1.Time`` fields (startTime, conditions, container states) and microseconds for
``metav1.MicroTime`` (a Lease's renewTime). Parsing accepts both forms and fractional seconds.
"""

from __future__ import annotations

import datetime as dt


def rfc3339(t: float) -> str:
    """``metav1.Time``: whole seconds, UTC (fractions are dropped, as the API would)."""
    return dt.datetime.fromtimestamp(int(t), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(t: float) -> str:
    """``metav1.MicroTime``: microseconds, UTC."""
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp (``Z`` or an offset; fractions allowed)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()
