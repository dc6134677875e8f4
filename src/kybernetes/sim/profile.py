"""Simulation profiles: which hollow nodes to register and how pods on them behave.

A profile is a small YAML document (format in docs/sim.md). Parsing is pure and strict: unknown keys
and malformed values raise `ProfileError` naming the path, because a typo in a scale test should
fail loudly rather than quietly simulate the wrong cluster. Everything downstream (node rendering,
pod transitions, stats) reads only these frozen dataclasses.

Assumptions: durations are seconds (a number) or Go-style strings (``500ms``, ``2s``, ``5m``,
``1h``); quantities use the Kubernetes spelling and are checked with the project's parser.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from kybernetes.machinery.labels import EVERYTHING, Selector, parse_selector, selector_from_label_selector
from kybernetes.machinery.quantity import parse_quantity

STANDARD_RESOURCES = ("cpu", "memory", "pods", "ephemeral-storage")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
RESTART_POLICIES = ("Always", "OnFailure", "Never")


class ProfileError(ValueError):
    """The profile cannot be used; the message names the offending path."""


@dataclass(frozen=True, slots=True)
class NodeGroup:
    """Nodes ``<name>-0`` .. ``<name>-<count-1>`` of one shape."""

    name: str = "sim-node"
    count: int = 1
    # resource name -> quantity string; cpu, memory, pods, ephemeral-storage and extended ones
    capacity: Mapping[str, str] = field(default_factory=lambda: {
        "cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"})
    reserved: Mapping[str, str] = field(default_factory=dict)  # capacity - reserved = allocatable
    zones: tuple[str, ...] = ("zone-a", "zone-b", "zone-c")  # node i is in zones[i % len]
    region: str = "region-1"
    architecture: str = "amd64"
    instance_type: str = ""
    os_image: str = "Kybernetes Simulated Linux"
    kernel_version: str = "6.1.0-sim"
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Usage:
    """Simulated usage of one container: an absolute quantity, or ``"50%"`` of its request."""

    cpu: str = "0"
    memory: str = "0"


@dataclass(frozen=True, slots=True)
class PodBehaviour:
    """How the simulated kubelet plays a pod. The first behaviour whose selector matches wins."""

    selector: Selector = EVERYTHING
    startup_delay: float = 0.0  # seconds from first sight to Running
    complete_after: float | None = None  # seconds Running until the containers exit (None: never)
    exit_code: int = 0
    stop_time: float = 1.0  # seconds containers take to stop after a graceful delete (capped by grace)
    usage: Usage = Usage()


@dataclass(frozen=True, slots=True)
class PodCIDRs:
    """Per-node pod CIDRs the simulator assigns itself (else a node IPAM controller does)."""

    cluster_cidr: str = "10.42.0.0/16"
    node_mask_size: int = 24


@dataclass(frozen=True, slots=True)
class Timing:
    lease_duration_seconds: int = 40
    lease_renew_interval: float = 10.0
    node_status_report_frequency: float = 300.0
    # how often each node compares its status with the API's copy and posts it if they differ
    node_status_update_frequency: float = 10.0


@dataclass(frozen=True, slots=True)
class StatsSettings:
    address: str = "127.0.0.1"
    port: int = 0  # 0: no stats endpoint unless the command line gives a port
    node_usage: Usage = Usage(cpu="100m", memory="512Mi")  # the node's own (system) usage


@dataclass(frozen=True, slots=True)
class Profile:
    node_groups: tuple[NodeGroup, ...] = (NodeGroup(),)
    pod_behaviours: tuple[PodBehaviour, ...] = ()
    default_behaviour: PodBehaviour = PodBehaviour()
    pod_cidrs: PodCIDRs | None = None
    node_address_base: str = "198.18.0.0"  # RFC 2544 benchmarking range; never contacted
    fake_pod_range: str = "100.64.0.0/10"  # pod IPs when a node has no podCIDR yet
    timing: Timing = Timing()
    stats: StatsSettings = StatsSettings()

    @property
    def total_nodes(self) -> int:
        return sum(g.count for g in self.node_groups)

    def behaviour_for(self, labels: Mapping[str, str] | None) -> PodBehaviour:
        for b in self.pod_behaviours:
            if b.selector.matches(labels):
                return b
        return self.default_behaviour


# --- parsing ------------------------------------------------------------------------------------------
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def parse_duration(value: Any, path: str) -> float:
    if isinstance(value, bool):
        raise ProfileError(f"{path}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ProfileError(f"{path}: must not be negative")
        return float(value)
    m = _DURATION.match(str(value).strip())
    if m is None:
        raise ProfileError(f"{path}: {value!r} is not a duration (e.g. 500ms, 2s, 5m, 1h)")
    return float(m.group(1)) * _UNIT[m.group(2)]


def _quantity(value: Any, path: str) -> str:
    text = str(value).strip()
    try:
        parse_quantity(text)
    except Exception as e:
        raise ProfileError(f"{path}: {text!r} is not a quantity") from e
    return text


def _usage_value(value: Any, path: str) -> str:
    text = str(value).strip()
    if text.endswith("%"):
        try:
            pct = float(text[:-1])
        except ValueError as e:
            raise ProfileError(f"{path}: {text!r} is not a percentage") from e
        if pct < 0:
            raise ProfileError(f"{path}: must not be negative")
        return text
    return _quantity(text, path)


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ProfileError(f"{path}: expected a mapping")
    return value


def _check_keys(doc: Mapping[str, Any], allowed: set[str], path: str) -> None:
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ProfileError(f"{path}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")


def _str_map(value: Any, path: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in _mapping(value, path).items()}


def _parse_usage(value: Any, path: str, default: Usage) -> Usage:
    doc = _mapping(value, path)
    _check_keys(doc, {"cpu", "memory"}, path)
    return Usage(cpu=_usage_value(doc.get("cpu", default.cpu), f"{path}.cpu"),
                 memory=_usage_value(doc.get("memory", default.memory), f"{path}.memory"))


def _parse_taint(value: Any, path: str) -> dict[str, str]:
    doc = _mapping(value, path)
    _check_keys(doc, {"key", "value", "effect"}, path)
    if not doc.get("key"):
        raise ProfileError(f"{path}.key: required")
    effect = str(doc.get("effect") or "")
    if effect not in TAINT_EFFECTS:
        raise ProfileError(f"{path}.effect: must be one of {', '.join(TAINT_EFFECTS)}")
    taint = {"key": str(doc["key"]), "effect": effect}
    if doc.get("value") is not None:
        taint["value"] = str(doc["value"])
    return taint


def _parse_group(value: Any, path: str) -> NodeGroup:
    doc = _mapping(value, path)
    _check_keys(doc, {"name", "count", "capacity", "reserved", "zones", "region", "architecture", "instanceType",
                      "osImage", "kernelVersion", "labels", "annotations", "taints"}, path)
    base = NodeGroup()
    name = str(doc.get("name", base.name))
    if not _NAME.match(name) or len(name) > 200:
        raise ProfileError(f"{path}.name: {name!r} is not a valid node name prefix")
    count = doc.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise ProfileError(f"{path}.count: expected a non-negative integer")
    capacity = dict(base.capacity)
    for k, v in _mapping(doc.get("capacity"), f"{path}.capacity").items():
        capacity[str(k)] = _quantity(v, f"{path}.capacity.{k}")
    reserved = {str(k): _quantity(v, f"{path}.reserved.{k}")
                for k, v in _mapping(doc.get("reserved"), f"{path}.reserved").items()}
    zones_raw = doc.get("zones", list(base.zones))
    if not isinstance(zones_raw, list) or not zones_raw:
        raise ProfileError(f"{path}.zones: expected a non-empty list")
    taints_raw = doc.get("taints") or []
    if not isinstance(taints_raw, list):
        raise ProfileError(f"{path}.taints: expected a list")
    return NodeGroup(
        name=name, count=count, capacity=capacity, reserved=reserved,
        zones=tuple(str(z) for z in zones_raw), region=str(doc.get("region", base.region)),
        architecture=str(doc.get("architecture", base.architecture)),
        instance_type=str(doc.get("instanceType", "")),
        os_image=str(doc.get("osImage", base.os_image)), kernel_version=str(doc.get("kernelVersion", base.kernel_version)),
        labels=_str_map(doc.get("labels"), f"{path}.labels"),
        annotations=_str_map(doc.get("annotations"), f"{path}.annotations"),
        taints=tuple(_parse_taint(t, f"{path}.taints[{i}]") for i, t in enumerate(taints_raw)))


def _parse_selector(value: Any, path: str) -> Selector:
    try:
        if value is None:
            return EVERYTHING
        if isinstance(value, str):
            return parse_selector(value)
        doc = _mapping(value, path)
        _check_keys(doc, {"matchLabels", "matchExpressions"}, path)
        return selector_from_label_selector(doc)
    except ProfileError:
        raise
    except Exception as e:
        raise ProfileError(f"{path}: invalid selector: {e}") from e


def _parse_behaviour(value: Any, path: str, base: PodBehaviour, *, with_selector: bool) -> PodBehaviour:
    doc = _mapping(value, path)
    allowed = {"startupDelay", "completeAfter", "exitCode", "stopTime", "usage"}
    _check_keys(doc, allowed | ({"selector"} if with_selector else set()), path)
    complete: float | None = base.complete_after
    if "completeAfter" in doc:
        complete = None if doc["completeAfter"] is None else parse_duration(doc["completeAfter"], f"{path}.completeAfter")
    code = doc.get("exitCode", base.exit_code)
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 255:
        raise ProfileError(f"{path}.exitCode: expected an integer 0..255")
    return PodBehaviour(
        selector=_parse_selector(doc.get("selector"), f"{path}.selector") if with_selector else EVERYTHING,
        startup_delay=parse_duration(doc.get("startupDelay", base.startup_delay), f"{path}.startupDelay"),
        complete_after=complete, exit_code=code,
        stop_time=parse_duration(doc.get("stopTime", base.stop_time), f"{path}.stopTime"),
        usage=_parse_usage(doc.get("usage"), f"{path}.usage", base.usage))


def parse_profile(doc: Any) -> Profile:
    """A `Profile` from a decoded YAML document (None or {} gives the defaults)."""
    doc = _mapping(doc, "profile")
    _check_keys(doc, {"nodeGroups", "podBehaviours", "defaultPodBehaviour", "podCIDRs", "nodeAddressBase",
                      "fakePodRange", "timing", "stats"}, "profile")
    base = Profile()
    groups = base.node_groups
    if "nodeGroups" in doc:
        raw = doc["nodeGroups"]
        if not isinstance(raw, list) or not raw:
            raise ProfileError("nodeGroups: expected a non-empty list")
        groups = tuple(_parse_group(g, f"nodeGroups[{i}]") for i, g in enumerate(raw))
        names = [g.name for g in groups]
        if len(set(names)) != len(names):
            raise ProfileError("nodeGroups: names must be distinct (they prefix node names)")
    default = _parse_behaviour(doc.get("defaultPodBehaviour"), "defaultPodBehaviour", PodBehaviour(),
                               with_selector=False)
    raw_b = doc.get("podBehaviours") or []
    if not isinstance(raw_b, list):
        raise ProfileError("podBehaviours: expected a list")
    behaviours = tuple(_parse_behaviour(b, f"podBehaviours[{i}]", default, with_selector=True)
                       for i, b in enumerate(raw_b))
    cidrs: PodCIDRs | None = None
    if doc.get("podCIDRs") is not None:
        c = _mapping(doc["podCIDRs"], "podCIDRs")
        _check_keys(c, {"clusterCIDR", "nodeMaskSize"}, "podCIDRs")
        dc = PodCIDRs()
        cidrs = PodCIDRs(cluster_cidr=str(c.get("clusterCIDR", dc.cluster_cidr)),
                         node_mask_size=int(c.get("nodeMaskSize", dc.node_mask_size)))
        try:
            net = ipaddress.ip_network(cidrs.cluster_cidr)
        except ValueError as e:
            raise ProfileError(f"podCIDRs.clusterCIDR: {e}") from e
        if not net.prefixlen <= cidrs.node_mask_size <= net.max_prefixlen - 2:
            raise ProfileError("podCIDRs.nodeMaskSize: must be within the cluster CIDR and leave room for pods")
    t = _mapping(doc.get("timing"), "timing")
    _check_keys(t, {"leaseDurationSeconds", "leaseRenewInterval", "nodeStatusReportFrequency",
                    "nodeStatusUpdateFrequency"}, "timing")
    dt = Timing()
    timing = Timing(
        lease_duration_seconds=int(t.get("leaseDurationSeconds", dt.lease_duration_seconds)),
        lease_renew_interval=parse_duration(t.get("leaseRenewInterval", dt.lease_renew_interval),
                                            "timing.leaseRenewInterval"),
        node_status_report_frequency=parse_duration(
            t.get("nodeStatusReportFrequency", dt.node_status_report_frequency), "timing.nodeStatusReportFrequency"),
        node_status_update_frequency=parse_duration(
            t.get("nodeStatusUpdateFrequency", dt.node_status_update_frequency), "timing.nodeStatusUpdateFrequency"))
    if min(timing.lease_renew_interval, timing.node_status_report_frequency,
           timing.node_status_update_frequency) <= 0:
        raise ProfileError("timing: intervals must be positive")
    s = _mapping(doc.get("stats"), "stats")
    _check_keys(s, {"address", "port", "nodeUsage"}, "stats")
    stats = StatsSettings(address=str(s.get("address", StatsSettings().address)), port=int(s.get("port", 0)),
                          node_usage=_parse_usage(s.get("nodeUsage"), "stats.nodeUsage", StatsSettings().node_usage))
    for key, value in (("nodeAddressBase", doc.get("nodeAddressBase")), ("fakePodRange", doc.get("fakePodRange"))):
        if value is not None:
            try:
                ipaddress.ip_network(str(value)) if key == "fakePodRange" else ipaddress.ip_address(str(value))
            except ValueError as e:
                raise ProfileError(f"{key}: {e}") from e
    return Profile(node_groups=groups, pod_behaviours=behaviours, default_behaviour=default, pod_cidrs=cidrs,
                   node_address_base=str(doc.get("nodeAddressBase", base.node_address_base)),
                   fake_pod_range=str(doc.get("fakePodRange", base.fake_pod_range)), timing=timing, stats=stats)


def load_profile(path: str | Path) -> Profile:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as e:
        raise ProfileError(f"{path}: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ProfileError(f"{path}: not YAML: {e}") from e
    return parse_profile(doc)


def scale_to(profile: Profile, nodes: int) -> Profile:
    """The profile with `nodes` nodes in total, shared among its groups in proportion to their
    counts (largest remainder; equal shares when every count is 0)."""
    if nodes < 0:
        raise ProfileError("--nodes must not be negative")
    weights = [g.count for g in profile.node_groups]
    total = sum(weights)
    if total == 0:
        weights, total = [1] * len(weights), len(weights)
    exact = [nodes * w / total for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in by_remainder[:nodes - sum(counts)]:
        counts[i] += 1
    return replace(profile, node_groups=tuple(replace(g, count=c) for g, c in zip(profile.node_groups, counts,
                                                                                   strict=True)))
