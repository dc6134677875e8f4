"""Durable write throughput of SQLiteStorage against etcd on the same machine.

Usage: `python bench/storage_writes.py [--seconds 3] [--levels 1,16,128]`; prints one JSON object.

For each concurrency level N, N writers each create distinct keys with 256-byte values for a
fixed time, against (a) SQLiteStorage in this process, with one watcher on the whole keyspace
consuming events as the apiserver's watch cache would, and (b) a private etcd-server
(127.0.0.1:23790 client, 23800 peer, temp data dir) through its gRPC KV.Put, stopped by PID at
the end. The harness is the same coroutine for both; ratios compare the two in one run because
these machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kybernetes.storage.sqlite import SQLiteStorage

VALUE = os.urandom(128).hex().encode()  # 256 bytes
ETCD_CLIENT = "127.0.0.1:23790"
ETCD_PEER = "http://127.0.0.1:23800"
PROTO = Path(__file__).with_name("etcd_kv.proto")

Write = Callable[[str], Awaitable[None]]


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def drive(write: Write, writers: int, seconds: float, prefix: str) -> dict[str, float]:
    """N writers writing distinct keys until the time is up: writes/s and latency in ms."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def one(n: int) -> None:
        i = 0
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            await write(f"{prefix}/{n}/{i}")
            latencies.append(time.perf_counter() - started)
            i += 1

    began = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(writers)))
    elapsed = time.perf_counter() - began
    return {
        "writes": len(latencies),
        "writes_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 3),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 3),
    }


async def bench_sqlite(directory: Path, writers: int, seconds: float) -> dict[str, float]:
    store = SQLiteStorage(str(directory / f"bench-{writers}.db"))
    await store.open()
    started: dict[str, float] = {}
    delays: list[float] = []

    async def consume() -> None:
        async for event in store.watch("/", 0):
            began = started.pop(event.key, None)
            if began is not None:
                delays.append(time.perf_counter() - began)

    watcher = asyncio.create_task(consume())

    async def write(key: str) -> None:
        started[key] = time.perf_counter()
        await store.create(key, VALUE)

    try:
        await drive(write, writers, 0.3, "/warmup")
        delays.clear()
        result = await drive(write, writers, seconds, "/bench")
        result["watch_p50_ms"] = round(percentile(delays, 0.50) * 1000, 3)
        result["watch_p99_ms"] = round(percentile(delays, 0.99) * 1000, 3)
        return result
    finally:
        await store.close()
        await watcher


def compile_proto(out: Path) -> tuple[Any, Any]:
    from grpc_tools import protoc  # type: ignore[import-untyped]

    code = protoc.main(
        ["protoc", f"-I{PROTO.parent}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO)]
    )
    if code != 0:
        raise RuntimeError(f"protoc failed with {code}")
    sys.path.insert(0, str(out))
    return importlib.import_module("etcd_kv_pb2"), importlib.import_module("etcd_kv_pb2_grpc")


def start_etcd(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    args = [
        shutil.which("etcd") or "/usr/bin/etcd",
        "--name=bench",
        f"--data-dir={data_dir}",
        f"--listen-client-urls=http://{ETCD_CLIENT}",
        f"--advertise-client-urls=http://{ETCD_CLIENT}",
        f"--listen-peer-urls={ETCD_PEER}",
        f"--initial-advertise-peer-urls={ETCD_PEER}",
        f"--initial-cluster=bench={ETCD_PEER}",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(10)


async def bench_etcd(pb2: Any, pb2_grpc: Any, levels: list[int], seconds: float) -> dict[int, dict[str, float]]:
    import grpc  # type: ignore[import-untyped]

    async with grpc.aio.insecure_channel(ETCD_CLIENT) as channel:
        stub = pb2_grpc.KVStub(channel)
        deadline = time.monotonic() + 20
        while True:
            try:
                await stub.Put(pb2.PutRequest(key=b"/ready", value=b"1"), timeout=1)
                break
            except grpc.aio.AioRpcError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

        async def write(key: str) -> None:
            await stub.Put(pb2.PutRequest(key=key.encode(), value=VALUE))

        results = {}
        for writers in levels:
            await drive(write, writers, 0.3, f"/warmup{writers}")
            results[writers] = await drive(write, writers, seconds, f"/bench{writers}")
        return results


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--levels", default="1,16,128")
    parser.add_argument("--no-etcd", action="store_true")
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    report: dict[str, Any] = {"seconds_per_level": args.seconds, "value_bytes": len(VALUE), "levels": {}}
    with tempfile.TemporaryDirectory(prefix="kyb-bench-") as tmp:
        directory = Path(tmp)
        sqlite_results = {w: await bench_sqlite(directory, w, args.seconds) for w in levels}
        etcd_results: dict[int, dict[str, float]] = {}
        if not args.no_etcd:
            pb2, pb2_grpc = compile_proto(directory)
            etcd = start_etcd(directory / "etcd-data", directory / "etcd.log")
            try:
                etcd_results = await bench_etcd(pb2, pb2_grpc, levels, args.seconds)
            finally:
                stop(etcd)
        for w in levels:
            entry: dict[str, Any] = {"sqlite": sqlite_results[w]}
            if w in etcd_results:
                entry["etcd"] = etcd_results[w]
                entry["ratio_sqlite_over_etcd"] = round(
                    sqlite_results[w]["writes_per_s"] / max(etcd_results[w]["writes_per_s"], 1e-9), 2
                )
            report["levels"][str(w)] = entry
        ratios = [e["ratio_sqlite_over_etcd"] for e in report["levels"].values() if "ratio_sqlite_over_etcd" in e]
        if ratios:
            report["min_ratio"] = min(ratios)
            report["geomean_ratio"] = round(statistics.geometric_mean(ratios), 2)
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
