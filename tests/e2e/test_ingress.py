"""Ingress end to end: real pods on the local node behind the built-in ingress controller.

Two busybox httpd Deployments, a Service each, and one Ingress with host and path rules and TLS
from a Secret made by `kubectl create secret tls`. Requests to the ingress ports (as curl would
send them, with Host and SNI set) reach the right pods; `kubectl get ingress` shows the address.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from kybernetes.ingress.tls import self_signed
from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import start_node_server, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PORT, HTTP_PORT, HTTPS_PORT = 18964, 18980, 18981
CIDR, BRIDGE = "10.154.0.0/16", "kybi0"
HOST = "shop.example.test"


@pytest.fixture(scope="module")
def kyb() -> Iterator[KybServer]:
    with pytest.MonkeyPatch.context() as mp:  # the server process takes the listen ports from its environment
        mp.setenv("KYB_INGRESS_HTTP", f"127.0.0.1:{HTTP_PORT}")
        mp.setenv("KYB_INGRESS_HTTPS", f"127.0.0.1:{HTTPS_PORT}")
        yield from start_node_server(Path("/tmp/kyb-ingress-e2e"), PORT, cluster_cidr=CIDR, bridge=BRIDGE)


def web(name: str, replicas: int) -> str:
    # each pod serves "<name> <pod name>" at /, /<name>/ (the path the Ingress sends it) and /bluegrass/
    script = (
        f"mkdir -p /www/{name} /www/bluegrass && echo {name} $(hostname) > /www/index.html && "
        f"cp /www/index.html /www/{name}/ && cp /www/index.html /www/bluegrass/ && exec httpd -f -p 8080 -h /www"
    )
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox:1.36
        command: [sh, -c, "{script}"]
        ports: [{{name: http, containerPort: 8080}}]
        readinessProbe: {{httpGet: {{path: /, port: http}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: web, port: 80, targetPort: http}}]
"""


INGRESS = f"""
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: shop}}
spec:
  tls: [{{hosts: [{HOST}], secretName: shop-tls}}]
  rules:
  - host: {HOST}
    http:
      paths:
      - {{path: /blue, pathType: Prefix, backend: {{service: {{name: blue, port: {{number: 80}}}}}}}}
      - {{path: /, pathType: Prefix, backend: {{service: {{name: green, port: {{name: web}}}}}}}}
"""


def get(host: str, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.read().decode()
    except OSError as e:
        return 0, str(e)
    finally:
        conn.close()


def get_tls(host: str, path: str, cadata: str) -> tuple[int, str]:
    ctx = ssl.create_default_context(cadata=cadata)  # verifies the chain and the host name
    with (
        socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as tls,
    ):
        conn = http.client.HTTPConnection(host)
        conn.sock = tls
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()


def test_ingress_routes_to_pods_with_tls(kyb: KybServer, tmp_path: Path) -> None:
    kyb.kubectl("apply", "-f", "-", input=web("blue", 2) + "---" + web("green", 1))
    cert, key = self_signed(HOST, [HOST])
    (tmp_path / "tls.crt").write_bytes(cert)
    (tmp_path / "tls.key").write_bytes(key)
    kyb.kubectl(
        "create",
        "secret",
        "tls",
        "shop-tls",
        f"--cert={tmp_path / 'tls.crt'}",
        f"--key={tmp_path / 'tls.key'}",
    )
    kyb.kubectl("apply", "-f", "-", input=INGRESS)
    for name in ("blue", "green"):
        kyb.kubectl("rollout", "status", f"deployment/{name}", "--timeout=120s", timeout=150)

    wait_for(lambda: get(HOST, "/")[0] == 200, what="green via ingress")
    status, body = get(HOST, "/")
    assert body.startswith("green green-")
    blue_pods = set()
    for _ in range(6):  # two ready blue pods, served round-robin
        status, body = get(HOST, "/blue/")
        assert status == 200 and body.startswith("blue blue-"), body
        blue_pods.add(body.split()[1])
    assert len(blue_pods) == 2
    assert get(HOST, "/bluegrass/")[1].startswith("green ")  # element-wise prefix
    assert get("other.example.test", "/")[0] == 404

    status, body = get_tls(HOST, "/blue/", cert.decode())
    assert status == 200 and body.startswith("blue blue-")

    def address() -> str:
        ing = json.loads(kyb.kubectl("get", "ingress", "shop", "-o", "json").stdout)
        found = ing.get("status", {}).get("loadBalancer", {}).get("ingress") or [{}]
        return str(found[0].get("ip") or "")

    ip = wait_for(address, what="status.loadBalancer.ingress")
    ipaddress.ip_address(ip)
    table = kyb.kubectl("get", "ingress", "shop").stdout
    assert ip in table.splitlines()[1] and HOST in table and "80, 443" in table

    # scaled to zero: no ready endpoints, the route answers 503
    kyb.kubectl("scale", "deployment/green", "--replicas=0")
    wait_for(lambda: get(HOST, "/")[0] == 503, what="503 once green has no endpoints")
