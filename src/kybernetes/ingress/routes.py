"""The routing table: which backend endpoints answer a request, as a pure function of API objects.

Why a table: the proxy asks one question per request (host, path) -> endpoints, and the answer
depends on IngressClasses, Ingresses, Services and EndpointSlices together. Building the table
from a snapshot of those objects keeps every rule testable without sockets, and lets the proxy
swap in a new table atomically whenever an informer reports a change.

Rules as networking.k8s.io/v1 describes them:
  1. Hosts match exactly (case-insensitively, without the port) or by a wildcard `*.example.com`
     that stands for exactly one leading label. Exact hosts are tried before wildcards, wildcards
     before rules without a host (those apply to every request).
  2. Within a host, the longest matching path wins; at equal length Exact wins over Prefix.
     Prefix matches element by element (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`; a
     trailing slash on either side is ignored). ImplementationSpecific is treated as Prefix.
  3. A request no path matches goes to the `defaultBackend` of an Ingress that names its host, else
     to the `defaultBackend` of any handled Ingress; with none, it is not found (404).
  4. Conflicts (the same host, path and type in two Ingresses) go to the oldest Ingress.
  5. A backend is a Service port (number or name). It resolves through the Service's port name to
     the EndpointSlice ports of that name, so named targetPorts work; only ready endpoints serve.
     A backend with no ready endpoint answers 503.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = Mapping[str, Any]

CONTROLLER_NAME = "kybernetes.io/ingress"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"


@dataclass(frozen=True, slots=True)
class BackendRef:
    """A Service port an Ingress points at (port is a number or a port name)."""

    namespace: str
    service: str
    port: int | str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port}"


@dataclass(frozen=True, slots=True)
class PathRule:
    path: str
    exact: bool
    backend: BackendRef
    ingress: str  # namespace/name, for logs


@dataclass(slots=True)
class HostRules:
    paths: list[PathRule] = field(default_factory=list)
    default: BackendRef | None = None


@dataclass(frozen=True, slots=True)
class Match:
    backend: BackendRef
    endpoints: tuple[tuple[str, int], ...]  # ready (address, port) pairs; empty means 503
    ingress: str


@dataclass(slots=True)
class RouteTable:
    exact_hosts: dict[str, HostRules] = field(default_factory=dict)
    wildcard_hosts: dict[str, HostRules] = field(default_factory=dict)  # keyed by the suffix after "*."
    any_host: HostRules = field(default_factory=HostRules)
    endpoints: dict[BackendRef, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    ingress_of_default: dict[BackendRef, str] = field(default_factory=dict)

    def lookup(self, host: str, path: str) -> Match | None:
        """The backend for a request, or None (404). `host` may carry a port; `path` a query."""
        host = normalize_host(host)
        path = path.split("?", 1)[0].split("#", 1)[0] or "/"
        groups = []
        if host in self.exact_hosts:
            groups.append(self.exact_hosts[host])
        if "." in host:
            first, rest = host.split(".", 1)
            if first and rest in self.wildcard_hosts:
                groups.append(self.wildcard_hosts[rest])
        groups.append(self.any_host)
        for group in groups:
            for rule in group.paths:
                if path_matches(rule.path, rule.exact, path):
                    return Match(rule.backend, self.endpoints.get(rule.backend, ()), rule.ingress)
        for group in groups:
            if group.default is not None:
                return Match(
                    group.default,
                    self.endpoints.get(group.default, ()),
                    self.ingress_of_default.get(group.default, ""),
                )
        return None


def normalize_host(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [v6]:port
        return host[: host.find("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def _elements(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def path_matches(rule_path: str, exact: bool, request_path: str) -> bool:
    if exact:
        return request_path == rule_path
    want = _elements(rule_path)
    return _elements(request_path)[: len(want)] == want


def host_matches(pattern: str, host: str) -> bool:
    """Whether a rule or TLS host (exact or `*.suffix`) covers a request host."""
    host = normalize_host(host)
    pattern = pattern.lower()
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return host == pattern


# --- which Ingresses are ours -----------------------------------------------------------------------
def our_classes(classes: Iterable[Obj], controller: str = CONTROLLER_NAME) -> dict[str, bool]:
    """Names of the IngressClasses this controller serves, each with whether it is a default."""
    out: dict[str, bool] = {}
    for c in classes:
        if (c.get("spec") or {}).get("controller") != controller:
            continue
        annotations = (c.get("metadata") or {}).get("annotations") or {}
        out[str(c["metadata"]["name"])] = str(annotations.get(DEFAULT_CLASS_ANNOTATION, "")).lower() == "true"
    return out


def is_ours(ingress: Obj, classes: Mapping[str, bool]) -> bool:
    """An Ingress naming one of our classes (field or the older annotation), or none if one is default."""
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        return name in classes
    legacy = ((ingress.get("metadata") or {}).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    if legacy:
        return legacy in classes
    return any(classes.values())


def handled_ingresses(
    ingresses: Iterable[Obj], classes: Iterable[Obj], controller: str = CONTROLLER_NAME
) -> list[Obj]:
    """Our Ingresses, oldest first (the order that settles conflicts)."""
    ours = our_classes(classes, controller)
    return sorted((i for i in ingresses if is_ours(i, ours)), key=_creation_order)


# --- building the table -------------------------------------------------------------------------
def backend_ref(namespace: str, backend: Obj | None) -> BackendRef | None:
    svc = (backend or {}).get("service") or {}
    port = svc.get("port") or {}
    name = svc.get("name")
    number = port.get("number")
    ref: int | str | None = number if isinstance(number, int) and number else port.get("name")
    if not name or ref in (None, ""):
        return None  # resource backends are not supported: nothing to proxy to
    return BackendRef(namespace, str(name), ref)


def _creation_order(ingress: Obj) -> tuple[str, str, str]:
    meta = ingress.get("metadata") or {}
    return (
        str(meta.get("creationTimestamp") or ""),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


def build_table(
    *,
    ingresses: Iterable[Obj],
    classes: Iterable[Obj],
    services: Iterable[Obj],
    endpointslices: Iterable[Obj],
    controller: str = CONTROLLER_NAME,
) -> RouteTable:
    """The routing table for every Ingress of our classes, with the endpoints of each backend."""
    handled = handled_ingresses(ingresses, classes, controller)
    table = RouteTable()
    ordered: list[tuple[HostRules, int, PathRule]] = []
    seq = 0
    for ing in handled:
        ns = str(ing["metadata"].get("namespace") or "default")
        spec = ing.get("spec") or {}
        default = backend_ref(ns, spec.get("defaultBackend"))
        if default is not None:
            table.ingress_of_default.setdefault(default, _key(ing))
            if table.any_host.default is None:
                table.any_host.default = default
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or "").lower()
            if not host:
                group = table.any_host
            elif host.startswith("*."):
                group = table.wildcard_hosts.setdefault(host[2:], HostRules())
            else:
                group = table.exact_hosts.setdefault(host, HostRules())
            if host and group.default is None and default is not None:
                group.default = default
            for p in (rule.get("http") or {}).get("paths") or []:
                ref = backend_ref(ns, p.get("backend"))
                if ref is None:
                    continue
                path = str(p.get("path") or "/")
                ordered.append((group, seq, PathRule(path, p.get("pathType") == "Exact", ref, _key(ing))))
                seq += 1
    # longest path first, Exact before Prefix at equal length, then the older Ingress
    ordered.sort(key=lambda t: (-len(t[2].path), not t[2].exact, t[1]))
    for group, _, rule in ordered:
        group.paths.append(rule)
    refs = {r.backend for _, _, r in ordered} | set(table.ingress_of_default)
    svc_by_key = {_key(s): s for s in services}
    slices_by_service: dict[str, list[Obj]] = {}
    for s in endpointslices:
        owner = ((s.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL)
        if owner:
            slices_by_service.setdefault(f"{s['metadata'].get('namespace') or ''}/{owner}", []).append(s)
    for ref in refs:
        key = f"{ref.namespace}/{ref.service}"
        table.endpoints[ref] = resolve_endpoints(ref, svc_by_key.get(key), slices_by_service.get(key, []))
    return table


def resolve_endpoints(
    ref: BackendRef, service: Obj | None, slices: Iterable[Obj]
) -> tuple[tuple[str, int], ...]:
    """Ready (address, port) pairs behind a Service port; () when the Service or port is missing."""
    if service is None:
        return ()
    spec = service.get("spec") or {}
    port = next(
        (
            p
            for p in spec.get("ports") or []
            if (p.get("port") == ref.port if isinstance(ref.port, int) else p.get("name") == ref.port)
        ),
        None,
    )
    if port is None:
        return ()
    if spec.get("type") == "ExternalName" and spec.get("externalName"):
        return ((str(spec["externalName"]), int(port.get("port") or 0)),)
    port_name = port.get("name") or ""
    protocol = port.get("protocol") or "TCP"
    out: list[tuple[str, int]] = []
    for s in sorted(slices, key=_key):
        if s.get("addressType") not in ("IPv4", "IPv6"):
            continue
        number = next(
            (
                p.get("port")
                for p in s.get("ports") or []
                if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP") == protocol
            ),
            None,
        )
        if not isinstance(number, int):
            continue
        for ep in s.get("endpoints") or []:
            if (ep.get("conditions") or {}).get("ready") is False:  # unset means ready
                continue
            out.extend((str(addr), number) for addr in (ep.get("addresses") or [])[:1])
    return tuple(dict.fromkeys(out))
