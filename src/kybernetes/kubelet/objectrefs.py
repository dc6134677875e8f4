"""The Secrets and ConfigMaps a node's pods refer to, each watched on its own.

A kubelet may read only the Secrets and ConfigMaps its pods use (the API server's Node
authorizer), so it cannot watch them all. Like upstream's watch-based manager, it watches each
referenced object by name (a list/watch in its namespace with ``fieldSelector=metadata.name=<n>``)
while some pod on the node refers to it, and stops when none does.

``ReferencedObjects`` looks like the informer it replaces where the agent uses one: ``store.get``
of ``<ns>/<name>``, ``add_handlers(on_update=...)`` (called for adds and updates), ``start``,
``wait_synced`` and ``stop``. ``track(pod)`` starts the watches a pod needs and waits briefly for
their first list, so a pod's first sync finds its objects; ``release(uid)`` drops a pod's share.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from kybernetes.client import APIClient, Informer, ResourceLike

Obj = dict[str, Any]
SYNC_WAIT = 10.0  # seconds a pod's sync waits for its objects' first list


class _Store:
    def __init__(self, owner: ReferencedObjects) -> None:
        self.owner = owner

    def get(self, key: str) -> Obj | None:
        inf = self.owner.watches.get(key)
        return inf.store.get(key) if inf is not None else None

    def list(self) -> list[Obj]:
        return [o for inf in self.owner.watches.values() for o in inf.store.list()]


class ReferencedObjects:
    def __init__(self, client: APIClient, resource: ResourceLike, refers: Callable[[Obj], set[str]]) -> None:
        self.client = client
        self.resource = resource
        self.refers = refers  # the names a pod refers to (machinery.podrefs)
        self.watches: dict[str, Informer] = {}  # "<ns>/<name>" -> its informer
        self.users: dict[str, set[str]] = {}  # "<ns>/<name>" -> uids of pods referring to it
        self.by_pod: dict[str, set[str]] = {}  # uid -> keys it refers to
        self.store = _Store(self)
        self._on_update: list[Callable[[Obj, Obj], None]] = []
        self._stopping: set[asyncio.Task[None]] = set()

    # --- informer-like surface ---------------------------------------------------------------------
    def add_handlers(self, *, on_update: Callable[[Obj, Obj], None]) -> None:
        self._on_update.append(on_update)

    def start(self) -> None:
        """Nothing to start: watches begin as pods refer to objects."""

    async def wait_synced(self, timeout: float | None = None) -> bool:
        del timeout
        return True

    async def stop(self) -> None:
        informers = list(self.watches.values())
        self.watches.clear()
        for inf in informers:
            await inf.stop()
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- references --------------------------------------------------------------------------------
    async def track(self, pod: Obj) -> None:
        meta = pod.get("metadata") or {}
        uid, ns = str(meta.get("uid") or ""), str(meta.get("namespace") or "")
        if not uid or not ns:
            return
        keys = {f"{ns}/{name}" for name in self.refers(pod)}
        for gone in self.by_pod.get(uid, set()) - keys:
            self._drop(uid, gone)
        self.by_pod[uid] = keys
        started = []
        for key in keys:
            self.users.setdefault(key, set()).add(uid)
            if key not in self.watches:
                started.append(self._watch(key))
        for inf in started:
            await inf.wait_synced(SYNC_WAIT)

    def release(self, uid: str) -> None:
        for key in self.by_pod.pop(uid, set()):
            self._drop(uid, key)

    def _watch(self, key: str) -> Informer:
        ns, _, name = key.partition("/")
        inf = Informer(self.client, self.resource, namespace=ns, field_selector=f"metadata.name={name}")
        inf.add_handlers(on_add=lambda o: self._notify(o, o), on_update=self._notify)
        self.watches[key] = inf
        inf.start()
        return inf

    def _notify(self, old: Obj, new: Obj) -> None:
        for handler in self._on_update:
            handler(old, new)

    def _drop(self, uid: str, key: str) -> None:
        users = self.users.get(key)
        if users is None:
            return
        users.discard(uid)
        if users:
            return
        del self.users[key]
        inf = self.watches.pop(key, None)
        if inf is not None:
            task = asyncio.create_task(inf.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
