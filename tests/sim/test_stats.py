"""Simulated usage in the /stats/summary shape."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from kybernetes.sim.nodes import plan_nodes
from kybernetes.sim.podstate import plan_pod
from kybernetes.sim.profile import PodBehaviour, Profile, Usage
from kybernetes.sim.stats import summary, usage_amount

T0 = 1_800_000_000.0


@pytest.mark.parametrize("spec, request_, expected", [
    pytest.param("250m", Fraction(1), Fraction(1, 4), id="absolute-cpu"),
    pytest.param("64Mi", Fraction(0), Fraction(64 * 2**20), id="absolute-memory"),
    pytest.param("50%", Fraction(1, 5), Fraction(1, 10), id="percent-of-request"),
    pytest.param("80%", Fraction(0), Fraction(0), id="percent-without-request"),
])
def test_usage_amount(spec: str, request_: Fraction, expected: Fraction) -> None:
    assert usage_amount(spec, request_) == expected


def _running_pod(name: str, labels: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels,
                     "annotations": annotations or {}},
        "spec": {"containers": [{"name": "c", "image": "i", "resources": {"requests": {"cpu": "200m",
                                                                                    "memory": "100Mi"}}}]},
        "status": {"phase": "Pending"}}
    p["status"] = plan_pod(p, T0, PodBehaviour(), host_ip="h", pod_ip="i").status
    return p


def test_summary() -> None:
    profile = Profile(pod_behaviours=(), default_behaviour=PodBehaviour(usage=Usage(cpu="50%", memory="10Mi")))
    node = plan_nodes(profile)[0]
    pods = [_running_pod("a", {}), _running_pod("b", {}, {"sim.kybernetes.io/cpu-usage": "300m"}),
            {"metadata": {"name": "done"}, "status": {"phase": "Succeeded"}}]
    s = summary(node, pods, T0 + 10, node_start=T0 - 90, behaviour_for=profile.behaviour_for,
                system=Usage(cpu="100m", memory="1Gi"))
    assert [p["podRef"]["name"] for p in s["pods"]] == ["a", "b"]
    a, b = s["pods"]
    assert a["cpu"]["usageNanoCores"] == 100_000_000 and a["memory"]["workingSetBytes"] == 10 * 2**20
    assert a["cpu"]["usageCoreNanoSeconds"] == 100_000_000 * 10
    assert a["containers"][0]["name"] == "c" and a["containers"][0]["cpu"]["usageNanoCores"] == 100_000_000
    assert b["cpu"]["usageNanoCores"] == 300_000_000
    n = s["node"]
    assert n["nodeName"] == node.name
    assert n["cpu"]["usageNanoCores"] == 500_000_000
    assert n["cpu"]["usageCoreNanoSeconds"] == 500_000_000 * 100
    assert n["memory"]["workingSetBytes"] == 2**30 + 20 * 2**20
    assert n["memory"]["availableBytes"] == 16 * 2**30 - n["memory"]["workingSetBytes"]
