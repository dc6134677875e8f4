"""Framework: one profile's plugins, wired per extension point, and the code that runs them.

It is also the *handle* plugins receive at construction: the cycle's snapshot, the API client and
event recorder (None in pure tests), running the filters on a NodeInfo (for preemption's
simulations), and waiting pods (Permit).

Order and precedence follow upstream: plugins enabled at a specific extension point come first,
then the multiPoint ones that implement it; a Filter stops at the first plugin that rejects the
node; Score sums ``weight * normalized score``; Bind stops at the first plugin that does not Skip;
Unreserve runs in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kybernetes.scheduler.config import DEFAULT_MULTI_POINT, ConfigError, PluginRef, Profile, merge_plugin_set
from kybernetes.scheduler.framework.cycle_state import CycleState
from kybernetes.scheduler.framework.events import ClusterEventWithHint
from kybernetes.scheduler.framework.interface import (
    EXTENSION_POINTS,
    BindPlugin,
    EnqueueExtensions,
    FilterPlugin,
    NodeScore,
    NodeToStatus,
    PermitPlugin,
    PostBindPlugin,
    PostFilterPlugin,
    PostFilterResult,
    PreBindPlugin,
    PreEnqueuePlugin,
    PreFilterExtensions,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    QueuedPodInfo,
    QueueSortPlugin,
    ReservePlugin,
    ScorePlugin,
)
from kybernetes.scheduler.framework.registry import Registry
from kybernetes.scheduler.framework.snapshot import Snapshot
from kybernetes.scheduler.framework.status import Code, Status, error_status, unresolvable
from kybernetes.scheduler.framework.types import NodeInfo, pod_uid

log = logging.getLogger("kyb.scheduler.framework")
Obj = dict[str, Any]


@dataclass(slots=True)
class WaitingPod:
    """A pod held at Permit; `pending` are the plugins that asked it to wait."""

    pod: Obj
    pending: set[str]
    future: asyncio.Future[Status | None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def allow(self, plugin: str) -> None:
        self.pending.discard(plugin)
        if not self.pending and not self.future.done():
            self.future.set_result(None)

    def reject(self, plugin: str, message: str) -> None:
        if not self.future.done():
            self.future.set_result(Status(Code.UNSCHEDULABLE, [message], plugin))


def expand_plugins(profile: Profile, available: set[str]) -> dict[str, list[PluginRef]]:
    """Extension point -> the enabled plugins in order, for a profile (see module docstring).
    Default plugins that are not `available` (not registered) are left out."""
    defaults = [r for r in DEFAULT_MULTI_POINT if r.name in available]
    multi = merge_plugin_set(defaults, profile.plugins.get("multiPoint"))
    out: dict[str, list[PluginRef]] = {"multiPoint": multi}
    for point in EXTENSION_POINTS:
        custom = profile.plugins.get(point)
        specific = list(custom.enabled) if custom else []
        disabled = {r.name for r in custom.disabled} if custom else set()
        names = {r.name for r in specific}
        refs = list(specific)
        if "*" not in disabled:
            refs.extend(r for r in multi if r.name not in names and r.name not in disabled)
        out[point] = refs
    return out


class Framework:
    """The plugins of one profile. Construct with `Framework.build`."""

    def __init__(self, profile: Profile, *, client: Any = None, recorder: Any = None,
                 snapshot: Callable[[], Snapshot] | None = None, percentage_of_nodes_to_score: int = 0) -> None:
        self.profile = profile
        self.profile_name = profile.scheduler_name
        self.client = client  # kybernetes.client.APIClient (None in pure tests)
        self.recorder = recorder  # kybernetes.client.EventRecorder (None in pure tests)
        self._snapshot = snapshot or Snapshot
        self.percentage_of_nodes_to_score = (profile.percentage_of_nodes_to_score
                                             if profile.percentage_of_nodes_to_score is not None
                                             else percentage_of_nodes_to_score)
        self.plugins: dict[str, Any] = {}
        self.pre_enqueue: list[Any] = []
        self.queue_sort: Any = None
        self.pre_filter: list[Any] = []
        self.filter: list[Any] = []
        self.post_filter: list[Any] = []
        self.pre_score: list[Any] = []
        self.score: list[tuple[Any, int]] = []
        self.reserve: list[Any] = []
        self.permit: list[Any] = []
        self.pre_bind: list[Any] = []
        self.bind: list[Any] = []
        self.post_bind: list[Any] = []
        self.waiting_pods: dict[str, WaitingPod] = {}

    @classmethod
    def build(cls, registry: Registry, profile: Profile, **kw: Any) -> Framework:
        fw = cls(profile, **kw)
        points = expand_plugins(profile, set(registry))
        wanted: list[str] = []
        for refs in points.values():
            for r in refs:
                if r.name not in wanted:
                    wanted.append(r.name)
        for name in wanted:
            factory = registry.get(name)
            if factory is None:
                raise ConfigError(f"profile {profile.scheduler_name!r}: plugin {name!r} does not exist")
            plugin = factory(dict(profile.plugin_config.get(name) or {}), fw)
            if getattr(plugin, "name", None) != name:
                raise ConfigError(f"plugin factory for {name!r} made a plugin named {getattr(plugin, 'name', None)!r}")
            fw.plugins[name] = plugin
        multi_weights = {r.name: r.weight for r in points["multiPoint"]}
        for point, proto in EXTENSION_POINTS.items():
            for r in points[point]:
                p = fw.plugins[r.name]
                if not isinstance(p, proto):
                    if any(r.name == s.name for s in (profile.plugins.get(point).enabled  # type: ignore[union-attr]
                                                      if profile.plugins.get(point) else [])):
                        raise ConfigError(f"plugin {r.name!r} does not extend {point}")
                    continue
                if point == "score":
                    fw.score.append((p, r.weight or multi_weights.get(r.name) or 1))
                elif point == "queueSort":
                    if fw.queue_sort is None:
                        fw.queue_sort = p
                else:
                    getattr(fw, _ATTR[point]).append(p)
        if fw.queue_sort is None:
            raise ConfigError(f"profile {profile.scheduler_name!r}: no queueSort plugin")
        if not fw.bind:
            raise ConfigError(f"profile {profile.scheduler_name!r}: no bind plugin")
        return fw

    # --- handle --------------------------------------------------------------------------------------
    @property
    def snapshot(self) -> Snapshot:
        """The snapshot of the current cycle."""
        return self._snapshot()

    def events_to_register(self) -> dict[str, list[ClusterEventWithHint]]:
        """Plugin name -> the cluster events that may make pods it rejected schedulable."""
        return {name: p.events_to_register() for name, p in self.plugins.items() if isinstance(p, EnqueueExtensions)}

    # --- queue ---------------------------------------------------------------------------------------
    def less(self, a: QueuedPodInfo, b: QueuedPodInfo) -> bool:
        result: bool = self.queue_sort.less(a, b)
        return result

    def run_pre_enqueue_plugins(self, pod: Obj) -> Status | None:
        for p in self.pre_enqueue:
            st = p.pre_enqueue(pod)
            if st is not None and st.code != Code.SUCCESS:
                return _named(st, p.name)
        return None

    # --- filtering -----------------------------------------------------------------------------------
    def run_pre_filter_plugins(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]
                               ) -> tuple[PreFilterResult | None, Status | None]:
        result: PreFilterResult | None = None
        narrowed_by: list[str] = []
        for p in self.pre_filter:
            try:
                r, st = p.pre_filter(state, pod, nodes)
            except Exception as e:  # a plugin bug must not kill the loop
                log.exception("PreFilter plugin %s failed", p.name)
                return None, _named(error_status(e), p.name)
            if st is not None and st.code != Code.SUCCESS:
                if st.code == Code.SKIP:
                    state.skip_filter_plugins.add(p.name)
                    continue
                return None, _named(st, p.name)
            if r is not None and r.node_names is not None:
                narrowed_by.append(p.name)
                state.write("kybernetes/preFilterNarrowedBy", set(narrowed_by))
                result = r if result is None else result.merge(r)
                if not result.node_names:
                    if len(narrowed_by) > 1:
                        msg = f"node(s) didn't satisfy plugin(s) [{', '.join(narrowed_by)}] simultaneously"
                    else:
                        msg = f"node(s) didn't satisfy plugin {p.name}"
                    return result, _named(unresolvable(msg), p.name)
        return result, None

    def active_filters(self, state: CycleState) -> list[Any]:
        skip = state.skip_filter_plugins
        return [p for p in self.filter if p.name not in skip] if skip else self.filter

    def run_filter_plugins(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        """The first rejection of `node_info` by a Filter plugin (None when it passes all)."""
        for p in self.active_filters(state):
            st = p.filter(state, pod, node_info)
            if st is not None and st.code != Code.SUCCESS:
                return _named(st, p.name)
        return None

    def filter_nodes(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo],
                     statuses: NodeToStatus) -> list[NodeInfo]:
        """The nodes that pass every Filter; rejected ones get their Status in `statuses`.
        Each plugin sees only the nodes earlier plugins passed (same outcome as per node)."""
        current = list(nodes)
        for p in self.active_filters(state):
            if not current:
                break
            batch = getattr(p, "filter_nodes", None)
            results = batch(state, pod, current) if batch is not None else [p.filter(state, pod, n) for n in current]
            if not any(results):
                continue  # every node passed (the common case): keep the list as it is
            survivors = []
            for n, st in zip(current, results, strict=True):
                if st is None or st.code == Code.SUCCESS:
                    survivors.append(n)
                else:
                    statuses[n.name] = _named(st, p.name)
            current = survivors
        return current

    def run_pre_filter_extension_add_pod(self, state: CycleState, pod: Obj, pod_to_add: Obj,
                                         node_info: NodeInfo) -> Status | None:
        for p in self.pre_filter:
            if p.name in state.skip_filter_plugins:
                continue
            ext = p.pre_filter_extensions() if hasattr(p, "pre_filter_extensions") else None
            if isinstance(ext, PreFilterExtensions):
                st = ext.add_pod(state, pod, pod_to_add, node_info)
                if st is not None and st.code != Code.SUCCESS:
                    return _named(st, p.name)
        return None

    def run_pre_filter_extension_remove_pod(self, state: CycleState, pod: Obj, pod_to_remove: Obj,
                                            node_info: NodeInfo) -> Status | None:
        for p in self.pre_filter:
            if p.name in state.skip_filter_plugins:
                continue
            ext = p.pre_filter_extensions() if hasattr(p, "pre_filter_extensions") else None
            if isinstance(ext, PreFilterExtensions):
                st = ext.remove_pod(state, pod, pod_to_remove, node_info)
                if st is not None and st.code != Code.SUCCESS:
                    return _named(st, p.name)
        return None

    async def run_post_filter_plugins(self, state: CycleState, pod: Obj, statuses: NodeToStatus
                                      ) -> tuple[PostFilterResult | None, Status | None]:
        """The first PostFilter that succeeds wins; otherwise the last rejection (its message is
        appended to the FitError, e.g. "preemption: ...")."""
        last: Status | None = Status(Code.UNSCHEDULABLE)
        result: PostFilterResult | None = None
        for p in self.post_filter:
            r, st = await p.post_filter(state, pod, statuses)
            if st is None or st.code == Code.SUCCESS:
                return r, None
            if st.code == Code.ERROR:
                return None, _named(st, p.name)
            last = _named(st, p.name)
            result = r or result
        return result, last

    # --- scoring -------------------------------------------------------------------------------------
    def run_pre_score_plugins(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]) -> Status | None:
        for p in self.pre_score:
            st = p.pre_score(state, pod, nodes)
            if st is not None and st.code != Code.SUCCESS:
                if st.code == Code.SKIP:
                    state.skip_score_plugins.add(p.name)
                    continue
                return _named(st, p.name)
        return None

    def run_score_plugins(self, state: CycleState, pod: Obj, nodes: Sequence[NodeInfo]
                          ) -> tuple[list[int], Status | None]:
        """Total weighted score per node (in the order of `nodes`)."""
        totals = [0] * len(nodes)
        skip = state.skip_score_plugins
        for p, weight in self.score:
            if p.name in skip:
                continue
            batch = getattr(p, "score_nodes", None)
            if batch is not None:
                raw: list[int] = batch(state, pod, nodes)
            else:
                raw = []
                for n in nodes:
                    s, st = p.score(state, pod, n)
                    if st is not None and st.code != Code.SUCCESS:
                        return totals, _named(st, p.name)
                    raw.append(s)
            normalize = getattr(p, "normalize_score", None)
            if normalize is not None:
                ns = [NodeScore(n.name, s) for n, s in zip(nodes, raw, strict=True)]
                st = normalize(state, pod, ns)
                if st is not None and st.code != Code.SUCCESS:
                    return totals, _named(st, p.name)
                raw = [x.score for x in ns]
            for i, s in enumerate(raw):
                totals[i] += s * weight
        return totals, None

    # --- reserve / permit ----------------------------------------------------------------------------
    def run_reserve_plugins_reserve(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        for p in self.reserve:
            st = p.reserve(state, pod, node_name)
            if st is not None and st.code != Code.SUCCESS:
                return _named(st, p.name)
        return None

    def run_reserve_plugins_unreserve(self, state: CycleState, pod: Obj, node_name: str) -> None:
        for p in reversed(self.reserve):
            try:
                p.unreserve(state, pod, node_name)
            except Exception:
                log.exception("Unreserve of plugin %s failed", p.name)

    def run_permit_plugins(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        waiting: dict[str, float] = {}
        for p in self.permit:
            st, timeout = p.permit(state, pod, node_name)
            if st is None or st.code == Code.SUCCESS:
                continue
            if st.code == Code.WAIT:
                waiting[p.name] = timeout
                continue
            return _named(st, p.name)
        if waiting:
            wp = WaitingPod(pod, set(waiting))
            self.waiting_pods[pod_uid(pod)] = wp
            loop = asyncio.get_running_loop()
            for name, timeout in waiting.items():
                loop.call_later(timeout, wp.reject, name, f"rejected due to timeout after waiting {timeout:g}s at plugin {name}")
            return Status(Code.WAIT)
        return None

    async def wait_on_permit(self, pod: Obj) -> Status | None:
        wp = self.waiting_pods.get(pod_uid(pod))
        if wp is None:
            return None
        try:
            return await wp.future
        finally:
            self.waiting_pods.pop(pod_uid(pod), None)

    def get_waiting_pod(self, uid: str) -> WaitingPod | None:
        return self.waiting_pods.get(uid)

    # --- binding -------------------------------------------------------------------------------------
    async def run_pre_bind_plugins(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        for p in self.pre_bind:
            st = await p.pre_bind(state, pod, node_name)
            if st is not None and st.code != Code.SUCCESS:
                return _named(st, p.name)
        return None

    async def run_bind_plugins(self, state: CycleState, pod: Obj, node_name: str) -> Status | None:
        for p in self.bind:
            st = await p.bind(state, pod, node_name)
            if st is not None and st.code == Code.SKIP:
                continue
            if st is not None and st.code != Code.SUCCESS:
                return _named(st, p.name)
            return None
        return Status(Code.SKIP, ["no bind plugin bound the pod"])

    def run_post_bind_plugins(self, state: CycleState, pod: Obj, node_name: str) -> None:
        for p in self.post_bind:
            try:
                p.post_bind(state, pod, node_name)
            except Exception:
                log.exception("PostBind of plugin %s failed", p.name)

    def has_post_filter(self) -> bool:
        return bool(self.post_filter)


_ATTR = {"preEnqueue": "pre_enqueue", "preFilter": "pre_filter", "filter": "filter", "postFilter": "post_filter",
         "preScore": "pre_score", "reserve": "reserve", "permit": "permit", "preBind": "pre_bind", "bind": "bind",
         "postBind": "post_bind"}

# Re-exported for plugin authors' type hints.
__all__ = ["BindPlugin", "FilterPlugin", "Framework", "PermitPlugin", "PostBindPlugin", "PostFilterPlugin",
           "PreBindPlugin", "PreEnqueuePlugin", "PreFilterPlugin", "PreScorePlugin", "QueueSortPlugin",
           "ReservePlugin", "ScorePlugin", "WaitingPod", "expand_plugins"]


def _named(st: Status, plugin: str) -> Status:
    if st.plugin:
        return st
    if st.code == Code.SKIP and not st.reasons:
        return Status(Code.SKIP, [], plugin)
    st.plugin = plugin
    return st
