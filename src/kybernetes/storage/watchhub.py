"""Fan-out of committed events to watchers, shared by the backends.

Theory of operation:
  1. A watcher is registered *before* its replay range is fixed: the backend notes the revision R
     it has published up to at the moment of registration, replays history in
     [from_revision, R], then hands over to the live queue, which holds exactly the events > R.
     Hence no gap and no duplicate, whatever commits while the replay reads.
  2. `publish` runs on the event loop thread, once per commit, in revision order; it never
     blocks: each watcher has an unbounded queue, so a slow consumer costs memory, not writers.
  3. Watchers are held weakly: a consumer that drops its iterator without closing it is
     forgotten when the iterator is garbage collected.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator, AsyncIterator

from kybernetes.storage.interface import Event


class Watcher:
    __slots__ = ("__weakref__", "prefix", "queue")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        # A list of events per commit; None means the store closed.
        self.queue: asyncio.Queue[list[Event] | None] = asyncio.Queue()


class WatchHub:
    def __init__(self) -> None:
        self._watchers: weakref.WeakSet[Watcher] = weakref.WeakSet()
        self._closed = False

    def __len__(self) -> int:
        return len(self._watchers)

    def register(self, prefix: str) -> Watcher:
        w = Watcher(prefix)
        if self._closed:
            w.queue.put_nowait(None)
        else:
            self._watchers.add(w)
        return w

    def unregister(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def publish(self, events: list[Event]) -> None:
        if not events:
            return
        for w in list(self._watchers):
            if not w.prefix:
                w.queue.put_nowait(events)
                continue
            mine = [e for e in events if e.key.startswith(w.prefix)]
            if mine:
                w.queue.put_nowait(mine)

    def close(self) -> None:
        self._closed = True
        for w in list(self._watchers):
            w.queue.put_nowait(None)
        self._watchers.clear()


async def stream(
    hub: WatchHub,
    watcher: Watcher,
    replay: AsyncGenerator[Event, None] | None,
    error: Exception | None = None,
) -> AsyncIterator[Event]:
    """The consumer's side of a watch: `error` (if any) on first iteration, then the replayed
    history, then live events until the store closes."""
    try:
        if error is not None:
            raise error
        if replay is not None:
            async for event in replay:
                yield event
        while True:
            batch = await watcher.queue.get()
            if batch is None:
                return
            for event in batch:
                yield event
    finally:
        hub.unregister(watcher)
        if replay is not None:
            await replay.aclose()
