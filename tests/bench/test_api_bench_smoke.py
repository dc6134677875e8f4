"""The API benchmark still runs end to end (`--quick`, a real `kyb server`) and prints one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "api_bench.py"
PHASES = ["populate", "list_pods", "create_200", "create_500", "get_mixed", "cached_get", "watch_fanout_light",
          "watch_fanout"]


@pytest.mark.slow
def test_quick_run_reports_every_phase(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--port-base", "18530"],
                          capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    for phase in PHASES:
        assert phase in report, phase
        assert "error" not in report[phase], report[phase]
    assert report["machine"]["nproc"] >= 1
    assert report["client_in_process"] is True
    assert report["memory"]["idle_rss_mb"] > 0
    assert report["memory"]["loaded_rss_mb"] > 0
    assert report["create_200"]["target_p99_ms"] == 50
    assert report["create_200"]["failed"] == 0
    assert report["list_pods"]["full_json"]["items"] == report["list_pods"]["pods"]
    assert report["list_pods"]["paged_500_table"]["items"] == report["list_pods"]["pods"]
    assert report["get_mixed"]["get"]["p99_ms"] > 0
    cached = report["cached_get"]
    assert {"kyb_tls", "hello_tls", "hello_plain", "ratio_kyb_to_hello_tls"} <= set(cached)
    watch = report["watch_fanout"]
    assert watch["deliveries"] == watch["deliveries_expected"] > 0
    assert "other_cpu_pct" in report["create_500"]
    assert {row["row"] for row in report["summary"]} == {1, 2, 3, 4, 6, 11}
