"""ImageLocality: prefer nodes that already have the pod's images, weighted by image size and by
how widely the image is spread (an image on every node says little), as upstream: the sum is
clamped to [23 MiB, 1000 MiB * containers] and mapped linearly to 0..100."""

from __future__ import annotations

from typing import Any, ClassVar

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.interface import MAX_NODE_SCORE
from kybernetes.scheduler.framework.status import Status
from kybernetes.scheduler.framework.types import NodeInfo, normalized_image_name

Obj = dict[str, Any]
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB


def image_score(sum_scores: int, num_containers: int) -> int:
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    sum_scores = min(max(sum_scores, MIN_THRESHOLD), max_threshold)
    return MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


def _images(pod: Obj) -> list[str]:
    spec = pod.get("spec") or {}
    return [normalized_image_name(str(c.get("image") or ""))
            for c in (*(spec.get("initContainers") or ()), *(spec.get("containers") or ()))]


class ImageLocality:
    name: ClassVar[str] = "ImageLocality"

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        images = _images(pod)
        if not images:
            return 0, None
        total_nodes = max(self.handle.snapshot.num_nodes(), 1)
        s = 0
        for img in images:
            st = node_info.image_states.get(img)
            if st is not None:
                s += int(st.size * (st.num_nodes / total_nodes))
        return image_score(s, len(images)), None

    def score_nodes(self, state: CycleState, pod: Obj, nodes: list[NodeInfo]) -> list[int]:
        if not any(n.image_states for n in nodes):
            return [0] * len(nodes)  # image_score(0, n) == 0
        return [self.score(state, pod, n)[0] for n in nodes]
