"""The few kernel mount operations volumes need: tmpfs mounts and finding/undoing them.

The kubelet keeps no record of what it mounted: after a crash the truth is the kernel's mount
table, so teardown reads ``/proc/self/mountinfo`` rather than trusting memory. Mounting goes
through mount(2)/umount2(2) via libc (no subprocess per volume). The manager takes a ``Mounter``
so tests of its decisions could use a fake, but the shipped path is always ``LinuxMounter``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MS_NOSUID = 0x2
MS_NODEV = 0x4
MNT_DETACH = 0x2

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class MountInfo:
    mount_id: int
    parent_id: int
    mount_point: str
    fs_type: str
    source: str
    options: str        # per-mount options (rw, nosuid, ...)
    super_options: str  # filesystem options (size=..., mode=...)


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as three-digit octal escapes."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def parse_mountinfo(text: str) -> list[MountInfo]:
    out: list[MountInfo] = []
    for line in text.splitlines():
        fields = line.split(" ")
        if "-" not in fields or len(fields) < 10:
            continue
        sep = fields.index("-", 6)
        out.append(MountInfo(
            mount_id=int(fields[0]), parent_id=int(fields[1]), mount_point=_unescape(fields[4]),
            options=fields[5], fs_type=fields[sep + 1], source=_unescape(fields[sep + 2]),
            super_options=fields[sep + 3] if len(fields) > sep + 3 else ""))
    return out


def mounts_under(mounts: list[MountInfo], root: Path) -> list[MountInfo]:
    """Mounts at ``root`` or below it, deepest first (the order to unmount them in)."""
    prefix = str(root).rstrip("/") + "/"
    hits = [m for m in mounts if m.mount_point == prefix[:-1] or m.mount_point.startswith(prefix)]
    return sorted(hits, key=lambda m: (m.mount_point.count("/"), m.mount_id), reverse=True)


class Mounter(Protocol):
    def mount_tmpfs(self, target: Path, *, size_bytes: int | None) -> None: ...
    def unmount(self, target: Path) -> None: ...
    def list_mounts(self) -> list[MountInfo]: ...


class LinuxMounter:
    """mount(2)/umount2(2) through libc; needs CAP_SYS_ADMIN (the kubelet runs as root)."""

    def __init__(self, mountinfo: Path = Path("/proc/self/mountinfo")) -> None:
        self._mountinfo = mountinfo
        self._libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)

    def list_mounts(self) -> list[MountInfo]:
        return parse_mountinfo(self._mountinfo.read_text())

    def mount_tmpfs(self, target: Path, *, size_bytes: int | None) -> None:
        options = f"size={size_bytes}" if size_bytes else ""
        rc = self._libc.mount(b"tmpfs", os.fsencode(target), b"tmpfs", MS_NOSUID | MS_NODEV,
                              options.encode() or None)
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"mount tmpfs on {target}: {os.strerror(err)}")

    def unmount(self, target: Path) -> None:
        rc = self._libc.umount2(os.fsencode(target), 0)
        if rc != 0 and ctypes.get_errno() == errno.EBUSY:
            # Something still holds it open; detach now, the kernel frees it when released.
            rc = self._libc.umount2(os.fsencode(target), MNT_DETACH)
        if rc != 0:
            err = ctypes.get_errno()
            if err == errno.EINVAL and not self.is_mount_point(target):
                return  # already gone
            raise OSError(err, f"unmount {target}: {os.strerror(err)}")

    def is_mount_point(self, target: Path) -> bool:
        return any(m.mount_point == str(target) for m in self.list_mounts())
