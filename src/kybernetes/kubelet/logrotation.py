"""Container log rotation and the flat ``containers/`` symlink directory, as the kubelet keeps them.

containerd appends a container's output to one CRI log file forever; without rotation a chatty
container fills the node's disk. Upstream's kubelet (its container log manager) checks every
running container every 10 s and, once the file has reached ``containerLogMaxSize`` (10Mi), it
1. removes leftovers of an interrupted rotation (``*.tmp`` files; a plain file whose ``.gz``
   already exists),
2. removes the oldest rotated files so that at most ``containerLogMaxFiles - 2`` remain (the live
   file and the one about to be rotated make up the rest of ``containerLogMaxFiles``),
3. gzips the rotated files that are still plain (``<log>.<stamp>`` → ``<log>.<stamp>.gz``),
4. renames the live file to ``<log>.<YYYYMMDD-HHMMSS>`` (left uncompressed, so readers such as a
   log shipper can finish it) and asks the runtime to reopen the container's log (CRI
   ReopenContainerLog), which makes containerd create a new, empty live file. If reopening fails
   the rename is undone so that the next round tries again.
A log file that is missing altogether is reopened too. Only running containers are rotated: a
stopped one writes nothing more.

The same loop keeps ``<data_dir>/containers/<pod>_<namespace>_<container>-<id>.log`` symlinks
(upstream's ``/var/log/containers``) pointing at each container's live log, the names log
shippers expect; a symlink goes when its container is removed. Pod log directories whose pod has
left both the runtime and the API for a while are removed (upstream's container GC does this).

Decisions are pure functions (`rotation_plan`, `symlink_plan`, ...); `ContainerLogManager` only
stats, renames, compresses and calls CRI. It reads the container list the PLEG already keeps
(`RuntimeView.pods`), so it adds no CRI listing of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kybernetes.kubelet.criconfig import container_log_path, pod_log_directory
from kybernetes.kubelet.runtime_state import ContainerState, RuntimePod
from kybernetes.machinery.quantity import parse_quantity

log = logging.getLogger("kyb.kubelet.logs")

TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"  # the rotated file's suffix (Go layout 20060102-150405)
COMPRESS_SUFFIX = ".gz"
TMP_SUFFIX = ".tmp"
SYMLINK_SUFFIX = ".log"
MAX_FILE_NAME = 255  # ext4's limit on one path component
DEFAULT_MAX_SIZE = "10Mi"
DEFAULT_MAX_FILES = 5
DEFAULT_MAX_WORKERS = 1
DEFAULT_MONITOR_INTERVAL = 10.0
SYMLINK_PERIOD = 1.0
_HEX = frozenset("0123456789abcdef")
POD_DIR_GRACE = 60.0  # a gone pod's log directory stays this long (shippers drain it)


class RotationConfigError(ValueError):
    pass


@dataclass(frozen=True)
class RotationPolicy:
    max_size: int = 10 * 1024 * 1024  # bytes; negative turns rotation off
    max_files: int = DEFAULT_MAX_FILES
    max_workers: int = DEFAULT_MAX_WORKERS
    monitor_interval: float = DEFAULT_MONITOR_INTERVAL


def make_policy(
    max_size: str = DEFAULT_MAX_SIZE,
    max_files: int = DEFAULT_MAX_FILES,
    *,
    max_workers: int = DEFAULT_MAX_WORKERS,
    monitor_interval: float = DEFAULT_MONITOR_INTERVAL,
) -> RotationPolicy:
    """Validate the agent's flags as upstream validates the kubelet's configuration."""
    if max_files <= 1:
        raise RotationConfigError(f"invalid MaxFiles {max_files}, must be > 1")
    if max_workers < 1:
        raise RotationConfigError(f"invalid containerLogMaxWorkers {max_workers}, must be >= 1")
    if monitor_interval < 0.1:
        raise RotationConfigError(f"invalid containerLogMonitorInterval {monitor_interval}s, must be >= 0.1s")
    try:
        size = parse_quantity(max_size).value_int()
    except ValueError as e:
        raise RotationConfigError(f'failed to parse container log max size "{max_size}": {e}') from None
    return RotationPolicy(
        max_size=size, max_files=max_files, max_workers=max_workers, monitor_interval=monitor_interval
    )


# --- pure decisions --------------------------------------------------------------------------------


def needs_rotation(size: int, policy: RotationPolicy) -> bool:
    return policy.max_size >= 0 and size >= policy.max_size


def split_unused(rotated: Iterable[str]) -> tuple[list[str], list[str]]:
    """(in use, unused) among a log's rotated files: temporaries and plain files that already
    have a compressed twin are leftovers of an interrupted rotation."""
    names = set(rotated)
    inuse, unused = [], []
    for name in sorted(names):
        if name.endswith(TMP_SUFFIX) or (
            not name.endswith(COMPRESS_SUFFIX) and name + COMPRESS_SUFFIX in names
        ):
            unused.append(name)
        else:
            inuse.append(name)
    return inuse, unused


@dataclass(frozen=True)
class RotationPlan:
    remove: tuple[str, ...]  # leftovers and the oldest excess files, oldest first
    compress: tuple[str, ...]  # rotated files still plain, to become <name>.gz
    rename_to: str  # the new name of the live file


def rotation_plan(log_path: str, rotated: Iterable[str], *, max_files: int, now: float) -> RotationPlan:
    """What one rotation of ``log_path`` does, given the files named ``<log_path>.*`` beside it.

    Sorting the names sorts them oldest first: the suffix is a fixed-width timestamp."""
    inuse, unused = split_unused(rotated)
    keep = max(max_files - 2, 0)
    excess = inuse[: max(len(inuse) - keep, 0)]
    kept = inuse[len(excess) :]
    stamp = time.strftime(TIMESTAMP_FORMAT, time.localtime(now))
    return RotationPlan(
        remove=tuple(unused + excess),
        compress=tuple(n for n in kept if not n.endswith(COMPRESS_SUFFIX)),
        rename_to=f"{log_path}.{stamp}",
    )


def all_logs(log_path: str, rotated: Iterable[str]) -> list[str]:
    """The files holding a container's log, oldest first, the live one last (upstream GetAllLogs)."""
    inuse, _ = split_unused(rotated)
    return [*inuse, log_path]


