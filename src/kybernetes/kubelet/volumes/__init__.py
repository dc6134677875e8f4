"""Pod volumes on the node: emptyDir, configMap, secret, downwardAPI, projected, hostPath and
PVC-bound hostPath/local volumes, and the mounts a container gets from them.

``VolumeManager`` sets volumes up and tears them down; ``container_mounts`` turns them into the
mount list handed to CRI. See the modules for the rules each follows.
"""

from __future__ import annotations

from kybernetes.kubelet.volumes.atomic_writer import FileProjection, InvalidPayloadError, write_atomically
from kybernetes.kubelet.volumes.container_mounts import (
    ContainerMountError,
    MountPropagation,
    MountSpec,
    container_mounts,
    expand_subpath_expr,
    render_etc_hosts,
)
from kybernetes.kubelet.volumes.manager import VolumeManager, memory_volume_size
from kybernetes.kubelet.volumes.projections import (
    VolumeSetupError,
    configmap_payload,
    downward_api_payload,
    projected_payload,
    secret_payload,
)

__all__ = [
    "ContainerMountError",
    "FileProjection",
    "InvalidPayloadError",
    "MountPropagation",
    "MountSpec",
    "VolumeManager",
    "VolumeSetupError",
    "configmap_payload",
    "container_mounts",
    "downward_api_payload",
    "expand_subpath_expr",
    "memory_volume_size",
    "projected_payload",
    "render_etc_hosts",
    "secret_payload",
    "write_atomically",
]
