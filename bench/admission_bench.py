"""What validation and admission cost per create, and how long kubectl apply of 200 objects takes.

Prints one JSON object:
  create_cost: p50/p99 of a pod create through the whole pipeline (schema check, defaulting,
      validation, the built-in admission chain) beside the same create with admission disabled
      and fieldValidation=Ignore, measured in the same run, in-process over plain HTTP, so the
      difference is the machinery and not TLS or the network.
  apply_200: wall time of `kubectl apply -f DIR` for 200 objects (create), the same again
      (unchanged), and `kubectl apply --server-side` of the same set, against a real `kyb server`.

    python bench/admission_bench.py [--creates 2000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.storage.memory import MemoryStorage
from kybernetes.testing.cluster import KybServer


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"p{i}", "labels": {"app": "bench", "i": str(i)}},
        "spec": {"containers": [{
            "name": "app", "image": "registry.example/app:1.0",
            "ports": [{"containerPort": 8080, "name": "http"}],
            "env": [{"name": f"E{j}", "value": str(j)} for j in range(5)],
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        }]},
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def create_latencies(admission: bool, n: int, tmp: Path) -> list[float]:
    plugins = None if admission else []
    server = APIServer(ServerConfig(data_dir=tmp, anonymous_auth=True, advertise_address="127.0.0.1"),
                       MemoryStorage(), admission_plugins=plugins)
    await server.start()
    ts = TestServer(server.app())
    await ts.start_server()
    url = str(ts.make_url("/api/v1/namespaces/default/pods"))
    query = "" if admission else "?fieldValidation=Ignore"
    out: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            for i in range(n):
                body = json.dumps(pod(i)).encode()
                t0 = time.perf_counter()
                async with session.post(url + query, data=body, headers={"Content-Type": "application/json"}) as r:
                    await r.read()
                    if r.status != 201:
                        raise RuntimeError(f"create failed: {r.status}")
                out.append((time.perf_counter() - t0) * 1000)
    finally:
        await ts.close()
        await server.stop()
    return out


def manifests(directory: Path, count: int) -> None:
    for i in range(count):
        kind = i % 3
        if kind == 0:
            doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"}, "data": {"k": str(i)}}
        elif kind == 1:
            doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i}"},
                   "spec": {"selector": {"app": f"a{i}"}, "ports": [{"port": 80, "targetPort": 8080}]}}
        else:
            doc = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": f"dep-{i}"},
                   "spec": {"replicas": 0, "selector": {"matchLabels": {"app": f"a{i}"}},
                            "template": {"metadata": {"labels": {"app": f"a{i}"}},
                                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
        (directory / f"{i:03d}.json").write_text(json.dumps(doc))


def timed_kubectl(server: KybServer, *args: str) -> float:
    t0 = time.perf_counter()
    server.kubectl(*args, timeout=600)
    return round(time.perf_counter() - t0, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--creates", type=int, default=2000)
    parser.add_argument("--objects", type=int, default=200)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    creates = 200 if args.quick else args.creates
    objects = 30 if args.quick else args.objects
    work = Path(tempfile.mkdtemp(prefix="kyb-admission-bench-"))
    report: dict[str, Any] = {"bench": "admission", "quick": args.quick}
    try:
        full = asyncio.run(create_latencies(True, creates, work / "a"))
        bare = asyncio.run(create_latencies(False, creates, work / "b"))
        summary = {}
        for name, vals in (("full_pipeline", full), ("admission_disabled", bare)):
            summary[name] = {"creates": len(vals), "p50_ms": round(statistics.median(vals), 3),
                             "p99_ms": round(percentile(vals, 0.99), 3)}
        summary["added_p50_ms"] = round(summary["full_pipeline"]["p50_ms"] - summary["admission_disabled"]["p50_ms"], 3)
        summary["added_p99_ms"] = round(summary["full_pipeline"]["p99_ms"] - summary["admission_disabled"]["p99_ms"], 3)
        report["create_cost"] = summary

        mdir = work / "manifests"
        mdir.mkdir()
        manifests(mdir, objects)
        server = KybServer(work / "kyb", extra_args=["--disable", "scheduler,controllers"])
        server.start()
        try:
            report["apply"] = {
                "objects": objects,
                "client_side_create_s": timed_kubectl(server, "apply", "-f", str(mdir)),
                "client_side_unchanged_s": timed_kubectl(server, "apply", "-f", str(mdir)),
                "server_side_s": timed_kubectl(server, "apply", "--server-side", "--force-conflicts", "-f", str(mdir)),
            }
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main()
