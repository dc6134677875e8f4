"""The endpoints controller: a Service's core/v1 Endpoints from the pods its selector picks.

For every Service with a selector, the Endpoints object of the same name lists the selected pods'
IPs, grouped into subsets by port set: ready pods under ``addresses``, not-ready ones under
``notReadyAddresses`` (all under ``addresses`` with ``publishNotReadyAddresses``). Pods without an
IP, finished pods (Succeeded, Failed) and terminating pods (unless the Service publishes not-ready
addresses) are left out. A named targetPort is resolved per pod from its containers' ports, so
pods may serve one Service port on different numbers; a pod lacking the name is left out of that
port. Services without a selector are left alone (their Endpoints are written by hand), and a
Service's Endpoints go when it goes.

Decisions are pure functions (`compute_subsets`, `pod_in_endpoints`, `find_port`), shared with the
EndpointSlice controller; `EndpointsController.sync` only compares and writes.

The comparison is against the informer's copy, which can lag behind our own last write. A stale
copy that happens to equal what is wanted (a pod Ready, then not, then Ready again between two
watch events) would make the loop write nothing and leave the newer, wrong object in place; so the
loop remembers which version each of its writes replaced and, while the cache still shows that
version (or shows nothing after our create), waits for it instead of deciding.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from kybernetes.api.resources import lookup
from kybernetes.client import Controller, ResourceLike, is_forbidden, is_not_found
from kybernetes.client.store import index_by_namespace, meta_namespace_key, split_key
from kybernetes.controllers.manager import ControllerContext, register

log = logging.getLogger("kyb.controllers.endpoints")

Obj = dict[str, Any]
SERVICES: ResourceLike = lookup("", "v1", "services")  # type: ignore[assignment]
PODS: ResourceLike = lookup("", "v1", "pods")  # type: ignore[assignment]
ENDPOINTS: ResourceLike = lookup("", "v1", "endpoints")  # type: ignore[assignment]
TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
HEADLESS_LABEL = "service.kubernetes.io/headless"
NAMESPACE_INDEX = "namespace"
STALE_RECHECK = 0.05  # seconds until a sync skipped for a stale Endpoints cache runs again


# --- pure decisions ------------------------------------------------------------------------------
def pod_ready(pod: Mapping[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def pod_in_endpoints(pod: Mapping[str, Any], *, include_terminating: bool) -> bool:
    status = pod.get("status") or {}
    if not status.get("podIP"):
        return False
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    return include_terminating or not (pod.get("metadata") or {}).get("deletionTimestamp")


def selects(service: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    selector = (service.get("spec") or {}).get("selector") or {}
    if not selector:
        return False
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    return all(pod_labels.get(k) == v for k, v in selector.items())


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """The pod's port number for a Service port: a numeric targetPort as is (the port itself when
    unset), a named one from the pod's container ports of the same protocol."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and (p.get("protocol") or "TCP") == protocol:
                return int(p["containerPort"])
    return None


def hostname_for(service: Mapping[str, Any], pod: Mapping[str, Any]) -> str:
    """A pod's hostname is published when its subdomain names the Service (headless DNS records)."""
    spec = pod.get("spec") or {}
    smeta, pmeta = service.get("metadata") or {}, pod.get("metadata") or {}
    if spec.get("hostname") and spec.get("subdomain") == smeta.get("name") \
            and smeta.get("namespace") == pmeta.get("namespace"):
        return str(spec["hostname"])
    return ""


def endpoint_address(service: Mapping[str, Any], pod: Mapping[str, Any]) -> Obj:
    meta = pod.get("metadata") or {}
    addr: Obj = {"ip": (pod.get("status") or {}).get("podIP")}
    hostname = hostname_for(service, pod)
    if hostname:
        addr["hostname"] = hostname
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    addr["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace", ""), "name": meta.get("name", ""),
                         "uid": meta.get("uid", "")}
    return addr


