"""The one shape every controller has: handlers enqueue keys, workers call ``sync(key)``.

`Controller` owns a `WorkQueue` of store keys (``namespace/name``) and runs N workers. Each worker
takes a key, awaits ``sync(key)``, and on success forgets the key's failures; on an exception it logs
and requeues the key with backoff (up to ``max_retries`` times when that is set). `handlers()` gives
informer callbacks that only enqueue keys, so a slow sync never blocks the informer.

``sync(key)`` must be idempotent and level-triggered: it reads the current state from informer
stores, not from the event that caused it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from kybernetes.client.clock import Clock
from kybernetes.client.errors import APIError, is_conflict
from kybernetes.client.informer import EventHandlers
from kybernetes.client.store import meta_namespace_key
from kybernetes.client.workqueue import RateLimiter, ShutDown, WorkQueue

log = logging.getLogger("kyb.client.controller")

SyncFunc = Callable[[str], Awaitable[None]]


class Controller:
    def __init__(self, name: str, sync: SyncFunc, *, workers: int = 1, max_retries: int = 0,
                 clock: Clock | None = None, rate_limiter: RateLimiter | None = None) -> None:
        self.name = name
        self.sync = sync
        self.workers = workers
        self.max_retries = max_retries  # 0 means retry forever
        self.queue: WorkQueue[str] = WorkQueue(name=name, clock=clock, rate_limiter=rate_limiter)

    def enqueue(self, obj: dict[str, Any]) -> None:
        self.queue.add(meta_namespace_key(obj))

    def enqueue_after(self, obj: dict[str, Any], delay: float) -> None:
        self.queue.add_after(meta_namespace_key(obj), delay)

    def handlers(self) -> EventHandlers:
        """Informer callbacks that enqueue the object's key on add, update and delete."""
        return EventHandlers(on_add=self.enqueue, on_update=lambda _old, new: self.enqueue(new),
                             on_delete=self.enqueue)

    async def run(self) -> None:
        """Run the workers until the queue is shut down (or this task is cancelled)."""
        tasks = [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}") for i in range(self.workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shutdown()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def shutdown(self) -> None:
        """Stop taking new keys; workers finish what is queued and `run` returns."""
        self.queue.shutdown()

    async def _worker(self) -> None:
        while True:
            try:
                key = await self.queue.get()
            except ShutDown:
                return
            try:
                await self.sync(key)
            except asyncio.CancelledError:
                self.queue.done(key)
                raise
            except Exception as e:
                retries = self.queue.num_requeues(key)
                if self.max_retries and retries >= self.max_retries:
                    log.exception("%s: dropping %s after %d retries", self.name, key, retries)
                    self.queue.forget(key)
                elif isinstance(e, APIError) and is_conflict(e):
                    # A stale cache lost a write race: routine, the retry reads the newer object.
                    log.debug("%s: sync %s conflicted (retry %d)", self.name, key, retries + 1)
                    self.queue.add_rate_limited(key)
                else:
                    log.warning("%s: sync %s failed (retry %d)", self.name, key, retries + 1, exc_info=True)
                    self.queue.add_rate_limited(key)
            else:
                self.queue.forget(key)
            self.queue.done(key)
