"""Which plugin a pod volume belongs to, and facts about each plugin the rest of the package uses.

A volume entry names exactly one source field (``emptyDir``, ``secret``, ...). Directory names
under ``pods/<uid>/volumes/`` are upstream's escaped plugin names, so a node's layout looks
familiar to anyone who knows the kubelet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EMPTY_DIR = "emptyDir"
SECRET = "secret"
CONFIG_MAP = "configMap"
DOWNWARD_API = "downwardAPI"
PROJECTED = "projected"
HOST_PATH = "hostPath"
PVC = "persistentVolumeClaim"

KINDS = (EMPTY_DIR, SECRET, CONFIG_MAP, DOWNWARD_API, PROJECTED, HOST_PATH, PVC)

PLUGIN_DIRS = {
    EMPTY_DIR: "kubernetes.io~empty-dir",
    SECRET: "kubernetes.io~secret",
    CONFIG_MAP: "kubernetes.io~configmap",
    DOWNWARD_API: "kubernetes.io~downward-api",
    PROJECTED: "kubernetes.io~projected",
}

# Volumes whose content the kubelet writes with the atomic writer: always read-only in
# containers, re-projected when their sources change.
PROJECTED_KINDS = frozenset({SECRET, CONFIG_MAP, DOWNWARD_API, PROJECTED})


def volume_kind(volume: Mapping[str, Any]) -> str | None:
    """The source field a volume uses, or None for a type this kubelet does not support."""
    for kind in KINDS:
        if volume.get(kind) is not None:
            return kind
    return None
