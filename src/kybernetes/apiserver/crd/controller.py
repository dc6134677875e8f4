"""The CRD controller inside the API server: serve, name and clean up custom resources.

It is API machinery, not a cluster add-on, so it runs in the apiserver process and reacts to
watch-cache events of CustomResourceDefinitions (upstream's naming, establishing and finalizer
controllers in one loop).

Theory of operation
  ``sync(name)`` is level-triggered and idempotent:
  1. a CRD that is gone stops being served (its resources leave the table, its store goes);
  2. a CRD being deleted keeps being served (so finalizers of its objects can be removed)
     while every custom resource is deleted; once none is left the cleanup finalizer is removed
     and storage completes the CRD's deletion;
  3. otherwise names are decided against the other CRDs of the group; accepted names are served
     at once (resources and store installed *before* Established is written, so a client that
     waits for Established finds the resource), then status is written when it changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from kybernetes.api.resources import Resource, ResourceTable
from kybernetes.apiserver.cache import CacheEvent, WatchCache
from kybernetes.apiserver.crd.model import CLEANUP_FINALIZER, served_resources, storage_resource
from kybernetes.apiserver.registry.store import DeleteOptions, Store, WriteOptions
from kybernetes.machinery import errors

log = logging.getLogger(__name__)
Obj = dict[str, Any]
CRD_PREFIX = "/registry/apiextensions.k8s.io/customresourcedefinitions/"
MANAGER = "kyb-apiextensions-controller"
_NAME_FIELDS = (("plural", "PluralConflict"), ("singular", "SingularConflict"), ("kind", "KindConflict"),
                ("listKind", "ListKindConflict"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _names_of(crd: Obj, *, accepted: bool) -> Obj:
    if accepted:
        return dict((crd.get("status") or {}).get("acceptedNames") or {})
    return dict((crd.get("spec") or {}).get("names") or {})


def decide_names(crd: Obj, others: list[Obj]) -> tuple[Obj, tuple[str, str, str]]:
    """(names to accept, NamesAccepted condition (status, reason, message)) for `crd` given the
    other CRDs of its group (their accepted names count)."""
    wanted = _names_of(crd, accepted=False)
    taken: dict[str, set[str]] = {"resource": set(), "kind": set()}
    for other in others:
        for names in (_names_of(other, accepted=True), _names_of(other, accepted=False)):
            taken["resource"].update(str(names.get(k) or "") for k in ("plural", "singular"))
            taken["resource"].update(str(s) for s in names.get("shortNames") or [])
            taken["kind"].update(str(names.get(k) or "") for k in ("kind", "listKind"))
    taken["resource"].discard("")
    taken["kind"].discard("")
    for field, reason in _NAME_FIELDS:
        value = wanted.get(field)
        pool = taken["kind"] if field in ("kind", "listKind") else taken["resource"]
        if value and value in pool:
            return _names_of(crd, accepted=True), ("False", reason, f'"{value}" is already in use')
    for short in wanted.get("shortNames") or []:
        if short in taken["resource"]:
            return _names_of(crd, accepted=True), ("False", "ShortNamesConflict", f'"{short}" is already in use')
    return wanted, ("True", "NoConflicts", "no conflicts found")


def set_condition(conditions: list[Obj], ctype: str, status: str, reason: str, message: str) -> list[Obj]:
    """Conditions with `ctype` set; lastTransitionTime moves only when the status changes."""
    out = []
    found = False
    for c in conditions:
        if c.get("type") == ctype:
            found = True
            same = c.get("status") == status
            c = {"type": ctype, "status": status,
                 "lastTransitionTime": c.get("lastTransitionTime") if same else _now(),
                 "reason": reason, "message": message}
        out.append(c)
    if not found:
        out.append({"type": ctype, "status": status, "lastTransitionTime": _now(), "reason": reason,
                    "message": message})
    return out


class CRDController:
    def __init__(self, cache: WatchCache, table: ResourceTable, stores: dict[tuple[str, str], Store],
                 make_store: Callable[[Resource], Store], on_change: Callable[[], None] | None = None) -> None:
        self.cache = cache
        self.table = table
        self.stores = stores
        self.make_store = make_store
        self.on_change = on_change or (lambda: None)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._installed: dict[str, tuple[str, str]] = {}  # CRD name -> (group, plural) of its store

    # --- lifecycle ---------------------------------------------------------------------------------
    async def start(self) -> None:
        for key, entry in list(self.cache.iter_prefix(CRD_PREFIX)):
            self._install(entry.obj)
            self._queue.put_nowait(key[len(CRD_PREFIX):])
        self.cache.add_listener(self._on_event)
        self._task = asyncio.create_task(self._run(), name="crd-controller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _on_event(self, ev: CacheEvent) -> None:
        if ev.key.startswith(CRD_PREFIX):
            name = ev.key[len(CRD_PREFIX):]
            if ev.type == "DELETED":
                self._uninstall(name)
            else:
                # serve new names right away (before the client's next request), status later
                obj = ev.entry.obj
                if not (obj.get("metadata") or {}).get("deletionTimestamp"):
                    self._install(obj, only_if_accepted=True)
            self._queue.put_nowait(name)

    async def _run(self) -> None:
        while True:
            name = await self._queue.get()
            try:
                again = await self.sync(name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("syncing CustomResourceDefinition %s", name)
                again = True
            if again:
                asyncio.get_running_loop().call_later(0.5, self._queue.put_nowait, name)

    # --- serving -------------------------------------------------------------------------------------
    def _install(self, crd: Obj, *, only_if_accepted: bool = False) -> None:
        name = crd["metadata"]["name"]
        accepted = (crd.get("status") or {}).get("acceptedNames") or {}
        if only_if_accepted and not accepted.get("plural"):
            return
        storage = storage_resource(crd)
        if storage is None or not storage.plural:
            return
        key = (storage.group, storage.plural)
        previous = self._installed.get(name)
        if previous is not None and previous != key:
            self.stores.pop(previous, None)
        self.stores[key] = self.make_store(storage)
        self._installed[name] = key
        self.table.set(name, served_resources(crd))
        self.on_change()

    def _uninstall(self, name: str) -> None:
        key = self._installed.pop(name, None)
        if key is not None:
            self.stores.pop(key, None)
        self.table.remove(name)
        self.on_change()

    # --- reconcile -----------------------------------------------------------------------------------
    async def sync(self, name: str) -> bool:
        """Returns True when the CRD needs another look soon (cleanup in progress)."""
        entry = self.cache.get(CRD_PREFIX + name)
        if entry is None:
            self._uninstall(name)
            return False
        crd = entry.obj
        if crd["metadata"].get("deletionTimestamp"):
            return await self._cleanup(crd)
        others = [e.obj for k, e in self.cache.iter_prefix(CRD_PREFIX)
                  if k != CRD_PREFIX + name and (e.obj.get("spec") or {}).get("group") == crd["spec"].get("group")]
        names, (status, reason, message) = decide_names(crd, others)
        established = (("True", "InitialNamesAccepted", "the initial names have been accepted") if names.get("plural")
                       else ("False", "NotAccepted", "not all names are accepted"))

        def new_status(current: Obj) -> Obj:
            st = dict(current.get("status") or {})
            conds = set_condition(list(st.get("conditions") or []), "NamesAccepted", status, reason, message)
            conds = set_condition(conds, "Established", *established)
            return dict(st, acceptedNames=names or {"plural": "", "kind": ""}, conditions=conds)

        desired = new_status(crd)
        if names.get("plural"):
            self._install(dict(crd, status=desired))
        if desired != crd.get("status"):
            await self._write_status(name, new_status)
        return False

    async def _write_status(self, name: str, status_of: Callable[[Obj], Obj]) -> None:
        store = self.stores.get(("apiextensions.k8s.io", "customresourcedefinitions"))
        if store is None:
            return

        async def mutate(current: Obj) -> Obj:
            current["status"] = status_of(current)
            return current

        with contextlib.suppress(errors.StatusError):
            await store.guaranteed_update("", name, mutate, opts=WriteOptions(field_manager=MANAGER),
                                          subresource="status")

    async def _cleanup(self, crd: Obj) -> bool:
        name = crd["metadata"]["name"]
        conditions = list((crd.get("status") or {}).get("conditions") or [])
        if not any(c.get("type") == "Terminating" and c.get("status") == "True" for c in conditions):
            await self._write_status(name, lambda current: dict(
                (current.get("status") or {}),
                conditions=set_condition(list((current.get("status") or {}).get("conditions") or []),
                                         "Terminating", "True", "InstanceDeletionInProgress",
                                         "CustomResource deletion is in progress")))
        storage = storage_resource(crd)
        store = self.stores.get((storage.group, storage.plural)) if storage is not None else None
        if store is not None:
            remaining = list(self.cache.iter_prefix(store.prefix_root))
            for _, e in remaining:
                meta = e.obj.get("metadata") or {}
                if meta.get("deletionTimestamp"):
                    continue  # waiting for its own finalizers
                with contextlib.suppress(errors.StatusError):
                    await store.delete(meta.get("namespace", ""), meta.get("name", ""), DeleteOptions())
            await self.cache.wait_fresh()
            if any(True for _ in self.cache.iter_prefix(store.prefix_root)):
                return True
        if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
            return False
        crd_store = self.stores.get(("apiextensions.k8s.io", "customresourcedefinitions"))
        if crd_store is None:
            return False

        async def drop_finalizer(current: Obj) -> Obj:
            meta = current["metadata"]
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != CLEANUP_FINALIZER]
            if not meta["finalizers"]:
                del meta["finalizers"]
            return current

        with contextlib.suppress(errors.StatusError):
            await crd_store.guaranteed_update("", name, drop_finalizer, opts=WriteOptions(field_manager=MANAGER))
        return False
