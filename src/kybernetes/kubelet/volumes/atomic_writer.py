"""Project a set of files into a directory so readers never see a half-updated volume.

configMap, secret, downwardAPI and projected volumes change while containers read them. The
scheme is the one upstream kubelets use, so programs written against it (they watch ``..data``)
work unchanged:

    <target>/..2024_05_01_10_00_00.k3j2h1/   the real files, written once and never modified
    <target>/..data -> ..2024_05_01_10_00_00.k3j2h1
    <target>/<name> -> ..data/<name>           one link per top-level user path

Theory of operation (invariants a reader can rely on):
  1. A timestamped directory is complete before any link points at it and is never changed
     afterwards; an update writes a fresh one.
  2. ``..data`` is switched with one rename(2) of a temporary link over it, so every path
     resolution goes through either the old or the new directory, never a mix of the two.
  3. A user-visible link is created before the switch (it dangles harmlessly until then) and a
     stale one is removed only after it, so a name present in both versions always resolves.
  4. The old timestamped directory is removed only after the switch.
  5. Names starting with ``..`` belong to the writer; payload paths may not use them.
The writer is not safe against concurrent writers of the same directory: callers serialise.
Leftovers of an interrupted write (an unreferenced timestamped directory, ``..data_tmp``) are
removed by the next write.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = "..data"
DATA_TMP = "..data_tmp"
MAX_PATH_LENGTH = 4096
MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int = 0o644


class InvalidPayloadError(ValueError):
    """A payload path that would escape the volume or collide with the writer's own names."""


def validate_path(path: str) -> None:
    """Raise InvalidPayloadError unless ``path`` is a safe relative path inside the volume."""
    if not path:
        raise InvalidPayloadError('invalid path: must not be empty: ""')
    if path.startswith("/"):
        raise InvalidPayloadError(f"invalid path: must be relative path: {path}")
    if len(path) > MAX_PATH_LENGTH:
        raise InvalidPayloadError(f"invalid path: must be less than or equal to {MAX_PATH_LENGTH} characters")
    parts = path.split("/")
    for part in parts:
        if part == "..":
            raise InvalidPayloadError(f"invalid path: must not contain '..': {path}")
        if len(part) > MAX_NAME_LENGTH:
            raise InvalidPayloadError(
                f"invalid path: filenames must be less than or equal to {MAX_NAME_LENGTH} characters")
    if parts[0].startswith("..") and len(parts[0]) > 2:
        raise InvalidPayloadError(f"invalid path: must not start with '..': {path}")


def clean_payload(payload: Mapping[str, FileProjection]) -> dict[str, FileProjection]:
    """Validate every path and normalise it (``a//b/./c`` → ``a/b/c``)."""
    out: dict[str, FileProjection] = {}
    for path, projection in payload.items():
        validate_path(path)
        cleaned = os.path.normpath(path)
        if cleaned in (".", ""):
            raise InvalidPayloadError(f"invalid path: must name a file: {path}")
        out[cleaned] = projection
    return out


def current_data_dir(target_dir: Path) -> Path | None:
    """The timestamped directory ``..data`` points at, or None before the first write."""
    try:
        name = os.readlink(target_dir / DATA_DIR)
    except FileNotFoundError:
        return None
    return target_dir / name


