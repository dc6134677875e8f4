"""Webhook matchConditions through real kubectl against `kyb server`: a real HTTPS webhook on
loopback is skipped when a condition is false and called when all are true; a condition that
does not compile is refused at `kubectl apply`; an evaluation error follows failurePolicy."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.reviewserver import ReviewServer

pytestmark = pytest.mark.e2e
Obj = dict[str, Any]


def refuse(path: str, review: Obj) -> Obj:
    """Deny every request with a recognisable message."""
    del path
    resp = {
        "uid": review["request"]["uid"],
        "allowed": False,
        "status": {"code": 403, "message": "refused by the test hook"},
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": resp}


@pytest.fixture(scope="module")
def server() -> Iterator[ReviewServer]:
    with ReviewServer(refuse, name="e2e-match-conditions") as server:
        yield server


def called(server: ReviewServer) -> list[str]:
    """The names of the objects the webhook was asked about, in order."""
    return [req["name"] for _, req in server.reviews]


def configuration(server: ReviewServer, name: str, conditions: str, policy: str = "Fail") -> str:
    return textwrap.dedent(f"""\
        apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingWebhookConfiguration
        metadata: {{name: {name}}}
        webhooks:
        - name: {name}.example.com
          clientConfig: {{url: "{server.url()}", caBundle: "{server.ca_bundle}"}}
          rules:
          - {{operations: [CREATE], apiGroups: [""], apiVersions: [v1], resources: [configmaps]}}
          failurePolicy: {policy}
          sideEffects: None
          admissionReviewVersions: [v1]
          matchConditions:
        """) + textwrap.indent(conditions, "  ")


def test_match_conditions_decide_whether_the_webhook_is_called(kyb: KybServer, server: ReviewServer) -> None:
    conditions = textwrap.dedent("""\
        - name: only-guarded
          expression: "object.metadata.name.startsWith('guarded-')"
        - name: not-exempt
          expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)"
        """)
    kyb.kubectl("apply", "-f", "-", input=configuration(server, "guard", conditions))
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
        assert called(server) == []
        # all true: the webhook is called and refuses
        proc = kyb.kubectl("create", "configmap", "guarded-1", "--from-literal=k=v", check=False)
        assert proc.returncode != 0
        assert proc.stderr.strip() == (
            'error: failed to create configmap: admission webhook "guard.example.com" '
            "denied the request: refused by the test hook"
        )
        assert called(server) == ["guarded-1"]
    finally:
        kyb.kubectl("delete", "validatingwebhookconfiguration", "guard")


def test_evaluation_errors_follow_failure_policy(kyb: KybServer, server: ReviewServer) -> None:
    server.reviews.clear()
    conditions = textwrap.dedent("""\
        - name: team
          expression: "object.metadata.labels.team == 'a'"
        """)
    kyb.kubectl("apply", "-f", "-", input=configuration(server, "team", conditions))
    try:
        proc = kyb.kubectl("create", "configmap", "nolabels", "--from-literal=k=v", check=False)
        assert proc.returncode != 0
        assert proc.stderr.strip() == (
            'error: failed to create configmap: configmaps "nolabels" is forbidden: expression '
            "'object.metadata.labels.team == 'a'' resulted in error: no such key: labels"
        )
        kyb.kubectl("apply", "-f", "-", input=configuration(server, "team", conditions, "Ignore"))
        kyb.kubectl("create", "configmap", "nolabels", "--from-literal=k=v")
        assert called(server) == []
    finally:
        kyb.kubectl("delete", "validatingwebhookconfiguration", "team")


def test_condition_that_does_not_compile_is_refused(kyb: KybServer, server: ReviewServer) -> None:
    conditions = textwrap.dedent("""\
        - name: typo
          expression: "objekt.metadata.name == 'x'"
        """)
    proc = kyb.kubectl("apply", "-f", "-", input=configuration(server, "typo", conditions), check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip() == (
        'The ValidatingWebhookConfiguration "typo" is invalid: webhooks[0].matchConditions[0].expression: '
        "Invalid value: \"objekt.metadata.name == 'x'\": compilation failed: ERROR: <input>:1:1: undeclared "
        "reference to 'objekt' (in container '')\n"
        " | objekt.metadata.name == 'x'\n"
        " | ^"
    )
