"""Real kubectl against a real `kyb server`: the deeper validations answer 422 with upstream's
field paths and texts, printed by kubectl exactly as against a real cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kybernetes.testing.cluster import KybServer

pytestmark = pytest.mark.e2e

PORT = 18550  # this test's own API port


@pytest.fixture(scope="module")
def kyb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KybServer]:
    server = KybServer(Path(tmp_path_factory.mktemp("kyb-validation")), port=PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def refused(kyb: KybServer, obj: dict[str, Any]) -> str:
    proc = kyb.kubectl("create", "-f", "-", input=json.dumps(obj), check=False)
    assert proc.returncode != 0, proc.stdout
    return proc.stderr.strip()


def pod(name: str, container: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    c = {"name": "app", "image": "busybox", **(container or {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [c], **spec}}


def test_requests_above_limits(kyb: KybServer) -> None:
    err = refused(kyb, pod("greedy", {"resources": {"requests": {"cpu": "600m"}, "limits": {"cpu": "500m"}}}))
    assert err == ('The Pod "greedy" is invalid: spec.containers[0].resources.requests: Invalid value: "600m": '
                   "must be less than or equal to cpu limit of 500m")


def test_probe_and_toleration_causes_listed_together(kyb: KybServer) -> None:
    err = refused(kyb, pod("probed", {"livenessProbe": {"tcpSocket": {"port": 80}, "successThreshold": 2}},
                           tolerations=[{"key": "k", "operator": "Exists", "effect": "NoRun"}]))
    assert err == ('The Pod "probed" is invalid: \n'
                   "* spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1\n"
                   '* spec.tolerations[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", '
                   '"PreferNoSchedule", "NoExecute"')


def test_deployment_template_env_value_from(kyb: KybServer) -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "envy"},
           "spec": {"selector": {"matchLabels": {"app": "envy"}},
                    "template": {"metadata": {"labels": {"app": "envy"}},
                                 "spec": {"containers": [{"name": "a", "image": "busybox",
                                                          "env": [{"name": "X", "valueFrom": {}}]}]}}}}
    assert refused(kyb, dep) == (
        'The Deployment "envy" is invalid: spec.template.spec.containers[0].env[0].valueFrom: Invalid value: "": '
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`")


def test_ingress_path_must_be_absolute(kyb: KybServer) -> None:
    ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
           "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [
               {"path": "api", "pathType": "Prefix",
                "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    assert refused(kyb, ing) == ('The Ingress "web" is invalid: spec.rules[0].http.paths[0].path: '
                                 'Invalid value: "api": must be an absolute path')


def test_network_policy_end_port(kyb: KybServer) -> None:
    np = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "ports"},
          "spec": {"podSelector": {}, "ingress": [{"ports": [{"port": 90, "endPort": 80}]}]}}
    assert refused(kyb, np) == ('The NetworkPolicy "ports" is invalid: spec.ingress[0].ports[0].endPort: '
                                "Invalid value: 90: must be greater than or equal to `port`")


def test_service_session_affinity_timeout(kyb: KybServer) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "sticky"},
           "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}], "sessionAffinity": "ClientIP",
                    "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 100000}}}}
    assert refused(kyb, svc) == ('The Service "sticky" is invalid: spec.sessionAffinityConfig.clientIP.timeoutSeconds: '
                                 "Invalid value: 100000: must be greater than 0 and less than 86400")


def test_valid_rich_pod_is_accepted(kyb: KybServer) -> None:
    ok = pod("rich", {"livenessProbe": {"httpGet": {"port": 8080, "path": "/healthz"}},
                      "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                      "resources": {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}},
             tolerations=[{"key": "dedicated", "operator": "Equal", "value": "x", "effect": "NoSchedule"}])
    kyb.kubectl("create", "-f", "-", input=json.dumps(ok))
    got = json.loads(kyb.kubectl("get", "pod", "rich", "-o", "json").stdout)
    assert got["spec"]["containers"][0]["livenessProbe"]["successThreshold"] == 1
