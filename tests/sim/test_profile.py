"""Profile parsing: defaults, every section, strict errors, and sharing --nodes among groups."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.sim.profile import (
    NodeGroup,
    Profile,
    ProfileError,
    parse_duration,
    parse_profile,
    scale_to,
)

FULL = """
nodeGroups:
- name: gpu
  count: 2
  capacity: {cpu: "8", memory: 32Gi, nvidia.com/gpu: 4}
  reserved: {cpu: 500m}
  zones: [z1]
  region: r1
  architecture: arm64
  instanceType: sim.gpu
  labels: {accelerator: a100}
  taints: [{key: gpu, value: "true", effect: NoSchedule}]
- name: cpu
  count: 6
podBehaviours:
- selector: {matchLabels: {app: batch}}
  completeAfter: 30s
  exitCode: 1
- selector: "tier in (web)"
  usage: {cpu: 80%, memory: 100Mi}
defaultPodBehaviour: {startupDelay: 500ms, stopTime: 2s}
podCIDRs: {clusterCIDR: 10.42.0.0/16, nodeMaskSize: 24}
timing: {leaseRenewInterval: 5s, nodeStatusReportFrequency: 1m, nodeStatusUpdateFrequency: 2s}
stats: {port: 18799, nodeUsage: {cpu: 50m}}
"""


def test_defaults() -> None:
    p = parse_profile(None)
    assert p == Profile()
    assert p.total_nodes == 1
    assert p.timing.lease_duration_seconds == 40 and p.timing.lease_renew_interval == 10.0
    assert p.timing.node_status_report_frequency == 300.0
    assert p.timing.node_status_update_frequency == 10.0


def test_full_profile() -> None:
    import yaml

    p = parse_profile(yaml.safe_load(FULL))
    gpu, cpu = p.node_groups
    assert gpu.capacity["nvidia.com/gpu"] == "4" and gpu.capacity["pods"] == "110"
    assert gpu.reserved == {"cpu": "500m"} and gpu.zones == ("z1",) and gpu.architecture == "arm64"
    assert gpu.taints == ({"key": "gpu", "value": "true", "effect": "NoSchedule"},)
    assert cpu.count == 6 and cpu.zones == ("zone-a", "zone-b", "zone-c")
    assert p.total_nodes == 8
    batch = p.behaviour_for({"app": "batch"})
    assert batch.complete_after == 30.0 and batch.exit_code == 1
    assert batch.startup_delay == 0.5 and batch.stop_time == 2.0  # inherited from the default
    assert p.behaviour_for({"tier": "web"}).usage.cpu == "80%"
    assert p.behaviour_for({}) is p.default_behaviour
    assert p.pod_cidrs is not None and p.pod_cidrs.node_mask_size == 24
    assert p.timing.lease_renew_interval == 5.0 and p.timing.node_status_report_frequency == 60.0
    assert p.timing.node_status_update_frequency == 2.0
    assert p.stats.port == 18799 and p.stats.node_usage.cpu == "50m" and p.stats.node_usage.memory == "512Mi"


@pytest.mark.parametrize("doc, message", [
    pytest.param({"nodeGroup": []}, "unknown field(s) nodeGroup", id="unknown-top-level"),
    pytest.param({"nodeGroups": [{"count": -1}]}, "nodeGroups[0].count", id="negative-count"),
    pytest.param({"nodeGroups": [{"name": "Bad_Name"}]}, "nodeGroups[0].name", id="bad-name"),
    pytest.param({"nodeGroups": [{"name": "a"}, {"name": "a"}]}, "distinct", id="duplicate-groups"),
    pytest.param({"nodeGroups": [{"capacity": {"cpu": "lots"}}]}, "nodeGroups[0].capacity.cpu", id="bad-quantity"),
    pytest.param({"nodeGroups": [{"taints": [{"key": "k", "effect": "Sometimes"}]}]}, "effect", id="bad-taint"),
    pytest.param({"nodeGroups": [{"zones": []}]}, "zones", id="no-zones"),
    pytest.param({"podBehaviours": [{"completeAfter": "soon"}]}, "completeAfter", id="bad-duration"),
    pytest.param({"podBehaviours": [{"exitCode": 300}]}, "exitCode", id="bad-exit-code"),
    pytest.param({"podBehaviours": [{"selector": "a in ("}]}, "selector", id="bad-selector"),
    pytest.param({"podBehaviours": [{"usage": {"cpu": "x%"}}]}, "usage.cpu", id="bad-percentage"),
    pytest.param({"defaultPodBehaviour": {"selector": "a=b"}}, "unknown field(s) selector", id="default-selector"),
    pytest.param({"podCIDRs": {"clusterCIDR": "10.42.0.0/16", "nodeMaskSize": 8}}, "nodeMaskSize", id="mask"),
    pytest.param({"timing": {"leaseRenewInterval": 0}}, "positive", id="zero-interval"),
    pytest.param({"nodeAddressBase": "nope"}, "nodeAddressBase", id="bad-address"),
])
def test_errors(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        parse_profile(doc)


@pytest.mark.parametrize("text, seconds", [
    pytest.param(3, 3.0, id="int"), pytest.param(0.25, 0.25, id="float"), pytest.param("500ms", 0.5, id="ms"),
    pytest.param("2s", 2.0, id="s"), pytest.param("1.5m", 90.0, id="m"), pytest.param("1h", 3600.0, id="h"),
])
def test_durations(text: Any, seconds: float) -> None:
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("counts, nodes, expected", [
    pytest.param([1], 1000, [1000], id="one-group"),
    pytest.param([1, 1, 1], 10, [4, 3, 3], id="equal-shares-remainder-first"),
    pytest.param([3, 1], 8, [6, 2], id="proportional"),
    pytest.param([0, 0], 5, [3, 2], id="all-zero-means-equal"),
    pytest.param([2, 5], 0, [0, 0], id="none"),
])
def test_scale_to(counts: list[int], nodes: int, expected: list[int]) -> None:
    p = Profile(node_groups=tuple(NodeGroup(name=f"g{i}", count=c) for i, c in enumerate(counts)))
    scaled = scale_to(p, nodes)
    assert [g.count for g in scaled.node_groups] == expected
    assert scaled.total_nodes == nodes


def test_documented_example_parses() -> None:
    import pathlib
    import re

    import yaml

    doc = (pathlib.Path(__file__).parents[2] / "docs" / "sim.md").read_text()
    block = re.search(r"## Profile format.*?```yaml\n(.*?)```", doc, re.S)
    assert block is not None
    p = parse_profile(yaml.safe_load(block.group(1)))
    assert p.node_groups[0].capacity["example.com/gpu"] == "2"
    assert p.behaviour_for({"app": "batch"}).complete_after == 30.0
    assert p.behaviour_for({"app": "web"}).usage.cpu == "80%"
