"""The plugin interface: one protocol per extension point, as upstream's framework.

A plugin is an object with a ``name`` attribute and the methods of the extension points it takes
part in; the framework finds them with ``isinstance(plugin, FilterPlugin)`` (runtime protocols),
as Go's interface assertions do. Everything on the scheduling path (PreFilter .. Score, Reserve,
Permit) is synchronous and must not block; the binding path (PreBind, Bind) and PostFilter are
coroutines because they may talk to the API server.

Conventions (ARCHITECTURE §7):
- ``None`` is success. "Does not fit" is ``Status(Code.UNSCHEDULABLE, [reason])`` (or
  UNSCHEDULABLE_AND_UNRESOLVABLE when preemption cannot help) — never an exception.
- Objects are the API's dicts; never mutate a pod or node you are given (they are the cache's).
- Per-pod work belongs in PreFilter/PreScore (written to the CycleState), so that the per-node
  Filter/Score stay cheap. PreFilter/PreScore answer ``SKIP`` when the plugin has nothing to
  check for this pod; its Filter/Score is then not called.
- Optional batch fast paths (a Python-specific optimisation with identical results):
  ``filter_nodes(state, pod, nodes) -> list[Status | None]`` and
  ``score_nodes(state, pod, nodes) -> list[int]``; the framework uses them when present.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import ClusterEventWithHint
from kybernetes.scheduler.framework.status import Status
from kybernetes.scheduler.framework.types import NodeInfo

Obj = dict[str, Any]
MAX_NODE_SCORE = 100
MIN_NODE_SCORE = 0
MAX_TOTAL_SCORE = 2**63 - 1


@dataclass(slots=True)
class QueuedPodInfo:
    """A pod in the scheduling queue and its history there."""

    pod: Obj
    key: str
    timestamp: float  # when it was (last) added to the queue; orders equal priorities
    initial_attempt_timestamp: float | None = None
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)  # rejected it last time
    pending_plugins: set[str] = field(default_factory=set)
    gated: bool = False  # held back by a PreEnqueue plugin
    backoff_expiry: float = 0.0


def pod_priority(pod: Obj) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


@dataclass(slots=True)
class NodeScore:
    name: str
    score: int


@dataclass(slots=True)
class PreFilterResult:
    """A PreFilter plugin's narrowing of the candidate nodes (None = all nodes)."""

    node_names: set[str] | None = None

    def merge(self, other: PreFilterResult | None) -> PreFilterResult:
        if other is None or other.node_names is None:
            return self
        if self.node_names is None:
            return PreFilterResult(set(other.node_names))
        return PreFilterResult(self.node_names & other.node_names)


@dataclass(slots=True)
class PostFilterResult:
    nominated_node_name: str = ""
    clear_nomination: bool = False  # set nominatedNodeName to "" on the pod


# nodeName -> the Status of the first Filter plugin that rejected the node.
NodeToStatus = dict[str, Status]


class Plugin(Protocol):
    name: ClassVar[str]


@runtime_checkable
class PreEnqueuePlugin(Protocol):
    name: ClassVar[str]

    def pre_enqueue(self, pod: Obj) -> Status | None: ...


@runtime_checkable
class QueueSortPlugin(Protocol):
    name: ClassVar[str]

    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool: ...


@runtime_checkable
class EnqueueExtensions(Protocol):
    def events_to_register(self) -> list[ClusterEventWithHint]: ...


@runtime_checkable
class PreFilterExtensions(Protocol):
    """Incremental updates of PreFilter state when preemption simulates adding/removing pods."""

    def add_pod(self, state: CycleState, pod: Obj, pod_to_add: Obj, node_info: NodeInfo) -> Status | None: ...
    def remove_pod(self, state: CycleState, pod: Obj, pod_to_remove: Obj, node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class PreFilterPlugin(Protocol):
    name: ClassVar[str]

    def pre_filter(self, state: CycleState, pod: Obj,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status | None]: ...


@runtime_checkable
class FilterPlugin(Protocol):
    name: ClassVar[str]

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None: ...


@runtime_checkable
class PostFilterPlugin(Protocol):
    name: ClassVar[str]

    async def post_filter(self, state: CycleState, pod: Obj,
                          statuses: NodeToStatus) -> tuple[PostFilterResult | None, Status | None]: ...


@runtime_checkable
class PreScorePlugin(Protocol):
    name: ClassVar[str]

    def pre_score(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None: ...


@runtime_checkable
class ScorePlugin(Protocol):
    """``score`` returns 0..MAX_NODE_SCORE unless the plugin also has ``normalize_score``, which
    then maps the raw scores of all nodes into that range (in place)."""

    name: ClassVar[str]

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]: ...


@runtime_checkable
class ScoreNormalizer(Protocol):
    def normalize_score(self, state: CycleState, pod: Obj, scores: list[NodeScore]) -> Status | None: ...


@runtime_checkable
class ReservePlugin(Protocol):
    """Reserve runs after the pod is assumed on the node; Unreserve undoes it (in reverse order)
    when a later step fails. Unreserve must be idempotent."""

    name: ClassVar[str]

    def reserve(self, state: CycleState, pod: Obj, node_name: str) -> Status | None: ...
    def unreserve(self, state: CycleState, pod: Obj, node_name: str) -> None: ...


@runtime_checkable
class PermitPlugin(Protocol):
    """Success, a rejection, or ``Status(Code.WAIT)`` with a timeout in seconds: the binding cycle
    then waits until the handle's ``allow``/``reject`` for the pod, or rejects at the timeout."""

    name: ClassVar[str]

    def permit(self, state: CycleState, pod: Obj, node_name: str) -> tuple[Status | None, float]: ...


@runtime_checkable
class PreBindPlugin(Protocol):
    name: ClassVar[str]

    async def pre_bind(self, state: CycleState, pod: Obj, node_name: str) -> Status | None: ...


@runtime_checkable
class BindPlugin(Protocol):
    """Binds the pod, or answers SKIP to let the next Bind plugin do it."""

    name: ClassVar[str]

    async def bind(self, state: CycleState, pod: Obj, node_name: str) -> Status | None: ...


@runtime_checkable
class PostBindPlugin(Protocol):
    name: ClassVar[str]

    def post_bind(self, state: CycleState, pod: Obj, node_name: str) -> None: ...


EXTENSION_POINTS: dict[str, type] = {
    "preEnqueue": PreEnqueuePlugin,
    "queueSort": QueueSortPlugin,
    "preFilter": PreFilterPlugin,
    "filter": FilterPlugin,
    "postFilter": PostFilterPlugin,
    "preScore": PreScorePlugin,
    "score": ScorePlugin,
    "reserve": ReservePlugin,
    "permit": PermitPlugin,
    "preBind": PreBindPlugin,
    "bind": BindPlugin,
    "postBind": PostBindPlugin,
}
