"""Container environment: expansion, envFrom, valueFrom sources, downward API, service links."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kybernetes.kubelet.envvars import (
    CreateContainerConfigError,
    expand,
    expand_command,
    make_environment,
    mapping_for,
    service_env_vars,
)


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


CONFIGMAPS: dict[str, dict[str, Any]] = {
    "app": {"data": {"MODE": "prod", "LEVEL": "3", "1bad=key": "x", "dotted.key": "ok"}},
    "other": {"data": {"MODE": "dev"}},
}
SECRETS: dict[str, dict[str, Any]] = {"creds": {"data": {"USER": b64("admin"), "PASS": b64("s3cret")}}}

POD: dict[str, Any] = {
    "metadata": {"name": "web-0", "namespace": "shop", "uid": "uid-1",
                 "labels": {"app": "web", "tier": "front"}, "annotations": {"note": 'say "hi"\n'}},
    "spec": {"nodeName": "node-a", "serviceAccountName": "robot", "containers": []},
}


def env_of(container: dict[str, Any], *, service_env: dict[str, str] | None = None,
           allocatable: dict[str, str] | None = None, events: list[tuple[str, str]] | None = None,
           ) -> list[tuple[str, str]]:
    def record(reason: str, message: str) -> None:
        if events is not None:
            events.append((reason, message))

    return make_environment(
        POD, {"name": "c", **container}, configmaps=CONFIGMAPS.get, secrets=SECRETS.get,
        service_env=service_env or {}, node_ip="192.0.2.1", pod_ip="10.42.0.5",
        pod_ips=["10.42.0.5", "fd00::5"], host_ip="192.0.2.1", host_ips=["192.0.2.1", "2001:db8::1"],
        node_allocatable=allocatable or {"cpu": "2", "memory": "4Gi"}, on_event=record)


VARS = {"A": "alpha", "EMPTY": ""}


@pytest.mark.parametrize(("text", "want"), [
    ("plain", "plain"),
    ("$(A)", "alpha"),
    ("x-$(A)-y", "x-alpha-y"),
    ("$(MISSING)", "$(MISSING)"),
    ("$$(A)", "$(A)"),
    ("$$$(A)", "$alpha"),
    ("$$", "$"),
    ("$", "$"),
    ("a$", "a$"),
    ("$A", "$A"),
    ("$(A", "$(A"),
    ("$(", "$("),
    ("$()", "$()"),
    ("$(EMPTY)!", "!"),
    ("$(A)$(A)", "alphaalpha"),
    ("$(A$(A))", "$(A$(A))"),
    ("100$ $(A)", "100$ alpha"),
], ids=["plain", "var", "embedded", "unknown-kept", "escaped", "escape-then-var", "double-dollar",
        "lone-dollar", "trailing-dollar", "no-parens", "unclosed", "unclosed-at-end", "empty-name",
        "empty-value", "twice", "nested-not-supported", "dollar-space"])
def test_expand(text: str, want: str) -> None:
    assert expand(text, mapping_for(VARS)) == want


def test_expand_command() -> None:
    cmd, args = expand_command(["sh", "-c", "echo $(A)"], ["$(B)", "$$(A)", "$(NOPE)"], [("A", "1"), ("B", "2")])
    assert cmd == ["sh", "-c", "echo 1"]
    assert args == ["2", "$(A)", "$(NOPE)"]
    assert expand_command(None, None, {}) == ([], [])


def ref(kind: str, name: str, key: str, optional: bool | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"name": name, "key": key}
    if optional is not None:
        r["optional"] = optional
    return {kind: r}


@pytest.mark.parametrize(("container", "want"), [
    ({"env": [{"name": "X", "value": "1"}]}, [("X", "1")]),
    ({"env": [{"name": "X", "value": ""}]}, [("X", "")]),
    ({"env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "$(X)-$(Z)"}, {"name": "Z", "value": "3"}]},
     [("X", "1"), ("Y", "1-$(Z)"), ("Z", "3")]),
    ({"envFrom": [{"configMapRef": {"name": "other"}}, {"configMapRef": {"name": "app"}}],
      "env": [{"name": "MODE", "value": "$(MODE)-override"}]},
     [("MODE", "prod-override"), ("LEVEL", "3"), ("dotted.key", "ok")]),
    ({"envFrom": [{"prefix": "CM_", "configMapRef": {"name": "other"}}]}, [("CM_MODE", "dev")]),
    ({"envFrom": [{"secretRef": {"name": "creds"}, "prefix": "DB_"}]}, [("DB_USER", "admin"), ("DB_PASS", "s3cret")]),
    ({"envFrom": [{"configMapRef": {"name": "gone", "optional": True}},
                  {"secretRef": {"name": "gone", "optional": True}}]}, []),
    ({"env": [{"name": "M", "valueFrom": ref("configMapKeyRef", "app", "MODE")}]}, [("M", "prod")]),
    ({"env": [{"name": "P", "valueFrom": ref("secretKeyRef", "creds", "PASS")}]}, [("P", "s3cret")]),
    ({"env": [{"name": "M", "valueFrom": ref("configMapKeyRef", "app", "NOKEY", True)},
              {"name": "N", "valueFrom": ref("configMapKeyRef", "gone", "k", True)},
              {"name": "S", "valueFrom": ref("secretKeyRef", "creds", "NOKEY", True)}]}, []),
], ids=["literal", "empty-literal", "expansion-order", "envfrom-order-and-override", "configmap-prefix",
        "secret-decoded", "optional-missing-sources", "configmap-key", "secret-key", "optional-missing-keys"])
def test_sources(container: dict[str, Any], want: list[tuple[str, str]]) -> None:
    assert env_of(container) == want


def test_invalid_envfrom_keys_skipped_with_event() -> None:
    events: list[tuple[str, str]] = []
    got = env_of({"envFrom": [{"configMapRef": {"name": "app"}}]}, events=events)
    assert "1bad=key" not in dict(got)
    assert events == [("InvalidEnvironmentVariableNames",
                       "Keys [1bad=key] from the EnvFrom configMap shop/app were skipped since they are "
                       "considered invalid environment variable names.")]


@pytest.mark.parametrize(("container", "message"), [
    ({"envFrom": [{"configMapRef": {"name": "gone"}}]}, 'configmap "gone" not found'),
    ({"envFrom": [{"secretRef": {"name": "gone", "optional": False}}]}, 'secret "gone" not found'),
    ({"env": [{"name": "M", "valueFrom": ref("configMapKeyRef", "gone", "k")}]}, 'configmap "gone" not found'),
    ({"env": [{"name": "M", "valueFrom": ref("configMapKeyRef", "app", "k")}]},
     "couldn't find key k in ConfigMap shop/app"),
    ({"env": [{"name": "S", "valueFrom": ref("secretKeyRef", "creds", "k")}]},
     "couldn't find key k in Secret shop/creds"),
    ({"env": [{"name": "S", "valueFrom": ref("secretKeyRef", "nope", "k")}]}, 'secret "nope" not found'),
    ({"env": [{"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}]},
     "unsupported fieldPath: spec.bogus"),
], ids=["envfrom-configmap", "envfrom-secret", "key-ref-missing-configmap", "missing-configmap-key",
        "missing-secret-key", "missing-secret", "bad-field-path"])
def test_config_errors(container: dict[str, Any], message: str) -> None:
    with pytest.raises(CreateContainerConfigError) as exc:
        env_of(container)
    assert exc.value.message == message
    assert exc.value.reason == "CreateContainerConfigError"


@pytest.mark.parametrize(("path", "want"), [
    ("metadata.name", "web-0"),
    ("metadata.namespace", "shop"),
    ("metadata.uid", "uid-1"),
    ("metadata.labels['tier']", "front"),
    ("metadata.labels['missing']", ""),
    ("metadata.annotations['note']", 'say "hi"\n'),
    ("metadata.labels", 'app="web"\ntier="front"'),
    ("metadata.annotations", 'note="say \\"hi\\"\\n"'),
    ("spec.nodeName", "node-a"),
    ("spec.serviceAccountName", "robot"),
    ("status.hostIP", "192.0.2.1"),
    ("status.hostIPs", "192.0.2.1,2001:db8::1"),
    ("status.podIP", "10.42.0.5"),
    ("status.podIPs", "10.42.0.5,fd00::5"),
], ids=["name", "namespace", "uid", "label", "label-missing", "annotation", "labels", "annotations",
        "node", "service-account", "host-ip", "host-ips", "pod-ip", "pod-ips"])
def test_field_ref(path: str, want: str) -> None:
    assert env_of({"env": [{"name": "F", "valueFrom": {"fieldRef": {"fieldPath": path}}}]}) == [("F", want)]


def rf(resource: str, divisor: str | None = None, container: str | None = None) -> dict[str, Any]:
    sel: dict[str, Any] = {"resource": resource}
    if divisor:
        sel["divisor"] = divisor
    if container:
        sel["containerName"] = container
    return {"resourceFieldRef": sel}


LIMITED = {"resources": {"requests": {"cpu": "250m", "memory": "100Mi"}, "limits": {"cpu": "1500m", "memory": "1Gi"}}}


@pytest.mark.parametrize(("resources", "source", "want"), [
    (LIMITED, rf("limits.cpu"), "2"),
    (LIMITED, rf("limits.cpu", "1m"), "1500"),
    (LIMITED, rf("requests.cpu"), "1"),
    (LIMITED, rf("requests.cpu", "100m"), "3"),
    (LIMITED, rf("limits.memory"), str(1024**3)),
    (LIMITED, rf("limits.memory", "1Mi"), "1024"),
    (LIMITED, rf("requests.memory", "1Gi"), "1"),
    ({}, rf("limits.cpu"), "2"),
    ({}, rf("limits.memory", "1Mi"), "4096"),
    ({}, rf("requests.memory"), "0"),
], ids=["cpu-limit-rounds-up", "cpu-millis", "cpu-request-rounds-up", "cpu-request-divisor", "memory-bytes",
        "memory-mi", "memory-request-gi", "cpu-from-allocatable", "memory-from-allocatable", "no-request"])
def test_resource_field_ref(resources: dict[str, Any], source: dict[str, Any], want: str) -> None:
    assert env_of({**resources, "env": [{"name": "R", "valueFrom": source}]}) == [("R", want)]


def test_service_env_appended_unless_defined() -> None:
    got = env_of({"env": [{"name": "FOO_SERVICE_HOST", "value": "mine"}, {"name": "U", "value": "$(FOO_SERVICE_PORT)"}]},
                 service_env={"FOO_SERVICE_HOST": "10.43.0.9", "FOO_SERVICE_PORT": "80", "BAR": "b"})
    assert got == [("FOO_SERVICE_HOST", "mine"), ("U", "80"), ("BAR", "b"), ("FOO_SERVICE_PORT", "80")]


def svc(name: str, ns: str, ip: str, *ports: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": {"clusterIP": ip, "ports": list(ports)}}


KUBERNETES = svc("kubernetes", "default", "10.43.0.1", {"name": "https", "port": 443, "protocol": "TCP"})
KUBE_VARS = {
    "KUBERNETES_SERVICE_HOST": "10.43.0.1", "KUBERNETES_SERVICE_PORT": "443",
    "KUBERNETES_SERVICE_PORT_HTTPS": "443", "KUBERNETES_PORT": "tcp://10.43.0.1:443",
    "KUBERNETES_PORT_443_TCP": "tcp://10.43.0.1:443", "KUBERNETES_PORT_443_TCP_PROTO": "tcp",
    "KUBERNETES_PORT_443_TCP_PORT": "443", "KUBERNETES_PORT_443_TCP_ADDR": "10.43.0.1",
}
REDIS = svc("redis-main", "shop", "10.43.0.7", {"port": 6379}, {"name": "metrics", "port": 9121, "protocol": "UDP"})
REDIS_VARS = {
    "REDIS_MAIN_SERVICE_HOST": "10.43.0.7", "REDIS_MAIN_SERVICE_PORT": "6379",
    "REDIS_MAIN_SERVICE_PORT_METRICS": "9121", "REDIS_MAIN_PORT": "tcp://10.43.0.7:6379",
    "REDIS_MAIN_PORT_6379_TCP": "tcp://10.43.0.7:6379", "REDIS_MAIN_PORT_6379_TCP_PROTO": "tcp",
    "REDIS_MAIN_PORT_6379_TCP_PORT": "6379", "REDIS_MAIN_PORT_6379_TCP_ADDR": "10.43.0.7",
    "REDIS_MAIN_PORT_9121_UDP": "udp://10.43.0.7:9121", "REDIS_MAIN_PORT_9121_UDP_PROTO": "udp",
    "REDIS_MAIN_PORT_9121_UDP_PORT": "9121", "REDIS_MAIN_PORT_9121_UDP_ADDR": "10.43.0.7",
}


@pytest.mark.parametrize(("services", "ns", "links", "want"), [
    ([KUBERNETES, REDIS], "shop", True, {**KUBE_VARS, **REDIS_VARS}),
    ([KUBERNETES, REDIS], "shop", False, KUBE_VARS),
    ([KUBERNETES, REDIS], "other", True, KUBE_VARS),
    ([KUBERNETES, svc("headless", "shop", "None", {"port": 80}), svc("ext", "shop", "", {"port": 80})], "shop",
     True, KUBE_VARS),
    ([svc("v6", "shop", "fd00::7", {"port": 80})], "shop", True, {
        "V6_SERVICE_HOST": "fd00::7", "V6_SERVICE_PORT": "80", "V6_PORT": "tcp://[fd00::7]:80",
        "V6_PORT_80_TCP": "tcp://[fd00::7]:80", "V6_PORT_80_TCP_PROTO": "tcp", "V6_PORT_80_TCP_PORT": "80",
        "V6_PORT_80_TCP_ADDR": "fd00::7"}),
], ids=["links", "links-disabled-keeps-master", "other-namespace", "no-address-skipped", "ipv6"])
def test_service_env_vars(services: list[dict[str, Any]], ns: str, links: bool, want: dict[str, str]) -> None:
    assert service_env_vars(services, ns, links) == want