def log_symlink_name(pod: str, namespace: str, container: str, container_id: str) -> str:
    """``<pod>_<namespace>_<container>-<id>.log``, cut to fit one file name (still ending in .log)."""
    base = f"{pod}_{namespace}_{container}-{container_id}"
    return base[: MAX_FILE_NAME - len(SYMLINK_SUFFIX)] + SYMLINK_SUFFIX


def parse_log_symlink_name(name: str) -> tuple[str, str, str, str] | None:
    """(pod, namespace, container, container id) from a symlink name; None if it is not one (or was
    cut short: containerd's IDs are 64 hex digits). Pod, namespace and container names never hold ``_``."""
    if not name.endswith(SYMLINK_SUFFIX):
        return None
    base, _, cid = name[: -len(SYMLINK_SUFFIX)].rpartition("-")
    parts = base.split("_")
    if len(parts) != 3 or not all(parts) or len(cid) != 64 or any(ch not in _HEX for ch in cid):
        return None
    return parts[0], parts[1], parts[2], cid


@dataclass(frozen=True)
class ContainerLog:
    """One container instance's live log, as the runtime knows it."""

    container_id: str
    pod_uid: str
    pod_name: str
    namespace: str
    container: str
    attempt: int
    running: bool
    path: str


def container_logs(pods: Mapping[str, RuntimePod], logs_root: str) -> list[ContainerLog]:
    out = []
    for rp in pods.values():
        pod_dir = pod_log_directory(
            logs_root, {"metadata": {"namespace": rp.namespace, "name": rp.name, "uid": rp.uid}}
        )
        for c in rp.containers:
            out.append(
                ContainerLog(
                    container_id=c.id,
                    pod_uid=rp.uid,
                    pod_name=rp.name,
                    namespace=rp.namespace,
                    container=c.name,
                    attempt=c.attempt,
                    running=c.state == ContainerState.RUNNING,
                    path=f"{pod_dir}/{container_log_path(c.name, c.attempt)}",
                )
            )
    return out


@dataclass(frozen=True)
class SymlinkPlan:
    create: dict[str, str] = field(default_factory=dict)  # name -> target (replacing a wrong one)
    remove: tuple[str, ...] = ()


def symlink_plan(desired: Mapping[str, str], existing: Mapping[str, str]) -> SymlinkPlan:
    """Make the directory hold exactly ``desired`` (name -> target); ``existing`` is what it holds."""
    create = {n: t for n, t in desired.items() if existing.get(n) != t}
    remove = tuple(sorted(n for n in existing if n not in desired))
    return SymlinkPlan(create=create, remove=remove)


def gone_pod_dirs(
    dir_names: Iterable[str],
    live_uids: set[str],
    first_gone: dict[str, float],
    *,
    now: float,
    grace: float = POD_DIR_GRACE,
) -> list[str]:
    """Pod log directories (``<ns>_<name>_<uid>``) to remove: their pod has been gone for ``grace``
    seconds. ``first_gone`` (uid -> when first seen gone) is updated in place."""
    seen = set()
    due = []
    for name in dir_names:
        uid = name.rsplit("_", 1)[-1]
        if not uid or uid in live_uids:
            continue
        seen.add(uid)
        since = first_gone.setdefault(uid, now)
        if now - since >= grace:
            due.append(name)
    for uid in set(first_gone) - seen:
        del first_gone[uid]
    return sorted(due)


# --- executor --------------------------------------------------------------------------------------


def compress_file(path: str) -> None:
    """``path`` → ``path.gz`` through a temporary, then the plain file goes."""
    tmp = path + TMP_SUFFIX
    try:
        with open(path, "rb") as src, open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        os.replace(tmp, path + COMPRESS_SUFFIX)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    os.unlink(path)


