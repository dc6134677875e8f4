"""Exponential back-off per key, for restarting crashed containers and retrying image pulls.

Theory of operation (upstream's flowcontrol.Backoff as the kubelet uses it):
  1. The first failure of a key lets the retry go at once and arms a 10 s delay; each further
     failure doubles the delay, up to 5 minutes.
  2. A key is "in back-off" while less than the current delay has passed since the failure
     (``since``: a container's finish time, or the time the failure was recorded).
  3. A failure that comes more than ``reset_after`` (10 minutes, twice the cap) after the last
     recorded retry starts again from 10 s: the thing ran fine for a long while.
  4. Time is passed in by the caller (``now``), so tests drive it; nothing here reads a clock.

Crash-loop keys are per pod and container spec (``actions.backoff_key``); image-pull keys are
per pod and image.
"""

from __future__ import annotations

from dataclasses import dataclass

from kybernetes.util.goduration import format_go_duration

INITIAL_BACKOFF = 10.0
MAX_BACKOFF = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float
    since: float


def go_duration(seconds: float) -> str:
    """Seconds as Go prints a time.Duration of whole seconds: ``10s``, ``1m20s``, ``5m0s``."""
    return format_go_duration(round(seconds) * 1_000_000_000)


class CrashLoopBackoff:
    def __init__(
        self, initial: float = INITIAL_BACKOFF, cap: float = MAX_BACKOFF, *, reset_after: float | None = None
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.reset_after = 2 * cap if reset_after is None else reset_after
        self._entries: dict[str, _Entry] = {}

    def record_failure(self, key: str, now: float, *, since: float | None = None) -> float:
        """A retry of ``key`` goes ahead now after a failure at ``since`` (default ``now``);
        returns the delay that the next failure will have to wait (rules 1 and 3)."""
        event = now if since is None else since
        entry = self._entries.get(key)
        if entry is None or event - entry.last_update > self.reset_after:
            entry = _Entry(delay=self.initial, last_update=now, since=event)
        else:
            entry = _Entry(delay=min(entry.delay * 2, self.cap), last_update=now, since=event)
        self._entries[key] = entry
        return entry.delay

    def in_backoff(self, key: str, now: float, *, since: float | None = None) -> float | None:
        """Seconds left before ``key`` may be retried after a failure at ``since`` (default: the
        failure last recorded), or None when it may go now (rules 2 and 3)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        event = entry.since if since is None else since
        if event - entry.last_update > self.reset_after:
            return None
        left = entry.delay - (now - event)
        return left if left > 0 else None

    def delay(self, key: str) -> float | None:
        """The current delay of ``key`` (what the back-off message names)."""
        entry = self._entries.get(key)
        return entry.delay if entry else None

    def forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def gc(self, now: float) -> None:
        """Drop keys untouched for longer than ``reset_after``: they would start afresh anyway."""
        for key in [k for k, e in self._entries.items() if now - e.last_update > self.reset_after]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
