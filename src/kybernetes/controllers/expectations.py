"""Expectations: what a controller has asked for and its informer has not shown it yet.

A loop that creates three pods and syncs again before its pod informer delivered them would see
too few pods and create three more. client-go's ControllerExpectations guard against that: before
the writes the loop records "expect 3 adds" for the owner's key; the informer's add handler
lowers the count as the pods arrive; the loop only acts on its cache once the expectations of
that key are *satisfied* (all observed) or *expired* (older than `ttl`, in case a watch event
was lost). Writes that fail are lowered at once by the loop itself.

Invariants:
1. An owner key without a record is satisfied (a fresh controller trusts its synced cache).
2. Counts never go below zero; observing more than expected is harmless.
3. `delete(key)` forgets the record when the owner itself is gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

EXPECTATIONS_TTL = 5 * 60.0  # client-go's ExpectationsTimeout


@dataclass(slots=True)
class _Record:
    adds: int
    dels: int
    stamp: float


class Expectations:
    def __init__(self, *, ttl: float = EXPECTATIONS_TTL, now: Callable[[], float] = time.monotonic) -> None:
        self._records: dict[str, _Record] = {}
        self._ttl = ttl
        self._now = now

    def satisfied(self, key: str) -> bool:
        rec = self._records.get(key)
        if rec is None:
            return True
        if rec.adds <= 0 and rec.dels <= 0:
            return True
        return self._now() - rec.stamp > self._ttl

    def expect(self, key: str, *, adds: int = 0, dels: int = 0) -> None:
        """Record (replacing any older record) that `adds` creations and `dels` deletions are on their way."""
        self._records[key] = _Record(max(adds, 0), max(dels, 0), self._now())

    def raise_expectations(self, key: str, *, adds: int = 0, dels: int = 0) -> None:
        rec = self._records.get(key)
        if rec is None:
            self.expect(key, adds=adds, dels=dels)
        else:
            rec.adds += adds
            rec.dels += dels

    def creation_observed(self, key: str, n: int = 1) -> None:
        rec = self._records.get(key)
        if rec is not None:
            rec.adds = max(rec.adds - n, 0)

    def deletion_observed(self, key: str, n: int = 1) -> None:
        rec = self._records.get(key)
        if rec is not None:
            rec.dels = max(rec.dels - n, 0)

    def pending(self, key: str) -> tuple[int, int]:
        rec = self._records.get(key)
        return (rec.adds, rec.dels) if rec is not None else (0, 0)

    def delete(self, key: str) -> None:
        self._records.pop(key, None)


class UIDExpectations:
    """Per owner key, the uids of objects a write is expected to change (client-go's
    UIDTrackingControllerExpectations): e.g. pods whose finalizer the Job loop removed, so a stale
    cache that still shows the finalizer does not make the loop count that pod twice."""

    def __init__(self) -> None:
        self._uids: dict[str, set[str]] = {}

    def expect(self, key: str, uids: set[str] | list[str]) -> None:
        if uids:
            self._uids.setdefault(key, set()).update(uids)

    def observed(self, key: str, uid: str) -> None:
        s = self._uids.get(key)
        if s is not None:
            s.discard(uid)
            if not s:
                del self._uids[key]

    def pending(self, key: str) -> set[str]:
        return set(self._uids.get(key, ()))

    def satisfied(self, key: str) -> bool:
        return not self._uids.get(key)

    def delete(self, key: str) -> None:
        self._uids.pop(key, None)
