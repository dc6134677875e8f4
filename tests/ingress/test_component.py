"""The ingress component inside a real `kyb server` (no node), driven by real kubectl.

Backends are plain HTTP servers in this process on loopback; a selector-less Service with a
hand-written EndpointSlice points at them, so the controller's whole path is exercised: informers,
the default IngressClass, the table, TLS from a `kubectl create secret tls` Secret, and status.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kybernetes.ingress.tls import self_signed
from kybernetes.testing.cluster import KybServer, free_port
from kybernetes.testing.node import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ADDRESS = "192.0.2.10"  # published in status (KYB_INGRESS_ADDRESS); documentation range, never dialled


class Named(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{self.server.name} {self.path}\n".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def backends() -> Iterator[dict[str, int]]:
    servers = {}
    for name in ("blue", "green"):
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Named)
        srv.name = name  # type: ignore[attr-defined]
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers[name] = srv
    yield {name: srv.server_address[1] for name, srv in servers.items()}
    for srv in servers.values():
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    http_port, https_port = free_port(), free_port()
    server = KybServer(
        Path(tmp_path_factory.mktemp("kyb-ingress")),
        env={
            "KYB_INGRESS_HTTP": f"127.0.0.1:{http_port}",
            "KYB_INGRESS_HTTPS": f"127.0.0.1:{https_port}",
            "KYB_INGRESS_ADDRESS": ADDRESS,
        },
    )
    server.start()
    server.http_port, server.https_port = http_port, https_port  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def backend_objects(name: str, port: int) -> str:
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec: {{ports: [{{name: http, port: 80, targetPort: {port}}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-manual
  labels: {{kubernetes.io/service-name: {name}, endpointslice.kubernetes.io/managed-by: tests}}
addressType: IPv4
endpoints: [{{addresses: [127.0.0.1], conditions: {{ready: true}}}}]
ports: [{{name: http, port: {port}, protocol: TCP}}]
"""


INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: colors}
spec:
  tls: [{hosts: [colors.example.com], secretName: colors-tls}]
  rules:
  - host: colors.example.com
    http:
      paths:
      - {path: /blue, pathType: Prefix, backend: {service: {name: blue, port: {name: http}}}}
      - {path: /, pathType: Prefix, backend: {service: {name: green, port: {number: 80}}}}
  - host: gone.example.com
    http:
      paths:
      - {path: /, pathType: Exact, backend: {service: {name: nothing, port: {number: 80}}}}
"""


def get(port: int, host: str, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def get_tls(port: int, host: str, path: str, cadata: str) -> tuple[int, str]:
    ctx = ssl.create_default_context(cadata=cadata)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


def test_routes_tls_and_status(kyb: KybServer, backends: dict[str, int], tmp_path: Path) -> None:
    hp, sp = kyb.http_port, kyb.https_port  # type: ignore[attr-defined]
    classes = wait_for(
        lambda: json.loads(kyb.kubectl("get", "ingressclass", "-o", "json").stdout)["items"],
        what="the default IngressClass",
    )
    assert classes[0]["metadata"]["name"] == "kybernetes"
    assert classes[0]["spec"]["controller"] == "kybernetes.io/ingress"
    assert classes[0]["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    for name, port in backends.items():
        kyb.kubectl("apply", "-f", "-", input=backend_objects(name, port))
    cert, key = self_signed("colors.example.com", ["colors.example.com"])
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    kyb.kubectl(
        "create",
        "secret",
        "tls",
        "colors-tls",
        f"--cert={tmp_path / 'tls.crt'}",
        f"--key={tmp_path / 'tls.key'}",
    )
    kyb.kubectl("apply", "-f", "-", input=INGRESS)

    wait_for(lambda: get(hp, "colors.example.com", "/blue/x") == (200, "blue /blue/x\n"), what="blue routed")
    assert get(hp, "colors.example.com", "/bluex") == (200, "green /bluex\n")
    assert get(hp, "nowhere.example.com", "/")[0] == 404
    assert get(hp, "gone.example.com", "/")[0] == 503
    assert wait_for(lambda: get_tls(sp, "colors.example.com", "/blue", cert.decode()), what="TLS") == (
        200,
        "blue /blue\n",
    )

    def listed() -> str:
        out = kyb.kubectl("get", "ingress", "colors").stdout
        return out if ADDRESS in out else ""

    out = wait_for(listed, what="ADDRESS in kubectl get ingress")
    assert "colors.example.com,gone.example.com" in out and "80, 443" in out

    # endpoints going away turn the route into 503; the table follows the EndpointSlice
    kyb.kubectl("delete", "endpointslice", "blue-manual")
    wait_for(lambda: get(hp, "colors.example.com", "/blue")[0] == 503, what="503 without endpoints")


def test_other_classes_are_left_alone(kyb: KybServer, backends: dict[str, int]) -> None:
    kyb.kubectl(
        "apply",
        "-f",
        "-",
        input=backend_objects("green", backends["green"])
        + """
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: other}
spec: {controller: example.com/other}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: theirs}
spec:
  ingressClassName: other
  rules:
  - host: theirs.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: green, port: {number: 80}}}}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: mine, annotations: {kubernetes.io/ingress.class: kybernetes}}
spec:
  ingressClassName: null
  defaultBackend: {service: {name: green, port: {number: 80}}}
""",
    )
    hp = kyb.http_port  # type: ignore[attr-defined]
    wait_for(lambda: get(hp, "anything.example.com", "/d") == (200, "green /d\n"), what="default backend")
    assert get(hp, "theirs.example.com", "/zzz") == (
        200,
        "green /zzz\n",
    )  # our default backend, not their rule
    theirs = json.loads(kyb.kubectl("get", "ingress", "theirs", "-o", "json").stdout)
    assert not theirs.get("status", {}).get("loadBalancer", {}).get("ingress")


def test_kubectl_create_ingress(kyb: KybServer, backends: dict[str, int]) -> None:
    kyb.kubectl("apply", "-f", "-", input=backend_objects("green", backends["green"]))
    kyb.kubectl("create", "ingress", "quick", "--rule=quick.example.com/api*=green:80")
    hp = kyb.http_port  # type: ignore[attr-defined]
    wait_for(lambda: get(hp, "quick.example.com", "/api/v1") == (200, "green /api/v1\n"), what="quick routed")
    path = json.loads(kyb.kubectl("get", "ingress", "quick", "-o", "json").stdout)["spec"]["rules"][0][
        "http"
    ]["paths"][0]
    assert (path["path"], path["pathType"]) == ("/api", "Prefix")
