"""A multi-node cluster on one machine, for development and tests (`kyb dev cluster`).

Each node is a network namespace with a veth to a host bridge; its whole `kyb agent` (containerd,
CNI bridge, proxy tables, kubelet port) runs inside that namespace. See plan.py for the layout and
harness.py for the order of start and stop.
"""

from __future__ import annotations

from kybernetes.devcluster.harness import DevCluster, DevClusterError, dev_cluster
from kybernetes.devcluster.plan import DevClusterConfig, NodePlan, plan_nodes

__all__ = ["DevCluster", "DevClusterConfig", "DevClusterError", "NodePlan", "dev_cluster", "plan_nodes"]
