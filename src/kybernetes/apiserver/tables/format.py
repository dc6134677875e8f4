"""Small formatting rules shared by the table printers.

kubectl prints the server's cells verbatim, so every string here has to come out exactly as
upstream's printers write it: the age format, ``<none>``/``<unknown>`` placeholders, label and
selector strings, "a,b,c + N more..." lists. Each helper is a pure function of plain JSON values.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

Obj = dict[str, Any]

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"


def human_duration(seconds: float) -> str:
    """Render an elapsed time with two or three significant figures, as upstream's
    ``duration.HumanDuration``: "59s", "2m3s", "10m", "3h4m", "2d3h", "10d", "2y37d", "9y".

    Up to one second in the future still reads "0s" (clock skew between machines); further
    in the future is "<invalid>".
    """
    whole = math.trunc(seconds)  # Go's int(d.Seconds()) truncates toward zero
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years = days // 365
    if hours < 24 * 365 * 8:
        rest = days % 365
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``metav1.Time`` or ``MicroTime``) as an aware datetime; None when
    absent or unparseable (upstream's zero time)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=UTC)


def since(value: Any, now: datetime) -> str:
    """Time elapsed from a timestamp to now; "<unknown>" for a missing timestamp."""
    ts = value if isinstance(value, datetime) else parse_time(value)
    if ts is None:
        return UNKNOWN
    return human_duration((_aware(now) - ts).total_seconds())


def between(start: datetime, end: datetime) -> str:
    return human_duration((end - start).total_seconds())


def age(obj: Obj, now: datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


def created_at(obj: Obj) -> str:
    """The default table's "Created At" cell: RFC 3339 in UTC, second precision."""
    ts = parse_time(meta(obj).get("creationTimestamp"))
    if ts is None:
        return "0001-01-01T00:00:00Z"  # Go's zero time, formatted
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- object access ---------------------------------------------------------------------------

def meta(obj: Obj) -> Obj:
    m = obj.get("metadata")
    return m if isinstance(m, dict) else {}


def name(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def dig(obj: Any, *path: str) -> Any:
    """obj[path[0]][path[1]]..., or None as soon as a step is missing or not a mapping."""
    cur = obj
    for key in path:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    return cur


def as_dict(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def as_int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    return default


def quantity(value: Any) -> str:
    """A resource quantity as text; a missing one prints as Go's zero Quantity, "0".

    Quantities are printed as stored; canonical re-formatting belongs to the quantity parser.
    """
    if value is None or value == "":
        return "0"
    return str(value)


# --- labels and selectors --------------------------------------------------------------------

def format_labels(labels: Any) -> str:
    """``k=v`` pairs sorted by key, comma-joined; "<none>" when empty."""
    if not isinstance(labels, Mapping) or not labels:
        return NONE
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


class SelectorError(ValueError):
    pass


def selector_string(selector: Any) -> str:
    """A metav1.LabelSelector as the label-selector query string ("" selects everything or
    nothing). Requirements are sorted by key; set values are sorted."""
    if not isinstance(selector, Mapping):
        return ""
    reqs: list[tuple[str, str]] = []
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise SelectorError("matchLabels must be a map")
    for key, value in match_labels.items():
        reqs.append((str(key), f"{key}={value}"))
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping):
            raise SelectorError("matchExpressions entries must be objects")
        key = str(expr.get("key", ""))
        op = expr.get("operator")
        values = sorted(str(v) for v in (expr.get("values") or []))
        if op == "In":
            reqs.append((key, f"{key} in ({','.join(values)})"))
        elif op == "NotIn":
            reqs.append((key, f"{key} notin ({','.join(values)})"))
        elif op == "Exists":
            reqs.append((key, key))
        elif op == "DoesNotExist":
            reqs.append((key, f"!{key}"))
        else:
            raise SelectorError(f"{op!r} is not a valid label selector operator")
    reqs.sort(key=lambda r: r[0])
    return ",".join(text for _, text in reqs)


def format_selector(selector: Any) -> str:
    """upstream's FormatLabelSelector: the query string, "<none>" when empty, "<error>" when
    the selector cannot be parsed."""
    try:
        text = selector_string(selector)
    except SelectorError:
        return "<error>"
    return text or NONE


# --- lists -----------------------------------------------------------------------------------

def containers_cells(containers: Any) -> tuple[str, str]:
    """(names, images) of a container list, each comma-joined."""
    items = [as_dict(c) for c in as_list(containers)]
    return (
        ",".join(str(c.get("name", "")) for c in items),
        ",".join(str(c.get("image", "")) for c in items),
    )


def list_with_more(items: Iterable[str], *, limit: int = 3, empty: str = UNSET) -> str:
    """The first `limit` items comma-joined, then " + N more..." for the rest."""
    all_items = list(items)
    shown = ",".join(all_items[:limit])
    if len(all_items) > limit:
        return f"{shown} + {len(all_items) - limit} more..."
    return shown or empty


def bool_ptr(value: Any) -> str:
    if value is None:
        return UNSET
    return "True" if value else "False"