def endpoint_ports(service: Mapping[str, Any], pod: Mapping[str, Any]) -> list[Obj]:
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        num = find_port(pod, sp)
        if num is None:
            continue
        port: Obj = {"port": num, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("name"):
            port["name"] = sp["name"]
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def is_headless(service: Mapping[str, Any]) -> bool:
    return (service.get("spec") or {}).get("clusterIP") == "None"


def _ports_key(ports: list[Obj]) -> tuple[tuple[str, int, str, str], ...]:
    return tuple(sorted((p.get("name", ""), p["port"], p["protocol"], p.get("appProtocol", "")) for p in ports))


def compute_subsets(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[Obj]:
    """The Endpoints subsets for `service` over the pods it selects (upstream's repacked form:
    one subset per distinct port set, addresses sorted by IP)."""
    publish_not_ready = bool((service.get("spec") or {}).get("publishNotReadyAddresses"))
    has_ports = bool((service.get("spec") or {}).get("ports"))
    groups: dict[tuple[Any, ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not selects(service, pod) or not pod_in_endpoints(pod, include_terminating=publish_not_ready):
            continue
        ports = endpoint_ports(service, pod)
        if has_ports and not ports:
            continue  # no Service port resolves for this pod
        key = _ports_key(ports)
        ready, not_ready, _ = groups.setdefault(key, ([], [], ports))
        (ready if publish_not_ready or pod_ready(pod) else not_ready).append(endpoint_address(service, pod))
    subsets = []
    for key in sorted(groups):
        ready, not_ready, ports = groups[key]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=lambda a: (a["ip"], a["targetRef"]["name"]))
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=lambda a: (a["ip"], a["targetRef"]["name"]))
        if ports:
            subset["ports"] = sorted(ports, key=lambda p: (p.get("name", ""), p["port"], p["protocol"]))
        subsets.append(subset)
    return subsets


def endpoints_labels(service: Mapping[str, Any]) -> dict[str, str]:
    out = dict((service.get("metadata") or {}).get("labels") or {})
    if is_headless(service):
        out[HEADLESS_LABEL] = ""
    else:
        out.pop(HEADLESS_LABEL, None)
    return out


def desired_endpoints(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]],
                      current: Mapping[str, Any] | None, now: str) -> Obj | None:
    """The Endpoints object to write, or None when `current` already says it all."""
    smeta = service.get("metadata") or {}
    subsets = compute_subsets(service, pods)
    wanted_labels = endpoints_labels(service)
    if current is not None:
        cmeta = current.get("metadata") or {}
        if (current.get("subsets") or []) == subsets and (cmeta.get("labels") or {}) == wanted_labels:
            return None
        out: Obj = {k: v for k, v in current.items() if k not in ("subsets",)}
        meta = dict(cmeta)
    else:
        out = {"apiVersion": "v1", "kind": "Endpoints"}
        meta = {"name": smeta.get("name"), "namespace": smeta.get("namespace")}
    if wanted_labels:
        meta["labels"] = wanted_labels
    else:
        meta.pop("labels", None)
    annotations = dict(meta.get("annotations") or {})
    annotations[TRIGGER_TIME] = now
    meta["annotations"] = annotations
    out["metadata"] = meta
    out["subsets"] = subsets
    return out


def go_time_nano(t: dt.datetime | None = None) -> str:
    """RFC 3339 with the fraction Go's RFC3339Nano writes (trailing zeros dropped)."""
    t = t or dt.datetime.now(dt.UTC)
    frac = f"{t.microsecond:06d}".rstrip("0")
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


# --- the loop -------------------------------------------------------------------------------------
def services_for_pod(services: Iterable[Mapping[str, Any]], pod: Mapping[str, Any]) -> list[str]:
    return [f"{(s.get('metadata') or {}).get('namespace')}/{(s.get('metadata') or {}).get('name')}"
            for s in services if selects(s, pod)]


