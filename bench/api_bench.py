"""API server benchmarks against a real `kyb server` subprocess (perf-targets rows 1-4, 6, 11).

Usage: `python bench/api_bench.py [--quick] [--port-base 18510]`; prints one JSON object with each
measured figure next to its target.

The server runs on a temp data dir with the default SQLite store and is driven over HTTPS with the
admin client certificate from its kubeconfig. The load client is this Python process, on the same
2-core machine, so it competes with the server for CPU: every phase reports the server's and the
client's CPU use so that a client-bound figure can be told from a server-bound one.

Phases, in order (objects stay, so later phases run against a store of about 10,000 objects):
 memory idle -> populate 3,000 pods + 7,000 configmaps -> memory loaded -> LIST -> create at
 200/s and 500/s -> GET at 1,000/s mixed with 200 writes/s -> cached GET closed loop vs a
 hello-world aiohttp app (TLS and plain) -> watch fan-out (20, then 100 watchers) -> memory after
 everything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).parent))
import httpload  # a sibling helper module, found through the line above

from kybernetes.testing.cluster import KybServer

TABLE_ACCEPT = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json")
HELLO = Path(__file__).with_name("hello_app.py")
# Components that would otherwise act on the benchmark's pods (schedule, run, report on them).
DEFAULT_DISABLE = "scheduler,controllers,kubelet,proxy,dns"


@dataclass(frozen=True)
class Plan:
    """How much load each phase offers; --quick shrinks everything to a few seconds in total."""

    create_rates: tuple[int, ...] = (200, 500)
    create_seconds: float = 10.0
    get_rate: int = 1000
    get_write_rate: int = 200
    get_seconds: float = 10.0
    cached_connections: int = 64
    cached_seconds: float = 5.0
    list_pods: int = 3000
    list_reps: int = 10
    memory_configmaps: int = 7000
    watchers: int = 100
    # A lighter fan-out as well, to show where delivery keeps up when the full one does not.
    light_watchers: int = 20
    watch_rate: int = 500
    watch_seconds: float = 10.0
    populate_concurrency: int = 32


QUICK = Plan(create_seconds=1.0, get_rate=300, get_write_rate=50, get_seconds=1.0, cached_connections=8,
             cached_seconds=0.5, list_pods=200, list_reps=2, memory_configmaps=300, watchers=5, light_watchers=2,
             watch_rate=100, watch_seconds=1.0)


# --- process measurements ------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (fields after the parenthesised command name)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (the first line of /proc/stat, less idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU use between start() and stop(), in % of one core: the server, this client, and the rest
    of the machine (other sessions share these cores; a large `other_cpu_pct` marks a noisy figure).
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.t0 = self.s0 = self.c0 = self.m0 = 0.0

    def start(self) -> None:
        self.t0, self.s0, self.c0 = time.perf_counter(), cpu_seconds(self.pid), time.process_time()
        self.m0 = machine_busy_seconds()

    def stop(self) -> dict[str, float]:
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        server = cpu_seconds(self.pid) - self.s0
        client = time.process_time() - self.c0
        other = max(0.0, machine_busy_seconds() - self.m0 - server - client)
        return {"server_cpu_pct": round(100 * server / elapsed, 1),
                "client_cpu_pct": round(100 * client / elapsed, 1),
                "other_cpu_pct": round(100 * other / elapsed, 1)}


def machine_info() -> dict[str, Any]:
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]}


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


# --- object bodies -------------------------------------------------------------------------------


def configmap(name: str, data: dict[str, str] | None = None) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                         "data": data if data is not None else {"key": "value"}})


def pod(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": name, "labels": {"app": "bench"}},
                         "spec": {"containers": [{"name": "main", "image": "busybox"}]}})


class HTTPStatusError(Exception):
    pass


# --- the benchmark -------------------------------------------------------------------------------


class ApiBench:
    def __init__(self, server: KybServer, tls: httpload.ClientTLS, plan: Plan) -> None:
        assert server.proc is not None
        self.server = server
        self.pid = server.proc.pid
        self.base = server.url
        self.port = server.port
        self.ssl_ctx = tls.context()
        self.plan = plan
        self.session: aiohttp.ClientSession | None = None

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self.session is not None
        return self.session

    async def __aenter__(self) -> ApiBench:
        connector = aiohttp.TCPConnector(ssl=self.ssl_ctx, limit=512)
        self.session = aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60))
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.http.close()

    async def post(self, path: str, body: bytes) -> int:
        async with self.http.post(self.base + path, data=body,
                                  headers={"Content-Type": "application/json"}) as resp:
            await resp.read()
            return resp.status

    async def create(self, path: str, body: bytes) -> bool:
        status = await self.post(path, body)
        if status != 201:
            raise HTTPStatusError(f"HTTP {status}")
        return True

    async def get(self, path: str, accept: str = "application/json") -> tuple[int, bytes]:
        async with self.http.get(self.base + path, headers={"Accept": accept}) as resp:
            return resp.status, await resp.read()

    async def namespace(self, name: str) -> None:
        status = await self.post("/api/v1/namespaces", orjson.dumps({"metadata": {"name": name}}))
        if status not in (201, 409):
            raise HTTPStatusError(f"creating namespace {name}: HTTP {status}")

    async def populate(self, items: list[tuple[str, bytes]]) -> dict[str, Any]:
        """Create every (path, body) with bounded concurrency; objects/s."""
        queue = list(reversed(items))
        failures: dict[str, int] = {}

        async def worker() -> None:
            while queue:
                path, body = queue.pop()
                status = await self.post(path, body)
                if status != 201:
                    failures[str(status)] = failures.get(str(status), 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(self.plan.populate_concurrency)))
        elapsed = time.perf_counter() - began
        return {"objects": len(items), "seconds": round(elapsed, 2),
                "objects_per_s": round(len(items) / elapsed, 1), "failed_by_status": failures}

    # -- phases --

    async def phase_populate(self, report: dict[str, Any]) -> None:
        p = self.plan
        for ns in ("bench", "mem", "load", "watch"):
            await self.namespace(ns)
        await asyncio.sleep(1.0)
        report["memory"]["idle_rss_mb"] = rss_mb(self.pid)
        items = [("/api/v1/namespaces/bench/pods", pod(f"pod-{i:05d}")) for i in range(p.list_pods)]
        items += [("/api/v1/namespaces/mem/configmaps", configmap(f"cm-{i:05d}")) for i in range(p.memory_configmaps)]
        meter = CpuMeter(self.pid)
        meter.start()
        result = await self.populate(items)
        result.update(meter.stop())
        report["populate"] = result
        await asyncio.sleep(1.0)
        report["memory"]["objects_stored"] = len(items)
        report["memory"]["loaded_rss_mb"] = rss_mb(self.pid)

    async def phase_list(self) -> dict[str, Any]:
        path = "/api/v1/namespaces/bench/pods"

        async def full(accept: str) -> tuple[int, int, float]:
            began = time.perf_counter()
            status, body = await self.get(path, accept)
            took = time.perf_counter() - began
            if status != 200:
                raise HTTPStatusError(f"LIST: HTTP {status}")
            doc = orjson.loads(body)
            return len(doc.get("items") or doc.get("rows") or []), len(body), took

        async def paged(accept: str) -> tuple[int, int, float]:
            count = size = 0
            took = 0.0
            token = ""
            while True:
                query = "?limit=500" + (f"&continue={token}" if token else "")
                began = time.perf_counter()
                status, body = await self.get(path + query, accept)
                took += time.perf_counter() - began
                if status != 200:
                    raise HTTPStatusError(f"LIST page: HTTP {status}")
                doc = orjson.loads(body)
                count += len(doc.get("items") or doc.get("rows") or [])
                size += len(body)
                token = (doc.get("metadata") or {}).get("continue") or ""
                if not token:
                    return count, size, took

        variants: dict[str, Callable[[], Awaitable[tuple[int, int, float]]]] = {
            "full_json": lambda: full("application/json"),
            "paged_500_json": lambda: paged("application/json"),
            "full_table": lambda: full(TABLE_ACCEPT),
            "paged_500_table": lambda: paged(TABLE_ACCEPT),
        }
        out: dict[str, Any] = {"pods": self.plan.list_pods, "repetitions": self.plan.list_reps,
                               "timed": "request sent -> last body byte read, summed over pages; "
                                        "the client's JSON parse is outside the clock; with few repetitions "
                                        "p99 is the maximum",
                               "target_p99_ms": 300}
        for name, run in variants.items():
            times: list[float] = []
            count = size = 0
            meter = CpuMeter(self.pid)
            meter.start()
            for _ in range(self.plan.list_reps):
                count, size, took = await run()
                times.append(took)
            entry: dict[str, Any] = {"items": count, "bytes": size}
            entry.update(httpload.latency_summary(times))
            entry.update(meter.stop())
            out[name] = entry
        return out

    async def phase_create(self, rate: int) -> dict[str, Any]:
        async def call(i: int) -> bool:
            return await self.create("/api/v1/namespaces/load/configmaps", configmap(f"c{rate}-{i:06d}"))

        meter = CpuMeter(self.pid)
        meter.start()
        result = (await httpload.open_loop(call, rate, self.plan.create_seconds)).report()
        result.update(meter.stop())
        result["target_p99_ms"] = 50 if rate <= 200 else 250
        return result

    async def phase_get_mixed(self) -> dict[str, Any]:
        p = self.plan
        await self.create("/api/v1/namespaces/load/configmaps", configmap("get-target"))
        path = "/api/v1/namespaces/load/configmaps/get-target"

        async def read(_: int) -> bool:
            status, _body = await self.get(path)
            if status != 200:
                raise HTTPStatusError(f"HTTP {status}")
            return True

        async def write(i: int) -> bool:
            return await self.create("/api/v1/namespaces/load/configmaps", configmap(f"mix-{i:06d}"))

        meter = CpuMeter(self.pid)
        meter.start()
        gets, writes = await asyncio.gather(httpload.open_loop(read, p.get_rate, p.get_seconds),
                                            httpload.open_loop(write, p.get_write_rate, p.get_seconds))
        out: dict[str, Any] = {"get": gets.report(), "writes": writes.report()}
        out["get"]["target_p99_ms"] = 10
        out["writes"]["target_p99_ms"] = 50
        out.update(meter.stop())
        return out

    async def phase_cached_get(self, work: Path, hello_ports: tuple[int, int],
                               server_files: tuple[Path, Path, Path]) -> dict[str, Any]:
        p = self.plan
        data = {f"key{i}": "v" * 40 for i in range(8)}
        await self.create("/api/v1/namespaces/load/configmaps", configmap("cached-target", data))
        path = "/api/v1/namespaces/load/configmaps/cached-target"
        status, body = await self.get(path)
        if status != 200:
            raise HTTPStatusError(f"GET: HTTP {status}")
        body_file = work / "hello-body.json"
        body_file.write_bytes(body)
        plain_port, tls_port = hello_ports
        cert, key, ca = server_files
        out: dict[str, Any] = {"body_bytes": len(body), "connections": p.cached_connections,
                               "client": "bench/httpload.py closed_loop (asyncio.Protocol, keep-alive), "
                                         "in this process, same tool for all three",
                               "target_req_per_s": 8000, "target_ratio_to_hello_tls": 0.25}
        out["kyb_tls"] = await self._closed(self.port, path, self.ssl_ctx, self.pid)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for port, extra in ((tls_port, [str(cert), str(key), str(ca)]), (plain_port, [])):
                proc = subprocess.Popen([sys.executable, str(HELLO), str(port), str(body_file), *extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                procs.append(proc)
                wait_port(port)
            out["hello_tls"] = await self._closed(tls_port, path, self.ssl_ctx, procs[0].pid)
            out["hello_plain"] = await self._closed(plain_port, path, None, procs[1].pid)
            if shutil.which("wrk"):
                out["hello_plain_wrk"] = await self._wrk(plain_port, path)
        finally:
            for proc in procs:
                stop_process(proc)
        kyb = out["kyb_tls"]["req_per_s"]
        out["ratio_kyb_to_hello_tls"] = round(kyb / max(out["hello_tls"]["req_per_s"], 1e-9), 3)
        out["ratio_kyb_to_hello_plain"] = round(kyb / max(out["hello_plain"]["req_per_s"], 1e-9), 3)
        return out

    async def _closed(self, port: int, path: str, ctx: ssl.SSLContext | None, pid: int) -> dict[str, Any]:
        meter = CpuMeter(pid)
        meter.start()
        result = await httpload.closed_loop("127.0.0.1", port, path, self.plan.cached_connections,
                                            self.plan.cached_seconds, ctx)
        cpu = meter.stop()
        result["server_cpu_pct"] = cpu["server_cpu_pct"]
        return result

    async def _wrk(self, port: int, path: str) -> dict[str, Any]:
        """Calibration: wrk (C, one thread) against the plain hello-world, to show how far the Python
        client's own ceiling is below the server's. wrk cannot present a client certificate, so it
        cannot drive the kyb server itself."""
        proc = await asyncio.create_subprocess_exec(
            "wrk", "-t1", f"-c{self.plan.cached_connections}", f"-d{max(1, round(self.plan.cached_seconds))}s",
            "--latency", f"http://127.0.0.1:{port}{path}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        text = (await proc.communicate())[0].decode(errors="replace")
        return parse_wrk(text)

    async def phase_watch(self, watchers: int) -> dict[str, Any]:
        p = self.plan
        status, body = await self.get("/api/v1/namespaces/watch/configmaps?limit=1")
        if status != 200:
            raise HTTPStatusError(f"LIST: HTTP {status}")
        rv = orjson.loads(body)["metadata"]["resourceVersion"]
        path = f"/api/v1/namespaces/watch/configmaps?watch=1&resourceVersion={rv}&allowWatchBookmarks=false"
        delays: list[float] = []
        streams = await asyncio.gather(*(httpload.open_watch("127.0.0.1", self.port, path, self.ssl_ctx, delays)
                                         for _ in range(watchers)))
        statuses = await asyncio.wait_for(asyncio.gather(*(s.headers_seen for s in streams)), 30)
        if any(s != 200 for s in statuses):
            raise HTTPStatusError(f"watch statuses {sorted(set(statuses))}")

        async def write(i: int) -> bool:
            sent = f"{time.perf_counter():.6f}"
            return await self.create("/api/v1/namespaces/watch/configmaps",
                                     configmap(f"w{watchers}-{i:06d}", {httpload.SENT_KEY: sent}))

        meter = CpuMeter(self.pid)
        meter.start()
        began = time.perf_counter()
        writes = await httpload.open_loop(write, p.watch_rate, p.watch_seconds)
        expected = writes.ok * watchers
        deadline = time.perf_counter() + 15
        while len(delays) < expected and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        last = max([s.last for s in streams] + [began + 1e-3])
        cpu = meter.stop()
        for s in streams:
            if s.transport is not None:
                s.transport.close()
        out: dict[str, Any] = {"watchers": watchers, "offered_events_per_s": p.watch_rate,
                               "events_written": writes.ok, "deliveries": len(delays),
                               "deliveries_expected": expected,
                               "deliveries_per_s": round(len(delays) / (last - began), 1),
                               "latency": "writer's send time (set just before POST) -> line received "
                                          "by the watcher; an upper bound on commit -> delivered"}
        out.update(httpload.latency_summary(delays))
        out["writer"] = writes.report()
        out.update(cpu)
        out["target_p99_ms"] = 100
        out["target_deliveries_per_s"] = 20000
        return out


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests/s and the p99 latency line of `wrk --latency` output."""
    out: dict[str, Any] = {}
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            out["req_per_s"] = float(parts[1])
        elif len(parts) == 2 and parts[0] == "99%":
            value = parts[1]
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
            unit = next(u for u in ("us", "ms", "s") if value.endswith(u))
            out["p99_ms"] = round(float(value[: -len(unit)]) * scale[unit], 2)
    if "req_per_s" not in out:
        out["error"] = text[-300:]
    return out


