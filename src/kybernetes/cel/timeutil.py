"""Timestamps and durations as CEL has them: RFC 3339 text, Go duration strings, ranges.

CEL timestamps run from year 1 to 9999 (UTC) and durations are bounded by about ±10000 years
(protobuf Duration). Python's datetime resolution is microseconds, so nanosecond digits in input
are truncated; that is the one place this implementation is coarser than cel-go.
"""

from __future__ import annotations

import datetime
import re
import zoneinfo

from kybernetes.cel.errors import EvalError
from kybernetes.util.goduration import parse_go_duration_ns

UTC = datetime.UTC
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
_MAX_DURATION = datetime.timedelta(seconds=315576000000)
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$"
)


def parse_timestamp(text: str) -> datetime.datetime:
    m = _RFC3339.match(text)
    if m is None:
        raise EvalError(f'cannot parse "{text}" as a timestamp')
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micros = int((m.group(7) or "0").ljust(9, "0")[:6])
    if m.group(8):
        tz: datetime.tzinfo = UTC
    else:
        offset = datetime.timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        tz = datetime.timezone(-offset if m.group(9) == "-" else offset)
    try:
        value = datetime.datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise EvalError(f'cannot parse "{text}" as a timestamp') from None


def from_unix(seconds: int) -> datetime.datetime:
    try:
        return _EPOCH + datetime.timedelta(seconds=seconds)
    except OverflowError:
        raise EvalError("timestamp overflow") from None


def unix_seconds(ts: datetime.datetime) -> int:
    delta = ts - _EPOCH
    return delta.days * 86400 + delta.seconds


def format_timestamp(ts: datetime.datetime) -> str:
    ts = ts.astimezone(UTC)
    base = ts.strftime("%Y-%m-%dT%H:%M:%S")
    if ts.microsecond:
        base += "." + f"{ts.microsecond:06d}".rstrip("0")
    return base + "Z"


def parse_duration(text: str) -> datetime.timedelta:
    """Go's time.ParseDuration ("1h30m", "-1.5s", "300ms", "0"), kept to microseconds."""
    try:
        nanos = parse_go_duration_ns(text)
    except ValueError as e:
        raise EvalError(str(e)) from None
    return datetime.timedelta(microseconds=nanos // 1000)


def format_duration(d: datetime.timedelta) -> str:
    """cel-go prints durations as seconds with up to 9 fractional digits and an "s"."""
    micros = (d.days * 86400 + d.seconds) * 10**6 + d.microseconds
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    whole, frac = divmod(micros, 10**6)
    text = str(whole)
    if frac:
        text += "." + f"{frac:06d}".rstrip("0")
    return f"{sign}{text}s"


def total_nanos(d: datetime.timedelta) -> int:
    return ((d.days * 86400 + d.seconds) * 10**6 + d.microseconds) * 1000


def check_duration(d: datetime.timedelta) -> datetime.timedelta:
    if abs(d) > _MAX_DURATION:
        raise EvalError("duration out of range")
    return d


def check_timestamp(ts: datetime.datetime, delta: datetime.timedelta) -> datetime.datetime:
    try:
        return ts + delta
    except OverflowError:
        raise EvalError("timestamp out of range") from None


def zone(name: str) -> datetime.tzinfo:
    """A timezone from an IANA name ("America/New_York") or a fixed offset ("+05:30", "-08:00")."""
    m = re.fullmatch(r"([+-])?(\d{1,2}):(\d{2})", name)
    if m is not None:
        offset = datetime.timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        return datetime.timezone(-offset if m.group(1) == "-" else offset)
    if name.upper() == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise EvalError(f"unknown time zone {name}") from None
