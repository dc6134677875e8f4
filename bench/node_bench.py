"""Node benchmark (issue 6 §6; perf-targets rows 7, 12, 13), one JSON object on stdout.

Phases, each against the real thing on this machine (root, containerd, runc, CNI):

    cri_floor   the raw runtime: a private containerd driven straight through CRIClient,
                RunPodSandbox + CreateContainer + StartContainer for N pods with the agent's
                parallelism (8 workers); per-pod latency and wall time; then stop+remove all
    startup     `kyb server` with its node; N pods (busybox:1.36, `sleep 3600`) created at once;
                create -> Running as seen by a watch, with a breakdown (bound, first status from
                the node); time until all Running; delete all -> all gone
    idle        the same node with M pods Running; `kyb agent` RSS and CPU over S idle seconds
                (containerd and the API server beside it, for reference)
    cold_start  `kyb server` with a fresh data dir -> /readyz ok -> node Ready -> first pod
                Running (the pod is created as soon as the API answers); run "cold" (the agent
                builds its test images) and "warm" (its image cache is pre-seeded)

Times are wall-clock on a shared, noisy 2-core machine: read medians and ratios to the floor.
Nothing asserts on timing. Every node started here is removed again (teardown_node).

    .venv/bin/python bench/node_bench.py [--pods 100] [--idle-pods 30] [--idle-seconds 30]
    .venv/bin/python bench/node_bench.py --pods 20 --idle-pods 5 --idle-seconds 5 --cold-runs 0  # quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from kybernetes.client import APIClient, APIError, load_kubeconfig
from kybernetes.client import resource as res
from kybernetes.kubelet.teardown import teardown_node
from kybernetes.testing.cluster import KybServer

Obj = dict[str, Any]
PORT = 18990
CLUSTER_CIDR = "10.47.0.0/16"
BRIDGE = "kybn4"
DATA_DIR = Path("/tmp/kyb-n4")
CRI_DIR = Path("/tmp/kyb-n4-cri")
CRI_BRIDGE = "kybn4c"
CRI_POD_CIDR = "10.47.255.0/24"
SEED_DIR = Path("/tmp/kyb-n4-seed")   # the cold run's image cache, reused by the warm runs
IMAGE = "busybox:1.36"
NAMESPACE = "default"
CLK_TCK = os.sysconf("SC_CLK_TCK")

PODS = res("v1", "pods")
NODES = res("v1", "nodes")


def log(msg: str) -> None:
    print(f"[node_bench] {msg}", file=sys.stderr, flush=True)


# ---- statistics and /proc ----

def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def summary(values: list[float]) -> Obj:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(pct(values, 50), 3), "p90": round(pct(values, 90), 3),
            "p99": round(pct(values, 99), 3), "max": round(max(values), 3), "mean": round(statistics.fmean(values), 3)}


def cpu_ticks(pid: int) -> int:
    """utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    rest = stat[stat.rindex(")") + 2:].split()
    return int(rest[11]) + int(rest[12])


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pids_with(needle: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if needle in cmd and int(entry) != os.getpid():
                    out.append(int(entry))
    return out


def machine() -> Obj:
    return {"cpus": os.cpu_count(), "loadavg_1m": float(Path("/proc/loadavg").read_text().split()[0])}


def check_port_free(port: int) -> None:
    """KybServer would happily talk to whatever already answers on the port: refuse instead."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            raise SystemExit(f"port {port} is in use by another process ({e}); pass --port") from e


def remove_node(data_dir: Path, bridge: str) -> None:
    for step in teardown_node(data_dir, bridge=bridge):
        log(f"teardown {data_dir}: {step}")


def pod_manifest(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"bench": "node"}},
            "spec": {"containers": [{"name": "c", "image": IMAGE, "command": ["sleep", "3600"]}]}}


def running(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running"


def node_ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


# ---- 1a. the raw CRI floor ----

async def cri_floor(n: int, parallelism: int) -> Obj:
    """RunPodSandbox + CreateContainer + StartContainer per pod, `parallelism` at a time, against
    a private containerd; the same pod shape and configs the agent builds (criconfig)."""
    from kybernetes.images.testimages import BUSYBOX_NAMES, PAUSE_IMAGE, ensure_test_images
    from kybernetes.kubelet import criconfig
    from kybernetes.kubelet.containerd import ContainerdSettings, ContainerdSupervisor
    from kybernetes.kubelet.cri import api_pb2 as pb
    from kybernetes.kubelet.cri.client import CRIClient

    if CRI_DIR.exists():
        remove_node(CRI_DIR, CRI_BRIDGE)
        shutil.rmtree(CRI_DIR, ignore_errors=True)
    settings = ContainerdSettings(root_dir=CRI_DIR, node_name="kyb-n4-cri", pod_cidr=CRI_POD_CIDR,
                                  cluster_cidr=CLUSTER_CIDR, bridge=CRI_BRIDGE, network_name=f"kyb-{CRI_BRIDGE}",
                                  pause_image=PAUSE_IMAGE)
    sup = ContainerdSupervisor(settings)
    cgroup_root = f"kubepods-{CRI_BRIDGE}"
    try:
        await sup.start()
        archives = await asyncio.to_thread(ensure_test_images, CRI_DIR / "images")
        for path in sorted(set(archives.values())):
            subprocess.run(["ctr", "-a", sup.socket_path, "-n", "k8s.io", "images", "import", "--all-platforms",
                            str(path)], check=True, capture_output=True)
        async with CRIClient(sup.socket_path) as cri:
            image = await cri.image_status(BUSYBOX_NAMES[2])
            assert image is not None, "busybox:1.36 was not imported"

            async def one(i: int) -> tuple[float, str]:
                uid = str(uuid.uuid4())
                container: Obj = {"name": "c", "image": IMAGE, "command": ["sleep", "3600"]}
                pod: Obj = {"metadata": {"name": f"floor-{i}", "namespace": NAMESPACE, "uid": uid},
                            "spec": {"containers": [container]}}
                logdir = criconfig.pod_log_directory(str(settings.log_dir), pod)
                (Path(logdir) / "c").mkdir(parents=True, exist_ok=True)   # pitfall 14
                sb = criconfig.sandbox_config(pod, attempt=0, logs_root=str(settings.log_dir),
                                              cgroup_parent=f"/{cgroup_root}/besteffort/pod{uid}",
                                              dns={"servers": [], "searches": [], "options": []})
                sb_pb = criconfig.to_proto(sb, pb.PodSandboxConfig())
                cc = criconfig.container_config(pod, container, attempt=0, image_ref=image.id,
                                                command=["sleep"], args=["3600"], env=[], mounts=[], resources={})
                cc_pb = criconfig.to_proto(cc, pb.ContainerConfig())
                t0 = time.monotonic()
                sid = await cri.run_pod_sandbox(sb_pb)
                cid = await cri.create_container(sid, cc_pb, sb_pb)
                await cri.start_container(cid)
                return time.monotonic() - t0, sid

            warm, warm_sid = await one(-1)   # the first sandbox creates the bridge: kept out, as on the node
            latencies: list[float] = []
            from_start: list[float] = []
            sandboxes: list[str] = []
            sem = asyncio.Semaphore(parallelism)

            async def bounded(i: int) -> None:
                async with sem:
                    dt, sid = await one(i)
                    latencies.append(dt)
                    from_start.append(time.monotonic() - t0)
                    sandboxes.append(sid)

            t0 = time.monotonic()
            await asyncio.gather(*(bounded(i) for i in range(n)))
            wall = time.monotonic() - t0
            log(f"cri floor: {n} pods in {wall:.2f}s")

            stop_lat: list[float] = []

            async def remove(sid: str) -> None:
                async with sem:
                    t = time.monotonic()
                    await cri.stop_pod_sandbox(sid)    # kills the container at once (no grace here)
                    await cri.remove_pod_sandbox(sid)
                    stop_lat.append(time.monotonic() - t)

            t1 = time.monotonic()
            await asyncio.gather(*(remove(s) for s in sandboxes))
            delete_wall = time.monotonic() - t1
            await remove(warm_sid)
        return {"pods": n, "parallelism": parallelism, "warmup_pod_seconds": round(warm, 3),
                "per_pod_seconds": summary(latencies),
                # all N handed over at once, like the pods created at once: queueing included,
                # which is what create -> Running is to be compared with
                "start_to_running_seconds": summary(from_start), "wall_seconds": round(wall, 2),
                "pods_per_second": round(n / wall, 1) if wall else None,
                "stop_remove_per_pod_seconds": summary(stop_lat), "stop_remove_wall_seconds": round(delete_wall, 2),
                "containerd_start_seconds": round(sup.last_start_seconds or 0.0, 3)}
    finally:
        await sup.stop()
        remove_node(CRI_DIR, CRI_BRIDGE)
        shutil.rmtree(CRI_DIR, ignore_errors=True)


# ---- 1b. pod startup through the API ----

class PodWatch:
    """One watch on the bench pods recording, per pod, when it was first seen bound, first given a
    status by the node (status.startTime), Running, and deleted."""

    def __init__(self, client: APIClient) -> None:
        self.client = client
        self.bound: dict[str, float] = {}
        self.node_status: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        listed = await self.client.list(PODS, namespace=NAMESPACE, label_selector="bench=node")
        rv = listed["metadata"]["resourceVersion"]
        self._task = asyncio.create_task(self._run(rv))

    async def _run(self, rv: str) -> None:
        while True:
            async with contextlib.aclosing(self.client.watch(PODS, namespace=NAMESPACE, label_selector="bench=node",
                                                             resource_version=rv, timeout_seconds=600)) as events:
                async for ev in events:
                    now = time.monotonic()
                    obj = ev.object
                    rv = obj.get("metadata", {}).get("resourceVersion") or rv
                    if ev.type == "BOOKMARK":
                        continue
                    name = obj["metadata"]["name"]
                    if ev.type == "DELETED":
                        self.deleted.setdefault(name, now)
                    else:
                        if obj.get("spec", {}).get("nodeName"):
                            self.bound.setdefault(name, now)
                        if (obj.get("status") or {}).get("startTime"):
                            self.node_status.setdefault(name, now)
                        if running(obj):
                            self.running.setdefault(name, now)
                    self.changed.set()

    async def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def create_pods(client: APIClient, names: list[str]) -> dict[str, float]:
    """Create all at once; the time each create request was sent."""
    sent: dict[str, float] = {}

    async def one(name: str) -> None:
        sent[name] = time.monotonic()
        await client.create(PODS, pod_manifest(name), namespace=NAMESPACE)

    await asyncio.gather(*(one(n) for n in names))
    return sent


async def delete_pods(client: APIClient, names: list[str], grace: int) -> None:
    async def one(name: str) -> None:
        with contextlib.suppress(APIError):
            await client.delete(PODS, name, namespace=NAMESPACE, grace_period_seconds=grace)

    await asyncio.gather(*(one(n) for n in names))


def node_pids(kyb: KybServer) -> dict[str, int]:
    """The server, its `kyb agent` child and the agent's containerd."""
    agent = pids_with(f"agent --kubeconfig {kyb.kubeconfig}")
    containerd = pids_with(f"containerd --config {kyb.data_dir / 'node' / 'containerd' / 'config.toml'}")
    assert agent and containerd and kyb.proc is not None, "agent or containerd process not found"
    return {"agent": agent[0], "containerd": containerd[0], "server": kyb.proc.pid}


async def startup(client: APIClient, kyb: KybServer, n: int, delete_grace: int, timeout: float) -> Obj:
    pids = node_pids(kyb)
    watch = PodWatch(client)
    await watch.start()
    try:
        # One warm-up pod (the node's first sandbox creates the bridge), as in the CRI floor.
        await create_pods(client, ["warmup"])
        await watch.wait(lambda: "warmup" in watch.running, timeout)
        names = [f"start-{i}" for i in range(n)]
        ticks0 = {k: cpu_ticks(p) for k, p in pids.items()}
        t0 = time.monotonic()
        sent = await create_pods(client, names)
        created = time.monotonic() - t0
        ok = await watch.wait(lambda: all(x in watch.running for x in names), timeout)
        all_running = time.monotonic() - t0
        cpu = {f"{k}_cpu_seconds": round((cpu_ticks(p) - ticks0[k]) / CLK_TCK, 2) for k, p in pids.items()}
        lat = [watch.running[x] - sent[x] for x in names if x in watch.running]
        bound = [watch.bound[x] - sent[x] for x in names if x in watch.bound]
        first_status = [watch.node_status[x] - sent[x] for x in names if x in watch.node_status]
        to_running = [watch.running[x] - watch.node_status[x] for x in names
                      if x in watch.running and x in watch.node_status]
        log(f"startup: {len(lat)}/{n} Running in {all_running:.2f}s; p50 {pct(lat, 50) if lat else -1:.2f}s")
        t1 = time.monotonic()
        gone_names = [*names, "warmup"]
        await delete_pods(client, gone_names, delete_grace)
        gone_ok = await watch.wait(lambda: all(x in watch.deleted for x in gone_names), timeout)
        all_gone = time.monotonic() - t1
        log(f"startup: deleted {n + 1} pods in {all_gone:.2f}s")
        return {"pods": n, "all_running": ok, "create_requests_seconds": round(created, 2),
                "create_to_running_seconds": summary(lat),
                "create_to_bound_seconds": summary(bound),
                "create_to_first_node_status_seconds": summary(first_status),
                "first_node_status_to_running_seconds": summary(to_running),
                "all_running_seconds": round(all_running, 2),
                "pods_per_second": round(n / all_running, 1) if all_running else None,
                "cpu_until_all_running": cpu, "delete_grace_seconds": delete_grace, "all_gone": gone_ok,
                "delete_all_to_gone_seconds": round(all_gone, 2)}
    finally:
        await watch.stop()


# ---- 2. the agent at rest ----

async def idle(client: APIClient, kyb: KybServer, m: int, seconds: float, delete_grace: int, timeout: float) -> Obj:
    pids = node_pids(kyb)
    apid, cpid, spid = pids["agent"], pids["containerd"], pids["server"]
    watch = PodWatch(client)
    await watch.start()
    names = [f"idle-{i}" for i in range(m)]
    try:
        await create_pods(client, names)
        ok = await watch.wait(lambda: all(x in watch.running for x in names), timeout)
        await asyncio.sleep(5)   # let the first statuses, probes and relists settle
        rss: dict[int, list[int]] = {apid: [], cpid: [], spid: []}
        ticks0 = {p: cpu_ticks(p) for p in rss}
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            for p, samples in rss.items():
                samples.append(rss_kb(p))
            await asyncio.sleep(1.0)
        wall = time.monotonic() - t0
        cpu = {p: (cpu_ticks(p) - ticks0[p]) / CLK_TCK for p in rss}
        shims = pids_with(f"-address {DATA_DIR / 'node' / 'containerd' / 'containerd.sock'}")
        shim_rss = sum(rss_kb(p) for p in shims)

        def proc(pid: int) -> Obj:
            return {"rss_mb_median": round(statistics.median(rss[pid]) / 1024, 1),
                    "rss_mb_max": round(max(rss[pid]) / 1024, 1),
                    "cpu_percent_of_core": round(100 * cpu[pid] / wall, 2)}

        log(f"idle: agent {proc(apid)}")
        return {"pods_running": m, "all_running": ok, "seconds": round(wall, 1), "agent": proc(apid),
                "containerd": proc(cpid), "server": proc(spid),
                "shims": {"count": len(shims), "rss_mb_total": round(shim_rss / 1024, 1)}}
    finally:
        await delete_pods(client, names, delete_grace)
        await watch.wait(lambda: all(x in watch.deleted for x in names), timeout)
        await watch.stop()


# ---- 3. cold start ----

async def cold_start(run: int, seed_images: Path | None, port: int, timeout: float) -> Obj:
    """`kyb server` on a fresh data dir: seconds to /readyz, node Ready and a first pod Running.
    XDG_CACHE_HOME points at an empty temp dir; the agent's own image cache (<data>/node/images)
    is seeded from `seed_images` for the warm run."""
    data = Path(f"/tmp/kyb-n4-cold{run}")
    if data.exists():
        remove_node(data / "node", BRIDGE)
        shutil.rmtree(data, ignore_errors=True)
    cache = Path(tempfile.mkdtemp(prefix="kyb-n4-xdg-"))
    if seed_images is not None:
        shutil.copytree(seed_images, data / "node" / "images")
    old_xdg = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    kyb = KybServer(data, port=port, node=True, cluster_cidr=CLUSTER_CIDR, bridge=BRIDGE)
    out: Obj = {"image_cache": "warm" if seed_images is not None else "cold"}
    try:
        t0 = time.monotonic()
        kyb.start(timeout=timeout)   # returns once /readyz answers 200 (polled every 50 ms)
        out["api_ready_seconds"] = round(time.monotonic() - t0, 2)
        async with APIClient(load_kubeconfig(kyb.kubeconfig)) as client:
            t_pod = time.monotonic()
            while True:   # the default namespace and service account may lag /readyz a moment
                try:
                    await client.create(PODS, pod_manifest("first"), namespace=NAMESPACE)
                    break
                except APIError as e:
                    if time.monotonic() - t_pod > timeout:
                        raise
                    log(f"cold start: create first pod: {e}")
                    await asyncio.sleep(0.05)
            out["first_pod_created_seconds"] = round(time.monotonic() - t0, 2)

            async def until(check: Callable[[], Awaitable[bool]]) -> float | None:
                while time.monotonic() - t0 < timeout:
                    if await check():
                        return round(time.monotonic() - t0, 2)
                    await asyncio.sleep(0.05)
                return None

            async def node_is_ready() -> bool:
                nodes = await client.list(NODES)
                return any(node_ready(nd) for nd in nodes["items"])

            async def pod_is_running() -> bool:
                with contextlib.suppress(APIError):
                    return running(await client.get(PODS, "first", namespace=NAMESPACE))
                return False

            ready, first = await asyncio.gather(until(node_is_ready), until(pod_is_running))
            out["node_ready_seconds"] = ready
            out["first_pod_running_seconds"] = first
            with contextlib.suppress(APIError):
                await client.delete(PODS, "first", namespace=NAMESPACE, grace_period_seconds=0)
        out["agent_log_lines"] = [ln for ln in kyb.logs().splitlines()
                                  if "containerd for" in ln or "ready (pod CIDR" in ln][-3:]
        log(f"cold start {run}: {out}")
        return out
    finally:
        kyb.stop(timeout=30)
        if old_xdg is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = old_xdg
        if run == 1 and seed_images is None and (data / "node" / "images").exists():
            shutil.copytree(data / "node" / "images", SEED_DIR, dirs_exist_ok=True)
        remove_node(data / "node", BRIDGE)
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)


