"""hostPath ``type`` checks: what must already exist on the node, and what the kubelet creates.

Semantics and messages follow the upstream kubelet: an empty type checks nothing;
``DirectoryOrCreate`` makes a 0755 directory (and its parents), ``FileOrCreate`` an empty 0644
file (its parent must exist); the other types only check.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kybernetes.kubelet.volumes.projections import VolumeSetupError

HOST_PATH_TYPES = ("", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                   "BlockDevice")


def _mode(path: Path) -> int | None:
    try:
        return os.stat(path).st_mode
    except FileNotFoundError:
        return None


def _make_dirs(path: Path) -> None:
    """mkdir -p with every created level 0755, whatever the process umask."""
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue
        os.chmod(directory, 0o755)


def check_host_path(path: Path, path_type: str | None) -> None:
    """Create or check ``path`` as its hostPath ``type`` demands; VolumeSetupError when it fails."""
    kind = path_type or ""
    if kind not in HOST_PATH_TYPES:
        raise VolumeSetupError(f"{kind} is an invalid volume type")
    if kind == "":
        return
    mode = _mode(path)
    if kind == "DirectoryOrCreate" and mode is None:
        _make_dirs(path)
        return
    if kind == "FileOrCreate" and mode is None:
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise VolumeSetupError(f"hostPath type check failed: {path}: {e.strerror}") from e
        os.fchmod(fd, 0o644)
        os.close(fd)
        return
    checks = {
        "DirectoryOrCreate": (stat.S_ISDIR, "is not a directory"),
        "Directory": (stat.S_ISDIR, "is not a directory"),
        "FileOrCreate": (stat.S_ISREG, "is not a file"),
        "File": (stat.S_ISREG, "is not a file"),
        "Socket": (stat.S_ISSOCK, "is not a socket file"),
        "CharDevice": (stat.S_ISCHR, "is not a character device"),
        "BlockDevice": (stat.S_ISBLK, "is not a block device"),
    }
    test, message = checks[kind]
    if mode is None or not test(mode):
        raise VolumeSetupError(f"hostPath type check failed: {path} {message}")
