"""The informer's local cache: objects keyed ``namespace/name`` with secondary indexes.

Controllers read from here instead of the API server. Every method is synchronous and never awaits,
so within one event loop each call is atomic: no locks are needed and no reader sees half an update.

Invariants:
1. An object is in index ``I`` under value ``v`` exactly when ``indexers[I](obj)`` contains ``v``.
2. Objects handed out are the cached ones, not copies: callers must not mutate them (copy first,
   e.g. ``copy.deepcopy``, before building an update).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any

Obj = dict[str, Any]
IndexFunc = Callable[[Obj], list[str]]

NAMESPACE_INDEX = "namespace"
NODE_NAME_INDEX = "spec.nodeName"


def meta_namespace_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` for namespaced objects, ``name`` for cluster-scoped ones (as client-go)."""
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace") or ""
    name = meta.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)


def split_key(key: str) -> tuple[str, str]:
    """(namespace, name) of a store key; namespace is "" for cluster-scoped objects."""
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else ("", ns)


def index_by_namespace(obj: Obj) -> list[str]:
    ns = (obj.get("metadata") or {}).get("namespace")
    return [ns] if ns else []


def index_by_node_name(obj: Obj) -> list[str]:
    """Pods by the node they are bound to (unbound pods are not indexed)."""
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


def index_by_owner_uid(obj: Obj) -> list[str]:
    return [str(ref["uid"]) for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if ref.get("uid")]


class Store:
    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {}
        self._indices: dict[str, dict[str, set[str]]] = {}
        if indexers:
            self.add_indexers(indexers)

    # --- reads --------------------------------------------------------------------------------------
    def get(self, key: str) -> Obj | None:
        return self._items.get(key)

    def get_by_name(self, namespace: str, name: str) -> Obj | None:
        return self._items.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[Obj]:
        return list(self._items.values())

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def snapshot(self) -> dict[str, Obj]:
        """A new dict of key -> cached object (the objects themselves are shared)."""
        return dict(self._items)

    def has_indexer(self, name: str) -> bool:
        return name in self._indexers

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, index: str, value: str) -> builtins.list[Obj]:
        """Objects whose index function returned `value` (e.g. pods on one node)."""
        return [self._items[k] for k in sorted(self._index(index).get(value, ()))]

    def index_keys(self, index: str, value: str) -> builtins.list[str]:
        return sorted(self._index(index).get(value, ()))

    def index_values(self, index: str) -> builtins.list[str]:
        return sorted(v for v, keys in self._index(index).items() if keys)

    def _index(self, name: str) -> dict[str, set[str]]:
        try:
            return self._indices[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None

    # --- indexes ------------------------------------------------------------------------------------
    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexes (also to a filled store: existing objects are indexed now)."""
        for name, fn in indexers.items():
            if name in self._indexers:
                raise ValueError(f"indexer {name!r} already exists")
            self._indexers[name] = fn
            index: dict[str, set[str]] = {}
            for key, obj in self._items.items():
                for v in fn(obj):
                    index.setdefault(v, set()).add(key)
            self._indices[name] = index

    def _unindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for v in fn(obj):
                keys = index.get(v)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[v]

    def _reindex(self, key: str, obj: Obj) -> None:
        for name, fn in self._indexers.items():
            index = self._indices[name]
            for v in fn(obj):
                index.setdefault(v, set()).add(key)

    # --- writes (the informer's) ----------------------------------------------------------------------
    def upsert(self, obj: Obj) -> Obj | None:
        """Add or replace an object; returns the one it replaced."""
        key = meta_namespace_key(obj)
        old = self._items.get(key)
        if old is not None:
            self._unindex(key, old)
        self._items[key] = obj
        self._reindex(key, obj)
        return old

    def remove(self, key: str) -> Obj | None:
        old = self._items.pop(key, None)
        if old is not None:
            self._unindex(key, old)
        return old

    def replace(self, objs: Iterable[Obj]) -> None:
        """Make the store hold exactly `objs`."""
        self._items = {meta_namespace_key(o): o for o in objs}
        self._indices = {name: {} for name in self._indexers}
        for key, obj in self._items.items():
            self._reindex(key, obj)
