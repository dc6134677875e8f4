"""Proxy benchmark: render + apply of 1,000 Services / 10,000 endpoints, beside `nft -f` of the same
script by hand, and the change-to-programmed latency through ServiceProxy against a real `kyb
server`: one-endpoint changes and one-Service adds, each with partial syncs (the default) and with
every sync forced full, in the same run. Prints JSON.

Runs as root (it creates the scratch network namespace `kybpx-bench` and removes it at the end).

    .venv/bin/python bench/proxy_bench.py [--services 1000] [--endpoints-per-service 10] [--api-services 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import APIClient, resource
from kybernetes.proxy.apply import NftApplier
from kybernetes.proxy.model import build_model
from kybernetes.proxy.render import render_model, render_ruleset
from kybernetes.proxy.runner import ServiceProxy
from kybernetes.testing.cluster import KybServer

NETNS = "kybpx-bench"
API_PORT = 18810
NODE = "bench-node"
NODE_IPS = ["10.99.9.1"]
CIDR = "10.42.0.0/16"
SERVICES = resource("v1", "services", namespaced=True)
SLICES = resource("discovery.k8s.io/v1", "endpointslices", namespaced=True)


def objects(n_services: int, per_service: int, ns: str = "bench") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A mix like a real cluster: mostly TCP ClusterIP, every 10th NodePort, every 20th with ClientIP
    affinity, every 7th UDP."""
    services, slices = [], []
    for i in range(n_services):
        name = f"svc-{i}"
        proto = "UDP" if i % 7 == 0 else "TCP"
        spec: dict[str, Any] = {"type": "ClusterIP", "clusterIP": f"10.43.{i // 250}.{i % 250 + 1}",
                                "ports": [{"name": "p", "port": 80, "protocol": proto, "targetPort": 8080}]}
        if i % 10 == 0:
            spec["type"] = "NodePort"
            spec["ports"][0]["nodePort"] = 30000 + i % 2700
        if i % 20 == 0:
            spec["sessionAffinity"] = "ClientIP"
        spec["clusterIPs"] = [spec["clusterIP"]]
        services.append({"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": ns, "name": name},
                         "spec": spec})
        eps = []
        for j in range(per_service):
            k = i * per_service + j
            eps.append({"addresses": [f"10.42.{k // 250}.{k % 250 + 1}"], "conditions": {"ready": True},
                        "nodeName": NODE if j % 3 == 0 else "other"})
        slices.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                       "metadata": {"namespace": ns, "name": f"{name}-a",
                                    "labels": {"kubernetes.io/service-name": name}},
                       "addressType": "IPv4", "endpoints": eps,
                       "ports": [{"name": "p", "port": 8080, "protocol": proto}]})
    return services, slices


def sh(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True)


def bench_render_apply(n: int, per: int, repeats: int) -> dict[str, Any]:
    services, slices = objects(n, per)
    render_s, model_s, applier_s, hand_s = [], [], [], []
    script = ""
    applier = NftApplier(netns=NETNS)
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = build_model(services, slices, node_name=NODE)
        t1 = time.perf_counter()
        table, live = asyncio.run(applier.target())  # as ServiceProxy does: write the twin, drop the live one
        script = render_model(model, node_ips=NODE_IPS, cluster_cidr=CIDR, table=table, replace_table=live)
        t2 = time.perf_counter()
        asyncio.run(applier.apply(script, table=table))
        t3 = time.perf_counter()
        model_s.append(t1 - t0)
        render_s.append(t2 - t0)
        applier_s.append(t3 - t0)
    # By hand: the same two scripts (each replacing the other's table), nft alone timed.
    files = []
    for table, live in ((applier.names[0], applier.names[1]), (applier.names[1], applier.names[0])):
        text = render_ruleset(services, slices, node_name=NODE, node_ips=NODE_IPS, cluster_cidr=CIDR, table=table,
                              replace_table=live)
        with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as f:
            f.write(text)
        files.append(f.name)
    if applier.live == applier.names[0]:
        files.reverse()
    for i in range(repeats * 2):
        t0 = time.perf_counter()
        sh("nsenter", f"--net=/var/run/netns/{NETNS}", "nft", "-f", files[i % 2])
        hand_s.append(time.perf_counter() - t0)
    for name in files:
        Path(name).unlink()
    asyncio.run(applier.delete())
    med = statistics.median
    return {"services": n, "endpoints": n * per, "script_bytes": len(script), "script_lines": script.count("\n"),
            "model_s": round(med(model_s), 4), "render_s": round(med(render_s), 4),
            "render_plus_apply_s": round(med(applier_s), 4), "nft_by_hand_s": round(med(hand_s), 4),
            "ratio_render_apply_to_nft": round(med(applier_s) / med(hand_s), 3)}


async def _create_all(client: APIClient, res: Any, objs: list[dict[str, Any]], ns: str, workers: int = 8) -> None:
    queue = list(objs)

    async def worker() -> None:
        while queue:
            await client.create(res, queue.pop(), namespace=ns)
    await asyncio.gather(*(worker() for _ in range(workers)))


