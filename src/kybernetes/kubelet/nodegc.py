"""The node's housekeeping for disk: container GC, image GC and disk-pressure eviction, as loops.

Started beside the pod workers (`start_node_gc`); the decisions live in containergc.py,
imagegc.py and diskeviction.py, this module measures, acts and reports:
- container GC every minute, image GC every 5 minutes (upstream's periods);
- the disk eviction round every 10 s: observe nodefs (the data directory's filesystem) and imagefs
  (the filesystem CRI ImageFsInfo names), evict pods over their own storage limits, keep the
  DiskPressure condition, and under pressure reclaim (container GC with finished pods, then every
  unused image) before evicting the first pod of the disk ranking.
Periods can be shortened for tests: KYB_CONTAINER_GC_PERIOD, KYB_IMAGE_GC_PERIOD,
KYB_EVICTION_MONITORING_PERIOD, KYB_EVICTION_PRESSURE_TRANSITION_PERIOD (seconds).
Settings come from `kyb agent` flags and the KubeletConfiguration file (evictionHard,
imageGCHighThresholdPercent, imageGCLowThresholdPercent, imageMinimumGCAge, imageMaximumGCAge),
re-read when it changes (`configure`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kybernetes.kubelet import diskeviction as de
from kybernetes.kubelet.containergc import CONTAINER_GC_PERIOD, ContainerGC
from kybernetes.kubelet.eviction import evicted_status, is_candidate
from kybernetes.kubelet.imagegc import IMAGE_GC_PERIOD, ImageGC, ImageGCPolicy, filesystem_usage
from kybernetes.kubelet.volumes.kinds import PLUGIN_DIRS
from kybernetes.util.times import rfc3339

if TYPE_CHECKING:
    from kybernetes.kubelet.agent import Kubelet

log = logging.getLogger("kyb.kubelet.gc")
Obj = dict[str, Any]


def _period(env: str, default: float) -> float:
    try:
        return max(float(os.environ.get(env, "") or default), 0.1)
    except ValueError:
        return default


def disk_usage(path: Path) -> tuple[int, int]:
    """(bytes, inodes) used below `path` (allocated blocks, as du counts; symlinks not followed)."""
    total = inodes = 0
    stack = [str(path)]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            total += st.st_blocks * 512
            inodes += 1
            if e.is_dir(follow_symlinks=False):
                stack.append(e.path)
    return total, inodes


class NodeGC:
    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        s = kubelet.settings
        assert kubelet.cri is not None and kubelet.runtime is not None
        from kybernetes.images.testimages import PAUSE_IMAGE

        self.base_policy = ImageGCPolicy(
            high_threshold_percent=s.image_gc_high_threshold,
            low_threshold_percent=s.image_gc_low_threshold,
            min_age=s.image_minimum_gc_age,
        )
        self.base_thresholds = self._disk_thresholds(
            de.parse_eviction_hard(s.eviction_hard) if s.eviction_hard else de.DEFAULT_EVICTION_HARD
        )
        self.thresholds = self.base_thresholds
        self.container_gc = ContainerGC(
            kubelet.cri,
            kubelet.runtime,
            logs_root=kubelet.logs_root,
            known_pods=lambda: kubelet.by_uid,
            busy=self._busy,
        )
        self.image_gc = ImageGC(
            kubelet.cri,
            container_images=self._container_images,
            pinned_names={PAUSE_IMAGE},
            policy=self.base_policy,
            started=time.time(),
            on_failure=self._node_warning,
        )
        self.disk_pressure = False
        self._last_met: float | None = None
        self.transition_period = _period(
            "KYB_EVICTION_PRESSURE_TRANSITION_PERIOD", de.PRESSURE_TRANSITION_PERIOD
        )
        self.configure(kubelet.kubelet_config)

    @staticmethod
    def _disk_thresholds(values: Mapping[str, str]) -> list[de.Threshold]:
        return [t for t in de.validate_thresholds(values) if t.signal in de.DISK_SIGNALS]

    # --- configuration ---
    def configure(self, doc: Mapping[str, Any]) -> None:
        """Apply the KubeletConfiguration file (an empty mapping: back to the flags)."""
        hard = doc.get("evictionHard")
        try:
            # As in 1.32: a configured evictionHard replaces the defaults; signals it leaves out are off.
            self.thresholds = (
                self._disk_thresholds(hard) if isinstance(hard, Mapping) else self.base_thresholds
            )
        except ValueError as e:
            log.warning("kubelet config evictionHard: %s", e)
        try:
            policy = ImageGCPolicy(
                high_threshold_percent=int(
                    doc.get("imageGCHighThresholdPercent", self.base_policy.high_threshold_percent)
                ),
                low_threshold_percent=int(
                    doc.get("imageGCLowThresholdPercent", self.base_policy.low_threshold_percent)
                ),
                min_age=de.parse_go_duration(doc["imageMinimumGCAge"])
                if "imageMinimumGCAge" in doc
                else self.base_policy.min_age,
                max_age=de.parse_go_duration(doc["imageMaximumGCAge"])
                if "imageMaximumGCAge" in doc
                else self.base_policy.max_age,
            )
        except (TypeError, ValueError) as e:
            log.warning("kubelet config image GC settings: %s", e)
            return
        problems = policy.validate()
        if problems:
            log.warning("kubelet config: %s", "; ".join(problems))
            return
        if policy != self.image_gc.policy:
            log.info(
                "image GC: high threshold %d%%, low threshold %d%%, minimum age %.0fs",
                policy.high_threshold_percent,
                policy.low_threshold_percent,
                policy.min_age,
            )
        self.image_gc.policy = policy

    # --- helpers ---
    def _busy(self, uid: str) -> bool:
        syncer = self.kubelet.syncer
        return syncer is not None and uid in syncer.terminating

    async def _container_images(self) -> set[str]:
        from kybernetes.images.names import normalize_image

        names: set[str] = set()
        assert self.kubelet.runtime is not None
        for rp in self.kubelet.runtime.pods.values():
            for c in rp.containers:
                names.update((c.image, c.image_ref))
                with contextlib.suppress(ValueError):
                    names.add(normalize_image(c.image))
        return names

    def _node_warning(self, message: str) -> None:
        reason = "InvalidDiskCapacity" if message.startswith("invalid capacity") else "FreeDiskSpaceFailed"
        self._node_event("Warning", reason, message)

    def _node_event(self, type_: str, reason: str, message: str) -> None:
        self.kubelet.events.node(type_, reason, message)

    # --- loops ---
    async def container_gc_loop(self) -> None:
        period = _period("KYB_CONTAINER_GC_PERIOD", CONTAINER_GC_PERIOD)
        while True:
            await asyncio.sleep(period)
            try:
                await self.container_gc.collect(now=time.time())
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("container GC failed: %s", e)

    async def image_gc_loop(self) -> None:
        period = _period("KYB_IMAGE_GC_PERIOD", IMAGE_GC_PERIOD)
        while True:
            await asyncio.sleep(period)
            try:
                await self.image_gc.collect(now=time.time())
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("image GC failed: %s", e)

    async def eviction_loop(self) -> None:
        period = _period("KYB_EVICTION_MONITORING_PERIOD", de.MONITORING_PERIOD)
        while True:
            await asyncio.sleep(period)
            try:
                await self.eviction_round(now=time.time())
            except asyncio.CancelledError:
                raise
            except Exception as e:
                log.warning("disk eviction check failed: %s", e)

    # --- eviction ---
    async def observe(self) -> dict[str, de.Observation]:
        out: dict[str, de.Observation] = {}
        try:
            cap, avail, inodes, ifree = await asyncio.to_thread(
                filesystem_usage, str(self.kubelet.settings.data_dir)
            )
            out[de.NODEFS_AVAILABLE] = de.Observation(avail, cap)
            out[de.NODEFS_INODES_FREE] = de.Observation(ifree, inodes)
        except OSError as e:
            log.warning("nodefs: %s", e)
        fs = await self.image_gc.image_fs()
        if fs is not None:
            out[de.IMAGEFS_AVAILABLE] = de.Observation(fs[1], fs[0])
            out[de.IMAGEFS_INODES_FREE] = de.Observation(fs[3], fs[2])
        return out

    async def eviction_round(self, *, now: float) -> bool:
        """One monitoring round; True when a pod was evicted."""
        observations = await self.observe()
        met = de.thresholds_met(self.thresholds, observations)
        if met:
            self._last_met = now
        pressure = de.under_pressure(self._last_met, now=now, transition_period=self.transition_period)
        if pressure != self.disk_pressure:
            self.disk_pressure = pressure
            log.warning("disk pressure %s", "observed" if pressure else "gone")
            await self.kubelet.report_node_status()
        usages = await self.measure(every_pod=bool(met))
        evicted = False
        for usage in usages:
            message = de.local_storage_violation(usage)
            if message and is_candidate(usage.pod):
                await self.evict(usage.pod, message, de.limit_evicted_status(usage.pod, message))
                evicted = True
        if evicted or not met:
            return evicted
        threshold = met[0]
        resource = de.resource_of(threshold.signal)
        self._node_event("Warning", "EvictionThresholdMet", f"Attempting to reclaim {resource}")
        await self.container_gc.collect(now=now, evict_terminated=True)
        await self.image_gc.delete_unused(now=now)
        observations = await self.observe()
        if not de.thresholds_met(self.thresholds, observations):
            log.info("disk pressure relieved without evicting pods (%s)", resource)
            return False
        ranked = de.rank_for_disk_eviction(await self.measure(every_pod=True), resource)
        if not ranked:
            return False
        victim = ranked[0]
        seen = observations.get(threshold.signal) or de.Observation(0, 0)
        message = de.disk_pressure_message(victim, threshold, seen)
        await self.evict(victim.pod, message, evicted_status(victim.pod, message, now=rfc3339(now)))
        return True

    async def evict(self, pod: Obj, message: str, status: Obj) -> None:
        k = self.kubelet
        meta = pod["metadata"]
        log.warning("evicting pod %s/%s: %s", meta.get("namespace"), meta.get("name"), message)
        k.events.pod(pod, "Warning", "Evicted", message)
        await k._post_pod_status(pod, status)
        uid = meta["uid"]
        current = k.by_uid.get(uid)
        if current is not None and (current.get("status") or {}).get("phase") != "Failed":
            k.by_uid[uid] = {**current, "status": {**(current.get("status") or {}), "phase": "Failed"}}
        rt = k.runtime.pods.get(uid) if k.runtime is not None else None
        if rt is not None and k.syncer is not None:
            await k.syncer.kill_pod_now(pod, rt, grace=0)
        k.queue.add(uid)

    async def measure(self, *, every_pod: bool) -> list[de.PodDiskUsage]:
        """Local ephemeral storage per pod: every running pod under pressure, else only the pods
        that have storage limits to check."""
        k = self.kubelet
        assert k.cri is not None and k.runtime is not None
        pods = [
            (uid, pod, rt)
            for uid, rt in k.runtime.pods.items()
            if (pod := k.by_uid.get(uid)) is not None
            and uid not in k.static
            and (every_pod or de.storage_limited(pod))
            and is_candidate(pod)
        ]
        if not pods:
            return []
        layers = {
            s.attributes.id: (int(s.writable_layer.used_bytes.value), int(s.writable_layer.inodes_used.value))
            for s in await k.cri.list_container_stats()
        }
        pods_root = k.settings.data_dir / "pods-data"

        def one(uid: str, pod: Obj, rt: Any) -> de.PodDiskUsage:
            meta = pod["metadata"]
            log_dir = k.logs_root / f"{meta['namespace']}_{meta['name']}_{uid}"
            containers = {}
            for name in {c.name for c in rt.containers}:
                latest = rt.latest(name)
                rootfs, rootfs_inodes = layers.get(latest.id, (0, 0)) if latest is not None else (0, 0)
                logs, logs_inodes = disk_usage(log_dir / name)
                containers[name] = de.ContainerDiskUsage(rootfs, logs, rootfs_inodes, logs_inodes)
            volumes, volume_inodes = {}, {}
            for name, kind in de.local_ephemeral_volumes(pod).items():
                plugin = PLUGIN_DIRS.get(kind)
                if plugin is None:
                    continue
                volumes[name], volume_inodes[name] = disk_usage(pods_root / uid / "volumes" / plugin / name)
            return de.PodDiskUsage(pod, containers, volumes, volume_inodes)

        return await asyncio.to_thread(lambda: [one(uid, pod, rt) for uid, pod, rt in pods])


def start_node_gc(kubelet: Kubelet) -> list[asyncio.Task[None]]:
    gc = NodeGC(kubelet)
    kubelet.gc = gc
    return [
        asyncio.create_task(gc.container_gc_loop(), name="kubelet-container-gc"),
        asyncio.create_task(gc.image_gc_loop(), name="kubelet-image-gc"),
        asyncio.create_task(gc.eviction_loop(), name="kubelet-disk-eviction"),
    ]
