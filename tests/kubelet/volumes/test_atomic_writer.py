"""The atomic writer on a real filesystem: layout, no-op writes, updates readers see whole."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from kybernetes.kubelet.volumes.atomic_writer import (
    DATA_DIR,
    FileProjection,
    InvalidPayloadError,
    current_data_dir,
    validate_path,
    write_atomically,
)
from kybernetes.kubelet.volumes.container_mounts import resolve_subpath

TS_NAME = re.compile(r"^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\w+$")


def entries(d: Path) -> set[str]:
    return set(os.listdir(d))


def test_first_write_layout(work: Path) -> None:
    changed = write_atomically(work, {"a": FileProjection(b"A", 0o644), "dir/sub/b": FileProjection(b"B", 0o400)})
    assert changed
    data = current_data_dir(work)
    assert data is not None and TS_NAME.match(data.name)
    assert os.readlink(work / DATA_DIR) == data.name            # relative link
    assert os.readlink(work / "a") == "..data/a"
    assert os.readlink(work / "dir") == "..data/dir"
    assert entries(work) == {DATA_DIR, data.name, "a", "dir"}
    assert (work / "a").read_bytes() == b"A"
    assert (work / "dir/sub/b").read_bytes() == b"B"
    assert stat.S_IMODE(os.stat(work / "dir/sub/b").st_mode) == 0o400
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o755
    assert stat.S_IMODE(os.stat(data / "dir").st_mode) == 0o755


def test_unchanged_payload_is_a_noop(work: Path) -> None:
    payload = {"a": FileProjection(b"A"), "b/c": FileProjection(b"C")}
    assert write_atomically(work, payload)
    before = current_data_dir(work)
    assert not write_atomically(work, payload)
    assert current_data_dir(work) == before
    assert not write_atomically(work, {"./a": FileProjection(b"A"), "b//c": FileProjection(b"C")})


@pytest.mark.parametrize(("second", "changed"), [
    ({"a": FileProjection(b"A2")}, True),
    ({"a": FileProjection(b"A", 0o600)}, True),
    ({"a": FileProjection(b"A")}, False),
], ids=["content", "mode", "same"])
def test_change_detection(work: Path, second: dict[str, FileProjection], changed: bool) -> None:
    write_atomically(work, {"a": FileProjection(b"A")})
    assert write_atomically(work, second) is changed


def test_update_swaps_dir_and_prunes_stale_paths(work: Path) -> None:
    write_atomically(work, {"keep": FileProjection(b"1"), "gone": FileProjection(b"x"),
                            "d/gone": FileProjection(b"y"), "e/keep": FileProjection(b"z")})
    old = current_data_dir(work)
    assert write_atomically(work, {"keep": FileProjection(b"2"), "e/keep": FileProjection(b"z"),
                                   "new": FileProjection(b"n")})
    new = current_data_dir(work)
    assert new != old and old is not None and not old.exists()
    assert entries(work) == {DATA_DIR, new.name if new else "", "keep", "e", "new"}
    assert (work / "keep").read_bytes() == b"2"
    assert (work / "new").read_bytes() == b"n"


def test_empty_payload_removes_everything(work: Path) -> None:
    write_atomically(work, {"a": FileProjection(b"A")})
    assert write_atomically(work, {})
    data = current_data_dir(work)
    assert data is not None and entries(work) == {DATA_DIR, data.name}
    assert os.listdir(data) == []


def test_leftovers_of_interrupted_write_are_removed(work: Path) -> None:
    write_atomically(work, {"a": FileProjection(b"A")})
    (work / "..2001_01_01_00_00_00.crash").mkdir()
    (work / "..2001_01_01_00_00_00.crash" / "a").write_bytes(b"junk")
    os.symlink("..2001_01_01_00_00_00.crash", work / "..data_tmp")
    write_atomically(work, {"a": FileProjection(b"A")})
    data = current_data_dir(work)
    assert data is not None and entries(work) == {DATA_DIR, data.name, "a"}


def test_missing_user_link_is_repaired_on_noop(work: Path) -> None:
    write_atomically(work, {"a": FileProjection(b"A")})
    (work / "a").unlink()
    assert not write_atomically(work, {"a": FileProjection(b"A")})
    assert (work / "a").read_bytes() == b"A"


def test_owner(work: Path) -> None:
    assert write_atomically(work, {"d/a": FileProjection(b"A")}, owner=(1234, 5678))
    st = os.stat(work / "d/a")
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    st = os.stat(work / "d")
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert not write_atomically(work, {"d/a": FileProjection(b"A")}, owner=(1234, 5678))
    assert write_atomically(work, {"d/a": FileProjection(b"A")}, owner=(-1, 42))
    assert os.stat(work / "d/a").st_gid == 42


@pytest.mark.parametrize(("path", "message"), [
    ("", "must not be empty"),
    ("/etc/passwd", "must be relative path"),
    ("../x", "must not contain '..'"),
    ("a/../../b", "must not contain '..'"),
    ("..data", "must not start with '..'"),
    ("..hidden/x", "must not start with '..'"),
    ("a" * 256, "filenames must be less than or equal to 255"),
    ("a/" * 2100, "must be less than or equal to 4096"),
], ids=["empty", "absolute", "backstep", "nested-backstep", "data-dir", "dotdot-prefix", "long-name", "long-path"])
def test_invalid_paths(work: Path, path: str, message: str) -> None:
    with pytest.raises(InvalidPayloadError, match=re.escape(message)):
        validate_path(path)
    with pytest.raises(InvalidPayloadError):
        write_atomically(work, {path: FileProjection(b"x")})
    assert entries(work) == set()  # nothing was written


@pytest.mark.parametrize("path", ["a", "a/b", "a/..b", "a..", ".hidden", "a/."])
def test_valid_paths(path: str) -> None:
    validate_path(path)


def test_readers_never_see_a_mix(work: Path) -> None:
    """A reader that snapshots ``..data`` sees one version for every file; a reader of a
    user-visible path always gets a whole file, never a partial or empty one."""
    rounds = 150
    size = 64 * 1024

    def payload(n: int) -> dict[str, FileProjection]:
        body = f"{n:06d}".encode() * (size // 6)
        return {"a": FileProjection(body), "b": FileProjection(body), "dir/c": FileProjection(body)}

    write_atomically(work, payload(0))
    stop = threading.Event()
    problems: list[str] = []
    consistent_reads = 0

    def reader() -> None:
        nonlocal consistent_reads
        while not stop.is_set():
            try:
                snapshot = work / os.readlink(work / DATA_DIR)
                versions = {(snapshot / name).read_bytes() for name in ("a", "b", "dir/c")}
            except FileNotFoundError:
                continue  # the snapshot was retired under us: retry, never a mix
            if len(versions) != 1:
                problems.append("mixed versions in one snapshot")
            consistent_reads += 1
            try:
                direct = (work / "a").read_bytes()
            except FileNotFoundError:
                continue
            if len(direct) != len(payload(0)["a"].data) or len(set(direct[i:i + 6] for i in range(0, 60, 6))) != 1:
                problems.append(f"partial read of a: {len(direct)} bytes")

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for n in range(1, rounds + 1):
            assert write_atomically(work, payload(n))
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert problems == []
    assert consistent_reads > 0
    assert (work / "b").read_bytes()[:6] == f"{rounds:06d}".encode()
    data = current_data_dir(work)
    assert data is not None and entries(work) == {DATA_DIR, data.name, "a", "b", "dir"}


def test_subpath_bind_keeps_old_version(work: Path) -> None:
    """A subPath of a projected key is the real file of the current version; a bind mount of it
    (what CRI does) keeps showing that version after the volume is updated."""
    vol = work / "vol"
    vol.mkdir()
    write_atomically(vol, {"key": FileProjection(b"v1")})
    real = resolve_subpath(vol, "key")
    data = current_data_dir(vol)
    assert data is not None and real.parent == Path(os.path.realpath(data))
    target = work / "bound"
    target.write_bytes(b"")
    subprocess.run(["mount", "--bind", str(real), str(target)], check=True)
    try:
        assert write_atomically(vol, {"key": FileProjection(b"v2")})
        assert (vol / "key").read_bytes() == b"v2"
        assert target.read_bytes() == b"v1"
    finally:
        subprocess.run(["umount", str(target)], check=True)
