"""Snapshot: the nodes (with their pods) one scheduling cycle decides on.

The cache refreshes it at the start of every cycle, copying only NodeInfos that changed since the
last refresh, so a cycle never sees the cache move under it even though informer events and binding
results arrive between cycles. ``node_info_list`` is in the cache's zone-interleaved order, which
the round-robin start index of the filter walks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kybernetes.scheduler.framework.types import NodeInfo


@dataclass(slots=True)
class Snapshot:
    node_info_map: dict[str, NodeInfo] = field(default_factory=dict)
    node_info_list: list[NodeInfo] = field(default_factory=list)
    have_pods_with_affinity_list: list[NodeInfo] = field(default_factory=list)
    have_pods_with_required_anti_affinity_list: list[NodeInfo] = field(default_factory=list)
    generation: int = 0
    positions: dict[str, int] = field(default_factory=dict)  # node name -> index in node_info_list

    def get(self, node_name: str) -> NodeInfo | None:
        return self.node_info_map.get(node_name)

    def num_nodes(self) -> int:
        return len(self.node_info_list)

    @classmethod
    def of(cls, nodes: list[NodeInfo]) -> Snapshot:
        """A snapshot of given NodeInfos (tests, benchmarks, simulations)."""
        s = cls({n.name: n for n in nodes}, list(nodes))
        s.positions = {n.name: i for i, n in enumerate(nodes)}
        s.have_pods_with_affinity_list = [n for n in nodes if n.pods_with_affinity]
        s.have_pods_with_required_anti_affinity_list = [n for n in nodes if n.pods_with_required_anti_affinity]
        return s