def rotated_files(log_path: str) -> list[str]:
    """The names ``<log_path>.*`` that exist beside the live file."""
    directory, base = os.path.split(log_path)
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(directory, n) for n in names if n.startswith(base + "."))


class ContainerLogManager:
    """Rotates live container logs and keeps the symlink directory; `run()` until cancelled."""

    def __init__(
        self,
        *,
        reopen: Callable[[str], object],
        pods: Callable[[], Mapping[str, RuntimePod]],
        known_pod_uids: Callable[[], set[str]],
        logs_root: Path,
        symlink_dir: Path,
        policy: RotationPolicy,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._reopen = reopen  # async (container id) -> None: CRI ReopenContainerLog
        self._pods = pods
        self._known_pod_uids = known_pod_uids
        self.logs_root = logs_root
        self.symlink_dir = symlink_dir
        self.policy = policy
        self._now = now
        self._first_gone: dict[str, float] = {}
        self._rotating: set[str] = set()

    async def run(self) -> None:
        self.symlink_dir.mkdir(parents=True, exist_ok=True)
        next_rotation = time.monotonic() + self.policy.monitor_interval
        while True:
            try:
                await asyncio.to_thread(self.sync_symlinks)
                if time.monotonic() >= next_rotation:
                    next_rotation = time.monotonic() + self.policy.monitor_interval
                    await self.rotate_all()
                    await asyncio.to_thread(self.remove_gone_pod_dirs)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("container log housekeeping failed: %s", e)
            await asyncio.sleep(min(SYMLINK_PERIOD, self.policy.monitor_interval))

    # --- rotation ---
    async def rotate_all(self) -> int:
        """One monitoring round over every running container; returns how many were rotated."""
        if self.policy.max_size < 0:
            return 0
        running = [c for c in container_logs(self._pods(), str(self.logs_root)) if c.running]
        limit = asyncio.Semaphore(self.policy.max_workers)

        async def one(c: ContainerLog) -> bool:
            async with limit:
                try:
                    return await self.rotate_if_needed(c.container_id, c.path)
                except Exception as e:
                    # a container stopping meanwhile is no fault: its file was put back, and it
                    # writes nothing more (containerd says "container is not running")
                    report = log.info if "not running" in str(e) else log.warning
                    report("rotating the log of container %s (%s) failed: %s", c.container_id[:13], c.path, e)
                    return False

        return sum(await asyncio.gather(*(one(c) for c in running)))

    async def rotate_if_needed(self, container_id: str, path: str) -> bool:
        if container_id in self._rotating:
            return False
        self._rotating.add(container_id)
        try:
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                await self._reopen_log(container_id)  # someone removed it: get a live file back
                size = os.stat(path).st_size
            if not needs_rotation(size, self.policy):
                return False
            plan = rotation_plan(path, rotated_files(path), max_files=self.policy.max_files, now=self._now())
            await asyncio.to_thread(self._prepare, plan)
            os.rename(path, plan.rename_to)
            try:
                await self._reopen_log(container_id)
            except Exception:
                with contextlib.suppress(OSError):  # try again next round rather than lose the file
                    os.rename(plan.rename_to, path)
                raise
            log.info(
                "rotated the log of container %s: %s (%d bytes)", container_id[:13], plan.rename_to, size
            )
            return True
        finally:
            self._rotating.discard(container_id)

    async def _reopen_log(self, container_id: str) -> None:
        result = self._reopen(container_id)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            await result

    @staticmethod
    def _prepare(plan: RotationPlan) -> None:
        for name in plan.remove:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        for name in plan.compress:
            compress_file(name)

    # --- symlinks and directories ---
    def sync_symlinks(self) -> SymlinkPlan:
        desired = {
            log_symlink_name(c.pod_name, c.namespace, c.container, c.container_id): c.path
            for c in container_logs(self._pods(), str(self.logs_root))
        }
        existing: dict[str, str] = {}
        with os.scandir(self.symlink_dir) as it:
            for entry in it:
                if entry.is_symlink():
                    existing[entry.name] = os.readlink(entry.path)
        plan = symlink_plan(desired, existing)
        for name in plan.remove:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.symlink_dir / name)
        for name, target in plan.create.items():
            tmp = self.symlink_dir / f".{name}.tmp"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.symlink(target, tmp)
            os.replace(tmp, self.symlink_dir / name)
        return plan

    def remove_gone_pod_dirs(self) -> list[str]:
        try:
            names = [e.name for e in os.scandir(self.logs_root) if e.is_dir(follow_symlinks=False)]
        except FileNotFoundError:
            return []
        live = set(self._pods()) | self._known_pod_uids()
        due = gone_pod_dirs(names, live, self._first_gone, now=time.monotonic())
        for name in due:
            shutil.rmtree(self.logs_root / name, ignore_errors=True)
            log.info("removed the log directory of gone pod %s", name)
        return due
