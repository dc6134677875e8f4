"""Controller-manager benchmark (issue 5 §4), one JSON object on stdout.

A `kyb server --disable controllers` with N in-process hollow nodes (KYB_SIM_NODES) and a separate
`kyb controller-manager` process, so the manager's own CPU and RSS can be read from /proc. Phases,
each timed, with the manager's CPU% (utime+stime over wall time) and peak RSS:

    idle        nothing to do for --idle seconds (after a short startup settle)
    deployment  a Deployment of R replicas: create -> status.availableReplicas == R
    rollout     `kubectl set image` -> rollout complete (updated == available == replicas == R)
    jobs        J one-pod Jobs (pods complete after 1 s on the sim) -> every Job Complete
    namespace   a namespace holding O configmaps+secrets: delete -> namespace gone

    .venv/bin/python bench/controllers_bench.py [--nodes 100] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kybernetes.client import APIClient, APIError, is_not_found, load_kubeconfig
from kybernetes.client import resource as res
from kybernetes.testing.cluster import KybServer

PORT = 19040
Obj = dict[str, Any]
CLK_TCK = os.sysconf("SC_CLK_TCK")

NAMESPACES = res("v1", "namespaces")
CONFIGMAPS = res("v1", "configmaps")
SECRETS = res("v1", "secrets")
DEPLOYMENTS = res("apps/v1", "deployments")
JOBS = res("batch/v1", "jobs")


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name may hold spaces; the fields after its closing parenthesis are fixed.
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Sampler:
    """Peak RSS of one process, sampled in the background while a phase runs."""

    pid: int
    peak_kb: int = 0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def _loop(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, rss_kb(self.pid))
            await asyncio.sleep(0.25)

    def start(self) -> None:
        self.peak_kb = rss_kb(self.pid)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.peak_kb = max(self.peak_kb, rss_kb(self.pid))


async def measure(pid: int, body: Callable[[], Awaitable[Obj]], server_pid: int) -> Obj:
    """Run one phase and attach wall time, manager CPU% and peak RSS to its result. The server's CPU%
    (apiserver + scheduler + hollow nodes in one process) shows whether the manager was the bottleneck."""
    sampler = Sampler(pid)
    sampler.start()
    c0, s0, t0 = cpu_ticks(pid), cpu_ticks(server_pid), time.monotonic()
    try:
        out = await body()
    finally:
        await sampler.stop()
    wall = time.monotonic() - t0
    print(f"  {out} in {wall:.1f}s", file=sys.stderr, flush=True)
    cpu_s = (cpu_ticks(pid) - c0) / CLK_TCK
    server_s = (cpu_ticks(server_pid) - s0) / CLK_TCK
    return {**out, "seconds": round(wall, 2), "cm_cpu_seconds": round(cpu_s, 2),
            "cm_cpu_percent": round(100 * cpu_s / wall, 1) if wall else 0.0,
            "cm_peak_rss_mb": round(sampler.peak_kb / 1024, 1), "cm_end_rss_mb": round(rss_kb(pid) / 1024, 1),
            "server_cpu_percent": round(100 * server_s / wall, 1) if wall else 0.0}


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, interval: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval)
    return False


async def bounded(n: int, items: list[Awaitable[Any]]) -> None:
    sem = asyncio.Semaphore(n)

    async def one(a: Awaitable[Any]) -> None:
        async with sem:
            await a

    await asyncio.gather(*(one(a) for a in items))


def deployment(name: str, replicas: int, image: str) -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


def job(i: int) -> Obj:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": f"job-{i}"},
            "spec": {"completions": 1, "parallelism": 1, "backoffLimit": 0,
                     "template": {"metadata": {"annotations": {"sim.kybernetes.io/complete-after": "1s"}},
                                  "spec": {"restartPolicy": "Never",
                                           "containers": [{"name": "task", "image": "busybox"}]}}}}


def job_complete(j: Obj) -> bool:
    return any(c.get("type") == "Complete" and c.get("status") == "True"
               for c in j.get("status", {}).get("conditions") or [])


def rollout_complete(d: Obj, replicas: int) -> bool:
    """What `kubectl rollout status` waits for: the new template observed and fully available, old gone."""
    st = d.get("status", {})
    return bool(st.get("observedGeneration", 0) >= d["metadata"].get("generation", 0)
                and st.get("updatedReplicas", 0) == replicas and st.get("replicas", 0) == replicas
                and st.get("availableReplicas", 0) == replicas)


async def ensure_namespace(c: APIClient, name: str) -> None:
    await c.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


async def phase_deployment(c: APIClient, replicas: int, timeout: float) -> Obj:
    await c.create(DEPLOYMENTS, deployment("web", replicas, "nginx:1.27"), namespace="bench-deploy")
    last: Obj = {}

    async def check() -> bool:
        nonlocal last
        last = await c.get(DEPLOYMENTS, "web", namespace="bench-deploy")
        return int(last.get("status", {}).get("availableReplicas", 0)) >= replicas

    ok = await wait_until(check, timeout, 0.5)
    return {"replicas": replicas, "completed": ok, "available": last.get("status", {}).get("availableReplicas", 0)}


async def phase_rollout(server: KybServer, c: APIClient, replicas: int, timeout: float) -> Obj:
    await asyncio.to_thread(server.kubectl, "-n", "bench-deploy", "set", "image", "deployment/web", "web=nginx:1.28")
    last: Obj = {}

    async def check() -> bool:
        nonlocal last
        last = await c.get(DEPLOYMENTS, "web", namespace="bench-deploy")
        return rollout_complete(last, replicas)

    ok = await wait_until(check, timeout, 0.5)
    st = last.get("status", {})
    return {"replicas": replicas, "completed": ok, "updated": st.get("updatedReplicas", 0),
            "available": st.get("availableReplicas", 0)}


async def phase_jobs(c: APIClient, n: int, timeout: float) -> Obj:
    t0 = time.monotonic()
    await bounded(32, [c.create(JOBS, job(i), namespace="bench-jobs") for i in range(n)])
    created_s = time.monotonic() - t0
    done = 0

    async def check() -> bool:
        nonlocal done
        items, _ = await c.list_all(JOBS, namespace="bench-jobs")
        done = sum(1 for j in items if job_complete(j))
        return done >= n

    ok = await wait_until(check, timeout, 1.0)
    return {"jobs": n, "completed": ok, "complete": done, "create_seconds": round(created_s, 2)}


async def fill_namespace(c: APIClient, ns: str, n: int) -> float:
    t0 = time.monotonic()

    def obj(i: int) -> tuple[Any, Obj]:
        if i % 2:
            return SECRETS, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": f"s-{i}"},
                             "stringData": {"k": f"v{i}"}}
        return CONFIGMAPS, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"},
                            "data": {"k": f"v{i}"}}

    await bounded(32, [c.create(*obj(i), namespace=ns) for i in range(n)])
    return time.monotonic() - t0


async def phase_namespace(c: APIClient, n: int, timeout: float) -> Obj:
    await c.delete(NAMESPACES, "bench-ns")

    async def gone() -> bool:
        try:
            await c.get(NAMESPACES, "bench-ns")
        except APIError as e:
            if is_not_found(e):
                return True
            raise
        return False

    ok = await wait_until(gone, timeout, 0.5)
    return {"objects": n, "completed": ok}


def start_manager(kubeconfig: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "kybernetes.cli.main", "controller-manager",
                                 "--kubeconfig", str(kubeconfig), "--no-leader-elect", "--log-level", "warning"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run(args: argparse.Namespace) -> Obj:
    with tempfile.TemporaryDirectory(prefix="kyb-cm-bench-") as d:
        saved = os.environ.get("KYB_SIM_NODES")
        os.environ["KYB_SIM_NODES"] = str(args.nodes)  # the server subprocess inherits it
        server = KybServer(Path(d) / "server", port=args.port, extra_args=["--disable", "controllers"])
        try:
            server.start(timeout=60)
        finally:
            if saved is None:
                os.environ.pop("KYB_SIM_NODES", None)
            else:
                os.environ["KYB_SIM_NODES"] = saved
        manager: subprocess.Popen[bytes] | None = None
        try:
            async with APIClient(load_kubeconfig(server.kubeconfig), user_agent="controllers-bench") as c:
                nodes_ok = await wait_until(
                    lambda: _count_ready_nodes(c, args.nodes), 120, 1.0)
                for ns in ("bench-deploy", "bench-jobs", "bench-ns"):
                    await ensure_namespace(c, ns)
                fill_s = await fill_namespace(c, "bench-ns", args.objects)
                manager = start_manager(server.kubeconfig, Path(d) / "controller-manager.log")
                pid = manager.pid
                assert server.proc is not None
                spid = server.proc.pid
                out: Obj = {"nodes": args.nodes, "nodes_ready": nodes_ok, "namespace_fill_seconds": round(fill_s, 2)}
                phases: Obj = {}
                phases["startup"] = await measure(pid, lambda: _sleep(args.settle), spid)
                phases["idle"] = await measure(pid, lambda: _sleep(args.idle), spid)
                phases["deployment"] = await measure(pid, lambda: phase_deployment(c, args.replicas, args.timeout), spid)
                phases["rollout"] = await measure(pid, lambda: phase_rollout(server, c, args.replicas, args.timeout), spid)
                phases["jobs"] = await measure(pid, lambda: phase_jobs(c, args.jobs, args.timeout), spid)
                phases["namespace_delete"] = await measure(pid, lambda: phase_namespace(c, args.objects, args.timeout), spid)
                if manager.poll() is not None:
                    out["manager_exit_code"] = manager.returncode
                out["phases"] = phases
                return out
        finally:
            if manager is not None:
                stop_process(manager)
            server.stop()


async def _sleep(seconds: float) -> Obj:
    await asyncio.sleep(seconds)
    return {}


async def _count_ready_nodes(c: APIClient, want: int) -> bool:
    nodes, _ = await c.list_all(res("v1", "nodes"))
    return len(nodes) >= want


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--objects", type=int, default=5000)
    ap.add_argument("--idle", type=float, default=10.0, help="seconds of the idle phase")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds for the manager to start and sync")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-phase timeout in seconds")
    ap.add_argument("--port", type=int, default=PORT)
    ap.add_argument("--quick", action="store_true", help="smoke run: 10 nodes, 50 replicas, 20 jobs, 200 objects")
    args = ap.parse_args()
    if args.quick:
        args.nodes, args.replicas, args.jobs, args.objects = 10, 50, 20, 200
        args.idle, args.settle, args.timeout = 2.0, 3.0, 60.0
    report = asyncio.run(run(args))
    report["command"] = " ".join(sys.argv)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
