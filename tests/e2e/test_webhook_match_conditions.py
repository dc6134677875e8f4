"""Webhook matchConditions through real kubectl against `kyb server`: a real HTTPS webhook on
loopback is skipped when a condition is false and called when all are true; a condition that
does not compile is refused at `kubectl apply`; an evaluation error follows failurePolicy."""

from __future__ import annotations

import base64
import json
import ssl
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.util.pki import generate_ca, issue_serving_cert

pytestmark = pytest.mark.e2e


class _Handler(BaseHTTPRequestHandler):
    server: _HookServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        req = review["request"]
        self.server.calls.append(req["name"])
        resp = {
            "uid": req["uid"],
            "allowed": False,
            "status": {"code": 403, "message": "refused by the test hook"},
        }
        body = json.dumps(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _HookServer(ThreadingHTTPServer):
    calls: list[str]


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[_HookServer, str]]:
    tmp = Path(tmp_path_factory.mktemp("hook"))
    ca = generate_ca("e2e-match-conditions-ca")
    cert, key = issue_serving_cert(ca, common_name="hook", dns_names=[], ip_addresses=["127.0.0.1"])
    (tmp / "tls.crt").write_bytes(cert)
    (tmp / "tls.key").write_bytes(key)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "tls.crt", tmp / "tls.key")
    server = _HookServer(("127.0.0.1", 0), _Handler)  # a free port
    server.calls = []
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, base64.b64encode(ca.cert_pem).decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def configuration(
    server: _HookServer, ca_bundle: str, name: str, conditions: str, policy: str = "Fail"
) -> str:
    port = server.server_address[1]
    return textwrap.dedent(f"""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingWebhookConfiguration
        metadata: {{name: {name}}}
        webhooks:
        - name: {name}.example.com
          clientConfig: {{url: "https://127.0.0.1:{port}/", caBundle: "{ca_bundle}"}}
          rules:
          - {{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}}
          failurePolicy: {policy}
          sideEffects: None
          admissionReviewVersions: [v1]
          matchConditions:
        """) + textwrap.indent(conditions, "  ")


def test_match_conditions_decide_whether_the_webhook_is_called(
    kyb: KybServer, hook: tuple[_HookServer, str]
) -> None:
    server, ca_bundle = hook
    conditions = textwrap.dedent("""\
        - name: only-guarded
          expression: "object.metadata.name.startsWith('guarded-')"
        - name: not-exempt
          expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)"
        """)
    kyb.kubectl("apply", "-f", "-", input=configuration(server, ca_bundle, "guard", conditions))
    try:
        # a false condition: the webhook is not called and the object is created
        kyb.kubectl("create", "configmap", "free-1", "--from-literal=k=v")
        kyb.kubectl(
            "apply",
            "-f",
            "-",
            input=textwrap.dedent("""\
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: guarded-exempt, labels: {exempt: "yes"}}
            """),
        )
        assert server.calls == []
        # all true: the webhook is called and refuses
        proc = kyb.kubectl("create", "configmap", "guarded-1", "--from-literal=k=v", check=False)
        assert proc.returncode != 0
        assert proc.stderr.strip() == (
            'error: failed to create configmap: admission webhook "guard.example.com" '
            "denied the request: refused by the test hook"
        )
        assert server.calls == ["guarded-1"]
    finally:
        kyb.kubectl("delete", "validatingwebhookconfiguration", "guard")


def test_evaluation_errors_follow_failure_policy(kyb: KybServer, hook: tuple[_HookServer, str]) -> None:
    server, ca_bundle = hook
    server.calls.clear()
    conditions = textwrap.dedent("""\
        - name: team
          expression: "object.metadata.labels.team == 'a'"
        """)
    kyb.kubectl("apply", "-f", "-", input=configuration(server, ca_bundle, "team", conditions))
    try:
        proc = kyb.kubectl("create", "configmap", "nolabels", "--from-literal=k=v", check=False)
        assert proc.returncode != 0
        assert proc.stderr.strip() == (
            'error: failed to create configmap: configmaps "nolabels" is forbidden: expression '
            "'object.metadata.labels.team == 'a'' resulted in error: no such key: labels"
        )
        kyb.kubectl("apply", "-f", "-", input=configuration(server, ca_bundle, "team", conditions, "Ignore"))
        kyb.kubectl("create", "configmap", "nolabels", "--from-literal=k=v")
        assert server.calls == []
    finally:
        kyb.kubectl("delete", "validatingwebhookconfiguration", "team")


def test_condition_that_does_not_compile_is_refused(kyb: KybServer, hook: tuple[_HookServer, str]) -> None:
    server, ca_bundle = hook
    conditions = textwrap.dedent("""\
        - name: typo
          expression: "objekt.metadata.name == 'x'"
        """)
    proc = kyb.kubectl(
        "apply", "-f", "-", input=configuration(server, ca_bundle, "typo", conditions), check=False
    )
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        'The ValidatingWebhookConfiguration "typo" is invalid: webhooks[0].matchConditions[0].expression: '
        "Invalid value: \"objekt.metadata.name == 'x'\": compilation failed: ERROR: <input>:1:1: undeclared "
        "reference to 'objekt' (in container '')\n"
        " | objekt.metadata.name == 'x'\n"
        " | ^"
    )
