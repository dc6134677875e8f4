"""Stress: every Service's EndpointSlices and Endpoints settle on exactly its ready pods, quickly.

A real `kyb server` with three simulated nodes (pods really become Running and Ready; a simulated
pod gets its IP in the same status update that makes it Ready). Rounds of Deployments and Services
are created in both orders, some pods with a startup delay so that they turn Ready after the
Service exists. Once a Service's pods are all Ready, its slices must list each of their IPs once,
ready, in a single slice (no stale duplicates, no leftover placeholder), and its Endpoints must
list the same IPs as ready addresses, within a few seconds.

Regression for a flake seen on a 3-node cluster: a sync that ran before the slice informer had seen
the controller's own previous write created a second slice, and nothing synced the Service again.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.client import APIClient
from kybernetes.client.config import load_kubeconfig
from kybernetes.client.rest import resource
from kybernetes.testing.cluster import KybServer

PORT = 18690
ROUNDS = 4
SERVICES_PER_ROUND = 4
REPLICAS = 3
SETTLE = 5.0  # seconds from "all pods Ready" to correct slices and Endpoints

Obj = dict[str, Any]
NAMESPACES = resource("v1", "namespaces")
SERVICES = resource("v1", "services")
PODS = resource("v1", "pods")
ENDPOINTS = resource("v1", "endpoints")
SLICES = resource("discovery.k8s.io/v1", "endpointslices")
DEPLOYMENTS = resource("apps/v1", "deployments")


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    saved = os.environ.get("KYB_SIM_NODES")
    os.environ["KYB_SIM_NODES"] = "3"
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-endpoints")), port=PORT)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        if saved is None:
            os.environ.pop("KYB_SIM_NODES", None)
        else:
            os.environ["KYB_SIM_NODES"] = saved


@pytest.fixture
async def client(kyb: KybServer) -> AsyncIterator[APIClient]:
    async with APIClient(load_kubeconfig(str(kyb.kubeconfig)), user_agent="endpoint-convergence/0.1") as c:
        yield c


def deployment(name: str, delay: str) -> Obj:
    annotations = {"sim.kybernetes.io/startup-delay": delay} if delay else {}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                                  "spec": {"containers": [{"name": "echo", "image": "busybox",
                                                           "ports": [{"name": "http", "containerPort": 8080}]}]}}}}


def service(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def ready_ips(pods: list[Obj]) -> list[str] | None:
    """The IPs of the pods when all REPLICAS are Ready (None before)."""
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    ips = [str((p.get("status") or {}).get("podIP") or "") for p in live
           if any(c.get("type") == "Ready" and c.get("status") == "True"
                  for c in (p.get("status") or {}).get("conditions") or [])]
    return sorted(ips) if len(ips) == REPLICAS and all(ips) else None


def slice_problems(slices: list[Obj], want: list[str]) -> str:
    """'' when the slices hold exactly `want`, each once and ready, in one slice."""
    listed = [(s["metadata"]["name"], a, bool((e.get("conditions") or {}).get("ready")))
              for s in slices for e in s.get("endpoints") or [] for a in e.get("addresses") or []]
    if len(slices) != 1 or sorted(a for _, a, _ in listed) != want or not all(r for _, _, r in listed):
        return f"slices {[(s['metadata']['name'], s['metadata'].get('generation')) for s in slices]}: {listed}"
    return ""


def endpoints_problems(ep: Obj | None, want: list[str]) -> str:
    if ep is None:
        return "no Endpoints"
    ready = sorted(a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])
    not_ready = [a["ip"] for s in ep.get("subsets") or [] for a in s.get("notReadyAddresses") or []]
    return "" if ready == want and not not_ready else f"Endpoints ready={ready} notReady={not_ready}"


async def settle(client: APIClient, ns: str, name: str) -> str:
    """'' when `name` converged; else what was wrong at the deadline."""
    deadline = time.monotonic() + 60
    want = None
    while want is None:
        if time.monotonic() > deadline:
            return "pods never became Ready"
        want = ready_ips((await client.list(PODS, namespace=ns, label_selector=f"app={name}"))["items"])
        if want is None:
            await asyncio.sleep(0.2)
    deadline = time.monotonic() + SETTLE
    problem = ""
    while time.monotonic() < deadline:
        slices = (await client.list(SLICES, namespace=ns,
                                    label_selector=f"kubernetes.io/service-name={name}"))["items"]
        try:
            ep: Obj | None = await client.get(ENDPOINTS, name, namespace=ns)
        except Exception:
            ep = None
        problem = "; ".join(p for p in (slice_problems(slices, want), endpoints_problems(ep, want)) if p)
        if not problem:
            return ""
        await asyncio.sleep(0.2)
    return f"{name} (pods {want}): {problem}"


async def test_services_converge_to_ready_pods(client: APIClient) -> None:
    failures: list[str] = []
    for round_ in range(ROUNDS):
        ns = f"conv{round_}"
        await client.create(NAMESPACES, {"metadata": {"name": ns}})
        names = []
        for i in range(SERVICES_PER_ROUND):
            name = f"echo{i}"
            names.append(name)
            delay = ("", "1s", "300ms", "2s")[i % 4]
            if i % 2 == 0:  # Service first: pods turn Ready (IP and Ready at once) after it exists
                await client.create(SERVICES, service(name), namespace=ns)
                await client.create(DEPLOYMENTS, deployment(name, delay), namespace=ns)
            else:
                await client.create(DEPLOYMENTS, deployment(name, delay), namespace=ns)
                await client.create(SERVICES, service(name), namespace=ns)
        results = await asyncio.gather(*(settle(client, ns, n) for n in names))
        failures += [f"round {round_}: {r}" for r in results if r]
        await client.delete(NAMESPACES, ns)
    assert not failures, "\n".join(failures)