# ---- driver ----

async def node_phases(args: argparse.Namespace) -> Obj:
    if DATA_DIR.exists():
        remove_node(DATA_DIR / "node", BRIDGE)
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    kyb = KybServer(DATA_DIR, port=args.port, node=True, cluster_cidr=CLUSTER_CIDR, bridge=BRIDGE)
    out: Obj = {}
    try:
        kyb.start()
        async with APIClient(load_kubeconfig(kyb.kubeconfig)) as client:
            deadline = time.monotonic() + 90
            while not any(node_ready(nd) for nd in (await client.list(NODES))["items"]):
                if time.monotonic() > deadline:
                    raise TimeoutError("node not Ready")
                await asyncio.sleep(0.2)
            if args.pods:
                out["startup"] = await startup(client, kyb, args.pods, args.delete_grace, args.timeout)
            if args.idle_pods:
                out["idle"] = await idle(client, kyb, args.idle_pods, args.idle_seconds, args.delete_grace,
                                         args.timeout)
    finally:
        if kyb.proc is not None:
            with contextlib.suppress(Exception):
                async with APIClient(load_kubeconfig(kyb.kubeconfig)) as client:
                    items = (await client.list(PODS, namespace=NAMESPACE))["items"]
                    for p in items:
                        with contextlib.suppress(APIError):
                            await client.delete(PODS, p["metadata"]["name"], namespace=NAMESPACE,
                                                grace_period_seconds=0)
        kyb.stop(timeout=30)
        if args.save_log is not None and kyb.log_path is not None and kyb.log_path.exists():
            shutil.copyfile(kyb.log_path, args.save_log)   # server + agent log, for profiling
        remove_node(DATA_DIR / "node", BRIDGE)
        shutil.rmtree(DATA_DIR, ignore_errors=True)
    return out