class ServicePodLoop:
    """What the Endpoints and EndpointSlice loops share: a queue of Service keys, fed by Service
    changes and by changes of the pods a Service selects."""

    name = "endpoint"

    def __init__(self, ctx: ControllerContext) -> None:
        self.client = ctx.client
        self.services = ctx.informers.informer(SERVICES, indexers={NAMESPACE_INDEX: index_by_namespace})
        self.pods = ctx.informers.informer(PODS, indexers={NAMESPACE_INDEX: index_by_namespace})
        self.controller = Controller(self.name, self.sync, workers=2)
        self.services.add_handlers(self.controller.handlers())
        self.pods.add_handlers(on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_changed)

    def _pod_changed(self, pod: Obj) -> None:
        ns = (pod.get("metadata") or {}).get("namespace") or ""
        for key in services_for_pod(self.services.store.by_index(NAMESPACE_INDEX, ns), pod):
            self.controller.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old.get("metadata", {}).get("resourceVersion") == new.get("metadata", {}).get("resourceVersion"):
            return
        self._pod_changed(new)
        if (old.get("metadata") or {}).get("labels") != (new.get("metadata") or {}).get("labels"):
            self._pod_changed(old)

    def pods_in(self, namespace: str) -> list[Obj]:
        return self.pods.store.by_index(NAMESPACE_INDEX, namespace)

    async def sync(self, key: str) -> None:
        raise NotImplementedError

    async def run(self) -> None:
        await self.controller.run()


class EndpointsController(ServicePodLoop):
    name = "endpoints"

    def __init__(self, ctx: ControllerContext) -> None:
        super().__init__(ctx)
        self.endpoints = ctx.informers.informer(ENDPOINTS)
        # key -> resourceVersion our last write replaced ("" for a create) until the cache moves past it
        self.replaced: dict[str, str] = {}
        self.endpoints.add_handlers(on_add=self._endpoints_seen, on_update=lambda _o, n: self._endpoints_seen(n),
                                    on_delete=self._endpoints_deleted)

    def _endpoints_seen(self, ep: Obj) -> None:
        key = meta_namespace_key(ep)
        if key in self.replaced and _rv(ep) != self.replaced[key]:
            del self.replaced[key]

    def _endpoints_deleted(self, ep: Obj) -> None:
        self.replaced.pop(meta_namespace_key(ep), None)
        self.controller.enqueue(ep)

    async def sync(self, key: str) -> None:
        ns, name = split_key(key)
        service = self.services.store.get(key)
        current = self.endpoints.store.get(key)
        if key in self.replaced:
            if (_rv(current) if current is not None else "") == self.replaced[key]:
                log.debug("endpoints: cache of %s is behind our last write, looking again", key)
                self.controller.queue.add_after(key, STALE_RECHECK)
                return
            del self.replaced[key]
        if service is None:
            if current is not None:
                try:
                    await self.client.delete(ENDPOINTS, name, namespace=ns)
                except Exception as e:
                    if not is_not_found(e):
                        raise
            return
        if not (service.get("spec") or {}).get("selector"):
            return  # selector-less: Endpoints are the user's
        if (service.get("metadata") or {}).get("deletionTimestamp"):
            return
        body = desired_endpoints(service, self.pods_in(ns), current, go_time_nano())
        if body is None:
            return
        try:
            if current is None:
                await self.client.create(ENDPOINTS, body, namespace=ns)
            else:
                await self.client.update(ENDPOINTS, body, namespace=ns)
            self.replaced[key] = _rv(current) if current is not None else ""
        except Exception as e:
            if is_forbidden(e) or is_not_found(e):
                return  # the namespace is terminating or gone
            raise  # (a conflict: our cache is behind; retried with backoff)


def _rv(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


@register("endpoints")
def new_endpoints_controller(ctx: ControllerContext) -> EndpointsController:
    return EndpointsController(ctx)


