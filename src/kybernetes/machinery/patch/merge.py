"""JSON merge patch (RFC 7386), the ``application/merge-patch+json`` patch type.

An object patch merges key by key, ``null`` removes a key, anything else (lists included)
replaces the target value. A non-object patch replaces the whole document. Inputs are never
mutated; the result shares no containers with them.
"""

from __future__ import annotations

import copy
from typing import Any


def apply_merge_patch(original: Any, patch: Any) -> Any:
    return _merge(copy.deepcopy(original), patch)


def _merge(target: Any, patch: Any) -> Any:
    # `target` is owned by us (already a copy); `patch` is only read.
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: dict[str, Any] = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result
