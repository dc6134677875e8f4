"""Short garbage-collection pauses for a long-running server process.

Why: CPython's full (generation 2) collection walks every container object alive in the
process. `kyb server` runs the scheduler and controllers in its own process, and their informer
caches hold decoded objects (tens of container objects per pod), so with thousands of pods a
full collection stopped the event loop for 0.1 to 1.8 seconds, every time the heap had grown
by a quarter — and every request waiting behind it took that long too.

The policy: after each full collection, move the survivors into the permanent generation
(`gc.freeze()`), so the next full collection walks only what was allocated since. Memory is
still freed by reference counting as usual; only reference cycles among frozen objects wait
for the next thaw. So that such cycles are not kept for ever, at most once per `thaw_interval`
the frozen objects go back to the oldest generation (`gc.unfreeze()`), and the next full
collection walks the whole heap once.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

log = logging.getLogger("kyb.server")  # the server's own logger: these lines are about its pauses

DEFAULT_THAW_INTERVAL = 600.0  # seconds between whole-heap collections at most
WARN_PAUSE = 0.05  # pauses longer than this are logged


def after_full_collection(now: float, last_thaw: float, thaw_interval: float) -> Literal["freeze", "thaw"]:
    """What to do once a full collection has finished."""
    return "thaw" if now - last_thaw >= thaw_interval else "freeze"


@dataclass
class PausePolicy:
    """A `gc.callbacks` entry that applies the policy and logs long pauses."""

    thaw_interval: float = DEFAULT_THAW_INTERVAL
    clock: Callable[[], float] = time.monotonic
    freeze: Callable[[], None] = gc.freeze
    unfreeze: Callable[[], None] = gc.unfreeze
    last_thaw: float = field(default=0.0)
    _started: float | None = None
    pauses: int = 0  # full collections that took longer than WARN_PAUSE

    def __post_init__(self) -> None:
        self.last_thaw = self.clock()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        now = self.clock()
        if phase == "start":
            self._started = now
            return
        if self._started is not None:
            pause = now - self._started
            self._started = None
            if pause > WARN_PAUSE:
                self.pauses += 1
                log.warning("garbage collection paused the server for %.0f ms", pause * 1000)
        if after_full_collection(now, self.last_thaw, self.thaw_interval) == "thaw":
            self.last_thaw = now
            self.unfreeze()
        else:
            self.freeze()


def install(thaw_interval: float = DEFAULT_THAW_INTERVAL) -> PausePolicy:
    """Collect once (start-up garbage), freeze what survived, then follow the policy."""
    gc.collect()
    gc.freeze()
    policy = PausePolicy(thaw_interval=thaw_interval)
    gc.callbacks.append(policy)
    return policy
