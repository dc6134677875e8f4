"""The DNS component against a real `kyb server` (port 18820, no node): kube-dns Service and EndpointSlice
published, and Services made with real kubectl resolve over UDP/TCP (ports 15305-15307)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dnslib import QTYPE, DNSRecord  # type: ignore[import-untyped]

from kybernetes.dns import component
from kybernetes.dns.fakeupstream import FakeUpstream
from kybernetes.testing.cluster import KybServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DNS_PORT, HTTP_PORT, UPSTREAM_PORT, API_PORT = 15305, 15306, 15307, 18820


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-dns")), port=API_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def dns(kyb: KybServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeUpstream]:
    monkeypatch.setenv("KYB_DNS_LISTEN", f"127.0.0.1:{DNS_PORT}")
    monkeypatch.setenv("KYB_DNS_HTTP", f"127.0.0.1:{HTTP_PORT}")
    monkeypatch.setenv("KYB_DNS_UPSTREAMS", f"127.0.0.1:{UPSTREAM_PORT}")
    monkeypatch.setattr(component, "RECONCILE_EVERY", 0.5)
    upstream = FakeUpstream("www.example.com. 300 IN A 192.0.2.10", port=UPSTREAM_PORT)
    await upstream.start()
    task = asyncio.create_task(component.run(kyb.kubeconfig))
    try:
        yield upstream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await upstream.stop()


async def ask(qname: str, qtype: str = "A", *, tcp: bool = False) -> DNSRecord:
    q = DNSRecord.question(qname, qtype)
    return DNSRecord.parse(await asyncio.to_thread(q.send, "127.0.0.1", DNS_PORT, tcp=tcp, timeout=3))


async def eventually(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            return result
        except (AssertionError, OSError, TimeoutError) as e:
            if time.monotonic() > deadline:
                raise AssertionError(f"not true after {timeout}s: {e}") from e
        await asyncio.sleep(0.2)


def kubectl_json(kyb: KybServer, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(kyb.kubectl(*args, "-o", "json").stdout)
    return out


HEADLESS = """
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  clusterIP: None
  ports: [{name: pg, port: 5432, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: default
  labels: {kubernetes.io/service-name: db}
addressType: IPv4
ports: [{name: pg, port: 5432, protocol: TCP}]
endpoints:
- {addresses: ["10.42.0.5"], hostname: db-0, conditions: {ready: true}}
- {addresses: ["10.42.0.6"], hostname: db-1, conditions: {ready: true}}
- {addresses: ["10.42.0.7"], hostname: db-2, conditions: {ready: false}}
"""


async def test_kube_dns_published_and_services_resolve(kyb: KybServer, dns: FakeUpstream) -> None:
    async def published() -> None:
        svc = kubectl_json(kyb, "-n", "kube-system", "get", "service", "kube-dns")
        assert svc["spec"]["clusterIP"] == "10.43.0.10"
        assert not svc["spec"].get("selector")
        assert sorted((p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]) == [
            ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP")]
        slices = kubectl_json(kyb, "-n", "kube-system", "get", "endpointslices", "-l",
                              "kubernetes.io/service-name=kube-dns")["items"]
        assert len(slices) == 1, slices
        assert slices[0]["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"] == "kybernetes-dns"
        assert slices[0]["endpoints"][0]["addresses"] == ["127.0.0.1"]
        assert {(p["name"], p["port"]) for p in slices[0]["ports"]} == {
            ("dns", DNS_PORT), ("dns-tcp", DNS_PORT), ("metrics", HTTP_PORT)}

    await eventually(published)

    async def kube_dns_resolves() -> None:
        reply = await ask("kube-dns.kube-system.svc.cluster.local")
        assert [str(rr.rdata) for rr in reply.rr] == ["10.43.0.10"]

    await eventually(kube_dns_resolves)

    kyb.kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
    web_ip = kubectl_json(kyb, "get", "service", "web")["spec"]["clusterIP"]

    async def web_resolves() -> None:
        for tcp in (False, True):
            reply = await ask("web.default.svc.cluster.local", tcp=tcp)
            assert [str(rr.rdata) for rr in reply.rr] == [web_ip]
        srv = await ask("_80-8080._tcp.web.default.svc.cluster.local", "SRV")
        assert [str(rr.rdata) for rr in srv.rr] == ["0 100 80 web.default.svc.cluster.local."]
        ptr = await ask(".".join(reversed(web_ip.split("."))) + ".in-addr.arpa", "PTR")
        assert [str(rr.rdata) for rr in ptr.rr] == ["web.default.svc.cluster.local."]

    await eventually(web_resolves)

    kyb.kubectl("apply", "-f", "-", input=HEADLESS)

    async def headless_resolves() -> None:
        reply = await ask("db.default.svc.cluster.local")
        assert sorted(str(rr.rdata) for rr in reply.rr) == ["10.42.0.5", "10.42.0.6"]
        host = await ask("db-1.db.default.svc.cluster.local")
        assert [str(rr.rdata) for rr in host.rr] == ["10.42.0.6"]
        srv = await ask("_pg._tcp.db.default.svc.cluster.local", "SRV")
        assert sorted(str(rr.rdata) for rr in srv.rr) == ["0 50 5432 db-0.db.default.svc.cluster.local.",
                                                           "0 50 5432 db-1.db.default.svc.cluster.local."]
        assert (await ask("db-2.db.default.svc.cluster.local")).header.rcode == 3  # not ready

    await eventually(headless_resolves)

    kyb.kubectl("create", "service", "externalname", "ext", "--external-name", "www.example.com")

    async def external_resolves() -> None:
        reply = await ask("ext.default.svc.cluster.local")
        assert [(QTYPE.get(rr.rtype), str(rr.rdata)) for rr in reply.rr] == [
            ("CNAME", "www.example.com."), ("A", "192.0.2.10")]

    await eventually(external_resolves)
    assert (await ask("www.example.com")).rr[0].rdata.__str__() == "192.0.2.10"

    kyb.kubectl("run", "p1", "--image=busybox", "--restart=Never")
    kyb.kubectl("patch", "pod", "p1", "--subresource=status", "--type=merge",
                "-p", json.dumps({"status": {"podIP": "10.42.0.44", "podIPs": [{"ip": "10.42.0.44"}]}}))

    async def pod_resolves() -> None:
        reply = await ask("10-42-0-44.default.pod.cluster.local")
        assert [str(rr.rdata) for rr in reply.rr] == ["10.42.0.44"]

    await eventually(pod_resolves)

    kyb.kubectl("delete", "service", "web")

    async def web_gone() -> None:
        assert (await ask("web.default.svc.cluster.local")).header.rcode == 3

    await eventually(web_gone)

    # the component repairs its EndpointSlice when someone deletes it
    kyb.kubectl("-n", "kube-system", "delete", "endpointslices", "-l", "endpointslice.kubernetes.io/managed-by=kybernetes-dns")

    async def slice_back() -> None:
        slices = kubectl_json(kyb, "-n", "kube-system", "get", "endpointslices", "-l",
                              "kubernetes.io/service-name=kube-dns")["items"]
        assert len(slices) == 1

    await eventually(slice_back)
