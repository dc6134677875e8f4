"""Simulated ("hollow") nodes: many fake kubelets in one process, for scale tests without containers.

    profile   Profile, NodeGroup, PodBehaviour, parse_profile / load_profile / scale_to
    nodes     plan_nodes, render_node, render_node_status, render_lease (pure)
    podstate  plan_pod(pod, now, behaviour, host_ip=, pod_ip=) -> PodPlan (pure)
    stats     summary(): the kubelet's /stats/summary shape from simulated usage (pure)
    runner    HollowNodes: registers nodes, renews leases, plays pods, serves stats
    component run(kubeconfig): the `kyb server` component (KYB_SIM_NODES / KYB_SIM_PROFILE)

`kyb sim --nodes N [--profile FILE]` is the command line; docs/sim.md describes the profile.
"""

from __future__ import annotations

from kybernetes.kubelet.nodestatus import render_lease
from kybernetes.sim.nodes import SimNode, plan_nodes, render_node, render_node_status
from kybernetes.sim.podstate import PodPlan, plan_pod
from kybernetes.sim.profile import (
    NodeGroup,
    PodBehaviour,
    Profile,
    ProfileError,
    load_profile,
    parse_profile,
    scale_to,
)
from kybernetes.sim.runner import HollowNodes, SimOptions

__all__ = [
    "HollowNodes", "NodeGroup", "PodBehaviour", "PodPlan", "Profile", "ProfileError", "SimNode", "SimOptions",
    "load_profile", "parse_profile", "plan_nodes", "plan_pod", "render_lease", "render_node", "render_node_status",
    "scale_to",
]
