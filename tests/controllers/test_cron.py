"""Cron parsing and next-activation tables (robfig "standard" rules), time zones and DST."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from kybernetes.controllers import cron

UTC = dt.UTC


def t(s: str, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime.fromisoformat(s).replace(tzinfo=tz)


@pytest.mark.parametrize(("spec", "after", "want"), [
    ("*/1 * * * *", "2024-01-01T10:00:30", "2024-01-01T10:01:00"),
    ("* * * * *", "2024-01-01T10:00:00", "2024-01-01T10:01:00"),
    ("*/15 * * * *", "2024-01-01T10:16:00", "2024-01-01T10:30:00"),
    ("5/20 * * * *", "2024-01-01T10:06:00", "2024-01-01T10:25:00"),
    ("0 9-17/4 * * *", "2024-01-01T09:00:00", "2024-01-01T13:00:00"),
    ("0 0 1,15 * *", "2024-01-02T00:00:00", "2024-01-15T00:00:00"),
    ("30 6 * jan,JUL *", "2024-02-01T00:00:00", "2024-07-01T06:30:00"),
    ("0 0 * * mon-fri", "2024-01-05T12:00:00", "2024-01-08T00:00:00"),  # Fri -> Mon
    ("0 0 * * sun", "2024-01-01T00:00:00", "2024-01-07T00:00:00"),
    ("0 0 ? * 0", "2024-01-01T00:00:00", "2024-01-07T00:00:00"),
    ("0 0 13 * 5", "2024-01-01T00:00:00", "2024-01-05T00:00:00"),  # both restricted: either (Friday 5th)
    ("0 0 29 2 *", "2024-03-01T00:00:00", "2028-02-29T00:00:00"),
    ("@hourly", "2024-01-01T10:59:59", "2024-01-01T11:00:00"),
    ("@daily", "2024-01-01T10:00:00", "2024-01-02T00:00:00"),
    ("@midnight", "2024-01-01T10:00:00", "2024-01-02T00:00:00"),
    ("@weekly", "2024-01-01T10:00:00", "2024-01-07T00:00:00"),
    ("@monthly", "2024-01-01T10:00:00", "2024-02-01T00:00:00"),
    ("@yearly", "2024-01-01T10:00:00", "2025-01-01T00:00:00"),
    ("@annually", "2024-06-01T00:00:00", "2025-01-01T00:00:00"),
    ("@every 90s", "2024-01-01T10:00:00.500000", "2024-01-01T10:01:30"),
    ("@every 1h30m", "2024-01-01T10:00:00", "2024-01-01T11:30:00"),
], ids=lambda v: str(v))
def test_next_utc(spec: str, after: str, want: str) -> None:
    assert cron.parse(spec).next(t(after)) == t(want)


@pytest.mark.parametrize(("spec", "error"), [
    ("", "empty spec string"),
    ("* * * *", "expected exactly 5 fields"),
    ("60 * * * *", "above maximum (59)"),
    ("* 24 * * *", "above maximum (23)"),
    ("* * 0 * *", "below minimum (1)"),
    ("* * * 13 *", "above maximum (12)"),
    ("* * * * 7", "above maximum (6)"),
    ("5-1 * * * *", "beyond end of range"),
    ("*/0 * * * *", "step of range should be a positive number"),
    ("x * * * *", "failed to parse int from x"),
    ("@fortnightly", "unrecognized descriptor"),
    ("@every soon", "invalid duration"),
    ("TZ=UTC * * * * *", "time zones in the schedule"),
], ids=lambda v: str(v))
def test_parse_errors(spec: str, error: str) -> None:
    with pytest.raises(cron.ScheduleError, match=re.escape(error)):
        cron.parse(spec)


BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(("spec", "tz", "after", "want_utc"), [
    # A plain zone shift: 09:00 Berlin in winter is 08:00 UTC.
    ("0 9 * * *", BERLIN, "2024-01-10T12:00:00+00:00", "2024-01-11T08:00:00"),
    # Spring forward (Berlin 2024-03-31 02:00 -> 03:00): 02:30 does not exist that day.
    ("30 2 * * *", BERLIN, "2024-03-30T12:00:00+00:00", "2024-04-01T00:30:00"),
    # Fall back (Berlin 2024-10-27 03:00 -> 02:00): 02:30 happens twice, both fire.
    ("30 2 * * *", BERLIN, "2024-10-26T12:00:00+00:00", "2024-10-27T00:30:00"),
    ("30 2 * * *", BERLIN, "2024-10-27T00:30:00+00:00", "2024-10-27T01:30:00"),
    ("30 2 * * *", BERLIN, "2024-10-27T01:30:00+00:00", "2024-10-28T01:30:00"),
    # New York hourly across spring forward: 01:00 EST, then 03:00 EDT (02:00 missing).
    ("0 * * * *", NEW_YORK, "2024-03-10T06:00:00+00:00", "2024-03-10T07:00:00"),
], ids=["winter-offset", "spring-gap", "fall-first", "fall-second", "fall-next-day", "ny-hourly-gap"])
def test_next_in_zone(spec: str, tz: dt.tzinfo, after: str, want_utc: str) -> None:
    got = cron.parse(spec).next(dt.datetime.fromisoformat(after), tz)
    assert got is not None
    assert got.astimezone(UTC) == t(want_utc)


@pytest.mark.parametrize(("spec", "earliest", "now", "want", "count"), [
    ("*/1 * * * *", "2024-01-01T10:00:00", "2024-01-01T10:00:59", None, 0),
    ("*/1 * * * *", "2024-01-01T10:00:00", "2024-01-01T10:01:05", "2024-01-01T10:01:00", 1),
    ("*/1 * * * *", "2024-01-01T10:00:00", "2024-01-01T10:05:05", "2024-01-01T10:05:00", 5),
    ("*/1 * * * *", "2024-01-01T10:00:00", "2024-01-01T14:00:00", "2024-01-01T14:00:00", 240),
    ("0 0 * * *", "2020-01-01T00:00:00", "2024-01-01T12:00:00", "2024-01-01T00:00:00", 1461),
], ids=["none-yet", "one", "five", "many-estimated", "years-of-days"])
def test_most_recent(spec: str, earliest: str, now: str, want: str | None, count: int) -> None:
    got = cron.most_recent(cron.parse(spec), t(earliest), t(now))
    assert got.most_recent == (t(want) if want else None)
    assert got.count == count


@pytest.mark.parametrize(("stamp", "tz", "want"), [
    ("2024-01-01T10:00:00+00:00", UTC, "2024-01-01T10:00:00Z"),
    ("2024-01-01T10:00:00+00:00", BERLIN, "2024-01-01T11:00:00+01:00"),
    ("2024-07-01T10:00:00+00:00", NEW_YORK, "2024-07-01T06:00:00-04:00"),
], ids=["utc", "berlin", "new-york"])
def test_go_rfc3339(stamp: str, tz: dt.tzinfo, want: str) -> None:
    assert cron.go_rfc3339(dt.datetime.fromisoformat(stamp).astimezone(tz)) == want


def test_unknown_zone() -> None:
    with pytest.raises(cron.ScheduleError):
        cron.zone("Mars/Olympus_Mons")
    assert cron.zone("") is UTC
