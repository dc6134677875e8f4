"""The latest usable usage of every node, pod and container, kept in memory.

Metrics are not API objects: they are never written to storage, have no resourceVersion and are
rebuilt from the kubelets within a scrape period after a restart (as upstream's metrics-server
keeps them only in memory).

Invariants:
1. A node's entry is replaced as a whole by each successful scrape of that node, so a pod that
   left the node's summary leaves the store with that scrape.
2. An object whose newest point gives no usage (e.g. the real kubelet's first answer carries no
   rate yet) keeps its previous usage, if it had one — the latest good point wins.
3. A node that is no longer scraped (deleted, not Ready, no answer) keeps its entry until
   `expire_after` seconds after its last good scrape; `retain` drops deleted nodes at once.
4. A pod is found by namespace/name; if two nodes claim it, the newer sample wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kybernetes.metrics.summary import NodeBatch, PodPoint, PodUsage, Usage, pod_usage, usage


@dataclass(slots=True)
class _NodeEntry:
    scraped_at: float
    batch: NodeBatch  # the raw points of the last scrape (the "previous" for the next one)
    node: Usage | None = None
    pods: dict[tuple[str, str], PodUsage] = field(default_factory=dict)


class MetricsStore:
    def __init__(self, *, period: float, expire_after: float) -> None:
        self.period = period
        self.expire_after = expire_after
        self._nodes: dict[str, _NodeEntry] = {}

    def record(self, node_name: str, batch: NodeBatch, now: float) -> None:
        """A successful scrape of `node_name` (invariants 1 and 2)."""
        old = self._nodes.get(node_name)
        prev_pods: dict[tuple[str, str], PodPoint] = (
            {(p.namespace, p.name): p for p in old.batch.pods} if old is not None else {}
        )
        node_usage = None
        if batch.node is not None:
            node_usage = usage(batch.node, old.batch.node if old is not None else None, period=self.period)
        if node_usage is None and old is not None and batch.node is not None:
            node_usage = old.node
        pods: dict[tuple[str, str], PodUsage] = {}
        for pod in batch.pods:
            key = (pod.namespace, pod.name)
            got = pod_usage(pod, prev_pods.get(key), period=self.period)
            if got is None and old is not None:
                kept = old.pods.get(key)
                if kept is not None and (not pod.uid or kept.uid in ("", pod.uid)):
                    got = kept
            if got is not None:
                pods[key] = got
        self._nodes[node_name] = _NodeEntry(scraped_at=now, batch=batch, node=node_usage, pods=pods)

    def retain(self, node_names: Iterable[str]) -> None:
        """Forget nodes not in `node_names` (deleted from the cluster)."""
        keep = set(node_names)
        for name in [n for n in self._nodes if n not in keep]:
            del self._nodes[name]

    def expire(self, now: float) -> None:
        """Forget nodes whose last good scrape is older than `expire_after` (invariant 3)."""
        for name in [n for n, e in self._nodes.items() if now - e.scraped_at > self.expire_after]:
            del self._nodes[name]

    def node(self, name: str) -> Usage | None:
        entry = self._nodes.get(name)
        return entry.node if entry is not None else None

    def pod(self, namespace: str, name: str) -> PodUsage | None:
        best: PodUsage | None = None
        for entry in self._nodes.values():
            found = entry.pods.get((namespace, name))
            if found is not None and (best is None or found.timestamp > best.timestamp):
                best = found
        return best

    def pods(self) -> dict[tuple[str, str], PodUsage]:
        """Every pod's usage by (namespace, name) (invariant 4)."""
        out: dict[tuple[str, str], PodUsage] = {}
        for entry in self._nodes.values():
            for key, found in entry.pods.items():
                have = out.get(key)
                if have is None or found.timestamp > have.timestamp:
                    out[key] = found
        return out

    def node_names(self) -> list[str]:
        return sorted(self._nodes)
