"""Create latency through the API on each datastore, in one run: SQLite beside embedded etcd.

Usage: `python bench/datastore_bench.py [--seconds 10] [--rates 50,200] [--port-base 18530]`;
prints one JSON object. For each datastore a `kyb server` (control plane only, components that
would act on the objects disabled) is started on a temp dir under /tmp/kyb-etcd-bench-*, and
ConfigMaps are POSTed open-loop at each rate (api_bench's create phase); p50/p99 and the server's
CPU per rate, then the etcd/SQLite ratios. The etcd server runs `--cluster-init` on client port
23794 and peer port 23795: the member is a child of the server, as in production on one host.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
import httpload  # sibling helpers, found through the line above
from api_bench import DEFAULT_DISABLE, ApiBench, Plan, machine_info

from kybernetes.testing.cluster import KybServer

DATASTORES: dict[str, list[str]] = {
    "sqlite": [],
    "etcd": ["--cluster-init", "--etcd-client-port", "23794", "--etcd-peer-port", "23795"],
}


async def measure(
    name: str, args: list[str], rates: list[int], seconds: float, port: int, work: Path
) -> dict[str, Any]:
    server = KybServer(work / name, port, extra_args=[*args, "--disable", DEFAULT_DISABLE])
    started = time.perf_counter()
    server.start(timeout=90)
    out: dict[str, Any] = {"server_start_s": round(time.perf_counter() - started, 2)}
    try:
        tls = httpload.client_tls(server.kubeconfig, work / f"{name}-tls")
        async with ApiBench(server, tls, Plan(create_seconds=seconds)) as bench:
            await bench.namespace("load")
            await asyncio.sleep(1.0)
            for rate in rates:
                out[f"create_{rate}"] = await bench.phase_create(rate)
    finally:
        server.stop()
    return out


async def run(rates: list[int], seconds: float, port_base: int, work: Path) -> dict[str, Any]:
    report: dict[str, Any] = {"bench": "datastore", "machine": machine_info(), "seconds_per_rate": seconds}
    for i, (name, args) in enumerate(DATASTORES.items()):
        report[name] = await measure(name, args, rates, seconds, port_base + i, work)
    ratios: dict[str, Any] = {}
    for rate in rates:
        sqlite, etcd = report["sqlite"][f"create_{rate}"], report["etcd"][f"create_{rate}"]
        for figure in ("p50_ms", "p99_ms"):
            if sqlite.get(figure) and etcd.get(figure):
                ratios[f"create_{rate}_{figure}_etcd_over_sqlite"] = round(etcd[figure] / sqlite[figure], 2)
    report["ratios"] = ratios
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of load per rate")
    parser.add_argument("--rates", default="50,200", help="comma-separated creates per second")
    parser.add_argument(
        "--port-base", type=int, default=18530, help="API ports PORT (sqlite) and PORT+1 (etcd)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kyb-etcd-bench-", dir="/tmp"))
    try:
        report = asyncio.run(run([int(r) for r in args.rates.split(",")], args.seconds, args.port_base, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(orjson.dumps(report).decode())


if __name__ == "__main__":
    main()
