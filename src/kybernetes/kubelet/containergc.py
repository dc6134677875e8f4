"""Container garbage collection: dead containers and sandboxes a long-running node no longer needs.

Every container restart leaves the exited instance behind in the runtime (its writable layer and
its log file stay on disk), and every sandbox the node replaced stays too. Once a minute the agent
removes what upstream's kubelet would (its kuberuntime container GC, re-stated):

1. A container is *evictable* when it is not running and was created at least `min_age` ago
   (default 0). Evictable containers are grouped into units by (pod UID, container name).
2. Units of pods whose content should go (the pod is unknown to the node, or was evicted, or was
   deleted and has stopped) lose every instance; with `evict_terminated` (disk-pressure reclaim)
   so do units of pods that have finished (phase Succeeded or Failed).
3. Every other unit keeps its newest `max_per_pod_container` instances (default 1: so the
   container before a restart stays, for `lastState` and `kubectl logs --previous`).
4. When `max_containers` is set (default -1: no limit) and more dead instances remain, each unit
   is cut to an equal share (at least 1), then the oldest instances overall go.
   "Newest" is the higher attempt, then the later creation time.
5. A sandbox is active when it is ready or still holds a container. Inactive sandboxes are
   removed, except the newest sandbox of a pod whose content is kept.

Pod log directories of vanished pods are removed by the log manager (kubelet/logrotation.py);
here a removed container takes its own log files with it. Deciding is pure (`containers_to_remove`,
`sandboxes_to_remove`); `ContainerGC` lists, decides and calls CRI.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kybernetes.kubelet.cri.errors import CRIError, NotFound
from kybernetes.kubelet.criconfig import container_log_path
from kybernetes.kubelet.runtime_state import ContainerState, RuntimeContainer, RuntimePod, SandboxState

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CONTAINER_GC_PERIOD = 60.0  # upstream ContainerGCPeriod


@dataclass(frozen=True)
class ContainerGCPolicy:
    min_age: float = 0.0  # --minimum-container-ttl-duration
    max_per_pod_container: int = 1  # --maximum-dead-containers-per-container
    max_containers: int = -1  # --maximum-dead-containers (-1: no limit)


@dataclass(frozen=True)
class PodFate:
    """What the node knows of the pods it has in the runtime (pod UID -> verdict)."""

    content_removable: Callable[[str], bool]  # unknown, evicted, or deleted and stopped
    runtime_removable: Callable[[str], bool]  # finished (or unknown)


def _newest_first(items: Iterable[RuntimeContainer]) -> list[RuntimeContainer]:
    return sorted(items, key=lambda c: (c.attempt, c.created_at), reverse=True)


def containers_to_remove(
    pods: Mapping[str, RuntimePod],
    fate: PodFate,
    *,
    policy: ContainerGCPolicy,
    now: float,
    evict_terminated: bool = False,
) -> list[RuntimeContainer]:
    """The dead container instances to remove (rules 1-4), oldest of each unit first."""
    units: dict[tuple[str, str], list[RuntimeContainer]] = {}
    for uid, rp in pods.items():
        for c in rp.containers:
            if c.state == ContainerState.RUNNING or now - c.created_at < policy.min_age:
                continue
            units.setdefault((uid, c.name), []).append(c)
    out: list[RuntimeContainer] = []

    def cut(unit: list[RuntimeContainer], keep: int) -> list[RuntimeContainer]:
        ordered = _newest_first(unit)
        out.extend(reversed(ordered[keep:]))
        return ordered[:keep]

    for key in list(units):
        uid = key[0]
        if fate.content_removable(uid) or (evict_terminated and fate.runtime_removable(uid)):
            cut(units.pop(key), 0)
    if policy.max_per_pod_container >= 0:
        for key, unit in units.items():
            units[key] = cut(unit, policy.max_per_pod_container)
    total = sum(len(u) for u in units.values())
    if policy.max_containers >= 0 and total > policy.max_containers:
        share = max(policy.max_containers // max(len(units), 1), 1)
        for key, unit in units.items():
            units[key] = cut(unit, share)
        left = [c for unit in units.values() for c in unit]
        if len(left) > policy.max_containers:
            cut(left, policy.max_containers)
    return out


def sandboxes_to_remove(
    pods: Mapping[str, RuntimePod], fate: PodFate, *, evict_terminated: bool = False
) -> list[str]:
    """Ids of the sandboxes to remove (rule 5); `pods` as the runtime shows them after the dead
    containers went."""
    out: list[str] = []
    for uid, rp in pods.items():
        holding = {c.sandbox_id for c in rp.containers}
        ordered = sorted(rp.sandboxes, key=lambda s: (s.attempt, s.created_at), reverse=True)
        remove_all = fate.content_removable(uid) or (evict_terminated and fate.runtime_removable(uid))
        candidates = ordered if remove_all else ordered[1:]
        out.extend(
            s.id for s in reversed(candidates) if s.state != SandboxState.READY and s.id not in holding
        )
    return out


def pod_fate(known: Mapping[str, Obj], pods: Mapping[str, RuntimePod]) -> PodFate:
    """The agent's verdicts from the pods it knows (UID -> API object or static pod) and the runtime.

    A pod has stopped when none of its containers runs; an unknown pod (deleted from the API and
    forgotten) has nothing left worth keeping."""

    def running(uid: str) -> bool:
        rp = pods.get(uid)
        return rp is not None and any(
            c.state in (ContainerState.RUNNING, ContainerState.CREATED) for c in rp.containers
        )

    def content(uid: str) -> bool:
        pod = known.get(uid)
        if pod is None:
            return True
        status = pod.get("status") or {}
        evicted = status.get("phase") == "Failed" and status.get("reason") == "Evicted"
        deleted = bool((pod.get("metadata") or {}).get("deletionTimestamp"))
        return (evicted or deleted) and not running(uid)

    def runtime(uid: str) -> bool:
        pod = known.get(uid)
        if pod is None:
            return True
        return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and not running(uid)

    return PodFate(content_removable=content, runtime_removable=runtime)


# --- executor --------------------------------------------------------------------------------------


def container_log_files(logs_root: Path, rp: RuntimePod, c: RuntimeContainer) -> list[Path]:
    """The container instance's log file and its rotated siblings (`<attempt>.log.<stamp>[.gz]`)."""
    live = logs_root / f"{rp.namespace}_{rp.name}_{rp.uid}" / container_log_path(c.name, c.attempt)
    try:
        rotated = [
            live.parent / e.name for e in os.scandir(live.parent) if e.name.startswith(live.name + ".")
        ]
    except OSError:
        rotated = []
    return [live, *rotated]


