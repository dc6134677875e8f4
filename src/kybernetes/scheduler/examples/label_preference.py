"""An example scheduler plugin written in Python, loaded by module path from the configuration.

``LabelPreference`` takes part in two extension points:

- Filter: rejects nodes labelled ``<avoidLabel>=true`` (default ``example.kybernetes.io/avoid``),
  with the reason "node(s) are labelled to be avoided" (UNSCHEDULABLE_AND_UNRESOLVABLE:
  preempting pods would not change a label).
- Score: 100 for nodes carrying ``<preferLabel>`` (any value), 0 otherwise.

Enable it with::

    apiVersion: kubescheduler.config.k8s.io/v1
    kind: KubeSchedulerConfiguration
    pluginModules: [kybernetes.scheduler.examples.label_preference]
    profiles:
    - schedulerName: default-scheduler
      plugins:
        multiPoint:
          enabled: [{name: LabelPreference, weight: 10}]
      pluginConfig:
      - name: LabelPreference
        args: {preferLabel: example.kybernetes.io/fast}

A plugin module exposes ``PLUGINS = {name: factory}``; a factory gets the plugin's args (a dict)
and the framework handle. Plugins decide from their inputs only and return a Status (None is
success); they never raise for "does not fit".
"""

from __future__ import annotations

from typing import Any, ClassVar

from kybernetes.scheduler.framework import (
    MAX_NODE_SCORE,
    ActionType,
    ClusterEvent,
    ClusterEventWithHint,
    CycleState,
    EventResource,
    NodeInfo,
    Status,
    unresolvable,
)

Obj = dict[str, Any]


class LabelPreference:
    name: ClassVar[str] = "LabelPreference"

    def __init__(self, args: Obj) -> None:
        self.avoid = str(args.get("avoidLabel") or "example.kybernetes.io/avoid")
        self.prefer = str(args.get("preferLabel") or "example.kybernetes.io/preferred")

    def filter(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> Status | None:
        if node_info.labels.get(self.avoid) == "true":
            return unresolvable("node(s) are labelled to be avoided")
        return None

    def score(self, state: CycleState, pod: Obj, node_info: NodeInfo) -> tuple[int, Status | None]:
        return (MAX_NODE_SCORE if self.prefer in node_info.labels else 0), None

    def events_to_register(self) -> list[ClusterEventWithHint]:
        # A pod this plugin rejected may fit once a node's labels change or a node is added.
        return [ClusterEventWithHint(ClusterEvent(EventResource.NODE, ActionType.ADD | ActionType.UPDATE_NODE_LABEL))]


PLUGINS = {"LabelPreference": lambda args, handle: LabelPreference(args)}
