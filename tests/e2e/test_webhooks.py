"""Admission webhooks through real kubectl against a real `kyb server`: an HTTPS webhook server
in the test (loopback, certificate from a test CA) that labels configmaps and one that refuses
them, registered with `kubectl apply`; kubectl's exact denial text, warnings, dry run."""

from __future__ import annotations

import base64
import json
import ssl
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer, free_port
from kybernetes.util.pki import ADMIN_GROUPS, ADMIN_USER, generate_ca, issue_serving_cert

pytestmark = pytest.mark.e2e

# Free ports, not fixed ones: a fixed port another process holds makes kubectl talk to a
# stranger (seen as "certificate signed by unknown authority").
API_PORT = free_port()
HOOK_PORT = free_port()


class _Handler(BaseHTTPRequestHandler):
    server: _HookServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = review["request"]
        self.server.reviews.append((self.path.split("?")[0], req))
        resp: dict[str, Any] = {"uid": req["uid"], "allowed": True}
        obj = req.get("object") or {}
        labels = (obj.get("metadata") or {}).get("labels")
        if self.path.startswith("/label") and obj:
            op = ({"op": "add", "path": "/metadata/labels/webhook", "value": "was-here"} if labels is not None
                  else {"op": "add", "path": "/metadata/labels", "value": {"webhook": "was-here"}})
            resp["patchType"] = "JSONPatch"
            resp["patch"] = base64.b64encode(json.dumps([op]).encode()).decode()
            resp["warnings"] = ["labelled by the test webhook"]
        elif self.path.startswith("/deny") and (labels or {}).get("deny") == "yes":
            resp = {"uid": req["uid"], "allowed": False,
                    "status": {"code": 403, "message": "configmaps labelled deny=yes are not allowed"}}
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                           "response": resp}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HookServer(ThreadingHTTPServer):
    reviews: list[tuple[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def hooks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_HookServer, str]]:
    tmp = Path(tmp_path_factory.mktemp("hooks"))
    ca = generate_ca("e2e-webhook-ca")
    cert, key = issue_serving_cert(ca, common_name="hook", dns_names=[], ip_addresses=["127.0.0.1"])
    (tmp / "tls.crt").write_bytes(cert)
    (tmp / "tls.key").write_bytes(key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "tls.crt", tmp / "tls.key")
    server = _HookServer(("127.0.0.1", HOOK_PORT), _Handler)
    server.reviews = []
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, base64.b64encode(ca.cert_pem).decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb")), port=API_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def configurations(ca_bundle: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: MutatingWebhookConfiguration
        metadata: {{name: label}}
        webhooks:
        - name: label.example.com
          clientConfig: {{url: "https://127.0.0.1:{HOOK_PORT}/label", caBundle: "{ca_bundle}"}}
          rules:
          - {{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}}
          objectSelector: {{matchExpressions: [{{key: skip, operator: DoesNotExist}}]}}
          sideEffects: None
          admissionReviewVersions: [v1]
        ---
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingWebhookConfiguration
        metadata: {{name: deny}}
        webhooks:
        - name: deny.example.com
          clientConfig: {{url: "https://127.0.0.1:{HOOK_PORT}/deny", caBundle: "{ca_bundle}"}}
          rules:
          - {{operations: [CREATE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}}
          sideEffects: NoneOnDryRun
          admissionReviewVersions: [v1]
        """)


def test_webhooks_through_kubectl(kyb: KybServer, hooks: tuple[_HookServer, str]) -> None:
    server, ca_bundle = hooks
    out = kyb.kubectl("apply", "-f", "-", input=configurations(ca_bundle)).stdout
    assert out.splitlines() == [
        "mutatingwebhookconfiguration.admissionregistration.k8s.io/label created",
        "validatingwebhookconfiguration.admissionregistration.k8s.io/deny created",
    ]
    got = json.loads(kyb.kubectl("get", "validatingwebhookconfiguration", "deny", "-o", "json").stdout)
    assert got["webhooks"][0]["failurePolicy"] == "Fail" and got["webhooks"][0]["timeoutSeconds"] == 10

    # mutation: the label is set and the webhook's warning is printed
    proc = kyb.kubectl("create", "configmap", "a", "--from-literal=k=v")
    assert proc.stderr.strip() == "Warning: labelled by the test webhook"
    cm = json.loads(kyb.kubectl("get", "configmap", "a", "-o", "json").stdout)
    assert cm["metadata"]["labels"] == {"webhook": "was-here"}
    # the cluster's own writes (e.g. the bootstrap signer updating kube-public/cluster-info) are
    # reviewed too: pick the review of our ConfigMap
    _, req = next(r for r in server.reviews if r[0] == "/label" and r[1].get("name") == "a")
    assert req["userInfo"]["username"] == ADMIN_USER and set(ADMIN_GROUPS) <= set(req["userInfo"]["groups"])
    assert req["operation"] == "CREATE" and req["namespace"] == "default"

    # denial: kubectl shows upstream's text with the file name
    with tempfile.TemporaryDirectory() as d:
        manifest = Path(d) / "x.yaml"
        manifest.write_text(textwrap.dedent("""\
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: bad, labels: {deny: "yes"}}
            data: {k: v}
            """))
        proc = kyb.kubectl("create", "-f", str(manifest), check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        f'Error from server: error when creating "{manifest}": admission webhook "deny.example.com" denied '
        "the request: configmaps labelled deny=yes are not allowed")
    assert kyb.kubectl("get", "configmap", "bad", check=False).returncode != 0

    # dry run reaches a NoneOnDryRun webhook with dryRun=true and stores nothing
    server.reviews.clear()
    kyb.kubectl("create", "configmap", "dry", "--dry-run=server", "--from-literal=k=v")
    assert {p for p, r in server.reviews if r["dryRun"]} == {"/label", "/deny"}
    assert kyb.kubectl("get", "configmap", "dry", check=False).returncode != 0

    # objectSelector: a labelled object skips the mutating webhook
    kyb.kubectl("apply", "-f", "-", input=textwrap.dedent("""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: skipped, labels: {skip: "1"}}
        """))
    cm = json.loads(kyb.kubectl("get", "configmap", "skipped", "-o", "json").stdout)
    assert cm["metadata"]["labels"] == {"skip": "1"}

    # removing the validating webhook lets the refused object in
    kyb.kubectl("delete", "validatingwebhookconfiguration", "deny")
    kyb.kubectl("create", "configmap", "bad2", "--from-literal=k=v")
