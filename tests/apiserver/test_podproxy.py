"""pods/log|exec|attach|portforward in the API server: the pure choices and the error answers.

Proxying to a real kubelet is proven end to end in tests/e2e/test_streaming_live.py; here the
API server runs in-process (port 17540) and no kubelet listens on the node's port (17549).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from cryptography import x509
from cryptography.x509.oid import NameOID

from kybernetes.apiserver.registry import podproxy
from kybernetes.apiserver.server import APIServer, ServerConfig
from kybernetes.machinery import errors
from kybernetes.storage.memory import MemoryStorage
from kybernetes.util import pki


def pod(containers: list[str], init: tuple[str, ...] = (), annotations: dict[str, str] | None = None,
        node: str = "") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": c, "image": "busybox"} for c in containers]}
    if init:
        spec["initContainers"] = [{"name": c, "image": "busybox"} for c in init]
    if node:
        spec["nodeName"] = node
    meta: dict[str, Any] = {"name": "p", "namespace": "default"}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


CHOICES = [
    ("only-one", pod(["a"]), "", "a"),
    ("asked-for", pod(["a", "b"]), "b", "b"),
    ("init-container-by-name", pod(["a"], init=("setup",)), "setup", "setup"),
    ("annotation-default", pod(["a", "b"], annotations={podproxy.DEFAULT_CONTAINER_ANNOTATION: "b"}), "", "b"),
]


@pytest.mark.parametrize(("name", "obj", "asked", "want"), CHOICES, ids=[c[0] for c in CHOICES])
def test_choose_container(name: str, obj: dict[str, Any], asked: str, want: str) -> None:
    assert podproxy.choose_container(obj, asked) == want


BAD_CHOICES = [
    ("several", pod(["a", "b"]), "", "a container name must be specified for pod p, choose one of: [a b]"),
    ("several-with-init", pod(["a", "b"], init=("i",)), "",
     "a container name must be specified for pod p, choose one of: [i a b]"),
    ("annotation-names-nothing", pod(["a", "b"], annotations={podproxy.DEFAULT_CONTAINER_ANNOTATION: "z"}), "",
     "a container name must be specified for pod p, choose one of: [a b]"),
    ("unknown", pod(["a"]), "zz", "container zz is not valid for pod p"),
]


@pytest.mark.parametrize(("name", "obj", "asked", "message"), BAD_CHOICES, ids=[c[0] for c in BAD_CHOICES])
def test_choose_container_errors(name: str, obj: dict[str, Any], asked: str, message: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        podproxy.choose_container(obj, asked)
    assert (info.value.code, info.value.message) == (400, message)


ENDPOINTS = [
    ("internal-ip-and-port", {"addresses": [{"type": "Hostname", "address": "n1"},
                                            {"type": "InternalIP", "address": "10.0.0.5"}],
                              "daemonEndpoints": {"kubeletEndpoint": {"Port": 12345}}}, ("10.0.0.5", 12345)),
    ("hostname-default-port", {"addresses": [{"type": "Hostname", "address": "n1"}]}, ("n1", 10250)),
]


@pytest.mark.parametrize(("name", "status", "want"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_node_endpoint(name: str, status: dict[str, Any], want: tuple[str, int]) -> None:
    assert podproxy.node_endpoint({"metadata": {"name": "n1"}, "status": status}) == want


def test_kubelet_paths_and_forwarded_head() -> None:
    assert podproxy.kubelet_path("log", "ns", "p", "c", "follow=true") == "/containerLogs/ns/p/c?follow=true"
    assert podproxy.kubelet_path("exec", "ns", "p", "c", "command=a%20b") == "/exec/ns/p/c?command=a%20b"
    assert podproxy.kubelet_path("portforward", "ns", "p", "", "") == "/portForward/ns/p"
    head = podproxy.forwarded_head("GET", "/exec/ns/p/c", "10.0.0.5", 10250, [
        ("Host", "api:6443"), ("Authorization", "Bearer secret"), ("Upgrade", "websocket"),
        ("Connection", "Upgrade"), ("Sec-WebSocket-Protocol", "v5.channel.k8s.io")])
    assert head == (b"GET /exec/ns/p/c HTTP/1.1\r\nHost: 10.0.0.5:10250\r\nUpgrade: websocket\r\n"
                    b"Connection: Upgrade\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n")
    assert podproxy.parse_head(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: SPDY/3.1\r\n\r\n") == (
        101, "Switching Protocols", [("Upgrade", "SPDY/3.1")])


def test_kubelet_client_certificate(tmp_path: Path) -> None:
    pki.ensure_pki(tmp_path, server_sans_dns=["localhost"], server_sans_ip=["127.0.0.1"],
                   server_url="https://127.0.0.1:1")
    tls = podproxy.ensure_kubelet_client_cert(tmp_path)
    assert tls.cert == tmp_path / "tls" / "kubelet-client.crt"
    cert = x509.load_pem_x509_certificate(tls.cert.read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "kube-apiserver-kubelet-client"
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "system:masters"
    assert oct(tls.key.stat().st_mode & 0o777) == "0o600"
    before = tls.cert.read_bytes()
    podproxy.ensure_kubelet_client_cert(tmp_path)
    assert tls.cert.read_bytes() == before  # still good: kept
    tls.context()  # loads


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    pki.ensure_pki(tmp_path, server_sans_dns=["localhost"], server_sans_ip=["127.0.0.1"],
                   server_url="https://127.0.0.1:1")
    server = APIServer(ServerConfig(data_dir=tmp_path, anonymous_auth=True, advertise_address="127.0.0.1"),
                       MemoryStorage())
    await server.start()
    ts = TestServer(server.app(), port=17540)
    await ts.start_server()
    session = aiohttp.ClientSession()
    try:
        base = str(ts.make_url("")).rstrip("/")
        for obj, path in [
            (pod(["a", "b"], node="n1"), "/api/v1/namespaces/default/pods"),
            ({**pod(["a"]), "metadata": {"name": "pending", "namespace": "default"}}, "/api/v1/namespaces/default/pods"),
            ({**pod(["a"], node="ghost"), "metadata": {"name": "lost", "namespace": "default"}},
             "/api/v1/namespaces/default/pods"),
            ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}, "/api/v1/nodes"),
        ]:
            async with session.post(base + path, json=obj) as r:
                assert r.status == 201, await r.text()
        async with session.patch(base + "/api/v1/nodes/n1/status", data=b'{"status":{"addresses":[{"type":'
                                 b'"InternalIP","address":"127.0.0.1"}],"daemonEndpoints":{"kubeletEndpoint":'
                                 b'{"Port":17549}}}}', headers={"Content-Type": "application/merge-patch+json"}) as r:
            assert r.status == 200, await r.text()
        yield session, base + "/api/v1/namespaces/default/pods"
    finally:
        await session.close()
        await ts.close()
        await server.stop()


ERRORS = [
    ("missing-pod", "GET", "nope/log", 404, 'pods "nope" not found'),
    ("no-host-exec", "POST", "pending/exec?command=ls&stdout=true", 400, "pod pending does not have a host assigned"),
    ("several-containers", "GET", "p/log", 400, "a container name must be specified for pod p, choose one of: [a b]"),
    ("bad-container", "GET", "p/log?container=zz", 400, "container zz is not valid for pod p"),
    ("unknown-node", "GET", "lost/log", 404, 'nodes "ghost" not found'),
    ("log-is-get-only", "POST", "p/log?container=a", 405, None),
]


@pytest.mark.parametrize(("name", "method", "path", "code", "message"), ERRORS, ids=[e[0] for e in ERRORS])
async def test_errors(api: tuple[aiohttp.ClientSession, str], name: str, method: str, path: str, code: int,
                      message: str | None) -> None:
    session, pods = api
    async with session.request(method, f"{pods}/{path}") as r:
        body = await r.json()
        assert (r.status, body["kind"], body["code"]) == (code, "Status", code)
        if message is not None:
            assert body["message"] == message


async def test_unscheduled_pod_logs_are_empty_and_unreachable_kubelet_is_500(
        api: tuple[aiohttp.ClientSession, str]) -> None:
    session, pods = api
    async with session.get(f"{pods}/pending/log") as r:
        assert (r.status, await r.read()) == (200, b"")
    for method, path in (("GET", "p/log?container=a"), ("POST", "p/exec?container=a&command=ls&stdout=true"),
                         ("POST", "p/portforward")):
        async with session.request(method, f"{pods}/{path}") as r:
            body = await r.json()
            assert r.status == 500
            assert body["message"].startswith("error dialing backend:"), body