def write_atomically(
    target_dir: Path,
    payload: Mapping[str, FileProjection],
    *,
    owner: tuple[int, int] | None = None,
) -> bool:
    """Make ``target_dir`` show exactly ``payload``; True when anything on disk changed.

    ``owner`` is (uid, gid) for the files and directories written (-1 leaves one unchanged).
    """
    files = clean_payload(payload)
    if not target_dir.is_dir():
        raise FileNotFoundError(f"target directory {target_dir} does not exist")
    old_dir = current_data_dir(target_dir)
    _remove_leftovers(target_dir, keep=old_dir)

    stale: set[str] = set()
    if old_dir is not None:
        stale = _old_paths(old_dir) - _with_ancestors(files)
        if not stale and not _differs(files, old_dir, owner):
            _ensure_user_links(target_dir, files)
            return False

    new_dir = Path(tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()),
                                    dir=target_dir))
    try:
        # mkdtemp makes 0700; readers running as other users must be able to traverse it.
        os.chmod(new_dir, 0o755)
        _chown(new_dir, owner)
        _write_files(new_dir, files, owner)
        _ensure_user_links(target_dir, files)
        tmp_link = target_dir / DATA_TMP
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_link)
        os.symlink(new_dir.name, tmp_link)
        os.replace(tmp_link, target_dir / DATA_DIR)
    except BaseException:
        shutil.rmtree(new_dir, ignore_errors=True)
        raise

    for name in sorted(stale):
        if "/" in name:
            continue  # only top-level entries have user-visible links
        link = target_dir / name
        if link.is_symlink():
            link.unlink()
    if old_dir is not None:
        shutil.rmtree(old_dir, ignore_errors=True)
    return True


def _with_ancestors(files: Mapping[str, FileProjection]) -> set[str]:
    """Every payload path plus its parent directories, which must survive as well."""
    out: set[str] = set()
    for path in files:
        while path:
            out.add(path)
            path = os.path.dirname(path)
    return out


def _old_paths(old_dir: Path) -> set[str]:
    out: set[str] = set()
    for root, dirs, names in os.walk(old_dir):
        rel_root = os.path.relpath(root, old_dir)
        for name in (*dirs, *names):
            out.add(name if rel_root == "." else f"{rel_root}/{name}")
    return out


def _differs(files: Mapping[str, FileProjection], old_dir: Path, owner: tuple[int, int] | None) -> bool:
    for path, projection in files.items():
        full = old_dir / path
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            return True
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != projection.mode:
            return True
        if owner is not None and ((owner[0] != -1 and st.st_uid != owner[0])
                                  or (owner[1] != -1 and st.st_gid != owner[1])):
            return True
        if st.st_size != len(projection.data) or full.read_bytes() != projection.data:
            return True
    return False


def _write_files(base: Path, files: Mapping[str, FileProjection], owner: tuple[int, int] | None) -> None:
    for path, projection in files.items():
        full = base / path
        _make_parents(base, full.parent, owner)
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(projection.data)
            while view:
                view = view[os.write(fd, view):]
            # fchmod after creation: the process umask must not change the requested mode.
            os.fchmod(fd, projection.mode)
            if owner is not None:
                os.fchown(fd, owner[0], owner[1])
        finally:
            os.close(fd)


def _make_parents(base: Path, parent: Path, owner: tuple[int, int] | None) -> None:
    missing: list[Path] = []
    while parent != base and not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for directory in reversed(missing):
        os.mkdir(directory)
        os.chmod(directory, 0o755)
        _chown(directory, owner)


def _chown(path: Path, owner: tuple[int, int] | None) -> None:
    if owner is not None:
        os.chown(path, owner[0], owner[1], follow_symlinks=False)


def _ensure_user_links(target_dir: Path, files: Mapping[str, FileProjection]) -> None:
    for top in sorted({path.split("/", 1)[0] for path in files}):
        link = target_dir / top
        if link.is_symlink() or link.exists():
            continue  # a real entry of that name (e.g. a subPath directory) is left alone
        os.symlink(f"{DATA_DIR}/{top}", link)


def _remove_leftovers(target_dir: Path, *, keep: Path | None) -> None:
    """Drop what an interrupted write left behind: unreferenced ``..<timestamp>`` dirs, ``..data_tmp``."""
    for entry in os.scandir(target_dir):
        if entry.name == DATA_TMP:
            os.unlink(entry.path)
        elif (entry.name.startswith("..") and entry.name != DATA_DIR and entry.is_dir(follow_symlinks=False)
              and (keep is None or entry.name != keep.name)):
            shutil.rmtree(entry.path, ignore_errors=True)