async def bench(args: argparse.Namespace) -> Obj:
    out: Obj = {"machine_before": machine(), "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    if args.pods and not args.skip_cri_floor:
        out["cri_floor"] = await cri_floor(args.pods, args.parallelism)
    out.update(await node_phases(args))
    if args.cold_runs:
        seed = SEED_DIR
        shutil.rmtree(seed, ignore_errors=True)
        runs = [await cold_start(1, None, args.port, args.timeout)]
        for i in range(2, args.cold_runs + 1):
            runs.append(await cold_start(i, seed if seed.exists() else None, args.port, args.timeout))
        shutil.rmtree(seed, ignore_errors=True)
        out["cold_start"] = runs
    if "startup" in out and "cri_floor" in out:
        s, f = out["startup"], out["cri_floor"]
        out["ratios"] = {
            "startup_p50_over_cri_p50": _ratio(s["create_to_running_seconds"].get("p50"), f["per_pod_seconds"].get("p50")),
            "startup_p50_over_cri_start_to_running_p50": _ratio(s["create_to_running_seconds"].get("p50"),
                                                                f["start_to_running_seconds"].get("p50")),
            "all_running_over_cri_wall": _ratio(s["all_running_seconds"], f["wall_seconds"]),
        }
    out["machine_after"] = machine()
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 1) if a and b else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pods", type=int, default=100, help="pods created at once (startup and CRI floor; 0 skips)")
    ap.add_argument("--parallelism", type=int, default=8, help="CRI floor workers (the agent runs 8 pod workers)")
    ap.add_argument("--idle-pods", type=int, default=30, help="pods running while the agent idles (0 skips)")
    ap.add_argument("--idle-seconds", type=float, default=30.0)
    ap.add_argument("--cold-runs", type=int, default=2, help="cold starts: the first cold, the others warm (0 skips)")
    ap.add_argument("--delete-grace", type=int, default=1,
                    help="gracePeriodSeconds of the deletes (`sleep` as PID 1 ignores SIGTERM: it waits it out)")
    ap.add_argument("--port", type=int, default=PORT, help="API port of the servers this starts")
    ap.add_argument("--save-log", type=Path, default=None, help="keep the node phases' server/agent log here")
    ap.add_argument("--skip-cri-floor", action="store_true")
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()
    check_port_free(args.port)
    print(json.dumps(asyncio.run(bench(args)), indent=2))


if __name__ == "__main__":
    main()
