"""The HorizontalPodAutoscaler loop (autoscaling/v2; v1 objects are stored as v2).

replicas      the replica calculator: pod grouping, requests, usage ratios, tolerance (pure)
metricsource  the pod usage interface, its metrics.k8s.io client and sample extraction
evaluate      each metric spec to a proposed count, statuses and failure texts (pure)
behavior      stabilization windows and scaling policies over a per-HPA history (pure)
conditions    AbleToScale / ScalingActive / ScalingLimited and the status block (pure)
decide        one sync's decision after the scale was read (pure)
controller    the executor: informers, discovery, /scale, status writes, events
"""

from __future__ import annotations

from kybernetes.controllers.podautoscaler.controller import HorizontalController, HPASettings

__all__ = ["HPASettings", "HorizontalController"]
