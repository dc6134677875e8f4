"""bench/controllers_bench.py runs end to end on a small cluster and reports every phase (a smoke run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "controllers_bench.py"
PORT = "19041"  # not the benchmark's default, so a full run and this test never collide


@pytest.mark.slow
def test_quick_run_completes_every_phase() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--port", PORT], capture_output=True, text=True,
                         timeout=120, check=True)
    report = json.loads(out.stdout)
    phases = report["phases"]
    assert set(phases) == {"startup", "idle", "deployment", "rollout", "jobs", "namespace_delete"}
    for name in ("deployment", "rollout", "jobs", "namespace_delete"):
        assert phases[name]["completed"], (name, phases[name], out.stderr[-2000:])
    for phase in phases.values():
        assert phase["cm_peak_rss_mb"] > 0 and phase["cm_cpu_percent"] >= 0
    assert phases["deployment"]["available"] == 50
    assert phases["jobs"]["complete"] == 20
