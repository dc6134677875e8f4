"""The storage benchmark still runs (SQLite only, briefly) and prints one JSON object."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).parents[2] / "bench" / "storage_writes.py"


def test_bench_prints_one_json_object() -> None:
    out = subprocess.run(
        [sys.executable, str(BENCH), "--no-etcd", "--seconds", "0.2", "--levels", "1,4"],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    report = json.loads(out)
    assert set(report["levels"]) == {"1", "4"}
    assert report["levels"]["4"]["sqlite"]["writes"] > 0
