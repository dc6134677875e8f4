"""API-shaped objects (plain dicts) for the ingress tests."""

from __future__ import annotations

from typing import Any

OURS = {
    "metadata": {
        "name": "kybernetes",
        "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"},
    },
    "spec": {"controller": "kybernetes.io/ingress"},
}
OURS_NOT_DEFAULT = {"metadata": {"name": "kybernetes"}, "spec": {"controller": "kybernetes.io/ingress"}}
NGINX = {"metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}


def backend(service: str, port: int | str = 80) -> dict[str, Any]:
    key = "number" if isinstance(port, int) else "name"
    return {"service": {"name": service, "port": {key: port}}}


def ingress(
    name: str,
    *,
    rules: list[dict[str, Any]] | None = None,
    default: str = "",
    created: str = "2026-01-01T00:00:00Z",
    class_name: str | None = None,
    annotations: dict[str, str] | None = None,
    namespace: str = "default",
) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": rules or []}
    if default:
        spec["defaultBackend"] = backend(default)
    if class_name is not None:
        spec["ingressClassName"] = class_name
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": created,
            "annotations": annotations or {},
        },
        "spec": spec,
    }


def rule(host: str, *paths: tuple[str, str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "http": {"paths": [{"path": p, "pathType": t, "backend": backend(s)} for p, t, s in paths]}
    }
    if host:
        out["host"] = host
    return out


def service(name: str, *ports: dict[str, Any], namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"ports": list(ports) or [{"port": 80, "protocol": "TCP", "targetPort": 8080}], **spec},
    }


def slice_(
    service_name: str,
    *addresses: str | tuple[str, bool | None],
    ports: list[dict[str, Any]] | None = None,
    name: str = "",
    namespace: str = "default",
) -> dict[str, Any]:
    eps = []
    for a in addresses:
        addr, ready = (a, True) if isinstance(a, str) else a
        conditions = {} if ready is None else {"ready": ready}
        eps.append({"addresses": [addr], "conditions": conditions})
    return {
        "metadata": {
            "name": name or f"{service_name}-abc",
            "namespace": namespace,
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "endpoints": eps,
        "ports": ports if ports is not None else [{"name": "", "port": 8080, "protocol": "TCP"}],
    }
