"""Image garbage collection: unused images go when the image filesystem fills up.

Upstream's image GC manager, re-stated. Every 5 minutes the agent looks at the image filesystem:
1. usage = 100 - available*100/capacity (integer percent). At or above `high_threshold_percent`
   (default 85; 100 turns image GC off) it frees capacity*(100-low)/100 - available bytes, which
   brings usage down to `low_threshold_percent` (default 80).
2. Candidates are images no container uses (exited containers count as users: their image is
   still needed to restart them) and that are not pinned (the pause image, and whatever the
   runtime marks pinned). They go least recently used first (ties: first detected first).
3. An image first seen less than `min_age` ago (default 2 minutes) is skipped: it may have just
   been pulled for a container about to start.
4. With `max_age` > 0, unused images not used for longer than that go regardless of disk usage,
   once the agent itself has run for longer than `max_age`.
If not enough could be freed the node gets a Warning event FreeDiskSpaceFailed. Under disk
pressure the eviction manager calls `delete_unused` (every candidate, whatever the usage).

`ImageRecords` remembers first-detected and last-used times (the agent is otherwise stateless; a
restarted agent starts the clocks again, which only delays GC). Deciding is pure.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from kybernetes.kubelet.cri.errors import CRIError, NotFound

log = logging.getLogger(__name__)

IMAGE_GC_PERIOD = 300.0  # upstream ImageGCPeriod


@dataclass(frozen=True)
class ImageGCPolicy:
    high_threshold_percent: int = 85  # imageGCHighThresholdPercent / --image-gc-high-threshold
    low_threshold_percent: int = 80  # imageGCLowThresholdPercent / --image-gc-low-threshold
    min_age: float = 120.0  # imageMinimumGCAge (2m)
    max_age: float = 0.0  # imageMaximumGCAge (0: off)

    def validate(self) -> list[str]:
        """Upstream's configuration checks, worded as its messages."""
        problems = []
        if not 0 <= self.high_threshold_percent <= 100:
            problems.append(
                f"invalid configuration: imageGCHighThresholdPercent (--image-gc-high-threshold) "
                f"{self.high_threshold_percent} must be between 0 and 100, inclusive"
            )
        if not 0 <= self.low_threshold_percent <= 100:
            problems.append(
                f"invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) "
                f"{self.low_threshold_percent} must be between 0 and 100, inclusive"
            )
        if self.low_threshold_percent >= self.high_threshold_percent:
            problems.append(
                f"invalid configuration: imageGCLowThresholdPercent (--image-gc-low-threshold) "
                f"{self.low_threshold_percent} must be less than imageGCHighThresholdPercent "
                f"(--image-gc-high-threshold) {self.high_threshold_percent}"
            )
        if self.max_age and self.max_age <= self.min_age:
            problems.append("invalid configuration: imageMaximumGCAge must be greater than imageMinimumGCAge")
        return problems


@dataclass(frozen=True)
class Image:
    """One runtime image as GC sees it: its id, every name it is known by, size, pinned."""

    id: str
    names: tuple[str, ...] = ()
    size: int = 0
    pinned: bool = False


@dataclass
class ImageRecord:
    first_detected: float
    last_used: float
    size: int
    pinned: bool = False


@dataclass
class ImageRecords:
    records: dict[str, ImageRecord] = field(default_factory=dict)

    def detect(self, images: Iterable[Image], in_use: set[str], *, now: float) -> None:
        """Bring the records up to date: new images are first detected now, used ones used now,
        vanished ones forgotten."""
        seen = set()
        for image in images:
            seen.add(image.id)
            rec = self.records.get(image.id)
            if rec is None:
                rec = self.records[image.id] = ImageRecord(first_detected=now, last_used=0.0, size=image.size)
            rec.size, rec.pinned = image.size, image.pinned
            if image.id in in_use:
                rec.last_used = now
        for gone in set(self.records) - seen:
            del self.records[gone]


def images_in_use(images: Iterable[Image], container_images: Iterable[str]) -> set[str]:
    """Ids of the images some container (any state) was created from; a container names its
    image by id, tag or digest, so every name counts."""
    wanted = {n for n in container_images if n}
    return {i.id for i in images if i.id in wanted or wanted.intersection(i.names)}


def usage_percent(capacity: int, available: int) -> int:
    return 100 - int(available * 100 / capacity)


