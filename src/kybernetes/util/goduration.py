"""Go's `time.Duration` as text: read (``time.ParseDuration``) and written (``Duration.String``).

Why: upstream's configuration (kubelet flags and config files, metrics-server's `window`,
kubectl's `--since`, CEL's `duration()`) takes durations in Go's syntax, and several status and
event texts print them the way Go does. One reader and one writer keep every component's grammar
and error text the same.

The grammar: an optional sign, then one or more ``<number><unit>`` with units ns, us (µs, μs),
ms, s, m, h and decimal numbers (``1.5h``, ``.5s``); ``0`` alone is zero. Values are exact
integer nanoseconds and must fit Go's int64.
"""

from __future__ import annotations

import re

MAX_NANOS = 2**63 - 1

_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_NANOS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_go_duration_ns(text: str) -> int:
    """Nanoseconds in a Go duration; ValueError ``time: invalid duration "<text>"`` when it is not one."""
    s = text
    negative = False
    if s[:1] in ("+", "-"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f'time: invalid duration "{text}"')
    nanos = pos = 0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        number, unit = m.group(1), m.group(2)
        whole, _, frac = number.partition(".")
        nanos += int(whole or "0") * _UNIT_NANOS[unit]
        if frac:
            nanos += int(frac) * _UNIT_NANOS[unit] // 10 ** len(frac)
        pos = m.end()
    if pos != len(s) or nanos > MAX_NANOS:
        raise ValueError(f'time: invalid duration "{text}"')
    return -nanos if negative else nanos


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration ("2m0s", "90s", "1h30m", "-1.5s"); ValueError when it is not one."""
    return parse_go_duration_ns(text) / 1e9


def format_go_duration(ns: int) -> str:
    """Go's ``Duration.String()``: "1h0m0s", "1m30s", "1.5s", "300ms", "0s"."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            return f"{sign}{_decimal(u, 3)}µs"
        return f"{sign}{_decimal(u, 6)}ms"
    secs, rest = divmod(u, 1_000_000_000)
    text = f"{secs % 60}"
    if rest:
        text += "." + f"{rest:09d}".rstrip("0")
    text += "s"
    minutes = secs // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        hours = minutes // 60
        if hours:
            text = f"{hours}h{text}"
    return sign + text


def _decimal(value: int, digits: int) -> str:
    """`value` / 10**digits with no trailing zeros ("1.5", "12")."""
    whole, rest = divmod(value, 10**digits)
    if not rest:
        return str(whole)
    return f"{whole}." + f"{rest:0{digits}d}".rstrip("0")
