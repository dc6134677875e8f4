"""A three-node cluster on this machine for end-to-end tests (nodes in network namespaces).

The fixture builds what `kyb dev cluster` builds (kybernetes.devcluster) with the caller's names,
addresses and ports, so several test modules (and helpers) never collide, and fails the test run if
anything of the cluster (namespace, interface, process, cgroup, mount) is still there after it stopped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from pathlib import Path

from kybernetes.devcluster import DevCluster, DevClusterConfig
from kybernetes.devcluster.harness import dev_cluster


@contextlib.contextmanager
def multinode_cluster(data_dir: Path, *, port: int, prefix: str, host_bridge: str, subnet: str,
                      cluster_cidr: str, dns_port: int, nodes: int = 3,
                      server_env: Mapping[str, str] | None = None, network_backend: str = "host-gw",
                      node_subnets: tuple[str, ...] = ()) -> Iterator[DevCluster]:
    """`server_env` adds to the environment of `kyb server` (e.g. KYB_DNS_UPSTREAMS for a test's forwarder);
    `node_subnets` puts the nodes on several routed subnets (see DevClusterConfig)."""
    cfg = DevClusterConfig(data_dir=data_dir, nodes=nodes, port=port, prefix=prefix, host_bridge=host_bridge,
                           subnet=subnet, cluster_cidr=cluster_cidr, dns_port=dns_port,
                           server_env=tuple(sorted((server_env or {}).items())), network_backend=network_backend,
                           node_subnets=node_subnets)
    holder: list[DevCluster] = []
    with dev_cluster(cfg, keep_data=False) as cluster:
        holder.append(cluster)
        yield cluster
    left = holder[0].leftovers() if holder else []
    if left:
        raise AssertionError(f"the multi-node cluster left behind: {left}")
