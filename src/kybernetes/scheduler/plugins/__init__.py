"""The default (in-tree) plugins under upstream's names; `in_tree_registry()` maps names to factories.

Not yet: NodeVolumeLimits. Its name is already in the default profile
(`config.DEFAULT_MULTI_POINT`, with upstream's weights); registering a factory under the name here
is all it takes to enable it by default.

Plugins that read other API objects (Services, PVCs, ...) have ``attach_informers(factory,
on_event)``; the scheduler calls it before it starts its informer factory (see `listers`).
"""

from __future__ import annotations

from kybernetes.scheduler.framework.registry import Registry
from kybernetes.scheduler.plugins.default_preemption import DefaultPreemption
from kybernetes.scheduler.plugins.imagelocality import ImageLocality
from kybernetes.scheduler.plugins.inter_pod_affinity import InterPodAffinity
from kybernetes.scheduler.plugins.nodeaffinity import NodeAffinity
from kybernetes.scheduler.plugins.noderesources import BalancedAllocation, Fit
from kybernetes.scheduler.plugins.pod_topology_spread import PodTopologySpread
from kybernetes.scheduler.plugins.simple import (
    DefaultBinder,
    NodeName,
    NodePorts,
    NodeUnschedulable,
    PrioritySort,
    SchedulingGates,
)
from kybernetes.scheduler.plugins.tainttoleration import TaintToleration
from kybernetes.scheduler.plugins.volume_binding import VolumeBinding
from kybernetes.scheduler.plugins.volume_restrictions import VolumeRestrictions
from kybernetes.scheduler.plugins.volume_zone import VolumeZone


def in_tree_registry() -> Registry:
    return {
        "PrioritySort": lambda args, h: PrioritySort(),
        "SchedulingGates": lambda args, h: SchedulingGates(),
        "NodeUnschedulable": lambda args, h: NodeUnschedulable(),
        "NodeName": lambda args, h: NodeName(),
        "TaintToleration": lambda args, h: TaintToleration(),
        "NodeAffinity": lambda args, h: NodeAffinity(args),
        "NodePorts": lambda args, h: NodePorts(),
        "NodeResourcesFit": lambda args, h: Fit(args),
        "NodeResourcesBalancedAllocation": lambda args, h: BalancedAllocation(args),
        "ImageLocality": lambda args, h: ImageLocality(h),
        "DefaultBinder": lambda args, h: DefaultBinder(h),
        "DefaultPreemption": lambda args, h: DefaultPreemption(args, h),
        "VolumeRestrictions": lambda args, h: VolumeRestrictions(args, h),
        "VolumeZone": lambda args, h: VolumeZone(args, h),
        "VolumeBinding": lambda args, h: VolumeBinding(args, h),
        "PodTopologySpread": lambda args, h: PodTopologySpread(args, h),
        "InterPodAffinity": lambda args, h: InterPodAffinity(args, h),
    }
