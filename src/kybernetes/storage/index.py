"""The latest value of every live key, in key order: what get, list and count read.

Both backends keep one, so the common reads (the apiserver's get/list/count at the current
revision) are a dict lookup or a bisect over a sorted key list, never a trip to disk. It is only
ever touched from the event loop thread, so it needs no lock.
"""

from __future__ import annotations

import bisect

from kybernetes.storage.interface import Event, EventType, KeyValue
from kybernetes.storage.ops import prefix_end


class LatestIndex:
    def __init__(self) -> None:
        self._kvs: dict[str, KeyValue] = {}
        self._keys: list[str] = []  # sorted; the same keys as _kvs

    def __len__(self) -> int:
        return len(self._kvs)

    def get(self, key: str) -> KeyValue | None:
        return self._kvs.get(key)

    def put(self, kv: KeyValue) -> None:
        if kv.key not in self._kvs:
            bisect.insort(self._keys, kv.key)
        self._kvs[kv.key] = kv

    def remove(self, key: str) -> None:
        if self._kvs.pop(key, None) is not None:
            i = bisect.bisect_left(self._keys, key)
            del self._keys[i]

    def apply(self, event: Event) -> None:
        if event.type is EventType.PUT:
            assert event.kv is not None
            self.put(event.kv)
        else:
            self.remove(event.key)

    def _bounds(self, prefix: str, continue_key: str | None) -> tuple[int, int]:
        start = bisect.bisect_left(self._keys, prefix)
        if continue_key is not None and continue_key >= prefix:
            start = bisect.bisect_right(self._keys, continue_key)
        end_key = prefix_end(prefix)
        end = len(self._keys) if end_key is None else bisect.bisect_left(self._keys, end_key)
        return start, max(start, end)

    def range(self, prefix: str, *, limit: int = 0, continue_key: str | None = None) -> tuple[list[KeyValue], bool]:
        """Live keys under `prefix` after `continue_key`, at most `limit` (0: all); and whether
        more remain."""
        start, end = self._bounds(prefix, continue_key)
        more = False
        if limit and end - start > limit:
            end = start + limit
            more = True
        return [self._kvs[k] for k in self._keys[start:end]], more

    def count(self, prefix: str) -> int:
        start, end = self._bounds(prefix, None)
        return end - start
