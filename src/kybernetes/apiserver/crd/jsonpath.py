"""The simple JSONPath of printer columns and scale paths: ``.spec.replicas``,
``.status.conditions[0].type``, ``.status.conditions[?(@.type=="Ready")].status``.

``{...}`` braces are accepted and ignored; anything fancier than child names, indexes and
equality filters finds nothing.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"""\.([^.\[\]]+)|\[(-?\d+)\]|\[\?\(@\.([^=!]+?)\s*==\s*["']?([^"']*?)["']?\)\]|\['([^']*)'\]""")


def parse(path: str) -> list[tuple[str, Any]] | None:
    """Steps of `path` ((kind, arg) with kind "key", "index" or "filter"), None if malformed."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("$"):
        text = text[1:]
    steps: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        m = _STEP.match(text, pos)
        if m is None:
            return None
        if m.group(1) is not None:
            steps.append(("key", m.group(1)))
        elif m.group(2) is not None:
            steps.append(("index", int(m.group(2))))
        elif m.group(3) is not None:
            steps.append(("filter", (m.group(3).strip(), m.group(4))))
        else:
            steps.append(("key", m.group(5)))
        pos = m.end()
    return steps


def find(obj: Any, path: str) -> list[Any]:
    """The values `path` selects in `obj` (empty when nothing matches)."""
    steps = parse(path)
    if steps is None:
        return []
    current = [obj]
    for kind, arg in steps:
        nxt: list[Any] = []
        for value in current:
            if (kind == "key" and isinstance(value, dict) and arg in value) or (
                    kind == "index" and isinstance(value, list) and -len(value) <= arg < len(value)):
                nxt.append(value[arg])
            elif kind == "filter" and isinstance(value, list):
                field, want = arg
                for item in value:
                    if isinstance(item, dict) and str(_get(item, field)) == want:
                        nxt.append(item)
        current = nxt
    return current


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def get_field(obj: Any, path: str) -> tuple[Any, bool]:
    """(value, found) for a path of plain child names (scale subresource paths)."""
    found = find(obj, path)
    return (found[0], True) if found else (None, False)


def set_field(obj: dict[str, Any], path: str, value: Any) -> bool:
    """Set a path of plain child names, creating objects on the way; False if not such a path."""
    steps = parse(path)
    if not steps or any(kind != "key" for kind, _ in steps):
        return False
    cur = obj
    for _, name in steps[:-1]:
        nxt = cur.get(name)
        if not isinstance(nxt, dict):
            nxt = cur[name] = {}
        cur = nxt
    cur[steps[-1][1]] = value
    return True