async def bench_latency(api_services: int, per: int, changes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="kybpx-bench-") as tmp:
        server = KybServer(Path(tmp), port=API_PORT)
        server.start()
        try:
            async with APIClient(load_kubeconfig(server.kubeconfig), user_agent="kyb-proxy-bench") as client:
                await client.create(resource("v1", "namespaces"), {"metadata": {"name": "bench"}})
                services, slices = objects(api_services, per)
                for svc in services:  # let the apiserver allocate; fixed IPs may fall outside its range
                    svc["spec"].pop("clusterIP")
                    svc["spec"].pop("clusterIPs")
                    for p in svc["spec"]["ports"]:
                        p.pop("nodePort", None)
                t0 = time.perf_counter()
                await _create_all(client, SERVICES, services, "bench")
                await _create_all(client, SLICES, slices, "bench")
                create_s = time.perf_counter() - t0
                proxy = ServiceProxy(client, node_name=NODE, node_ips=NODE_IPS, cluster_cidr=CIDR,
                                     applier=NftApplier(netns=NETNS))
                t0 = time.perf_counter()
                await proxy.start(timeout=120)
                first_sync_s = time.perf_counter() - t0
                result: dict[str, Any] = {"api_services": api_services, "api_endpoints": api_services * per,
                                          "create_objects_s": round(create_s, 2),
                                          "first_sync_s": round(first_sync_s, 3), "changes": changes}
                added = 0
                for mode, period in (("partial", 900.0), ("full", 0.0)):
                    proxy.full_sync_period = period  # 0: every sync rewrites the whole table
                    for what in ("endpoint_change", "service_add"):
                        lat, render, nft, kinds = [], [], [], []
                        for i in range(changes):
                            if what == "endpoint_change":
                                lat.append(await _endpoint_change(client, proxy, i))
                            else:
                                lat.append(await _service_add(client, proxy, f"new-{added}", per))
                                added += 1
                            render.append(proxy.last_render_seconds)
                            nft.append(proxy.last_nft_seconds)
                            kinds.append(proxy.last_sync_kind)
                            await asyncio.sleep(0.2)
                        result[f"{what}_{mode}"] = {
                            "change_to_programmed_median_s": round(statistics.median(lat), 4),
                            "change_to_programmed_max_s": round(max(lat), 4),
                            "render_median_s": round(statistics.median(render), 4),
                            "nft_median_s": round(statistics.median(nft), 4),
                            "sync_kinds": dict(sorted((k, kinds.count(k)) for k in set(kinds)))}
                await proxy.stop()
                return result
        finally:
            server.stop()


async def _programmed(proxy: ServiceProxy, key: str, rv: str, started: float) -> float:
    """Seconds from `started` until the proxy's cache has `rv` of slice `key` and it is in the kernel."""
    while (proxy.slices.store.get(key) or {}).get("metadata", {}).get("resourceVersion") != rv:
        await asyncio.sleep(0.002)
    await proxy.wait_programmed(timeout=10)
    return time.perf_counter() - started


async def _endpoint_change(client: APIClient, proxy: ServiceProxy, i: int) -> float:
    sl = await client.get(SLICES, "svc-1-a", namespace="bench")
    sl["endpoints"][0]["conditions"]["ready"] = i % 2 == 1
    started = time.perf_counter()
    updated = await client.update(SLICES, sl, namespace="bench")
    return await _programmed(proxy, "bench/svc-1-a", updated["metadata"]["resourceVersion"], started)


async def _service_add(client: APIClient, proxy: ServiceProxy, name: str, per: int) -> float:
    """A new Service and its EndpointSlice (`per` endpoints), timed from the Service's create."""
    [svc], [sl] = objects(1, per)
    svc["metadata"]["name"] = sl["metadata"]["labels"]["kubernetes.io/service-name"] = name
    sl["metadata"]["name"] = f"{name}-a"
    for ep in sl["endpoints"]:
        ep["addresses"] = [ep["addresses"][0].replace("10.42.", "10.41.")]
    for key in ("clusterIP", "clusterIPs"):
        svc["spec"].pop(key)
    for p in svc["spec"]["ports"]:
        p.pop("nodePort", None)
    started = time.perf_counter()
    await client.create(SERVICES, svc, namespace="bench")
    created = await client.create(SLICES, sl, namespace="bench")
    return await _programmed(proxy, f"bench/{name}-a", created["metadata"]["resourceVersion"], started)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--endpoints-per-service", type=int, default=10)
    ap.add_argument("--api-services", type=int, default=1000)
    ap.add_argument("--changes", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    sh("ip", "netns", "add", NETNS)
    try:
        out = {"render_apply": bench_render_apply(args.services, args.endpoints_per_service, args.repeats),
               "latency": asyncio.run(bench_latency(args.api_services, args.endpoints_per_service, args.changes))}
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], capture_output=True)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
