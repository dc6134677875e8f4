"""Node rendering: names, zones, addresses, pod CIDRs, labels, status and the Lease."""

from __future__ import annotations

from typing import Any

import pytest

from kybernetes.kubelet.nodestatus import (
    condition_times,
    kept_transition_times,
    node_conditions,
    render_lease,
    should_post_status,
    status_differs,
)
from kybernetes.sim.nodes import (
    KUBELET_VERSION,
    SIM_LABEL,
    allocatable,
    plan_nodes,
    render_node,
    render_node_status,
)
from kybernetes.sim.profile import NodeGroup, PodCIDRs, Profile

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_plan_names_zones_addresses() -> None:
    p = Profile(node_groups=(NodeGroup(name="a", count=4, zones=("z1", "z2")), NodeGroup(name="b", count=2)))
    nodes = plan_nodes(p)
    assert [n.name for n in nodes] == ["a-0", "a-1", "a-2", "a-3", "b-0", "b-1"]
    assert [n.zone for n in nodes] == ["z1", "z2", "z1", "z2", "zone-a", "zone-b"]
    assert [n.address for n in nodes] == [f"198.18.0.{i}" for i in range(1, 7)]
    assert all(n.pod_cidr == "" for n in nodes)


def test_plan_assigns_pod_cidrs_until_exhausted() -> None:
    p = Profile(node_groups=(NodeGroup(count=5),), pod_cidrs=PodCIDRs("10.42.0.0/22", 24))
    assert [n.pod_cidr for n in plan_nodes(p)] == ["10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24",
                                                   "10.42.3.0/24", ""]


def test_addresses_cross_octets() -> None:
    nodes = plan_nodes(Profile(node_groups=(NodeGroup(count=300),)))
    assert nodes[299].address == "198.18.1.44"


def test_allocatable_subtracts_reserved() -> None:
    g = NodeGroup(capacity={"cpu": "4", "memory": "16Gi", "pods": "110", "example.com/fpga": "2"},
                  reserved={"cpu": "250m", "memory": "1Gi", "example.com/fpga": "5"})
    assert allocatable(g) == {"cpu": "3750m", "memory": str(15 * 2**30), "pods": "110", "example.com/fpga": "0"}


