"""`kubectl autoscale` end to end: real kubectl, real `kyb server`, simulated nodes with set usage.

Pods on the simulated nodes use what their ``sim.kybernetes.io/cpu-usage`` annotation says (here
a percentage of the container's cpu request); the API server's metrics API scrapes them every
second (KYB_METRICS_RESOLUTION=1) and the HPA loop syncs every second (KYB_HPA_SYNC_PERIOD=1,
upstream's --horizontal-pod-autoscaler-sync-period). The scale-down stabilization window is
shortened only through the HPA's own ``spec.behavior``, as a user would.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = [pytest.mark.e2e]
DATA_DIR = Path("/tmp/kyb-hpa-e2e")
PORT = 18963

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
      annotations: {sim.kybernetes.io/cpu-usage: "80%"}
    spec:
      containers:
      - name: app
        image: busybox:1.36
        resources: {requests: {cpu: 100m}}
"""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    shutil.rmtree(DATA_DIR, ignore_errors=True)  # a fresh store: objects of an earlier run would collide
    server = KybServer(
        DATA_DIR,
        port=PORT,
        env={
            "KYB_SIM_NODES": "2",
            "KYB_SIM_STATS_PORT": "0",
            "KYB_METRICS_RESOLUTION": "1",
            "KYB_HPA_SYNC_PERIOD": "1",
        },
    )
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(DATA_DIR, ignore_errors=True)


def hpa(kyb: KybServer) -> dict[str, Any]:
    return dict(json.loads(kyb.kubectl("get", "hpa", "web", "-o", "json").stdout))


def replicas(kyb: KybServer) -> int:
    return int(kyb.kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.replicas}").stdout or 0)


def targets(kyb: KybServer) -> str:
    """The TARGETS cell of `kubectl get hpa web`."""
    header, row = kyb.kubectl("get", "hpa", "web").stdout.splitlines()[:2]
    start = header.index("TARGETS")
    end = header.index("MINPODS")
    return row[start:end].strip()


def test_autoscale_up_under_load_and_down_when_it_stops(kyb: KybServer) -> None:
    kyb.kubectl("apply", "-f", "-", input=DEPLOYMENT)
    out = kyb.kubectl("autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=5").stdout
    assert out.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    # the user's own, upstream way to shorten the 300 s scale-down window
    kyb.kubectl(
        "patch",
        "hpa",
        "web",
        "--type=merge",
        "-p",
        '{"spec":{"behavior":{"scaleDown":{"stabilizationWindowSeconds":5}}}}',
    )

    # 80% of the request against a 50% target: 1 -> 2 -> 4 -> 5 (maxReplicas)
    wait_for(lambda: replicas(kyb) == 5, "scale up to maxReplicas")
    wait_for(lambda: targets(kyb) == "cpu: 80%/50%", "TARGETS cpu: 80%/50%")
    status = hpa(kyb)["status"]
    assert status["desiredReplicas"] == 5
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["AbleToScale"]["status"] == "True"
    assert conditions["ScalingActive"]["reason"] == "ValidMetricFound"
    assert conditions["ScalingActive"]["message"] == (
        "the HPA was able to successfully calculate a replica count from cpu resource utilization "
        "(percentage of request)"
    )
    def limited_true() -> Any:
        # a sync can briefly see new pods without metrics (desired within range): wait for True
        cond = {c["type"]: c for c in hpa(kyb)["status"]["conditions"]}.get("ScalingLimited") or {}
        return cond if cond.get("status") == "True" else None

    limited = wait_for(limited_true, "ScalingLimited=True")
    assert (limited["status"], limited["reason"]) == ("True", "TooManyReplicas")

    # the load stops: every pod drops to 5% of its request
    kyb.kubectl("annotate", "pods", "-l", "app=web", "sim.kybernetes.io/cpu-usage=5%", "--overwrite")
    wait_for(lambda: replicas(kyb) == 1, "scale down to minReplicas after the 5 s window")
    wait_for(lambda: targets(kyb) == "cpu: 5%/50%", "TARGETS cpu: 5%/50%")

    describe = kyb.kubectl("describe", "hpa", "web").stdout
    assert "SuccessfulRescale" in describe
    assert "New size: 2; reason: cpu resource utilization (percentage of request) above target" in describe
    assert "New size: 1; reason: All metrics below target" in describe


def test_no_metrics_for_a_custom_metric(kyb: KybServer) -> None:
    kyb.kubectl("create", "deployment", "plain", "--image=busybox:1.36")
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input="""
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: plain}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: plain}
  maxReplicas: 3
  metrics:
  - type: Pods
    pods:
      metric: {name: requests_per_second}
      target: {type: AverageValue, averageValue: "10"}
""",
    )

    def inactive() -> dict[str, Any] | None:
        h = json.loads(kyb.kubectl("get", "hpa", "plain", "-o", "json").stdout)
        conds = {c["type"]: c for c in (h.get("status") or {}).get("conditions") or []}
        active = conds.get("ScalingActive")
        return active if active and active["status"] == "False" else None

    active = wait_for(inactive, "ScalingActive=False")
    assert active["reason"] == "FailedGetPodsMetric"
    row = kyb.kubectl("get", "hpa", "plain", "--no-headers").stdout.split()
    assert row[2:4] == ["<unknown>/10", "1"]  # TARGETS, MINPODS
