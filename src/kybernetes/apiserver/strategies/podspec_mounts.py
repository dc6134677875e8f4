"""How a container attaches the pod's volumes: volume mounts against volume devices (block mode),
mount propagation and recursive read-only mounts, as upstream's ValidateVolumeMounts /
ValidateVolumeDevices in 1.32.

podspec.py checks the plain mount fields (name refers to a volume, mountPath set and unique);
this module adds what involves devices and the propagation/read-only options. Some upstream
paths name the list rather than the item (``volumeMounts.mountPropagation``); that is kept,
because clients see exactly those paths.
"""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.podspec_volumes import no_backsteps
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import (
    child,
    forbidden,
    index,
    invalid,
    not_found,
    not_supported,
    required,
)

Obj = dict[str, Any]

MOUNT_PROPAGATIONS = ("Bidirectional", "HostToContainer", "None")
RECURSIVE_READ_ONLY = ("Disabled", "Enabled", "IfPossible")
_BLOCK_SOURCES = ("persistentVolumeClaim", "ephemeral")


def _items(c: Obj, field: str) -> list[Obj]:
    return [x for x in c.get(field) or [] if isinstance(x, dict)]


def _privileged(c: Obj) -> bool:
    sc = c.get("securityContext")
    return isinstance(sc, dict) and sc.get("privileged") is True


def _propagation(m: Obj, c: Obj, path: str) -> list[Cause]:
    mode = m.get("mountPropagation")
    if mode is None:
        return []
    causes: list[Cause] = []
    if mode not in MOUNT_PROPAGATIONS:
        causes.append(not_supported(path, mode, MOUNT_PROPAGATIONS))
    if mode == "Bidirectional" and not _privileged(c):
        causes.append(
            forbidden(path, "Bidirectional mount propagation is available only to privileged containers")
        )
    return causes


def _recursive_read_only(m: Obj, path: str) -> list[Cause]:
    rro = m.get("recursiveReadOnly")
    if rro is None or rro == "Disabled":
        return []
    if rro not in RECURSIVE_READ_ONLY:
        return [not_supported(path, rro, RECURSIVE_READ_ONLY)]
    causes: list[Cause] = []
    if not m.get("readOnly"):
        causes.append(forbidden(path, "may only be specified when readOnly is true"))
    if m.get("mountPropagation") not in (None, "None"):
        causes.append(forbidden(path, "may only be specified when mountPropagation is None or not specified"))
    return causes


def validate_mount_options(c: Obj, path: str, volumes: dict[str, Obj]) -> list[Cause]:
    """The mount checks that need devices, the volume's source or the container's privilege."""
    causes: list[Cause] = []
    mounts_path = child(path, "volumeMounts")
    devices = {str(d.get("name") or ""): str(d.get("devicePath") or "") for d in _items(c, "volumeDevices")}
    device_paths = set(devices.values())
    for i, m in enumerate(_items(c, "volumeMounts")):
        ip = index(mounts_path, i)
        name, mount_path = m.get("name") or "", m.get("mountPath") or ""
        if name in devices:
            causes.append(invalid(child(ip, "name"), name, "must not already exist in volumeDevices"))
        if mount_path in device_paths:
            causes.append(
                invalid(
                    child(ip, "mountPath"), mount_path, "must not already exist as a path in volumeDevices"
                )
            )
        vol = volumes.get(name)
        if vol is not None and vol.get("image") is not None:
            for sub in ("subPath", "subPathExpr"):
                if m.get(sub):
                    causes.append(invalid(child(ip, sub), m[sub], "not allowed in image volume sources"))
        causes.extend(_propagation(m, c, child(mounts_path, "mountPropagation")))
        causes.extend(_recursive_read_only(m, child(mounts_path, "recursiveReadOnly")))
    return causes


def validate_volume_devices(c: Obj, path: str, volumes: dict[str, Obj]) -> list[Cause]:
    """ValidateVolumeDevices: each device names a PVC-backed volume, at a unique clean path."""
    causes: list[Cause] = []
    devices_path = child(path, "volumeDevices")
    mounts = {str(m.get("name") or ""): str(m.get("mountPath") or "") for m in _items(c, "volumeMounts")}
    mount_paths = set(mounts.values())
    names: set[str] = set()
    paths: set[str] = set()
    for i, d in enumerate(_items(c, "volumeDevices")):
        ip = index(devices_path, i)
        name, dev_path = str(d.get("name") or ""), str(d.get("devicePath") or "")
        if not name:
            causes.append(required(child(ip, "name")))
        if name in names:
            causes.append(invalid(child(ip, "name"), name, "must be unique"))
        vol = volumes.get(name)
        if vol is None:
            causes.append(not_found(child(ip, "name"), name))
        elif not any(vol.get(s) is not None for s in _BLOCK_SOURCES):
            causes.append(
                invalid(
                    child(ip, "name"),
                    name,
                    "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
                )
            )
        if not dev_path:
            causes.append(required(child(ip, "devicePath")))
        if dev_path in paths:
            causes.append(invalid(child(ip, "devicePath"), dev_path, "must be unique"))
        if dev_path and no_backsteps(dev_path, child(devices_path, "devicePath")):
            causes.append(invalid(child(ip, "devicePath"), dev_path, "can not contain backsteps ('..')"))
        else:
            paths.add(dev_path)
        if name in mounts:
            causes.append(invalid(child(ip, "name"), name, "must not already exist in volumeMounts"))
        if dev_path in mount_paths:
            causes.append(
                invalid(child(ip, "devicePath"), dev_path, "must not already exist as a path in volumeMounts")
            )
        if name:
            names.add(name)
    return causes