# (row of perf-targets.md, what, path into the report, target, True when higher is better)
SUMMARY: list[tuple[int, str, tuple[str, ...], float, bool]] = [
    (1, "create p99 ms at 200/s offered", ("create_200", "p99_ms"), 50, False),
    (1, "create p99 ms at 500/s offered", ("create_500", "p99_ms"), 250, False),
    (2, "GET p99 ms at 1,000/s mixed with 200 writes/s", ("get_mixed", "get", "p99_ms"), 10, False),
    (3, "cached GET req/s (TLS; no TLS-less mode to test)", ("cached_get", "kyb_tls", "req_per_s"), 8000, True),
    (3, "cached GET / hello-world TLS, same client", ("cached_get", "ratio_kyb_to_hello_tls"), 0.25, True),
    (4, "LIST 3,000 pods p99 ms (JSON, no limit)", ("list_pods", "full_json", "p99_ms"), 300, False),
    (4, "LIST 3,000 pods p99 ms (Table, limit=500 pages)", ("list_pods", "paged_500_table", "p99_ms"), 300, False),
    (6, "watch p99 ms send->delivered, 100 watchers, 500 events/s", ("watch_fanout", "p99_ms"), 100, False),
    (6, "watch deliveries/s total", ("watch_fanout", "deliveries_per_s"), 20000, True),
    (11, "RSS MB idle", ("memory", "idle_rss_mb"), 150, False),
    (11, "RSS MB with 10,000 objects (target is for 3,000 pods + 100 nodes)", ("memory", "loaded_rss_mb"), 1024, False),
]