def bytes_to_free(capacity: int, available: int, policy: ImageGCPolicy) -> int:
    """Rule 1: how much to free (0 below the high threshold or with image GC off)."""
    if capacity <= 0 or policy.high_threshold_percent >= 100:
        return 0
    if usage_percent(capacity, available) < policy.high_threshold_percent:
        return 0
    return max(capacity * (100 - policy.low_threshold_percent) // 100 - available, 0)


def _candidates(
    records: Mapping[str, ImageRecord], in_use: AbstractSet[str], protected: AbstractSet[str]
) -> list[str]:
    ids = [i for i, r in records.items() if i not in in_use and i not in protected and not r.pinned]
    return sorted(ids, key=lambda i: (records[i].last_used, records[i].first_detected, i))


def images_to_free(
    records: Mapping[str, ImageRecord],
    in_use: set[str],
    *,
    amount: int,
    now: float,
    min_age: float,
    protected: AbstractSet[str] = frozenset(),
) -> list[str]:
    """Rules 2-3: image ids to remove, in order, until `amount` bytes are reached."""
    out: list[str] = []
    freed = 0
    for image_id in _candidates(records, in_use, protected):
        if freed >= amount:
            break
        rec = records[image_id]
        if now - rec.first_detected < min_age:
            continue
        out.append(image_id)
        freed += rec.size
    return out


def images_too_old(
    records: Mapping[str, ImageRecord],
    in_use: set[str],
    *,
    now: float,
    started: float,
    max_age: float,
    protected: AbstractSet[str] = frozenset(),
) -> list[str]:
    """Rule 4: unused images not used for longer than `max_age`."""
    if max_age <= 0 or now - started <= max_age:
        return []
    return [
        i
        for i in _candidates(records, in_use, protected)
        if now - max(records[i].last_used, records[i].first_detected) > max_age
    ]


def free_space_failed_message(amount: int, freed: int) -> str:
    return (
        f"Failed to garbage collect required amount of images. Attempted to free {amount} bytes, "
        f"but only found {freed} bytes eligible to free."
    )


# --- executor --------------------------------------------------------------------------------------


def filesystem_usage(path: str) -> tuple[int, int, int, int]:
    """(capacity bytes, available bytes, inodes, free inodes) of the filesystem holding `path`."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize, st.f_files, st.f_favail


class ImageGC:
    def __init__(
        self,
        cri: Any,
        *,
        container_images: Callable[[], Awaitable[set[str]]],
        pinned_names: set[str],
        policy: ImageGCPolicy | None = None,
        started: float = 0.0,
        on_failure: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.cri = cri
        self.container_images = container_images  # image names/ids of every container (any state)
        self.pinned_names = pinned_names
        self.policy = policy or ImageGCPolicy()
        self.records = ImageRecords()
        self.started = started
        self.on_failure = on_failure
        self.mountpoint = ""

    async def image_fs(self) -> tuple[int, int, int, int] | None:
        """Capacity and availability of the runtime's image filesystem (CRI ImageFsInfo names it)."""
        infos = await self.cri.image_fs_info()
        for info in infos:
            mount = info.fs_id.mountpoint
            if mount:
                self.mountpoint = mount
                try:
                    return filesystem_usage(mount)
                except OSError as e:
                    log.warning("image filesystem %s: %s", mount, e)
        return None

    async def _detect(self, now: float) -> tuple[list[Image], set[str], set[str]]:
        listed = await self.cri.list_images()
        images = [
            Image(
                id=i.id,
                names=(*i.repo_tags, *i.repo_digests),
                size=int(i.size),
                pinned=bool(getattr(i, "pinned", False)),
            )
            for i in listed
        ]
        in_use = images_in_use(images, await self.container_images())
        self.records.detect(images, in_use, now=now)
        protected = {i.id for i in images if self.pinned_names.intersection(i.names)}
        return images, in_use, protected

    async def collect(self, *, now: float) -> int:
        """One periodic round (rules 1-4); returns the bytes freed."""
        if self.policy.high_threshold_percent >= 100:
            return 0
        _, in_use, protected = await self._detect(now)
        freed = await self._remove(
            images_too_old(
                self.records.records,
                in_use,
                now=now,
                started=self.started,
                max_age=self.policy.max_age,
                protected=protected,
            )
        )
        fs = await self.image_fs()
        if fs is None:
            return freed
        capacity, available = fs[0], fs[1]
        if capacity <= 0:
            self.on_failure("invalid capacity 0 on image filesystem")
            return freed
        amount = bytes_to_free(capacity, available, self.policy)
        if amount <= 0:
            return freed
        log.info(
            "image filesystem %d%% used (high threshold %d%%): freeing %d bytes",
            usage_percent(capacity, available),
            self.policy.high_threshold_percent,
            amount,
        )
        got = await self._remove(
            images_to_free(
                self.records.records,
                in_use,
                amount=amount,
                now=now,
                min_age=self.policy.min_age,
                protected=protected,
            )
        )
        if got < amount:
            self.on_failure(free_space_failed_message(amount, got))
        return freed + got

    async def delete_unused(self, *, now: float) -> int:
        """Disk-pressure reclaim: every unused, unpinned image past its minimum age."""
        _, in_use, protected = await self._detect(now)
        return await self._remove(
            images_to_free(
                self.records.records,
                in_use,
                amount=1 << 62,
                now=now,
                min_age=self.policy.min_age,
                protected=protected,
            )
        )

    async def _remove(self, image_ids: list[str]) -> int:
        freed = 0
        for image_id in image_ids:
            rec = self.records.records.get(image_id)
            try:
                await self.cri.remove_image(image_id)
            except NotFound:
                pass
            except CRIError as e:
                log.warning("image GC: removing %s failed: %s", image_id, e)
                continue
            log.info("image GC removed image %s (%d bytes)", image_id, rec.size if rec else 0)
            freed += rec.size if rec else 0
            self.records.records.pop(image_id, None)
        return freed
