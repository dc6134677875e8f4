"""Measure `kyb sim` at scale: N hollow nodes registered, then idle; RSS and CPU of the simulator
and of the API server. Run by hand (not collected by pytest):

    .venv/bin/python tests/sim/measure_idle.py --nodes 1000 --idle 30 [--pods-per-node 3]

With --pods-per-node, pods bound to the nodes are then created (32 at a time) and the time until
all of them are Running is measured, with the simulator's CPU over that time.

Prints one JSON object. Uses ports 18704 (API server) and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.testing.cluster import KybServer

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def create_pods(kubeconfig: Path, nodes: int, per_node: int) -> tuple[float, float]:
    """Create the pods; seconds until all were created, and until all were Running."""
    pods = resource("v1", "pods")
    async with APIClient(load_kubeconfig(kubeconfig), user_agent="sim-measure") as client:
        began = time.monotonic()
        sem = asyncio.Semaphore(32)

        async def one(i: int) -> None:
            async with sem:
                await client.create(pods, {"metadata": {"name": f"p{i}", "namespace": "default"}, "spec": {
                    "nodeName": f"sim-node-{i % nodes}",
                    "containers": [{"name": "c", "image": "app:1", "resources": {"requests": {"cpu": "10m"}}}]}})

        await asyncio.gather(*(one(i) for i in range(nodes * per_node)))
        created = time.monotonic() - began
        while True:
            items, _ = await client.list_all(pods, namespace="default", field_selector="status.phase=Running")
            if len(items) >= nodes * per_node:
                return created, time.monotonic() - began
            await asyncio.sleep(0.5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--idle", type=float, default=30.0)
    ap.add_argument("--port", type=int, default=18704)
    ap.add_argument("--pods-per-node", type=int, default=0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="kyb-sim-measure-") as d:
        server = KybServer(Path(d), port=args.port)
        server.start()
        try:
            assert server.proc is not None
            began = time.monotonic()
            sim = subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "sim", "--nodes", str(args.nodes),
                                    "--kubeconfig", str(server.kubeconfig), "--cleanup"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert sim.stdout is not None
            for line in sim.stdout:
                if "nodes registered" in line:
                    break
            registered = time.monotonic() - began
            sim_cpu0, srv_cpu0 = cpu_seconds(sim.pid), cpu_seconds(server.proc.pid)
            time.sleep(args.idle)
            sim_cpu = cpu_seconds(sim.pid) - sim_cpu0
            srv_cpu = cpu_seconds(server.proc.pid) - srv_cpu0
            result = {
                "nodes": args.nodes, "registered_s": round(registered, 2), "idle_s": args.idle,
                "sim_rss_mb": round(rss_mb(sim.pid), 1), "sim_cpu_pct_idle": round(100 * sim_cpu / args.idle, 1),
                "server_rss_mb": round(rss_mb(server.proc.pid), 1),
                "server_cpu_pct_idle": round(100 * srv_cpu / args.idle, 1),
            }
            if args.pods_per_node:
                cpu0 = cpu_seconds(sim.pid)
                created, all_running = asyncio.run(create_pods(server.kubeconfig, args.nodes, args.pods_per_node))
                result.update(pods=args.nodes * args.pods_per_node, pods_created_s=round(created, 1),
                              pods_running_s=round(all_running, 1),
                              sim_cpu_s_for_pods=round(cpu_seconds(sim.pid) - cpu0, 1),
                              sim_rss_mb_with_pods=round(rss_mb(sim.pid), 1))
            sim.send_signal(signal.SIGTERM)
            rest = sim.communicate(timeout=120)[0]
            result["sim_exit"] = sim.returncode
            result["sim_summary"] = rest.strip().splitlines()[-1] if rest.strip() else ""
            print(json.dumps(result))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
