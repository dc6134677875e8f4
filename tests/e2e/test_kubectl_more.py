"""More of issue 2's acceptance against a real `kyb server`: credentials, kubectl 1.27's OpenAPI v2
path, allocation release, watch resume and 410 Gone over the real wire."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kybernetes.testing.cluster import KybServer, admin_ssl_context

pytestmark = pytest.mark.e2e


def _get(url: str, ctx: ssl.SSLContext) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_requests_without_credentials_get_401(kyb: KybServer) -> None:
    ca_only = ssl.create_default_context(cafile=str(kyb.data_dir / "tls" / "ca.crt"))
    for path in ("/healthz", "/livez", "/readyz", "/version"):
        code, _ = _get(kyb.url + path, ca_only)
        assert code == 200, path
    for path in ("/api", "/api/v1/namespaces", "/apis/apps/v1/deployments", "/openapi/v3"):
        code, body = _get(kyb.url + path, ca_only)
        assert code == 401, path
        status = json.loads(body)
        assert status["kind"] == "Status" and status["reason"] == "Unauthorized"
    code, _ = _get(kyb.url + "/api/v1/namespaces", admin_ssl_context(kyb.kubeconfig))
    assert code == 200


def test_serving_cert_names(kyb: KybServer) -> None:
    ctx = ssl.create_default_context(cafile=str(kyb.data_dir / "tls" / "ca.crt"))
    code, _ = _get(f"https://localhost:{kyb.port}/healthz", ctx)  # hostname verified against the SANs
    assert code == 200


def test_kubectl_127_apply_and_explain(kyb: KybServer, tmp_path: Path) -> None:
    """kubectl 1.27 fetches /openapi/v2 (protobuf) before it uses v3."""
    out = kyb.kubectl("explain", "pod.spec.containers", version="1.27").stdout
    assert "image" in out
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old-kubectl\ndata:\n  a: '1'\n")
    assert kyb.kubectl("apply", "-f", str(manifest), version="1.27").stdout.strip() == "configmap/old-kubectl created"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old-kubectl\ndata:\n  a: '2'\n")
    assert kyb.kubectl("apply", "-f", str(manifest), version="1.27").stdout.strip() == "configmap/old-kubectl configured"
    assert json.loads(kyb.kubectl("get", "cm", "old-kubectl", "-o", "json").stdout)["data"] == {"a": "2"}


def test_cluster_ip_and_node_port_released_on_delete(kyb: KybServer) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "rel", "namespace": "default"},
           "spec": {"type": "NodePort", "clusterIP": "10.43.77.77", "ports": [{"port": 80, "nodePort": 31777}]}}
    kyb.kubectl("create", "-f", "-", input=json.dumps(svc))
    clash = dict(svc, metadata={"name": "rel2", "namespace": "default"})
    out = kyb.kubectl("create", "-f", "-", input=json.dumps(clash), check=False)
    assert out.returncode != 0 and "already allocated" in out.stderr
    kyb.kubectl("delete", "svc", "rel")
    kyb.kubectl("create", "-f", "-", input=json.dumps(clash))
    got = json.loads(kyb.kubectl("get", "svc", "rel2", "-o", "json").stdout)
    assert got["spec"]["clusterIP"] == "10.43.77.77" and got["spec"]["ports"][0]["nodePort"] == 31777


def test_watch_too_old_resource_version_is_410(tmp_path: Path) -> None:
    """A watch from before the server's start is answered with an ERROR event carrying 410."""
    server = KybServer(tmp_path / "data")
    server.start()
    try:
        server.kubectl("create", "configmap", "first")
        server.stop()
        server.start()
        ctx = admin_ssl_context(server.kubeconfig)
        code, body = _get(f"{server.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1"
                          "&timeoutSeconds=2", ctx)
        assert code == 200
        event = json.loads(body.splitlines()[0])
        assert event["type"] == "ERROR"
        assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    finally:
        server.stop()
