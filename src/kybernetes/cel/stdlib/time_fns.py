"""timestamp() and duration() and their accessors (cel-spec standard definitions).

Kubernetes sets cel-go's DefaultUTCTimeZone, so accessors without a zone argument use UTC.
Month, day-of-month and day-of-year are 0-based as in the spec; getDate is 1-based; Sunday is
day 0 of the week.
"""

from __future__ import annotations

import datetime
from typing import Any

from kybernetes.cel import timeutil
from kybernetes.cel.stdlib import define
from kybernetes.cel.values import NoSuchOverload

_TS = datetime.datetime
_DUR = datetime.timedelta


def timestamp(v: Any) -> datetime.datetime:
    if type(v) is _TS:
        return v
    if type(v) is str:
        return timeutil.parse_timestamp(v)
    if type(v) is int:
        return timeutil.from_unix(v)
    raise NoSuchOverload("timestamp", v)


def duration(v: Any) -> datetime.timedelta:
    if type(v) is _DUR:
        return v
    if type(v) is str:
        return timeutil.check_duration(timeutil.parse_duration(v))
    raise NoSuchOverload("duration", v)


define("timestamp", timestamp, "timestamp(string) -> timestamp", "timestamp(timestamp) -> timestamp",
       "timestamp(int) -> timestamp")  # fmt: skip
define("duration", duration, "duration(string) -> duration", "duration(duration) -> duration")


def _local(name: str, ts: Any, tz: Any) -> datetime.datetime:
    if type(ts) is not _TS or (tz is not None and type(tz) is not str):
        raise NoSuchOverload(name, ts, *(() if tz is None else (tz,)))
    return ts.astimezone(timeutil.UTC if tz is None else timeutil.zone(tz))


def _accessor(name: str, of_ts: Any, of_dur: Any = None) -> None:
    def access(v: Any, tz: Any = None) -> int:
        if of_dur is not None and type(v) is _DUR and tz is None:
            return int(of_dur(v))
        return int(of_ts(_local(name, v, tz)))

    sigs = [f"<timestamp>.{name}() -> int", f"<timestamp>.{name}(string) -> int"]
    if of_dur is not None:
        sigs.append(f"<duration>.{name}() -> int")
    define(name, access, *sigs)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // b
    return q if a >= 0 else -q


def _micros(d: datetime.timedelta) -> int:
    return (d.days * 86400 + d.seconds) * 10**6 + d.microseconds


_accessor("getFullYear", lambda t: t.year)
_accessor("getMonth", lambda t: t.month - 1)
_accessor("getDayOfYear", lambda t: t.timetuple().tm_yday - 1)
_accessor("getDayOfMonth", lambda t: t.day - 1)
_accessor("getDate", lambda t: t.day)
_accessor("getDayOfWeek", lambda t: (t.weekday() + 1) % 7)
_accessor("getHours", lambda t: t.hour, lambda d: _trunc_div(_micros(d), 3600 * 10**6))
_accessor("getMinutes", lambda t: t.minute, lambda d: _trunc_div(_micros(d), 60 * 10**6))
_accessor("getSeconds", lambda t: t.second, lambda d: _trunc_div(_micros(d), 10**6))
_accessor("getMilliseconds", lambda t: t.microsecond // 1000, lambda d: _trunc_div(_micros(d), 1000) % 1000
          if _micros(d) >= 0 else -(_trunc_div(-_micros(d), 1000) % 1000))  # fmt: skip