def summarize(report: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for row, what, path, target, higher in SUMMARY:
        value: Any = report
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        met = None if not isinstance(value, int | float) else (value >= target if higher else value <= target)
        rows.append({"row": row, "what": what, "measured": value, "target": target, "met": met})
    return rows


def create_phase(bench: ApiBench, rate: int) -> Callable[[], Awaitable[Any]]:
    return lambda: bench.phase_create(rate)


async def run(plan: Plan, port_base: int, server_args: list[str], work: Path,
              only: frozenset[str] = frozenset()) -> dict[str, Any]:
    report: dict[str, Any] = {
        "bench": "api", "quick": plan != Plan(), "machine": machine_info(),
        "client_in_process": True,
        "notes": ["load client is one Python process on the same machine as the server; "
                  "see client_cpu_pct / server_cpu_pct per phase",
                  f"kyb server args: {' '.join(server_args)}"],
        "memory": {"target_idle_rss_mb": 150},
    }
    server = KybServer(work / "kyb", port_base, extra_args=server_args)
    started = time.perf_counter()
    server.start(timeout=60)
    report["server_start_s"] = round(time.perf_counter() - started, 2)
    try:
        tls = httpload.client_tls(server.kubeconfig, work / "client-tls")
        async with ApiBench(server, tls, plan) as bench:
            tls_dir = server.data_dir / "tls"
            phases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
                ("populate", lambda: bench.phase_populate(report)),
                ("list_pods", bench.phase_list),
                *[(f"create_{r}", create_phase(bench, r)) for r in plan.create_rates],
                ("get_mixed", bench.phase_get_mixed),
                ("cached_get", lambda: bench.phase_cached_get(
                    work, (port_base + 1, port_base + 2),
                    (tls_dir / "server.crt", tls_dir / "server.key", tls_dir / "ca.crt"))),
                ("watch_fanout_light", lambda: bench.phase_watch(plan.light_watchers)),
                ("watch_fanout", lambda: bench.phase_watch(plan.watchers)),
            ]
            if only and "populate" not in only:
                for ns in ("bench", "mem", "load", "watch"):
                    await bench.namespace(ns)
            for name, phase in phases:
                if only and name not in only:
                    continue
                try:
                    result = await phase()
                    if result is not None:
                        report[name] = result
                except Exception as exc:  # one broken phase should not hide the others' figures
                    report[name] = {"error": f"{type(exc).__name__}: {exc}",
                                    "trace": traceback.format_exc(limit=3)[-800:]}
                    if server.proc is None or server.proc.poll() is not None:
                        report["server_log_tail"] = server.logs()[-2000:]
                        break
            if server.proc is not None and server.proc.poll() is None:
                report["memory"]["final_rss_mb"] = rss_mb(bench.pid)
            # full collections that stopped the server for over 50 ms (it logs them)
            report["server_gc_pauses_ms"] = [int(ms) for ms in re.findall(
                r"garbage collection paused the server for (\d+) ms", server.logs())]
    finally:
        server.stop()
    report["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["summary"] = summarize(report)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--port-base", type=int, default=18510,
                        help="kyb server on PORT, hello-world apps on PORT+1 (plain) and PORT+2 (TLS)")
    parser.add_argument("--server-args", default=f"--disable {DEFAULT_DISABLE}",
                        help="extra arguments for `kyb server`")
    parser.add_argument("--server-log", default="", help="copy the server's log to this file at the end")
    parser.add_argument("--only", default="",
                        help="comma-separated phases to run (e.g. populate,get_mixed,watch_fanout); default all")
    args = parser.parse_args()
    plan = QUICK if args.quick else Plan()
    work = httpload.temp_dir("kyb-api-bench-")
    try:
        only = frozenset(p for p in args.only.split(",") if p)
        report = asyncio.run(run(plan, args.port_base, args.server_args.split(), work, only))
    finally:
        if args.server_log and (work / "kyb" / "server.log").exists():
            shutil.copy(work / "kyb" / "server.log", args.server_log)
        shutil.rmtree(work, ignore_errors=True)
    print(orjson.dumps(report).decode())


if __name__ == "__main__":
    main()