class ContainerGC:
    """Removes what `containers_to_remove` and `sandboxes_to_remove` decide, through CRI."""

    def __init__(
        self,
        cri: Any,
        runtime: Any,
        *,
        logs_root: Path,
        known_pods: Callable[[], Mapping[str, Obj]],
        policy: ContainerGCPolicy | None = None,
        busy: Callable[[str], bool] = lambda uid: False,
    ) -> None:
        self.cri = cri
        self.runtime = runtime
        self.logs_root = logs_root
        self.known_pods = known_pods
        self.policy = policy or ContainerGCPolicy()
        self.busy = busy  # a pod a worker is terminating right now: its own cleanup removes it

    async def collect(self, *, now: float, evict_terminated: bool = False) -> tuple[int, int]:
        """One round; returns (containers removed, sandboxes removed)."""
        pods = await self.runtime.relist()
        fate = self._fate(pods)
        removed = 0
        for c in containers_to_remove(
            pods, fate, policy=self.policy, now=now, evict_terminated=evict_terminated
        ):
            rp = next((p for p in pods.values() if any(x.id == c.id for x in p.containers)), None)
            if await self._remove_container(c) and rp is not None:
                removed += 1
                for path in container_log_files(self.logs_root, rp, c):
                    with contextlib.suppress(OSError):
                        path.unlink()
        if removed:
            pods = await self.runtime.relist()
        sandboxes = 0
        for sandbox_id in sandboxes_to_remove(pods, self._fate(pods), evict_terminated=evict_terminated):
            try:
                await self.cri.stop_pod_sandbox(sandbox_id)  # a no-op when stopped; guards the rare case
                await self.cri.remove_pod_sandbox(sandbox_id)
                sandboxes += 1
            except NotFound:
                pass
            except CRIError as e:
                log.warning("container GC: removing sandbox %s failed: %s", sandbox_id[:12], e)
        if removed or sandboxes:
            log.info("container GC removed %d dead containers and %d sandboxes", removed, sandboxes)
        return removed, sandboxes

    def _fate(self, pods: Mapping[str, RuntimePod]) -> PodFate:
        fate = pod_fate(self.known_pods(), pods)
        return PodFate(
            content_removable=lambda u: not self.busy(u) and fate.content_removable(u),
            runtime_removable=lambda u: not self.busy(u) and fate.runtime_removable(u),
        )

    async def _remove_container(self, c: RuntimeContainer) -> bool:
        try:
            if c.state == ContainerState.UNKNOWN:  # it could still be running: stop it first
                await self.cri.stop_container(c.id, 0)
            await self.cri.remove_container(c.id)
        except NotFound:
            return True
        except CRIError as e:
            log.warning("container GC: removing container %s failed: %s", c.id[:12], e)
            return False
        finally:
            self.runtime.forget(c.id)
        return True
