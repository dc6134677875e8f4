"""Disk-pressure eviction and local ephemeral storage limits: the decisions, as upstream makes them.

Signals (hard thresholds; upstream's Linux defaults): `nodefs.available<10%` and
`nodefs.inodesFree<5%` measure the filesystem of the node's data directory (pod volumes and logs),
`imagefs.available<15%` (and, when configured, `imagefs.inodesFree`) the runtime's image
filesystem. A threshold is a quantity or a percentage of the filesystem's capacity; it is met
when what is available drops below it. Any met disk signal makes the node report DiskPressure
(the node lifecycle controller adds the `node.kubernetes.io/disk-pressure:NoSchedule` taint),
and the condition stays for the pressure transition period after the last observation.

On a met threshold the node first reclaims (dead containers, then unused images) and evicts a pod
only if the threshold is still met afterwards: one pod per round, ranked (upstream's
rankDiskPressureFunc) by
1. local ephemeral storage usage above the pod's ephemeral-storage request first,
2. then lower priority first,
3. then the larger usage minus request first.
Usage is the pod's containers' writable layers and logs plus its local volumes (emptyDir on
disk, configMap, downwardAPI). Critical and finished pods are never evicted.

Independently of pressure, each round evicts pods that outgrow their own limits, checked in this
order: an emptyDir over its sizeLimit, the pod over the sum of its containers' ephemeral-storage
limits, a container (writable layer + logs) over its own limit. Messages are upstream's words.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from kybernetes.kubelet.eviction import is_candidate
from kybernetes.kubelet.resources import pod_limits, pod_requests
from kybernetes.machinery.quantity import BINARY_SI, Quantity, parse_quantity
from kybernetes.util import goduration

Obj = dict[str, Any]

NODEFS_AVAILABLE = "nodefs.available"
NODEFS_INODES_FREE = "nodefs.inodesFree"
IMAGEFS_AVAILABLE = "imagefs.available"
IMAGEFS_INODES_FREE = "imagefs.inodesFree"
MEMORY_AVAILABLE = "memory.available"
DISK_SIGNALS = (NODEFS_AVAILABLE, NODEFS_INODES_FREE, IMAGEFS_AVAILABLE, IMAGEFS_INODES_FREE)
SIGNALS = (MEMORY_AVAILABLE, *DISK_SIGNALS)
DEFAULT_EVICTION_HARD = {
    MEMORY_AVAILABLE: "100Mi",
    NODEFS_AVAILABLE: "10%",
    NODEFS_INODES_FREE: "5%",
    IMAGEFS_AVAILABLE: "15%",
}
EPHEMERAL_STORAGE = "ephemeral-storage"
INODES = "inodes"
MONITORING_PERIOD = 10.0  # upstream evictionMonitoringPeriod
PRESSURE_TRANSITION_PERIOD = 300.0  # evictionPressureTransitionPeriod (5m)

# The local volumes that count as the pod's ephemeral storage (secrets and memory-backed
# emptyDirs live in tmpfs, persistent volumes elsewhere).
LOCAL_EPHEMERAL_VOLUMES = ("emptyDir", "configMap", "downwardAPI", "gitRepo")


# --- thresholds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    signal: str
    value: str  # as given: a quantity ("1Gi", "1000") or a percentage ("10%")

    def quantity(self, capacity: int) -> Quantity:
        """The threshold as an amount of `capacity`; percentages go through float32 as upstream's
        do, so the number in messages matches theirs to the byte."""
        if self.value.endswith("%"):
            fraction = struct.unpack("f", struct.pack("f", float(self.value[:-1]) / 100))[0]
            return Quantity(Fraction(int(capacity * fraction)), BINARY_SI)
        return parse_quantity(self.value)


def parse_eviction_hard(text: str) -> dict[str, str]:
    """`--eviction-hard` (`memory.available<100Mi,nodefs.available<10%`) as signal -> value."""
    out: dict[str, str] = {}
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        signal, sep, value = item.partition("<")
        if not sep or not signal.strip() or not value.strip():
            raise ValueError(f"malformed pair, expect string<string: {item!r}")
        out[signal.strip()] = value.strip()
    return out


def validate_thresholds(values: Mapping[str, str]) -> list[Threshold]:
    """Thresholds from signal -> value (ValueError on an unknown signal or a bad value)."""
    out = []
    for signal, value in values.items():
        if signal not in SIGNALS:
            raise ValueError(f"unsupported eviction signal {signal}")
        value = str(value).strip()
        if value.endswith("%"):
            try:
                pct = float(value[:-1])
            except ValueError:
                raise ValueError(f"invalid percentage {value!r} for {signal}") from None
            if not 0 <= pct <= 100:
                raise ValueError(f"eviction percentage threshold {signal} must be >= 0% and <= 100%: {value}")
        else:
            q = parse_quantity(value)
            if q.value < 0:
                raise ValueError(f"eviction threshold {signal} must be positive: {value}")
        if value in ("0", "0%"):  # a zero threshold turns the signal off
            continue
        out.append(Threshold(signal, value))
    return out


@dataclass(frozen=True)
class Observation:
    available: int
    capacity: int


def thresholds_met(
    thresholds: Sequence[Threshold], observations: Mapping[str, Observation]
) -> list[Threshold]:
    met = []
    for t in thresholds:
        seen = observations.get(t.signal)
        if seen is not None and seen.capacity > 0 and t.quantity(seen.capacity).value > seen.available:
            met.append(t)
    return met


def resource_of(signal: str) -> str:
    return INODES if signal.endswith("inodesFree") else EPHEMERAL_STORAGE


def under_pressure(last_met: float | None, *, now: float, transition_period: float) -> bool:
    """DiskPressure holds while a disk threshold was met within the transition period."""
    return last_met is not None and now - last_met < transition_period


# --- pod usage -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerDiskUsage:
    rootfs: int = 0  # writable layer bytes
    logs: int = 0  # log files bytes
    rootfs_inodes: int = 0
    logs_inodes: int = 0


@dataclass(frozen=True)
class PodDiskUsage:
    pod: Obj
    containers: Mapping[str, ContainerDiskUsage] = field(default_factory=dict)
    volumes: Mapping[str, int] = field(default_factory=dict)  # local ephemeral volume -> bytes
    volume_inodes: Mapping[str, int] = field(default_factory=dict)

    def ephemeral_bytes(self) -> int:
        return sum(c.rootfs + c.logs for c in self.containers.values()) + sum(self.volumes.values())

    def inodes(self) -> int:
        return sum(c.rootfs_inodes + c.logs_inodes for c in self.containers.values()) + sum(
            self.volume_inodes.values()
        )

    def usage_of(self, resource: str) -> int:
        return self.inodes() if resource == INODES else self.ephemeral_bytes()


def local_ephemeral_volumes(pod: Obj) -> dict[str, str]:
    """Volume name -> source kind, for the volumes that count as ephemeral local storage."""
    out = {}
    for v in (pod.get("spec") or {}).get("volumes") or []:
        for kind in LOCAL_EPHEMERAL_VOLUMES:
            if kind in v:
                if kind == "emptyDir" and ((v.get("emptyDir") or {}).get("medium") or "") == "Memory":
                    break
                out[str(v.get("name"))] = kind
                break
    return out


def _priority(pod: Obj) -> int:
    value = (pod.get("spec") or {}).get("priority")
    return value if isinstance(value, int) else 0


def rank_for_disk_eviction(
    usages: Sequence[PodDiskUsage], resource: str = EPHEMERAL_STORAGE
) -> list[PodDiskUsage]:
    """Candidates in eviction order (the first goes first); non-candidates are left out."""

    def key(u: PodDiskUsage) -> tuple[bool, int, int]:
        used = u.usage_of(resource)
        request = int(pod_requests(u.pod).get(EPHEMERAL_STORAGE, 0)) if resource == EPHEMERAL_STORAGE else 0
        return (not used > request, _priority(u.pod), -(used - request))

    return sorted((u for u in usages if is_candidate(u.pod)), key=key)


# --- messages --------------------------------------------------------------------------------------


def _binary(n: int) -> str:
    return str(Quantity(Fraction(n), BINARY_SI))


def disk_pressure_message(usage: PodDiskUsage, threshold: Threshold, observation: Observation) -> str:
    """The evicted pod's status message under disk pressure, worded as upstream's."""
    resource = resource_of(threshold.signal)
    available = (
        _binary(observation.available) if resource == EPHEMERAL_STORAGE else str(observation.available)
    )
    msg = (
        f"The node was low on resource: {resource}. Threshold quantity: "
        f"{threshold.quantity(observation.capacity)}, available: {available}. "
    )
    spec = usage.pod.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    for name, used in usage.containers.items():
        c = next((c for c in containers if c.get("name") == name), None)
        if c is None:
            continue
        raw = ((c.get("resources") or {}).get("requests") or {}).get(resource)
        request = parse_quantity(str(raw)) if raw is not None else Quantity(Fraction(0))
        amount = (used.rootfs_inodes + used.logs_inodes) if resource == INODES else used.rootfs + used.logs
        if amount > request.value:
            msg += (
                f"Container {name} was using {_binary(amount)}, request is {request}, "
                f"has larger consumption of {resource}. "
            )
    return msg


def _limit_text(pod: Obj, total: int) -> str:
    """The pod's ephemeral-storage limit as upstream prints the summed quantity: in the format of
    the first limit it added up."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        raw = ((c.get("resources") or {}).get("limits") or {}).get(EPHEMERAL_STORAGE)
        if raw is not None:
            q = parse_quantity(str(raw))
            return str(q) if q.value == total else str(Quantity(Fraction(total), q.format))
    return _binary(total)


