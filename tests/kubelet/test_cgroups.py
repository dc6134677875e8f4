"""CgroupManager against the host's real cgroup tree, under the parent ``kyb-h3-test``.

Needs root and a writable /sys/fs/cgroup; fails (never skips) without them. Every test removes
what it created, including the runc-style child directories it plants to prove removal order.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kybernetes.kubelet.cgroups import CgroupBusyError, CgroupManager, shares_to_weight, v2_cpu_max

ROOT = "/sys/fs/cgroup"
PARENT = "kyb-h3-test"


def _rmtree(path: str) -> None:
    for dirpath, _d, _f in sorted(os.walk(path), key=lambda t: -t[0].count(os.sep)):
        os.rmdir(dirpath)


@pytest.fixture
def mgr() -> Iterator[CgroupManager]:
    assert os.geteuid() == 0, "cgroup tests need root"
    m = CgroupManager(ROOT, PARENT)
    assert m.hierarchies(), "no cgroup hierarchy found under /sys/fs/cgroup"
    yield m
    for h in m.hierarchies():
        top = os.path.join(h, PARENT)
        if os.path.isdir(top):
            _rmtree(top)


def make_pod(uid: str, resources: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "default", "uid": uid},
            "spec": {"containers": [{"name": "c", "image": "busybox", "resources": resources}]}}


def _read(*parts: str) -> str:
    with open(os.path.join(*parts)) as f:
        return f.read().strip()


def test_pure_v2_helpers() -> None:
    assert [shares_to_weight(s) for s in (2, 1024, 262144)] == [1, 39, 10000]
    assert v2_cpu_max(50000, 100000) == "50000 100000"
    assert v2_cpu_max(0, 100000) == "max 100000"


def test_tiers_pod_values_listing_and_removal(mgr: CgroupManager) -> None:
    mgr.ensure_qos_tiers()
    mgr.ensure_qos_tiers()  # idempotent
    guaranteed = make_pod("g-1", {"requests": {"cpu": "500m", "memory": "64Mi"},
                                  "limits": {"cpu": "500m", "memory": "64Mi"}})
    burstable = make_pod("b-1", {"requests": {"cpu": "100m"}})
    best = make_pod("e-1", {})
    assert mgr.ensure_pod(guaranteed) == f"/{PARENT}/podg-1"
    assert mgr.ensure_pod(burstable) == f"/{PARENT}/burstable/podb-1"
    assert mgr.ensure_pod(best) == f"/{PARENT}/besteffort/pode-1"
    assert mgr.pod_cgroups() == {"g-1", "b-1", "e-1"}
    if mgr.unified:
        assert _read(ROOT, PARENT, "podg-1", "cpu.max") == "50000 100000"
        assert _read(ROOT, PARENT, "podg-1", "memory.max") == str(64 * 1024**2)
        assert _read(ROOT, PARENT, "besteffort", "cpu.weight") == "1"
    else:
        assert _read(ROOT, "cpu", PARENT, "podg-1", "cpu.shares") == "512"
        assert _read(ROOT, "cpu", PARENT, "podg-1", "cpu.cfs_quota_us") == "50000"
        assert _read(ROOT, "memory", PARENT, "podg-1", "memory.limit_in_bytes") == str(64 * 1024**2)
        assert _read(ROOT, "cpu", PARENT, "burstable", "podb-1", "cpu.shares") == "102"
        assert _read(ROOT, "cpu", PARENT, "burstable", "podb-1", "cpu.cfs_quota_us") == "-1"
        assert _read(ROOT, "cpu", PARENT, "besteffort", "cpu.shares") == "2"
        assert _read(ROOT, "cpuset", PARENT, "podg-1", "cpuset.cpus") != ""
    assert mgr.memory_usage("g-1") == 0
    assert mgr.memory_usage("nope") is None

    # runc leaves a container cgroup (and deeper) below the pod in every hierarchy.
    for h in mgr.hierarchies():
        os.makedirs(os.path.join(h, PARENT, "burstable", "podb-1", "ctr-abc", "nested"))
    mgr.remove_pod("b-1")
    for h in mgr.hierarchies():
        assert not os.path.exists(os.path.join(h, PARENT, "burstable", "podb-1"))
    assert mgr.pod_cgroups() == {"g-1", "e-1"}
    mgr.remove_pod("b-1")  # already gone: fine
    mgr.remove_pod("g-1")
    mgr.remove_pod("e-1")
    assert mgr.pod_cgroups() == set()


def test_remove_refuses_while_processes_remain(mgr: CgroupManager) -> None:
    mgr.ensure_qos_tiers()
    path = mgr.ensure_pod(make_pod("busy-1", {}))
    procs = os.path.join(mgr.hierarchies()[0] if mgr.unified else os.path.join(ROOT, "pids"),
                         path.lstrip("/"), "cgroup.procs")
    child = subprocess.Popen(["sleep", "30"])
    try:
        with open(procs, "w") as f:
            f.write(str(child.pid))
        with pytest.raises(CgroupBusyError):
            mgr.remove_pod("busy-1")
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            mgr.remove_pod("busy-1")
            break
        except CgroupBusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    assert "busy-1" not in mgr.pod_cgroups()
