"""The API benchmark's report helpers: wrk output parsing and the target summary."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import api_bench  # a bench/ script, found through the line above

WRK = """Running 1s test @ http://127.0.0.1:18511/x
  1 threads and 8 connections
  Latency Distribution
     50%  450.00us
     99%    1.50ms
  16000 requests in 1.00s, 2.00MB read
Requests/sec:  16012.34
"""


@pytest.mark.parametrize(("text", "want"), [
    (WRK, {"req_per_s": 16012.34, "p99_ms": 1.5}),
    (WRK.replace("1.50ms", "2.00s"), {"req_per_s": 16012.34, "p99_ms": 2000.0}),
    (WRK.replace("1.50ms", "900.00us"), {"req_per_s": 16012.34, "p99_ms": 0.9}),
], ids=["ms", "seconds", "microseconds"])
def test_parse_wrk(text: str, want: dict[str, Any]) -> None:
    assert api_bench.parse_wrk(text) == want


def test_parse_wrk_failure_keeps_the_output() -> None:
    assert "error" in api_bench.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


@pytest.mark.parametrize(("report", "want"), [
    ({"create_200": {"p99_ms": 20.0}}, True),
    ({"create_200": {"p99_ms": 51.0}}, False),
    ({"create_200": {"error": "boom"}}, None),
    ({}, None),
], ids=["met", "missed", "phase-failed", "phase-absent"])
def test_summary_row_for_create_200(report: dict[str, Any], want: bool | None) -> None:
    row = next(r for r in api_bench.summarize(report) if r["what"].startswith("create p99 ms at 200/s"))
    assert row["met"] is want and row["target"] == 50


def test_summary_higher_is_better() -> None:
    rows = api_bench.summarize({"watch_fanout": {"deliveries_per_s": 25000.0}})
    row = next(r for r in rows if r["what"] == "watch deliveries/s total")
    assert row["met"] is True
