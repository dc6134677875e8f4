"""Strategies of networking.k8s.io/v1: Ingress, IngressClass, NetworkPolicy."""

from __future__ import annotations

from typing import Any

from kybernetes.apiserver.strategies.base import KindStrategy, get, spec
from kybernetes.apiserver.strategy import Obj, register
from kybernetes.machinery.errors import Cause
from kybernetes.machinery.validation import child, index, invalid, not_supported, required

PATH_TYPES = ("Exact", "ImplementationSpecific", "Prefix")


def _validate_backend(backend: Any, path: str) -> list[Cause]:
    if not isinstance(backend, dict):
        return []
    svc, res = backend.get("service"), backend.get("resource")
    if svc is None and res is None:
        return [invalid(path, backend, "resource or service backend is required")]
    if isinstance(svc, dict):
        causes = []
        if not svc.get("name"):
            causes.append(required(child(path, "service", "name")))
        port = svc.get("port") or {}
        if port.get("name") and port.get("number"):
            causes.append(invalid(child(path, "service", "port"), port, "cannot set both port name & port number"))
        elif not port.get("name") and not port.get("number"):
            causes.append(invalid(child(path, "service", "port"), port, "port name or number is required"))
        return causes
    return []


@register("networking.k8s.io", "Ingress")
class IngressStrategy(KindStrategy):
    has_status = True
    tracks_generation = True

    def initial_status(self, obj: Obj) -> Any:
        return {"loadBalancer": {}}

    def validate(self, obj: Obj) -> list[Cause]:
        s = obj.get("spec") or {}
        causes: list[Cause] = []
        if s.get("defaultBackend") is None and not s.get("rules"):
            causes.append(invalid("spec", s, "either `defaultBackend` or `rules` must be specified"))
        causes.extend(_validate_backend(s.get("defaultBackend"), "spec.defaultBackend"))
        for i, rule in enumerate(s.get("rules") or []):
            rp = index("spec.rules", i)
            paths = get(rule, "http", "paths")
            if rule.get("http") is not None and not paths:
                causes.append(required(child(rp, "http", "paths")))
            for j, p in enumerate(paths or []):
                pp = index(child(rp, "http", "paths"), j)
                pt = p.get("pathType") or ""
                if not pt:
                    causes.append(required(child(pp, "pathType"), "pathType must be specified"))
                elif pt not in PATH_TYPES:
                    causes.append(not_supported(child(pp, "pathType"), pt, PATH_TYPES))
                elif pt in ("Exact", "Prefix") and not (p.get("path") or "").startswith("/"):
                    causes.append(invalid(child(pp, "path"), p.get("path") or "", "must be an absolute path"))
                causes.extend(_validate_backend(p.get("backend"), child(pp, "backend")))
        return causes


@register("networking.k8s.io", "IngressClass")
class IngressClassStrategy(KindStrategy):
    tracks_generation = True

    def validate(self, obj: Obj) -> list[Cause]:
        if not get(obj, "spec", "controller"):
            return [required("spec.controller")]
        return []

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        if get(new, "spec", "controller") != get(old, "spec", "controller"):
            causes.append(invalid("spec.controller", get(new, "spec", "controller"), "field is immutable"))
        return causes


@register("networking.k8s.io", "NetworkPolicy")
class NetworkPolicyStrategy(KindStrategy):
    tracks_generation = True

    def default(self, obj: Obj) -> None:
        s = spec(obj)
        if not s.get("policyTypes"):
            types = ["Ingress"]
            if s.get("egress"):
                types.append("Egress")
            s["policyTypes"] = types

    def validate(self, obj: Obj) -> list[Cause]:
        causes: list[Cause] = []
        types = get(obj, "spec", "policyTypes") or []
        for i, t in enumerate(types):
            if t not in ("Ingress", "Egress"):
                causes.append(not_supported(index("spec.policyTypes", i), t, ("Ingress", "Egress")))
        if len(types) > 2:
            causes.append(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"))
        return causes
