"""bench/admission_bench.py runs end to end and reports what it promises (a smoke run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "admission_bench.py"


@pytest.mark.slow
def test_quick_run_reports_both_measurements() -> None:
    out = subprocess.run([sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=300,
                         check=True)
    report = json.loads(out.stdout)
    cost = report["create_cost"]
    assert cost["full_pipeline"]["creates"] == cost["admission_disabled"]["creates"] == 200
    assert cost["full_pipeline"]["p50_ms"] > 0 and cost["admission_disabled"]["p99_ms"] > 0
    assert report["apply"]["objects"] == 30 and report["apply"]["client_side_create_s"] > 0
