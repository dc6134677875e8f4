"""Starts the node's logging work beside the pod workers: rotation and symlinks
(kubelet/logrotation.py) and the shipper to the cluster log store (kubelet/logshipper.py)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from kybernetes.kubelet.logrotation import ContainerLogManager, make_policy
from kybernetes.kubelet.logshipper import LogShipper, api_sender, pod_meta_from

if TYPE_CHECKING:
    from kybernetes.kubelet.agent import Kubelet


def start_node_logging(kubelet: Kubelet) -> list[asyncio.Task[None]]:
    s = kubelet.settings
    assert kubelet.cri is not None and kubelet.runtime is not None
    runtime = kubelet.runtime
    policy = make_policy(
        s.container_log_max_size, s.container_log_max_files, monitor_interval=s.container_log_monitor_interval
    )
    symlinks = s.data_dir / "containers"  # upstream's /var/log/containers
    manager = ContainerLogManager(
        reopen=kubelet.cri.reopen_container_log,
        pods=lambda: runtime.pods,
        known_pod_uids=lambda: set(kubelet.by_uid),
        logs_root=kubelet.logs_root,
        symlink_dir=symlinks,
        policy=policy,
    )
    shipper = LogShipper(
        symlink_dir=symlinks,
        state_dir=s.data_dir / "logship",
        node_name=kubelet.node_name,
        send=api_sender(kubelet.client),
        pod_meta=pod_meta_from(kubelet.by_uid),
    )
    return [
        asyncio.create_task(manager.run(), name="kubelet-container-logs"),
        asyncio.create_task(shipper.run(), name="kubelet-log-shipper"),
    ]
