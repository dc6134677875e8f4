"""Cluster DNS benchmark: queries per second per core and p99 latency, beside dnsmasq on the same machine.

Both servers answer the same names: 1,000 cluster Services (kybernetes from its RecordIndex, dnsmasq from
a hosts file) and 10 external names forwarded to one local fake upstream and then answered from cache.
The same load runs against each:
  * throughput: dnsperf (Debian package `dnsperf`, installed here if missing) for a few seconds at
    full speed; qps per core = answered queries / CPU seconds the server process used;
  * latency: this file's asyncio UDP generator at a fixed rate, p50/p99 of per-query round trips.
Ports 15310-15312 (kyb DNS, dnsmasq, upstream). Prints one JSON document.

    .venv/bin/python bench/dns_bench.py [--seconds 5] [--rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from dnslib import DNSRecord  # type: ignore[import-untyped]

KYB_PORT, DNSMASQ_PORT, UPSTREAM_PORT = 15310, 15311, 15312
SERVICES = 1000
EXTERNAL = [f"host{i}.example.com" for i in range(10)]


def service_ip(i: int) -> str:
    return f"10.43.{1 + i // 250}.{1 + i % 250}"


def cluster_names() -> list[str]:
    return [f"svc{i}.default.svc.cluster.local" for i in range(SERVICES)]


# --- child processes: the kybernetes server and the fake upstream ------------------------------------
async def serve_kyb(port: int, upstream: int) -> None:
    from kybernetes.dns.records import RecordIndex
    from kybernetes.dns.server import DNSServer

    index = RecordIndex()
    index.upsert_namespace({"metadata": {"name": "default"}})
    for i in range(SERVICES):
        index.upsert_service({"metadata": {"name": f"svc{i}", "namespace": "default"},
                              "spec": {"type": "ClusterIP", "clusterIP": service_ip(i), "clusterIPs": [service_ip(i)],
                                       "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})
    server = DNSServer(index, listen=[("127.0.0.1", port)], upstreams=[f"127.0.0.1:{upstream}"])
    await server.start()
    await asyncio.Event().wait()


async def serve_upstream(port: int) -> None:
    from kybernetes.dns.fakeupstream import FakeUpstream

    zone = "\n".join(f"{name}. 3600 IN A 192.0.2.{i + 1}" for i, name in enumerate(EXTERNAL))
    await FakeUpstream(zone, port=port).start()
    await asyncio.Event().wait()


# --- measuring ---------------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ensure_tools() -> None:
    missing = [pkg for tool, pkg in (("dnsperf", "dnsperf"), ("dnsmasq", "dnsmasq-base")) if not shutil.which(tool)]
    if missing:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, stdout=subprocess.DEVNULL)


def dnsperf(port: int, names: list[str], seconds: float, pid: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("".join(f"{n} A\n" for n in names))
    cpu0 = cpu_seconds(pid)
    out = subprocess.run(["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", f.name, "-l", str(seconds),
                          "-c", "4", "-q", "200", "-t", "2"], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu0
    os.unlink(f.name)
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    qps = float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    avg = float(re.search(r"Average Latency \(s\):\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"qps": round(qps), "completed": completed, "lost": lost, "server_cpu_s": round(cpu, 2),
            "qps_per_core": round(completed / cpu) if cpu > 0 else None, "avg_latency_ms_at_saturation": round(avg * 1000, 3)}


async def fixed_rate(port: int, names: list[str], rate: int, seconds: float) -> dict[str, Any]:
    """Send `rate` queries/s for `seconds`; round-trip percentiles of the answered ones."""
    loop = asyncio.get_running_loop()
    sent: dict[int, float] = {}
    rtts: list[float] = []

    class P(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            t0 = sent.pop(int.from_bytes(data[:2], "big"), None)
            if t0 is not None:
                rtts.append(time.perf_counter() - t0)

    transport, _ = await loop.create_datagram_endpoint(P, remote_addr=("127.0.0.1", port))
    packets = [bytes(DNSRecord.question(n, "A").pack())[2:] for n in names]
    total = int(rate * seconds)
    start = time.perf_counter()
    for i in range(total):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        qid = i % 65536
        sent[qid] = time.perf_counter()
        transport.sendto(qid.to_bytes(2, "big") + packets[random.randrange(len(packets))])
    await asyncio.sleep(0.5)
    transport.close()
    rtts.sort()

    def pct(p: float) -> float | None:
        return round(rtts[min(len(rtts) - 1, int(p * len(rtts)))] * 1000, 3) if rtts else None

    return {"rate": rate, "sent": total, "answered": len(rtts), "p50_ms": pct(0.50), "p99_ms": pct(0.99)}


def start(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_answering(port: int, name: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            DNSRecord.question(name).send("127.0.0.1", port, timeout=0.5)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--serve-kyb", type=int)
    ap.add_argument("--serve-upstream", type=int)
    args = ap.parse_args()
    if args.serve_kyb:
        asyncio.run(serve_kyb(args.serve_kyb, UPSTREAM_PORT))
        return
    if args.serve_upstream:
        asyncio.run(serve_upstream(args.serve_upstream))
        return
    ensure_tools()
    me = [sys.executable, str(Path(__file__).resolve())]
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        hosts = Path(tmp) / "hosts"
        hosts.write_text("".join(f"{service_ip(i)} svc{i}.default.svc.cluster.local\n" for i in range(SERVICES)))
        try:
            procs.append(start([*me, "--serve-upstream", str(UPSTREAM_PORT)]))
            kyb = start([*me, "--serve-kyb", str(KYB_PORT)])
            procs.append(kyb)
            dnsmasq = start(["dnsmasq", "--no-daemon", f"--port={DNSMASQ_PORT}", "--listen-address=127.0.0.1",
                             "--bind-interfaces", "--no-resolv", "--no-hosts", f"--addn-hosts={hosts}",
                             f"--server=127.0.0.1#{UPSTREAM_PORT}", "--cache-size=10000", "--local-ttl=5",
                             "--pid-file=", "--user=root"])
            procs.append(dnsmasq)
            for port in (UPSTREAM_PORT, KYB_PORT, DNSMASQ_PORT):
                wait_answering(port, EXTERNAL[0])
            results: dict[str, Any] = {"services": SERVICES, "cores": os.cpu_count(), "seconds": args.seconds}
            scenarios = {"cluster": random.Random(1).sample(cluster_names(), 200), "external_cached": EXTERNAL}
            for label, port, pid in (("kybernetes", KYB_PORT, kyb.pid), ("dnsmasq", DNSMASQ_PORT, dnsmasq.pid)):
                for name in EXTERNAL:  # warm the forwarders' caches
                    DNSRecord.question(name).send("127.0.0.1", port, timeout=2)
                for scenario, names in scenarios.items():
                    results[f"{label}.{scenario}.throughput"] = dnsperf(port, names, args.seconds, pid)
                    results[f"{label}.{scenario}.latency"] = asyncio.run(fixed_rate(port, names, args.rate, 3.0))
            for scenario in scenarios:
                k = results[f"kybernetes.{scenario}.throughput"]["qps_per_core"]
                d = results[f"dnsmasq.{scenario}.throughput"]["qps_per_core"]
                results[f"ratio.{scenario}.qps_per_core_kyb_over_dnsmasq"] = round(k / d, 3) if k and d else None
            print(json.dumps(results, indent=2))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()


if __name__ == "__main__":
    main()
