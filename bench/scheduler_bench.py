"""Scheduler benchmark (JSON on stdout).

1. algorithm: filter + score per pod over N in-process nodes (default profile), pods/s.
2. e2e (``--e2e``): a `kyb server` on PORT with its scheduler, N Nodes created through the API,
   P pods created as fast as the API takes them; pods/s from the first creation to the last
   binding seen, and latency (creation -> bound, from the pod's watch) p50/p99.

    .venv/bin/python bench/scheduler_bench.py [--nodes 1000] [--pods 2000] [--e2e --e2e-pods 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from kybernetes.scheduler.algorithm import Algorithm, FitError
from kybernetes.scheduler.cache import Cache
from kybernetes.scheduler.config import parse_config
from kybernetes.scheduler.framework import CycleState, Snapshot
from kybernetes.scheduler.scheduler import Scheduler

PORT = 18640
Obj = dict[str, Any]


def node(i: int) -> Obj:
    alloc = {"cpu": "32", "memory": "128Gi", "pods": "110"}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "labels": {"kubernetes.io/hostname": f"node-{i}",
                                                          "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
            "spec": {}, "status": {"capacity": alloc, "allocatable": alloc,
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(i: int, rng: random.Random) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{i}", "namespace": "default", "uid": f"u{i}"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {
                "cpu": f"{rng.choice([100, 250, 500])}m", "memory": f"{rng.choice([128, 256, 512])}Mi"}}}]}}


def bench_algorithm(n_nodes: int, n_pods: int) -> Obj:
    rng = random.Random(7)
    sched = Scheduler(parse_config({}))
    fw = sched.profiles["default-scheduler"]
    cache = Cache()
    for i in range(n_nodes):
        cache.add_node(node(i))
    snap = Snapshot()
    algo = Algorithm(rng=rng)
    pods = [pod(i, rng) for i in range(n_pods)]
    cache.update_snapshot(snap)
    t0 = time.perf_counter()
    placed = 0
    for p in pods:
        cache.update_snapshot(snap)
        try:
            r = algo.schedule_pod(fw, CycleState(), p, snap)
        except FitError:
            continue
        cache.assume_pod(dict(p, spec=dict(p["spec"], nodeName=r.suggested_host)))
        placed += 1
    dt = time.perf_counter() - t0
    return {"nodes": n_nodes, "pods": n_pods, "placed": placed, "seconds": round(dt, 3),
            "pods_per_second": round(n_pods / dt, 1), "ms_per_pod": round(dt * 1000 / n_pods, 3)}


async def bench_e2e(n_nodes: int, n_pods: int, server_args: list[str]) -> Obj:
    from kybernetes.client import APIClient, load_kubeconfig
    from kybernetes.client import resource as res
    from kybernetes.testing.cluster import KybServer

    nodes_r, pods_r = res("v1", "nodes"), res("v1", "pods")
    with tempfile.TemporaryDirectory() as d:
        server = KybServer(Path(d), port=PORT, extra_args=server_args)
        server.start()
        try:
            async with APIClient(load_kubeconfig(server.kubeconfig), user_agent="sched-bench") as c:
                sem = asyncio.Semaphore(32)

                async def create(r: Any, obj: Obj) -> None:
                    async with sem:
                        await c.create(r, obj, namespace="default" if r is pods_r else "")

                await asyncio.gather(*(create(nodes_r, node(i)) for i in range(n_nodes)))

                async def ready(i: int) -> None:
                    # TaintNodesByCondition admission gives every new Node the not-ready taint,
                    # which node lifecycle (a controller) lifts once the Node reports Ready. These
                    # nodes report Ready from birth and the controllers may be off: lift it here.
                    async with sem:
                        await c.patch(nodes_r, f"node-{i}", {"spec": {"taints": None}})

                await asyncio.gather(*(ready(i) for i in range(n_nodes)))
                await asyncio.sleep(2.0)  # the scheduler's informer sees the nodes
                created: dict[str, float] = {}
                bound: dict[str, float] = {}
                done = asyncio.Event()

                async def watch() -> None:
                    async for ev in c.watch(pods_r, namespace="default", timeout_seconds=600):
                        name = ev.object["metadata"]["name"]
                        if ev.object.get("spec", {}).get("nodeName") and name not in bound:
                            bound[name] = time.perf_counter()
                            if len(bound) >= n_pods:
                                done.set()
                                return

                watcher = asyncio.create_task(watch())
                rng = random.Random(3)
                t0 = time.perf_counter()
                cpu0 = _server_cpu_seconds(server)

                async def make(i: int) -> None:
                    p = pod(i, rng)
                    p["metadata"].pop("uid")
                    await create(pods_r, p)
                    # Latency from the moment the API accepted the pod (not from when it queued
                    # in this client), to the binding seen through the watch.
                    created[p["metadata"]["name"]] = time.perf_counter()

                await asyncio.gather(*(make(i) for i in range(n_pods)))
                t_created = time.perf_counter()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=max(120.0, n_pods / 20))
                t1 = time.perf_counter()
                cpu1 = _server_cpu_seconds(server)
                watcher.cancel()
                lat = sorted(max(0.0, bound[k] - created[k]) for k in bound if k in created)

                def pct(q: float) -> float:
                    return round(lat[min(len(lat) - 1, int(q * len(lat)))] * 1000, 1) if lat else -1.0

                rss = _server_rss_kb(server)
                pauses = _gc_pauses_ms(server)
                return {"nodes": n_nodes, "pods": n_pods, "bound": len(bound),
                        "create_seconds": round(t_created - t0, 2), "total_seconds": round(t1 - t0, 2),
                        "pods_per_second": round(len(bound) / (t1 - t0), 1),
                        # the whole server process (API server + scheduler), creation to last binding
                        "server_cpu_ms_per_pod": round((cpu1 - cpu0) * 1000 / max(len(bound), 1), 3),
                        "server_cpu_pct": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
                        "latency_ms_p50": pct(0.5), "latency_ms_p99": pct(0.99),
                        "server_process_rss_mb": round(rss / 1024, 1) if rss else None,
                        "server_gc_pauses_over_50ms": len(pauses), "server_gc_pause_max_ms": max(pauses, default=0)}
        finally:
            server.stop()


def _gc_pauses_ms(server: Any) -> list[int]:
    """The garbage collection pauses `kyb server` logged (it warns about those over 50 ms)."""
    try:
        text = Path(server.log_path).read_text(errors="replace")
    except (OSError, TypeError):
        return []
    found = re.findall(r"garbage collection paused the server for (\d+) ms", text)
    return [int(ms) for ms in found]


def _server_cpu_seconds(server: Any) -> float:
    """utime + stime of the server process (fields after the parenthesised command name)."""
    try:
        fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, AttributeError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_rss_kb(server: Any) -> int:
    try:
        status = Path(f"/proc/{server.proc.pid}/status").read_text()
    except (OSError, AttributeError):
        return 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--e2e", action="store_true")
    ap.add_argument("--e2e-nodes", type=int, default=1000)
    ap.add_argument("--e2e-pods", type=int, default=10000)
    # The simulated nodes never renew a lease: with the controllers running, node lifecycle marks
    # them unreachable and taints them once a slow run outlasts the grace period, and scheduling
    # stops. Like upstream's scheduler_perf, the e2e run is API server + scheduler by default
    # (the bench lifts the not-ready taint that admission puts on new Nodes itself).
    ap.add_argument("--e2e-server-args", default="--disable controllers",
                    help="extra `kyb server` arguments for --e2e ('' keeps the controllers)")
    args = ap.parse_args()
    out: Obj = {"algorithm": bench_algorithm(args.nodes, args.pods)}
    out["algorithm"]["bench_process_maxrss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.e2e:
        out["e2e"] = asyncio.run(bench_e2e(args.e2e_nodes, args.e2e_pods, args.e2e_server_args.split()))
        out["e2e"]["server_args"] = args.e2e_server_args
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