def test_render_node() -> None:
    g = NodeGroup(name="w", count=1, region="eu", instance_type="sim.large", labels={"disktype": "ssd"},
                  taints=({"key": "dedicated", "value": "x", "effect": "NoSchedule"},))
    node = plan_nodes(Profile(node_groups=(g,), pod_cidrs=PodCIDRs()))[0]
    obj = render_node(node, NOW, stats_url="http://127.0.0.1:1/nodes/w-0/stats/summary")
    labels = obj["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "w-0"
    assert labels["kubernetes.io/os"] == "linux" and labels["kubernetes.io/arch"] == "amd64"
    assert labels["topology.kubernetes.io/zone"] == "zone-a" and labels["topology.kubernetes.io/region"] == "eu"
    assert labels["node.kubernetes.io/instance-type"] == "sim.large" and labels["disktype"] == "ssd"
    assert labels[SIM_LABEL] == "true"
    assert obj["metadata"]["annotations"]["sim.kybernetes.io/stats-url"].endswith("/nodes/w-0/stats/summary")
    assert obj["spec"] == {"podCIDR": "10.42.0.0/24", "podCIDRs": ["10.42.0.0/24"],
                           "taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}
    st = obj["status"]
    assert st["capacity"] == {"cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    assert st["addresses"][0] == {"type": "InternalIP", "address": "198.18.0.1"}
    info = st["nodeInfo"]
    assert info["kubeletVersion"] == KUBELET_VERSION == "v1.32.4-kyb-sim"
    assert info["containerRuntimeVersion"] == "sim://1"
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"
    ready = {c["type"]: c for c in st["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "KubeletReady",
                                                                   "kubelet is posting ready status")
    assert {c["type"]: c["status"] for c in st["conditions"]} == {
        "MemoryPressure": "False", "DiskPressure": "False", "PIDPressure": "False", "Ready": "True"}


def test_no_pod_cidr_no_taints_gives_empty_spec() -> None:
    node = plan_nodes(Profile())[0]
    assert render_node(node, NOW)["spec"] == {}


def test_heartbeat_keeps_transition_times() -> None:
    node = plan_nodes(Profile())[0]
    first = {"status": render_node_status(node, NOW)}
    later = render_node_status(node, NOW + 300, since=condition_times(first))
    for c in later["conditions"]:
        assert c["lastTransitionTime"] == "2027-01-15T08:00:00Z"
        assert c["lastHeartbeatTime"] == "2027-01-15T08:05:00Z"


def test_lease() -> None:
    lease = render_lease("n-1", "uid-1", NOW + 0.25, duration_seconds=40)
    assert lease["metadata"] == {"name": "n-1", "namespace": "kube-node-lease", "ownerReferences": [
        {"apiVersion": "v1", "kind": "Node", "name": "n-1", "uid": "uid-1"}]}
    assert lease["spec"] == {"holderIdentity": "n-1", "leaseDurationSeconds": 40,
                             "renewTime": "2027-01-15T08:00:00.250000Z"}


def _api_node(**changes: tuple[str, str]) -> dict[str, Any]:
    """A Node as the API would show it after this node posted at NOW, with some conditions'
    (status, reason) replaced and the timestamps of a much older heartbeat."""
    conds = render_node_status(plan_nodes(Profile())[0], NOW - 1000)["conditions"]
    for c in conds:
        if c["type"] in changes:
            c["status"], c["reason"] = changes[c["type"]]
    return {"metadata": {"name": "sim-node-0"}, "status": {"conditions": conds}}


DESIRED = render_node_status(plan_nodes(Profile())[0], NOW)
LOST = ("Unknown", "NodeStatusUnknown")


@pytest.mark.parametrize("observed, differs", [
    pytest.param(_api_node(), False, id="same-status-older-timestamps"),
    pytest.param(_api_node(Ready=LOST), True, id="ready-unknown-by-lifecycle-controller"),
    pytest.param(_api_node(Ready=("False", "KubeletNotReady")), True, id="ready-false"),
    pytest.param(_api_node(Ready=("True", "SomethingElse")), True, id="reason-differs"),
    pytest.param(_api_node(MemoryPressure=LOST, DiskPressure=LOST, PIDPressure=LOST, Ready=LOST), True,
                 id="all-unknown"),
    pytest.param({"status": {"conditions": DESIRED["conditions"][:3]}}, True, id="ready-missing"),
    pytest.param({"status": {}}, True, id="no-conditions"),
    pytest.param(None, True, id="never-seen"),
    pytest.param({"status": {"conditions": [*_api_node()["status"]["conditions"],
                                            {"type": "NetworkUnavailable", "status": "True", "reason": "x"}]}},
                 False, id="foreign-condition-ignored"),
])
def test_status_differs(observed: dict[str, Any] | None, differs: bool) -> None:
    assert status_differs(DESIRED, observed) is differs


@pytest.mark.parametrize("observed, last_post, post", [
    pytest.param(_api_node(), NOW - 10, False, id="unchanged-within-report-frequency"),
    pytest.param(_api_node(), NOW - 300, True, id="report-frequency-elapsed"),
    pytest.param(_api_node(Ready=LOST), NOW - 10, True, id="api-shows-unknown"),
    pytest.param(None, NOW - 1, True, id="unknown-to-us"),
])
def test_should_post_status(observed: dict[str, Any] | None, last_post: float, post: bool) -> None:
    assert should_post_status(DESIRED, observed, now=NOW, last_post=last_post, report_frequency=300) is post


def test_recovery_is_a_transition_and_steady_conditions_keep_their_time() -> None:
    old = _api_node(Ready=LOST)
    for c in old["status"]["conditions"]:
        c["lastTransitionTime"] = "2027-01-01T00:00:00Z"
    since = kept_transition_times(old, node_conditions(NOW))
    assert since == {"MemoryPressure": "2027-01-01T00:00:00Z", "DiskPressure": "2027-01-01T00:00:00Z",
                     "PIDPressure": "2027-01-01T00:00:00Z"}
    ready = {c["type"]: c for c in render_node_status(plan_nodes(Profile())[0], NOW, since=since)["conditions"]}
    assert ready["Ready"]["lastTransitionTime"] == "2027-01-15T08:00:00Z"
    assert kept_transition_times(None, node_conditions(NOW)) == {}
