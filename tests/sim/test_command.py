"""`kyb sim` as a user runs it (kubeconfig from $KUBECONFIG, SIGTERM, --cleanup), and the
environment switch of the in-server component."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kybernetes.sim.command import build_profile
from kybernetes.sim.component import profile_from_env
from kybernetes.sim.profile import ProfileError
from kybernetes.testing.cluster import KybServer


def test_kyb_sim_registers_and_cleans_up(kyb: KybServer, tmp_path: Path) -> None:
    prof = tmp_path / "profile.yaml"
    prof.write_text("nodeGroups:\n- name: cli\n  count: 1\n  zones: [z9]\n"
                    "  taints: [{key: sim, effect: NoSchedule}]\n")
    env = dict(os.environ, KUBECONFIG=str(kyb.kubeconfig))
    proc = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "sim", "--nodes", "2", "--profile",
                             str(prof), "--cleanup"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        while line and "nodes registered" not in line:
            line = proc.stdout.readline()
        assert "2 nodes registered" in line
        out = kyb.kubectl("get", "nodes", "-l", "topology.kubernetes.io/zone=z9", "-o",
                          "jsonpath={.items[*].metadata.name} {.items[0].spec.taints[0].key}").stdout
        assert out == "cli-0 cli-1 sim"
    finally:
        proc.send_signal(signal.SIGTERM)
        rest = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, rest
    assert "deleted 2 nodes" in rest
    assert kyb.kubectl("get", "nodes", "-l", "topology.kubernetes.io/zone=z9", "-o", "name").stdout == ""


def test_bad_profile_is_a_clear_error(tmp_path: Path) -> None:
    prof = tmp_path / "p.yaml"
    prof.write_text("nodeGroups: [{name: x, capacity: {cpu: lots}}]\n")
    proc = subprocess.run([sys.executable, "-m", "kybernetes.cli.main", "sim", "--profile", str(prof)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "profile: nodeGroups[0].capacity.cpu: 'lots' is not a quantity" in proc.stderr


def test_component_needs_the_environment(tmp_path: Path) -> None:
    assert profile_from_env({}) is None
    p = profile_from_env({"KYB_SIM_NODES": "7"})
    assert p is not None and p.total_nodes == 7
    prof = tmp_path / "p.yaml"
    prof.write_text("nodeGroups: [{name: a, count: 2}, {name: b, count: 1}]\n")
    p = profile_from_env({"KYB_SIM_PROFILE": str(prof)})
    assert p is not None and [g.count for g in p.node_groups] == [2, 1]
    with pytest.raises(ProfileError):
        build_profile(None, tmp_path / "missing.yaml")


def test_kyb_server_runs_sim_nodes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYB_SIM_NODES", "2")
    server = KybServer(tmp_path / "srv", port=18705)
    server.start()
    try:
        deadline = time.monotonic() + 20
        out = ""
        while time.monotonic() < deadline:
            out = server.kubectl("get", "nodes", "-o", "jsonpath={.items[*].metadata.name}").stdout
            if out == "sim-node-0 sim-node-1":
                break
            time.sleep(0.2)
        assert out == "sim-node-0 sim-node-1"
    finally:
        server.stop()
