"""Container log rotation: which files are removed, compressed and renamed; symlink names and plans;
and the manager's executor against real files with a fake ReopenContainerLog."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from kybernetes.kubelet import logrotation as lr
from kybernetes.kubelet.runtime_state import ContainerState, RuntimeContainer, RuntimePod

LOG = "/p/c/0.log"
NOW = time.mktime((2026, 11, 27, 10, 41, 5, 0, 0, -1))  # local time, as upstream stamps it
STAMP = "20261127-104105"

PLANS = [
    ("first-rotation", [], 5, [], [], f"{LOG}.{STAMP}"),
    (
        "previous-rotated-gets-compressed",
        [f"{LOG}.20261127-100000"],
        5,
        [],
        [f"{LOG}.20261127-100000"],
        f"{LOG}.{STAMP}",
    ),
    (
        "compressed-kept-as-is",
        [f"{LOG}.20261127-090000.gz", f"{LOG}.20261127-100000"],
        5,
        [],
        [f"{LOG}.20261127-100000"],
        f"{LOG}.{STAMP}",
    ),
    (
        "oldest-removed-beyond-max-files-minus-two",
        [
            f"{LOG}.20261127-070000.gz",
            f"{LOG}.20261127-080000.gz",
            f"{LOG}.20261127-090000.gz",
            f"{LOG}.20261127-100000",
        ],
        5,
        [f"{LOG}.20261127-070000.gz"],
        [f"{LOG}.20261127-100000"],
        f"{LOG}.{STAMP}",
    ),
    (
        "max-files-two-keeps-no-rotated",
        [f"{LOG}.20261127-090000.gz", f"{LOG}.20261127-100000"],
        2,
        [f"{LOG}.20261127-090000.gz", f"{LOG}.20261127-100000"],
        [],
        f"{LOG}.{STAMP}",
    ),
    (
        "tmp-leftover-removed",
        [f"{LOG}.20261127-100000", f"{LOG}.20261127-100000.tmp"],
        5,
        [f"{LOG}.20261127-100000.tmp"],
        [f"{LOG}.20261127-100000"],
        f"{LOG}.{STAMP}",
    ),
    (
        "plain-with-gz-twin-removed",
        [f"{LOG}.20261127-100000", f"{LOG}.20261127-100000.gz"],
        5,
        [f"{LOG}.20261127-100000"],
        [],
        f"{LOG}.{STAMP}",
    ),
]


@pytest.mark.parametrize(
    ("name", "rotated", "max_files", "remove", "compress", "rename"), PLANS, ids=[p[0] for p in PLANS]
)
def test_rotation_plan(
    name: str, rotated: list[str], max_files: int, remove: list[str], compress: list[str], rename: str
) -> None:
    plan = lr.rotation_plan(LOG, rotated, max_files=max_files, now=NOW)
    assert list(plan.remove) == remove
    assert list(plan.compress) == compress
    assert plan.rename_to == rename


SIZES = [
    ("below", 99, 100, False),
    ("at-limit", 100, 100, True),
    ("above", 101, 100, True),
    ("disabled", 10**9, -1, False),
]


@pytest.mark.parametrize(("name", "size", "limit", "rotate"), SIZES, ids=[s[0] for s in SIZES])
def test_needs_rotation(name: str, size: int, limit: int, rotate: bool) -> None:
    assert lr.needs_rotation(size, lr.RotationPolicy(max_size=limit)) is rotate


def test_make_policy_parses_quantities_and_rejects_bad_settings() -> None:
    assert lr.make_policy("10Mi", 5).max_size == 10 * 1024 * 1024
    assert lr.make_policy("2k", 3).max_size == 2000
    assert lr.make_policy("-1", 5).max_size == -1
    with pytest.raises(lr.RotationConfigError, match="invalid MaxFiles 1, must be > 1"):
        lr.make_policy("10Mi", 1)
    with pytest.raises(lr.RotationConfigError, match='failed to parse container log max size "ten"'):
        lr.make_policy("ten", 5)


def test_all_logs_oldest_first_live_last() -> None:
    rotated = [f"{LOG}.20261127-100000", f"{LOG}.20261127-090000.gz", f"{LOG}.20261127-095000.tmp"]
    assert lr.all_logs(LOG, rotated) == [f"{LOG}.20261127-090000.gz", f"{LOG}.20261127-100000", LOG]


CID = "a" * 64
SYMLINKS = [
    ("plain", ("web", "default", "nginx", CID), f"web_default_nginx-{CID}.log"),
    ("dashes", ("my-app-7d9", "kube-system", "side-car", CID), f"my-app-7d9_kube-system_side-car-{CID}.log"),
]


@pytest.mark.parametrize(("name", "args", "expected"), SYMLINKS, ids=[s[0] for s in SYMLINKS])
def test_symlink_name_round_trip(name: str, args: tuple[str, str, str, str], expected: str) -> None:
    assert lr.log_symlink_name(*args) == expected
    assert lr.parse_log_symlink_name(expected) == args


def test_symlink_name_cut_to_255_keeps_log_suffix() -> None:
    name = lr.log_symlink_name("p" * 200, "ns", "c", CID)
    assert len(name) == 255 and name.endswith(".log")
    # the ID was cut: not parseable, so metadata must come from elsewhere
    assert lr.parse_log_symlink_name(name) is None


def test_symlink_plan() -> None:
    plan = lr.symlink_plan({"a.log": "/x/a", "b.log": "/x/b2"}, {"b.log": "/x/b", "c.log": "/x/c"})
    assert plan.create == {"a.log": "/x/a", "b.log": "/x/b2"}
    assert plan.remove == ("c.log",)


def test_gone_pod_dirs_wait_for_grace() -> None:
    first: dict[str, float] = {}
    names = ["default_web_u1", "default_gone_u2"]
    assert lr.gone_pod_dirs(names, {"u1"}, first, now=100.0, grace=60) == []
    assert lr.gone_pod_dirs(names, {"u1"}, first, now=159.0, grace=60) == []
    assert lr.gone_pod_dirs(names, {"u1"}, first, now=160.0, grace=60) == ["default_gone_u2"]
    assert lr.gone_pod_dirs(names, {"u1", "u2"}, first, now=161.0, grace=60) == []  # back (relist lag)
    assert first == {}


# --- the executor on real files ---


def _runtime(root: Path, state: ContainerState = ContainerState.RUNNING) -> dict[str, RuntimePod]:
    pod = RuntimePod(uid="uid1", name="web", namespace="default")
    pod.containers.append(RuntimeContainer(id=CID, name="app", attempt=0, state=state, sandbox_id="sb"))
    return {"uid1": pod}


def _manager(
    tmp_path: Path,
    pods: dict[str, RuntimePod],
    reopened: list[str],
    *,
    max_size: int = 100,
    max_files: int = 3,
    fail_reopen: bool = False,
) -> tuple[lr.ContainerLogManager, Path]:
    logs_root = tmp_path / "pods"
    live = logs_root / "default_web_uid1" / "app" / "0.log"
    live.parent.mkdir(parents=True)

    async def reopen(cid: str) -> None:
        if fail_reopen:
            raise RuntimeError("runtime said no")
        reopened.append(cid)
        live.touch()

    clock = iter(range(1_800_000_000, 1_900_000_000, 60))
    mgr = lr.ContainerLogManager(
        reopen=reopen,
        pods=lambda: pods,
        known_pod_uids=set,
        logs_root=logs_root,
        symlink_dir=tmp_path / "containers",
        policy=lr.RotationPolicy(max_size=max_size, max_files=max_files),
        now=lambda: float(next(clock)),
    )
    return mgr, live


async def test_rotate_renames_reopens_compresses_and_caps_files(tmp_path: Path) -> None:
    reopened: list[str] = []
    mgr, live = _manager(tmp_path, _runtime(tmp_path), reopened)
    live.write_bytes(b"x" * 50)
    assert await mgr.rotate_all() == 0
    for round_ in range(4):
        live.write_bytes(f"round {round_}\n".encode() * 20)
        assert await mgr.rotate_all() == 1
    assert reopened == [CID] * 4
    names = sorted(p.name for p in live.parent.iterdir())
    # max_files 3: the live file, the newest rotated (plain) and one older (compressed)
    assert len(names) == 3 and "0.log" in names
    plain = [n for n in names if n.startswith("0.log.") and not n.endswith(".gz")]
    gz = [n for n in names if n.endswith(".gz")]
    assert len(plain) == 1 and len(gz) == 1
    assert (live.parent / plain[0]).read_bytes().startswith(b"round 3")
    assert gzip.decompress((live.parent / gz[0]).read_bytes()).startswith(b"round 2")
    assert live.read_bytes() == b""


async def test_failed_reopen_puts_the_file_back(tmp_path: Path) -> None:
    mgr, live = _manager(tmp_path, _runtime(tmp_path), [], fail_reopen=True)
    live.write_bytes(b"y" * 200)
    assert await mgr.rotate_all() == 0
    assert sorted(p.name for p in live.parent.iterdir()) == ["0.log"]
    assert live.read_bytes() == b"y" * 200


async def test_stopped_containers_are_not_rotated(tmp_path: Path) -> None:
    reopened: list[str] = []
    mgr, live = _manager(tmp_path, _runtime(tmp_path, ContainerState.EXITED), reopened)
    live.write_bytes(b"z" * 500)
    assert await mgr.rotate_all() == 0 and reopened == []


async def test_missing_live_file_is_reopened(tmp_path: Path) -> None:
    reopened: list[str] = []
    mgr, live = _manager(tmp_path, _runtime(tmp_path), reopened)
    assert await mgr.rotate_all() == 0
    assert reopened == [CID] and live.exists()


def test_symlinks_follow_the_runtime(tmp_path: Path) -> None:
    pods = _runtime(tmp_path)
    mgr, live = _manager(tmp_path, pods, [])
    mgr.symlink_dir.mkdir()
    mgr.sync_symlinks()
    link = mgr.symlink_dir / f"web_default_app-{CID}.log"
    assert os.readlink(link) == str(live)
    live.write_text("hello\n")
    assert link.read_text() == "hello\n"
    pods.clear()
    plan = mgr.sync_symlinks()
    assert plan.remove == (link.name,) and not link.is_symlink()
