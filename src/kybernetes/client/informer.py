"""Informers: a local, always-catching-up copy of one resource, and callbacks on every change.

Theory of operation. An informer lists the resource (page by page, one snapshot), fills its `Store`
and tells handlers ``on_add`` for each object; it is then *synced*. It watches from the list's
resourceVersion (with bookmarks, so the position advances even when nothing it selects changes)
and applies each event to the store before telling handlers. When a watch ends (server timeout,
dropped connection, server restart) it watches again from the last resourceVersion it saw. When
the server answers 410 Gone (that position is older than the server's history) it lists again and
tells handlers the difference between the store and the new list, so handlers see the same stream
of adds, updates and deletes they would have seen had the watch never broken.

Invariants:
1. Handlers are called in the order the changes happened, after the store reflects the change;
   ``on_update(old, new)`` gets the previous cached object as ``old``.
2. A handler added to a running informer first gets ``on_add`` for every object already cached.
3. A deletion noticed by a relist (its final state never seen) is reported with a `Tombstone`: a
   dict copy of the last known object, tested with ``isinstance(obj, Tombstone)``.
4. Periodic resync (``resync_period`` > 0) calls ``on_update(obj, obj)`` for every cached object, so
   level-triggered controllers revisit everything now and then.

Handlers are plain functions that must not block (controllers' handlers only enqueue keys); an
exception in one is logged and does not stop the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from kybernetes.client.errors import APIError, is_gone
from kybernetes.client.rest import APIClient, ResourceLike
from kybernetes.client.store import IndexFunc, Obj, Store, meta_namespace_key
from kybernetes.util.tasks import cancel_and_wait

log = logging.getLogger("kyb.client.informer")

# Watch requests ask the server to end them after a random 5-10 minutes (as client-go's reflector),
# so that many informers do not re-watch in lockstep.
WATCH_TIMEOUT_RANGE = (300, 600)
BACKOFF_INITIAL = 0.8
BACKOFF_MAX = 30.0


class Tombstone(dict[str, Any]):
    """The last known state of an object whose deletion was noticed by a relist, not a watch."""


@dataclass(slots=True)
class EventHandlers:
    on_add: Callable[[Obj], None] | None = None
    on_update: Callable[[Obj, Obj], None] | None = None
    on_delete: Callable[[Obj], None] | None = None


Change = tuple[Literal["add", "update", "delete"], Obj | None, Obj | None]


def relist_changes(cached: Mapping[str, Obj], listed: list[Obj]) -> list[Change]:
    """What handlers must hear for the store to go from `cached` to `listed`: ("add", None, new),
    ("update", old, new) for a changed resourceVersion, ("delete", Tombstone(old), None)."""
    out: list[Change] = []
    seen: set[str] = set()
    for obj in listed:
        key = meta_namespace_key(obj)
        seen.add(key)
        old = cached.get(key)
        if old is None:
            out.append(("add", None, obj))
        elif _rv(old) != _rv(obj):
            out.append(("update", old, obj))
    for key, old in cached.items():
        if key not in seen:
            out.append(("delete", Tombstone(old), None))
    return out


def _rv(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


@dataclass(slots=True)
class InformerStats:
    lists: int = 0
    watches: int = 0
    relists_after_gone: int = 0


class Informer:
    """Watches one resource (optionally one namespace, label and field selection)."""

    def __init__(self, client: APIClient, resource: ResourceLike, namespace: str = "", label_selector: str = "",
                 field_selector: str = "", *, resync_period: float = 0.0,
                 indexers: Mapping[str, IndexFunc] | None = None, page_size: int = 500,
                 watch_timeout: int | None = None) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.resync_period = resync_period
        self.page_size = page_size
        self.watch_timeout = watch_timeout
        self.store = Store(indexers)
        self.stats = InformerStats()
        self.last_resource_version = ""
        self._handlers: list[EventHandlers] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._resync_task: asyncio.Task[None] | None = None

    # --- configuration --------------------------------------------------------------------------------
    def add_handlers(self, handlers: EventHandlers | None = None, *, on_add: Callable[[Obj], None] | None = None,
                     on_update: Callable[[Obj, Obj], None] | None = None,
                     on_delete: Callable[[Obj], None] | None = None) -> EventHandlers:
        """Register handlers (an `EventHandlers` or the keyword callbacks); returns the registration
        for `remove_handlers`. Objects already cached are replayed to ``on_add`` now."""
        h = handlers or EventHandlers(on_add, on_update, on_delete)
        self._handlers.append(h)
        if h.on_add is not None:
            for obj in self.store.list():
                _call(h.on_add, obj)
        return h

    def remove_handlers(self, handlers: EventHandlers) -> None:
        with contextlib.suppress(ValueError):
            self._handlers.remove(handlers)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.store.add_indexers(indexers)

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start listing and watching in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"informer-{self.resource.plural}")
            if self.resync_period > 0:
                self._resync_task = asyncio.create_task(self._resync_loop(), name=f"resync-{self.resource.plural}")

    @property
    def started(self) -> bool:
        return self._task is not None

    async def stop(self) -> None:
        for task in (self._task, self._resync_task):
            await cancel_and_wait(task)
        self._task = self._resync_task = None

    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait until the first list is in the store and handlers heard of it; False on timeout."""
        try:
            await asyncio.wait_for(self._synced.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # --- the loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        need_list = True
        backoff = BACKOFF_INITIAL
        while True:
            try:
                if need_list:
                    await self._list()
                    need_list = False
                    backoff = BACKOFF_INITIAL
                if await self._watch():
                    backoff = BACKOFF_INITIAL
                continue
            except asyncio.CancelledError:
                raise
            except APIError as e:
                if is_gone(e):
                    log.info("%s: watch position %s is gone, listing again", self.resource.plural,
                             self.last_resource_version)
                    self.stats.relists_after_gone += 1
                    need_list = True
                    continue
                log.warning("%s: %s", self.resource.plural, e)
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as e:
                log.info("%s: connection problem, retrying in %.1fs: %r", self.resource.plural, backoff, e)
            await asyncio.sleep(backoff * (1 + random.random() * 0.2))
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _list(self) -> None:
        self.stats.lists += 1
        items, rv = await self.client.list_all(self.resource, namespace=self.namespace,
                                               label_selector=self.label_selector,
                                               field_selector=self.field_selector, page_size=self.page_size)
        changes = relist_changes(self.store.snapshot(), items)
        self.store.replace(items)
        self.last_resource_version = rv
        for change in changes:
            self._dispatch(*change)
        self._synced.set()

    async def _watch(self) -> bool:
        """One watch request until the server ends it; True if it delivered anything."""
        self.stats.watches += 1
        timeout = self.watch_timeout or random.randint(*WATCH_TIMEOUT_RANGE)
        delivered = False
        async for etype, obj in self.client.watch(
                self.resource, namespace=self.namespace, label_selector=self.label_selector,
                field_selector=self.field_selector, resource_version=self.last_resource_version,
                allow_bookmarks=True, timeout_seconds=timeout):
            delivered = True
            rv = _rv(obj)
            if etype in ("ADDED", "MODIFIED"):
                old = self.store.upsert(obj)
                self._dispatch("add" if old is None else "update", old, obj)
            elif etype == "DELETED":
                self.store.remove(meta_namespace_key(obj))
                self._dispatch("delete", obj, None)
            elif etype != "BOOKMARK":
                log.warning("%s: unknown watch event type %r", self.resource.plural, etype)
                continue
            if rv:
                self.last_resource_version = rv
        return delivered

    def _dispatch(self, kind: str, old: Obj | None, new: Obj | None) -> None:
        for h in list(self._handlers):
            if kind == "add" and h.on_add is not None and new is not None:
                _call(h.on_add, new)
            elif kind == "update" and h.on_update is not None and old is not None and new is not None:
                _call(h.on_update, old, new)
            elif kind == "delete" and h.on_delete is not None and old is not None:
                _call(h.on_delete, old)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            if not self.has_synced():
                continue
            for obj in self.store.list():
                self._dispatch("update", obj, obj)


def _call(fn: Callable[..., None], *args: Obj) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("informer event handler %r failed", fn)


@dataclass(slots=True)
class SharedInformerFactory:
    """One informer per (resource, namespace, selectors), shared by every controller that asks.

    Controllers ask for informers (and add handlers) before `start()`; informers asked for later are
    started by the next `start()` call.
    """

    client: APIClient
    resync_period: float = 0.0
    namespace: str = ""  # the default namespace scope ("" = all namespaces)
    _informers: dict[tuple[str, str, str, str, str, str], Informer] = field(default_factory=dict)

    def informer(self, resource: ResourceLike, *, namespace: str | None = None, label_selector: str = "",
                 field_selector: str = "", indexers: Mapping[str, IndexFunc] | None = None) -> Informer:
        ns = self.namespace if namespace is None else namespace
        key = (resource.group, resource.version, resource.plural, ns, label_selector, field_selector)
        inf = self._informers.get(key)
        if inf is None:
            inf = Informer(self.client, resource, ns, label_selector, field_selector,
                           resync_period=self.resync_period)
            self._informers[key] = inf
        if indexers:
            missing = {k: v for k, v in indexers.items() if not inf.store.has_indexer(k)}
            if missing:
                inf.add_indexers(missing)
        return inf

    @property
    def informers(self) -> list[Informer]:
        return list(self._informers.values())

    def start(self) -> None:
        for inf in self._informers.values():
            inf.start()

    async def wait_for_cache_sync(self, timeout: float | None = None) -> bool:
        """True once every started informer has synced; False on timeout."""
        results = await asyncio.gather(*(i.wait_synced(timeout) for i in self._informers.values() if i.started))
        return all(results)

    async def shutdown(self) -> None:
        await asyncio.gather(*(i.stop() for i in self._informers.values()))
