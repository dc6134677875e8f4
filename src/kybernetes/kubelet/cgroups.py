"""Pod cgroups on the host: the thin executor for ``resources.pod_cgroup_values``.

The kubelet owns the pod level of the cgroup tree (``<parent>/[burstable|besteffort]/pod<uid>``);
runc creates the containers' cgroups below it (the ``cgroup_parent`` handed to CRI) and never
removes anything, so removing a pod means removing runc's leftovers first.

Two layouts are supported:
  * cgroup v1 (including the hybrid layout of these machines): every controller is its own
    hierarchy mounted at ``<root>/<controller>`` (cpu, cpuacct, cpuset, memory, pids, ..., plus
    the named ``systemd`` hierarchy and the v2 ``unified`` mount). Directories are created in, and
    removed from, every hierarchy, because runc creates the parent path in every one of them.
  * cgroup v2 unified only: ``<root>`` itself carries ``cgroup.controllers``; controllers are
    enabled down the path through ``cgroup.subtree_control`` and limits go to ``cpu.max``,
    ``cpu.weight`` and ``memory.max``.

Invariants:
  1. ``ensure_*`` are idempotent; values are rewritten each time (a resize is just another call).
  2. ``remove_pod`` removes the deepest directories first and leaves nothing of the pod in any
     hierarchy; it fails with ``CgroupBusyError`` while processes remain (kill through CRI first).
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Mapping
from typing import Any

from kybernetes.kubelet.resources import (
    DEFAULT_CPU_PERIOD_US,
    MIN_SHARES,
    cgroup_parent_path,
    pod_cgroup_name,
    pod_cgroup_values,
)

QOS_TIERS = ("burstable", "besteffort")
_V2_CONTROLLERS = ("cpu", "memory", "pids", "cpuset", "io", "hugetlb")


class CgroupBusyError(RuntimeError):
    """A cgroup could not be removed because processes are still in it."""


def shares_to_weight(shares: int) -> int:
    """cgroup v2 ``cpu.weight`` for v1 shares (the mapping runc and crun use: [2, 262144] onto
    [1, 10000])."""
    if shares <= 0:
        return 0
    return 1 + ((shares - 2) * 9999) // 262142


def v2_cpu_max(quota: int | None, period: int) -> str:
    return f"{quota if quota and quota > 0 else 'max'} {period}"


class CgroupManager:
    def __init__(self, root: str = "/sys/fs/cgroup", parent: str = "kubepods") -> None:
        self.root = root
        self.parent = parent.strip("/")
        self.unified = os.path.exists(os.path.join(root, "cgroup.controllers"))

    # --- layout ---------------------------------------------------------------------------

    def hierarchies(self) -> list[str]:
        """Mount points of every hierarchy (one for v2)."""
        if self.unified:
            return [self.root]
        out = []
        for name in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, name)
            if not os.path.islink(path) and os.path.exists(os.path.join(path, "cgroup.procs")):
                out.append(path)
        return out

    def _controller(self, name: str) -> str | None:
        """The v1 hierarchy a controller lives in (``cpu`` may be mounted as ``cpu,cpuacct``)."""
        for h in self.hierarchies():
            if name in os.path.basename(h).split(","):
                return h
        return None

    # --- writes ---------------------------------------------------------------------------

    @staticmethod
    def _write(path: str, value: str) -> None:
        with open(path, "w") as f:
            f.write(value)

    @staticmethod
    def _read(path: str) -> str:
        with open(path) as f:
            return f.read().strip()

    def _mkdir(self, parts: list[str]) -> None:
        for h in self.hierarchies():
            path = h
            for part in parts:
                parent, path = path, os.path.join(path, part)
                if not os.path.isdir(path):
                    os.mkdir(path)
                if self.unified:
                    self._enable_controllers(parent)
                elif "cpuset" in os.path.basename(h).split(","):
                    self._inherit_cpuset(parent, path)

    def _enable_controllers(self, parent: str) -> None:
        available = set(self._read(os.path.join(parent, "cgroup.controllers")).split())
        enabled = set(self._read(os.path.join(parent, "cgroup.subtree_control")).split())
        wanted = [c for c in _V2_CONTROLLERS if c in available and c not in enabled]
        for c in wanted:
            # One controller refusing (a threaded subtree, say) must not stop the others.
            with contextlib.suppress(OSError):
                self._write(os.path.join(parent, "cgroup.subtree_control"), "+" + c)

    def _inherit_cpuset(self, parent: str, path: str) -> None:
        # A new v1 cpuset cgroup starts with no cpus and no memory nodes: no task could join it.
        for name in ("cpuset.cpus", "cpuset.mems"):
            if not self._read(os.path.join(path, name)):
                self._write(os.path.join(path, name), self._read(os.path.join(parent, name)))

    def _apply(self, parts: list[str], values: Mapping[str, int]) -> None:
        rel = os.path.join(*parts)
        if self.unified:
            d = os.path.join(self.root, rel)
            if "cpu_shares" in values and os.path.exists(os.path.join(d, "cpu.weight")):
                self._write(os.path.join(d, "cpu.weight"), str(shares_to_weight(values["cpu_shares"])))
            if "cpu_period" in values and os.path.exists(os.path.join(d, "cpu.max")):
                self._write(os.path.join(d, "cpu.max"), v2_cpu_max(values.get("cpu_quota"), values["cpu_period"]))
            if "memory_limit_in_bytes" in values and os.path.exists(os.path.join(d, "memory.max")):
                mem = values["memory_limit_in_bytes"]
                self._write(os.path.join(d, "memory.max"), str(mem) if mem > 0 else "max")
            return
        cpu = self._controller("cpu")
        if cpu is not None:
            d = os.path.join(cpu, rel)
            if "cpu_shares" in values:
                self._write(os.path.join(d, "cpu.shares"), str(values["cpu_shares"]))
            if "cpu_period" in values:
                self._write(os.path.join(d, "cpu.cfs_period_us"), str(values["cpu_period"]))
                quota = values.get("cpu_quota", 0)
                self._write(os.path.join(d, "cpu.cfs_quota_us"), str(quota if quota > 0 else -1))
        memory = self._controller("memory")
        if memory is not None and "memory_limit_in_bytes" in values:
            mem = values["memory_limit_in_bytes"]
            self._write(os.path.join(memory, rel, "memory.limit_in_bytes"), str(mem) if mem > 0 else "-1")

    # --- public -----------------------------------------------------------------------------

    def ensure_qos_tiers(self) -> None:
        """Create the parent and its burstable/besteffort tiers; best effort gets minimum shares."""
        self._mkdir([self.parent])
        for tier in QOS_TIERS:
            self._mkdir([self.parent, tier])
        self._apply([self.parent, "besteffort"], {"cpu_shares": MIN_SHARES})

    def ensure_pod(self, pod: Mapping[str, Any], *, cpu_period_us: int = DEFAULT_CPU_PERIOD_US) -> str:
        """Create (or update) the pod's cgroup and return the ``cgroup_parent`` for CRI."""
        parts = pod_cgroup_name(pod, parent=self.parent)
        self._mkdir(parts)
        self._apply(parts, pod_cgroup_values(pod, cpu_period_us=cpu_period_us))
        return cgroup_parent_path(parts)

    def _pod_dirs(self, uid: str) -> Iterator[str]:
        name = "pod" + uid
        for h in self.hierarchies():
            for tier in ("", *QOS_TIERS):
                path = os.path.join(h, self.parent, tier, name)
                if os.path.isdir(path):
                    yield path

    def remove_pod(self, uid: str) -> None:
        """Remove the pod's cgroup and everything below it in every hierarchy (invariant 2)."""
        busy: list[str] = []
        for top in list(self._pod_dirs(uid)):
            for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: -t[0].count(os.sep)):
                try:
                    os.rmdir(dirpath)
                except FileNotFoundError:
                    pass
                except OSError as e:
                    if e.errno != errno.EBUSY:
                        raise
                    busy.append(dirpath)
        if busy:
            raise CgroupBusyError(f"cgroups still hold processes: {', '.join(busy)}")

    def pod_cgroups(self) -> set[str]:
        """UIDs of every pod cgroup found under the parent (any tier, any hierarchy)."""
        uids: set[str] = set()
        for h in self.hierarchies():
            for tier in ("", *QOS_TIERS):
                base = os.path.join(h, self.parent, tier)
                try:
                    names = os.listdir(base)
                except FileNotFoundError:
                    continue
                uids.update(n[3:] for n in names if n.startswith("pod") and os.path.isdir(os.path.join(base, n)))
        return uids

    def memory_usage(self, uid: str) -> int | None:
        """Bytes charged to the pod's cgroup, or None when it has none."""
        memory = self.root if self.unified else self._controller("memory")
        if memory is None:
            return None
        name = "memory.current" if self.unified else "memory.usage_in_bytes"
        for tier in ("", *QOS_TIERS):
            path = os.path.join(memory, self.parent, tier, "pod" + uid, name)
            if os.path.exists(path):
                return int(self._read(path))
        return None
