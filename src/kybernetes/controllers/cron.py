"""Cron schedules as the CronJob controller reads them (the robfig/cron "standard" parser's rules).

Syntax: five fields ``minute hour day-of-month month day-of-week`` or a descriptor.

- Fields: ``*`` or ``?`` (any), ``N``, ``A-B``, ``*/S``, ``A-B/S``, ``N/S`` (= ``N-max/S``), lists with
  ``,``. Months take ``jan``..``dec``, weekdays ``sun``..``sat`` (any case); weekdays are 0-6, 0 = Sunday.
- Descriptors: ``@yearly`` ``@annually`` ``@monthly`` ``@weekly`` ``@daily`` ``@midnight`` ``@hourly`` and
  ``@every <duration>`` (Go duration syntax, whole seconds, at least 1 s).
- Day matching: when day-of-month or day-of-week is unrestricted (``*``/``?``, step 1), both must
  match; when both are restricted, either may (Vixie cron's rule, as robfig).

Times are wall-clock times in the schedule's zone: a time that does not exist on a spring-forward
day is skipped, a time that exists twice on a fall-back day fires twice (once per UTC instant).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

MAX_YEARS = 5  # no schedule further out than this is searched (as robfig)

_MONTHS = {n: i + 1 for i, n in enumerate(("jan", "feb", "mar", "apr", "may", "jun",
                                             "jul", "aug", "sep", "oct", "nov", "dec"))}
_DAYS = {n: i for i, n in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}


class ScheduleError(ValueError):
    """The schedule cannot be parsed; the message says why."""


@dataclass(frozen=True, slots=True)
class _Field:
    values: frozenset[int]
    star: bool  # unrestricted ("*" or "?" with step 1)


@dataclass(frozen=True, slots=True)
class Schedule:
    minutes: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    dom: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    dow: frozenset[int] = frozenset()
    dom_star: bool = False
    dow_star: bool = False
    every: float = 0.0  # seconds, for "@every"

    def day_matches(self, d: dt.date) -> bool:
        dom_ok = d.day in self.dom
        dow_ok = (d.weekday() + 1) % 7 in self.dow
        if self.dom_star or self.dow_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok

    def next(self, t: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime | None:
        """The first activation strictly after `t` (an aware datetime), in `tz` (default UTC);
        None if there is none within MAX_YEARS."""
        zone = tz or dt.UTC
        if self.every:
            base = t.replace(microsecond=0)
            return (base + dt.timedelta(seconds=self.every)).astimezone(zone)
        local = t.astimezone(zone)
        # Start from the next whole minute of wall-clock time, one hour early to catch a repeated
        # (fall-back) hour whose second occurrence is still ahead of `t` in absolute time.
        start = local.replace(second=0, microsecond=0, tzinfo=None) - dt.timedelta(hours=1)
        day = start.date()
        last = day.replace(year=day.year + MAX_YEARS) if not (day.month == 2 and day.day == 29) \
            else day.replace(year=day.year + MAX_YEARS, day=28)
        while day <= last:
            if day.month not in self.months:
                day = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
                continue
            if not self.day_matches(day):
                day += dt.timedelta(days=1)
                continue
            best: dt.datetime | None = None
            for h in self.hours:
                for m in self.minutes:
                    wall = dt.datetime(day.year, day.month, day.day, h, m)
                    if wall < start:
                        continue
                    for fold in (0, 1):
                        cand = wall.replace(tzinfo=zone, fold=fold)
                        # Skip wall times that do not exist (they round-trip to another time).
                        back = cand.astimezone(dt.UTC).astimezone(zone)
                        if back.replace(tzinfo=None) != wall:
                            continue
                        if cand > t and (best is None or cand < best):
                            best = cand
                if best is not None:
                    return best.astimezone(zone)
            day += dt.timedelta(days=1)
        return None


def _parse_int(text: str, names: dict[str, int] | None) -> int:
    if names and text.lower() in names:
        return names[text.lower()]
    if not re.fullmatch(r"\d+", text):
        raise ScheduleError(f"failed to parse int from {text}: strconv.Atoi: parsing {text!r}: invalid syntax")
    return int(text)


def _parse_field(expr: str, lo: int, hi: int, names: dict[str, int] | None = None) -> _Field:
    values: set[int] = set()
    star = False
    for part in expr.split(","):
        range_part, slash, step_text = part.partition("/")
        if range_part in ("*", "?"):
            start, end, is_star = lo, hi, True
        else:
            a, dash, b = range_part.partition("-")
            start = _parse_int(a, names)
            end = _parse_int(b, names) if dash else start
            is_star = False
            if slash and not dash:
                end = hi  # "N/S" means "N-max/S"
        step = 1
        if slash:
            step = _parse_int(step_text, None)
            if step > 1:
                is_star = False
        if start < lo:
            raise ScheduleError(f"beginning of range ({start}) below minimum ({lo}): {part}")
        if end > hi:
            raise ScheduleError(f"end of range ({end}) above maximum ({hi}): {part}")
        if start > end:
            raise ScheduleError(f"beginning of range ({start}) beyond end of range ({end}): {part}")
        if step == 0:
            raise ScheduleError(f"step of range should be a positive number: {part}")
        values.update(range(start, end + 1, step))
        star = star or is_star
    return _Field(frozenset(values), star)


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """A Go duration ("1h30m", "90s", "1.5h") in seconds."""
    pos = 0
    total = 0.0
    if not text:
        raise ScheduleError(f'time: invalid duration "{text}"')
    while pos < len(text):
        m = _DURATION.match(text, pos)
        if m is None:
            raise ScheduleError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


def parse(spec: str) -> Schedule:
    """Parse a standard cron spec or descriptor; raises ScheduleError."""
    text = spec.strip()
    if not text:
        raise ScheduleError("empty spec string")
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ScheduleError("time zones in the schedule are not supported; use spec.timeZone")
    if text.startswith("@every "):
        seconds = parse_duration(text[len("@every "):].strip())
        seconds = max(float(int(seconds)), 1.0)  # whole seconds, at least one
        return Schedule(every=seconds)
    if text.startswith("@"):
        if text not in _DESCRIPTORS:
            raise ScheduleError(f"unrecognized descriptor: {text}")
        text = _DESCRIPTORS[text]
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    minute = _parse_field(fields[0], 0, 59)
    hour = _parse_field(fields[1], 0, 23)
    dom = _parse_field(fields[2], 1, 31)
    month = _parse_field(fields[3], 1, 12, _MONTHS)
    dow = _parse_field(fields[4], 0, 6, _DAYS)
    return Schedule(minutes=tuple(sorted(minute.values)), hours=tuple(sorted(hour.values)), dom=dom.values,
                    months=month.values, dow=dow.values, dom_star=dom.star, dow_star=dow.star)


def zone(name: str | None) -> dt.tzinfo:
    """The zone a CronJob's ``spec.timeZone`` names (None or "" = the controller's zone, UTC)."""
    if not name:
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as e:
        raise ScheduleError(f"unknown time zone {name}") from e


def go_rfc3339(t: dt.datetime) -> str:
    """Go's time.RFC3339 rendering: seconds precision, "Z" for UTC, else the ±hh:mm offset."""
    off = t.utcoffset()
    if off is None or off == dt.timedelta(0):
        return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.replace(microsecond=0).isoformat()


