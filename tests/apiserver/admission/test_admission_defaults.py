"""DefaultTolerationSeconds, DefaultStorageClass and DefaultIngressClass."""

from __future__ import annotations

from typing import Any

import pytest
from admission_helpers import Api, ApiFactory, pod

from kybernetes.apiserver.admission.plugins import (
    DefaultIngressClass,
    DefaultStorageClass,
    DefaultTolerationSeconds,
)
from kybernetes.apiserver.admission.plugins.default_ingress_class import default_ingress_class
from kybernetes.apiserver.admission.plugins.default_storage_class import default_class
from kybernetes.apiserver.admission.plugins.default_toleration_seconds import add_default_tolerations

NS = "/api/v1/namespaces/default"
NOT_READY = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}
UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
               "tolerationSeconds": 300}


@pytest.fixture
async def api(make_api: ApiFactory) -> Api:
    return await make_api([DefaultTolerationSeconds(), DefaultStorageClass(), DefaultIngressClass()])


@pytest.mark.parametrize(("given", "want"), [
    ([], [NOT_READY, UNREACHABLE]),
    ([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}],
     [{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10},
      UNREACHABLE]),
    ([{"operator": "Exists"}], [{"operator": "Exists"}]),
    ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}],
     [{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoSchedule"}, NOT_READY, UNREACHABLE]),
], ids=["none", "own-not-ready", "tolerates-all", "other-effect"])
def test_add_default_tolerations(given: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    spec: dict[str, Any] = {"tolerations": given}
    add_default_tolerations(spec)
    assert spec["tolerations"] == want


async def test_pod_gets_tolerations(api: Api) -> None:
    got = await api.ok("POST", f"{NS}/pods", pod("p"))
    assert got["spec"]["tolerations"] == [NOT_READY, UNREACHABLE]


def sc(name: str, created: str, default: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if default:
        meta["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    return {"metadata": meta, "provisioner": "x"}


@pytest.mark.parametrize(("classes", "want"), [
    ([], None),
    ([sc("a", "2024-01-01T00:00:00Z", False)], None),
    ([sc("old", "2024-01-01T00:00:00Z", True), sc("new", "2024-06-01T00:00:00Z", True)], "new"),
    ([sc("b", "2024-01-01T00:00:00Z", True), sc("a", "2024-01-01T00:00:00Z", True)], "a"),
], ids=["none", "not-default", "newest", "same-time-by-name"])
def test_default_class(classes: list[dict[str, Any]], want: str | None) -> None:
    chosen = default_class(classes)
    assert (chosen["metadata"]["name"] if chosen else None) == want


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}}


async def test_claims_get_the_default_class(api: Api) -> None:
    await api.ok("POST", "/apis/storage.k8s.io/v1/storageclasses", {
        "metadata": {"name": "fast", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "example.com/fast"})
    got = await api.ok("POST", f"{NS}/persistentvolumeclaims", claim("a"))
    assert got["spec"]["storageClassName"] == "fast"
    got = await api.ok("POST", f"{NS}/persistentvolumeclaims", claim("b", storageClassName=""))
    assert got["spec"]["storageClassName"] == ""
    got = await api.ok("POST", f"{NS}/persistentvolumeclaims", claim("c", storageClassName="slow"))
    assert got["spec"]["storageClassName"] == "slow"


def ingress_class(name: str, created: str, default: bool) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "creationTimestamp": created}
    if default:
        meta["annotations"] = {"ingressclass.kubernetes.io/is-default-class": "true"}
    return {"metadata": meta, "spec": {"controller": "example.com/x"}}


@pytest.mark.parametrize(("classes", "want"), [
    ([], None),
    ([ingress_class("a", "2024-01-01T00:00:00Z", False)], None),
    ([ingress_class("old", "2024-01-01T00:00:00Z", True), ingress_class("new", "2024-06-01T00:00:00Z", True)], "new"),
    ([ingress_class("b", "2024-01-01T00:00:00Z", True), ingress_class("a", "2024-01-01T00:00:00Z", True)], "a"),
], ids=["none", "not-default", "newest", "same-time-by-name"])
def test_default_ingress_class(classes: list[dict[str, Any]], want: str | None) -> None:
    chosen = default_ingress_class(classes)
    assert (chosen["metadata"]["name"] if chosen else None) == want


def ingress(name: str, annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, **({"annotations": annotations} if annotations else {})}
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
            "spec": {"defaultBackend": backend, **spec}}


async def test_ingresses_get_the_default_class(api: Api) -> None:
    ing = "/apis/networking.k8s.io/v1/namespaces/default/ingresses"
    got = await api.ok("POST", ing, ingress("before"))
    assert "ingressClassName" not in got["spec"]
    await api.ok("POST", "/apis/networking.k8s.io/v1/ingressclasses", {
        "metadata": {"name": "edge", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
        "spec": {"controller": "example.com/edge"}})
    got = await api.ok("POST", ing, ingress("a"))
    assert got["spec"]["ingressClassName"] == "edge"
    got = await api.ok("POST", ing, ingress("b", ingressClassName="other"))
    assert got["spec"]["ingressClassName"] == "other"
    got = await api.ok("POST", ing, ingress("c", annotations={"kubernetes.io/ingress.class": "legacy"}))
    assert "ingressClassName" not in got["spec"]