def local_storage_violation(usage: PodDiskUsage, *, dedicated_image_fs: bool = False) -> str | None:
    """The eviction message when the pod outgrew one of its own local storage limits, else None."""
    pod = usage.pod
    spec = pod.get("spec") or {}
    for v in spec.get("volumes") or []:
        source = v.get("emptyDir")
        if source is None or source.get("sizeLimit") in (None, ""):
            continue
        size = parse_quantity(str(source["sizeLimit"]))
        used = usage.volumes.get(str(v.get("name")))
        if used is not None and size.value > 0 and used > size.value:
            return f'Usage of EmptyDir volume "{v.get("name")}" exceeds the limit "{size}". '
    limits, _, _ = pod_limits(pod)
    if EPHEMERAL_STORAGE in limits and any(
        EPHEMERAL_STORAGE in ((c.get("resources") or {}).get("limits") or {})
        for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    ):
        total = int(limits[EPHEMERAL_STORAGE])
        if usage.ephemeral_bytes() > total:
            return f"Pod ephemeral local storage usage exceeds the total limit of containers {_limit_text(pod, total)}. "
    for c in spec.get("containers") or []:
        raw = ((c.get("resources") or {}).get("limits") or {}).get(EPHEMERAL_STORAGE)
        if raw is None:
            continue
        limit = parse_quantity(str(raw))
        stats = usage.containers.get(str(c.get("name")))
        if stats is None or limit.value == 0:
            continue
        amount = stats.logs + (0 if dedicated_image_fs else stats.rootfs)
        if amount > limit.value:
            return f'Container {c.get("name")} exceeded its local ephemeral storage limit "{limit}". '
    return None


def storage_limited(pod: Obj) -> bool:
    """Whether the pod has a limit `local_storage_violation` can find exceeded (only those pods are
    measured when there is no pressure)."""
    spec = pod.get("spec") or {}
    if any((v.get("emptyDir") or {}).get("sizeLimit") for v in spec.get("volumes") or []):
        return True
    return any(
        EPHEMERAL_STORAGE in ((c.get("resources") or {}).get("limits") or {})
        for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    )


def limit_evicted_status(pod: Obj, message: str) -> Obj:
    """Status of a pod evicted for its own storage limits: upstream adds no DisruptionTarget here."""
    return {
        "phase": "Failed",
        "reason": "Evicted",
        "message": message,
        "conditions": list((pod.get("status") or {}).get("conditions") or []),
    }


# --- configuration ---------------------------------------------------------------------------------


def parse_go_duration(text: str) -> float:
    """Seconds in a kubelet config duration: Go's syntax ("2m0s", "90s"); empty means zero."""
    text = str(text).strip()
    return goduration.parse_go_duration(text) if text else 0.0
