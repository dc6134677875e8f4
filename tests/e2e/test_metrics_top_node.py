"""`kubectl top` on the real node: a busy busybox container shows CPU, the node shows up.

The API server scrapes the local kubelet's ``/stats/summary`` (CRI container stats, /proc for the
node) every 2 s here (KYB_METRICS_RESOLUTION=2); the kubelet reports a rate from its second
answer on, so numbers appear within a few periods of the container starting.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import phase, start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT = 18961


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KYB_METRICS_RESOLUTION", "2")  # the server subprocess inherits it
        yield from start_node_server(
            Path("/tmp/kyb-metrics-node"), PORT, cluster_cidr="10.151.0.0/16", bridge="kybm0"
        )


def millicores(cell: str) -> int:
    return int(cell[:-1]) if cell.endswith("m") else int(cell) * 1000


def test_busy_pod_and_node_in_kubectl_top(kyb: KybServer) -> None:
    kyb.kubectl(
        "run", "spin", "--image=busybox:1.36", "--restart=Never", "--", "sh", "-c", "while :; do :; done"
    )
    wait_for(lambda: phase(kyb, "spin") == "Running", what="spin Running")

    def busy() -> list[str] | None:
        out = kyb.kubectl("top", "pod", "spin", "--no-headers", check=False).stdout.split()
        return out if len(out) == 3 and millicores(out[1]) > 0 else None

    name, cpu, memory = wait_for(busy, timeout=30, what="CPU of spin in kubectl top pod")
    assert name == "spin" and millicores(cpu) >= 100, cpu  # a spinning shell uses a good part of a core
    assert memory.endswith(("Mi", "Ki")), memory
    containers = kyb.kubectl("top", "pod", "spin", "--containers", "--no-headers").stdout.split()
    assert containers[:2] == ["spin", "spin"]

    node_name = kyb.kubectl("get", "pod", "spin", "-o", "jsonpath={.spec.nodeName}").stdout
    rows = [line.split() for line in kyb.kubectl("top", "node", "--no-headers").stdout.strip().splitlines()]
    assert [r[0] for r in rows] == [node_name]
    _, node_cpu, cpu_pct, node_mem, mem_pct = rows[0]
    assert millicores(node_cpu) >= millicores(cpu) * 0.5 and cpu_pct.endswith("%")
    assert node_mem.endswith("Mi") and mem_pct.endswith("%")
    kyb.kubectl("delete", "pod", "spin", "--grace-period=1", "--wait=false")
