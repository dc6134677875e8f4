"""mountinfo parsing (pure) and the libc mounter against the real kernel."""

from __future__ import annotations

from pathlib import Path

from kybernetes.kubelet.volumes.mounts import LinuxMounter, MountInfo, mounts_under, parse_mountinfo

SAMPLE = (
    "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "40 22 0:39 / /var/lib/kyb/pods/u1/volumes/kubernetes.io~secret/tok rw,nosuid,nodev,relatime - tmpfs tmpfs rw,size=1024k\n"
    "41 22 0:40 / /var/lib/kyb/pods/u1/volumes/kubernetes.io~empty-dir/with\\040space rw - tmpfs tmpfs rw\n"
    "42 40 0:41 / /var/lib/kyb/pods/u1/volumes/kubernetes.io~secret/tok/nested rw master:3 - tmpfs none rw\n"
    "43 22 0:42 / /var/lib/kyb/pods/u10/x rw - tmpfs tmpfs rw\n"
    "garbage line\n"
)


def test_parse_mountinfo() -> None:
    mounts = parse_mountinfo(SAMPLE)
    assert len(mounts) == 5
    assert mounts[1] == MountInfo(40, 22, "/var/lib/kyb/pods/u1/volumes/kubernetes.io~secret/tok", "tmpfs", "tmpfs",
                                  "rw,nosuid,nodev,relatime", "rw,size=1024k")
    assert mounts[2].mount_point.endswith("/with space")
    assert mounts[3].fs_type == "tmpfs" and mounts[3].source == "none"


def test_mounts_under_is_deepest_first_and_exact_prefix() -> None:
    got = [m.mount_point for m in mounts_under(parse_mountinfo(SAMPLE), Path("/var/lib/kyb/pods/u1"))]
    assert got == [
        "/var/lib/kyb/pods/u1/volumes/kubernetes.io~secret/tok/nested",
        "/var/lib/kyb/pods/u1/volumes/kubernetes.io~empty-dir/with space",
        "/var/lib/kyb/pods/u1/volumes/kubernetes.io~secret/tok",
    ]


def test_linux_mounter_tmpfs_roundtrip(work: Path) -> None:
    target = work / "odd name"
    target.mkdir()
    m = LinuxMounter()
    m.mount_tmpfs(target, size_bytes=2 * 1024 * 1024)
    [info] = mounts_under(m.list_mounts(), work)
    assert (info.mount_point, info.fs_type) == (str(target), "tmpfs")
    assert "size=2048k" in info.super_options
    assert "nosuid" in info.options and "nodev" in info.options
    m.unmount(target)
    assert mounts_under(m.list_mounts(), work) == []
    m.unmount(target)  # already gone: not an error
