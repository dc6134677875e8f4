"""Read-only views of the API objects some plugins need besides nodes and pods.

PodTopologySpread's default constraints select the pods of the same Service, ReplicationController,
ReplicaSet or StatefulSet; InterPodAffinity resolves ``namespaceSelector`` through Namespaces;
VolumeRestrictions and VolumeZone read PersistentVolumeClaims, PersistentVolumes and
StorageClasses. In a running scheduler these are the stores of informers on the scheduler's
shared informer factory (``attach_informers``, which the scheduler calls before it starts the
factory); in tests they are plain stores filled with dicts (``Listers.of``).

Plugins that make pods wait on these objects (a PVC that does not exist yet) also need their
changes as cluster events; ``raise_events`` turns informer callbacks into calls of the queue's
``move_all_to_active_or_backoff``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client.store import NAMESPACE_INDEX, Store, index_by_namespace
from kybernetes.scheduler.framework.events import ActionType, ClusterEvent

Obj = dict[str, Any]
OnEvent = Callable[[ClusterEvent, Obj | None, Obj | None], Any]

# kind (the plural the plugins ask for) -> (group, version)
KINDS: dict[str, tuple[str, str]] = {
    "services": ("", "v1"),
    "replicationcontrollers": ("", "v1"),
    "replicasets": ("apps", "v1"),
    "statefulsets": ("apps", "v1"),
    "namespaces": ("", "v1"),
    "persistentvolumeclaims": ("", "v1"),
    "persistentvolumes": ("", "v1"),
    "storageclasses": ("storage.k8s.io", "v1"),
}


def _resource(kind: str) -> Any:
    group, version = KINDS[kind]
    r = lookup(group, version, kind)
    if r is None:
        raise KeyError(f"no API resource {group}/{version} {kind}")
    return r


class Listers:
    """Kind -> store. A kind without a store lists nothing and finds nothing."""

    def __init__(self, stores: dict[str, Store] | None = None) -> None:
        self.stores: dict[str, Store] = dict(stores or {})

    @classmethod
    def of(cls, **objects: Iterable[Obj]) -> Listers:
        """Listers over fixed objects (tests): ``Listers.of(services=[...], persistentvolumes=[...])``."""
        stores: dict[str, Store] = {}
        for kind, objs in objects.items():
            if kind not in KINDS:
                raise KeyError(kind)
            store = Store({NAMESPACE_INDEX: index_by_namespace})
            for o in objs:
                store.upsert(o)
            stores[kind] = store
        return cls(stores)

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        store = self.stores.get(kind)
        return None if store is None else store.get_by_name(namespace, name)

    def list(self, kind: str, namespace: str | None = None) -> list[Obj]:
        """Every object of `kind`, or those in `namespace` (namespaced kinds)."""
        store = self.stores.get(kind)
        if store is None:
            return []
        if namespace is None:
            return store.list()
        if store.has_indexer(NAMESPACE_INDEX):
            return store.by_index(NAMESPACE_INDEX, namespace)
        return [o for o in store.list() if (o.get("metadata") or {}).get("namespace") == namespace]

    def attach(self, factory: Any, kinds: Iterable[str]) -> None:
        """Use the stores of `factory`'s informers for `kinds` (asking the factory for them)."""
        for kind in kinds:
            inf = factory.informer(_resource(kind), indexers={NAMESPACE_INDEX: index_by_namespace})
            self.stores[kind] = inf.store


def raise_events(factory: Any, kind: str, resource: str, on_event: OnEvent, *,
                 actions: ActionType = ActionType.ADD | ActionType.UPDATE) -> None:
    """Report adds/updates of `kind` as cluster events on `resource` (an EventResource name)."""
    inf = factory.informer(_resource(kind), indexers={NAMESPACE_INDEX: index_by_namespace})

    def on_add(obj: Obj) -> None:
        on_event(ClusterEvent(resource, ActionType.ADD, f"{resource}Add"), None, obj)

    def on_update(old: Obj, new: Obj) -> None:
        on_event(ClusterEvent(resource, ActionType.UPDATE, f"{resource}Update"), old, new)

    inf.add_handlers(on_add=on_add if actions & ActionType.ADD else None,
                     on_update=on_update if actions & ActionType.UPDATE else None)


# --- small shared accessors -------------------------------------------------------------------------


def meta(obj: Obj) -> Obj:
    m: Obj = obj.get("metadata") or {}
    return m


def namespace_of(obj: Obj) -> str:
    return str(meta(obj).get("namespace") or "")


def labels_of(obj: Obj) -> dict[str, str]:
    labels: dict[str, str] = meta(obj).get("labels") or {}
    return labels


def is_assigned(pod: Obj | None) -> bool:
    return pod is not None and bool((pod.get("spec") or {}).get("nodeName"))
