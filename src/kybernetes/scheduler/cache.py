"""The scheduler's cache: nodes and the pods on them, fed by informers, plus *assumed* pods.

Theory of operation. When a cycle picks a node, the scheduler *assumes* the pod there at once, so
the next cycle counts its requests while the binding is still in flight. The binding ends in one
of two ways: the pod's bound state arrives through the informer (`add_pod` confirms the
assumption), or the binding fails (`forget_pod` takes it back). Pods bound by others simply arrive
through the informer.

Invariants:
1. A pod key is on at most one node; an assumed pod is counted exactly once, and replaced (not
   added twice) when its bound state arrives.
2. Every change bumps the NodeInfo's generation and marks the node dirty; `update_snapshot`
   copies only dirty nodes, so a snapshot costs O(changes), not O(cluster).
3. Node order is zone-interleaved (one node of each zone in turn), as upstream's node tree, so
   that the filter's partial walk spreads across zones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.types import ImageState, NodeInfo, PodInfo, node_images, pod_key

Obj = dict[str, Any]
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")


@dataclass(slots=True)
class _PodState:
    pod: Obj
    node: str
    assumed: bool = False
    binding_finished: bool = False


def zone_key(node: Mapping[str, Any]) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    region = next((labels[k] for k in REGION_LABELS if k in labels), "")
    zone = next((labels[k] for k in ZONE_LABELS if k in labels), "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def interleave_zones(zones: Mapping[str, list[str]]) -> list[str]:
    """One node of each zone in turn (zones in insertion order), until all are listed."""
    out: list[str] = []
    lists = list(zones.values())
    i = 0
    while True:
        added = False
        for names in lists:
            if i < len(names):
                out.append(names[i])
                added = True
        if not added:
            return out
        i += 1


class Cache:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[str, _PodState] = {}
        self._zones: dict[str, list[str]] = {}
        self._node_zone: dict[str, str] = {}
        self._order: list[str] = []
        self._order_dirty = True
        self._dirty: set[str] = set()
        self._images: dict[str, dict[str, int]] = {}  # node -> image -> size
        self._image_nodes: dict[str, int] = {}  # image -> number of nodes with it
        self._images_changed = False

    # --- nodes ----------------------------------------------------------------------------------------
    def _node_info(self, name: str) -> NodeInfo:
        ni = self.nodes.get(name)
        if ni is None:
            ni = NodeInfo(name=name)
            self.nodes[name] = ni
        return ni

    def add_node(self, node: Obj) -> None:
        name = str((node.get("metadata") or {}).get("name") or "")
        ni = self._node_info(name)
        ni.set_node(node)
        zone = zone_key(node)
        old_zone = self._node_zone.get(name)
        if old_zone != zone:
            if old_zone is not None:
                self._zones[old_zone].remove(name)
                if not self._zones[old_zone]:
                    del self._zones[old_zone]
            self._zones.setdefault(zone, []).append(name)
            self._node_zone[name] = zone
            self._order_dirty = True
        self._set_images(name, node_images(node))
        self._dirty.add(name)

    def update_node(self, old: Obj, new: Obj) -> None:
        self.add_node(new)

    def remove_node(self, node: Obj) -> None:
        name = str((node.get("metadata") or {}).get("name") or "")
        ni = self.nodes.get(name)
        if ni is None:
            return
        zone = self._node_zone.pop(name, None)
        if zone is not None:
            self._zones[zone].remove(name)
            if not self._zones[zone]:
                del self._zones[zone]
            self._order_dirty = True
        self._set_images(name, {})
        if ni.pods:
            ni.node = None  # keep the pods: their deletions will arrive
            ni.generation += 1
        else:
            del self.nodes[name]
        self._dirty.add(name)

    def _set_images(self, name: str, images: dict[str, int]) -> None:
        old = self._images.get(name, {})
        if old == images:
            return
        for img in old:
            self._image_nodes[img] -= 1
            if not self._image_nodes[img]:
                del self._image_nodes[img]
        for img in images:
            self._image_nodes[img] = self._image_nodes.get(img, 0) + 1
        if images:
            self._images[name] = images
        else:
            self._images.pop(name, None)
        self._images_changed = True

    # --- pods -----------------------------------------------------------------------------------------
    def _place(self, pod: Obj, node: str) -> None:
        self._node_info(node).add_pod_info(PodInfo.of(pod))
        self._dirty.add(node)

    def _unplace(self, key: str, node: str) -> None:
        ni = self.nodes.get(node)
        if ni is None:
            return
        ni.remove_pod(key)
        self._dirty.add(node)
        if ni.node is None and not ni.pods:
            del self.nodes[node]

    def assume_pod(self, pod: Obj) -> None:
        """Count `pod` (whose spec.nodeName is the chosen node) while its binding is in flight."""
        key = pod_key(pod)
        if key in self.pods:
            raise ValueError(f"pod {key} is already in the cache")
        node = str(pod["spec"]["nodeName"])
        self.pods[key] = _PodState(pod, node, assumed=True)
        self._place(pod, node)

    def finish_binding(self, pod: Obj) -> None:
        st = self.pods.get(pod_key(pod))
        if st is not None and st.assumed:
            st.binding_finished = True

    def forget_pod(self, pod: Obj) -> None:
        """The binding failed: take the assumed pod back."""
        key = pod_key(pod)
        st = self.pods.get(key)
        if st is not None and st.assumed:
            del self.pods[key]
            self._unplace(key, st.node)

    def is_assumed(self, key: str) -> bool:
        st = self.pods.get(key)
        return st is not None and st.assumed

    def add_pod(self, pod: Obj) -> None:
        """A bound pod seen through the informer (confirms an assumed one)."""
        key = pod_key(pod)
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        st = self.pods.get(key)
        if st is not None:
            self._unplace(key, st.node)
        self.pods[key] = _PodState(pod, node)
        self._place(pod, node)

    def update_pod(self, old: Obj, new: Obj) -> None:
        self.add_pod(new)

    def remove_pod(self, pod: Obj) -> None:
        key = pod_key(pod)
        st = self.pods.pop(key, None)
        if st is not None:
            self._unplace(key, st.node)

    # --- snapshots --------------------------------------------------------------------------------------
    def node_order(self) -> list[str]:
        if self._order_dirty:
            self._order = interleave_zones(self._zones)
            self._order_dirty = False
        return self._order

    def update_snapshot(self, snap: Snapshot) -> None:
        """Bring `snap` up to date with the cache (invariant 2)."""
        if self._images_changed:
            self._dirty.update(self._images)
            self._dirty.update(n for n, ni in snap.node_info_map.items() if ni.image_states)
            self._images_changed = False
        rebuild = self._order_dirty or len(snap.node_info_list) != len(self._order)
        affinity_changed = False
        for name in self._dirty:
            ni = self.nodes.get(name)
            old = snap.node_info_map.get(name)
            if ni is None or ni.node is None:
                if old is not None:
                    del snap.node_info_map[name]
                    rebuild = True
                    affinity_changed = True
                continue
            c = ni.clone()
            images = self._images.get(name)
            c.image_states = ({img: ImageState(size, self._image_nodes.get(img, 0)) for img, size in images.items()}
                              if images else {})
            snap.node_info_map[name] = c
            if old is None:
                rebuild = True
            if c.pods_with_affinity or (old is not None and old.pods_with_affinity):
                affinity_changed = True
            if not rebuild and old is not None:
                # Replace in place in the list (same position).
                idx = snap.positions.get(name)
                if idx is not None:
                    snap.node_info_list[idx] = c
                else:
                    rebuild = True
        self._dirty.clear()
        if rebuild:
            snap.node_info_list = [snap.node_info_map[n] for n in self.node_order() if n in snap.node_info_map]
            snap.positions = {ni.name: i for i, ni in enumerate(snap.node_info_list)}
            affinity_changed = True
        if affinity_changed:
            snap.have_pods_with_affinity_list = [n for n in snap.node_info_list if n.pods_with_affinity]
            snap.have_pods_with_required_anti_affinity_list = [n for n in snap.node_info_list
                                                               if n.pods_with_required_anti_affinity]
        snap.generation += 1