@dataclass(frozen=True, slots=True)
class Missed:
    most_recent: dt.datetime | None
    count: int  # how many activations were missed (an estimate above 100, as upstream)


def most_recent(schedule: Schedule, earliest: dt.datetime, now: dt.datetime,
                tz: dt.tzinfo | None = None) -> Missed:
    """The latest activation in (earliest, now] and how many there were."""
    t1 = schedule.next(earliest, tz)
    if t1 is None or t1 > now:
        return Missed(None, 0)
    t2 = schedule.next(t1, tz)
    if t2 is None or t2 > now:
        return Missed(t1, 1)
    count = 2
    last = t2
    while count <= 100:
        nxt = schedule.next(last, tz)
        if nxt is None or nxt > now:
            return Missed(last, count)
        last = nxt
        count += 1
    # Too many to walk: estimate the count from the first interval and search back from now.
    between = (t2 - t1).total_seconds()
    estimate = int((now - t1).total_seconds() // between) + 1 if between > 0 else count
    for window in (dt.timedelta(hours=2), dt.timedelta(days=2), dt.timedelta(days=62), dt.timedelta(days=740)):
        probe = max(now - window, last)
        found = None
        cur = schedule.next(probe, tz)
        while cur is not None and cur <= now:
            found = cur
            cur = schedule.next(cur, tz)
        if found is not None:
            return Missed(found, max(estimate, count))
    return Missed(last, max(estimate, count))
